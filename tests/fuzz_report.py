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
import subprocess
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import pytest

from fuzz import PROFILE, TRIED, tried

GOAL = 100_000  # inputs per entry point at full scale
CI_SCALE = 0.001
SCALE = float(os.environ.get("TUNESMITH_FUZZ_SCALE") or (1.0 if PROFILE == "fuzz" else CI_SCALE))
STARTED = time.monotonic()

TEXT_ENTRY_POINTS = ["abcnotation.parse_tunebook", "abcnotation.normalise_tune", "reader.read_tune",
                     "quality.check_tune (own reader)"]
# fluidsynth loaded the whole 140 MB SoundFont for every tune: ~0.43 s a run measured here (abc2midi ~3 ms,
# abcm2ps ~8 ms), so 100,000 runs would take 12 hours; 2,000 take about 15 minutes. It now loads only the samples a
# tune plays (rendering._fluid_loading: 0.12 s a run on 2026-12-08), which still makes 100,000 about 3.5 hours.
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


# ---------------------------------------------------------------- the journal: shards and resuming

# TUNESMITH_FUZZ_JOURNAL names a folder. Each test that finishes adds one JSON line there: its outcome and
# what it fed each entry point. A run that stops (a session ends, a machine reboots) starts again where it
# stopped, because a test already passed at this scale and profile is not run again. Shards
# (TUNESMITH_FUZZ_SHARD=k/n) are processes that take every n-th test each, so n cores share the hours;
# each writes its own file, and the report adds every file up: the counts of tests that ran in one
# process, or in two, or on two days, are the same sums.
JOURNAL = os.environ.get("TUNESMITH_FUZZ_JOURNAL")
SHARD = os.environ.get("TUNESMITH_FUZZ_SHARD")


def _commit() -> str | None:
    """The commit the tests run at (a journal may hold runs of several), None outside a git checkout."""
    try:
        found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                               capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout.strip() or None


COMMIT = _commit() if JOURNAL else None


def parse_shard(text: str) -> tuple[int, int]:
    """"k/n" (1 <= k <= n) as (k, n); a one-line ValueError for anything else."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"TUNESMITH_FUZZ_SHARD={text!r}: expected k/n, e.g. 1/2") from None
    if not 1 <= k <= n:
        raise ValueError(f"TUNESMITH_FUZZ_SHARD={text!r}: k must be between 1 and n")
    return k, n


def journal_records(folder: str | os.PathLike, scale: float = SCALE, profile: str = PROFILE) -> list[dict]:
    """Every test recorded in folder's *.jsonl at this scale and profile, the newest record of each test
    last (a test run again after a failure replaces its earlier record). A torn last line is skipped."""
    newest: dict[str, dict] = {}
    for path in sorted(Path(folder).glob("*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a process killed while writing its last line
                continue
            if record.get("scale") == scale and record.get("profile") == profile:
                newest.pop(record["test"], None)
                newest[record["test"]] = record
    return list(newest.values())


def _journal_path() -> Path:
    name = f"shard-{SHARD.replace('/', '-of-')}" if SHARD else "all"
    return Path(JOURNAL) / f"{name}.jsonl"


def _append(record: dict) -> None:
    path = _journal_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    """Keep this shard's tests, less those the journal has passed already."""
    kept = items
    if SHARD:
        k, n = parse_shard(SHARD)
        kept = [item for index, item in enumerate(kept) if index % n == k - 1]
    if JOURNAL:
        done = {record["test"] for record in journal_records(JOURNAL) if record["outcome"] == "passed"}
        kept = [item for item in kept if item.nodeid not in done]
    deselected = [item for item in items if item not in kept]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


_PHASES: dict[str, list[str]] = defaultdict(list)  # each test's setup, call and teardown outcomes


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if JOURNAL:
        _PHASES[report.nodeid].append(report.outcome)


