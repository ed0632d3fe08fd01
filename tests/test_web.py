"""The workshop's API through FastAPI's TestClient, against the tiny model of conftest."""

from __future__ import annotations

import errno
import re
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("fastapi_offline")

from fastapi.testclient import TestClient  # noqa: E402

from tunesmith.abc.text import parse_fields, split_tunebook  # noqa: E402
from tunesmith.render.rendering import missing_tools  # noqa: E402
from tunesmith.store.checkpoint import SHIPPED_MODEL  # noqa: E402
from tunesmith.store.library import pdf_tools_missing  # noqa: E402
from tunesmith.web import app as web  # noqa: E402
from tunesmith.web import create_app  # noqa: E402
from tunesmith.web.store import TuneStore, UnknownTune, user_data_dir  # noqa: E402

SETTINGS = {"num": 2, "seed": 7, "key": "G", "meter": "6/8", "max_chars": 400, "top_p": 0.95}
EDITED = "X:1\nT:Edited Here\nM:6/8\nL:1/8\nK:G\n|:GAB cBA|BAG E3|GAB cde|dBG G3:|\n"
needs_tools = pytest.mark.skipif(bool(missing_tools(["mid", "wav", "svg"])), reason="abc2midi/abcm2ps/synth missing")


@pytest.fixture
def make_client(tiny_run, tmp_path):
    def make(model_dir: Path | None = tiny_run, **options) -> TestClient:
        options.setdefault("novelty", False)
        app = create_app(model_dir, tmp_path / "store", data_dir=tmp_path / "data", **options)
        return TestClient(app)

    return make


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


@pytest.fixture
def generated(client) -> dict:
    response = client.post("/api/generate", json=SETTINGS)
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------- health and model discovery


def test_health_names_the_model_and_the_tune_book(client, tiny_run, tmp_path):
    health = client.get("/api/health").json()
    assert health["status"] == "ok"
    assert health["model"]["run"] == str(tiny_run)
    assert health["model"]["kind"] == "lstm"
    assert health["kept"] == str(tmp_path / "data" / "library.sqlite")
    assert health["library"]["count"] == 0 and health["library"]["migration"] is None
    assert health["novelty"] == "off"


def test_without_a_model_the_page_says_how_to_train_one(make_client):
    client = make_client(None)
    health = client.get("/api/health").json()
    assert health["status"] == "no-model"
    assert "tunesmith train --data oneills --out runs/first --minutes 10" in health["message"]
    response = client.post("/api/generate", json=SETTINGS)
    assert response.status_code == 503
    assert "tunesmith train" in response.json()["error"]


def test_user_data_dir_follows_tunesmith_home(monkeypatch, tmp_path):
    monkeypatch.setenv("TUNESMITH_HOME", str(tmp_path / "home"))
    assert user_data_dir() == tmp_path / "home"
    monkeypatch.delenv("TUNESMITH_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert user_data_dir() == tmp_path / "xdg" / "tunesmith"


# ---------------------------------------------------------------- generate


def test_generate_returns_tunes_with_ids_quality_and_urls(generated):
    tunes = generated["tunes"]
    assert len(tunes) == 2 and generated["seed"] == 7
    for tune in tunes:
        assert re.fullmatch(r"[0-9a-f]{32}", tune["id"])
        fields = parse_fields(tune["abc"])
        assert fields["K"] == "G" and fields["M"] == "6/8"
        assert set(tune["quality"]) >= {"valid", "bars_correct", "bars_total", "copied_bars"}
        assert tune["urls"]["svg"] == f"/api/tunes/{tune['id']}.svg"
    assert tunes[0]["id"] != tunes[1]["id"]


def test_same_seed_same_tunes_new_ids(client, generated):
    again = client.post("/api/generate", json=SETTINGS).json()
    assert [t["abc"] for t in again["tunes"]] == [t["abc"] for t in generated["tunes"]]
    assert {t["id"] for t in again["tunes"]}.isdisjoint(t["id"] for t in generated["tunes"])


def test_no_seed_gets_one_from_the_server(client):
    result = client.post("/api/generate", json={"num": 1, "max_chars": 200}).json()
    assert 0 <= result["seed"] < 2**31
    assert result["settings"]["seed"] == result["seed"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"temperature": 50}, "temperature"), ({"temperature": 0.0}, "temperature"), ({"seed": -1}, "seed"),
        ({"seed": 2**31}, "seed"), ({"num": 0}, "num"), ({"num": 17}, "num"), ({"top_p": 0}, "top_p"),
        ({"top_p": 1.5}, "top_p"), ({"max_chars": 5000}, "max_chars"), ({"key": "H"}, "key"),
        ({"key": "G\nT:x"}, "key"), ({"meter": "6/8\nK:C"}, "meter"), ({"rhythm": "reel<script>"}, "rhythm"),
        ({"prime": "A" * 1001}, "prime"), ({"temperature": "hot"}, "temperature"), ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_settings_get_422_naming_the_field(client, change, field):
    response = client.post("/api/generate", json={**SETTINGS, **change})
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == field and body["error"].startswith(f"{field}: ")


