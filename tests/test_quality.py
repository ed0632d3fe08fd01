"""Tests of the tune checker. Expected numbers are counted by hand; each test says how."""

import json
import shutil
from dataclasses import asdict
from fractions import Fraction

import pytest

from tunesmith.abc.reader import read_tune
from tunesmith.abc.text import note_length, split_tunebook
from tunesmith.abc.theory import key_signature
from tunesmith.abc.tools import ToolTimeout
from tunesmith.judge import quality
from tunesmith.judge.quality import (
    BarWarning,
    NoveltyIndex,
    TuneReport,
    WrongBar,
    bar_warnings,
    check_tune,
    check_tunebook,
    metre_agreement,
    summarise,
)

needs_abc2midi = pytest.mark.skipif(shutil.which("abc2midi") is None, reason="abc2midi not installed")

# irish.abc tune 1: a hornpipe, two 8-bar parts, each with a pickup, old `!` line breaks.
ALEXANDERS = """X:1
T:Alexander's
M:C|
L:1/8
K:D Major
(3ABc|dAFA DFAd|fdcd FAdf|gfge fefd|(3efe (3dcB A2 (3ABc|!
dAFA DFAd|fdcd FAdf|gfge fefd|(3efe dc d2:|!
AG|FAdA FAdA|GBdB GBdB|Acec Acec|dfaf gecA|!
FAdA FAdA|GBdB GBdB|Aceg fefd|(3efe dc d2:|!
"""

# irish.abc "Blackthorn Stick No. 2": pickups, and first and second endings written [1 [2.
BLACKTHORN = """X:11
T:Blackthorn Stick No. 2
M:6/8
L:1/8
K:G Major
D|GED DED|GFG c2e|dBG GAB|AGE E2D|!
GED DED|GFG c2e|dBG GAB|AGF G2:|!
d|gdB GBd|gdB c2e|dBG GAB|AGE E2D|!
[1 gdB GBd|gdB c2e|dBG GAB|AGF G2:|!
[2 GED EDE|GFG c2e|dBG GAB|AGF G2|]!
"""

# irish.abc "Belfast": a hornpipe in three parts.
BELFAST = """X:3
T:Belfast
M:C|
L:1/8
K:D Major
ag|(3faf df AdFA|DFAd f2ef|gbec dfAF|GABG E2ag|!
(3faf df AdFA|DFAd f2ef|gbed cABc|d2f2 d2:|!
(3DEF|GFGA Bcde|fgfe dcdB|A2f2 fef2|G2e2 ede2|!
GFGA Bcde|fgfe dcdB|Afed cABc|d2f2 d2:|!
ag|(3fgf (3efe (3ded (3cdc|(3BcB (3ABA G2ba|(3gag (3fgf (3efe (3ded|(3cdc (3BcB A2ag|!
(3fgf (3efe (3ded (3cdc|(3BcB (3ABA (3GAG (3FGF|Eged cABc|d2f2 d2:|!
"""


def tune(body: str, meter: str = "4/4", length: str | None = "1/8", key: str = "C") -> str:
    """A tune around a body, with only the header fields asked for."""
    unit = f"L:{length}\n" if length else ""
    return f"X:1\nT:test\nM:{meter}\n{unit}K:{key}\n{body}\n"


def metre(text: str) -> TuneReport:
    return check_tune(text, use_abc2midi=False)


def wrong(report: TuneReport) -> list[tuple[int, str, str]]:
    return [(bar.index, bar.found, bar.expected) for bar in report.wrong_bars]


# --------------------------------------------------------------------------- pieces


def test_note_length():
    assert [note_length(s) for s in ["", "2", "/", "//", "/2", "3/2", "3/", "/4", "///"]] == [
        1, 2, Fraction(1, 2), Fraction(1, 4), Fraction(1, 2), Fraction(3, 2), Fraction(3, 2),
        Fraction(1, 4), Fraction(1, 8),
    ]


