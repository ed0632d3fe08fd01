"""Shared pieces of the fault and fuzz tests: hypothesis profiles, the mutation corpus, input counts.

Two sizes: the default ("ci") keeps `make test` fast; `HYPOTHESIS_PROFILE=fuzz` (what `make fuzz`
sets) tries many more examples and mutants. Every test adds what it fed an entry point to TRIED,
and `report()` prints the counts and, when TUNESMITH_FUZZ_REPORT names a file, writes them there.
"""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
# deadline=None: a shared 2-core machine makes single examples slow at random.
# function_scoped_fixture: the CLI tests read capsys afresh in every example.
QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=QUIET)
settings.register_profile("fuzz", max_examples=3000, deadline=None, suppress_health_check=QUIET)
# A decorator for each property test here; not loaded globally, so other modules keep their settings.
FUZZ = settings.get_profile(PROFILE if PROFILE in ("ci", "fuzz") else "ci")

# How many mutants of real tunes each mutation test feeds its entry point.
MUTANTS = 4000 if PROFILE == "fuzz" else 250
# Examples for the tests that run the CLI (each one samples from a model).
CLI_EXAMPLES = 600 if PROFILE == "fuzz" else 25
# `make test` runs slow tests too, so the long ones run only under `make fuzz`.
fuzz_only = pytest.mark.skipif(PROFILE != "fuzz", reason="long; runs under `make fuzz` (HYPOTHESIS_PROFILE=fuzz)")

TRIED: Counter[str] = Counter()


def tried(entry_point: str, count: int = 1) -> None:
    TRIED[entry_point] += count


def report() -> str:
    """One line per entry point with the inputs tried so far in this test session."""
    lines = [f"{name:45} {count:8}" for name, count in sorted(TRIED.items())]
    path = os.environ.get("TUNESMITH_FUZZ_REPORT")
    if path:
        with open(path, "w") as handle:
            json.dump({"profile": PROFILE, "tried": dict(sorted(TRIED.items()))}, handle, indent=1)
    return "\n".join(["inputs tried per entry point:", *lines])
