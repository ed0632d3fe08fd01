"""Instruments: the table's figures, name look-up, and moving a tune to fit a player."""

from __future__ import annotations

import shutil

import pytest

from tunesmith.abc import theory
from tunesmith.abc.instruments import (
    CANDIDATE_SHIFTS,
    INSTRUMENTS,
    Instrument,
    awkward_notes,
    best_shift,
    instrument,
    keys_for,
    out_of_range,
    suits,
    transpose_for,
    transpose_to,
)
from tunesmith.abc.transpose import SANE_RANGE, tune_pitches

HEAD = "X:1\nT:Test\nM:4/4\nL:1/8\n"
LOW_D = HEAD + "K:D\n|:D,E,F,G, A,B,CD|A,B,CD EFGA|B,CDE FGAB|A,2F,2 D,4:|\n"  # D major an octave below a whistle
IN_E_FLAT = HEAD + "K:Eb\n|:EFGA B2AG|FGAB c2BA|GABc d2e2|f2ed e4:|\n"
FIDDLE_LOW_F = HEAD + "K:F\n|:F,A,CF A2FA|cAGF E2C2|F,A,CF A2c2|fagf e2f2:|\n"  # F, (53) is under the G string
IN_D = HEAD + 'K:D\n|:"D"d2fd "G"B2AG|"D"FAdf "A"e2dc|dfaf gfed|"A"cABc "D"d4:|\n'
IN_E = HEAD + "K:E\n|:EFGA B2cd|e2dc BAGF|EFGA Bcde|f2d2 e4:|\n"  # G# and D# are half-holes on a whistle
WIDE = HEAD + "K:G\n|:G,,B,,D,G, B,DGB|dgbd' g'2d'b|gdBG DB,G,D,|G,,4 z4:|\n"  # four octaves: fits nothing small
NO_KEY = HEAD + "K:none\n|:C,DEF GABc|\n"


def names_and_aliases():
    return [(inst.name, alias) for inst in INSTRUMENTS.values() for alias in (inst.name, *inst.aliases)]


@pytest.mark.parametrize(("name", "alias"), names_and_aliases())
def test_every_alias_finds_its_instrument(name, alias):
    assert instrument(alias).name == name
    assert instrument(f"  {alias.upper()}  ").name == name
    assert instrument(alias.replace(" ", "-")).name == name


def test_aliases_are_looked_up_loosely():
    assert instrument("Tin-Whistle") is INSTRUMENTS["whistle"]
    assert instrument("D whistle") is INSTRUMENTS["whistle"]
    assert instrument("Feadóg") is INSTRUMENTS["whistle"]  # accents do not matter
    assert instrument("Uilleann Pipes") is INSTRUMENTS["pipes"]
    assert instrument("B/C box") is INSTRUMENTS["accordion"]


def test_an_unknown_instrument_names_the_choices():
    with pytest.raises(ValueError, match="unknown instrument 'kazoo'") as raised:
        instrument("kazoo")
    for name in INSTRUMENTS:
        assert name in str(raised.value)


def test_the_table_has_the_instruments_the_sessions_use():
    assert {"fiddle", "whistle", "flute", "concertina", "accordion", "mandolin", "banjo", "pipes",
            "piano"} <= set(INSTRUMENTS)
    assert all(key == inst.name for key, inst in INSTRUMENTS.items())


@pytest.mark.parametrize("inst", INSTRUMENTS.values(), ids=list(INSTRUMENTS))
def test_ranges_are_ranges_of_playable_notes(inst):
    assert 21 <= inst.low < inst.high <= 108  # inside a piano
    assert inst.high - inst.low >= 24  # two octaves at least: a session tune spans most of that
    assert 0 <= inst.program <= 127


@pytest.mark.parametrize("inst", INSTRUMENTS.values(), ids=list(INSTRUMENTS))
def test_keys_are_canonical_readable_and_easy(inst):
    assert len(set(inst.keys)) == len(inst.keys)
    for key in inst.keys:
        assert theory.parse_key(key) is not None, key
        assert theory.canonical_key(key) == key
        assert suits(key, inst)
        # A key players use must have its whole scale easy: no half-holes for the home scale.
        assert theory.scale(theory.key_signature(key)) <= inst.easy_pitch_classes, key
    assert keys_for(inst)
    assert all(theory.parse_key(key) is not None for key in keys_for(inst))