def sharps(spec: str) -> set[str]:
    return {letter for letter, alter in key_signature(spec).items() if alter == 1}


def flats(spec: str) -> set[str]:
    return {letter for letter, alter in key_signature(spec).items() if alter == -1}


def test_key_signature():
    assert sharps("D Major") == sharps("D") == {"F", "C"}
    assert flats("Gm") == flats("G minor") == {"B", "E"}  # relative of Bb major
    assert sharps("A Dorian") == sharps("Ador") == {"F"}  # A dorian: G major's notes
    assert sharps("D Mixolydian") == {"F"}  # D mixolydian: G major's notes too
    assert flats("Bb") == {"B", "E"} and sharps("F#m") == {"F", "C", "G"}
    assert sharps("D =c") == {"F"}  # explicit accidental in K: cancels C sharp
    assert sharps("G clef=treble") == {"F"}
    assert key_signature("none") is None


# --------------------------------------------------------------------------- syntax


def test_missing_key_field_fails_syntax():
    report = metre("X:1\nT:no key\nM:4/4\nL:1/8\nABcd efga|\n")
    assert report.missing_fields == ("K",)
    assert not report.syntax_ok


def test_unclosed_chord_is_a_problem():
    # "[ceg" has no "]" before the bar line: the reader cannot read it as a chord.
    report = metre(tune("GAB [ceg d2 e2|"))
    assert "unclosed chord '['" in report.problems
    assert not report.syntax_ok


def test_clean_real_tune():
    report = metre(ALEXANDERS)
    assert report.syntax_ok and report.problems == () and report.missing_fields == ()
    assert report.abc2midi_errors is None and report.music21_ok is None  # not asked


@needs_abc2midi
def test_abc2midi_counts_errors_and_keeps_warnings():
    clean = check_tune(ALEXANDERS)
    assert clean.abc2midi_errors == 0 and clean.syntax_ok
    # A chord symbol must start with A-G: abc2midi says "Error ... Guitar chord does not start".
    # Bar 2 has 6 eighths in 4/4: abc2midi warns "Bar 1 has 3 time units ... has 4" (it
    # counts from 0, in quarter notes), which is 3/4 of a whole note.
    report = check_tune(tune('ABcd efga|ABc def|ABcd efga|"Verse"A8|'))
    assert report.abc2midi_errors == 1 and not report.syntax_ok
    assert any("Guitar chord" in message for message in report.abc2midi_messages)
    assert report.abc2midi_bar_warnings == (BarWarning(1, "3/4", "1", False),)
    assert wrong(report) == [(2, "3/4", "1")]


@needs_abc2midi
def test_abc2midi_missing_x_and_k():
    assert check_tune("T:no x\nM:4/4\nL:1/8\nK:C\nABcd efga|\n").abc2midi_errors >= 1
    assert check_tune("X:1\nT:no k\nM:4/4\nL:1/8\nABcd efga|\n").abc2midi_errors >= 1


@needs_abc2midi
def test_abc2midi_ignores_rhythm_field():
    # abc2midi plays R:hornpipe as swung pairs and calls M:C| an error; R: is not music.
    text = ALEXANDERS.replace("M:C|", "R:hornpipe\nM:C|")
    assert check_tune(text).abc2midi_errors == 0


def test_abc2midi_timeout_is_an_error(monkeypatch):
    def too_slow(argv, cwd, timeout):
        raise ToolTimeout(f"{argv[0]} took longer than {timeout:g} s")

    monkeypatch.setattr(quality.shutil, "which", lambda name: "/usr/bin/abc2midi")
    monkeypatch.setattr(quality, "run_tool", too_slow)
    report = check_tune(ALEXANDERS)
    assert report.abc2midi_errors == 1 and not report.syntax_ok
    assert "longer than" in report.abc2midi_messages[0]


