"""Guitar chord symbols for a melody, the way a session backer would choose them.

    harmonize("X:1\\nM:4/4\\nL:1/8\\nK:D\\n|d2fd A2FA|ceAc d4|")
    -> 'X:1\\nM:4/4\\nL:1/8\\nK:D\\n|"D"d2fd "D"A2FA|"A"ceAc "D"d4|'

Where the rules come from. The chords are the triads of common-practice tonal harmony built on
the degrees of the tune's mode (any harmony primer: triads, the dominant seventh, the V-I
cadence, root motion by fourth and fifth). How many and which ones follow the accompaniment
practice taught for guitar and bouzouki backing in Irish sessions: one chord per half bar in
reels, jigs, hornpipes and polkas, one per bar in waltzes, slip jigs and slides in 3; the chord is
picked from the notes on the strong beats; a small palette per mode (in major I IV V with vi and
ii, in minor i VII III iv VI v, in dorian i with a major IV and VII, in mixolydian I VII IV);
the tonic at the end of each part with V (or, in modal tunes, VII) just before it.

The model is a hidden Markov model decoded with Viterbi: one state per chord of the palette, one
step per slot (half bar or bar) where a note starts; emission scores how the notes sounding from
that note to the next slot's note fit the chord (weighted by duration, the first note counted
most), transition scores how usual the move is. Every weight is a named constant below.

Slash chords are never written: a backer chooses the bass line by ear, and "Am/C" would only
say that a C is in the melody. `chord_tones` reads them all the same. The palette is built from
the K: field in the header; an inline key change ([K:...], K: in the body) does not change it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from tunesmith.abc.reader import Bar, Reader
from tunesmith.abc.text import FIELD_LINE, TOKEN, meter_fraction, normalise_newlines, parse_fields
from tunesmith.abc.theory import (
    CHORD,
    MINOR_MODES,
    ROOT_ALTER_TEXT,
    SEMITONE,
    degree_letter,
    key_signature,
    parse_key,
)

# --- Emission: how one sounding note fits a chord, per unit of weight. ---
CHORD_TONE = 1.0  # the note is in the chord: what a backer listens for
PASSING = -0.2  # a whole tone from every chord tone: a passing or neighbour note, harmless when short
CLASH = -1.0  # a semitone against a chord tone (G over D, D over A7): the rub a backer avoids
FIRST_NOTE = 1.0  # extra weight of the note the chord is struck with (durations in a slot add up to 1)

# --- Priors: how readily each chord is chosen anywhere, and at the tune's landmarks. ---
SEVENTH_COST = -0.7  # V7 costs this much more than V, except just before a cadence
GENERIC_PRIOR = -0.6  # each non-tonic triad of a mode without its own palette (lydian, phrygian, locrian)
TONIC_START = 1.5  # a backer comes in on the tonic
TONIC_ARRIVAL = 3.0  # the last slot of a part: the cadence lands on the tonic
DOMINANT_BEFORE = 1.0  # the slot before it: V or V7 (VII too in modal tunes)

# --- Transitions: a change costs something; unusual moves cost more. ---
CHANGE = -0.3  # any change: backers hold a chord rather than follow every passing note
MID_BAR_CHANGE = -0.5  # more for a change in the middle of a bar: change on the bar line where you can
THIRD_MOVE = -0.3  # root moves a third (I-vi, i-III): two tones in common, usual but not a progression
RARE_MOVE = -0.8  # root moves a step other than the usual ones (ii-I, IV-iii)
UNRESOLVED_SEVENTH = -1.0  # V7 wants to go to I
STEP_MOVES = frozenset({(4, 5), (6, 7), (7, 1), (1, 7)})  # IV-V, VI-VII, VII-I, I-VII: the usual step moves

# The palette of each mode, as session backers use it: (degree, quality, prior). Quality "" is a
# major triad, "m" a minor one; V7 is added after every major V. The roots are the mode's degrees.
PALETTES: dict[str, tuple[tuple[int, str, float], ...]] = {
    "": ((1, "", 0.0), (4, "", -0.3), (5, "", -0.3), (6, "m", -0.8), (2, "m", -1.0), (3, "m", -2.0)),
    "m": ((1, "m", 0.0), (7, "", -0.3), (3, "", -0.5), (4, "m", -0.6), (6, "", -0.6), (5, "m", -0.8),
          (5, "", -1.0)),
    "dor": ((1, "m", 0.0), (7, "", -0.3), (4, "", -0.4), (3, "", -0.7), (5, "m", -0.9)),
    "mix": ((1, "", 0.0), (7, "", -0.3), (4, "", -0.5), (5, "m", -0.9), (2, "m", -1.1)),
}
QUALITY_TONES = {"": (0, 4, 7), "m": (0, 3, 7), "7": (0, 4, 7, 10)}  # semitones above the root
# Tokens a chord symbol goes before, with the note they belong to: decorations, annotations, grace
# notes, a tuplet's opening and a slur's "(" (so "D"~d2, "D"{g}d2, "D"(3def, never ^"D"f).
PREFIX_KINDS = frozenset({"deco", "deco1", "text", "grace", "tuplet"})


@dataclass(frozen=True)
class Chord:
    """One chord of a palette: its symbol, the degree of its root in the mode, quality, tones and prior."""

    symbol: str
    degree: int
    quality: str
    tones: frozenset[int]
    prior: float


@dataclass
class _Mark:
    """What the reader knew when it met a timed element: all its pitches, where it is written, the metre."""

    pitches: tuple[int, ...]
    place: tuple[int, int] | None  # (line, column) a chord symbol may go before; None for a rest
    meter: str


@dataclass
class _Event:
    time: Fraction  # whole notes from the start of the body, as written (repeats not unfolded)
    duration: Fraction
    bar: int
    mark: _Mark | None  # None: a rest the reader made up for Z


@dataclass
class _Slot:
    event: int  # the event the chord is struck on
    mid_bar: bool  # not the bar's first slot
    flags: set[str]  # "first", "arrival" (a part's last slot), "before" (the slot before an arrival)


class _Walker(Reader):
    """The project's Reader, also remembering where each note is written and all of a chord's pitches."""

    def __init__(self, fields: dict[str, str]):
        self.meter, self.line, self.column = "", 0, 0
        self.prefix: int | None = None  # column where the current run of prefix tokens started
        self.sounded: list[int] = []
        self.marks: dict[int, _Mark] = {}  # id of an Element -> its mark
        super().__init__(fields)

    def set_meter(self, meter: str) -> None:
        super().set_meter(meter)
        self.meter = meter

    def walk(self, lines: list[str], first: int) -> list[Bar]:
        """Read lines[first:] as Reader.read does, knowing which line each token is on."""
        for number in range(first, len(lines)):
            self.line, self.prefix, line = number, None, lines[number]
            if _is_music(line):
                self.read_line(line)
            else:
                match = FIELD_LINE.match(line)
                self.set_field(match.group(1), match.group(2))
        self.close_bar("|]", end=True)
        return self.bars

    def read_token(self, token: re.Match[str]) -> None:
        if (token.lastgroup in PREFIX_KINDS and token.group() != "&") or token.group() == "(":  # & is an overlay
            self.prefix = token.start() if self.prefix is None else self.prefix
        else:
            self.column = token.start() if self.prefix is None else self.prefix
            self.prefix = None
        self.sounded = []
        super().read_token(token)

    def sound(self, accidental: str | None, letter: str, octave: str) -> int:
        pitch = super().sound(accidental, letter, octave)
        self.sounded.append(pitch)
        return pitch

    def add(self, pitch: int | None, duration: Fraction) -> None:
        super().add(pitch, duration)
        place = (self.line, self.column) if pitch is not None else None
        self.marks[id(self.last)] = _Mark(tuple(self.sounded), place, self.meter)


def _is_music(line: str) -> bool:
    """A body line of music, not a field line ("A:|" is music), as Reader.read tells them apart."""
    match = FIELD_LINE.match(line)
    return not match or match.group(2).startswith(("|", ":"))


def _body_start(lines: list[str]) -> int:
    """Index of the first body line, by header_and_body's rule: the header ends at K: or at a non-field line."""
    for index, line in enumerate(lines):
        if line.lstrip().startswith("%"):
            continue
        match = FIELD_LINE.match(line)
        if not match:
            return index
        if match.group(1) == "K":
            return index + 1
    return len(lines)


