"""The tune library (tunesmith.store.library): keeping, duplicates, limits, two processes at once,
the old kept.abc imported, and its two faces: `tunesmith library` and the workshop's /api/kept routes."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest

from tunesmith.abc.text import parse_fields, split_tunebook
from tunesmith.cli import main
from tunesmith.store.library import (
    MAX_TUNE_BYTES,
    Kept,
    Library,
    LibraryError,
    LibraryFull,
    ToolsMissing,
    UnknownKept,
    content_hash,
    pdf_tools_missing,
    tune_text,
)

NOTES = "CDEFGAB"


def reel(i: int, title: str | None = None, extra: str = "") -> str:
    """A tune whose music is its own for every i < 7**4 (the digits of i in base 7 are its notes)."""
    phrase = "".join(NOTES[(i // 7**k) % 7] for k in range(4))
    return (f"X:1\nT:{title or f'Tune {i}'}\n{extra}M:4/4\nL:1/8\nK:D\n"
            f"|:{phrase}{phrase.lower()}|{phrase}dcBA:|\n")


@pytest.fixture
def library(tmp_path) -> Library:
    return Library.open(tmp_path)


# ---------------------------------------------------------------- keep, get, list, rename, delete


def test_keep_get_list_rename_delete(library):
    first = library.keep(reel(1), settings={"seed": 7}, checks={"valid": True}, model="tiny", notes="slow air")
    second = library.keep(reel(2))
    assert first == Kept(1) and second == Kept(2)
    tune = library.get(first.id)
    assert (tune.title, tune.settings, tune.checks, tune.model, tune.notes) == \
        ("Tune 1", {"seed": 7}, {"valid": True}, "tiny", "slow air")
    assert tune.abc.startswith("X:1\nT:Tune 1\n") and tune.created.endswith("+00:00")
    assert [t.id for t in library.list_tunes()] == [2, 1]  # newest first
    assert [t.id for t in library.list_tunes(offset=1, limit=1)] == [1]
    renamed = library.rename(1, "  The Long Way Home ")
    assert renamed.title == "The Long Way Home" and parse_fields(renamed.abc)["T"] == "The Long Way Home"
    assert renamed.content_hash == tune.content_hash  # the same music
    assert library.annotate(1, rating=4).rating == 4 and library.get(1).notes == "slow air"
    assert library.delete(2).title == "Tune 2" and library.count() == 1
    with pytest.raises(UnknownKept, match="no kept tune 2"):
        library.get(2)
    assert library.keep(reel(3)).id == 3  # ids are never reused, so an old number never names another tune


def test_the_same_music_is_refused_as_a_duplicate(library):
    kept = library.keep(reel(5))
    again = library.keep(reel(5, title="Another Name", extra="N:seed 9\n% a comment\n").replace("|:", "|: "))
    assert again == Kept(kept.id, duplicate=True) and library.count() == 1
    assert library.find(reel(5, title="x")) == kept.id and library.find(reel(6)) is None
    with sqlite3.connect(library.path) as db, pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        db.execute("INSERT INTO tunes (title, abc, content_hash, created) VALUES ('x', 'y', ?, 'now')",
                   (content_hash(reel(5)),))


def test_limits_are_said_in_one_line(tmp_path):
    library = Library.open(tmp_path, max_tunes=2)
    library.keep(reel(1))
    big = reel(2) + "|" + "A" * MAX_TUNE_BYTES + "|\n"
    for call, message in [
        (lambda: library.keep(big), "the tune is 65,"), (lambda: library.keep(reel(2), notes="n" * 3000), "notes"),
        (lambda: library.keep(reel(2), rating=6), "rating is a whole number"), (lambda: library.keep("  "), "empty"),
        (lambda: library.keep(reel(2) + "\nX:2\nK:G\nGAB|"), "more than one tune"),
        (lambda: library.rename(1, "A\nK:C"), "one line"), (lambda: library.rename(1, " "), "empty"),
        (lambda: library.list_tunes(limit=501), "1 to 500"),
    ]:
        with pytest.raises(LibraryError, match=message):
            call()
    library.keep(reel(2))
    with pytest.raises(LibraryFull, match="holds 2 tunes, its limit"):
        library.keep(reel(3))
    assert library.count() == 2


def test_tune_text_numbers_the_tune_and_puts_notes_before_k():
    text = tune_text("X:7\n% kept 2026-01-02 10:00:00 in the tunesmith workshop\nT:A\n\nK:G\nGAB|",
                     ["seed 7", "two\nlines"])
    assert text.split("\n") == ["X:1", "T:A", "N:seed 7", "N:two lines", "K:G", "GAB|"]
    assert tune_text(text, ["seed 7"]) == text  # a note the tune has already is not added twice


def test_a_malformed_tune_is_kept_as_written_and_said(library):
    kept = library.keep("X:1\nT:No Key\nABc|")
    assert library.get(kept.id).checks["malformed"] == "no K: (key) field"


# ---------------------------------------------------------------- export


def test_export_is_one_tune_book_numbered_from_one(library):
    for i in range(4):
        library.keep(reel(i))
    library.delete(2)
    book = library.export_abc()
    tunes = split_tunebook(book)
    assert [parse_fields(text)["X"] for _, text in tunes] == ["1", "2", "3"]
    assert [parse_fields(text)["T"] for _, text in tunes] == ["Tune 0", "Tune 2", "Tune 3"]  # oldest first
    assert "% kept " in tunes[0][1] and "as tune 1" in tunes[0][1]


def test_an_exported_book_imports_back_losing_nothing(library, tmp_path):
    for i in range(5):
        library.keep(reel(i), model="tiny")
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "book.abc").write_text(library.export_abc())
    other = Library.open(tmp_path / "again")
    report = other.migrate_kept_abc(tmp_path / "again" / "book.abc")
    assert (report.found, report.imported, report.lost) == (5, 5, 0)
    assert {t.content_hash for t in other.list_tunes()} == {t.content_hash for t in library.list_tunes()}
    assert [t.created for t in other.list_tunes()] == [t.created for t in library.list_tunes()]


@pytest.mark.skipif(bool(pdf_tools_missing()), reason="abcm2ps or ps2pdf (ghostscript) missing")
def test_export_as_a_printable_pdf(library):
    for i in range(3):
        library.keep(reel(i))
    assert library.export_pdf().startswith(b"%PDF-")


def test_pdf_without_the_tools_names_them(library, monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ToolsMissing, match="needs abcm2ps and ps2pdf: install them with `apt-get install abcm2ps"):
        library.export_pdf()


# ---------------------------------------------------------------- two processes at once


def _keep_many(home: str, own: range, others: list[int], barrier, results) -> None:
    """One writer process: its own tunes, with copies of the other process's tunes (other titles, notes) among them."""
    library = Library(Path(home) / "library.sqlite")
    order = [("own", i) for i in own]
    for n, i in enumerate(others):
        order.insert(n * 10 + 5, ("copy", i))
    barrier.wait()  # both start together
    started = time.perf_counter()
    new = duplicate = 0
    for kind, i in order:
        text = reel(i) if kind == "own" else reel(i, title=f"Copy of {i}", extra=f"N:kept again by {own.start}\n")
        kept = library.keep(text, settings={"i": i})
        duplicate += kept.duplicate
        new += not kept.duplicate
    results.put((new, duplicate, time.perf_counter() - started))