def test_garbage_does_not_crash():
    # What an untrained model writes: huge rests, zero denominators, stray brackets and quotes.
    text = 'X:1\nM:4/4\nK:C\nZ999999|A/0 B|(0 [|]]] "open {ab|\n|:|:|::||]\n'
    report = metre(text)
    assert not report.syntax_ok
    assert "whole-bar rest of 999999 bars" in report.problems
    assert any("zero denominator" in problem for problem in report.problems)
    assert report.bars_total < 100


@pytest.mark.parametrize("body, problem", [
    ("A4 B4 | | c8 |]", "empty bar before '|'"),
    ("[A,A,A,A,CA,]8 |]", "chord with a repeated note '[A,A,A,A,CA,]8'"),
    ("e''8 |]", "note out of range \"e''\""),
    ("[ce'']8 |]", "note out of range \"e''\""),
    ("C,,,8 |]", "note out of range 'C,,,'"),
])
def test_what_no_musician_writes_is_a_problem(body, problem):
    report = metre("X:1\nM:4/4\nL:1/8\nK:C\n" + body)
    assert problem in report.problems and not report.syntax_ok


@pytest.mark.parametrize("body", ["A8 |\n|: B8 :|", "A8 |:| B8 |]", "[A,CE]8 | c'8 | C,,8 |]"])
def test_what_tune_books_write_is_not_a_problem(body):
    assert list(metre("X:1\nM:4/4\nL:1/8\nK:C\n" + body).problems) == []


def test_missing_abc2midi_names_the_package(monkeypatch):
    monkeypatch.setattr(quality.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="abcmidi"):
        check_tune(ALEXANDERS, use_abc2midi=True)


def test_without_abc2midi_the_checker_reads_the_tune_itself(monkeypatch):
    monkeypatch.setattr(quality.shutil, "which", lambda name: None)
    report = check_tune(ALEXANDERS)
    assert report.abc2midi_errors is None and report.metre_ok and report.bars_total > 0


def test_bar_warnings_are_converted_to_whole_notes():
    # Units are 1/denominator of M: -- halves under C| (2/2), eighths under 6/8.
    messages = [
        "Warning in line-char 8-2 : Track 0 Bar 8 has 9/4 time units while the time signature has 2 in repeat",
        "Warning in line-char 3-1 : Track 0 Bar 2 has 5 time units while the time signature has 6",
        "Warning in line-char 6-3 : Bar 4 has 7 units instead of 8",  # older abc2midi wording
        "Warning in line-char 10-45 : Assuming repeat",
    ]
    assert bar_warnings(messages[:1], "C|") == (BarWarning(8, "9/8", "1", True),)
    assert bar_warnings(messages[1:2], "6/8") == (BarWarning(2, "5/8", "3/4", False),)
    assert bar_warnings(messages[2:], "none") == (BarWarning(4, "7", "8", False),)  # raw units


def test_music21_is_opt_in():
    pytest.importorskip("music21")
    assert check_tune(ALEXANDERS, use_abc2midi=False, use_music21=True).music21_ok is True
    broken = check_tune(tune("AB[cd|"), use_abc2midi=False, use_music21=True)
    assert broken.music21_ok is False and not broken.syntax_ok


# --------------------------------------------------------------------------- metre


def test_real_tune_metre_and_form():
    # A part: pickup (3ABc (a quarter) + 8 bars, the 8th "(3efe dc d2" is 6/8 and completes
    # the pickup; B part likewise with "AG". 9 + 9 = 18 bars, all correct.
    report = metre(ALEXANDERS)
    assert (report.bars_total, report.bars_correct, report.metre_ok) == (18, 18, True)
    assert report.sections == 2 and report.bars_per_section == (8, 8) and report.aabb


