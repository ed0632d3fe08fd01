"""Exact fractions for the constraint's clock (bar positions, note lengths, units).

The constraint adds and compares a few durations for every character it reads, and the standard
library's Fraction spends most of that time in generic dispatch and gcds: gmpy2's mpq does the same
exact arithmetic about ten times faster (an addition: 2.1 us against 0.21 us, measured here), which
took the constraint's share of 64 constrained tunes under cProfile from 5.2 s to 1.7 s. Where gmpy2
is not installed, Fraction is used: the two compare, hash and print alike (tests/test_rational.py).
"""

from __future__ import annotations

try:
    from gmpy2 import mpq as Rational
except ImportError:  # pragma: no cover - a platform without a gmpy2 wheel
    from fractions import Fraction as Rational

__all__ = ["Rational"]
