"""The realism judge: real tunes cannot be told from real tunes; broken ones can."""

import random

import pytest

from tunesmith.abc.reader import read_tune
from tunesmith.judge.realism import features, overlaps, realism_report, repetition

pytest.importorskip("sklearn")


def _scrambled(text: str, rng: random.Random) -> str:
    """The tune with the letters of its body shuffled: every bar keeps its rhythm, the melody goes."""
    head, _, body = text.partition("\nK:")
    key, _, music = body.partition("\n")
    letters = [c for c in music if c in "ABCDEFGabcdefg"]
    rng.shuffle(letters)
    it = iter(letters)
    return head + "\nK:" + key + "\n" + "".join(next(it) if c in "ABCDEFGabcdefg" else c for c in music)


def test_real_tunes_are_not_told_from_real_tunes(oneills_split):
    train = [t.text for t in oneills_split.train[:150]]
    heldout = [t.text for t in oneills_split.valid + oneills_split.test][:150]
    report = realism_report(train, heldout)
    assert report["c2st"]["gradient_boosting"] < 0.65 and report["c2st"]["logistic_regression"] < 0.65
    assert all(value > 0.9 for value in report["overlap"].values())


def test_scrambled_tunes_are_told_apart(oneills_split):
    rng = random.Random(0)
    real = [t.text for t in oneills_split.train[:150]]
    scrambled = [_scrambled(t.text, rng) for t in oneills_split.train[150:300]]
    report = realism_report(scrambled, real)
    assert report["c2st"]["gradient_boosting"] > 0.8
    assert report["means"]["repeats_exact"]["generated"] < report["means"]["repeats_exact"]["real"]
    assert report["overlap"]["interval"] < report["overlap"]["length"]  # the rhythm stayed, the melody did not


def test_identical_sets_overlap_fully(oneills_split):
    rows = [features(t.text) for t in oneills_split.train[:20]]
    assert overlaps(rows, rows) == {"degree": 1.0, "interval": 1.0, "length": 1.0}


def test_repetition_counts_bars_heard_before():
    tune = read_tune("X:1\nM:2/4\nL:1/8\nK:C\nABcd|ABcd|B^cde|efed|")
    assert repetition(tune) == {"repeats_exact": 0.25, "repeats_transposed": 0.5}  # bar 2 again; bar 3 a tone up
