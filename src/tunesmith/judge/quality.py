"""Tune checker: is a tune valid ABC, do its bars add up, what form has it, is it copied?

Four views of one tune, each cheap enough to run over thousands of generated tunes:

- syntax: the header fields a player needs, abc2midi's `Error` lines (and, opt-in,
  whether music21 parses it), and what our own reader of the body could not read;
- metre: our own bar-duration counter, with the pickup (anacrusis) rules folk
  tune books rely on; abc2midi's own bar warnings are kept next to it for comparison;
- form: sections, bars per section, AABB, pitch range and share of notes in the key;
- novelty: the longest run of bars copied (transposed or not) from a training tune.

Bodies are read by `tunesmith.abc.reader`, the reader the form table and the sampler's
grammar share.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from statistics import mean

from tunesmith.abc.reader import Bar, ReadTune, bar_verdicts, ends_on_tonic, read_tune, section_shape
from tunesmith.abc.text import (
    decode_tunebook,
    disarm_directives,
    dropped_directives,
    meter_fraction,
    normalise_newlines,
    parse_fields,
    split_tunebook,
    tool_bytes,
)
from tunesmith.abc.tools import ToolTimeout, run_tool

REQUIRED_FIELDS = ("X", "M", "K")  # L: has a default, so it is not required
ABC2MIDI_TIMEOUT = 10.0  # seconds; abc2midi takes milliseconds on a tune
COPY_BARS = 4  # a run of this many bars shared with a training tune counts as copied

BAR_WARNING = re.compile(
    r"Bar (\d+) has (\d+(?:/\d+)?) (?:time )?units "
    r"(?:while the time signature has|instead of) (\d+)( in repeat)?"
)


# --------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class WrongBar:
    """A bar whose notes do not add up to the bar length (durations in whole notes)."""

    index: int  # 1-based among the counted bars of the tune
    found: str
    expected: str


@dataclass(frozen=True)
class BarWarning:
    """abc2midi's 'Bar N has X units' warning, converted to whole notes where M: allows."""

    bar: int  # abc2midi's bar number: counts from 0 and again through repeats
    found: str
    expected: str
    in_repeat: bool


@dataclass(frozen=True)
class TuneReport:
    """Everything check_tune found out about one tune; json.dumps(asdict(report)) works."""

    title: str
    # syntax
    syntax_ok: bool
    missing_fields: tuple[str, ...]
    problems: tuple[str, ...]  # what our reader of the body could not read
    abc2midi_errors: int | None  # number of 'Error' lines; None when abc2midi was not run
    abc2midi_messages: tuple[str, ...]
    abc2midi_bar_warnings: tuple[BarWarning, ...]
    music21_ok: bool | None  # None when music21 was not asked
    # metre
    bars_total: int
    bars_correct: int
    wrong_bars: tuple[WrongBar, ...]
    metre_ok: bool
    # form
    sections: int
    bars_per_section: tuple[int, ...]
    aabb: bool
    notes: int
    pitch_range: int  # semitones from the lowest to the highest note
    in_key: float  # share of notes whose pitch class is in the scale of K:
    ends_on_tonic: bool  # the last note is the tonic of K: (a tonal centre, which in_key is not)
    # novelty (None when no NoveltyIndex was given)
    longest_copy: int | None = None
    nearest_tune: int | None = None
    copied: bool | None = None


# --------------------------------------------------------------------------- reading


# --------------------------------------------------------------------------- metre


def metre_report(bars: list[Bar]) -> dict:
    verdicts = bar_verdicts(bars)
    wrong = tuple(
        WrongBar(i + 1, str(bar.duration), str(bar.expected) if bar.expected is not None else "none")
        for i, (bar, ok) in enumerate(zip(bars, verdicts))
        if not ok
    )
    return dict(
        bars_total=len(bars),
        bars_correct=sum(verdicts),
        wrong_bars=wrong,
        metre_ok=bool(bars) and all(verdicts),
    )


# --------------------------------------------------------------------------- form


