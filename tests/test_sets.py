"""Sets of tunes (tunesmith.judge.sets): one type and metre, keys that move as sets move, no shared bars."""

import random

import pytest

from tunesmith.abc.text import parse_fields
from tunesmith.judge.sets import SET_STEPS, key_step, make_set, next_key, set_keys, shared_bars


def test_key_steps():
    assert key_step("D", "G") == 5 and key_step("D", "A") == 7 and key_step("G", "Em") == 9
    assert key_step("D", "Eb") == 1 and key_step("D", "not a key") is None


def test_keys_move_a_fourth_a_fifth_or_stay(tiny_model):
    table = tiny_model.meta["forms"]
    rng = random.Random(0)
    for _ in range(50):
        key = next_key(table, "reel", "D", rng)
        assert key_step("D", key) in SET_STEPS
    keys = set_keys(table, "jig", 5, random.Random(1), "G")
    assert keys[0] == "G" and all(key_step(a, b) in SET_STEPS for a, b in zip(keys, keys[1:]))


def test_a_set_is_one_type_one_metre_and_no_two_tunes_alike(tiny_model):
    made = make_set(tiny_model, "reel", 3, key="D", candidates=2, seed=4)
    assert len(made.tunes) == 3 and made.keys[0] == "D"
    fields = [parse_fields(s.text) for s in made.tunes]
    assert [f.get("K") for f in fields] == list(made.keys)
    assert {f.get("M") for f in fields} == {made.meter} and {f.get("R") for f in fields} == {"reel"}
    assert shared_bars([s.text for s in made.tunes]) < 4
    assert "tune 2 of a set of 3 reels" in made.notes(1)[0]
    assert make_set(tiny_model, "reel", 3, key="D", candidates=2, seed=4).keys == made.keys  # seeded


def test_set_size_is_bounded(tiny_model):
    with pytest.raises(ValueError, match="1 to 8"):
        make_set(tiny_model, "reel", 9)