def test_two_processes_keeping_500_tunes_each_lose_nothing(tmp_path):
    Library.open(tmp_path)  # made before the writers start, as a running server would have it
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(2), spawn.Queue()
    writers = [spawn.Process(target=_keep_many, args=(str(tmp_path), range(0, 500), list(range(500, 550)),
                                                      barrier, results)),
               spawn.Process(target=_keep_many, args=(str(tmp_path), range(500, 1000), list(range(0, 50)),
                                                      barrier, results))]
    for writer in writers:
        writer.start()
    answers = [results.get(timeout=300) for _ in writers]
    for writer in writers:
        writer.join(30)
        assert writer.exitcode == 0
    with sqlite3.connect(tmp_path / "library.sqlite") as db:
        rows, hashes, titles = db.execute("SELECT COUNT(*), COUNT(DISTINCT content_hash), "
                                          "COUNT(DISTINCT title) FROM tunes").fetchone()
        copies = db.execute("SELECT COUNT(*) FROM tunes WHERE title LIKE 'Copy of%'").fetchone()[0]
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    new, duplicates = sum(a[0] for a in answers), sum(a[1] for a in answers)
    print(f"\n2 processes x (500 keeps + 50 copies): {rows} rows, {hashes} distinct tunes, {new} new, "
          f"{duplicates} refused as duplicates, {max(a[2] for a in answers):.2f} s, journal {mode}")
    assert (rows, hashes, titles, new, duplicates) == (1000, 1000, 1000, 1000, 100)
    assert mode == "wal"
    assert copies <= 100  # a copy is kept only when it came before the tune itself; either way once


