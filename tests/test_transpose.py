import random
import warnings

import pytest

from tunesmith.abc.text import parse_fields
from tunesmith.abc.transpose import (
    SHIFTS,
    augment,
    parse_key,
    transpose_key,
    transpose_tune,
    transpositions,
    tune_pitches,
)
from tunesmith.data.corpus import load_corpus


@pytest.mark.parametrize(("key", "shift", "expected"), [
    ("G", 3, "Bb"),  # not A#
    ("Am", 1, "Bbm"),  # not A#m
    ("D", 4, "F#"),  # 6 sharps or 6 flats: a sharp key stays sharp
    ("F", 1, "Gb"),  # ... and a flat key stays flat
    ("Ador", 2, "Bdor"),
    ("Edor", -2, "Ddor"),
    ("Dmix", 6, "Abmix"),
    ("Em", -5, "Bm"),
    ("A Dorian", 0, "Ador"),
    ("Bphr", 1, "Cphr"),
    ("Dlyd", -1, "Dblyd"),
])
def test_keys_move_to_the_simplest_spelling(key, shift, expected):
    moved = transpose_key(parse_key(key), shift)
    assert moved.name == expected
    assert abs(moved.sharps) <= 6


@pytest.mark.parametrize("key", ["none", "HP", "D ^g", "G clef=bass", "", "Dmixm"])
def test_keys_that_cannot_move_raise(key):
    with pytest.raises(ValueError, match="cannot be transposed"):
        transpose_tune(f"X:1\nK:{key}\nABc|", 2)


def test_accidental_without_a_note_raises():
    # Ryan's has quoted-printable line ends: music21 puts this "=" on the next line's g, we cannot know.
    with pytest.raises(ValueError, match="no note after it"):
        transpose_tune("X:1\nK:A\ndfBa =\ngabg|", 2)


def test_no_key_raises():
    with pytest.raises(ValueError, match="no K:"):
        transpose_tune("X:1\nT:t\nABc|", 2)


def test_notes_accidentals_octaves_and_lengths():
    assert transpose_tune("X:1\nK:G\n|GA^cd|", 2) == "X:1\nK:A\n|AB^de|"
    # The accidental holds to the bar line: the second F needs none, the F after the bar is natural.
    assert transpose_tune("X:1\nK:C\n^F F|F2", 2) == "X:1\nK:D\n^G G|G2"
    assert transpose_tune("X:1\nK:C\nB,/c'3/2 z2", 1) == "X:1\nK:Db\nC/d'3/2 z2"
    # E# up a major third is G##: written as A, natural against F#'s signature.
    assert transpose_tune("X:1\nK:D\n^e2|", 4) == "X:1\nK:F#\n=a2|"
    # An accidental holds for its letter in every octave (abc2midi, music21): =f then F is natural.
    assert tune_pitches("X:1\nK:G\n=f F|F") == [77, 65, 66]
    # Courtesy accidentals the original wrote stay written.
    assert transpose_tune("X:1\nK:G\n=c", 2) == "X:1\nK:A\n=d"


def test_output_is_unambiguous_for_readers_that_keep_accidentals_to_one_octave():
    # ^f carries to F an octave down (as abc2midi reads it); after ^g, a bare G would be G# to
    # abc2midi but G natural to a one-octave reader, so the output writes ^G.
    assert tune_pitches("X:1\nK:C\n^f F") == [78, 66]
    assert transpose_tune("X:1\nK:C\n^f F", 2) == "X:1\nK:D\n^g ^G"


def test_chord_symbols_move_and_annotations_stay():
    out = transpose_tune('X:1\nK:G\n"Am"A "D7/F#"d "D.C."G "f"g "Segno"B "Bbmaj7"c', 2)
    assert out == 'X:1\nK:A\n"Bm"B "E7/G#"e "D.C."A "f"a "Segno"c "Cmaj7"d'


def test_key_changes_inline_and_on_their_own_line():
    text = "X:1\nT:Two Keys\nM:6/8\nL:1/8\nK:G\nGAB [K:D] c2 f|\nK:Em\nefg|"
    out = transpose_tune(text, -2)
    assert out == "X:1\nT:Two Keys\nM:6/8\nL:1/8\nK:F\nFGA [K:C] B2 e|\nK:Dm\ndef|"
    assert tune_pitches(out) == [p - 2 for p in tune_pitches(text)]


