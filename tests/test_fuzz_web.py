"""The workshop's API under abuse: random request bodies, hostile ABC and tune ids, and slow clients.

Complements tests/test_web.py (which checks each limit once): here hypothesis throws whatever JSON
it likes at every endpoint. The rule: an answer with a status the API documents and a one-line
error naming the field, never a 500 or an unhandled exception; and a real server keeps answering
others while slow clients hold connections open.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("fastapi_offline")

import httpx  # noqa: E402
import torch  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fuzz import CLI_EXAMPLES, FUZZ, report, tried  # noqa: E402
from fuzz.mutations import good_tunes, mutants  # noqa: E402
from fuzz_report import WEB_ROUTES, Stage, feed_until_floors, mutant_stream, scaled, web_entry_point  # noqa: E402
from tunesmith.abc.text import parse_tunebook, split_tunebook  # noqa: E402
from tunesmith.data.vocab import CharVocab  # noqa: E402
from tunesmith.models import build_model  # noqa: E402
from tunesmith.render.rendering import missing_tools  # noqa: E402
from tunesmith.store.checkpoint import describe, save_best  # noqa: E402
from tunesmith.web import create_app  # noqa: E402
from tunesmith.web.schema import ApiError  # noqa: E402
from tunesmith.web.store import TUNE_ID  # noqa: E402

DOCUMENTED = {200, 400, 404, 413, 415, 422, 429, 503}


@pytest.fixture(scope="module", autouse=True)
def _print_counts():
    yield
    print("\n" + report())


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny untrained LSTM with the vocabulary of real tunes: the API needs a model, not a good one."""
    from fuzz.mutations import seed_tunes

    vocab = CharVocab.build(t.text for tune in seed_tunes() for t in parse_tunebook(tune)[0])
    torch.manual_seed(0)
    network = build_model("lstm", {"vocab_size": len(vocab), "embed_dim": 8, "hidden_size": 16})
    run = tmp_path_factory.mktemp("web-model")
    save_best(run, network, describe(network, vocab))
    return run


