"""Rendering runs the real tools (abc2midi, FluidSynth, abcm2ps, rsvg-convert) and checks what they wrote."""

from __future__ import annotations

import shutil
import sys
import wave
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tunesmith.render import midi, playback
from tunesmith.render.midi import note_ons
from tunesmith.render.performance import accompaniment, beat_of, midi_program, tempo_field
from tunesmith.render.rendering import (
    SET_PAUSE_S,
    RenderError,
    RenderOptions,
    RenderResult,
    ToolMissing,
    missing_tools,
    render_set_audio,
    render_tune,
    render_tunebook,
)

# 4 bars repeated, then 2 bars: 10 bars of 4/4 at 120 crotchets a minute = 20 s.
# Notes: A part 8+5+8+3 = 24, played twice; B part 8+1 = 9; 57 note-ons in all.
REEL = """X:1
T:Test Reel
R:reel
M:4/4
L:1/8
Q:1/4=120
K:D
|:DEFG ABcd|edcB A4|DEFG ABcd|e2d2 d4:|
fgaf gfed|e8|
"""
REEL_NOTES_PLAYED, REEL_NOTES_WRITTEN, REEL_SECONDS = 57, 33, 20.0

JIG = """X:2
T:Test Jig
R:jig
M:6/8
L:1/8
K:G
GAB cBA|G3 D3|
"""


def needs(*formats: str) -> None:
    missing = missing_tools(formats)
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


def read_midi(path: Path) -> tuple[int, list[tuple[int, int, bytes]]]:
    return midi.read_midi(path.read_bytes())


def tempo_at_start(events: list[tuple[int, int, bytes]]) -> int:
    """Microseconds per crotchet in force when the first note sounds."""
    first = note_ons(events)[0][0]
    tempos = [e for e in events if e[1] == 0xFF and e[2][0] == 0x51 and e[0] <= first]
    return int.from_bytes(tempos[-1][2][1:], "big")


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as audio:
        assert audio.getsampwidth() == 2
        frames = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2")
        return frames.reshape(-1, audio.getnchannels()).astype(np.float64), audio.getframerate()


@pytest.fixture(scope="module")
def reel(tmp_path_factory: pytest.TempPathFactory) -> RenderResult:
    needs("mid", "wav", "svg")
    png = [] if missing_tools(["png"]) else ["png"]  # rsvg-convert missing skips only the PNG test
    return render_tune(REEL, ["abc", "mid", "wav", "svg", *png], tmp_path_factory.mktemp("reel"), "reel")


# ---------------------------------------------------------------- pure functions


def test_beat_tempo_and_instrument_helpers():
    assert beat_of("6/8") == Fraction(3, 8) and beat_of("C|") == Fraction(1, 2) and beat_of("3/4") == Fraction(1, 4)
    assert tempo_field({"M": "6/8", "R": "Jig"}, None) == "Q:3/8=112"
    assert tempo_field({"M": "C|", "Z": "id:dc-reel-7"}, None) == "Q:1/2=104"  # the lab's rhythm ids count
    assert tempo_field({"M": "4/4", "Q": "1/4=90"}, None) is None  # the tune's own Q: wins
    assert tempo_field({"M": "4/4", "Q": "1/4=90"}, 70) == "Q:1/2=70"  # ...unless a tempo is asked for
    assert midi_program("Tin-Whistle") == 78 and midi_program("fiddle") == 40 and midi_program("71") == 71
    assert midi_program("uilleann pipes") == 109 and midi_program("guitar") == 24  # the table, and the others
    assert accompaniment("piano")[:2] == ["%%MIDI chordprog 0", "%%MIDI bassprog 0"]
    with pytest.raises(ValueError, match="beats per minute"):
        tempo_field({"M": "4/4"}, 0)
    with pytest.raises(ValueError, match="unknown instrument"):
        midi_program("theremin")
    with pytest.raises(ValueError, match="unknown format"):
        missing_tools(["mp3"])