@pytest.mark.parametrize(("name", "low", "high", "program"), [
    ("whistle", 62, 86, 78), ("pipes", 62, 86, 109), ("fiddle", 55, 88, 40), ("piano", 21, 108, 0),
    ("banjo", 55, 88, 105), ("flute", 62, 93, 73), ("accordion", 52, 96, 21), ("concertina", 55, 93, 22),
])
def test_the_figures(name, low, high, program):
    inst = INSTRUMENTS[name]
    assert (inst.low, inst.high, inst.program) == (low, high, program)


def test_which_instruments_are_chromatic():
    assert not INSTRUMENTS["whistle"].chromatic
    assert not INSTRUMENTS["pipes"].chromatic
    assert INSTRUMENTS["fiddle"].chromatic and INSTRUMENTS["piano"].chromatic
    # D major plus C natural: D E F# G A B C# and C.
    assert INSTRUMENTS["whistle"].easy_pitch_classes == frozenset({2, 4, 6, 7, 9, 11, 1, 0})
    assert INSTRUMENTS["banjo"].sounds == -12 and INSTRUMENTS["fiddle"].sounds == 0


def test_an_instrument_checks_its_figures():
    with pytest.raises(ValueError, match="range"):
        Instrument("backwards", 80, 60, (), 0)
    with pytest.raises(ValueError, match="programs"):
        Instrument("loud", 60, 80, (), 128)


def test_suits():
    whistle, piano = INSTRUMENTS["whistle"], INSTRUMENTS["piano"]
    assert suits("E minor", whistle) and suits("A Dorian", whistle)
    assert not suits("F", whistle) and not suits("A", whistle)  # B flat; G sharp
    assert suits("Gb", piano) and not suits("none", piano)


def test_out_of_range_and_awkward_notes():
    whistle, fiddle = INSTRUMENTS["whistle"], INSTRUMENTS["fiddle"]
    assert out_of_range(HEAD + "K:D\n|A,DFA d'e'|\n", whistle) == [57, 88]
    assert out_of_range(IN_D, whistle) == []
    assert out_of_range(FIDDLE_LOW_F, fiddle) == [53, 53]
    assert awkward_notes(HEAD + "K:D\n|DEFG =F^G|\n", whistle) == 2
    assert awkward_notes(HEAD + "K:D\n|DEFG =cd|\n", whistle) == 0  # C natural is cross-fingered
    assert awkward_notes(IN_E, whistle) == 7  # the G sharps and D sharps
    assert awkward_notes(IN_E, fiddle) == 0
    assert out_of_range(NO_KEY, whistle) == [48]  # a key transposition cannot read is still read


def test_a_tune_written_an_octave_low_goes_up_an_octave_for_whistle():
    whistle = INSTRUMENTS["whistle"]
    assert len(out_of_range(LOW_D, whistle)) > 10
    moved, shift = transpose_for(LOW_D, whistle)
    assert shift == 12
    assert out_of_range(moved, whistle) == []
    assert tune_pitches(moved) == [pitch + 12 for pitch in tune_pitches(LOW_D)]
    assert "\nK:D\n" in moved


def test_a_tune_in_e_flat_moves_to_a_whistle_key():
    whistle = INSTRUMENTS["whistle"]
    assert awkward_notes(IN_E_FLAT, whistle) > 0
    moved, shift = transpose_for(IN_E_FLAT, whistle)
    assert shift == -1
    assert "\nK:D\n" in moved
    assert out_of_range(moved, whistle) == [] and awkward_notes(moved, whistle) == 0


def test_a_fiddle_tune_with_a_low_f_moves_above_the_g_string():
    fiddle = INSTRUMENTS["fiddle"]
    moved, shift = transpose_for(FIDDLE_LOW_F, fiddle)
    assert shift == 2  # to G: the smallest move that lifts F, over G3
    assert min(tune_pitches(moved)) >= 55
    assert "\nK:G\n" in moved


def test_a_tune_that_fits_stays_as_it_is():
    for name in ("whistle", "fiddle", "pipes", "accordion"):
        moved, shift = transpose_for(IN_D, INSTRUMENTS[name])
        assert (moved, shift) == (IN_D, 0), name


def test_a_piano_takes_any_key():
    moved, shift = transpose_for(IN_E_FLAT, INSTRUMENTS["piano"])
    assert (moved, shift) == (IN_E_FLAT, 0)  # a fiddle would move it to D
    assert transpose_for(IN_E_FLAT, INSTRUMENTS["fiddle"])[1] == -1


def test_e_major_moves_to_d_for_whistle_but_not_for_fiddle():
    assert best_shift(IN_E, INSTRUMENTS["whistle"]) == -2
    assert best_shift(IN_E, INSTRUMENTS["fiddle"]) == 0  # E is a fiddle key: nothing to fix