def _outcome(nodeid: str) -> str:
    phases = _PHASES.pop(nodeid, ["failed"])
    return next((outcome for outcome in ("failed", "skipped") if outcome in phases), "passed")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    tried_before, findings_before, started = Counter(TRIED), len(FINDINGS), time.monotonic()
    yield
    if JOURNAL:
        added = {name: count - tried_before[name] for name, count in TRIED.items() if count > tried_before[name]}
        _append({"test": item.nodeid, "scale": SCALE, "profile": PROFILE, "shard": SHARD, "commit": COMMIT,
                 "outcome": _outcome(item.nodeid), "seconds": round(time.monotonic() - started, 1),
                 "tried": added, "findings": [asdict(finding) for finding in FINDINGS[findings_before:]]})


# ---------------------------------------------------------------- the report (pytest plugin hooks)


def summary(records: list[dict] | None = None) -> dict:
    """The report: from journal records when there are some (every shard and earlier run), else from
    what this process tried."""
    if records is None:
        records = journal_records(JOURNAL) if JOURNAL else []
    if records:
        counts: Counter[str] = Counter()
        for record in records:
            counts.update(record["tried"])
        findings = [finding for record in records for finding in record["findings"]]
        failed = sorted(record["test"] for record in records if record["outcome"] == "failed")
        seconds = sum(record["seconds"] for record in records)
    else:
        counts, findings, failed = TRIED, [asdict(finding) for finding in FINDINGS], []
        seconds = time.monotonic() - STARTED
    entry_points = {}
    for name in sorted(set(counts) | set(FLOORS)):
        wanted = floor(name) if name in FLOORS else None
        entry_points[name] = {"tried": counts[name], "floor": wanted, "met": wanted is None or counts[name] >= wanted}
    return {
        "profile": PROFILE,
        "scale": SCALE,
        "floor_at_full_scale": GOAL,
        "seconds": round(seconds, 1),
        "tests": len(records) or None,
        "commits": dict(Counter(str(record.get("commit")) for record in records)),
        "failed_tests": failed,
        "below_floor": [name for name, entry in entry_points.items() if not entry["met"]],
        "findings": findings,
        "entry_points": entry_points,
    }


def passes(report: dict) -> bool:
    return not (report["below_floor"] or report["findings"] or report["failed_tests"])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    report = summary()
    path = os.environ.get("TUNESMITH_FUZZ_REPORT")
    if path:
        with open(path, "w") as handle:
            json.dump(report, handle, indent=1)
    # A shard feeds only its own entry points: the floors are the whole run's to meet (main, below).
    if report["findings"] or (not SHARD and not passes(report)):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def summary_lines(report: dict) -> list[str]:
    lines = [f"fuzz: scale {report['scale']:g}, {len(report['entry_points'])} entry points, "
             f"{len(report['below_floor'])} below their floor, {len(report['findings'])} crashes or hangs, "
             f"{len(report['failed_tests'])} tests failed"]
    if report["commits"]:
        commits = ", ".join(f"{commit} ({count})" for commit, count in report["commits"].items())
        lines.append(f"  tests run at commit {commits}")
    for name in report["below_floor"]:
        entry = report["entry_points"][name]
        lines.append(f"  below the floor: {name}: {entry['tried']:,} of {entry['floor']:,}")
    lines += [f"  {finding['kind']} in {finding['entry_point']}: {finding['error'][:200]}"
              for finding in report["findings"][:10]]
    lines += [f"  failed: {test}" for test in report["failed_tests"][:10]]
    return lines


def pytest_terminal_summary(terminalreporter: object) -> None:
    for line in summary_lines(summary()):
        terminalreporter.write_line(line)


def main(argv: list[str] | None = None) -> int:
    """python tests/fuzz_report.py JOURNAL REPORT: add up the journal of a sharded or resumed run (at the
    scale and profile of the environment), write the report, print its summary, exit 1 below a floor."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("journal", help="the folder TUNESMITH_FUZZ_JOURNAL named")
    parser.add_argument("report", help="where to write the report (JSON)")
    args = parser.parse_args(argv)
    records = journal_records(args.journal)
    if not records:
        print(f"{args.journal}: no tests recorded at scale {SCALE:g}, profile {PROFILE}")
        return 1
    report = summary(records)
    Path(args.report).write_text(json.dumps(report, indent=1) + "\n")
    print("\n".join(summary_lines(report)))
    return 0 if passes(report) else 1


if __name__ == "__main__":
    raise SystemExit(main())