# ---------------------------------------------------------------- the old kept.abc


def old_book(count: int, malformed_every: int) -> tuple[str, int]:
    """A kept.abc as older workshops wrote it, with a malformed tune every so often; (text, malformed)."""
    tunes, bad = ["% my tunes, kept in the workshop"], 0
    for n in range(1, count + 1):
        stamp = f"% kept 2026-01-02 10:{n // 60 % 60:02d}:{n % 60:02d} in the tunesmith workshop"
        body = reel(n).split("\n", 2)[2]  # after X: and T:
        if n % malformed_every == 0:  # its K: line lost
            music = body.replace("K:D\n", "")
            tunes.append(f"X:{n}\n{stamp}\nT:Broken {n}\nN:written in the tunesmith workshop\n{music}")
            bad += 1
            continue
        tunes.append(f"X:{n}\n{stamp}\nT:Tune {n}\nN:tunesmith serve, model tiny, tune 1 of 2\n"
                     f"N:settings: seed={n}\n{body}")
    return "\n\n".join(tunes) + "\n", bad


def test_a_1000_tune_kept_abc_is_imported_losing_nothing(tmp_path):
    text, malformed = old_book(1000, malformed_every=100)
    (tmp_path / "kept.abc").write_text(text)
    started = time.perf_counter()
    library = Library.open(tmp_path)
    seconds = time.perf_counter() - started
    report = library.migration
    print(f"\nmigration: {report.summary()} in {seconds:.2f} s")
    assert (report.found, report.imported, report.duplicates, report.lost, report.refused) == (1000, 1000, 0, 0, [])
    assert len(report.malformed) == malformed == 10 and "no K: (key) field" in report.malformed[0]
    assert library.count() == 1000
    titles = {t.title for t in library.list_tunes(limit=500)} | {t.title for t in library.list_tunes(500, 500)}
    assert titles == {f"Broken {n}" if n % 100 == 0 else f"Tune {n}" for n in range(1, 1001)}
    first = library.get(1)
    assert first.model == "tiny" and first.created.startswith("2026-01-02") and "N:settings: seed=1" in first.abc
    assert not (tmp_path / "kept.abc").exists() and (tmp_path / "kept.abc.migrated").read_text() == text
    assert Library.open(tmp_path).migration is None and library.count() == 1000  # once only


def test_migration_counts_duplicates_and_keeps_an_earlier_backup(tmp_path):
    (tmp_path / "kept.abc.migrated").write_text("an earlier backup")
    (tmp_path / "kept.abc").write_text(reel(1) + "\n" + reel(1, title="Same Music") + "\n" + reel(2))
    report = Library.open(tmp_path).migration
    assert (report.found, report.imported, report.duplicates, report.lost) == (3, 2, 1, 0)
    assert report.renamed_to == "kept.abc.migrated-2"
    assert (tmp_path / "kept.abc.migrated").read_text() == "an earlier backup"
    assert "3 tunes found, 2 imported, 1 already kept" in report.summary()


# ---------------------------------------------------------------- tunesmith library