def test_wrong_bar_lengths():
    # 4/4, L:1/8: bar 1 has 8 eighths, bar 2 six (3/4), bar 3 nine (9/8), bar 4 eight.
    report = metre(tune("ABcd efga|ABc def|ABcd efgab|c8|"))
    assert (report.bars_total, report.bars_correct, report.metre_ok) == (4, 2, False)
    assert wrong(report) == [(2, "3/4", "1"), (3, "9/8", "1")]
    assert report.wrong_bars[0] == WrongBar(2, "3/4", "1")


def test_note_lengths_sum_per_bar():
    # 2/4, L:1/8 = four eighths a bar, counted in eighths:
    # "A2 A/2 A/ A" = 2 + 1/2 + 1/2 + 1; "A//A//A3/2 A2" = 1/4 + 1/4 + 3/2 + 2; "A3 A" = 3 + 1.
    report = metre(tune("A2 A/2 A/ A|A//A//A3/2 A2|A3 A|", meter="2/4"))
    assert (report.bars_total, report.metre_ok) == (3, True)


def test_default_unit_length_and_cut_time():
    # No L: -- 2/4 is under 3/4, so L defaults to 1/16: eight notes fill a bar.
    assert metre(tune("ABcd efga|ABcd efga|", meter="2/4", length=None)).metre_ok
    # 3/4 and up default to 1/8: six eighths.
    assert metre(tune("ABc def|", meter="3/4", length=None)).metre_ok
    # C| is 2/2 and C is 4/4: both a whole note.
    assert metre(tune("ABcd efga|", meter="C|")).metre_ok
    assert metre(tune("A B c d|", meter="C", length="1/4")).metre_ok
    # 7 eighths: wrong in the middle of a tune (a short first bar would be a pickup).
    assert wrong(metre(tune("ABcd efga|ABcd efg|ABcd efga|", meter="C|"))) == [(2, "7/8", "1")]


def test_tuplets():
    # 2/4, L:1/8. (3ABc: three eighths in the time of two = 2/8; + d2 = 4/8.
    # (3:2:3efg: the same written out. (3A2B2c2: three quarters in the time of two = 4/8.
    # (5ABcde in simple metre: five in the time of two = 2/8; + f2 = 4/8.
    report = metre(tune("(3ABc d2|(3:2:3efg a2|(3A2B2c2|(5ABcde f2|", meter="2/4"))
    assert (report.bars_total, report.metre_ok) == (4, True)
    # 6/8: (2AB is two in the time of three = 3/8; + c3 = 6/8.
    assert metre(tune("(2AB c3|ABc def|", meter="6/8")).metre_ok
    # (3ABc d3 = 2/8 + 3/8 = 5/8 in 2/4: wrong (not the first bar, so no pickup excuse).
    assert wrong(metre(tune("A4|(3ABc d3|A4|", meter="2/4"))) == [(2, "5/8", "1/2")]


def test_broken_rhythm():
    # A>B = 3/2 + 1/2 eighths, c<d = 1/2 + 3/2, e>>f = 7/4 + 1/4, g2: 2+2+2+2 = 8 eighths.
    assert metre(tune("A>B c<d e>>f g2|c8|")).metre_ok
    # Broken rhythm moves time between the two notes and adds none: "A>B c d" is 4 eighths.
    assert wrong(metre(tune("c8|A>B c d|c8|"))) == [(2, "1/2", "1")]


def test_chords_grace_notes_decorations_and_annotations():
    # [GBd]2 lasts as its first note times 2 = 2 eighths; {ag} takes no time; quoted text,
    # !trill!, +fermata+, ~ . H u v T and the chord symbol "G" take none: 2+2+2+2 = 8.
    body = '"G"[GBd]2 {ag}B2 !trill!c2 +fermata+d2|~A .B HC uD vE TF "^text"z2|[G2B2]2 [EG]4|'
    report = metre(tune(body))
    assert (report.bars_total, report.metre_ok, report.problems) == (3, True, ())