def is_chord_symbol(quoted: str) -> bool:
    """Whether a quoted string is a chord symbol (as transposition reads them), alternatives "(Em)" too.

    Example: '"Am7/G"' -> True, '"(D)"' -> True, '"^Fine"' -> False, '"Fine"' -> False."""
    inner = quoted[1:-1]
    if inner.startswith("(") and inner.endswith(")"):
        inner = inner[1:-1]
    return bool(CHORD.match(f'"{inner}"'))


def _without_chords(line: str) -> str:
    """A body line with its chord symbols removed; annotations and every other character stay."""
    return "".join(token.group() for token in TOKEN.finditer(line)
                   if token.lastgroup != "text" or not is_chord_symbol(token.group()))


def slots_per_bar(meter: str) -> int:
    """Chords per bar: 2 in duple and quadruple metres, 1 in triple and the rest. Example: "6/8" -> 2, "3/4" -> 1.

    Session practice: a chord per half bar in reels (C|, 4/4), hornpipes, polkas (2/4), jigs (6/8)
    and slides (12/8: two per bar, like a jig's two bars); one per bar in waltzes (3/4), slip jigs (9/8).
    """
    meter = meter.strip()
    if meter in ("C", "C|"):
        return 2
    beats = sum(int(part) for part in re.findall(r"\d+", meter.split("/")[0]))
    return 2 if beats and beats % 2 == 0 else 1