# ---------------------------------------------------------------- real renders


def test_files_are_written_under_the_stem(reel: RenderResult):
    assert sorted(reel.files) == sorted(["abc", "mid", "svg", "wav", *(["png"] if "png" in reel.files else [])])
    for kind, path in reel.files.items():
        assert path.name == f"reel.{kind}" and path.stat().st_size > 0
    assert sorted(p.name for p in reel.files["mid"].parent.iterdir()) == sorted(p.name for p in reel.files.values())
    assert reel.files["abc"].read_text() == REEL
    assert reel.title == "Test Reel"


def test_midi_plays_every_note_with_repeats_at_the_tune_tempo(reel: RenderResult):
    division, events = read_midi(reel.files["mid"])
    notes = note_ons(events)
    assert len(notes) == REEL_NOTES_PLAYED
    assert tempo_at_start(events) == 500_000  # Q:1/4=120
    last_off = max(e[0] for e in events if e[1] & 0xF0 in (0x80, 0x90))
    assert last_off / division * 0.5 == pytest.approx(REEL_SECONDS, rel=0.02)
    programs = [e[2][0] for e in events if e[1] & 0xF0 == 0xC0]
    assert programs == [40]  # the default instrument, a fiddle


@pytest.mark.parametrize("chords, program", [("guitar", 24), ("piano", 0), (None, None)])
def test_chord_symbols_play_as_a_second_part(tmp_path: Path, chords, program):
    """The chord symbols sound on their own channel and program, under the melody; chords=None silences them."""
    needs("mid")
    tune = 'X:1\nT:Chords\nM:4/4\nL:1/8\nQ:1/4=120\nK:G\n|"G"GABc dBGB|"D7"A2FA "G"G4|\n'
    result = render_tune(tune, ["mid"], tmp_path, "chords", RenderOptions(instrument="whistle", chords=chords))
    _, events = read_midi(result.files["mid"])
    channels = {e[1] & 0x0F for e in note_ons(events)}
    programs = {e[1] & 0x0F: e[2][0] for e in events if e[1] & 0xF0 == 0xC0}
    melody = {e[1] & 0x0F for e in events if e[1] & 0xF0 == 0x90 and e[2][0] in (67, 69, 71, 72, 74)}
    assert programs.get(min(melody)) == 78  # the tune on the whistle
    if program is None:
        assert len(channels) == 1
    else:
        assert len(channels) >= 2 and program in {programs.get(c) for c in channels - {min(melody)}}


def test_wav_is_audible_and_as_long_as_the_tune(reel: RenderResult):
    samples, rate = read_wav(reel.files["wav"])
    assert rate == 44100
    assert np.sqrt(np.mean(samples**2)) > 200  # silence (a lost SoundFont) is ~0
    loud = np.nonzero(np.abs(samples).max(axis=1) > 0.01 * np.abs(samples).max())[0]
    # The last audible sample, not the file length: FluidSynth adds a reverb tail.
    assert loud[-1] / rate == pytest.approx(REEL_SECONDS, rel=0.2)
    assert loud[0] / rate < 0.5


def test_svg_has_a_staff_and_every_written_note(reel: RenderResult):
    root = ET.parse(reel.files["svg"]).getroot()
    assert root.tag.endswith("svg")
    link = "{http://www.w3.org/1999/xlink}href"
    heads = [u for u in root.iter("{http://www.w3.org/2000/svg}use") if u.get(link) in ("#hd", "#Hd", "#HD")]
    assert len(heads) == REEL_NOTES_WRITTEN + 1  # written once, plus the crotchet of the "= 120" mark
    staves = [p for p in root.iter("{http://www.w3.org/2000/svg}path") if p.get("d", "").count("h") == 5]
    assert staves, "no five-line staff"
    assert "Test Reel" in reel.files["svg"].read_text()


