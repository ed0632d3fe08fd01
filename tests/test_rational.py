"""The constraint's clock (tunesmith.abc.rational) counts the same with gmpy2's mpq as with Fraction:
random walks (tests/test_random_walk.py) through both give the same tunes, character for character."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

from tunesmith.abc.rational import Rational

TESTS = Path(__file__).parent
WALKS = """
import json, random, sys
sys.path.insert(0, {tests!r})
if {block}:
    sys.modules["gmpy2"] = None  # as on a platform without it: tunesmith.abc.rational falls back to Fraction
from tunesmith.abc.rational import Rational
from test_random_walk import FORMS, SCRIPTS, walk, walkers
tunes = []
for i in range(24):
    rng = random.Random(i)
    tunes.append(walk(rng, walkers()["abc-ish"], FORMS[i % len(FORMS)], SCRIPTS[i % len(SCRIPTS)]))
print(json.dumps({{"rational": Rational.__name__, "tunes": tunes}}))
"""


def walks(block_gmpy2: bool) -> dict:
    code = WALKS.format(tests=str(TESTS), block=block_gmpy2)
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(answer.stdout)


def test_the_constraint_writes_the_same_tunes_with_either_fraction_type():
    fallback, default = walks(block_gmpy2=True), walks(block_gmpy2=False)
    assert fallback["rational"] == "Fraction"
    assert default["tunes"] == fallback["tunes"]
    assert sum(how == "done" for _, how in default["tunes"]) >= 12  # walks that wrote whole tunes


def test_rationals_are_exact_and_equal_to_fractions():
    third = Rational(1, 3)
    assert third * 3 == 1 and third == Fraction(1, 3) and hash(third) == hash(Fraction(1, 3))
    assert str(Rational(3, 4)) == "3/4" and Rational("3/8") + Fraction(1, 8) == Fraction(1, 2)
