"""Forms and cadences learnt from tune books, drawn from, and held by the constraint."""

import random
from collections import Counter
from dataclasses import replace

import pytest

from tunesmith.abc.grammar import Form, TuneState
from tunesmith.abc.reader import read_tune
from tunesmith.data.forms import (
    FREE,
    draw_request,
    form_key,
    form_table,
    furnished,
    parse_form,
    parse_phrases,
    part_endings,
    phrase_pattern,
    scale_degree,
    tune_form,
    with_phrases,
)

REEL = ("X:1\nT:r\nR:reel\nM:C|\nL:1/8\nK:D\n|:dAFA dAFA|GBAG FDED|dAFA dAFA|GBAG FD D2:|\n"
        "|:fefg afdf|gfga bgeg|fefg afdf|gefd B2A2:|")
JIG = "X:1\nT:j\nR:jig\nM:6/8\nL:1/8\nK:G\nD|:GAG GBd|edB dBA|GAG GBd|edB A2:|"


@pytest.mark.parametrize("key", ["2x8r", "2x8rp", "3x8", "1x16p", "4x4r", "8r+16", "4r+8p", "8+8rp", "8r+8+8p"])
def test_form_keys_round_trip(key):
    assert form_key(parse_form(key)) == key


def test_a_shape_of_alike_parts_is_the_regular_form():
    assert Form.of_shape(((8, True), (8, True)), pickup=True) == parse_form("2x8rp")
    assert parse_form("8r+8r") == Form(2, 8, repeats=True, pickup=False)


@pytest.mark.parametrize("key", ["8r+65", "+".join(["4r"] * 9), "8r+0"])
def test_a_shape_no_form_holds_is_none(key):
    assert parse_form(key) is None


def test_a_shape_gives_each_part_its_length_and_repeat():
    form = parse_form("4r+8")
    assert (form.parts, form.total_bars) == (2, 12)
    assert [form.part_length(p) for p in range(2)] == [4, 8] and [form.part_repeats(p) for p in range(2)] == [True,
                                                                                                          False]
    with pytest.raises(ValueError, match="earlier bar"):
        Form(2, 4, shape=((4, True), (8, False)), copies=(((0, 5), (0, 0)),))


def test_free_is_no_form():
    assert parse_form(FREE) is None


def test_a_real_tune_has_its_form():
    assert tune_form(REEL) == "2x4r"
    assert tune_form(JIG) == "1x4rp"  # a pickup before the |:


# A repeated 4-bar A part, then an 8-bar B part played once: 84 of the three books' C-time tunes are so.
IRREGULAR = ("X:1\nT:i\nR:reel\nM:C|\nL:1/8\nK:D\n|:dAFA dAFA|GBAG FDED|dAFA dAFA|GBAG FD D2:|\n"
             "fefg afdf|gfga bgeg|fefg afdf|gefd B2A2|fefg afdf|gfga bgeg|fefg afdf|gefd d4|]")


def test_an_irregular_tune_is_free_but_its_shape_is_counted():
    assert tune_form(IRREGULAR) == FREE
    table = form_table([IRREGULAR, REEL])
    (row,) = table["types"]
    assert row["forms"] == {"2x4r": 1, FREE: 1} and row["shapes"] == {"4r+8": 1}
    assert "4r+8" in table["phrases"]


@pytest.mark.parametrize(("pitch", "key", "degree"), [
    (62, "D", 1), (69, "D", 5), (65, "D", None), (66, "D", 3), (69, "Ador", 1), (72, "Ador", 3),
    (70, "Bb", 1), (71, "Bb", None), (64, "Em", 1), (67, "Em", 3), (60, "Dmix", 7),
])
def test_scale_degree(pitch, key, degree):
    assert scale_degree(pitch, key) == degree


def test_part_endings():
    assert part_endings(REEL) == [1, 5]  # A part home on D; B part on A, the fifth
    assert part_endings(JIG) == [2]  # A in G


def test_form_table_of_a_book_counts_every_tune(oneills_split):
    texts = [t.text for t in oneills_split.train[:400]]
    table = form_table(texts)
    assert sum(row["tunes"] for row in table["types"]) == sum("\nM:" in t for t in texts)
    reels = [row for row in table["types"] if row["rhythm"] == "reel"]
    assert reels and all(sum(row["forms"].values()) == row["tunes"] for row in reels)
    assert all(row["keys"] for row in reels)