@pytest.fixture(scope="module")
def app_dirs(model_dir, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("web")
    return {"model_dir": model_dir, "storage_dir": root / "store", "data_dir": root / "data"}


@pytest.fixture(scope="module")
def client(app_dirs) -> TestClient:
    app = create_app(app_dirs["model_dir"], app_dirs["storage_dir"], data_dir=app_dirs["data_dir"], novelty=False)
    return TestClient(app)  # an unhandled exception in the app is raised here, failing the test


def _documented(response, endpoint: str) -> dict | str:
    tried(f"web {endpoint}")
    assert response.status_code in DOCUMENTED, (response.status_code, response.text[:500])
    if response.status_code == 200:
        return response.json() if "json" in response.headers.get("content-type", "") else response.text
    error = response.json()["error"]
    assert isinstance(error, str) and "\n" not in error and len(error) < 500, error
    return error


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
GENERATE_FIELDS = ["num", "temperature", "top_p", "top_k", "seed", "max_chars", "key", "meter", "rhythm",
                   "prime", "parts", "bars_per_part", "constrain", "evil"]
SANE = {"num": st.integers(1, 3), "max_chars": st.integers(100, 300), "seed": st.integers(0, 2**31 - 1),
        "temperature": st.floats(0.1, 2.0), "top_p": st.floats(0.01, 1.0), "top_k": st.integers(1, 200),
        "key": st.sampled_from(["G", "Ador", "F#m", "H", "G\n", "-o"]), "meter": st.sampled_from(["6/8", "C|", "3/0"]),
        "prime": st.text(max_size=60)}


@st.composite
def generate_bodies(draw) -> dict:
    """Mostly valid settings with a few fields replaced by any JSON at all."""
    body = {name: draw(strategy) for name, strategy in SANE.items() if draw(st.booleans())}
    for name in draw(st.lists(st.sampled_from(GENERATE_FIELDS), max_size=3)):
        body[name] = draw(JSON_VALUES)
    return body


@settings(FUZZ, max_examples=CLI_EXAMPLES)
@given(generate_bodies())
@example({"num": 10**30})
@example({"max_chars": 10**9, "num": 16})
@example({"num": 1, "max_chars": 100, "prime": "X:1\n" + "A" * 990})
@example({"temperature": float("nan")})
@example({"prime": "\udc80\ud800"})
def test_generate_answers_any_json(client, body):
    content = json.dumps(body, allow_nan=True)  # NaN too: Python's json reader takes it
    response = client.post("/api/generate", content=content, headers={"content-type": "application/json"})
    answer = _documented(response, "POST /api/generate")
    if response.status_code == 200:
        assert len(answer["tunes"]) == body.get("num", 2)


@settings(FUZZ, max_examples=CLI_EXAMPLES)
@given(st.text(max_size=200) | st.sampled_from(["", "/", "..", "../../etc/passwd", "%2e%2e%2f", "0" * 32 + "/..",
                                                  "a" * 5000, "\x00", "ffffffffffffffffffffffffffffffff"]),
       st.sampled_from(["abc", "mid", "wav", "svg", "exe", "", "abc/..", "svg%00"]))
def test_tune_files_answer_any_id(client, tune_id, fmt):
    response = client.get(f"/api/tunes/{quote(tune_id, safe='')}.{quote(fmt, safe='')}")
    _documented(response, "GET /api/tunes/{id}.{fmt}")
    assert response.status_code != 200  # no such tune was ever made


@pytest.fixture(scope="module")
def secret(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "secret.abc"
    path.write_text("W:LEAKEDWORD\nCDEF GABc|cBAG FEDC|\n")
    return path


def _render_bodies(secret: Path) -> st.SearchStrategy:
    hostile = [f"X:1\nT:Nosy\nM:4/4\nL:1/8\nK:D\n{line}\nABcd efga|\n" for line in (
        f"%%abc-include {secret}", f"% %abc-include {secret}", f"I:abc-include {secret}", f"%%format {secret}")]
    hostile += ["X:1\nT:x\nM:4/4\n%%beginsvg\nT:<script>alert(1)</script>\n%%endsvg\nK:D\nAB|\n",
                "X:1\nT:\udc80 \ud800\nK:D\nAB|\n", "X:1\nT:-o /tmp/x\nM:3/0\nK:\nAB|\n"]
    return st.one_of(st.sampled_from(hostile), st.sampled_from(mutants(300, seed=11)), st.text(max_size=300))


@settings(FUZZ, max_examples=CLI_EXAMPLES)
@given(data=st.data())
def test_render_answers_any_abc(client, secret, data):
    if missing_tools(["svg"]):
        pytest.skip("needs abcm2ps")
    abc = data.draw(_render_bodies(secret))
    body = json.dumps({"abc": abc})  # lone surrogates travel as \udc80 escapes, as a browser may send them
    response = client.post("/api/render", content=body, headers={"content-type": "application/json"})
    answer = _documented(response, "POST /api/render")
    assert "LEAKED" not in json.dumps(answer)
    if response.status_code == 200:
        svg = re.sub(r"<!--.*?-->", "", answer["svg"], flags=re.DOTALL)  # abcm2ps notes titles in comments
        assert "<script" not in svg


def test_keep_and_the_tune_book_survive_hostile_text(client, secret):
    if missing_tools(["svg"]):
        pytest.skip("needs abcm2ps")
    made = client.post("/api/render", json={"abc": "X:1\nT:Base\nM:4/4\nL:1/8\nK:D\nABcd|\n"}).json()
    before = client.get("/api/kept").json()["count"]
    kept = 0
    for abc in [f"X:1\nT:Kept\nK:D\n%%abc-include {secret}\nAB|", "X:1\nT:a\nK:D\nAB|\n\nX:2\nT:Smuggled\nK:G\nGA|",
                "no tune here", "X:1\nT:\x00\x1b[31m\nK:D\nAB|", "K:D\n" * 3000, "X:1\nT:Crlf\r\nK:D\r\nABc|\r\n"]:
        response = client.post("/api/keep", json={"id": made["id"], "abc": abc})
        _documented(response, "POST /api/keep")
        kept += response.status_code == 200
    # Each keep adds one tune: a second tune inside the text never becomes a tune of its own.
    book = client.get("/api/kept.abc").text
    assert len(split_tunebook(book)) == client.get("/api/kept").json()["count"] == before + kept
    assert "Smuggled" not in [t.title for t in parse_tunebook(book)[0]]


# ---------------------------------------------------------------- a real server and slow clients


@pytest.fixture(scope="module")
def server(app_dirs):
    import uvicorn

    app = create_app(app_dirs["model_dir"], app_dirs["storage_dir"], data_dir=app_dirs["data_dir"], novelty=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", timeout_keep_alive=5)
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield port
    running.should_exit = True
    thread.join(timeout=10)


def _get(port: int, path: str, timeout: float = 5.0) -> tuple[int, float]:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1]), time.monotonic() - started


def test_slow_clients_do_not_stop_the_server(server):
    """30 connections dribble headers or a body a byte at a time; meanwhile health answers within a second."""
    port = server
    slow = []
    for i in range(30):
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2:  # headers that never end
            conn.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        else:  # a body promised at 60 KB, sent a byte at a time
            conn.sendall(b"POST /api/render HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                         b"content-length: 60000\r\n\r\n{")
        slow.append(conn)
    try:
        for round_ in range(10):
            for conn in slow:
                conn.sendall(b"a")
            status, seconds = _get(port, "/api/health")
            tried("web slow clients (rounds)")
            assert status == 200 and seconds < 1.0, (round_, status, seconds)
            time.sleep(0.1)
        # A body over the limit is refused as soon as its length is known, whatever its pace.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"POST /api/render HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                         b"content-length: 100000000\r\n\r\n{")
            assert b" 413 " in conn.recv(4096).split(b"\r\n")[0] + b" "
    finally:
        for conn in slow:
            conn.close()


# ---------------------------------------------------------------- a long loop: every route, mutated requests

ANSWERS = DOCUMENTED | {405}  # 405: a method the route does not take, as HTTP says it
# The Workshop methods behind the routes that do real work, and how many times each runs in full at scale 1.
# After that each answers DROPPED: by then a request has been through the middleware, the route's
# validation and the route's own checks, which is what the loop fuzzes (sampling and the tools for
# 100,000 requests a route would take days). render's runs: arrange's drawings first, then render's own.
FULL_RUNS = {"generate": 300, "fill_bars": 50, "continue_part": 50, "vary_tune": 50, "tune_set": 50,
             "render": 2000, "arrange": 1000, "rendered": 1000, "keep": 200, "open_kept": 1000, "kept_pdf": 30}
DROPPED = "fuzz: passed every check; not run (its full runs are spent)"


class FullRuns:
    """The Workshop's real work, run in full its first `budget` times per method, then refused with a 503
    saying DROPPED. The wrappers sit on the instance, where the routes look the methods up."""

    def __init__(self, shop: object, budgets: dict[str, int]):
        self.ran: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        for name, budget in budgets.items():
            setattr(shop, name, self._budgeted(name, getattr(shop, name), budget))

    def _budgeted(self, name: str, work: Callable, budget: int) -> Callable:
        def run(*args: object) -> object:
            if self.ran[name] >= budget:
                self.dropped[name] += 1
                raise ApiError(503, DROPPED)
            self.ran[name] += 1
            return work(*args)

        return run


NAN, INF = float("nan"), float("inf")
ANY, MUTANT, GOOD, HUGE = "<any JSON>", "<mutant>", "<good tune>", "<over the limit>"
REAL_ID, ODD_ID, KEPT = "<a real tune id>", "<a real id, changed>", "<a kept tune's id>"

TEXT = [MUTANT, MUTANT, MUTANT, GOOD, "", HUGE, ANY]
IDS = [REAL_ID, REAL_ID, ODD_ID, "0" * 32, "", "../../etc/passwd", "F" * 32, ANY]
SEED = [0, 7, 2**31 - 1, 2**31, -1, None, ANY]
TEMPERATURE = [0.1, 1.0, 2.0, 0.0, 2.1, NAN, INF, ANY]
TOP_P = [0.5, 0.95, 1.0, None, 0, 1.1, NAN]
CANDIDATES = [1, 2, 8, 0, 9, ANY]
KEY = ["G", "D", "Ador", "F#m", "H", "G\n", "-o", "", " ", None]
COWRITE = {"tune": TEXT, "seed": SEED, "candidates": CANDIDATES, "temperature": TEMPERATURE, "top_p": TOP_P}
RENDER = {"abc": TEXT, "parent": [None, *IDS], "layout": ["page", "phone", "tablet"]}
KEPT_IDS = [KEPT, KEPT, KEPT, "1", "0", "-1", str(2**63), str(2**63 - 1), "abc", "1.5", "", "1e3"]
NOTHING = {"evil": ["1"], "x": [ANY]}  # what routes that take no query are sent anyway


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {name} for each path parameter
    body: dict[str, list] | None = None  # field -> values to draw from (the first field: the one it needs)
    query: dict[str, list] = field(default_factory=lambda: NOTHING)
    params: dict[str, list] = field(default_factory=dict)


ROUTES = {
    "GET /": Route("GET", "/"),
    "GET /api/health": Route("GET", "/api/health"),
    "GET /api/options": Route("GET", "/api/options"),
    "POST /api/generate": Route("POST", "/api/generate", {
        "num": [1, 2, 3, 0, 17, -1, 10**30, "2", 2.5, True], "max_chars": [100, 200, 300, 99, 4001, 10**9],
        "seed": SEED, "temperature": TEMPERATURE, "top_p": TOP_P, "top_k": [1, 5, 200, 0, 201, None], "key": KEY,
        "meter": ["6/8", "C|", "3/4", "3/0", "7/8", ""], "rhythm": ["reel", "jig", "slip jig", "r3el", "", "a" * 31],
        "prime": ["", "", MUTANT, "ABc|", "X:1\nT:P\nK:D\n", "\udc80\ud800", "A" * 1001],
        "parts": [1, 2, 8, 0, 9, None], "bars_per_part": [8, 1, 64, 0, 65], "form": ["auto", "free", "x"],
        "constrain": [True, False, None, "yes"], "instrument": ["whistle", "fiddle", "kazoo", "", "x" * 41],
        "keys": [["D", "G"], [], ["H"], ["D"] * 17, "D", [1]], "chords": [True, False, "no"]}),
    "GET /api/tunes/{tune_id}.{fmt}": Route("GET", "/api/tunes/{tune_id}.{fmt}", query={
        "tempo": ["100", "50", "150", "49", "151", "x"], "count_in": ["true", "false", "1", "maybe"],
        "part": ["A", "B", "b", "I", ""], "first": ["1", "5", "0", "65"], "last": ["2", "8", "64", "65"],
        "layout": ["page", "phone", "x"], "evil": ["1"]},
        params={"tune_id": IDS, "fmt": ["abc", "mid", "wav", "svg", "exe", "", "abc/..", "svg%00"]}),
    "POST /api/render": Route("POST", "/api/render", RENDER),
    "POST /api/arrange": Route("POST", "/api/arrange", {
        **RENDER, "key": KEY, "instrument": ["whistle", "fiddle", "kazoo", None], "chords": [True, False, 1]}),
    "POST /api/keep": Route("POST", "/api/keep", {"id": IDS, "abc": [None, *TEXT, "K:D\n" * 3000]}),
    "POST /api/fill": Route("POST", "/api/fill", {
        **COWRITE, "bars": [[1, 2], [5, 8], [8, 5], [0, 1], [1, 65], [1], "1-2", None],
        "part": ["A", "B", "b", "I", "", None]}),
    "POST /api/continue": Route("POST", "/api/continue", {**COWRITE, "part": ["B", "C", "a", "Z", ""]}),
    "POST /api/vary": Route("POST", "/api/vary", {**COWRITE, "amount": [0.3, 0.05, 1, 0.04, 1.1, NAN]}),
    "POST /api/set": Route("POST", "/api/set", {
        "rhythm": ["reel", "jig", "polka", "r3el", ""], "num": [1, 2, 0, 7], "key": KEY, "seed": SEED,
        "candidates": CANDIDATES, "temperature": TEMPERATURE, "top_p": TOP_P}),
    "GET /api/kept": Route("GET", "/api/kept", query={
        "offset": ["0", "1", "-1", "1000001", "x"], "limit": ["1", "100", "500", "501", "0"], "evil": ["1"]}),
    "GET /api/kept.abc": Route("GET", "/api/kept.abc"),
    "GET /api/kept.pdf": Route("GET", "/api/kept.pdf"),
    "GET /api/kept/{kept_id}": Route("GET", "/api/kept/{kept_id}", params={"kept_id": KEPT_IDS}),
    "POST /api/kept/{kept_id}/open": Route("POST", "/api/kept/{kept_id}/open", {}, params={"kept_id": KEPT_IDS}),
    "PATCH /api/kept/{kept_id}": Route("PATCH", "/api/kept/{kept_id}", {
        "title": ["New title", "", " ", "a\nb", "x" * 1000, "\udc80"], "notes": ["notes", "", "é" * 2000, "\udc80"],
        "rating": [0, 3, 5, 6, -1, "5"]}, params={"kept_id": KEPT_IDS}),
    "DELETE /api/kept/{kept_id}": Route("DELETE", "/api/kept/{kept_id}", params={"kept_id": KEPT_IDS}),
}


def any_json(rng: random.Random, depth: int = 0) -> object:
    roll = rng.randrange(9 if depth < 2 else 6)
    if roll == 0:
        return None
    if roll == 1:
        return rng.random() < 0.5
    if roll == 2:
        return rng.choice([0, -1, 1, 2**31, 2**63, -(2**70), 10**30])
    if roll == 3:
        return rng.choice([NAN, INF, -INF, -0.0, 0.1, 1e308, 5e-324])
    if roll in (4, 5):
        return rng.choice(["", "x", "1", "\udc80", "\x00", "é" * 50, "A" * 2000, "<script>", "X:1\nK:D\nAB|"])
    if roll in (6, 7):
        return [any_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["a", "", "num", "\udc80"]): any_json(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _sendable(text: str) -> str:
    """A path or query value as a client can send it: lone surrogates cannot be UTF-8 encoded."""
    return text.encode("utf-8", "replace").decode("utf-8")


@dataclass
class Request:
    method: str
    url: str
    query: dict[str, str] | None
    headers: dict[str, str]
    content: bytes | None


class AppClient:
    """The app called in this process on an event loop of its own, through httpx's ASGI transport: the
    requests a TestClient sends, without its hop to another thread for each (measured here: 3.6 ms a
    request against 7.4 ms, so the loop's 100,000 requests a route take half the time). An exception
    the app does not handle is raised here, as a TestClient raises it."""

    def __init__(self, app: object):
        self.app, self.loop = app, asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                        follow_redirects=True)  # as a TestClient does

    def request(self, method: str, url: str, **options: object) -> httpx.Response:
        return self.loop.run_until_complete(self.client.request(method, url, **options))

    def post(self, url: str, **options: object) -> httpx.Response:
        return self.request("POST", url, **options)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


class Site:
    """The app under the loop: its client, the full-run budgets, and the tune and kept ids it has made
    (requests name real ones as well as made-up ones)."""

    def __init__(self, client: AppClient, runs: FullRuns, ids: list[str], kept: list[int]):
        self.client, self.runs = client, runs
        self.ids: deque[str] = deque(ids, maxlen=500)
        self.kept: deque[int] = deque(kept, maxlen=500)

    def send(self, request: Request) -> None:
        response = self.client.request(request.method, request.url, params=request.query,
                                       headers=request.headers, content=request.content)
        status = response.status_code
        assert status in ANSWERS, (status, response.text[:300])
        if request.method == "HEAD":
            return
        if status == 200:
            self._learn(response)
            return
        error = response.json()["error"]
        assert isinstance(error, str) and "\n" not in error and len(error) < 500, error

    def _learn(self, response: object) -> None:
        """Tune and kept ids from an answer, for later requests to name."""
        if "json" not in response.headers.get("content-type", ""):
            return
        answer = response.json()
        if not isinstance(answer, dict):
            return
        for tune in [answer, *answer.get("tunes", [])]:
            if isinstance(tune, dict) and TUNE_ID.fullmatch(str(tune.get("id", ""))):
                self.ids.append(tune["id"])
        kept = answer.get("kept")
        if isinstance(kept, dict) and isinstance(kept.get("id"), int):
            self.kept.append(kept["id"])


def request_stream(seed: int, route: Route, site: Site) -> Iterator[Request]:
    """Requests for one route without end: mostly well formed with a field or two gone wrong; some not
    JSON, of the wrong content type, over the size limit, or with a method the route does not take."""
    rng = random.Random(seed)
    texts = mutant_stream(seed)
    good = good_tunes()

    def draw(values: list) -> object:
        value = rng.choice(values)
        special = {ANY: lambda: any_json(rng), MUTANT: lambda: next(texts), GOOD: lambda: rng.choice(good),
                   HUGE: lambda: "X:1\nK:D\n" + "A" * 20_001, REAL_ID: lambda: rng.choice(site.ids),
                   ODD_ID: lambda: _changed(rng, rng.choice(site.ids)),
                   KEPT: lambda: rng.choice(site.kept) if site.kept else 1}
        return special[value]() if isinstance(value, str) and value in special else value

    while True:
        method = route.method if rng.random() < 0.95 else rng.choice(["GET", "POST", "PUT", "PATCH", "DELETE",
                                                                        "HEAD", "OPTIONS"])
        path = route.path
        for name, values in route.params.items():
            path = path.replace(f"{{{name}}}", quote(_sendable(str(draw(values))), safe=""))
        query = {name: _sendable(str(draw(values))) for name, values in route.query.items() if rng.random() < 0.3}
        content, headers = (None, {}) if route.body is None else _content(rng, _body(rng, route.body, draw))
        yield Request(method, path, query or None, headers, content)


def _changed(rng: random.Random, text: str) -> str:
    """A value one character off, cut short or upper-cased: near misses of a real id."""
    roll = rng.random()
    if roll < 0.3:
        return text.upper()
    if roll < 0.6:
        return text[: rng.randrange(len(text))]
    at = rng.randrange(len(text))
    return text[:at] + rng.choice("g0/.%") + text[at + 1:]


def _body(rng: random.Random, fields: dict[str, list], draw: Callable[[list], object]) -> object:
    if rng.random() < 0.03:
        return rng.choice([[], "abc", 1, None, [{}]])  # not an object
    names = list(fields)
    body = {name: draw(values) for name, values in fields.items()
            if rng.random() < (0.9 if name == names[0] else 0.5)}
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):  # a field or two of any JSON at all
        body[rng.choice([*names, "evil"])] = any_json(rng)
    return body


def _content(rng: random.Random, body: object) -> tuple[bytes, dict[str, str]]:
    """The body as bytes: JSON (NaN included: Python's reader takes it), now and then cut short, with bytes
    that are not UTF-8, under another content type, or over the size limit."""
    content = json.dumps(body, allow_nan=True).encode()
    headers = {"content-type": "application/json"}
    roll = rng.random()
    if roll < 0.04:
        content = content[: rng.randrange(len(content) + 1)]
    elif roll < 0.07:
        at = rng.randrange(len(content) + 1)
        content = content[:at] + rng.randbytes(rng.randint(1, 8)) + content[at:]
    elif roll < 0.09:
        headers = {"content-type": rng.choice(["text/plain", "", "application/x-www-form-urlencoded",
                                                "application/json; charset=latin-1"])}
    elif roll < 0.095:
        content = b'{"abc": "' + b"A" * 70_000 + b'"}'
    return content, headers


@pytest.fixture(scope="module")
def fuzz_site(model_dir, tmp_path_factory) -> Iterator[Site]:
    """A fresh app with a few tunes made and kept, then the full-run budgets (scaled) on its Workshop."""
    if missing_tools(["mid", "wav", "svg"]):
        pytest.skip("needs abc2midi, abcm2ps, fluidsynth and a SoundFont")
    root = tmp_path_factory.mktemp("web-fuzz")
    app = create_app(model_dir, root / "store", data_dir=root / "data", novelty=False)
    client = AppClient(app)
    made = [client.post("/api/render", json={"abc": tune}) for tune in good_tunes()[:6]]
    ids = [answer.json()["id"] for answer in made if answer.status_code == 200]
    kept = [client.post("/api/keep", json={"id": tune_id}).json()["kept"]["id"] for tune_id in ids[:2]]
    assert ids and kept, [answer.text[:200] for answer in made]
    runs = FullRuns(app.state.workshop, {name: scaled(count) for name, count in FULL_RUNS.items()})
    yield Site(client, runs, ids, kept)
    client.close()
    for name in FULL_RUNS:  # in the report beside the requests: how much real work they made
        tried(f"web: Workshop.{name} run in full", runs.ran[name])
        tried(f"web: Workshop.{name} passed every check, dropped", runs.dropped[name])


def test_the_request_loop_covers_every_route(fuzz_site):
    from fastapi.routing import APIRoute

    served = {f"{method} {route.path}" for route in fuzz_site.client.app.routes if isinstance(route, APIRoute)
              and not route.path.startswith(("/docs", "/openapi", "/redoc", "/static")) for method in route.methods}
    assert served == set(WEB_ROUTES) == set(ROUTES)


@pytest.mark.parametrize("route", WEB_ROUTES)
def test_every_route_answers_mutated_requests(fuzz_site, route):
    """100,000 requests a route under `make fuzz`: a documented status and a one-line error, never a 5xx
    (but 503) or an exception; the real work behind it runs FULL_RUNS times (scaled), then is dropped."""
    stream = request_stream(WEB_ROUTES.index(route), ROUTES[route], fuzz_site)
    feed_until_floors(stream, [Stage(web_entry_point(route), fuzz_site.send, timeout_s=300)])


# ---------------------------------------------------------------- benchmarks/soak.py without a server


def test_the_soak_reads_its_arguments_and_summarises_latency_without_a_server(tmp_path):
    from benchmarks.soak import parse_args, result_path, summarise, write_report

    args = parse_args([])
    assert (args.model, args.clients, args.seconds) == ("default", 20, 300)
    assert parse_args(["--seconds", "5", "--clients", "3"]).seconds == 5
    samples = [("generate", 0.01 * i, 200) for i in range(1, 101)]
    samples += [("render", 0.05, 200), ("render", 2.0, 0), ("kept", 0.01, 503), ("options", 0.02, 429)]
    figures = summarise(samples, elapsed=10.0)
    assert (figures["requests"], figures["errors"], figures["requests_per_s"]) == (104, 2, 10.4)
    assert figures["other_non_2xx"] == {"429": 1}  # the queue full: said, not an error
    generate = figures["by_route"]["generate"]
    assert generate["requests"] == 100 and generate["errors"] == 0
    assert (generate["p50_ms"], generate["p95_ms"], generate["p99_ms"]) == pytest.approx((510, 960, 1000))
    assert figures["by_route"]["render"]["errors"] == 1 and figures["by_route"]["render"]["max_ms"] == 2000
    path = result_path(tmp_path / "results", date(2026, 12, 3))
    write_report(figures, path)
    assert path.name == "soak-2026-12-03.json" and json.loads(path.read_text()) == figures
