"""What the command's faces share: where runs live, which model a command uses, and the checks of what a
user types (argparse type= functions), each refusal said in one line before any work."""

from __future__ import annotations

import argparse
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

RUNS_DIR = Path("runs")
DEMO_RUN = RUNS_DIR / "demo"


def newest_run(root: Path = RUNS_DIR) -> Path | None:
    """The documented default model: the most recently written run under ./runs."""
    runs = [p.parent for p in root.glob("*/model.safetensors")]
    return max(runs, key=lambda p: (p / "model.safetensors").stat().st_mtime, default=None)


def _resolve_model(path: str | None) -> Path:
    """The run named, else the newest under ./runs, else the model shipped in the package."""
    from tunesmith.store.checkpoint import SHIPPED_MODEL, model_path

    return model_path(path) if path else newest_run() or SHIPPED_MODEL


def _model_name(run: Path) -> str:
    from tunesmith.store.checkpoint import DEFAULT_MODEL, SHIPPED_MODEL

    return DEFAULT_MODEL if run == SHIPPED_MODEL else str(run)


# -- what a user types ------------------------------------------------------------
# Each check below is an argparse type= function, so every value is read as it is parsed. A value
# one refuses is kept as a Refused, and `checked` says it when the command starts, before any work:
# argparse's own error() would exit from inside parse_args with the command's whole usage block,
# where main says every other error in one line and returns 2.

T = TypeVar("T")
Command = Callable[[argparse.Namespace], int]

KEY_EXAMPLES = "D, G, Ador, Emin, 'Bb mix'"
METER_EXAMPLES = "4/4, 6/8, C|"
# A tune type as R: writes it: words of letters ("slip jig"); the web form takes the same (RHYTHM_PATTERN).
RHYTHM_NAME = re.compile(r"[A-Za-z][A-Za-z '-]{0,29}")
MAX_TUNES = 1000  # --num: one batch (the web page's limit is 16)
MAX_SEED = 2**31 - 1  # fresh seeds lie below 2**31, and the web page takes the same range
MAX_MINUTES = 7 * 24 * 60  # a week of training


@dataclass(frozen=True)
class Refused:
    """A value a type= check refused, and why, in words that follow the option's name."""

    why: str


def lenient(check: Callable[[str], T]) -> Callable[[str], T | Refused]:
    """check as a type= function that keeps its refusal (an ArgumentTypeError) for `checked` to say."""

    @functools.wraps(check)
    def read(value: str) -> T | Refused:
        try:
            return check(value)
        except argparse.ArgumentTypeError as error:
            return Refused(str(error))

    return read


def checked(parser: argparse.ArgumentParser, command: Command) -> Command:
    """command, run only when none of parser's values was refused; else a ValueError, which main prints
    as one line (exit 2). Example: `generate --key H` -> "tunesmith: --key 'H' is not a key (examples: ...)"."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        for action in parser._actions:  # the order --help lists them in
            value = getattr(args, action.dest, None)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, Refused):  # a positional argument's why starts with its value
                    raise ValueError(" ".join([*action.option_strings[-1:], item.why]))
        return command(args)

    return run


def whole(low: int, high: int) -> Callable[[str], int | Refused]:
    """A type= check: a whole number from low to high. Example: whole(1, 8)("9") -> Refused("must be from 1 ...")."""

    def read(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,} (got {number})")
        return number

    return lenient(read)


def real(low: float, high: float) -> Callable[[str], float | Refused]:
    """A type= check: a number above low and at most high. Example: real(0, 5)("-1") -> Refused(...)."""

    def read(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
        if not (math.isfinite(number) and low < number <= high):
            # float() reads only digits, signs, inf/nan and the whitespace around them: stripped, the value is one line.
            raise argparse.ArgumentTypeError(f"must be above {low:,g} and at most {high:,g} (got {value.strip()})")
        return number

    return lenient(read)


def tune_count(value: str) -> int:
    """--num: a whole number of tunes, at most MAX_TUNES. Not lenient: main compares --num with 1 before
    any command runs (and says it in one line), so a refusal cannot wait in the value; 0 or less comes
    back for that check."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number > MAX_TUNES:
        raise argparse.ArgumentTypeError(f"at most {MAX_TUNES:,} tunes in one run (got {number:,})")
    return number


def read_key(value: str) -> str:
    """A key as a K: line writes it, read by theory's one reader: G, F#m, Ador, 'E minor', 'Bb mix'."""
    from tunesmith.abc.theory import canonical_key, is_written_key

    if not is_written_key(canonical_key(value)):
        raise argparse.ArgumentTypeError(f"{value!r} is not a key (examples: {KEY_EXAMPLES})")
    return value


key_name = lenient(read_key)


def _meters_accepted(meters: frozenset[str]) -> str:
    """The metres in words, read from the table: "C, C| or n/d with n from 1 to 16 and d 2, 4, 8 or 16"."""
    fractions = [meter.split("/") for meter in meters if "/" in meter]
    tops = sorted({int(top) for top, _ in fractions})
    bottoms = [str(bottom) for bottom in sorted({int(bottom) for _, bottom in fractions})]
    return (f"{', '.join(sorted(meter for meter in meters if '/' not in meter))} or n/d with n from {tops[0]} "
            f"to {tops[-1]} and d {', '.join(bottoms[:-1])} or {bottoms[-1]}")