def test_draws_follow_the_book_and_never_draw_free(oneills_split):
    table = form_table([t.text for t in oneills_split.train])
    rng = random.Random(0)
    draws = [draw_request(table, rng, rhythm="hornpipe") for _ in range(2000)]
    assert all(d.rhythm == "hornpipe" and d.form is not None and d.key for d in draws)
    hornpipes = Counter()
    for row in table["types"]:
        if row["rhythm"] == "hornpipe" and row["meter"] == draws[0].meter:
            hornpipes.update(row["forms"])
            hornpipes.update(row["shapes"])  # the irregular tunes by their own shape
    del hornpipes[FREE]
    same_meter = [d for d in draws if d.meter == draws[0].meter]
    drawn = Counter(form_key(replace(d.form, cadences=(), copies=())) for d in same_meter)
    for key in ("2x8rp", "2x8r"):
        assert abs(drawn[key] / len(same_meter) - hornpipes[key] / sum(hornpipes.values())) < 0.03
    irregular = sum(n for key, n in hornpipes.items() if "+" in key) / sum(hornpipes.values())
    assert irregular > 0.01 and abs(sum(n for key, n in drawn.items() if "+" in key) / len(same_meter)
                                    - irregular) < 0.02
    assert all(len(d.form.cadences) == d.form.parts for d in draws)


def test_a_request_naming_nothing_gets_a_type_of_the_book(oneills_split):
    table = form_table([t.text for t in oneills_split.train])
    drawn = [draw_request(table, random.Random(seed)) for seed in range(200)]
    meters = Counter(d.meter for d in drawn)
    assert meters.most_common(1)[0][0] in ("6/8", "C|")  # O'Neill's commonest metres
    assert all(d.meter for d in drawn)


def _ends(body: str, cadence: int, key: str = "D") -> bool:
    state = TuneState(Form(1, 2, repeats=False, pickup=False, cadences=(cadence,)))
    return state.push_text(f"X:1\nT:t\nM:C|\nL:1/8\nK:{key}\n{body}") and state.can_end()


@pytest.mark.parametrize(("body", "cadence", "key", "ok"), [
    ("dAFA dAFA|GBAG FDD2||", 1, "D", True),  # home on D
    ("dAFA dAFA|GBAG FDE2||", 1, "D", False),  # on E: refused at the double bar
    ("dAFA dAFA|GBAG FDA2||", 5, "D", True),  # the fifth, asked for
    ("dAFA dAFA|GBAG FD=D2||", 1, "D", True),  # a natural D is still D in D major
    ("dAFA dAFA|GBAG FD^D2||", 1, "D", False),  # D sharp is not
    ("dAFA dAFA|GBAG FDD z||", 1, "D", True),  # a rest after the last note
    ("BAGA BAGA|BAGA BAGB||", 1, "Ador", False),
    ("BAGA BAGA|BAGA BAA2||", 1, "Ador", True),
])
def test_the_constraint_holds_a_part_to_its_cadence(body, cadence, key, ok):
    assert _ends(body, cadence, key) is ok


def test_a_cadence_given_up_lets_the_part_end():
    state = TuneState(Form(1, 2, repeats=False, pickup=False, cadences=(1,)))
    assert state.push_text("X:1\nT:t\nM:C|\nL:1/8\nK:D\ndAFA dAFA|GBAG FDE2")
    assert state.cadence_due() and not state.allows("||")
    assert state.relax_cadence() and state.allows("||") and not state.relax_cadence()


def test_a_full_bar_that_cannot_close_refuses_spaces_at_once():
    state = TuneState(Form(1, 2, repeats=False, pickup=False, cadences=(1,)))
    assert state.push_text("X:1\nT:t\nM:C|\nL:1/8\nK:D\ndAFA dAFA|GBAG FDE2")
    assert not state.allows(" ") and not state.allows("\n")


def test_a_metre_alone_leaves_the_rhythm_to_the_model(oneills_split):
    table = form_table([t.text for t in oneills_split.train])
    drawn = [draw_request(table, random.Random(seed), meter="6/8") for seed in range(100)]
    assert all(d.meter == "6/8" and d.rhythm is None and d.form is not None for d in drawn)
    assert {d.rhythm for d in (draw_request(table, random.Random(s)) for s in range(100))} - {None}


HEAD = "X:1\nT:t\nM:C|\nL:1/8\nK:D\n"


@pytest.mark.parametrize(("body", "ok"), [
    ("|:dAFA dAFA|GBAG FDD2:|fefg afdf|gfga bgeg|fefg afdf|gefd d4|]", True),
    ("|:dAFA dAFA|GBAG FDD2:|fefg afdf|gfga bgeg:|", False),  # the B part is 4 bars, played once
    ("|:dAFA dAFA|GBAG FDD2:||:fefg afdf|gfga bgeg|fefg afdf|gefd d4:|", False),
])
def test_the_constraint_holds_each_part_to_its_own_shape(body, ok):
    state = TuneState(parse_form("2r+4"))
    assert (state.push_text(HEAD + body) and state.can_end()) is ok