def test_ties_and_rests():
    # A4-A4 = 8; z2 x2 A4 = 8; Z is one bar of rest, Z2 two: 1 + 1 + 1 + 2 = 5 bars.
    report = metre(tune("A4-A4|z2 x2 A4|Z|Z2|"))
    assert (report.bars_total, report.metre_ok) == (5, True)


def test_inline_and_body_fields_change_the_metre():
    # 6/8: ABc def = 6 eighths; [M:3/4] A2 B2 c2 = 6 eighths of a 3/4 bar;
    # then an M:2/4 line with [L:1/16] A4 B4 = 8 sixteenths = 1/2; K: lines change nothing.
    body = "ABc def|[M:3/4] A2 B2 c2|\nM:2/4\nK:D\n[L:1/16] A4 B4|[K:G]c8|"
    report = metre(tune(body, meter="6/8"))
    assert (report.bars_total, report.metre_ok) == (4, True)


def test_old_line_breaks_and_continuations():
    # `!` unpaired on its line is a line break; !trill! is a decoration; `\` joins lines.
    body = "!trill!A2 B2 c2 d2|e8|!\nA2 B2 \\\nc2 d2|e8|]!"
    report = metre(tune(body))
    assert (report.bars_total, report.metre_ok, report.problems) == (4, True, ())


def test_pickups():
    # 6/8. Tune-start pickup "D" (1/8) is fine on its own. The first part closes "AGF G2:|" =
    # 5/8, and the second part's pickup "d" (1/8) completes it: 5 + 1 = 6.
    text = tune("D|GED DED|AGF G2:|d|gdB GBd|AGF G3|]", meter="6/8")
    assert metre(text).metre_ok
    # Second part pickup "d" with no short bar to complete: the full "AGF G3:|" before it and the
    # full "AGF G3|]" closing its own part. Bar 4 ("d") is wrong.
    text = tune("D|GED DED|AGF G3:|d|gdB GBd|AGF G3|]", meter="6/8")
    assert wrong(metre(text)) == [(4, "1/8", "3/4")]
    # A short bar in the middle of a part is wrong even if its neighbours could complete it.
    assert wrong(metre(tune("GED DED|AGF G2|d GBd|c6|", meter="6/8"))) == [(2, "5/8", "3/4"), (3, "1/2", "3/4")]


def test_pickup_completed_by_last_bar():
    # O'Neill's habit: a single-part tune whose last bar "G4" (1/2) completes the pickup
    # "D2" (1/4) of the first bar in 3/4; |:| at the end is a repeat sign.
    assert metre(tune("D2|G2 A2 B2|c2 B2 A2|G4|:|", meter="3/4")).metre_ok


def test_first_and_second_endings():
    # Blackthorn Stick: A part = "D" + 8 bars (9); B part = "d" + 4 bars, ending 1 = 4 bars,
    # ending 2 = 4 bars (13): 22 bars. "AGF G2:|" in ending 1 (5/8) completes the B pickup
    # "d"; "AGF G2|]" in ending 2 completes the tune's first pickup "D".
    report = metre(BLACKTHORN)
    assert (report.bars_total, report.bars_correct, report.metre_ok) == (22, 22, True)
    # The second ending replaces the first: two parts of 8 bars, both repeated.
    assert report.sections == 2 and report.bars_per_section == (8, 8) and report.aabb


def test_endings_with_bar_numbers():
    # |1 and :|2 spelling, 4/4. A part: 7 bars, |1 one bar :|2 one bar ||; B part: 8 bars
    # repeated. Written bars: 7 + 1 + 1 + 8 = 17; parts of 8 and 8 (ending 2 replaces ending 1).
    a = "|:" + "c8|" * 6 + "c8|1 d8:|2 e8||"
    b = "|:" + "f8|" * 7 + "f8:|"
    report = metre(tune(a + "\n" + b))
    assert (report.bars_total, report.metre_ok) == (17, True)
    assert report.bars_per_section == (8, 8) and report.aabb