def _chord(symbol: str, degree: int, quality: str, root: int, prior: float) -> Chord:
    tones = frozenset((root + step) % 12 for step in QUALITY_TONES[quality])
    return Chord(symbol + quality, degree, quality, tones, prior)


def _roots(key: str) -> list[tuple[str, int]]:
    """(spelling, pitch class) of each degree's root, spelt as the key signature spells it (Bb in F, F# in D)."""
    signature, spec = key_signature(key), parse_key(key)
    roots = []
    for degree in range(1, 8):
        letter = degree_letter(spec.letter, degree)
        roots.append((letter + ROOT_ALTER_TEXT.get(signature[letter], ""), (SEMITONE[letter] + signature[letter]) % 12))
    return roots


def _diatonic(key: str, mode: str) -> list[tuple[int, str, float]]:
    """A palette for a mode without its own: its major and minor triads, the tonic first (minor in locrian)."""
    pitches = [pitch for _, pitch in _roots(key)]
    palette = []
    for degree in range(1, 8):
        third, fifth = ((pitches[(degree + step - 1) % 7] - pitches[degree - 1]) % 12 for step in (2, 4))
        quality = {(4, 7): "", (3, 7): "m"}.get((third, fifth))
        if quality is not None or degree == 1:
            tonic = "m" if mode in MINOR_MODES else ""
            palette.append((degree, tonic if quality is None else quality, 0.0 if degree == 1 else GENERIC_PRIOR))
    return palette


def vocabulary(key: str) -> list[Chord]:
    """The chords a backer would use in a key, the tonic first. Raises ValueError without a usable key.

    Example: vocabulary("Ador") -> [Am, G, D, C, Em] (D major: dorian's IV has the raised sixth).
    """
    spec = parse_key(key)
    if spec is None or key_signature(key) is None:
        raise ValueError(f"no usable key (K:{key.strip()}) to build chords from")
    roots = _roots(key)
    chords = []
    for degree, quality, prior in PALETTES.get(spec.mode) or _diatonic(key, spec.mode):
        name, pitch = roots[degree - 1]
        chords.append(_chord(name, degree, quality, pitch, prior))
        if degree == 5 and quality == "":  # V7 at cadences
            chords.append(_chord(name, degree, "7", pitch, prior + SEVENTH_COST))
    return chords


def _events(bars: list[Bar], marks: dict[int, _Mark]) -> list[_Event]:
    """Every timed element in written order, with its time from the start of the body."""
    events, time = [], Fraction(0)
    for index, bar in enumerate(bars):
        for element in bar.elements:
            events.append(_Event(time, element.duration, index, marks.get(id(element))))
            time += element.duration
    return events


def _is_pickup(bar: Bar) -> bool:
    """A short bar opening the tune or a part: backers leave the anacrusis unaccompanied."""
    return bar.opens and bar.ending is None and bar.expected is not None and bar.duration < bar.expected


