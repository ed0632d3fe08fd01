"""The workshop's routes for writing with a musician (/api/fill, /api/continue, /api/vary, /api/set),
through FastAPI's TestClient against the tiny model of conftest: what the musician wrote comes back
byte for byte, and a request that cannot be written is a 4xx with a one-line error naming the field."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("fastapi_offline")

from fastapi.testclient import TestClient  # noqa: E402

from tunesmith.abc.text import parse_fields  # noqa: E402
from tunesmith.data.infill import split_at_bars  # noqa: E402
from tunesmith.web import create_app  # noqa: E402
from tunesmith.web.schema import MAX_ABC  # noqa: E402

REEL = ("X:1\nT:Test Reel\nM:C|\nL:1/8\nK:D\n"
        "|:A|dfaf gfed|cABc dAFA|GBdB AFDF|EFGE D3:|\n|:g|fdad fdad|gebe gebe|fdad fgaf|gefe d3:|")
A_PART = REEL[: REEL.index("\n|:g|")]


@pytest.fixture
def client(tiny_run, tmp_path) -> TestClient:
    return TestClient(create_app(tiny_run, tmp_path / "store", data_dir=tmp_path / "data", novelty=False))


def _ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def _without_notes(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not line.startswith("N:"))


def _bars(text: str) -> list[str]:
    cuts = split_at_bars(text)
    return [text[a:b] for a, b in zip(cuts, cuts[1:])]


def _kept_outside(old: str, new: str, written: list[int]) -> None:
    old_bars, new_bars = _bars(old), _bars(new)
    assert len(new_bars) == len(old_bars)
    assert [b for i, b in enumerate(new_bars) if i not in written] == [
        b for i, b in enumerate(old_bars) if i not in written]


@pytest.mark.parametrize("which", [{"bars": [2, 3]}, {"part": "b"}], ids=["bars", "part"])
def test_fill_writes_the_gap_and_keeps_every_other_bar(client, which):
    body = _ok(client.post("/api/fill", json={"tune": REEL, "seed": 7, **which}))
    text = _without_notes(body["abc"])
    written = body["written"]
    assert written and written == list(range(written[0], written[-1] + 1))
    assert text.startswith(REEL[: split_at_bars(REEL)[written[0]]])  # the header and the bars before the gap
    _kept_outside(REEL, text, written)
    assert body["abc"].startswith("X:1\nN:tunesmith serve, model tiny: fill") and "written again" in body["abc"]
    assert body["notes"] and body["seed"] == 7
    assert client.get(body["urls"]["abc"]).text == body["abc"]  # saved as a tune of its own, to draw and keep


def test_continue_writes_a_b_part_after_the_tune(client):
    body = _ok(client.post("/api/continue", json={"tune": A_PART, "seed": 7}))
    text = _without_notes(body["abc"])
    assert text.startswith(A_PART) and len(text) > len(A_PART)
    assert body["written"][0] == len(_bars(A_PART))
    assert len(_bars(text)) == len(_bars(A_PART)) + len(body["written"])
    assert "part B written" in body["abc"]


def test_vary_keeps_the_number_of_bars(client):
    body = _ok(client.post("/api/vary", json={"tune": REEL, "amount": 0.5, "seed": 5, "candidates": 4}))
    text = _without_notes(body["abc"])
    assert body["written"]
    _kept_outside(REEL, text, body["written"])
    assert parse_fields(text)["K"] == "D" and "a variation" in body["abc"]


def test_a_set_has_num_tunes_in_its_keys(client):
    body = _ok(client.post("/api/set", json={"rhythm": "reel", "num": 2, "key": "D", "seed": 4, "candidates": 2}))
    assert len(body["tunes"]) == 2 and len(body["keys"]) == 2 and body["keys"][0] == "D"
    assert body["rhythm"] == "reel" and body["seed"] == 4
    for i, tune in enumerate(body["tunes"]):
        assert parse_fields(tune["abc"])["K"] == body["keys"][i]
        assert f"N:tune {i + 1} of a set of 2 reels" in tune["abc"]
    assert body["tunes"][0]["id"] != body["tunes"][1]["id"]


@pytest.mark.parametrize(("path", "request_body", "field", "said"), [
    ("/api/fill", {"tune": REEL}, "bars", "say which bars"),
    ("/api/fill", {"tune": REEL, "bars": [1, 2], "part": "B"}, "bars", "not both"),
    ("/api/fill", {"tune": REEL, "bars": [7, 12]}, "bars", "bars 7-12 are not all in it"),
    ("/api/fill", {"tune": REEL, "bars": [3, 2]}, "bars", "the first bar comes before the last"),
    ("/api/fill", {"tune": REEL, "bars": [1, 65]}, "bars.1", "less than or equal to 64"),
    ("/api/fill", {"tune": REEL, "part": "Z"}, "part", "A to H"),
    ("/api/fill", {"tune": REEL, "part": "C"}, "part", "no part C"),
    ("/api/fill", {"tune": "X:1\n" + "A" * MAX_ABC, "bars": [1, 2]}, "tune", f"at most {MAX_ABC} characters"),
    ("/api/continue", {"tune": REEL}, "tune", "continued with part C"),
    ("/api/continue", {"tune": A_PART, "part": "Z"}, "part", "A to H"),
    ("/api/vary", {"tune": REEL, "amount": 0}, "amount", "greater than or equal to 0.05"),
    ("/api/vary", {"tune": "T:No key\nGAB|"}, "tune", "no K:"),
    ("/api/set", {"rhythm": "reel", "num": 7}, "num", "less than or equal to 6"),
    ("/api/set", {"rhythm": "reel<script>"}, "rhythm", "letters and spaces"),
], ids=["no-bars-nor-part", "both", "bars-past-the-tune", "last-before-first", "bar-65", "part-z", "part-c",
        "too-long", "continue-past-b", "continue-part-z", "amount-0", "no-key", "set-of-7", "bad-rhythm"])
def test_a_bad_request_is_a_422_naming_the_field_in_one_line(client, path, request_body, field, said):
    response = client.post(path, json=request_body)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"] == field and body["error"].startswith(f"{field}: ")
    assert said in body["error"] and "\n" not in body["error"]
