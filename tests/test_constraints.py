"""The constraint refuses what would break a tune, accepts real tunes, and never lets a wrong bar through."""

import random

import pytest

from tunesmith.abc.grammar import Form, TuneState
from tunesmith.abc.reader import read_tune
from tunesmith.abc.transpose import tune_pitches
from tunesmith.judge.quality import check_tune

HEADER = "X:1\nT:t\nM:6/8\nL:1/8\nK:G\n"
# The characters a random writer picks from: mostly notes and bar lines, some of everything ABC uses.
ALPHABET = list("ABCDEFGabcdefgz") * 4 + list("2222344/////||||||:::::: \n^_=,'><[]()3\"!{}-~.128")
PRINTABLE = [chr(i) for i in range(32, 127)] + ["\n"]


def accepts(text: str, form: Form | None = None, pitch_range: tuple[int, int] | None = None) -> bool:
    state = TuneState(form, pitch_range)
    return state.push_text(text) and state.can_end()


def random_tune(rng: random.Random, header: str, form: Form | None, max_len: int = 1200,
                pitch_range: tuple[int, int] | None = None, unfinished: bool = False) -> str | None:
    """Write a tune by picking uniformly among the characters the constraint allows; None at a dead end
    (and at max_len, unless unfinished text is asked for)."""
    state = TuneState(form, pitch_range)
    assert state.push_text(header)
    text = header
    for _ in range(max_len):
        if state.can_end() and rng.random() < (0.5 if form else 0.05):
            return text
        options = [char for char in PRINTABLE if state.allows(char)]
        if not options:
            return None
        # Weighted: a character twice in ALPHABET twice as likely; the rest of ASCII rarely, but possible.
        char = rng.choices(options, [ALPHABET.count(char) + 0.1 for char in options])[0]
        assert state.push(char)
        text += char
    return text if unfinished else None


@pytest.mark.parametrize(
    "body, ok",
    [
        ("GAB cBA|dBG A3:|", True),  # two full bars
        ("D|GAB cBA|dBG A2:|", True),  # a pickup, completed by the last bar of the part
        ("GAB cBA|dBG A2:|", False),  # a short last bar with no pickup to complete it
        ("GAB cBA|dB A3|GAB cBA|]", False),  # a short bar in the middle
        ("GAB cBAB|", False),  # a bar too long
        ("GAB c2 A-|A3 B3|]", True),  # a tie to the same pitch across the bar line
        ("GAB c2 A-|B3 B3|]", False),  # a tie to another pitch
        ("G>A B c3|d6|]", True),  # broken rhythm: 3/2 + 1/2 of two equal notes
        ("(3GAB c3 B|d6|]", True),  # a triplet of quavers takes two quavers' time
        ("(3GAB c3 B2|d6|]", False),  # ...so this bar is too long
        ("d6|(3GAB c2 B|d6|]", False),  # ...and this one short
        ('"G"GAB "D"d3|[DG]6|]', True),  # chord symbols, a chord
        ("GAB (cBA|d6)|]", False),  # a slur open at a bar line
        ("|:GAB cBA|dBG A3:|", True),
        ("|:GAB cBA|dBG A3|", False),  # the repeat is never closed
        ("|:GAB cBA|1 dBG A3:|2 dBG G3|]", True),  # first and second endings
        ("GAB cBA:|1 dBG A3|]", False),  # a first ending after a repeat already closed
        ("[1GAB cBA|dBG A3:|2 dBG G3|]", False),  # a first ending before any bar: abc2midi counts it otherwise
        ("|:[1GAB cBA|dBG A3:|2 dBG G3|]", False),
        ("GAB cBA|\n\nd6|]", False),  # a blank line would end the tune
        ("TGAB .c~BA|d6|]", True),  # one-letter decorations touching their notes
        ("T GAB cBA|d6|]", False),  # abc2midi: "Malformed note" when a space comes between
        ("T(GA) B cBA|d6|]", False),  # ...or a slur
        ("~[GB]AB cBA|d6|]", False),  # abc2midi: no roll on a chord
        (".[GB]AB cBA|d6|]", True),  # a staccato chord is fine
        ("G>.A B c3|d6|]", False),  # abc2midi: "Cannot apply broken rhythm" to a staccato note
        (".G>A B c3|d6|]", False),  # ...before the arrow or after it
        ("G>TA B .c3|d6|]", True),  # other decorations are fine, and a staccato away from > or <
        ("G>~A B c3|d6|]", False),  # abc2midi: a roll after > makes the bar long
        ("HG>A B c3|d6|]", False),  # ...a fermata too
        ("G>!fermata!A B c3|d6|]", False),
        ("G>!trill!A B c3|d6|]", True),
        ("G>A>B c3|d6|]", False),  # abc2midi: the second note of a pair cannot start another
        ("G>A B>c c2|d6|]", True),
        ("GAB c2 A-|{g}A3 B3|]", False),  # abc2midi: a grace note between a tie and its note
        ("GAB c2 A-~A3 B3|]", False),  # ...or a decoration
        ("GAB c2 A-|^A3 B3|]", False),  # abc2midi: a tied note with another accidental is another pitch
        ("GAB c2 [Ac]-|[Ac]3 B3|]", False),  # abc2midi: no note before the tie of a chord
        ("GAB [AA]3|d6|]", False),  # a chord with one note twice is a cluster, not a chord
        ("GAB c'3|d6|]", True),  # b' is the highest note a tune may have
        ("GAB c''3|d6|]", False),
        ("GAB [Gc'']3|d6|]", False),  # ...in a chord too
        ("GAB C,,3|d6|]", True),  # and C,, the lowest
        ("GAB C,,,3|d6|]", False),
        ("GAB cBA| |d6|]", False),  # an empty bar
    ],
)
def test_refuses_what_would_break_a_tune(body, ok):
    assert accepts(HEADER + body) == ok
    if ok:  # whatever the constraint accepts, the checker calls right
        assert check_tune(HEADER + body, use_abc2midi=False).metre_ok


