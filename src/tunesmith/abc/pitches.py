"""The notes of the constraint: what a written note sounds like (for an instrument's range), and the
notes inside [chords] and {grace notes}. Mixed into `tunesmith.abc.grammar.TuneState`, whose fields
it reads and writes.

A note's pitch is read as the checker's reader reads it (`tunesmith.abc.reader.written_pitch`):
its own accidental, else one met earlier in the bar on that letter and octave, else K:'s.
"""

from __future__ import annotations

from tunesmith.abc.lexicon import ACCIDENTALS, COMPLETIONS, MAX_INNER_NOTES, MAX_OCTAVE_MARKS, NOTE_LETTERS, RESTS
from tunesmith.abc.reader import natural_height, remember_accidental, written_pitch
from tunesmith.abc.theory import ALTER


class Pitches:
    """Pitch range and inner notes: mixed into TuneState."""

    def _in_range(self, spelling: str, accidental: str, final: bool) -> bool:
        """Whether the note being spelt sounds inside pitch_range, or still can with octave marks (not final).

        Readers differ on how far an accidental reaches: the checker keeps it to its octave for the
        rest of the bar, abc2midi to every octave of its letter; the note must fit under both."""
        if self.pitch_range is None or spelling[0] in RESTS:
            return True
        low, high = self.pitch_range
        letter, marks = spelling[0], spelling[1:]
        pitch = written_pitch(accidental, letter, marks, self.signature, self.accidentals)
        if final:
            step = letter.upper()
            alter = ALTER[accidental] if accidental else self.letter_accidentals.get(step, self.signature[step])
            heard = natural_height(letter, marks) + alter
            return low <= pitch <= high and low <= heard <= high
        octave, mark = (-12, ",") if letter.isupper() else (12, "'")  # marks only move C down (C,) and c up (c')
        return any(low <= pitch + octave * count <= high for count in range(MAX_OCTAVE_MARKS[mark] - len(marks) + 1))

    def _pitch_done(self, spelling: str, accidental: str, holds: bool = True) -> bool:
        """A note's pitch is complete: in range, and its accidental holds for the rest of the bar."""
        if self.pitch_range is None:
            return True  # nothing else asks what a note sounds like
        if not self._in_range(spelling, accidental, final=True):
            return False
        if accidental:  # abc2midi keeps a grace note's accidental too; the checker's reader skips grace notes
            self.letter_accidentals = {**self.letter_accidentals, spelling[0].upper(): ALTER[accidental]}
            if holds:
                self.accidentals = remember_accidental(self.accidentals, accidental, spelling[0], spelling[1:])
        return True

    def _inner_note(self, char: str) -> bool:
        """Notes inside {grace} and [chord]: accidental, letter, octave marks, length."""
        step = self.inner
        if step in ("letter", "octave", "length") and (char in ACCIDENTALS or char in NOTE_LETTERS) and (
                not self._inner_pitch_done()):
            return False
        if char in ACCIDENTALS:
            self.bar_accidentals = True
            doubled = step == "acc" and char == self.inner_text and char != "="
            self.inner, self.inner_text = "acc", self.inner_text + char if doubled else char
            return (step != "acc" or doubled) and self.inner_notes < MAX_INNER_NOTES
        if char in NOTE_LETTERS:
            accidental = self.inner_text if step == "acc" else ""
            self.inner, self.inner_text, self.inner_length = "letter", char, ""
            self.inner_spelling, self.inner_accidental = char, accidental
            self.inner_notes += 1
            return (self.inner_notes <= MAX_INNER_NOTES and self._in_range(char, accidental, final=False)
                    and self._new_in_chord(char, accidental))
        if char in ",'":
            self.inner = "octave"
            self.inner_spelling += char
            return (step in ("letter", "octave") and (char == "," if self.inner_text.isupper() else char == "'")
                    and self.inner_spelling.count(char) <= MAX_OCTAVE_MARKS[char]
                    and self._in_range(self.inner_spelling, self.inner_accidental, final=False)
                    and self._new_in_chord(self.inner_spelling, self.inner_accidental))
        if char.isdigit() or char == "/":
            self.inner, self.inner_length = "length", self.inner_length + char
            return (step in ("letter", "octave", "length") and self.inner_length in COMPLETIONS
                    and self._in_range(self.inner_spelling, self.inner_accidental, final=True))
        return False

    def _new_in_chord(self, spelling: str, accidental: str) -> bool:
        """The chord note being spelt can still become one the chord does not have yet (with more
        octave marks, in range): else the chord would have no way on."""
        if self.mode != "chord":
            return True
        mark = "," if spelling[0].isupper() else "'"
        while spelling.count(mark) <= MAX_OCTAVE_MARKS[mark]:
            if spelling not in self.chord_spellings and (
                    self.pitch_range is None or self._in_range(spelling, accidental, final=True)):
                return True
            spelling += mark
        return False

    def _inner_done(self) -> bool:
        return self.inner_notes > 0 and self.inner != "acc" and self._inner_pitch_done()

    def _inner_pitch_done(self) -> bool:
        """A note inside [ ] or { } is complete. For the checker a grace note's accidental does not hold
        for the bar: its reader skips grace notes."""
        if self.mode == "chord":  # the checker calls [AA] a cluster, not a chord
            if self.inner_spelling in self.chord_spellings:
                return False
            self.chord_spellings += (self.inner_spelling,)
        return self._pitch_done(self.inner_spelling, self.inner_accidental, holds=self.mode == "chord")

    def _grace(self, char: str) -> bool:
        """Grace notes take no time: any notes, then }."""
        if char == "}":
            self.mode, self.graced = "normal", True
            return self._inner_done()
        return self._inner_note(char)

    def _chord(self, char: str) -> bool:
        """Notes inside [ ], without lengths: abc2midi times a chord by the length after ] alone, the
        checker by its first note's times that, so only a chord of unwritten lengths reads alike."""
        if char == "]":
            if not self._inner_done():
                return False
            self.mode, self.pending = "chord_length", ""
            return self._room()  # some length after ] still fits
        return not (char.isdigit() or char == "/") and self._inner_note(char)