@lenient
def meter_name(value: str) -> str:
    """A metre the constraint can write in M:, one of lexicon's METERS (C, C| or a fraction such as 6/8).
    Example: "7" or "19/88" -> Refused."""
    from tunesmith.abc.lexicon import METERS

    meter = value.strip()
    if meter not in METERS:
        raise argparse.ArgumentTypeError(f"{value!r} is not a metre (examples: {METER_EXAMPLES}); "
                                         f"Tunesmith writes {_meters_accepted(METERS)}")
    return meter


@lenient
def rhythm_name(value: str) -> str:
    """A tune type's name, words of letters. Which types a model knows is said once it is loaded
    (tunesmith.sample.requests.request_warnings): a run's tune books may have types Tunesmith has no tempo for."""
    from tunesmith.render.performance import DEFAULT_TEMPO

    if not RHYTHM_NAME.fullmatch(value.strip()):
        examples = ", ".join(list(DEFAULT_TEMPO)[:8])
        raise argparse.ArgumentTypeError(f"{value!r} is not a tune type (examples: {examples})")
    return value


@lenient
def sound(value: str) -> str:
    """An instrument to hear: one Tunesmith knows, another General MIDI name, or a program number 0-127."""
    from tunesmith.abc.instruments import INSTRUMENTS
    from tunesmith.render.performance import OTHER_PROGRAMS, midi_program

    try:
        midi_program(value)
    except ValueError:
        names = ", ".join([*INSTRUMENTS, *OTHER_PROGRAMS])
        raise argparse.ArgumentTypeError(f"{value!r} is not an instrument: choose from {names} or 0-127") from None
    return value


def _regular_file(value: str) -> Path:
    """The file a name gives, refused in one line when it is missing, a folder or not a plain file (a
    named pipe would block the reader)."""
    path = Path(value)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{value!r}: no such file")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value!r}: a folder, not a file")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value!r}: not a plain file")
    return path


def _read_bytes(value: str, size: int = -1) -> bytes:
    """The file's bytes (the first `size` of them), or one line saying why it cannot be read."""
    try:
        with open(_regular_file(value), "rb") as file:
            return file.read(size)
    except OSError as error:
        raise argparse.ArgumentTypeError(f"{value!r}: cannot read it ({error.strerror})") from None


def _read_tune_book(value: str) -> str:
    """An ABC file with at least one tune in it, split as render, check and transpose split it."""
    from tunesmith.abc.text import decode_tunebook, split_tunebook

    if not split_tunebook(decode_tunebook(_read_bytes(value))):
        raise argparse.ArgumentTypeError(f"{value!r}: not an ABC tune book "
                                         "(no tune in it: no line starts with X: or K:)")
    return value


tune_book = lenient(_read_tune_book)


@lenient
def tune_book_or_wav(value: str) -> str:
    """play's file: a tune book, or a .wav to play as it is."""
    if Path(value).suffix.lower() != ".wav":
        return _read_tune_book(value)
    _read_bytes(value, 1)
    return value


@lenient
def tune_source(value: str) -> str:
    """An .abc file, a folder of them, or a named corpus. A file must hold a tune; a folder or a name
    the command resolves, and says in one line when it is neither (tunesmith.data.corpus.resolve_files)."""
    path = Path(value)
    return _read_tune_book(value) if path.exists() and not path.is_dir() else value


@lenient
def readable_file(value: str) -> str:
    """A file that is there and can be read (a sound font): only its first byte is read."""
    _read_bytes(value, 1)
    return value


@lenient
def model_run(value: str) -> str:
    """--model: 'default' (the model shipped with Tunesmith), or a run directory or model file that is there."""
    from tunesmith.store.checkpoint import DEFAULT_MODEL

    if value != DEFAULT_MODEL and not Path(value).exists():
        raise argparse.ArgumentTypeError(f"{value!r}: no such run directory or model file "
                                         f"(train one with `tunesmith train`, or give {DEFAULT_MODEL!r})")
    return value


@lenient
def run_folder(value: str) -> str:
    """A run directory that is there (what it holds, the command reads and says)."""
    if not Path(value).is_dir():
        raise argparse.ArgumentTypeError(f"{value!r}: no such run directory")
    return value


@lenient
def file_to_write(value: str) -> str:
    """A file a command writes, often at the end of its work: a folder in its place, or no folder to
    put it in, is said before the work."""
    path = Path(value)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value!r}: a folder; give a file name")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{value!r}: no folder {str(path.parent)!r} to write it in")
    return value


@lenient
def folder_to_write(value: str) -> str:
    """A folder a command writes into, made if it is missing; not a file that is there."""
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value!r}: a file, not a folder")
    return value


@lenient
def tune_folder(value: str) -> str:
    """generate --out: a folder for one .abc per tune. A name ending .abc means a file: said, not made a folder."""
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value!r}: a file, not a folder for one .abc per tune "
                                         "(generate never writes over a file)")
    if not path.exists() and path.suffix.lower() == ".abc":
        raise argparse.ArgumentTypeError(f"{value!r}: a file name, not a folder for one .abc per tune "
                                         f"(for one file: tunesmith generate ... > {value!r})")
    return value