def test_header_fields_must_be_readable():
    assert not TuneState().allows("X:1\nM:6/x")
    assert not TuneState().allows("X:1\nL:3")
    assert not TuneState().allows("X:1\nmeter")
    assert not TuneState().push_text("X:1\nK:G\n")  # no M: before K:, so no bar to count
    assert TuneState().allows("X:1\nT:any title at all\nM:C|\nL:1/8\nK:Ador\n")


def test_accepts_most_real_tunes(irish_abc):
    from tunesmith.data.corpus import load_corpus

    good = [t.text for t in load_corpus(str(irish_abc)).tunes if check_tune(t.text, use_abc2midi=False).metre_ok]
    accepted = sum(accepts(text) for text in good)
    # What it refuses: key and metre changes inside the body, endings abc2midi calls errors, repeats
    # whose last bar does not make up their first as abc2midi plays them.
    assert accepted / len(good) > 0.8


@pytest.mark.parametrize("seed", range(3))
def test_random_writing_never_breaks_a_bar(seed):
    """Characters picked at random among the allowed ones always make bars the checker calls right."""
    rng = random.Random(seed)
    headers = [HEADER, "X:1\nT:r\nM:C|\nL:1/8\nK:D\n", "X:1\nT:w\nM:3/4\nL:1/8\nK:Am\n",
               "X:1\nT:p\nM:2/4\nL:1/16\nK:Bb\n"]
    finished = 0
    for _ in range(12):
        text = random_tune(rng, rng.choice(headers), None)
        if text is not None:
            finished += 1
            report = check_tune(text, use_abc2midi=False)
            assert report.metre_ok, (report.wrong_bars, text)
            assert not report.problems, (report.problems, text)
    assert finished >= 4


@pytest.mark.parametrize("pickup", [None, True, False])
def test_form_is_followed_exactly(pickup):
    rng = random.Random(7)
    form = Form(parts=2, bars_per_part=8, pickup=pickup)
    finished = 0
    for _ in range(8):
        text = random_tune(rng, HEADER, form)
        if text is None:
            continue
        finished += 1
        report = check_tune(text, use_abc2midi=False)
        assert report.metre_ok and report.aabb and report.bars_per_section == (8, 8), text
        first_bar = read_tune(text).bars[0]
        if pickup is not None:
            assert (first_bar.duration < first_bar.expected) == pickup, text
    assert finished >= 3


def test_form_refuses_a_ninth_bar_and_an_early_end():
    state = TuneState(Form(parts=1, bars_per_part=2))
    assert state.push_text(HEADER + "GAB cBA|")
    assert not state.can_end()
    assert not state.allows("dBG A3|")  # the second bar must close the part with its repeat
    assert state.allows("dBG A3:|")
    assert state.push_text("dBG A3:|")
    assert state.can_end()
    assert not state.allows("G")  # the form is complete: nothing more


@pytest.mark.parametrize("pitch_range, header", [
    ((62, 86), HEADER), ((65, 84), "X:1\nT:r\nM:C|\nL:1/8\nK:Bb\n"), ((60, 72), "X:1\nT:w\nM:3/4\nL:1/8\nK:Edor\n"),
], ids=["whistle", "high", "octave"])
def test_random_writing_stays_in_the_range(pitch_range, header):
    """With a pitch range every note sounds inside it, under the checker's reading of accidentals
    (to the end of the bar in their octave) and abc2midi's (in every octave: transpose.tune_pitches)."""
    rng, (low, high) = random.Random(7), pitch_range
    free = [random_tune(rng, header, None, max_len=400, unfinished=True) for _ in range(3)]
    assert any(text and not all(low <= p <= high for p in read_tune(text).pitches) for text in free), \
        "the random writer never leaves the range unconstrained: the test would show nothing"
    finished = 0
    for _ in range(8):
        text = random_tune(rng, header, None, pitch_range=pitch_range)
        if text is None:
            continue
        finished += 1
        assert all(low <= p <= high for p in read_tune(text).pitches), text
        assert all(low <= p <= high for p in tune_pitches(text)), text
        assert check_tune(text, use_abc2midi=False).metre_ok, text
    assert finished >= 2  # the random writer meets the dead ends it meets without a range too (chords, "!" lines)


def test_range_refuses_a_note_below_and_allows_an_octave_mark_up():
    header = "X:1\nT:r\nM:C|\nL:1/8\nK:D\n"
    assert accepts(header + "|DEFG ABcd|efga b2a2|\n", pitch_range=(62, 86))
    state = TuneState(pitch_range=(62, 86))
    assert state.push_text(header + "|D")
    assert not state.allows("^C") and not state.allows("C") and state.allows("c'")  # C#4 61; c#'' 85
    assert not state.allows("d''")  # 98


def test_a_paren_inside_a_slur_and_a_tuplet_is_refused_before_it_leaves_no_way_on():
    """Found sampling greedily: "((3(" left nothing allowed (a slur within a slur, a tuplet within a tuplet)."""
    state = TuneState()
    assert state.push_text("X:1\nM:C|\nL:1/8\nK:G\n|: ((3")
    assert not state.allows("(")
    assert state.allows("A")