def test_fields_titles_and_decorations_are_not_notes():
    text = 'X:1\nT:A Bad Day\nR:reel\nM:C|\nL:1/8\nK:D\n!trill!A B {/c}d "^Fine"e|\nP:B\nM:3/4\nABc|'
    out = transpose_tune(text, 2)
    assert out.startswith("X:1\nT:A Bad Day\nR:reel\nM:C|\nL:1/8\nK:E\n!trill!B c {/d}e \"^Fine\"f|\nP:B\nM:3/4\n")


def test_transpositions_stay_in_range_and_augment_counts_skips():
    low = "X:1\nK:G\nG,A,B,C DEFG|"
    moved = transpositions(low)
    assert all(min(tune_pitches(t)) >= 52 for t in moved)
    assert len(moved) < len(SHIFTS) - 1  # the ones going below E, are left out
    assert len(transpositions("X:1\nK:G\nGABc dBAG|")) == len(SHIFTS) - 1
    texts, skipped = augment(["X:1\nK:G\nGABc|", "X:1\nK:none\nGABc|"])
    assert skipped == 1 and texts[0] == "X:1\nK:G\nGABc|" and "X:1\nK:none\nGABc|" in texts
    assert len(texts) == 1 + (len(SHIFTS) - 1) + 1


def _music21_pitches(text: str) -> list[int]:
    from music21 import converter, harmony

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = converter.parse("%abc-2.1\n" + text, format="abc")
    # Chord symbols ("Am", and music21 reads "f" as an F chord) are not notes of the tune.
    return [p.midi for n in score.flatten().notes if not isinstance(n, harmony.ChordSymbol) for p in n.pitches]


def _check_with_music21(texts: list[str], shifts: list[int]) -> tuple[int, list[str]]:
    checked, differed = 0, []
    for text in texts:
        original = _music21_pitches(text)
        for shift in shifts:
            moved = transpose_tune(text, shift)
            checked += 1
            if _music21_pitches(moved) != [p + shift for p in original]:
                differed.append(f"{shift:+d}:\n{moved}")
    return checked, differed


def _sample(data: str, n: int) -> list[str]:
    texts = [t.text for t in load_corpus(data).tunes]
    usable = []
    for text in random.Random(1).sample(texts, len(texts)):
        try:
            transpose_tune(text, 1)
        except ValueError:
            continue
        usable.append(text)
        if len(usable) == n:
            break
    return usable


@pytest.mark.slow
def test_music21_hears_the_same_tune_shifted_oneills_and_quirks(quirks_abc):
    texts = _sample(str(quirks_abc), 5) + _sample("oneills", 12)
    checked, differed = _check_with_music21(texts, [-5, -3, -1, 2, 4, 6])
    assert checked >= 80 and differed == []


@pytest.mark.slow
def test_music21_hears_the_same_tune_shifted_irish(irish_abc):
    checked, differed = _check_with_music21(_sample(str(irish_abc), 8), [-4, -2, 1, 3, 5])
    assert checked == 40 and differed == []


@pytest.mark.parametrize("shift", [-24, -17, -12, 11, 12, 13, 18, 24])
@pytest.mark.parametrize("key", ["D", "Bb", "F#m", "Ador", "Ebmix"])
def test_moves_of_an_octave_or_more_keep_every_pitch(key, shift):
    """An octave up is the same key an octave higher; larger moves land on the key of the remainder."""
    tune = f"X:1\nM:4/4\nL:1/8\nK:{key}\n|DEFG ABcd|^c=cBA G2F2|\n"
    moved = transpose_tune(tune, shift)
    assert tune_pitches(moved) == [pitch + shift for pitch in tune_pitches(tune)]
    within_octave = shift % 12 if shift % 12 <= 6 else shift % 12 - 12
    assert parse_fields(moved)["K"] == parse_fields(transpose_tune(tune, within_octave))["K"]


def test_a_tie_holds_its_accidental_across_the_bar_line():
    """Essen writes "=D2-|D2" in F#: the tied D is the natural one, as abc2midi plays it; moved, it stays tied."""
    tune = "X:1\nM:4/4\nL:1/8\nK:F#\nF2E2=D2-|D2 F2 E2 D2|\n"
    assert tune_pitches(tune)[2:4] == [62, 62] and tune_pitches(tune)[-1] == 63
    moved = transpose_tune(tune, -5)
    assert "=A,2-|=A,2 D2 C2 B,2|" in moved  # the last note is the key's Bb (D# before): only the tie holds
    assert tune_pitches(moved) == [pitch - 5 for pitch in tune_pitches(tune)]