def test_short_bar_before_an_ending_pairs_with_each_ending():
    # irish.abc "Queen of the Fair" style, 6/8: "fdf e" (4/8) is completed by the "cA" (2/8)
    # that opens ending 1 and by the "fg" that opens ending 2.
    body = "F|Add fdd|fdf e|\n[1 cA|FDD D2:|\n[2 fg|FDD D2|]"
    report = metre(tune(body, meter="6/8"))
    assert (report.bars_total, report.metre_ok) == (7, True)


def test_free_or_missing_meter_is_not_correct():
    report = metre("X:1\nT:free\nM:none\nL:1/8\nK:C\nABc|defg|\n")
    assert (report.bars_total, report.bars_correct) == (2, 0)
    assert wrong(report) == [(1, "3/8", "none"), (2, "1/2", "none")]


# --------------------------------------------------------------------------- form


def test_three_part_tune_is_not_aabb():
    # Three parts: pickup + 8 bars each (the last part's pickup "ag" closes with "d2f2 d2").
    report = metre(BELFAST)
    assert report.sections == 3 and report.bars_per_section == (8, 8, 8)
    assert not report.aabb and report.metre_ok


def test_unrepeated_parts_are_not_aabb():
    report = metre(tune("c8|" * 8 + "|" + "d8|" * 8 + "]"))  # "||" after 8 bars, "|]" at the end
    assert report.bars_per_section == (8, 8) and not report.aabb


def test_pitch_range_and_in_key():
    # K:G. G, = 55, ^c = C#5 = 73 (not in G major), g = 79, _B = Bb4 = 70 (not in G major).
    # Range 79 - 55 = 24; in key 2 of 4.
    report = metre(tune("G,2 ^c2 g2 _B2|", key="G"))
    assert (report.notes, report.pitch_range, report.in_key) == (4, 24, 0.5)
    # K:D. =f is F natural (77, out); the next f in the bar keeps the natural (out); c is C#
    # (73, in); f' is another octave so the signature's F# (90, in). Range 90 - 73 = 17.
    report = metre(tune("=f2 f2 c2 f'2|", key="D"))
    assert (report.pitch_range, report.in_key) == (17, 0.5)
    # Modes: A dorian has F#, so f is in and =f out; chord notes count, grace notes do not.
    assert metre(tune("{=f}A2 [ce]2 f2 g2|", key="Ador")).in_key == 1.0
    assert metre(tune("A2 c2 =f2 g2|", key="Ador")).in_key == 0.75


# --------------------------------------------------------------------------- novelty


def test_novelty_finds_a_transposed_copy():
    train = [ALEXANDERS, BELFAST, BLACKTHORN]
    index = NoveltyIndex(train)
    # Blackthorn's first five bars moved up a fifth (G -> D, D -> A, ...) inside a new tune.
    copy = tune("D|GED DED|GFG c2e|dBG GAB|AGE E2D|", meter="6/8", key="G")
    up = copy.replace("D|GED DED|GFG c2e|dBG GAB|AGE E2D|", "A|dBA ABA|dcd g2b|afd def|edB B2A|")
    assert index.longest_copy(copy) == (5, 2)
    assert index.longest_copy(up.replace("K:G", "K:D")) == (5, 2)  # transposed: still 5 bars
    fresh = tune("C2 E2 G2 c2|B2 G2 E2 C2|D8|C8|", key="C")
    assert index.longest_copy(fresh) == (0, None)
    # A training tune matches itself whole, unless excluded.
    assert index.longest_copy(BELFAST) == (read_tune_bars(BELFAST), 1)
    assert index.longest_copy(BELFAST, exclude=1)[1] != 1
    report = check_tune(copy, use_abc2midi=False, index=index)
    assert (report.longest_copy, report.nearest_tune, report.copied) == (5, 2, True)


def read_tune_bars(text: str) -> int:
    return len(read_tune(text).bars)