def test_a_character_the_model_never_saw_is_a_400_naming_the_field(client):
    response = client.post("/api/generate", json={**SETTINGS, "prime": "|:GAB ☃"})
    assert response.status_code == 400
    assert response.json()["field"] == "prime" and "'☃'" in response.json()["error"]


def test_invalid_json_is_a_422_about_the_body(client):
    response = client.post("/api/generate", content=b"{num: 2", headers={"content-type": "application/json"})
    assert response.status_code == 422 and "error" in response.json()


def test_form_options_pass_through_only_when_the_sampler_takes_them(client, monkeypatch):
    response = client.post("/api/generate", json={**SETTINGS, "parts": 2})
    if "parts" not in web.sampler_options():
        assert response.status_code == 400 and response.json()["field"] == "parts"
    seen = {}

    def generate_with_parts(model, num, *, settings, seed, key, meter, rhythm, prime, parts=None, form="auto",
                            service=None):
        seen["parts"] = parts if parts is not None else getattr(settings, "parts", None)  # either way in
        return [f"X:1\nT:Part {i}\nM:6/8\nL:1/8\nK:G\nGAB cBA|" for i in range(num)]

    monkeypatch.setattr(web, "generate", generate_with_parts)
    response = client.post("/api/generate", json={**SETTINGS, "parts": 2})
    assert response.status_code == 200 and seen["parts"] == 2
    assert response.json()["settings"]["parts"] == 2


# ---------------------------------------------------------------- tune files


@needs_tools
def test_tune_files_in_every_format(client, generated):
    tune = generated["tunes"][0]
    assert client.get(tune["urls"]["abc"]).text == tune["abc"]
    svg = client.get(tune["urls"]["svg"])
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    assert "sandbox" in svg.headers["content-security-policy"]  # an SVG opened on its own runs no script
    assert client.get(tune["urls"]["mid"]).content.startswith(b"MThd")
    assert client.get(tune["urls"]["wav"]).content.startswith(b"RIFF")


@pytest.mark.skipif(bool(missing_tools(["png"]) or pdf_tools_missing()),
                    reason="rsvg-convert, abcm2ps or ps2pdf missing")
def test_a_tune_as_a_png_score_and_a_printable_pdf_page(client, generated):
    tune = generated["tunes"][0]
    png, pdf = (client.get(tune["urls"][fmt]) for fmt in ("png", "pdf"))
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client.get(tune["urls"]["pdf"]).content == pdf.content  # made once, then served


def test_without_ghostscript_the_pdf_page_names_it(client, generated, monkeypatch):
    from tunesmith.store import library

    monkeypatch.setattr(library, "pdf_tools_missing", lambda: ["ps2pdf"])
    answer = client.get(generated["tunes"][0]["urls"]["pdf"])
    assert answer.status_code == 503 and "ps2pdf" in answer.json()["error"]


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "..%2F..%2Fetc%2Fpasswd.abc", "%2e%2e%2f%2e%2e%2fetc%2fpasswd.abc",
     "....abc", "abc.abc", "0123456789abcdef0123456789ABCDEF.abc", "0123456789abcdef0123456789abcdef.exe",
     "0123456789abcdef0123456789abcdef.abc"],
)
def test_no_tune_id_reaches_outside_the_store(client, name):
    response = client.get(f"/api/tunes/{name}")
    assert response.status_code in (404, 422)
    assert "root:" not in response.text and "error" in response.json()