def form_report(tune: ReadTune) -> dict:
    sections = section_shape(tune)
    pitches = tune.pitches
    return dict(
        sections=len(sections),
        bars_per_section=tuple(bars for bars, _ in sections),
        aabb=len(sections) == 2 and all(bars == 8 and repeated for bars, repeated in sections),
        notes=len(pitches),
        pitch_range=max(pitches) - min(pitches) if pitches else 0,
        in_key=tune.notes_in_key / len(pitches) if pitches else 0.0,
    )


# --------------------------------------------------------------------------- abc2midi, music21


def abc2midi_path() -> str:
    """Where abc2midi is; a RuntimeError that names the package when it is missing."""
    path = shutil.which("abc2midi")
    if path is None:
        raise RuntimeError(
            "abc2midi not found on PATH: install the `abcmidi` package "
            "(sudo apt-get install abcmidi) or pass use_abc2midi=False"
        )
    return path


def run_abc2midi(text: str, timeout: float = ABC2MIDI_TIMEOUT) -> tuple[int, list[str]]:
    """Number of abc2midi 'Error' lines for a tune, and its Error and Warning lines."""
    dropped = [f"Warning: {line!r} not passed to abc2midi (not an allowed directive)"
               for line in dropped_directives(text)]
    # R: is dropped: abc2midi plays R:hornpipe as swung pairs and calls M:C| an error.
    text = "\n".join(line for line in disarm_directives(text).split("\n") if not line.startswith("R:"))
    with tempfile.TemporaryDirectory(prefix="tunesmith-abc2midi-") as folder:
        Path(folder, "tune.abc").write_bytes(tool_bytes(text + "\n"))
        try:
            code, output = run_tool([abc2midi_path(), "tune.abc", "-o", "tune.mid"], folder, timeout)
        except ToolTimeout:
            return 1, [f"Error: abc2midi took longer than {timeout:g} s"]
        wrote_midi = Path(folder, "tune.mid").exists()
    messages = [line.strip() for line in output.splitlines() if line.startswith(("Error", "Warning"))]
    if code < 0:
        messages.append(f"Error: abc2midi crashed (signal {-code})")
    if not wrote_midi and not any(line.startswith("Error") for line in messages):
        messages.append("Error: abc2midi wrote no MIDI file")
    messages += dropped
    return sum(line.startswith("Error") for line in messages), messages


def bar_warnings(messages: Iterable[str], meter: str) -> tuple[BarWarning, ...]:
    """abc2midi's bar length warnings; its units are 1/denominator of M:, converted to whole notes.

    Example: "... Bar 8 has 9/4 time units while the time signature has 2 in repeat" under
    M:C| -> BarWarning(8, "9/8", "1", True).
    """
    bar_length = meter_fraction(meter) if meter else None
    warnings = []
    for message in messages:
        match = BAR_WARNING.search(message)
        if match:
            found, expected = Fraction(match.group(2)), Fraction(match.group(3))
            if bar_length is not None and expected:
                found, expected = found * bar_length / expected, bar_length
            warnings.append(BarWarning(int(match.group(1)), str(found), str(expected), bool(match.group(4))))
    return tuple(warnings)


def music21_error(text: str) -> str | None:
    """None when music21 parses the tune, else its complaint. Slow (tens of ms): opt-in."""
    import music21  # imported here: it takes seconds to import

    try:
        music21.converter.parse(text, format="abc")
    except Exception as error:  # music21 raises many kinds; any of them means "does not parse"
        return f"music21: {type(error).__name__}: {error}"
    return None


def has_abc2midi() -> bool:
    """Whether abc2midi is on PATH (Debian package abcmidi); checks without it use our reader only."""
    return shutil.which("abc2midi") is not None