def test_novelty_index_is_fast():
    # 2,000 training tunes (four bars each, all different) and 200 queries in well under a second each.
    import time

    def made_up(seed: int) -> str:
        notes = "CDEFGABcdefgab"
        bars = [" ".join(notes[(seed * 7 + i * 3 + j) % 14] + "2" for j in range(4)) for i in range(4)]
        return tune("|".join(bars) + "|", key="C")

    start = time.perf_counter()
    index = NoveltyIndex(made_up(seed) for seed in range(2000))
    for seed in range(200):
        index.longest_copy(made_up(seed))
    assert time.perf_counter() - start < 10


# --------------------------------------------------------------------------- tune books


def test_report_is_json_able():
    report = check_tune(BLACKTHORN, use_abc2midi=False, index=NoveltyIndex([ALEXANDERS]))
    data = json.loads(json.dumps(asdict(report)))
    assert data["title"] == "Blackthorn Stick No. 2" and data["bars_per_section"] == [8, 8]


def test_check_tunebook_and_summarise(tmp_path):
    path = tmp_path / "book.abc"
    path.write_text("\n\n".join([ALEXANDERS, BLACKTHORN, tune("ABcd efga|ABc def|")]))
    reports = check_tunebook(path, use_abc2midi=False)
    assert [r.title for r in reports] == ["Alexander's", "Blackthorn Stick No. 2", "test"]
    assert check_tunebook(str(path), use_abc2midi=False) == reports
    assert check_tunebook([ALEXANDERS], use_abc2midi=False) == reports[:1]
    summary = summarise(reports)
    assert summary["tunes"] == 3 and summary["metre_ok"] == pytest.approx(2 / 3)
    assert summary["aabb"] == pytest.approx(2 / 3) and "copied" not in summary
    # Alexander's 18/18, Blackthorn 22/22, the third 1/2: its last bar "ABc def" is short and
    # its first bar is full, so there is no pickup for it to complete.
    assert summary["mean_bars_correct"] == pytest.approx((1 + 1 + 0.5) / 3)


def test_metre_agreement_counts():
    def report(metre_ok: bool, warned: bool) -> TuneReport:
        warnings = (BarWarning(1, "3/4", "1", False),) if warned else ()
        return TuneReport(
            title="", syntax_ok=True, missing_fields=(), problems=(), abc2midi_errors=0,
            abc2midi_messages=(), abc2midi_bar_warnings=warnings, music21_ok=None, bars_total=1,
            bars_correct=int(metre_ok), wrong_bars=(), metre_ok=metre_ok, sections=1,
            bars_per_section=(1,), aabb=False, notes=1, pitch_range=0, in_key=1.0, ends_on_tonic=False,
        )

    reports = [report(True, False), report(False, True), report(False, False), report(True, True)]
    agreement = metre_agreement(reports)
    assert agreement["both_clean"] == 1 and agreement["both_not_clean"] == 1
    assert agreement["agreement"] == 0.5
    assert agreement["only_ours_not_clean"] == [2] and agreement["only_abc2midi_not_clean"] == [3]


def test_irish_tunebook(irish_abc):
    # Whole book without abc2midi (fast); measured: 804 tunes, 98.5% metre-clean.
    reports = check_tunebook(irish_abc, use_abc2midi=False)
    summary = summarise(reports)
    assert summary["tunes"] == len(split_tunebook(irish_abc.read_text()))
    assert summary["metre_ok"] > 0.97 and summary["mean_bars_correct"] > 0.99
    assert summary["mean_in_key"] > 0.98 and summary["aabb"] > 0.5


@needs_abc2midi
def test_irish_agreement_with_abc2midi(irish_abc):
    texts = [text for _, text in split_tunebook(irish_abc.read_text())[:60]]
    reports = check_tunebook(texts)
    assert metre_agreement(reports)["agreement"] > 0.9
    assert sum(report.syntax_ok for report in reports) >= 55
