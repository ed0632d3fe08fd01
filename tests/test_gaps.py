"""The gap constraint (tunesmith.abc.gaps): what it lets a model write between kept bars, character by
character, with no model at all."""

from fractions import Fraction

import pytest

from tunesmith.abc.gaps import GapError, constraint_sign, gap_state, next_part_lengths, read_bars, skeleton
from tunesmith.data.infill import split_at_bars

REEL = ("X:1\nT:Test Reel\nM:C|\nL:1/8\nK:D\n"
        "|:A|dfaf gfed|cABc dAFA|GBdB AFDF|EFGE D3:|\n|:g|fdad fdad|gebe gebe|fdad fgaf|gefe d3:|")
JIG = ("X:1\nT:Test Jig\nM:6/8\nL:1/8\nK:G\n"
       "|:D|GBd gdB|cAF DEF|GBd gdB|1 cAF G2:|2 cAF GBd||\n"
       "|:gfg edB|cAF DEF|gfg edB|cAF G3:|")


def _state(text, first, end, **kw):
    return gap_state(text, split_at_bars(text), first, end, **kw)


def _writes(state, text: str) -> bool:
    state = state.copy()
    return state.push_text(text) and state.can_end()


@pytest.mark.parametrize("tune", [REEL, JIG])
def test_every_run_of_bars_of_a_real_tune_can_be_written_again_as_it_was(tune):
    cuts = split_at_bars(tune)
    for first in range(len(cuts) - 1):
        for end in range(first + 1, len(cuts)):
            assert _writes(_state(tune, first, end), tune[cuts[first]:cuts[end]]), (first, end)


def test_the_gap_keeps_its_bar_count_bar_lines_and_short_bars():
    state = _state(REEL, 1, 3)  # "dfaf gfed|cABc dAFA|"
    assert _writes(state, "d2fa gfed|cAGE D4|")
    assert not _writes(state, "d2fa gfed|")  # a bar short
    assert not state.copy().push_text("d2fa gfed|cAGE D4|A")  # a bar more
    assert not state.copy().push_text("d2fa gfed||")  # another bar line than the bar had
    assert not state.copy().push_text("d2fa gfe|")  # a bar that does not add up
    pickup = _state(REEL, 5, 7)  # "\n|:g|fdad fdad|": the B part's pickup stays one quaver
    assert _writes(pickup, "\n|:a|fedc d4|") and not pickup.copy().push_text("\n|:ab|")


def test_the_kept_bar_line_before_the_gap_is_never_made_longer():
    assert not _state(REEL, 1, 2).copy().push(":")  # "|:A|" + ":" would read "|:A|:"


def test_the_last_sign_must_let_the_kept_bars_follow():
    state = _state(JIG, 3, 4)  # "GBd gdB|1": the first ending follows
    assert _writes(state, "GAB dBG|1")
    assert not state.copy().push_text("GAB dBG|:")


def test_a_new_part_is_shaped_on_the_last_and_may_be_asked_to_end_home():
    bars = read_bars(JIG, split_at_bars(JIG))
    a_only = JIG[: JIG.index("\n|:gfg")]
    lengths = next_part_lengths(read_bars(a_only, split_at_bars(a_only)))
    assert lengths == [Fraction(3, 4)] * 4  # no pickup: the second ending is a full bar, with no room for one
    reel_a = REEL[: REEL.index("\n|:g|")]
    assert next_part_lengths(read_bars(reel_a, split_at_bars(reel_a))) == [Fraction(1, 8), 1, 1, 1, Fraction(7, 8)]
    count = len(split_at_bars(a_only)) - 1
    home = _state(a_only, count, count + 4, final_degree=1)
    assert _writes(home, "\ngfg edB|cAF DEF|gfg edB|dBA G3||")
    assert not home.copy().push_text("\n|:")  # a repeat opened that its last sign, ||, would never close
    assert not home.copy().push_text("\nd|")  # a pickup with no room for it
    assert not _writes(home, "\ngfg edB|cAF DEF|gfg edB|dBG A3||")  # ends on A, not G
    assert home.cadence_due() is False and bars.part_starts == [0, 6]


def test_skeletons_and_signs():
    bars = read_bars(REEL, split_at_bars(REEL))
    assert skeleton(bars, 0, 3, Fraction(1, 8)) == "|:z|z8|z8|"
    assert skeleton(bars, 4, 6, Fraction(1, 8)) == "z7:|\n|:z|"  # "| |:" on one line would be an empty bar
    assert constraint_sign("[1") == "|1" and constraint_sign(":|]") == ":|" and constraint_sign("|") == "|"


def test_gaps_it_cannot_line_up_are_refused_in_words():
    with pytest.raises(GapError, match="do not add up"):
        _state(REEL.replace("cABc dAFA", "cABc dAF"), 5, 7)
    with pytest.raises(GapError, match="M: and a K:"):
        _state("X:1\nK:D\nABcd|efga|", 0, 1)