def syntax_report(text: str, fields: dict[str, str], problems: list[str],
                  use_abc2midi: bool | None, use_music21: bool) -> dict:
    missing = tuple(letter for letter in REQUIRED_FIELDS if letter not in fields)
    if use_abc2midi is None:
        use_abc2midi = has_abc2midi()
    errors, messages = run_abc2midi(text) if use_abc2midi else (None, [])
    complaint = music21_error(text) if use_music21 else None
    if complaint:
        messages.append(complaint)
    return dict(
        syntax_ok=not missing and not problems and not errors and complaint is None,
        missing_fields=missing,
        problems=tuple(dict.fromkeys(problems)),  # each kind of problem once
        abc2midi_errors=errors,
        abc2midi_messages=tuple(messages),
        abc2midi_bar_warnings=bar_warnings(messages, fields.get("M", "")),
        music21_ok=complaint is None if use_music21 else None,
    )


# --------------------------------------------------------------------------- novelty


def bar_shapes(bars: list[Bar]) -> list[tuple]:
    """Each bar as ((interval from the previous note, duration), ...), the same in any key.

    Durations are floats (whole notes): they hash much faster than Fractions.
    Example: "K:C\\nL:1/4\\nCDE2|G4|" -> [((0, .25), (2, .25), (2, .5)), ((3, 1.0),)]; a rest is (None, d).
    """
    shapes, previous = [], None
    for bar in bars:
        shape = []
        for element in bar.elements:
            if element.pitch is None:
                shape.append((None, float(element.duration)))
                continue
            interval = element.pitch - previous if previous is not None else 0
            shape.append((interval, float(element.duration)))
            previous = element.pitch
        shapes.append(tuple(shape))
    return shapes


def _head(shape: tuple) -> tuple:
    # The first note's interval reaches back into the bar before the run: not part of the copy.
    if shape and shape[0][0] is not None:
        return ((0, shape[0][1]),) + shape[1:]
    return shape


class NoveltyIndex:
    """Runs of bars shared with training tunes, found through an index of n-bar n-grams.

    Bars are interned as numbers so that n-grams hash fast. Runs shorter than n bars
    are not seen: longest_copy reports 0 for them.
    Example: NoveltyIndex(train_texts).longest_copy(tune) -> (6, 17): six bars as in tune 17.
    """

    def __init__(self, train_texts: Iterable[str], n: int = 2):
        self.n = n
        self.vocabulary: dict[tuple, int] = {}
        self.tunes: list[list[int]] = []  # bar ids of each training tune
        self.index: dict[tuple[int, ...], list[tuple[int, int]]] = defaultdict(list)
        for text in train_texts:
            self.add(text)

    def add(self, text: str) -> int:
        """Index one more training tune; returns its id."""
        tune_id = len(self.tunes)
        bars, heads = self._bar_ids(text, grow=True)
        self.tunes.append(bars)
        for position, key in enumerate(self._keys(bars, heads)):
            self.index[key].append((tune_id, position))
        return tune_id

    def _bar_ids(self, text: str, grow: bool) -> tuple[list[int], list[int]]:
        """Ids of the bars and of the bars with their first interval dropped (-1: never seen)."""
        shapes = bar_shapes(read_tune(text).bars)
        if grow:
            for shape in shapes:
                self.vocabulary.setdefault(shape, len(self.vocabulary))
                self.vocabulary.setdefault(_head(shape), len(self.vocabulary))
        get = self.vocabulary.get
        return [get(shape, -1) for shape in shapes], [get(_head(shape), -1) for shape in shapes]

    def _keys(self, bars: list[int], heads: list[int]) -> Iterable[tuple[int, ...]]:
        for i in range(len(bars) - self.n + 1):
            yield (heads[i], *bars[i + 1 : i + self.n])

    def longest_copy(self, text: str, exclude: int | None = None) -> tuple[int, int | None]:
        """Longest run of bars (>= n, else 0) the tune shares with one training tune, and its id."""
        bars, heads = self._bar_ids(text, grow=False)
        best, nearest = 0, None
        reached: dict[tuple[int, int], int] = {}  # (tune, offset) -> end of a run already measured
        for i, key in enumerate(self._keys(bars, heads)):
            for tune_id, j in self.index.get(key, ()):
                if tune_id == exclude or reached.get((tune_id, j - i), -1) > i:
                    continue
                length = _run(bars, i, self.tunes[tune_id], j, self.n)
                reached[tune_id, j - i] = i + length
                if length > best:
                    best, nearest = length, tune_id
        return best, nearest


