"""Transposition of a normalised tune: the K: field, every note, chord symbols, inline key changes.

A note moves by the interval's letter steps (G -> A for a tone up, so a raised seventh stays a
raised seventh) and gets the accidental its new pitch needs against the new key signature and
against the accidentals already written in the bar. An accidental holds to the end of the bar
for its letter in every octave, as abc2midi and music21 read it (`=f F` is two naturals); where
a reader keeping it to one octave would read the output differently, the output writes the
accidental out, so every reader hears the same tune. A double sharp or flat is spelt on the
neighbouring letter instead (F## -> G).

    transpose_tune("X:1\\nK:G\\n|GA^cd|", 2) -> "X:1\\nK:A\\n|AB^de|"

The new key is the one with at most 6 sharps or flats (Bb, not A#); at exactly 6 it keeps the
direction of the original (sharps stay sharps). Tunes whose key is not a plain root + mode
(K:none, K:HP, explicit accidentals, clefs), and tunes with an accidental that has no note
after it (quoted-printable "=" line ends in Ryan's), raise ValueError; the caller skips them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from tunesmith.abc.theory import (
    ALTER,
    ALTER_TEXT,
    CHORD,
    FIFTHS,
    LETTERS,
    MODE_FIFTHS,
    ROOT_ALTER,
    ROOT_ALTER_TEXT,
    canonical_key,
)
from tunesmith.abc.theory import parse_key as read_key  # this module's parse_key gives a Key
from tunesmith.abc.units import BODY_UNIT, FIELD_LINE

NATURAL = (0, 2, 4, 5, 7, 9, 11)  # semitones of C D E F G A B above C
SHIFTS = tuple(range(-5, 7))  # every key once: a fourth down to a tritone up
SANE_RANGE = (52, 93)  # E, to a'' in MIDI numbers: a fiddle's range with a little to spare


def _semitones(step: int) -> int:
    """Semitones above C0 of a diatonic step (letter + 7 * octave), natural."""
    return 12 * (step // 7) + NATURAL[step % 7]


def _spell(fifths: int) -> str:
    """A note name from its place on the circle of fifths. Example: 0 -> "C", 6 -> "F#", -2 -> "Bb"."""
    letter, accidentals = FIFTHS[(fifths + 1) % 7], (fifths + 1) // 7
    return letter + ("#" * accidentals if accidentals > 0 else "b" * -accidentals)


def _note_name(step: int) -> str:
    """ABC for a diatonic step. Example: 28 (C4) -> "C", 35 -> "c", 42 -> "c'", 21 -> "C,"."""
    octave, letter = divmod(step, 7)
    if octave >= 5:
        return LETTERS[letter].lower() + "'" * (octave - 5)
    return LETTERS[letter] + "," * (4 - octave)


@dataclass(frozen=True)
class Key:
    tonic: int  # the tonic on the circle of fifths: C 0, G 1, F -1, F# 6, Bb -2
    mode: str  # "", "m", "dor", "mix", "phr", "lyd", "loc" (canonical_key's suffixes)

    @property
    def sharps(self) -> int:
        """The key signature: sharps if positive, flats if negative."""
        return self.tonic + MODE_FIFTHS[self.mode]

    @property
    def letter(self) -> int:
        return LETTERS.index(FIFTHS[(self.tonic + 1) % 7])

    @property
    def tonic_alteration(self) -> int:
        return (self.tonic + 1) // 7

    @property
    def name(self) -> str:
        return _spell(self.tonic) + self.mode

    def alteration(self, letter: int) -> int:
        """What the key signature does to a letter (0 = C): +1 sharp, -1 flat, 0."""
        order = FIFTHS.index(LETTERS[letter])
        if self.sharps > 0 and order < self.sharps:
            return 1
        if self.sharps < 0 and order >= 7 + self.sharps:
            return -1
        return 0


def parse_key(value: str) -> Key:
    """Example: "A Dorian" -> Key(3, "dor"). Raises ValueError for K:none, K:HP, clefs, explicit accidentals."""
    spec = read_key(value)
    # Only a root and a mode word normalisation knows, with nothing after them ("Dmixm", "D =c" stay).
    if spec is None or canonical_key(value) != spec.name:
        raise ValueError(f"key {value.strip()!r} cannot be transposed (only a root and a mode can)")
    tonic = FIFTHS.index(spec.letter) - 1 + 7 * ROOT_ALTER[spec.accidental]
    return Key(tonic, spec.mode)


def transpose_key(key: Key, semitones: int) -> Key:
    """The key a number of semitones away, spelt with at most 6 sharps or flats."""
    sharps = (key.sharps + 7 * semitones + 6) % 12 - 6  # 12 places on the circle, for moves of any size
    options = [s for s in (sharps - 12, sharps, sharps + 12) if abs(s) <= 6]
    # At 6 both F# and Gb fit: keep the original's direction (sharps for C and sharp keys).
    best = min(options, key=lambda s: (abs(s), (s < 0) == (key.sharps >= 0)))
    return Key(best - MODE_FIFTHS[key.mode], key.mode)


class _Transposer:
    """Walks a tune once, rewriting as it goes and recording every note's MIDI pitch (before shifting)."""

    def __init__(self, semitones: int):
        self.semitones = semitones
        self.pitches: list[int] = []
        self.old_key = self.new_key = Key(0, "")
        self.steps = 0
        self.old_bar: dict[int, int] = {}  # letter (0 = C) -> accidental written earlier in this bar
        self.new_bar: dict[int, int] = {}  # the same for the output, by letter
        self.new_bar_octave: dict[int, int] = {}  # and by step (letter and octave)
        self.last_note: tuple[int, int] | None = None  # (step, pitch) of the last note read
        self.tied: tuple[int, int] | None = None  # the note a tie comes from: the next one sounds the same

    def set_key(self, value: str) -> str:
        self.old_key = parse_key(value)
        self.new_key = transpose_key(self.old_key, self.semitones)
        # Letter steps between the tonics, in the direction the interval goes.
        d = (self.new_key.letter - self.old_key.letter) % 7
        change = self.new_key.tonic_alteration - self.old_key.tonic_alteration
        for steps in range(d - 21, d + 22, 7):  # the same letter move in any octave (an octave up is 7 steps)
            if _semitones(self.old_key.letter + steps) - _semitones(self.old_key.letter) + change == self.semitones:
                self.steps = steps
        return self.new_key.name

    def _respell(self, pitch: int, step: int) -> tuple[int, int]:
        """(step, alteration) of a pitch near a step; a double accidental moves to the next letter."""
        alteration = pitch - _semitones(step)
        if abs(alteration) >= 2:
            step += 1 if alteration > 0 else -1
            alteration = pitch - _semitones(step)
        return step, alteration

    def note(self, match: re.Match[str]) -> str:
        letter, octave = match.group("letter"), match.group("octave")
        step = LETTERS.index(letter.upper()) + 7 * (4 + letter.islower() + octave.count("'") - octave.count(","))
        written = match.group("accidental")
        if written:
            alteration = self.old_bar[step % 7] = ALTER[written]
        elif self.tied is not None and self.tied[0] == step:  # "=D2-|D2": the tie holds the natural
            alteration = self.tied[1] - _semitones(step)
        else:
            alteration = self.old_bar.get(step % 7, self.old_key.alteration(step % 7))
        pitch = _semitones(step) + alteration
        self.last_note, self.tied = (step, pitch), None
        self.pitches.append(12 + pitch)  # MIDI: C4 (step 28) is 60
        new_step, new_alteration = self._respell(pitch + self.semitones, step + self.steps)
        signature = self.new_key.alteration(new_step % 7)
        implied = {self.new_bar.get(new_step % 7, signature), self.new_bar_octave.get(new_step, signature)}
        accidental = ""
        if written or implied != {new_alteration}:  # also keeps courtesy accidentals the original wrote
            accidental = ALTER_TEXT[new_alteration]
            self.new_bar[new_step % 7] = self.new_bar_octave[new_step] = new_alteration
        return accidental + _note_name(new_step) + match.group("length")

    def chord_root(self, letter: str, accidental: str) -> str:
        step = LETTERS.index(letter)
        pitch = _semitones(step) + ROOT_ALTER[accidental] + self.semitones
        new_step, alteration = self._respell(pitch, step + self.steps)
        return LETTERS[new_step % 7] + ROOT_ALTER_TEXT[alteration]

    def quoted(self, text: str) -> str:
        """A chord symbol moves ("Am7/G" -> "Bm7/A"); any other annotation stays as written."""
        match = CHORD.match(text)
        if not match:
            return text
        root, accidental, quality, bass, bass_accidental = match.groups()
        chord = self.chord_root(root, accidental) + quality
        if bass:
            chord += "/" + self.chord_root(bass, bass_accidental)
        return f'"{chord}"'

    def body_line(self, line: str) -> str:
        out = []
        for match in BODY_UNIT.finditer(line):
            kind, unit = match.lastgroup, match.group()
            if kind == "note":
                unit = self.note(match)
            elif kind == "bar":
                self.old_bar, self.new_bar, self.new_bar_octave = {}, {}, {}
            elif kind == "quoted":
                unit = self.quoted(unit)
            elif kind == "field" and unit.startswith("[K:"):
                unit = f"[K:{self.set_key(unit[3:-1])}]"
            elif unit == "-":
                self.tied = self.last_note
            elif unit in ALTER:  # e.g. "=" ending a line: readers disagree on what it sharpens
                raise ValueError(f"an accidental with no note after it: {line!r}")
            out.append(unit)
        return "".join(out)

    def tune(self, text: str) -> str:
        lines = text.split("\n")
        header_end = next((i for i, line in enumerate(lines) if line.startswith("K:")), None)
        if header_end is None:
            raise ValueError("no K: field, so no key to transpose from")
        out = lines[:header_end]
        for line in lines[header_end:]:
            field = FIELD_LINE.match(line)
            if field and field.group(1) == "K":
                out.append("K:" + self.set_key(line[2:]))
            elif field:
                out.append(line)
            else:
                out.append(self.body_line(line))
        return "\n".join(out)