def _bar_slots(bar: Bar, events: list[tuple[int, _Event]], per_bar: int | None) -> list[tuple[int, bool]]:
    """(event, mid_bar) for each slot of a bar that has a note starting in it: the first such note.

    A slot that starts inside a held note takes the next note starting in it; without one it is
    skipped and the chord before it carries on."""
    if bar.expected is None:
        raise ValueError("no metre (M:) to place chords by")
    count = per_bar or slots_per_bar(next(event.mark.meter for _, event in events if event.mark))
    start, length, found = events[0][1].time, bar.expected / count, []
    for k in range(count):
        low, high = start + k * length, start + (k + 1) * length if k < count - 1 else math.inf
        onsets = (index for index, event in events
                  if event.mark and event.mark.place and low <= event.time < high)
        index = next(onsets, None)
        if index is not None:
            found.append((index, k > 0))
    return found


def _is_cadence(bars: list[Bar], i: int) -> bool:
    """A part's last bar: closes a section or an ending, not the bar before a first ending."""
    if i == len(bars) - 1:
        return True
    return bars[i].closes and not (bars[i + 1].ending is not None and bars[i].ending is None)


def _slots(bars: list[Bar], events: list[_Event], per_bar: int | None) -> list[_Slot]:
    by_bar: dict[int, list[tuple[int, _Event]]] = {}
    for index, event in enumerate(events):
        by_bar.setdefault(event.bar, []).append((index, event))
    slots, bar_of = [], []
    for i, bar_events in by_bar.items():
        if not _is_pickup(bars[i]) and any(event.mark for _, event in bar_events):
            for index, mid_bar in _bar_slots(bars[i], bar_events, per_bar):
                slots.append(_Slot(index, mid_bar, set()))
                bar_of.append(i)
    _flag(slots, bar_of, {i for i in set(bar_of) if _is_cadence(bars, i)} | set(bar_of[-1:]))
    return slots


def _flag(slots: list[_Slot], bar_of: list[int], cadences: set[int]) -> None:
    """Mark the landmarks: the first slot, each cadence bar's last slot (the part's end) and the slot before it."""
    if slots:
        slots[0].flags.add("first")
    for j, bar in enumerate(bar_of):
        if bar in cadences and (j == len(bar_of) - 1 or bar_of[j + 1] != bar):
            slots[j].flags.add("arrival")
            if j > 0:
                slots[j - 1].flags.add("before")


def _weights(events: list[_Event], slots: list[_Slot], j: int) -> list[tuple[int, float]]:
    """(pitch class, weight) of the notes heard under slot j's chord: from its note to the next slot's.

    Durations are shares of that span (they add up to 1); the note the chord is struck on gets FIRST_NOTE more.
    """
    first = slots[j].event
    last = slots[j + 1].event if j + 1 < len(slots) else len(events)
    end = events[last].time if last < len(events) else events[-1].time + events[-1].duration
    span = end - events[first].time or Fraction(1)
    weights = []
    for index in range(first, last):
        event = events[index]
        share = float(event.duration / span) + (FIRST_NOTE if index == first else 0.0)
        weights += [(pitch % 12, share) for pitch in (event.mark.pitches if event.mark else ())]
    return weights


def _fit(pitch_class: int, tones: frozenset[int]) -> float:
    if pitch_class in tones:
        return CHORD_TONE
    if any((pitch_class - tone) % 12 in (1, 11) for tone in tones):
        return CLASH
    return PASSING


def _prior(chord: Chord, flags: set[str], modal: bool) -> float:
    score = chord.prior
    tonic = chord.degree == 1
    score += TONIC_START * ("first" in flags and tonic) + TONIC_ARRIVAL * ("arrival" in flags and tonic)
    if "before" in flags:
        dominant = chord.degree == 5 or (modal and chord.degree == 7)
        score += DOMINANT_BEFORE * dominant - SEVENTH_COST * (chord.quality == "7")
    return score


def _transition(before: Chord, after: Chord, mid_bar: bool) -> float:
    """Score of moving from one chord to the next (0 for staying)."""
    if before == after:
        return 0.0
    score = CHANGE + MID_BAR_CHANGE * mid_bar
    if before.quality == "7" and after.degree not in (1, before.degree):
        score += UNRESOLVED_SEVENTH
    step = (after.degree - before.degree) % 7
    if step == 0 or step in (3, 4) or (before.degree, after.degree) in STEP_MOVES:
        return score  # same root (V to V7), or root motion by a fourth or fifth, or a usual step
    return score + (THIRD_MOVE if step in (2, 5) else RARE_MOVE)