def _run(bars: list[int], i: int, other: list[int], j: int, start: int) -> int:
    """Length of the run of equal bars from bars[i] and other[j], known to be >= start."""
    length = start
    while i + length < len(bars) and j + length < len(other) and bars[i + length] == other[j + length]:
        length += 1
    return length


# --------------------------------------------------------------------------- whole tunes


def check_tune(text: str, *, use_abc2midi: bool | None = None, use_music21: bool = False,
               index: NoveltyIndex | None = None) -> TuneReport:
    """Check one tune: syntax, metre, form and, given a NoveltyIndex, novelty.

    use_abc2midi: None runs abc2midi where it is installed (abc2midi_errors stays None where not);
    True insists on it (a RuntimeError naming the package when it is missing).
    """
    text = normalise_newlines(text)
    fields = parse_fields(text)
    tune = read_tune(text)
    novelty = {}
    if index is not None:
        longest, nearest = index.longest_copy(text)
        novelty = dict(longest_copy=longest, nearest_tune=nearest, copied=longest >= COPY_BARS)
    return TuneReport(
        title=fields.get("T", ""),
        **syntax_report(text, fields, tune.problems, use_abc2midi, use_music21),
        **metre_report(tune.bars),
        **form_report(tune),
        ends_on_tonic=ends_on_tonic(tune, fields.get("K", "")),
        **novelty,
    )


def check_tunebook(source: str | os.PathLike | Sequence[str], *, use_abc2midi: bool | None = None,
                   use_music21: bool = False, index: NoveltyIndex | None = None) -> list[TuneReport]:
    """Check every tune of a tune book file (a path) or of a list of tune texts."""
    if isinstance(source, (str, os.PathLike)):
        text = decode_tunebook(Path(source).read_bytes())
        source = [tune for _, tune in split_tunebook(text)]
    options = dict(use_abc2midi=use_abc2midi, use_music21=use_music21, index=index)
    return [check_tune(text, **options) for text in source]


def summarise(reports: Sequence[TuneReport]) -> dict:
    """Shares over a list of reports, for a table. Example: {"tunes": 804, "syntax_ok": 0.93, ...}."""
    if not reports:
        return {"tunes": 0}
    summary = {
        "tunes": len(reports),
        "syntax_ok": mean(report.syntax_ok for report in reports),
        "metre_ok": mean(report.metre_ok for report in reports),
        "mean_bars_correct": mean(r.bars_correct / r.bars_total if r.bars_total else 0 for r in reports),
        "aabb": mean(report.aabb for report in reports),
        "mean_in_key": mean(report.in_key for report in reports),
        "ends_on_tonic": mean(report.ends_on_tonic for report in reports),
        "mean_pitch_range": mean(report.pitch_range for report in reports),
    }
    if all(report.copied is not None for report in reports):
        summary["copied"] = mean(report.copied for report in reports)
    return summary


def metre_agreement(reports: Sequence[TuneReport]) -> dict:
    """How often our bar counter and abc2midi's bar warnings agree on whether a tune is clean.

    Needs reports made with use_abc2midi=True. The `only_*` lists hold report positions.
    """
    checked = [(i, r) for i, r in enumerate(reports) if r.abc2midi_errors is not None]
    both_clean = [i for i, r in checked if r.metre_ok and not r.abc2midi_bar_warnings]
    both_wrong = [i for i, r in checked if not r.metre_ok and r.abc2midi_bar_warnings]
    only_ours = [i for i, r in checked if not r.metre_ok and not r.abc2midi_bar_warnings]
    only_abc2midi = [i for i, r in checked if r.metre_ok and r.abc2midi_bar_warnings]
    return {
        "tunes": len(checked),
        "both_clean": len(both_clean),
        "both_not_clean": len(both_wrong),
        "agreement": (len(both_clean) + len(both_wrong)) / len(checked) if checked else 0.0,
        "only_ours_not_clean": only_ours,
        "only_abc2midi_not_clean": only_abc2midi,
    }