def transpose_tune(text: str, semitones: int) -> str:
    """The tune moved by semitones (up if positive). Raises ValueError for keys that cannot move.

    Example: transpose_tune("X:1\\nK:D\\n|:d2fa \\"G\\"g2", -2) -> "X:1\\nK:C\\n|:c2eg \\"F\\"f2"
    """
    return _Transposer(semitones).tune(text)


def tune_pitches(text: str) -> list[int]:
    """MIDI numbers of the tune's notes, as Tunesmith reads them (key, bar accidentals, octaves)."""
    reader = _Transposer(0)
    reader.tune(text)
    return reader.pitches


def transpositions(text: str, shifts: Iterable[int] = SHIFTS, sane: tuple[int, int] = SANE_RANGE) -> list[str]:
    """The tune in every other key of shifts whose notes stay in a sane range (or the tune's own).

    Raises ValueError for a tune that cannot be transposed.
    """
    pitches = tune_pitches(text)
    if not pitches:
        return []
    low, high = min(min(pitches), sane[0]), max(max(pitches), sane[1])
    return [transpose_tune(text, s) for s in shifts
            if s and min(pitches) + s >= low and max(pitches) + s <= high]


def augment(texts: Iterable[str]) -> tuple[list[str], int]:
    """Each tune followed by its transpositions, and how many tunes could not be transposed."""
    out, skipped = [], 0
    for text in texts:
        out.append(text)
        try:
            out += transpositions(text)
        except ValueError:
            skipped += 1
    return out, skipped