def _viterbi(scores: list[list[float]], slots: list[_Slot], chords: list[Chord]) -> list[int]:
    """The best chord per slot: emission and prior per slot plus transitions between slots."""
    moves = {mid: [[_transition(a, b, mid) for b in chords] for a in chords] for mid in (False, True)}
    best, back = scores[0][:], []
    for j in range(1, len(scores)):
        move = moves[slots[j].mid_bar]
        pointers = [max(range(len(chords)), key=lambda a, b=b: best[a] + move[a][b]) for b in range(len(chords))]
        best = [best[a] + move[a][b] + scores[j][b] for b, a in enumerate(pointers)]
        back.append(pointers)
    path = [max(range(len(chords)), key=lambda b: best[b])]
    for pointers in reversed(back):
        path.append(pointers[path[-1]])
    return path[::-1]


def _plan(text: str, per_bar: int | None) -> tuple[list[str], list[tuple[int, int, str]]]:
    """The text's lines without chord symbols, and (line, column, symbol) for each chord to write."""
    if per_bar is not None and per_bar < 1:
        raise ValueError(f"per_bar must be at least 1, not {per_bar}")
    fields = parse_fields(normalise_newlines(text))
    chords = vocabulary(fields.get("K", "none"))
    if meter_fraction(fields.get("M", "")) is None:
        raise ValueError(f"no metre (M:{fields.get('M', '')}) to place chords by")
    lines = text.split("\n")
    first = _body_start(lines)
    lines[first:] = [_without_chords(line) if _is_music(line) else line for line in lines[first:]]
    walker = _Walker(fields)
    events = _events(walker.walk(lines, first), walker.marks)
    slots = _slots(walker.bars, events, per_bar)
    if not slots:
        return lines, []
    modal = parse_key(fields["K"]).mode != ""
    scores = [[sum(weight * _fit(pc, chord.tones) for pc, weight in _weights(events, slots, j))
               + _prior(chord, slot.flags, modal) for chord in chords] for j, slot in enumerate(slots)]
    path = _viterbi(scores, slots, chords)
    return lines, [(*events[slot.event].mark.place, chords[s].symbol) for slot, s in zip(slots, path)]


def _insert(lines: list[str], symbols: Iterable[tuple[int, int, str]]) -> str:
    lines = lines[:]
    for line, column, symbol in sorted(symbols, reverse=True):  # right to left, so columns stay true
        lines[line] = f'{lines[line][:column]}"{symbol}"{lines[line][column:]}'
    return "\n".join(lines)


def harmonize(text: str, per_bar: int | None = None) -> str:
    """The tune with a chord symbol at each half bar (2/2, 4/4, 2/4, 6/8, 12/8) or bar (3/4, 9/8, ...).

    Example: '...K:G\\n|GBdg B2G2|' -> '...K:G\\n|"G"GBdg "G"B2G2|'. Existing chord symbols are replaced;
    annotations ("^Fine") and every other character stay. per_bar overrides the chords per bar.
    Raises ValueError for a tune without a usable key (K:none, K:HP) or metre.
    """
    return harmonized(text, per_bar)[0]


def chord_symbols(text: str, per_bar: int | None = None) -> list[str]:
    """The chord symbols harmonize writes, in order. Example: '...K:G\\n|GBdg B2G2|' -> ["G", "G"]."""
    return [symbol for _, _, symbol in _plan(text, per_bar)[1]]


def harmonized(text: str, per_bar: int | None = None) -> tuple[str, list[str]]:
    """harmonize and chord_symbols at once, the chords chosen once: (the tune with chords, the symbols)."""
    lines, symbols = _plan(text, per_bar)
    return _insert(lines, symbols), [symbol for _, _, symbol in symbols]


def with_chords(text: str, per_bar: int | None = None) -> tuple[str, str]:
    """The tune with chords and a note saying so, or as it was and why not (no usable key or metre).

    Example: with_chords('...K:none\\n|AB|') -> ('...K:none\\n|AB|', "no chords: ...")."""
    try:
        chorded, symbols = harmonized(text, per_bar)
    except ValueError as error:
        return text, f"no chords: {error}"
    return chorded, chords_note(symbols)


def chords_note(symbols: list[str]) -> str:
    """What an N: line says of added chords.

    Example: ["D", "G", "D"] -> "chords added by tunesmith: 3 symbols (D, G)"."""
    return f"chords added by tunesmith: {len(symbols)} symbols ({', '.join(dict.fromkeys(symbols))})"