@pytest.fixture
def home(tmp_path, monkeypatch) -> Library:
    monkeypatch.setenv("TUNESMITH_HOME", str(tmp_path / "home"))
    library = Library.open(tmp_path / "home")
    for i in range(3):
        library.keep(reel(i), model="tiny", notes="learn it" if i == 1 else "")
    return library


def test_cli_list_show_rename_delete(home, capsys):
    assert main(["library", "list"]) == 0
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()] == ["3", "2", "1"] and "Tune 0" in out
    assert f"3 kept tunes in {home.path}" in err
    assert main(["library", "show", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("% kept tune 2, kept ") and "% notes: learn it" in out and "\nX:1\nT:Tune 1\n" in out
    assert main(["library", "rename", "2", "The Kesh"]) == 0
    assert "kept tune 2 is now 'The Kesh'" in capsys.readouterr().out and home.get(2).title == "The Kesh"
    assert main(["library", "delete", "1"]) == 0
    assert "deleted kept tune 1 (Tune 0)" in capsys.readouterr().out and home.count() == 2
    assert main(["library", "show", "1"]) == 2
    assert capsys.readouterr().err.strip() == "tunesmith: no kept tune 1"


def test_cli_export_abc_and_pdf(home, tmp_path, capsys):
    assert main(["library", "export"]) == 0
    assert [parse_fields(t)["X"] for _, t in split_tunebook(capsys.readouterr().out)] == ["1", "2", "3"]
    assert main(["library", "export", "--out", str(tmp_path / "book.abc")]) == 0
    assert "wrote 3 tunes to" in capsys.readouterr().err
    assert len(split_tunebook((tmp_path / "book.abc").read_text())) == 3
    code = main(["library", "export", "--out", str(tmp_path / "book.pdf")])
    if pdf_tools_missing():
        assert code == 2 and "a PDF tune book needs" in capsys.readouterr().err
    else:
        assert code == 0 and (tmp_path / "book.pdf").read_bytes().startswith(b"%PDF-")


def test_a_file_that_is_not_a_library_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TUNESMITH_HOME", str(tmp_path))
    (tmp_path / "library.sqlite").write_bytes(b"not a database, " * 100)
    assert main(["library", "list"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(f"tunesmith: {tmp_path / 'library.sqlite'}: ")


def test_cli_imports_an_old_kept_abc_first(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TUNESMITH_HOME", str(tmp_path))
    (tmp_path / "kept.abc").write_text(reel(1) + "\n" + reel(2))
    assert main(["library", "list"]) == 0
    assert "imported the old tune book: kept.abc: 2 tunes found, 2 imported" in capsys.readouterr().err


# ---------------------------------------------------------------- the workshop's routes


@pytest.fixture
def web(tmp_path):
    """A workshop without a model (keeping needs none), with three tunes in its store to keep."""
    pytest.importorskip("fastapi")
    pytest.importorskip("fastapi_offline")
    from fastapi.testclient import TestClient

    from tunesmith.web import create_app

    client = TestClient(create_app(None, tmp_path / "store", data_dir=tmp_path / "data", novelty=False))
    store = client.app.state.workshop.store
    client.ids = [store.save(reel(i), {"model": "tiny", "settings": {"seed": i}, "tune": 1, "of": 1})
                  for i in range(3)]
    return client


def test_web_keep_list_open_rename_delete(web):
    for tune_id in web.ids:
        assert web.post("/api/keep", json={"id": tune_id}).status_code == 200
    listed = web.get("/api/kept", params={"limit": 2}).json()
    assert listed["count"] == 3 and [t["number"] for t in listed["tunes"]] == [3, 2] and "abc" not in listed["tunes"][0]
    assert [t["number"] for t in web.get("/api/kept", params={"offset": 2}).json()["tunes"]] == [1]
    one = web.get("/api/kept/1").json()
    assert one["title"] == "Tune 0" and one["settings"] == {"seed": 0} and "N:settings: seed=0" in one["abc"]
    opened = web.post("/api/kept/1/open", json={}).json()
    assert opened["abc"] == one["abc"] and opened["kept"]["id"] == 1 and len(opened["id"]) == 32
    assert web.get(opened["urls"]["abc"]).text == one["abc"]
    again = web.post("/api/keep", json={"id": opened["id"]}).json()  # reopened, not changed: the same tune
    assert again["kept"]["already"] is True and again["count"] == 3
    edited = web.post("/api/keep", json={"id": opened["id"], "abc": one["abc"].replace(":|", "|]")}).json()
    assert edited["kept"].get("already") is None and edited["kept"]["abc"].count("N:settings:") == 1
    assert "N:edited in the workshop after it was kept" in edited["kept"]["abc"]
    renamed = web.patch("/api/kept/2", json={"title": "The Kesh", "rating": 5, "notes": "in D"}).json()
    assert (renamed["title"], renamed["rating"], renamed["notes"]) == ("The Kesh", 5, "in D")
    assert "T:The Kesh" in web.get("/api/kept.abc").text
    deleted = web.delete("/api/kept/2").json()
    assert deleted["deleted"]["title"] == "The Kesh" and deleted["count"] == 3
    assert web.get("/api/kept/2").status_code == 404


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), [
    ("get", "/api/kept/0", None, 422, "kept_id"), ("get", "/api/kept/x", None, 422, "kept_id"),
    ("get", "/api/kept/99", None, 404, "kept_id"), ("delete", "/api/kept/99", None, 404, "kept_id"),
    ("post", "/api/kept/99/open", {}, 404, "kept_id"), ("get", "/api/kept?limit=501", None, 422, "limit"),
    ("get", "/api/kept?bogus=1", None, 422, "bogus"),
    ("patch", "/api/kept/1", {"title": "A\nK:C"}, 422, "title"), ("patch", "/api/kept/1", {"title": ""}, 422, "title"),
    ("patch", "/api/kept/1", {"rating": 6}, 422, "rating"), ("patch", "/api/kept/1", {"bogus": 1}, 422, "bogus"),
    ("patch", "/api/kept/1", {"notes": "n" * 3000}, 422, "notes"),
])
def test_web_library_inputs_are_validated(web, method, path, body, status, field):
    web.post("/api/keep", json={"id": web.ids[0]})
    response = web.request(method.upper(), path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field


def test_web_lone_surrogates_are_refused_not_a_500(web):
    def send(method: str, path: str, body: dict):  # as a browser may send them: \udc80 escapes in the JSON
        return web.request(method, path, content=json.dumps(body), headers={"content-type": "application/json"})

    assert send("POST", "/api/keep", {"id": web.ids[0], "abc": reel(9) + "\udc80"}).status_code == 422
    web.post("/api/keep", json={"id": web.ids[0]})
    response = send("PATCH", "/api/kept/1", {"title": "New", "notes": "\udc80"})
    assert response.status_code == 422 and response.json()["field"] == "notes"
    assert web.get("/api/kept/1").json()["title"] == "Tune 0"  # the rename and the notes go together or not at all


def test_web_patch_must_be_json(web):
    response = web.patch("/api/kept/1", content=b'{"title": "x"}', headers={"content-type": "text/plain"})
    assert response.status_code == 415


def test_web_pdf_tune_book(web):
    web.post("/api/keep", json={"id": web.ids[0]})
    response = web.get("/api/kept.pdf")
    if pdf_tools_missing():
        assert response.status_code == 503 and "a PDF tune book needs" in response.json()["error"]
    else:
        assert response.status_code == 200 and response.content.startswith(b"%PDF-")


def test_the_workshop_imports_an_old_kept_abc(tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from tunesmith.web import create_app

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "kept.abc").write_text(old_book(20, malformed_every=10)[0])
    client = TestClient(create_app(None, tmp_path / "store", data_dir=tmp_path / "data", novelty=False))
    health = client.get("/api/health").json()
    assert health["library"]["count"] == 20
    assert "20 tunes found, 20 imported (2 malformed, kept as written)" in health["library"]["migration"]
    assert client.get("/api/kept").json()["count"] == 20