def test_png_is_a_picture(reel: RenderResult):
    needs("png")
    header = reel.files["png"].read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert width > 600 and height > 100


def test_tempo_and_instrument_options_reach_the_midi(tmp_path: Path):
    needs("mid")
    options = RenderOptions(tempo=90, instrument="tin whistle")
    _, events = read_midi(render_tune(REEL, ["mid"], tmp_path, "fast", options).files["mid"])
    assert tempo_at_start(events) == 333_333  # 90 minims a minute = 180 crotchets
    assert [e[2][0] for e in events if e[1] & 0xF0 == 0xC0] == [78]
    _, events = read_midi(render_tune(JIG, ["mid"], tmp_path, "jig").files["mid"])
    assert tempo_at_start(events) == 60_000_000 // 168  # the jig default: 112 dotted crotchets = 168 crotchets


# ---------------------------------------------------------------- failures


@pytest.mark.parametrize("text", ["X:1\nT:No key\nM:4/4\nABcd|\n", "hello, this is not music\n\x00\x01"])
def test_text_that_is_not_a_tune_fails_cleanly(tmp_path: Path, text: str):
    needs("mid", "svg")
    with pytest.raises(RenderError, match=r"^broken: no K: \(key\) field"):
        render_tune(text, ["mid", "svg"], tmp_path / "out", "broken")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_a_failing_tool_leaves_no_partial_files(tmp_path: Path):
    needs("mid", "wav")
    if not shutil.which("fluidsynth"):
        pytest.skip("needs fluidsynth")
    junk = tmp_path / "junk.sf2"
    junk.write_bytes(b"not a soundfont")
    out = tmp_path / "out"
    # The MIDI renders first, then FluidSynth rejects the SoundFont: neither file may stay.
    with pytest.raises(RenderError, match=r"^reel: fluidsynth wrote no WAV: .*SoundFont"):
        render_tune(REEL, ["mid", "wav"], out, "reel", RenderOptions(soundfont=junk))
    assert list(out.iterdir()) == []


def test_tool_messages_point_at_lines_of_the_file(tmp_path: Path):
    needs("mid")
    text = "X:5\nT:Bad chord\nM:4/4\nL:1/8\nK:D\nAB]c d4|\n"
    result = render_tune(text, ["mid"], tmp_path, "bad", first_line=10)
    assert result.files["mid"].is_file()  # abc2midi skips the bad symbol and still writes
    assert any(w.startswith("abc2midi: line 15: Error:") for w in result.warnings), result.warnings


