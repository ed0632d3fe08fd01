"""The one reader of a tune body: bars, their time, pitches under the key, repeats and endings.

The checker (`tunesmith.judge.quality`) reads finished tunes with it, the form table
(`tunesmith.data.forms`) learns parts and cadences with it, and the sampler's constraint
(`tunesmith.abc.grammar`) counts time with the same rules (`broken_factors`, `tuplet`, the
pickup rules of `bar_verdicts`), so that what one accepts the other does.

The reader follows ABC 2.1 and the old habits of real tune books (a `!` that is
not paired on its line is a line break, `+trill+` decorations).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from tunesmith.abc.lexicon import MAX_OCTAVE_MARKS
from tunesmith.abc.text import (
    FIELD_LINE,
    TOKEN,
    default_unit_length,
    header_and_body,
    meter_fraction,
    normalise_newlines,
    note_length,
)
from tunesmith.abc.theory import ALTER, SEMITONE, key_centre, key_signature, scale

MAX_REST_BARS = 64  # Z64 and longer: generated text, not a folk tune
NOTE = re.compile(r"(\^{1,2}|_{1,2}|=)?([A-Ga-g])([,']*)(\d*/*\d*)")  # a note inside a chord
# Default q of a tuplet (p:q:r) when it is not written; for 5, 7, 9: 2 in simple, 3 in compound metre.
TUPLET_Q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}


@dataclass
class Element:
    """One timed event: a note, a chord (its first note's pitch) or a rest (pitch None)."""

    pitch: int | None
    duration: Fraction


@dataclass
class Bar:
    expected: Fraction | None  # bar length from M: (None: no usable M:)
    elements: list[Element] = field(default_factory=list)
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

    bars: list[Bar]
    pitches: list[int]
    notes_in_key: int
    problems: list[str]


def is_compound(meter: str) -> bool:
    """6/8, 9/8, 12/8: compound metres change the default of (5 (7 (9 tuplets."""
    numerator = re.match(r"\d+", meter.strip())
    return bool(numerator) and int(numerator.group()) % 3 == 0 and int(numerator.group()) > 3


def broken_factors(arrows: str) -> tuple[Fraction, Fraction]:
    """What A>B does to A and to B. Example: ">" -> (3/2, 1/2), ">>" -> (7/4, 1/4), "<" -> (1/2, 3/2)."""
    short = Fraction(1, 2 ** len(arrows))
    long = 2 - short
    return (long, short) if arrows[0] == ">" else (short, long)


def tuplet(p: int, q: str | None, r: str | None, compound: bool) -> tuple[Fraction, int]:
    """Duration factor and note count of a tuplet. Example: (3 -> (2/3, 3), (3:2:4 -> (2/3, 4)."""
    q_value = int(q) if q else TUPLET_Q.get(p, 3 if compound else 2)
    return Fraction(q_value, p), int(r) if r else p


def natural_height(letter: str, octave: str) -> int:
    """MIDI number of a letter and its octave marks before any accidental: C 60, c 72, C, 48, c' 84."""
    return 60 + SEMITONE[letter.upper()] + 12 * (letter.islower() + octave.count("'") - octave.count(","))


def written_pitch(accidental: str | None, letter: str, octave: str, signature: dict[str, int],
                  accidentals: dict[tuple[str, int], int]) -> int:
    """MIDI number of a written note: its own accidental, else one met earlier in the bar on that
    letter and octave, else the key signature. Example: (None, "f", "", key_signature("D"), {}) -> 78."""
    height = natural_height(letter, octave)
    if accidental:
        return height + ALTER[accidental]
    return height + accidentals.get((letter.upper(), height), signature[letter.upper()])


def remember_accidental(accidentals: dict[tuple[str, int], int], accidental: str, letter: str,
                        octave: str) -> dict[tuple[str, int], int]:
    """The bar's accidentals after this one (a new dict: a copied sampler state shares the old one)."""
    return {**accidentals, (letter.upper(), natural_height(letter, octave)): ALTER[accidental]}


class Reader:
    """Reads a tune body token by token, keeping the state ABC makes notes depend on."""

    def __init__(self, fields: dict[str, str]):
        meter = fields.get("M", "")
        self.set_meter(meter)
        self.unit = Fraction(1, 8)
        self.signature = key_signature(fields.get("K", "C")) or key_signature("C")
        self.scale = scale(self.signature)
        self.accidentals: dict[tuple[str, int], int] = {}  # cleared at each bar line
        self.tuplet_factor, self.tuplet_left = Fraction(1), 0
        self.broken_next: Fraction | None = None  # factor for the note after a > or <
        self.durations: dict[str, Fraction] = {}  # note length text -> whole notes, under L:
        self.last: Element | None = None
        self.bars: list[Bar] = []
        self.bar = Bar(self.bar_length, opens=True, new_section=True)
        self.ending: int | None = None
        self.pitches: list[int] = []
        self.notes_in_key = 0
        self.problems: list[str] = []
        self.sign_on_line = self.written_since_sign = False
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
                self.signature, self.scale = signature, scale(signature)

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
        # "| |" on one line is an empty bar (a typo); "|" at a line's end then "|:" is one bar line.
        self.sign_on_line = self.written_since_sign = False
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
            if self.sign_on_line and self.written_since_sign and not (self.bar.elements or self.bar.rest_bars):
                self.problems.append(f"empty bar before {token.group()!r}")
            self.sign_on_line, self.written_since_sign = True, False
            number = token.group("num") or ""
            self.close_bar(token.group("bar")[: len(token.group("bar")) - len(number)], number)
        elif kind == "chord":
            self.chord(token)
        elif kind == "rest":
            self.add(None, self.duration(token.group("rlen")))
        elif kind == "broken":
            self.broken(token.group())
        elif kind == "tuplet":
            factor = tuplet(int(token.group("p")), token.group("q"), token.group("r"), self.compound)
            self.tuplet_factor, self.tuplet_left = factor
        elif kind == "barrest":
            self.rest(int(token.group("bars") or 1))
        elif kind == "ending":
            self.close_bar("", number=token.group("enum"))
        elif kind == "field":
            self.set_field(token.group()[1], token.group()[3:-1])
        elif kind == "other":
            self.problems.append(_problem(token.group()))
        if kind not in ("bar", "ending"):
            self.written_since_sign = True

    def pitch(self, accidental: str | None, letter: str, octave: str) -> int:
        """MIDI number under the key signature and the accidentals met earlier in the bar."""
        if accidental:
            self.accidentals = remember_accidental(self.accidentals, accidental, letter, octave)
        return written_pitch(accidental, letter, octave, self.signature, self.accidentals)

    def sound(self, accidental: str | None, letter: str, octave: str) -> int:
        if any(octave.count(mark) > most for mark, most in MAX_OCTAVE_MARKS.items()):
            self.problems.append(f"note out of range {letter + octave!r}")
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
        spellings = [letter + octave for _, letter, octave, _ in notes]
        if len(set(spellings)) < len(spellings):
            self.problems.append(f"chord with a repeated note {token.group()!r}")
        pitches = [self.sound(accidental, letter, octave) for accidental, letter, octave, _ in notes]
        # ABC 2.1: a chord lasts as long as its first note, times the length after ].
        self.add(pitches[0], self.duration(notes[0][3]) * note_length(token.group("clen")))

    def duration(self, length: str) -> Fraction:
        """Whole notes of a note length under the current L:, cached: Fractions are slow."""
        if length not in self.durations:
            self.durations[length] = note_length(length) * self.unit
        if not self.durations[length]:  # "c/0" or "c0": read as no length, and said
            kind = "length with a zero denominator" if "/" in length else "note of no length"
            self.problems.append(f"{kind} {length!r}")
        return self.durations[length]

    def add(self, pitch: int | None, duration: Fraction) -> None:
        if self.broken_next is not None:
            duration *= self.broken_next
            self.broken_next = None
        if self.tuplet_left:
            duration *= self.tuplet_factor
            self.tuplet_left -= 1
        self.last = Element(pitch, duration)
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
        self.bar = Bar(self.bar_length, opens=boundary, new_section=section, ending=self.ending)
        self.accidentals = {}


def _expand_rests(bar: Bar) -> list[Bar]:
    """A bar of only Z4 becomes four full bars of rest; Z among notes counts its bars' time."""
    if not bar.rest_bars:
        return [bar]
    full = bar.expected or Fraction(0)
    if bar.elements:
        bar.elements.append(Element(None, full * bar.rest_bars))
        return [bar]
    bars = [Bar(bar.expected, [Element(None, full)], ending=bar.ending) for _ in range(bar.rest_bars)]
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
    return Reader(fields).read(body)


def part_start_bars(bars: list[Bar]) -> list[int]:
    """The bars that open a part: the first, and each after a repeat sign or a double bar (a second
    ending is the same part played again, not a new one). Example: "|:AB|cd:|\n|:ef|ga:|" -> [0, 2]."""
    return [i for i, bar in enumerate(bars) if i == 0 or (bar.new_section and (bar.ending or 0) < 2)]


def _partners(bars: list[Bar], i: int) -> Iterable[int]:
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


def _before_first_ending(bars: list[Bar], i: int) -> int:
    """The bar before the first ending that bar i's ending replaces; "d|[1 e..:|[2 f" -> the "d" bar."""
    j = i - 1
    while j > 0 and bars[j].ending != 1:
        j -= 1
    while j > 0 and bars[j].ending == 1:
        j -= 1
    return j


def bar_verdicts(bars: list[Bar]) -> list[bool]:
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


def _length(bars: list[Bar]) -> Fraction:
    """Length in bars; a pickup and the short bar that completes it make one bar together."""
    return sum((bar.duration / bar.expected if bar.expected else Fraction(1) for bar in bars), Fraction(0))


def _split_sections(bars: list[Bar]) -> list[list[Bar]]:
    sections: list[list[Bar]] = []
    for bar in bars:
        if bar.new_section or not sections:
            sections.append([])
        sections[-1].append(bar)
    return sections


def _merge_endings(sections: list[list[Bar]]) -> list[tuple[int, bool]]:
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


def _after(section: list[Bar], length: Fraction) -> list[Bar]:
    """The bars of a section after its first `length` bars (rounding to the nearest bar)."""
    total = Fraction(0)
    for i, bar in enumerate(section):
        if total >= length - Fraction(1, 2):
            return section[i:]
        total += _length([bar])
    return []


def ends_on_tonic(tune: ReadTune, key: str) -> bool:
    """Whether the last note is the tonic of K:. Example: a tune in K:Bb ending on B flat -> True."""
    centre = key_centre(key)
    return centre is not None and bool(tune.pitches) and (tune.pitches[-1] - centre[0]) % 12 == 0


def section_shape(tune: ReadTune) -> list[tuple[int, bool]]:
    """(bars, repeated) for each part of a tune, endings merged. Example: AABB reel -> [(8, True), (8, True)]."""
    return _merge_endings(_split_sections(tune.bars))