def test_the_store_refuses_anything_but_an_id(tmp_path):
    store = TuneStore(tmp_path)
    for bad in ("../x", "..", "/etc/passwd", "A" * 32, "a" * 31, "a" * 32 + "/"):
        with pytest.raises(UnknownTune):
            store.path(bad, "abc")
    with pytest.raises(UnknownTune):
        store.path("a" * 32, "../x")


def test_the_store_keeps_the_newest_tunes(tmp_path):
    store = TuneStore(tmp_path, max_tunes=3)
    ids = []
    for i in range(5):
        ids.append(store.save(f"X:1\nT:{i}\nK:G\nG|", {"n": i}))
        time.sleep(0.01)  # distinct modification times
    assert store.prune() == 2
    assert sorted(p.stem for p in store.folder.glob("*.abc")) == sorted(ids[2:])


def test_the_store_stays_under_its_size_and_keeps_what_was_used_last(tmp_path):
    store = TuneStore(tmp_path, max_tunes=100, max_bytes=250_000)
    ids = []
    for i in range(4):
        ids.append(store.save(f"X:1\nT:{i}\nK:G\nG|", {"n": i}))
        time.sleep(0.01)
    for tune_id in ids:  # a 100 kB "WAV" each, the first one rendered last
        time.sleep(0.01)
        store.path(tune_id, "wav").write_bytes(b"\0" * 100_000)
    store.path(ids[0], "wav").write_bytes(b"\0" * 100_000)
    assert store.prune() == 2
    assert sorted(p.stem for p in store.folder.glob("*.abc")) == sorted([ids[0], ids[3]])
    assert sum(p.stat().st_size for p in store.folder.iterdir()) <= 250_000


# ---------------------------------------------------------------- render


@needs_tools
def test_render_makes_a_new_tune_that_keeps_its_parents_settings(client, generated):
    parent = generated["tunes"][0]["id"]
    response = client.post("/api/render", json={"abc": EDITED, "parent": parent})
    assert response.status_code == 200, response.text
    tune = response.json()
    assert tune["id"] != parent and tune["title"] == "Edited Here"
    assert "<svg" in tune["svg"] and "Edited Here" in tune["svg"]
    assert tune["quality"]["valid"] and tune["quality"]["bars_correct"] == tune["quality"]["bars_total"] == 4
    assert client.get(tune["urls"]["abc"]).text == EDITED
    assert client.get(tune["urls"]["mid"]).content.startswith(b"MThd")


def test_render_errors_name_the_field(client):
    no_key = client.post("/api/render", json={"abc": "T:No key\nGAB|"})
    assert no_key.status_code == 422 and no_key.json()["field"] == "abc"
    too_long = client.post("/api/render", json={"abc": "A" * 30_000})
    assert too_long.status_code == 422 and too_long.json()["field"] == "abc"
    orphan = client.post("/api/render", json={"abc": EDITED, "parent": "f" * 32})
    assert orphan.status_code == 404 and orphan.json()["field"] == "parent"


def test_a_100kb_body_is_refused_with_413(client):
    response = client.post("/api/render", json={"abc": "A" * 100_000})
    assert response.status_code == 413
    assert "limit is 65,536 bytes" in response.json()["error"]


