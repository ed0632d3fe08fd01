"""The workshop's API under abuse: random request bodies, hostile ABC and tune ids, and slow clients.

Complements tests/test_web.py (which checks each limit once): here hypothesis throws whatever JSON
it likes at every endpoint. The rule: an answer with a status the API documents and a one-line
error naming the field, never a 500 or an unhandled exception; and a real server keeps answering
others while slow clients hold connections open.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("fastapi_offline")

import torch  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fuzz import CLI_EXAMPLES, FUZZ, report, tried  # noqa: E402
from fuzz.mutations import mutants  # noqa: E402
from tunesmith.abc.text import parse_tunebook, split_tunebook  # noqa: E402
from tunesmith.data.vocab import CharVocab  # noqa: E402
from tunesmith.models import build_model  # noqa: E402
from tunesmith.render.rendering import missing_tools  # noqa: E402
from tunesmith.store.checkpoint import describe, save_best  # noqa: E402
from tunesmith.web import create_app  # noqa: E402

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
