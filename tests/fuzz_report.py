"""Fuzz counts against floors: the scale, each entry point's floor, a loop that feeds entry points until
they reach their floors, and the pytest plugin that writes fuzz-report.json.

TUNESMITH_FUZZ_SCALE multiplies every floor: 1 under `make fuzz` (100,000 inputs for most entry points:
hours), a thousandth in `make test` (seconds), so CI runs the same loops on the same streams. The loops
count raw inputs from seeded streams (mutants of real tunes, argument lists, requests), so a finding
comes again with the same scale.

Loaded as a plugin (`pytest -p fuzz_report`, with tests/ on PYTHONPATH, as `make fuzz` does), it writes
TUNESMITH_FUZZ_REPORT at the end of the session: each entry point's count beside its floor, and every
crash or hang the loops met. The session fails when a count is below its floor (an entry point whose test
did not run, or was skipped, counts 0) or when a loop met a crash or a hang.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cache

import pytest

from fuzz import PROFILE, TRIED, tried

GOAL = 100_000  # inputs per entry point at full scale
CI_SCALE = 0.001
SCALE = float(os.environ.get("TUNESMITH_FUZZ_SCALE") or (1.0 if PROFILE == "fuzz" else CI_SCALE))
STARTED = time.monotonic()

TEXT_ENTRY_POINTS = ["abcnotation.parse_tunebook", "abcnotation.normalise_tune", "reader.read_tune",
                     "quality.check_tune (own reader)"]
# fluidsynth loads a 140 MB SoundFont for every tune: ~0.43 s a run measured here (abc2midi ~3 ms, abcm2ps
# ~8 ms), so 100,000 runs would take 12 hours; 2,000 take about 15 minutes.
FLUIDSYNTH_FLOOR = 2_000
TOOL_FLOORS = {"quality.check_tune (abc2midi)": GOAL, "render_tune mid: abc2midi runs": GOAL,
               "render_tune svg: abcm2ps runs": GOAL, "render_tune wav: fluidsynth runs": FLUIDSYNTH_FLOOR}
CLI_COMMANDS = ["data list", "data stats", "train", "generate", "render", "play", "check", "evaluate", "plot",
                "compare", "demo", "export", "serve", "transpose", "chords", "library list", "library show",
                "library export", "library delete", "library rename", "continue", "fill", "vary", "set"]
# In the order the web loop takes them (arrange before render: it draws its score through render's runs).
WEB_ROUTES = ["GET /", "GET /api/health", "GET /api/options", "POST /api/generate", "GET /api/tunes/{tune_id}.{fmt}",
              "POST /api/arrange", "POST /api/render", "POST /api/keep", "POST /api/fill", "POST /api/continue",
              "POST /api/vary", "POST /api/set", "GET /api/kept", "GET /api/kept.abc", "GET /api/kept.pdf",
              "GET /api/kept/{kept_id}", "POST /api/kept/{kept_id}/open", "PATCH /api/kept/{kept_id}",
              "DELETE /api/kept/{kept_id}"]
KILLS_ENTRY_POINT = "training: SIGKILL"


def cli_entry_point(command: str) -> str:
    return f"cli {command} (arguments)"


def web_entry_point(route: str) -> str:
    return f"web {route}"


FLOORS: dict[str, int] = {
    **dict.fromkeys(TEXT_ENTRY_POINTS, GOAL),
    **TOOL_FLOORS,
    **{cli_entry_point(command): GOAL for command in CLI_COMMANDS},
    **{web_entry_point(route): GOAL for route in WEB_ROUTES},
    "checkpoint.load_model (tampered)": GOAL,
    KILLS_ENTRY_POINT: 20,
}


def floor(entry_point: str) -> int:
    """The inputs entry_point must get at this scale (at least one)."""
    return scaled(FLOORS[entry_point])


def scaled(full: int) -> int:
    return max(1, math.ceil(full * SCALE))


# ---------------------------------------------------------------- crashes and hangs

MAX_FINDINGS = 10  # per entry point: after that the loop stops feeding it (one bug tends to repeat)
MAX_SHOWN = 2000  # characters of an input kept in the report


@dataclass
class Finding:
    entry_point: str
    kind: str  # "crash": an exception it must not raise or a broken rule; "hang": past its time limit
    error: str
    input: str  # repr of the input, cut to MAX_SHOWN characters
    number: int  # its place in the seeded stream, to find it again


FINDINGS: list[Finding] = []


class Hang(BaseException):
    """An input that kept an entry point busy past its time limit (a BaseException, so that no
    `except Exception` in the code under test swallows it)."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise Hang in the main thread once the block has run `seconds` (SIGALRM)."""

    def expire(signum: int, frame: object) -> None:
        raise Hang(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------- the loop


@dataclass
class Stage:
    """One entry point fed from a stream. feed raises only where the entry point misbehaves: it catches
    the entry point's own clear errors itself, and asserts what must hold of the answer."""

    entry_point: str
    feed: Callable[[object], object]
    timeout_s: float = 10.0
    # What counts, read before and after each feed (e.g. a tool's runs): only what this stage's own feeds
    # add is its count. Default: every input fed.
    counted: Callable[[], int] | None = None
    fed: int = 0
    added: int = 0
    findings: list[Finding] = field(default_factory=list)

    def count(self) -> int:
        return self.added if self.counted else self.fed

    def done(self) -> bool:
        return self.count() >= floor(self.entry_point) or len(self.findings) >= MAX_FINDINGS


INPUTS_PER_COUNT = 5  # a stage whose count grows slower than one per five inputs gives up (and fails)


def feed_until_floors(stream: Iterable[object], stages: list[Stage]) -> None:
    """Feed each input to every stage still below its floor, until all reach it; then fail on any finding."""
    limit = INPUTS_PER_COUNT * max(floor(stage.entry_point) for stage in stages) + 1000
    for number, item in enumerate(stream):
        open_stages = [stage for stage in stages if not stage.done()]
        if not open_stages or number >= limit:
            break
        for stage in open_stages:
            _feed_one(stage, item, number)
    assert_clean(stages)


def _feed_one(stage: Stage, item: object, number: int) -> None:
    before = stage.counted() if stage.counted else 0
    try:
        with time_limit(stage.timeout_s):
            stage.feed(item)
    except Hang as error:
        stage.findings.append(_finding(stage, "hang", error, item, number))
    except Exception as error:  # anything the feed did not expect is a crash of the entry point
        stage.findings.append(_finding(stage, "crash", error, item, number))
    stage.fed += 1
    added = stage.counted() - before if stage.counted else 1
    stage.added += added
    tried(stage.entry_point, added)


def _finding(stage: Stage, kind: str, error: BaseException, item: object, number: int) -> Finding:
    message = f"{type(error).__name__}: {error}"[:MAX_SHOWN]
    return Finding(stage.entry_point, kind, message, repr(item)[:MAX_SHOWN], number)


def assert_clean(stages: list[Stage]) -> None:
    """No crash or hang in any stage, and every stage at its floor (findings go to the report first)."""
    findings = [finding for stage in stages for finding in stage.findings]
    FINDINGS.extend(findings)
    shown = "\n".join(f"{f.kind} in {f.entry_point}, input {f.number}: {f.error[:300]}\n  {f.input[:300]}"
                      for f in findings[:5])
    assert not findings, f"{len(findings)} findings:\n{shown}"
    short = {stage.entry_point: (stage.count(), floor(stage.entry_point)) for stage in stages
             if stage.count() < floor(stage.entry_point)}
    assert not short, f"below the floor (count, floor): {short}"


# ---------------------------------------------------------------- streams


@cache
def seed_pool() -> tuple[str, ...]:
    """Real tunes to damage, as their files have them: quirks.abc (and the lab's irish.abc when ../shared
    has it) and the named tune books."""
    from fuzz.mutations import seed_tunes
    from tunesmith.abc.text import split_tunebook
    from tunesmith.data.corpus import MUSIC21_CORPORA, DataError, resolve_files

    tunes = seed_tunes()
    for name in MUSIC21_CORPORA:
        try:
            files = resolve_files(name)
        except DataError:  # music21 without that corpus: the others still seed the stream
            continue
        for path in files:
            tunes += [tune for _, tune in split_tunebook(path.read_bytes().decode("utf-8", "surrogateescape"))]
    return tuple(tunes)


RECENT = 256  # mutants kept to damage again
MAX_KEPT_CHARS = 20_000  # longer mutants are not damaged again, so lengths stay bounded


def mutant_stream(seed: int) -> Iterator[str]:
    """Mutants of real tunes without end: mostly one to four edits of a tune, some edits of an earlier
    mutant (damage piles up as a book is copied and copied again), some mutants joined into one book."""
    from fuzz.mutations import mutate

    rng = random.Random(seed)
    pool = seed_pool()
    recent: deque[str] = deque(maxlen=RECENT)
    while True:
        roll = rng.random()
        if recent and roll < 0.05:
            yield "\n\n".join(rng.sample(recent, min(3, len(recent))))  # not kept: books of books would grow
            continue
        text = mutate(rng.choice(recent) if recent and roll < 0.3 else rng.choice(pool), rng)
        if len(text) <= MAX_KEPT_CHARS:
            recent.append(text)
        yield text


def unique(texts: Iterable[str]) -> Iterator[str]:
    """Each text once, by its content: the external tools are never run twice on the same text."""
    seen: set[bytes] = set()
    for text in texts:
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if digest not in seen:
            seen.add(digest)
            yield text


# ---------------------------------------------------------------- the report (pytest plugin hooks)


def summary() -> dict:
    entry_points = {}
    for name in sorted(set(TRIED) | set(FLOORS)):
        wanted = floor(name) if name in FLOORS else None
        entry_points[name] = {"tried": TRIED[name], "floor": wanted, "met": wanted is None or TRIED[name] >= wanted}
    return {
        "profile": PROFILE,
        "scale": SCALE,
        "floor_at_full_scale": GOAL,
        "seconds": round(time.monotonic() - STARTED, 1),
        "below_floor": [name for name, entry in entry_points.items() if not entry["met"]],
        "findings": [asdict(finding) for finding in FINDINGS],
        "entry_points": entry_points,
    }


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    report = summary()
    path = os.environ.get("TUNESMITH_FUZZ_REPORT")
    if path:
        with open(path, "w") as handle:
            json.dump(report, handle, indent=1)
    if report["below_floor"] or report["findings"]:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: object) -> None:
    report = summary()
    write = terminalreporter.write_line
    write(f"fuzz: scale {SCALE:g}, {len(report['entry_points'])} entry points, "
          f"{len(report['below_floor'])} below their floor, {len(report['findings'])} crashes or hangs")
    for name in report["below_floor"]:
        entry = report["entry_points"][name]
        write(f"  below the floor: {name}: {entry['tried']:,} of {entry['floor']:,}")
    for finding in report["findings"][:10]:
        write(f"  {finding['kind']} in {finding['entry_point']}: {finding['error'][:200]}")