def test_a_body_without_a_length_is_bounded_too(client):
    chunks = (b'{"abc": "' + b"A" * 10_000 for _ in range(10))  # sent chunked, no content-length
    response = client.post("/api/render", content=chunks, headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_api_posts_must_be_json(client):
    response = client.post("/api/keep", content=b'{"id": "x"}', headers={"content-type": "text/plain"})
    assert response.status_code == 415


# ---------------------------------------------------------------- keep


def test_keep_puts_the_tune_in_the_library_with_settings(client, generated):
    first, second = generated["tunes"]
    assert client.post("/api/keep", json={"id": first["id"]}).status_code == 200
    kept = client.post("/api/keep", json={"id": second["id"], "abc": EDITED}).json()
    assert kept["count"] == 2 and kept["kept"]["title"] == "Edited Here" and kept["kept"]["number"] == 2
    assert kept["kept"]["settings"]["seed"] == 7 and "bars_correct" in kept["kept"]["checks"]
    book = client.get("/api/kept.abc").text
    tunes = split_tunebook(book)
    assert [parse_fields(text)["X"] for _, text in tunes] == ["1", "2"]
    assert "N:settings:" in tunes[0][1] and "seed=7" in tunes[0][1] and 'key="G"' in tunes[0][1]
    assert "N:edited in the workshop" in tunes[1][1]
    assert tunes[1][1].index("N:settings:") < tunes[1][1].index("K:G")  # N: lines stay in the header
    listed = client.get("/api/kept").json()
    assert [t["title"] for t in listed["tunes"]] == ["Edited Here", first["title"]]  # newest first


def test_the_same_tune_is_kept_once_and_a_full_library_is_said(client, generated):
    first = generated["tunes"][0]
    kept = client.post("/api/keep", json={"id": first["id"]}).json()["kept"]
    assert kept.get("already") is None
    retitled = first["abc"].replace(f"T:{first['title']}", "T:Another Name")
    again = client.post("/api/keep", json={"id": first["id"], "abc": retitled}).json()
    assert again["kept"]["already"] is True and again["count"] == 1 and again["kept"]["id"] == kept["id"]
    assert again["kept"]["message"].startswith(f"already kept, as tune {kept['id']}")
    client.app.state.workshop.library.max_tunes = 1
    full = client.post("/api/keep", json={"id": first["id"], "abc": EDITED})
    assert full.status_code == 507 and "the library holds 1 tunes, its limit" in full.json()["error"]
    assert len(split_tunebook(client.get("/api/kept.abc").text)) == 1


def test_a_full_disk_is_one_clear_line(client, monkeypatch):
    def no_space(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(client.app.state.workshop.store, "save", no_space)
    response = client.post("/api/render", json={"abc": EDITED})
    assert response.status_code == 507
    assert response.json()["error"] == "the server could not read or write its files (No space left on device)"


def test_keep_refuses_unknown_ids_and_non_tunes(client, generated):
    unknown = client.post("/api/keep", json={"id": "f" * 32})
    assert unknown.status_code == 404 and unknown.json()["field"] == "id"
    bad_id = client.post("/api/keep", json={"id": "../../etc/passwd"})
    assert bad_id.status_code == 422 and bad_id.json()["field"] == "id"
    no_key = client.post("/api/keep", json={"id": generated["tunes"][0]["id"], "abc": "T:x\nGAB|"})
    assert no_key.status_code == 422 and no_key.json()["field"] == "abc"
    escape = client.post("/api/keep", json={"id": generated["tunes"][0]["id"], "abc": EDITED + "\x1b[2J"})
    assert escape.status_code == 422 and "control character" in escape.json()["error"]
    assert client.post("/api/render", json={"abc": EDITED.replace("K:", "\x00K:")}).status_code == 422


def test_concurrent_keeps_through_the_app_lose_nothing(client, generated):
    tune_id = generated["tunes"][0]["id"]
    texts = [EDITED.replace("Edited Here", f"Tune {i}").replace("GAB cde", f"GAB c{'dfe'[i % 3]}{'ABcdefg'[i // 3]}")
             for i in range(20)]
    threads = [threading.Thread(target=client.post, args=("/api/keep",), kwargs={"json": {"id": tune_id, "abc": t}})
               for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    listed = client.get("/api/kept").json()
    assert listed["count"] == 20
    assert sorted(t["title"] for t in listed["tunes"]) == sorted(f"Tune {i}" for i in range(20))


# ---------------------------------------------------------------- jobs off the event loop


def test_generation_queue_is_bounded_and_the_loop_stays_free(make_client, monkeypatch):
    release, started = threading.Event(), threading.Event()

    def slow_generate(self, request, seed):
        started.set()
        release.wait(10)
        return {"tunes": [], "seed": seed, "seconds": 0.0, "settings": {}}

    monkeypatch.setattr(web.Workshop, "generate", slow_generate)
    with make_client(max_jobs=1, max_waiting=0) as client:
        first = {}
        worker = threading.Thread(target=lambda: first.update(r=client.post("/api/generate", json=SETTINGS)))
        worker.start()
        assert started.wait(10)
        assert client.get("/api/health").json()["jobs"]["generate"]["pending"] == 1  # the loop still answers
        busy = client.post("/api/generate", json=SETTINGS)
        release.set()
        worker.join(10)
    assert busy.status_code == 429 and busy.headers["retry-after"] == "5"
    assert "busy" in busy.json()["error"]
    assert first["r"].status_code == 200


# ---------------------------------------------------------------- page, docs, headers


def test_page_and_docs_need_no_internet(client):
    page = client.get("/")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    for path in ("/", "/static/app.js", "/static/style.css", "/docs"):
        text = client.get(path).text
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", text), path
    assert "/static-offline-docs/swagger-ui-bundle.js" in client.get("/docs").text
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    assert "/api/generate" in client.get("/openapi.json").json()["paths"]


def test_other_host_headers_are_refused_when_hosts_are_given(make_client):
    client = make_client(allowed_hosts=["testserver"])
    assert client.get("/api/health").status_code == 200
    assert client.get("/api/health", headers={"host": "evil.example"}).status_code == 400


def test_copied_bars_once_the_training_tunes_are_indexed(make_client):
    client = make_client(novelty=True)
    deadline = time.monotonic() + 60
    while client.get("/api/health").json()["novelty"] == "building" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.get("/api/health").json()["novelty"] == "ready"
    tune = client.post("/api/generate", json=SETTINGS).json()["tunes"][0]
    assert isinstance(tune["quality"]["copied_bars"], int)


# ---------------------------------------------------------------- the command


def test_serve_warns_off_loopback(monkeypatch, tiny_run, tmp_path, capsys):
    import uvicorn

    import tunesmith.web
    from tunesmith import cli

    apps, calls = [], []
    monkeypatch.setattr(tunesmith.web, "create_app", lambda *args, **options: apps.append((args, options)) or "app")
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **_: calls.append((app, host, port)))
    monkeypatch.setenv("TUNESMITH_HOME", str(tmp_path))
    assert cli.main(["serve", "--model", str(tiny_run), "--port", "8123"]) == 0
    assert calls[-1] == ("app", "127.0.0.1", 8123) and "warning" not in capsys.readouterr().err
    assert apps[-1][0] == (tiny_run, tmp_path / "workshop") and "localhost" in apps[-1][1]["allowed_hosts"]
    assert cli.main(["serve", "--model", str(tiny_run), "--host", "0.0.0.0"]) == 0
    assert calls[-1] == ("app", "0.0.0.0", 8000) and "warning: serving on 0.0.0.0" in capsys.readouterr().err
    assert apps[-1][1]["allowed_hosts"] is None
    assert cli._is_loopback("::1") and cli._is_loopback("localhost") and not cli._is_loopback("192.168.1.2")


def test_serve_without_a_run_uses_the_shipped_model(monkeypatch, tmp_path):
    import uvicorn

    import tunesmith.web
    from tunesmith import cli

    apps = []
    monkeypatch.setattr(tunesmith.web, "create_app", lambda *args, **options: apps.append(args) or "app")
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    monkeypatch.setenv("TUNESMITH_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no ./runs here
    assert cli.main(["serve"]) == 0
    assert apps[-1][0] == SHIPPED_MODEL


def test_a_form_asked_for_comes_back_exactly(client):
    from tunesmith.judge.quality import check_tune

    response = client.post("/api/generate", json={**SETTINGS, "parts": 1, "bars_per_part": 2, "constrain": True})
    assert response.status_code == 200, response.json()
    for tune in response.json()["tunes"]:
        report = check_tune(tune["abc"], use_abc2midi=False)
        assert report.metre_ok and report.bars_per_section == (2,), tune["abc"]
    free = client.post("/api/generate", json={**SETTINGS, "parts": 2, "constrain": False})
    assert free.status_code == 400 and free.json()["field"] == "parts"  # a form needs the constraint


# ---------------------------------------------------------------- instruments, keys and chords


def test_generate_for_an_instrument_in_session_keys_with_chords(client):
    from tunesmith.abc.transpose import tune_pitches

    response = client.post("/api/generate", json={**SETTINGS, "instrument": "Tin Whistle", "keys": ["G", "Em"],
                                                   "chords": True, "max_chars": 600})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["settings"]["instrument"] == "whistle" and body["settings"]["keys"] == ["G", "Em"]
    for tune in body["tunes"]:
        assert parse_fields(tune["abc"])["K"] in ("G", "Em")
        assert all(62 <= pitch <= 86 for pitch in tune_pitches(tune["abc"]))
    assert any('"' in tune["abc"].split("K:", 1)[1] for tune in body["tunes"])  # chord symbols in the body
    assert client.get("/api/health").json()["instruments"]["whistle"] == {
        "low": 62, "high": 86, "keys": ["D", "G", "Em", "Ador", "Bm", "Edor", "Dmix", "Amix"]}


@pytest.mark.parametrize(("change", "field", "said"), [
    ({"instrument": "theremin"}, "instrument", "unknown instrument 'theremin'"),
    ({"keys": ["D", "H#"]}, "keys", "'H#': use a root A-G"),
    ({"keys": ["D"] * 17}, "keys", "at most 16"),
    ({"instrument": "whistle", "constrain": False}, "instrument", "needs constrained sampling"),
])
def test_bad_instrument_settings_name_the_field(client, change, field, said):
    response = client.post("/api/generate", json={**SETTINGS, **change})
    assert response.status_code in (400, 422) and response.json()["field"] == field
    assert said in response.json()["error"]


@needs_tools
def test_arrange_moves_a_tune_for_an_instrument_and_adds_chords(client, generated):
    low = "X:1\nT:Low\nM:C|\nL:1/8\nK:D\nD,E,F,A, D,F,A,D|E,F,G,A, B,A,G,F,|D,E,F,A, D,F,A,D|E,G,F,E, D,4|]\n"
    parent = generated["tunes"][0]["id"]
    moved = client.post("/api/arrange", json={"abc": low, "parent": parent, "instrument": "whistle"})
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["arranged"] == "moved +12 semitones for the whistle" and "D,E,F" not in body["abc"]
    assert "<svg" in body["svg"] and body["id"] != parent
    chorded = client.post("/api/arrange", json={"abc": body["abc"], "parent": body["id"], "chords": True}).json()
    assert chorded["arranged"] == "chords added" and '"D"' in chorded["abc"]
    wrong = client.post("/api/arrange", json={"abc": low, "key": "Em"})
    assert wrong.status_code == 422 and "the tune is in D (major); Em is minor" in wrong.json()["error"]


@pytest.mark.parametrize("change", [{"key": "G"}, {"instrument": "whistle"}])
def test_arrange_refuses_a_tune_whose_key_line_comes_after_music(client, change):
    """Found by `make fuzz` (a 500): with music before the header, only the music after the K: line moved."""
    abc = "(f/g/A|a fge|fd ec|\nT:Lassie\nL:1/8\nK:D\n(f/g/)|a fge|fd ec|dDD:|"
    moved = client.post("/api/arrange", json={"abc": abc, **change})
    assert moved.status_code == 422 and moved.json()["error"] == "abc: no K: (key) line, so this is not an ABC tune"


def test_the_meter_pattern_is_the_lexicons_metres():
    from tunesmith.abc.lexicon import METERS

    candidates = {"C", "C|", "C||", "", "7", "6/", *(f"{n}/{d}" for n in range(0, 40) for d in range(0, 40))}
    assert {meter for meter in candidates if re.fullmatch(web.METER_PATTERN, meter)} == METERS
