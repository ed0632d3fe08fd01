"""Tune checker: is a tune valid ABC, do its bars add up, what form has it, is it copied?

Four views of one tune, each cheap enough to run over thousands of generated tunes:

- syntax: the header fields a player needs, abc2midi's `Error` lines (and, opt-in,
  whether music21 parses it), and what our own reader of the body could not read;
- metre: our own bar-duration counter, with the pickup (anacrusis) rules folk
  tune books rely on; abc2midi's own bar warnings are kept next to it for comparison;
- form: sections, bars per section, AABB, pitch range and share of notes in the key;
- novelty: the longest run of bars copied (transposed or not) from a training tune.

The reader follows ABC 2.1 and the old habits of real tune books (a `!` that is
not paired on its line is a line break, `+trill+` decorations).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from statistics import mean

from tunesmith.abcnotation import (
    FIELD_LINE,
    TOKEN,
    decode_tunebook,
    default_unit_length,
    disarm_directives,
    header_and_body,
    meter_fraction,
    normalise_newlines,
    note_length,
    parse_fields,
    split_tunebook,
    tool_bytes,
)

REQUIRED_FIELDS = ("X", "M", "K")  # L: has a default, so it is not required
MINOR_MODES = ("m", "min", "aeo", "dor", "phr", "loc")  # modes with a minor third above the tonic
ABC2MIDI_TIMEOUT = 10.0  # seconds; abc2midi takes milliseconds on a tune
COPY_BARS = 4  # a run of this many bars shared with a training tune counts as copied
MAX_REST_BARS = 64  # Z64 and longer: generated text, not a folk tune

NOTE = re.compile(r"(\^{1,2}|_{1,2}|=)?([A-Ga-g])([,']*)(\d*/*\d*)")
KEY = re.compile(r"^\s*([A-Ga-g])((?-i:[#b])?)\s*((?:maj|min|mix|ion|aeo|dor|phr|lyd|loc|m)[a-z]*)?(.*)$", re.I)
KEY_ACCIDENTAL = re.compile(r"(\^{1,2}|_{1,2}|=)([A-Ga-g])")
BAR_WARNING = re.compile(
    r"Bar (\d+) has (\d+(?:/\d+)?) (?:time )?units "
    r"(?:while the time signature has|instead of) (\d+)( in repeat)?"
)

SEMITONE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
ALTER = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}
TONIC_FIFTHS = {"F": -1, "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5}
# Where each mode's key signature sits relative to the major key on the same tonic.
MODE_FIFTHS = {
    "": 0, "maj": 0, "ion": 0, "mix": -1, "dor": -2, "m": -3, "min": -3, "aeo": -3,
    "phr": -4, "lyd": 1, "loc": -5,
}
SHARP_ORDER, FLAT_ORDER = "FCGDAEB", "BEADGCF"
# Default q of a tuplet (p:q:r) when it is not written; for 5, 7, 9: 2 in simple, 3 in compound metre.
TUPLET_Q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}


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


@dataclass
class _Element:
    """One timed event: a note, a chord (its first note's pitch) or a rest (pitch None)."""

    pitch: int | None
    duration: Fraction


@dataclass
class _Bar:
    expected: Fraction | None  # bar length from M: (None: no usable M:)
    elements: list[_Element] = field(default_factory=list)
    rest_bars: int = 0  # Z4 / X4: whole-bar rests
    opens: bool = False  # first bar after a section boundary or ending start
    new_section: bool = False  # first bar after a repeat sign or double bar (form)
    closes: bool = False  # last bar before a section boundary or ending start
    repeat_end: bool = False  # closed by :| or ::
    ending: int | None = None  # number of the first/second ending the bar is in

    @property
    def duration(self) -> Fraction:
        return sum((element.duration for element in self.elements), Fraction(0))


@dataclass
class ReadTune:
    """What the reader got out of a tune body: bars, all note pitches, problems."""

    bars: list[_Bar]
    pitches: list[int]
    notes_in_key: int
    problems: list[str]


def key_signature(spec: str) -> dict[str, int] | None:
    """Alteration of each letter under a K: value, None if it names no key.

    Example: "D" -> {"F": 1, "C": 1, ...others 0}, "Ador" -> all 0, "Gm" -> B and E flat.
    """
    if spec.strip().startswith(("HP", "Hp")):  # Highland pipes: HP no signature, Hp F# C#
        return key_signature("D" if spec.strip().startswith("Hp") else "C")
    match = KEY.match(spec)
    if not match:
        return None
    mode = (match.group(3) or "").lower()
    mode = mode[:3] if mode[:3] in MODE_FIFTHS else mode[:1]  # "Major" -> "maj", "m" -> "m"
    tonic, accidental, _, rest = match.groups()
    fifths = TONIC_FIFTHS[tonic.upper()] + {"#": 7, "b": -7, "": 0}[accidental] + MODE_FIFTHS[mode]
    signature = {letter: 0 for letter in SEMITONE}
    for letter in SHARP_ORDER[: max(fifths, 0)]:
        signature[letter] = 1
    for letter in FLAT_ORDER[: max(-fifths, 0)]:
        signature[letter] = -1
    for sign, letter in KEY_ACCIDENTAL.findall(rest):  # explicit accidentals: K:D =c
        signature[letter.upper()] = ALTER[sign]
    return signature


def _scale(signature: dict[str, int]) -> frozenset[int]:
    return frozenset((SEMITONE[letter] + alter) % 12 for letter, alter in signature.items())


def is_compound(meter: str) -> bool:
    """6/8, 9/8, 12/8: compound metres change the default of (5 (7 (9 tuplets."""
    numerator = re.match(r"\d+", meter.strip())
    return bool(numerator) and int(numerator.group()) % 3 == 0 and int(numerator.group()) > 3


def broken_factors(arrows: str) -> tuple[Fraction, Fraction]:
    """What A>B does to A and to B. Example: ">" -> (3/2, 1/2), ">>" -> (7/4, 1/4), "<" -> (1/2, 3/2)."""
    short = Fraction(1, 2 ** len(arrows))
    long = 2 - short
    return (long, short) if arrows[0] == ">" else (short, long)


def _tuplet(p: int, q: str | None, r: str | None, compound: bool) -> tuple[Fraction, int]:
    """Duration factor and note count of a tuplet. Example: (3 -> (2/3, 3), (3:2:4 -> (2/3, 4)."""
    q_value = int(q) if q else TUPLET_Q.get(p, 3 if compound else 2)
    return Fraction(q_value, p), int(r) if r else p


class _Reader:
    """Reads a tune body token by token, keeping the state ABC makes notes depend on."""

    def __init__(self, fields: dict[str, str]):
        meter = fields.get("M", "")
        self.set_meter(meter)
        self.unit = Fraction(1, 8)
        self.signature = key_signature(fields.get("K", "C")) or key_signature("C")
        self.scale = _scale(self.signature)
        self.accidentals: dict[tuple[str, int], int] = {}  # cleared at each bar line
        self.tuplet_factor, self.tuplet_left = Fraction(1), 0
        self.broken_next: Fraction | None = None  # factor for the note after a > or <
        self.durations: dict[str, Fraction] = {}  # note length text -> whole notes, under L:
        self.last: _Element | None = None
        self.bars: list[_Bar] = []
        self.bar = _Bar(self.bar_length, opens=True, new_section=True)
        self.ending: int | None = None
        self.pitches: list[int] = []
        self.notes_in_key = 0
        self.problems: list[str] = []
        self.set_field("L", fields.get("L") or default_unit_length(meter or "none"))

    def set_meter(self, meter: str) -> None:
        self.bar_length = meter_fraction(meter) if meter else None
        self.compound = is_compound(meter)

    def set_field(self, letter: str, value: str) -> None:
        if letter == "M":
            self.set_meter(value)
            self.bar.expected = self.bar_length
        elif letter == "L":
            try:
                self.unit = Fraction(value.strip())
                self.durations = {}
            except (ValueError, ZeroDivisionError):
                self.problems.append(f"bad L: {value!r}")
        elif letter == "K":
            signature = key_signature(value)
            if signature is not None:  # "K:clef=bass" keeps the key
                self.signature, self.scale = signature, _scale(signature)

    def read(self, lines: list[str]) -> ReadTune:
        for line in lines:
            match = FIELD_LINE.match(line)
            if match and not match.group(2).startswith(("|", ":")):  # "A:|" is music
                self.set_field(match.group(1), match.group(2))
            else:
                self.read_line(line)
        self.close_bar("|]", end=True)
        return ReadTune(self.bars, self.pitches, self.notes_in_key, self.problems)

    def read_line(self, line: str) -> None:
        for token in TOKEN.finditer(line):
            try:
                self.read_token(token)
            except ZeroDivisionError:
                self.problems.append(f"length with a zero denominator {token.group()!r}")

    def read_token(self, token: re.Match[str]) -> None:
        kind = token.lastgroup
        if kind == "note":
            self.note(token)
        elif kind == "bar":
            number = token.group("num") or ""
            self.close_bar(token.group("bar")[: len(token.group("bar")) - len(number)], number)
        elif kind == "chord":
            self.chord(token)
        elif kind == "rest":
            self.add(None, self.duration(token.group("rlen")))
        elif kind == "broken":
            self.broken(token.group())
        elif kind == "tuplet":
            factor = _tuplet(int(token.group("p")), token.group("q"), token.group("r"), self.compound)
            self.tuplet_factor, self.tuplet_left = factor
        elif kind == "barrest":
            self.rest(int(token.group("bars") or 1))
        elif kind == "ending":
            self.close_bar("", number=token.group("enum"))
        elif kind == "field":
            self.set_field(token.group()[1], token.group()[3:-1])
        elif kind == "other":
            self.problems.append(_problem(token.group()))

    def pitch(self, accidental: str | None, letter: str, octave: str) -> int:
        """MIDI number under the key signature and the accidentals met earlier in the bar."""
        step = letter.upper()
        height = 60 + SEMITONE[step] + 12 * (letter.islower() + octave.count("'") - octave.count(","))
        if accidental:
            self.accidentals[step, height] = ALTER[accidental]
        alter = self.accidentals.get((step, height), self.signature[step])
        return height + alter

    def sound(self, accidental: str | None, letter: str, octave: str) -> int:
        pitch = self.pitch(accidental, letter, octave)
        self.pitches.append(pitch)
        self.notes_in_key += pitch % 12 in self.scale
        return pitch

    def note(self, token: re.Match[str]) -> None:
        pitch = self.sound(token.group("acc"), token.group("letter"), token.group("octave"))
        self.add(pitch, self.duration(token.group("len")))

    def chord(self, token: re.Match[str]) -> None:
        notes = NOTE.findall(token.group("notes"))
        if not notes:
            self.problems.append(f"chord without notes {token.group()!r}")
            return
        pitches = [self.sound(accidental, letter, octave) for accidental, letter, octave, _ in notes]
        # ABC 2.1: a chord lasts as long as its first note, times the length after ].
        self.add(pitches[0], self.duration(notes[0][3]) * note_length(token.group("clen")))

    def duration(self, length: str) -> Fraction:
        """Whole notes of a note length under the current L:, cached: Fractions are slow."""
        if length not in self.durations:
            self.durations[length] = note_length(length) * self.unit
        return self.durations[length]

    def add(self, pitch: int | None, duration: Fraction) -> None:
        if self.broken_next is not None:
            duration *= self.broken_next
            self.broken_next = None
        if self.tuplet_left:
            duration *= self.tuplet_factor
            self.tuplet_left -= 1
        self.last = _Element(pitch, duration)
        self.bar.elements.append(self.last)

    def rest(self, bars: int) -> None:
        """Z4: four bars of rest. More than MAX_REST_BARS is a problem, not a loop to run."""
        if bars > MAX_REST_BARS:
            self.problems.append(f"whole-bar rest of {bars} bars")
        self.bar.rest_bars += min(bars, MAX_REST_BARS)

    def broken(self, arrows: str) -> None:
        """A>B: A takes 3/2 and B 1/2 of their length; >> 7/4 and 1/4; < the other way round."""
        if self.last is None:
            self.problems.append(f"broken rhythm {arrows!r} without a note before it")
            return
        first, second = broken_factors(arrows)
        self.last.duration *= first
        self.broken_next = second

    def close_bar(self, sign: str, number: str | None = None, end: bool = False) -> None:
        repeat_end = sign.startswith(":")
        section = end or ":" in sign or "||" in sign or "]" in sign or "[" in sign
        boundary = section or bool(number)
        bar = self.bar
        if bar.elements or bar.rest_bars:
            bar.closes, bar.repeat_end = boundary, repeat_end
            self.bars.extend(_expand_rests(bar))
        else:
            # An empty bar ("|" then "|:" on the next line) hands its sign to the bars around it.
            if self.bars and boundary:
                self.bars[-1].closes = True
                self.bars[-1].repeat_end |= repeat_end
            boundary, section = boundary or bar.opens, section or bar.new_section
        if number:
            self.ending = int(re.match(r"\[?(\d+)", number).group(1))
        elif section:
            self.ending = None
        self.bar = _Bar(self.bar_length, opens=boundary, new_section=section, ending=self.ending)
        self.accidentals = {}


def _expand_rests(bar: _Bar) -> list[_Bar]:
    """A bar of only Z4 becomes four full bars of rest; Z among notes counts its bars' time."""
    if not bar.rest_bars:
        return [bar]
    full = bar.expected or Fraction(0)
    if bar.elements:
        bar.elements.append(_Element(None, full * bar.rest_bars))
        return [bar]
    bars = [_Bar(bar.expected, [_Element(None, full)], ending=bar.ending) for _ in range(bar.rest_bars)]
    bars[0].opens, bars[0].new_section = bar.opens, bar.new_section
    bars[-1].closes, bars[-1].repeat_end = bar.closes, bar.repeat_end
    return bars


def _problem(char: str) -> str:
    names = {"[": "unclosed chord '['", "]": "unopened chord ']'", '"': "unclosed quote '\"'",
             "{": "unclosed grace notes '{'", "}": "unopened grace notes '}'"}
    return names.get(char, f"unexpected character {char!r}")


def read_tune(text: str) -> ReadTune:
    """Read the body of a tune: bars with their durations, pitches, problems."""
    header, body = header_and_body(normalise_newlines(text))
    fields: dict[str, str] = {}
    for letter, value in header:
        fields.setdefault(letter, value)
    return _Reader(fields).read(body)


# --------------------------------------------------------------------------- metre


def _partners(bars: list[_Bar], i: int) -> Iterable[int]:
    """Bars that may complete a short bar i: across the boundary, or at the other end of its section."""
    last = len(bars) - 1
    if bars[i].opens and i > 0:
        yield i - 1
        yield next(j for j in range(i, last + 1) if bars[j].closes or j == last)
        if bars[i].ending and bars[i].ending >= 2:
            yield _before_first_ending(bars, i)
    if bars[i].closes:
        if i < last:
            yield i + 1
        yield next(j for j in range(i, -1, -1) if bars[j].opens or j == 0)
        # The last bar of a first ending completes the pickup at the start of the repeat.
        yield next(j for j in range(i, -1, -1) if bars[j].new_section or j == 0)
        if i == last:
            yield 0


def _before_first_ending(bars: list[_Bar], i: int) -> int:
    """The bar before the first ending that bar i's ending replaces; "d|[1 e..:|[2 f" -> the "d" bar."""
    j = i - 1
    while j > 0 and bars[j].ending != 1:
        j -= 1
    while j > 0 and bars[j].ending == 1:
        j -= 1
    return j


def bar_verdicts(bars: list[_Bar]) -> list[bool]:
    """Whether each bar adds up: full, or a pickup completed by the bar at the other side of a boundary."""
    verdicts = []
    for i, bar in enumerate(bars):
        duration, expected = bar.duration, bar.expected
        if expected is None or duration > expected:
            verdicts.append(False)
        elif duration == expected or i == 0:  # a short first bar is the tune's anacrusis
            verdicts.append(True)
        else:
            partners = (j for j in _partners(bars, i) if j != i)
            verdicts.append(any(duration + bars[j].duration == expected for j in partners))
    return verdicts


def metre_report(bars: list[_Bar]) -> dict:
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


def _length(bars: list[_Bar]) -> Fraction:
    """Length in bars; a pickup and the short bar that completes it make one bar together."""
    return sum((bar.duration / bar.expected if bar.expected else Fraction(1) for bar in bars), Fraction(0))


def _split_sections(bars: list[_Bar]) -> list[list[_Bar]]:
    sections: list[list[_Bar]] = []
    for bar in bars:
        if bar.new_section or not sections:
            sections.append([])
        sections[-1].append(bar)
    return sections


def _merge_endings(sections: list[list[_Bar]]) -> list[tuple[int, bool]]:
    """(bars, repeated) per section; a second ending is a variant of the first, not a section.

    Example: |: 7 bars |1 bar :|2 bar || 8 bars :| -> [(8, True), (8, True)].
    """
    merged: list[tuple[int, bool]] = []
    first_ending = Fraction(0)
    for section in sections:
        repeated = section[-1].repeat_end or any(bar.ending == 1 for bar in section)
        if section[0].ending and section[0].ending >= 2 and merged:
            # Bars beyond the first ending's length are music after the ending.
            section = _after(section, first_ending)
            if not section:
                continue
        merged.append((round(_length(section)), repeated))
        first_ending = _length([bar for bar in section if bar.ending == 1])
    return merged


def _after(section: list[_Bar], length: Fraction) -> list[_Bar]:
    """The bars of a section after its first `length` bars (rounding to the nearest bar)."""
    total = Fraction(0)
    for i, bar in enumerate(section):
        if total >= length - Fraction(1, 2):
            return section[i:]
        total += _length([bar])
    return []


def key_centre(key: str) -> tuple[int, str] | None:
    """The tonic's pitch class and major/minor of a K: value. Example: "F#m" -> (6, "minor")."""
    match = KEY.match(key)
    if not match:
        return None
    letter, accidental, mode = match.group(1), match.group(2), (match.group(3) or "").lower()
    tonic = (SEMITONE[letter.upper()] + {"#": 1, "b": -1}.get(accidental, 0)) % 12
    return tonic, "minor" if mode[:3] in MINOR_MODES else "major"


def ends_on_tonic(tune: ReadTune, key: str) -> bool:
    """Whether the last note is the tonic of K:. Example: a tune in K:Bb ending on B flat -> True."""
    centre = key_centre(key)
    return centre is not None and bool(tune.pitches) and (tune.pitches[-1] - centre[0]) % 12 == 0


def section_shape(tune: ReadTune) -> list[tuple[int, bool]]:
    """(bars, repeated) for each part of a tune, endings merged. Example: AABB reel -> [(8, True), (8, True)]."""
    return _merge_endings(_split_sections(tune.bars))


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
    # R: is dropped: abc2midi plays R:hornpipe as swung pairs and calls M:C| an error.
    text = "\n".join(line for line in disarm_directives(text).split("\n") if not line.startswith("R:"))
    with tempfile.TemporaryDirectory(prefix="tunesmith-abc2midi-") as folder:
        Path(folder, "tune.abc").write_bytes(tool_bytes(text + "\n"))
        try:
            result = subprocess.run(
                [abc2midi_path(), "tune.abc", "-o", "tune.mid"],
                cwd=folder, capture_output=True, text=True, errors="replace", timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return 1, [f"Error: abc2midi took longer than {timeout:g} s"]
        wrote_midi = Path(folder, "tune.mid").exists()
    lines = (result.stdout + result.stderr).splitlines()
    messages = [line.strip() for line in lines if line.startswith(("Error", "Warning"))]
    if result.returncode < 0:
        messages.append(f"Error: abc2midi crashed (signal {-result.returncode})")
    if not wrote_midi and not any(line.startswith("Error") for line in messages):
        messages.append("Error: abc2midi wrote no MIDI file")
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


def bar_shapes(bars: list[_Bar]) -> list[tuple]:
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