def test_easy_notes_come_before_a_usual_key():
    # A Dorian written under K:A with its naturals spelt out: every note is easy on a whistle as it
    # stands, while moving to D (a whistle key) would bring in F naturals.
    dorian = HEAD + "K:A\n|:A2=GA =cA=GE|D2=GA B2AB|=cBA=G EDEG|A2A2 A4:|\n"
    whistle = INSTRUMENTS["whistle"]
    assert not suits("A", whistle)
    assert awkward_notes(dorian, whistle) == 0
    assert awkward_notes(transpose_to(dorian, "D"), whistle) > 0
    assert transpose_for(dorian, whistle) == (dorian, 0)


@pytest.mark.parametrize("inst", INSTRUMENTS.values(), ids=list(INSTRUMENTS))
def test_the_best_shift_leaves_fewest_notes_out(inst):
    moved, shift = transpose_for(WIDE, inst)
    pitches = tune_pitches(WIDE)
    fewest = min(sum(not inst.low <= p + s <= inst.high for p in pitches) for s in CANDIDATE_SHIFTS)
    assert len(out_of_range(moved, inst)) == fewest
    assert tune_pitches(moved) == [pitch + shift for pitch in pitches]


@pytest.mark.parametrize("inst", INSTRUMENTS.values(), ids=list(INSTRUMENTS))
def test_a_tune_without_a_key_cannot_be_moved(inst):
    with pytest.raises(ValueError, match="cannot transpose this tune"):
        best_shift(NO_KEY, inst)
    with pytest.raises(ValueError, match="cannot be transposed"):
        transpose_for(NO_KEY, inst)


def test_transpose_to_and_back_keeps_every_pitch():
    in_g = transpose_to(IN_D, "G")
    assert "\nK:G\n" in in_g
    assert tune_pitches(in_g) == [pitch + 5 for pitch in tune_pitches(IN_D)]  # up a fourth, not down a fifth
    assert '"C"' in in_g  # chord symbols move too
    back = transpose_to(in_g, "D")
    assert back == IN_D
    assert tune_pitches(back) == tune_pitches(IN_D)


def test_transpose_to_reads_the_key_as_written():
    minor = HEAD + "K:Em\n|:EFGA B2AG|\n"
    assert "\nK:Am\n" in transpose_to(minor, "A minor")
    assert "\nK:Bdor\n" in transpose_to(HEAD + "K:Ador\n|:ABcd e2dc|\n", "B Dorian")
    assert transpose_to(IN_D, "D major") == IN_D


def test_transpose_to_takes_the_octave_that_stays_sane():
    high = HEAD + "K:D\n|:d'e'f'g' a'2f'd'|\n"  # 86..93, the top of the sane range
    in_g = transpose_to(high, "G")
    shift = tune_pitches(in_g)[0] - tune_pitches(high)[0]
    assert shift == -7  # up a fourth would leave the range
    assert all(SANE_RANGE[0] <= pitch <= SANE_RANGE[1] for pitch in tune_pitches(in_g))


def test_transpose_to_refuses_another_mode():
    with pytest.raises(ValueError, match=r"the tune is in D \(major\); Em is minor: give a key in the same mode, "
                                         r"e\.g\. E$"):
        transpose_to(IN_D, "Em")
    with pytest.raises(ValueError, match=r"Ador \(Dorian\); Em is minor.*e\.g\. Edor"):
        transpose_to(HEAD + "K:Ador\n|:ABcd e2dc|\n", "E minor")


def test_transpose_to_refuses_what_is_no_key():
    with pytest.raises(ValueError, match="cannot be transposed"):
        transpose_to(IN_D, "H")
    with pytest.raises(ValueError, match="cannot be transposed"):
        transpose_to(NO_KEY, "G")


@pytest.mark.skipif(shutil.which("abc2midi") is None, reason="needs abc2midi (apt-get install abcmidi)")
@pytest.mark.parametrize("text", [LOW_D, IN_E_FLAT, FIDDLE_LOW_F])
def test_a_moved_tune_is_clean_for_abc2midi(tmp_path, text):
    from tunesmith.abc.tools import run_tool

    for name in ("whistle", "fiddle"):
        moved, _ = transpose_for(text, INSTRUMENTS[name])
        (tmp_path / "tune.abc").write_text(moved)
        code, output = run_tool(["abc2midi", "tune.abc", "-o", "tune.mid"], tmp_path, timeout=20)
        assert code == 0 and "error" not in output.lower() and "warning" not in output.lower(), output
        assert (tmp_path / "tune.mid").stat().st_size > 0