def test_a_part_played_once_before_a_repeated_one_ends_with_its_opening_repeat():
    """Past || abc2midi would not go back to the part's start, and no later :| could close it: a dead end."""
    state = TuneState(parse_form("2+2r"))
    assert state.push_text(HEAD + "dAFA dAFA|GBAG FDD2")
    assert not state.allows("||") and not state.allows(":|") and state.allows("|:")
    assert state.push_text("|:fefg afdf|gefd d4:|") and state.can_end()
    assert not TuneState(parse_form("2r+2")).push_text(HEAD + "|:dAFA dAFA|GBAG FDD2:|fefg afdf|gefd d4|:")


def test_a_form_without_repeats_opens_none():
    """Its parts close with ||: a |: could never be closed (a dead end at the end of the tune)."""
    state = TuneState(Form(2, 2, repeats=False, pickup=False))
    assert state.push_text("X:1\nT:t\nM:C|\nL:1/8\nK:D\ndAFA dAFA|GBAG FDD2||")
    assert not state.allows("|:") and state.allows("|") and not TuneState(Form(1, 2, repeats=False)).allows("|:")


def test_only_a_parts_last_bar_is_due_its_cadence():
    state = TuneState(Form(1, 4, repeats=False, pickup=False, cadences=(1,)))
    assert state.push_text("X:1\nT:t\nM:C|\nL:1/8\nK:D\ndAFA dAFA|GBAG FDE")
    assert not state.cadence_due()  # bar 2 of 4, half written
    assert state.push_text("2|") and not state.cadence_due()  # bar 2 closing
    assert state.push_text("dAFA dAFA|") and state.cadence_due()  # bar 3 closing: bar 4 comes next
    assert state.push_text("GB") and state.cadence_due()  # bar 4 of 4


def test_a_tunes_repeated_bars_are_found_as_the_sampler_counts_them():
    # bars 3 = 1 in both parts of REEL; the B part plays none of the A part again
    assert phrase_pattern(read_tune(REEL)) == "0.2=0.0;1.2=1.0"
    # the pickup and the short last bar are not counted: GAG GBd is bar 0 both times
    assert phrase_pattern(read_tune(JIG)) == "0.2=0.0"


def test_phrase_patterns_round_trip_into_a_form():
    copies = parse_phrases("0.4=0.0;1.7=0.7")
    assert copies == (((0, 4), (0, 0)), ((1, 7), (0, 7)))
    assert Form(2, 8, copies=copies).copies == copies
    with pytest.raises(ValueError, match="earlier bar"):
        Form(2, 8, copies=(((0, 0), (0, 4)),))
    with pytest.raises(ValueError, match="earlier bar"):
        Form(2, 8, copies=(((1, 9), (0, 0)),))


def test_a_drawn_form_repeats_bars_as_the_books_tunes_do(oneills_split):
    table = form_table([t.text for t in oneills_split.train[:600]])
    assert table["phrases"]["2x8rp"], "O'Neill's reels repeat bars"
    rng = random.Random(0)
    forms = [draw_request(table, rng, rhythm="reel").form for _ in range(200)]
    with_copies = [f for f in forms if f is not None and f.copies]
    assert len(with_copies) > len(forms) / 3
    assert sum(((0, 4), (0, 0)) in f.copies for f in with_copies) > len(with_copies) / 3  # bar 5 = bar 1
    assert all(bar < f.part_length(part) for f in with_copies for copy in f.copies for part, bar in copy)


def test_a_form_is_furnished_but_what_it_names_is_kept(oneills_split):
    table = form_table([t.text for t in oneills_split.train[:600]])
    asked = Form(2, 8, cadences=(5, 1), copies=(((0, 4), (0, 0)),))
    assert furnished(asked, table, "reel", random.Random(0)) == asked
    drawn = furnished(Form(2, 8), table, "reel", random.Random(1))
    assert len(drawn.cadences) == 2
    assert with_phrases(None, table, random.Random(0)) is None


def test_a_part_ending_as_an_earlier_part_did_is_drawn_its_cadence():
    """B's last bar playing A's again cannot also end elsewhere: A takes B's drawn degree."""
    table = {"cadences": {"reel": {"part": {"5": 1}, "tune": {"1": 1}}},
             "phrases": {"2x8r": {"1.7=0.7": 1}}}
    drawn = furnished(Form(2, 8), table, "reel", random.Random(0))
    assert drawn.copies == (((1, 7), (0, 7)),) and drawn.cadences == (1, 1)
    table["phrases"]["2x8r"] = {"1.3=0.3": 1}  # a bar inside the parts: their own degrees stay
    assert furnished(Form(2, 8), table, "reel", random.Random(0)).cadences == (5, 1)


def test_cadences_asked_for_keep_and_the_copy_that_cannot_meet_them_goes():
    table = {"phrases": {"2x8r": {"1.7=0.7;1.4=1.0": 1}}}
    asked = with_phrases(Form(2, 8, cadences=(5, 1)), table, random.Random(0))
    assert asked.cadences == (5, 1) and asked.copies == (((1, 4), (1, 0)),)