def test_missing_tools_name_the_debian_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no tool is installed
    assert missing_tools(["mid", "wav", "svg", "png"]) == ["abc2midi", "fluidsynth", "abcm2ps", "rsvg-convert"]
    assert missing_tools(["abc"]) == []
    with pytest.raises(ToolMissing, match=r"abc2midi not found: install it with `apt-get install abcmidi`"):
        render_tune(REEL, ["mid"], tmp_path / "out", "reel")
    with pytest.raises(ToolMissing, match=r"rsvg-convert .*`apt-get install librsvg2-bin`"):
        render_tunebook(tmp_path / "none.abc", ["png"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- tune books and playback


def test_tunebook_goes_on_past_a_broken_tune(tmp_path: Path):
    needs("mid")
    book = tmp_path / "book.abc"
    book.write_text(f"% a tune book\n\n{REEL}\nX:2\nT:Broken\nABC|\n\n{JIG}")
    results = render_tunebook(book, ["mid"], tmp_path / "out", options=RenderOptions(tempo=100))
    assert [(r.number, r.ok) for r in results] == [(1, True), (2, False), (3, True)]
    assert results[0].files["mid"].name == "book-001-test-reel.mid"
    assert results[1].error == "book-002-broken: no K: (key) field, so this is not an ABC tune"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["book-001-test-reel.mid", "book-003-test-jig.mid"]
    chosen = render_tunebook(book, ["abc"], tmp_path / "one", tunes=[3, 9])
    assert chosen[0].files["abc"].read_text() == JIG
    assert chosen[1].error == "book.abc: no tune 9 (it has 3)"
    assert render_tunebook(book, ["abc"], tmp_path / "none", tunes=[]) == []


def test_play_without_an_audio_device_writes_the_wav(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    needs("wav")
    book = tmp_path / "jig.abc"
    book.write_text(JIG)
    monkeypatch.setattr(playback, "audio_player", lambda: None)
    wav, played = playback.play(book)
    assert not played and wav == tmp_path / "jig-001-test-jig.wav" and playback.wav_seconds(wav) > 2
    monkeypatch.setattr(playback, "audio_player", lambda: [sys.executable, "-c", "pass"])  # plays nothing
    assert playback.play(wav) == (wav, True)


def test_comment_lines_before_x_are_kept_out_of_the_way(tmp_path):
    needs("mid")
    text = "% made by tunesmith generate, seed 4\nX:1\nT:Commented\nM:2/4\nL:1/8\nK:D\nABcd|efga|\n"
    result = render_tune(text, ["mid"], tmp_path, "commented")
    assert result.files["mid"].stat().st_size > 0


# MIDI holds at most 16.7 s a crotchet (a 3-byte tempo): 30 bars of 6/8 at a crotchet in 15 s play 22 minutes.
@pytest.mark.parametrize("tune", [JIG.replace("K:G", "Q:1/4=4\nK:G") + "GAB cBA|G3 D3|\n" * 14, JIG + "Z999|\n"],
                         ids=["slow tempo", "long rest"])
def test_audio_of_a_tune_that_plays_for_hours_is_refused_before_the_synthesizer(tmp_path: Path, tune):
    needs("wav")
    with pytest.raises(RenderError, match=r"plays for [\d,]+ minutes; audio is made for at most 15"):
        render_tune(tune, ["wav"], tmp_path, "long")
    assert not list(tmp_path.glob("long.*"))  # nothing half written
    midi = render_tune(tune, ["mid"], tmp_path, "long").files["mid"]  # the MIDI alone is small and fine
    assert midi.stat().st_size < 100_000


def test_midi_seconds_follow_the_tempo(reel: RenderResult):
    assert midi.midi_seconds(reel.files["mid"].read_bytes()) == pytest.approx(REEL_SECONDS, rel=0.02)


def test_a_set_plays_its_tunes_one_after_another_in_one_wav(tmp_path: Path, reel: RenderResult):
    needs("wav")
    joined = render_set_audio([REEL, REEL.replace("T:", "T:Again ")], tmp_path / "set.wav")
    one = playback.wav_seconds(reel.files["wav"])
    assert playback.wav_seconds(joined) == pytest.approx(2 * one + SET_PAUSE_S, abs=0.05)
    assert [p.name for p in tmp_path.iterdir()] == ["set.wav"]  # the work folder is gone


def test_fluidsynth_loads_only_the_samples_a_tune_plays_and_sounds_the_same(tmp_path: Path, monkeypatch):
    needs("mid", "wav")
    if not shutil.which("fluidsynth"):
        pytest.skip("needs fluidsynth")
    from tunesmith.render import rendering

    if not rendering._fluid_loading():
        pytest.skip("this FluidSynth (before 2.1) loads the whole SoundFont")
    with_chords = REEL.replace("K:", '%%MIDI program 73\n%%MIDI gchord fzczfzcz\nK:').replace("|:", '|:"D"', 1)
    lazily = render_tune(with_chords, ["wav"], tmp_path / "lazy", "reel").files["wav"].read_bytes()
    monkeypatch.setattr(rendering, "_fluid_loading", lambda: ())
    whole = render_tune(with_chords, ["wav"], tmp_path / "whole", "reel").files["wav"].read_bytes()
    assert lazily == whole and len(whole) > 100_000
