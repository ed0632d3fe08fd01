"""The workshop a musician keeps open (issue #21), through the API: menus from the model, practice
playback, problems where the musician looks, scores for a phone, the model in words."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("fastapi_offline")

from fastapi.testclient import TestClient  # noqa: E402

from tunesmith.abc.text import parse_fields  # noqa: E402
from tunesmith.render.rendering import RenderOptions, missing_tools, render_tune  # noqa: E402
from tunesmith.web import create_app  # noqa: E402
from tunesmith.web.tunes import describe_model, model_menus  # noqa: E402

needs_svg = pytest.mark.skipif(bool(missing_tools(["svg"])), reason="abcm2ps missing")
needs_audio = pytest.mark.skipif(bool(missing_tools(["wav"])), reason="abc2midi or FluidSynth/TiMidity missing")

# 10 bars of 4/4 at 120 crotchets a minute: 20 s as written.
REEL = ("X:1\nT:Practice Reel\nR:reel\nM:4/4\nL:1/8\nQ:1/4=120\nK:D\n"
        "|:DEFG ABcd|edcB A4|DEFG ABcd|e2d2 d4:|\nfgaf gfed|e8|\n")
AABB = ("X:1\nT:Plain Reel\nR:reel\nM:C|\nL:1/8\nK:D\ndfaf gfed|cABc dAFA|GBdB AFDF|EFGE D4:|\n"
        "fdad fdad|gebe gebe|fdad fgaf|gefe d4:|\n")  # the B part opens without |: as many books write it
ONE_WRONG = "X:1\nT:One Short Bar\nM:C|\nL:1/8\nK:D\ndfaf gfed|cABc dA|GBdB AFDF|EFGE D4|\n"


@pytest.fixture
def client(tiny_run, tmp_path) -> TestClient:
    return TestClient(create_app(tiny_run, tmp_path / "store", data_dir=tmp_path / "data", novelty=False))


@pytest.fixture
def tune_id(client) -> str:
    response = client.post("/api/render", json={"abc": REEL}) if not missing_tools(["svg"]) else None
    if response is None:
        pytest.skip("abcm2ps missing")
    assert response.status_code == 200, response.text
    return response.json()["id"]


# ---------------------------------------------------------------- 1. menus from the model


def test_the_menus_offer_only_what_the_model_can_write(client, tiny_model):
    menus = client.get("/api/options").json()
    seen = set(tiny_model.vocab.index)
    assert menus["key_roots"] and menus["key_modes"] and menus["meters"]
    for meter in menus["meters"]:
        assert set(f"M:{meter['value']}") <= seen and meter["tunes"] > 0  # in its vocabulary and its tune books
    table_meters = {row["meter"] for row in tiny_model.meta["forms"]["types"]}
    assert {m["value"] for m in menus["meters"]} <= table_meters
    offered = {m["value"] for m in menus["meters"]}
    assert all(re.match(r"^\S+ is not offered: ", note) or "most of" in note
               for note in menus["notes"]["key"] + menus["notes"]["meter"])
    assert "7/8" in offered or any(note.startswith("7/8 is not offered: ") for note in menus["notes"]["meter"])


def test_an_absent_option_says_why():
    table = {"types": [{"rhythm": "reel", "meter": "C|", "tunes": 40, "keys": {"D": 30, "G": 10}, "forms": {}},
                       {"rhythm": "jig", "meter": "6/8", "tunes": 20, "keys": {"G": 20}, "forms": {}}]}
    seen = set("X:T|MLKR CDEFGABabcdefg#m/01234568 reljigor")  # no 7, no "x"
    menus = model_menus(seen - {"7"}, table)
    assert [m["value"] for m in menus["meters"]] == ["C|", "6/8"]
    assert "7/8 is not offered: the model never saw a '7'" in menus["notes"]["meter"]
    assert "3/4 is not offered: none of its training tunes is in it" in menus["notes"]["meter"]
    assert [r["value"] for r in menus["rhythms"]] == ["reel", "jig"]
    assert "mixolydian is not offered: the model never saw a 'x'" in menus["notes"]["key"]
    assert model_menus(seen - {"R"}, table)["rhythms"] == []


def test_every_offered_option_can_be_written(client):
    """Each root, each mode, each metre and each tune type the menus offer makes a tune (the lead runs this)."""
    menus = client.get("/api/options").json()
    asks = [{"key": root} for root in menus["key_roots"]]
    asks += [{"key": menus["key_roots"][0] + mode["value"]} for mode in menus["key_modes"]]
    asks += [{"meter": meter["value"]} for meter in menus["meters"]]
    asks += [{"rhythm": rhythm["value"]} for rhythm in menus["rhythms"]]
    for ask in asks:
        response = client.post("/api/generate", json={"num": 1, "seed": 3, "max_chars": 300, **ask})
        assert response.status_code == 200, (ask, response.text)
        fields = parse_fields(response.json()["tunes"][0]["abc"])
        if "key" in ask:
            assert fields["K"] == ask["key"]
        if "meter" in ask:
            assert fields["M"] == ask["meter"]
        if "rhythm" in ask:
            assert fields["R"].lower() == ask["rhythm"]


def test_without_a_model_there_are_no_menus(tiny_run, tmp_path):
    client = TestClient(create_app(None, tmp_path / "store", data_dir=tmp_path / "data", novelty=False))
    assert client.get("/api/options").status_code == 503


# ---------------------------------------------------------------- 3. practice playback


def _audible_seconds(path: Path) -> float:
    """First to last audible sample: the file's own length adds FluidSynth's reverb tail."""
    with wave.open(str(path)) as audio:
        samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2").reshape(-1, audio.getnchannels())
        rate = audio.getframerate()
    loud = np.nonzero(np.abs(samples.astype(np.float64)).max(axis=1) > 0.01 * np.abs(samples).max())[0]
    return (loud[-1] - loud[0]) / rate


@needs_audio
def test_practice_tempo_stretches_the_recording(tmp_path):
    seconds = {speed: _audible_seconds(render_tune(REEL, ["wav"], tmp_path, f"at-{speed}",
                                                   RenderOptions(speed=speed)).files["wav"])
               for speed in (50, 100, 150)}
    assert seconds[100] == pytest.approx(20, rel=0.05)
    assert seconds[50] / seconds[100] == pytest.approx(2.0, rel=0.02)
    assert seconds[150] / seconds[100] == pytest.approx(2 / 3, rel=0.02)


@needs_audio
def test_a_count_in_is_one_bar_of_clicks_before_the_tune(tmp_path):
    plain = render_tune(REEL, ["wav"], tmp_path, "plain").files["wav"]
    counted = render_tune(REEL, ["wav"], tmp_path, "counted", RenderOptions(count_in=True)).files["wav"]
    with wave.open(str(plain)) as a, wave.open(str(counted)) as b:
        extra = (b.getnframes() - a.getnframes()) / a.getframerate()
    assert extra == pytest.approx(2.0, abs=0.01)  # a 4/4 bar at 120 crotchets a minute, counted in two


@needs_audio
def test_the_route_plays_a_part_slower_with_a_count_in(client, tune_id):
    whole = client.get(f"/api/tunes/{tune_id}.wav")
    part = client.get(f"/api/tunes/{tune_id}.wav", params={"part": "a", "tempo": 50, "count_in": "true"})
    bars = client.get(f"/api/tunes/{tune_id}.wav", params={"first": 2, "last": 3, "tempo": 150})
    assert whole.status_code == part.status_code == bars.status_code == 200, part.text
    assert whole.content != part.content != bars.content
    assert whole.content == client.get(f"/api/tunes/{tune_id}.wav", params={"tempo": 100}).content


@pytest.mark.parametrize(("params", "field"), [
    ({"tempo": 49}, "tempo"), ({"tempo": 151}, "tempo"), ({"tempo": "fast"}, "tempo"),
    ({"part": "Z"}, "part"), ({"part": "A", "first": 1, "last": 2}, "bars"), ({"first": 3}, "bars"),
    ({"first": 4, "last": 2}, "bars"), ({"first": 0, "last": 2}, "first"), ({"loop": 1}, "loop"),
])
def test_practice_settings_are_bounded(client, params, field):
    response = client.get(f"/api/tunes/{'a' * 32}.wav", params=params)
    assert response.status_code == 422 and response.json()["field"] == field, response.text


@needs_audio
def test_bars_the_tune_does_not_have_are_said(client, tune_id):
    response = client.get(f"/api/tunes/{tune_id}.wav", params={"first": 30, "last": 31})
    assert response.status_code == 422 and response.json()["field"] == "first"
    assert "bars" in response.json()["error"]


# ---------------------------------------------------------------- 4. problems where the musician looks


@needs_svg
def test_a_wrong_bar_is_red_in_the_score_and_said_once(client):
    tune = client.post("/api/render", json={"abc": ONE_WRONG}).json()
    quality = tune["quality"]
    assert not quality["valid"] and quality["wrong_bars"] == [2]
    bar_problems = [p for p in quality["problems"] if p["bar"] is not None]
    assert len(bar_problems) == 1 and bar_problems[0]["bar"] == 2 and bar_problems[0]["line"] == 6
    assert bar_problems[0]["text"].startswith("line 6, bar 2: ")
    assert all("Bar " not in p["message"] for p in quality["problems"])  # abc2midi's count is not said again
    assert "color:#cc0000" in tune["svg"]  # abcm2ps drew the bar red
    svg = client.get(tune["urls"]["svg"]).text
    assert "color:#cc0000" in svg


@needs_svg
def test_an_aabb_tune_without_an_opening_repeat_has_no_problems(client):
    quality = client.post("/api/render", json={"abc": AABB}).json()["quality"]
    assert quality["valid"] and quality["problems"] == []
    if not missing_tools(["mid"]):
        assert any("Assuming repeat" in r["message"] for r in quality["remarks"])


@needs_svg
def test_every_problem_has_the_tunes_own_line_number(client):
    broken = "X:1\nT:Broken\nR:reel\nM:C|\nL:1/8\nK:D\ndfaf gfed|cABc dAFA|\nGBdB AFDF|EFGE D3 &^|\n"
    quality = client.post("/api/render", json={"abc": broken}).json()["quality"]
    assert not quality["valid"]
    on_line_8 = [p["message"] for p in quality["problems"] if p["line"] == 8]
    assert on_line_8  # the line with "&^", counted with the R: line abc2midi is not given
    # The bad character is said once: abc2midi's and abcm2ps's words for it wait among the remarks.
    assert not any("Malformed note" in m or "Missing note after accidental" in m for m in on_line_8)
    if not missing_tools(["mid"]):
        assert any(r["line"] == 8 and "Malformed note" in r["message"] for r in quality["remarks"])
    assert all(re.match(r"^(line \d+(, bar \d+)?: |bar \d+: )", p["text"]) or p["line"] is None
               for p in quality["problems"])


# ---------------------------------------------------------------- 5. a phone


@needs_svg
def test_the_phone_score_has_bigger_staves(client, tune_id):
    phone = client.get(f"/api/tunes/{tune_id}.svg", params={"layout": "phone"}).text
    width = float(re.search(r'<svg[^>]*width="([\d.]+)px"', phone).group(1))
    scale = max(float(s) for s in re.findall(r"scale\(([\d.]+)\)", phone[:4000]))
    assert width <= 345 and 24 * scale * 356 / width >= 40  # a 24-unit staff on a 390 px phone's 356 px card
    assert client.get(f"/api/tunes/{tune_id}.svg").text != phone


# ---------------------------------------------------------------- 6. the model in words


def test_the_model_is_described_by_what_it_learnt_from(client):
    model = client.get("/api/health").json()["model"]
    assert model["trained_on"].startswith("learnt from ") and "O'Neill's Music of Ireland" in model["trained_on"]
    assert "bits" not in model["trained_on"] + model["quality"]


def test_the_shipped_model_is_described_by_how_good_its_tunes_are():
    said = describe_model({"data": {"data": ["oneills", "ryans", "airds"], "split": {"train": 3816}}}, shipped=True)
    assert said["trained_on"] == ("learnt from 3,816 tunes of O'Neill's Music of Ireland, Ryan's Mammoth "
                                  "Collection and Aird's Selection of Scotch, English, Irish and Foreign Airs")
    assert "every bar adds up in 100%" in said["quality"] and "80.5% end on the key note" in said["quality"]
