"""Constrained decoding: the ABC state a sampler carries so that every bar comes out right.

`TuneState` reads a tune one character at a time, the way the tune checker
(`tunesmith.judge.quality`) reads a finished one, and answers one question before each
character is written: can the tune still be finished well formed if this comes next?
A character is refused when it would

- make the bar longer than the metre allows (a note's length is known when the
  character after it arrives, so that is when it is counted),
- close a bar short, except the tune's pickup, a bar that completes a section's
  pickup, or a short bar at a repeat or double bar that the next bar completes,
- close a bar inside a chord, a tuplet, a broken rhythm or grace notes,
- end the tune inside a bar, with a repeat left open, a slur or a bracket open,
- break the requested form (parts, bars per part, repeats, pickup).

The state never looks ahead: it only removes options and the sampler renormalises
what is left. Constructs that would make the bookkeeping guesswork (inline fields,
multi-bar rests, voice overlay, `+deco+`, comments) are simply not offered in the
body. Everything it accepts is accepted by `tunesmith.judge.quality.check_tune`'s bar check,
which is what the tests hold it to.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, replace
from fractions import Fraction

from tunesmith.abc.reader import TUPLET_Q, broken_factors, is_compound
from tunesmith.abc.text import FIELD_LINE, default_unit_length, meter_fraction, note_length
from tunesmith.abc.theory import ALTER, WRITTEN_MODES, degree_letter, is_written_key, key_signature

NOTE_LETTERS = frozenset("ABCDEFGabcdefg")
RESTS = frozenset("zx")
ACCIDENTALS = frozenset("^_=")
DECORATION_LETTERS = frozenset(".~HLMOPSTuv")
# Decorations abc2midi and abcm2ps know; anything else between ! ! is refused.
DECORATIONS = frozenset({
    "trill", "roll", "turn", "mordent", "lowermordent", "uppermordent", "pralltriller", "fermata",
    "accent", "emphasis", ">", "staccato", "tenuto", "upbow", "downbow", "slide", "breath", "segno",
    "coda", "D.C.", "D.S.", "fine", "p", "pp", "mp", "mf", "f", "ff", "crescendo(", "crescendo)",
    "diminuendo(", "diminuendo)", "open", "thumb", "snap", "wedge", "arpeggio", "invertedfermata",
})
DECORATION_PREFIXES = frozenset(name[:i] for name in DECORATIONS for i in range(1, len(name) + 1))
# Chord symbols abc2midi can voice ("Am", "D7/F#", "Gmaj7") and annotations placed above or below ("^Fine").
CHORD_KINDS = ("", "m", "7", "m7", "maj7", "6", "m6", "9", "m9", "dim", "dim7", "aug", "sus4")
_ROOT = r"[A-G][#b]?"
_KINDS = "|".join(sorted(CHORD_KINDS, key=len, reverse=True))
_CUT_KINDS = "|".join({kind[:i] for kind in CHORD_KINDS for i in range(1, len(kind))} - set(CHORD_KINDS))
_ANNOTATION = r"[\^_][A-Za-z0-9 .,;:!?'()-]"  # above or below the staff; abc2midi misreads < > @ and /
CHORD_SYMBOL = re.compile(rf"{_ROOT}(?:{_KINDS})(?:/{_ROOT})?|{_ANNOTATION}{{1,30}}")
# What can still become one: a kind cut short ("Gsu") has nothing after it yet.
CHORD_SYMBOL_PREFIX = re.compile(
    rf"[A-G](?:[#b]?(?:(?:{_KINDS})(?:/(?:{_ROOT})?)?|{_CUT_KINDS}))?|{_ANNOTATION}{{0,30}}"
)
HEADER_FIELDS = frozenset("XTRMLK")  # what abcnotation.normalise_tune writes, so what models learn
# What the metre, unit length and key can look like while they are being written.
_MODE_PREFIXES = {mode[:i] for mode in WRITTEN_MODES for i in range(len(mode) + 1)}
HEADER_VALUES = {
    "M": re.compile(r"C\|?|[1-9]\d?(?:/(?:[1-9]\d?)?)?"),
    "L": re.compile(r"1(?:/(?:4|8|1|16|3|32)?)?"),
    "K": re.compile(rf"[A-G](?:[#b]?(?:{'|'.join(_MODE_PREFIXES)}))?"),
}
FIRST_ENDING, FIRST_ENDING_CLOSED, SECOND_ENDING = 1, 3, 2
MAX_INNER_NOTES = 6  # notes in one chord or one group of grace notes
MAX_HEADER_LINE = 80  # characters of a header line, "T:" included (the longest in O'Neill's, Ryan's and Aird's: 70)
MAX_IDLE = 24  # characters in a row that take no time (spaces, symbols, slurs) before a note or bar line
# Bar signs the decoder writes; "|1" and ":|2" open first and second endings.
BAR_SIGNS = frozenset({"|", "||", "|]", "|:", ":|", "::", "|1", ":|2"})
SIGN_PREFIXES = frozenset(sign[:i] for sign in BAR_SIGNS for i in range(1, len(sign) + 1))
# What an opening bracket starts: the mode that reads what follows it.
OPENINGS = {"[": "bracket", '"': "quote", "!": "deco", "{": "grace", "(": "paren"}
SECTION_SIGNS = frozenset({"||", "|]", "|:", ":|", "::", ":|2"})  # the checker's "new section"
# Note lengths as tune books write them: "", "3", "3/2", "/", "//", "/4"; at most 16 units, halves to eighths.
LENGTHS = {
    numerator + suffix: note_length(numerator + suffix)
    for numerator in ["", *map(str, range(1, 17))]
    for suffix in ["", "/", "//", "///", "/2", "/4", "/8"]
}
# Every prefix of a length is a length itself; what each can still become:
COMPLETIONS: dict[str, frozenset[Fraction]] = {
    prefix: frozenset(value for text, value in LENGTHS.items() if text.startswith(prefix)) for prefix in LENGTHS
}
SHORTEST_COMPLETION = {prefix: min(values) for prefix, values in COMPLETIONS.items()}
SHORTEST = Fraction(1, 8)  # what "/8" or "///" make of a length: every length is a multiple of it


@dataclass(frozen=True)
class Form:
    """The shape a tune must have: `parts` sections of `bars_per_part` bars each.

    repeats: every part ends with a repeat sign (the AABB of dance tunes);
    pickup: True needs an anacrusis, False forbids one, None lets the model choose;
    cadences: the scale degree (1 = the tonic) the last note of each part must have, None for any
    (empty: no cadence asked for). Example: Form(2, 8, cadences=(5, 1)): A ends on the fifth, B home.
    """

    parts: int = 2
    bars_per_part: int = 8
    repeats: bool = True
    pickup: bool | None = None
    cadences: tuple[int | None, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.parts <= 8:
            raise ValueError(f"parts must be 1..8, not {self.parts}")
        if not 1 <= self.bars_per_part <= 64:
            raise ValueError(f"bars per part must be 1..64, not {self.bars_per_part}")
        if self.cadences and (len(self.cadences) != self.parts or any(d not in (None, *range(1, 8))
                                                                      for d in self.cadences)):
            raise ValueError(f"cadences must give a degree 1..7 (or None) for each of {self.parts} parts")

    def cadence(self, part: int) -> int | None:
        """The degree part `part` (0-based) must end on, None for any."""
        return self.cadences[part] if part < len(self.cadences) else None


class TuneState:
    """Where a tune being written stands: header or body, position in the bar, what is open.

    `push(char)` returns False when the character is refused (the state is then spoilt:
    try characters on a copy, as `allows` does). `can_end()` says whether </s> may come next.
    """

    def __init__(self, form: Form | None = None):
        self.form = form
        self.in_body = False
        self.line = ""  # the header line being written
        self.fields: dict[str, str] = {}
        self.bar_length = Fraction(1)
        self.unit = Fraction(1, 8)
        self.compound = False
        # The bar being written.
        self.pos = Fraction(0)  # time of the notes already counted
        self.bar_notes = 0  # notes, rests and chords counted in it
        # normal | accidental | note | paren | quote | deco | grace | bracket | chord | chord_length | sign
        self.mode = "normal"
        self.pending = ""  # accidental, length, or bar sign being written
        self.octave_ok = False  # a , or ' may still follow the note letter
        self.chord_first: str | None = None  # length text of a chord's first note
        self.inner, self.inner_text, self.inner_length, self.inner_notes = "start", "", "", 0  # [chord], {grace}
        self.ending = 0  # FIRST_ENDING, FIRST_ENDING_CLOSED (a [2 may follow), SECOND_ENDING, or 0
        self.octave_mark = ","
        self.after_note = False  # the last character ended a note: a tie or a broken rhythm may follow
        self.spelling = self.last_spelling = ""  # letter and octave marks of the note being written, and the last
        self.note_accidental = ""  # the accidental written before the note being written
        self.last_note: tuple[str, str] | None = None  # (accidental, letter) of the last note; None after a chord
        self.tied: str | None = None  # the next note must be spelt so (a tie); "" for any
        self.after_arrow = False  # the last character was > or <: another may follow
        self.idle = 0  # characters since the last note began
        self.after_decoration = False  # the last thing read was a decoration or a chord symbol
        self.letter_decoration = ""  # the last character, when it was a one-letter decoration (~ . H T ...)
        self.line_start = ""  # what a body line starts with, while nothing but those characters is on it
        self.last_length = Fraction(1)  # in units, before tuplet and broken rhythm
        self.broken_length = Fraction(1)  # the note after > or < must be as long as the one before it
        self.last_duration: Fraction | None = None  # the note that > and < stretch
        self.broken_kind, self.broken_arrows = "", 0
        self.broken_next: Fraction | None = None
        self.tuplet_factor, self.tuplet_left = Fraction(1), 0
        self.slurs = 0
        self.blank = True  # nothing but spaces on this line yet: a newline now would end the tune
        # The tune so far.
        self.bars = 0  # bars closed that had notes in them
        self.first_bar: Fraction | None = None  # duration of bar 0 when it was a pickup
        self.opens_section = True  # the bar being written comes first after a section sign
        self.section_pickup = Fraction(0)  # this section's short first bar, which its last bar completes
        self.owed: Fraction | None = None  # the bar being written must last exactly this
        self.owed_can_end = False  # ... unless the tune ends before it, as bar 0 completes the last one
        self.may_complete: Fraction | None = None  # the bar being written may be short by this much
        self.repeat_open = False
        self.repeat_closed = False  # a :| came after the last |: (or the start)
        self.after_sign = False  # the last thing written was a bar sign (spaces, ! and newlines aside)
        self.parts_done = 0
        self.part_bars = Fraction(0)  # bars of the current part, a short bar counting its share
        self.finished_form = False

    def cadence_due(self) -> bool:
        """Whether the bar being written ends a part that must end on a given degree."""
        # Bars of the part already closed; a bar line being written closes its bar only when it ends.
        bars = self.part_bars + (self.pos / self.bar_length if self.mode == "sign" else 0)
        return (self.form is not None and self.form.cadence(self.parts_done) is not None
                and bars + 1 > self.form.bars_per_part - Fraction(1, 2))

    def relax_cadence(self) -> bool:
        """Give up the degree asked of this part's last note (the model would not write it); False if none."""
        if self.form is None or self.form.cadence(self.parts_done) is None:
            return False
        cadences = list(self.form.cadences)
        cadences[self.parts_done] = None
        self.form = replace(self.form, cadences=tuple(cadences))
        return True

    def copy(self) -> TuneState:
        return copy.copy(self)  # fields are immutable values, replaced and never changed in place

    # -- what the sampler asks ------------------------------------------------------------

    def allows(self, text: str) -> bool:
        return self.copy().push_text(text)

    def push_text(self, text: str) -> bool:
        return all(self.push(char) for char in text)

    def can_end(self) -> bool:
        """Whether </s> may come next: the last bar closed, nothing open, the form complete."""
        if not self.in_body:
            return False
        state = self
        if self.mode == "sign":
            state = self.copy()
            if not state._close_sign():
                return False
        elif self.mode == "deco" and not self.pending:
            pass  # a trailing "!" is the old ABC line break
        elif self.mode != "normal":
            return False
        if not (state.after_sign or state.mode == "sign") or state.bars == 0:
            return False
        if state.repeat_open or state.slurs or state.tied or state.ending == FIRST_ENDING or (
                state.owed is not None and not state.owed_can_end):
            return False
        return state.form is None or state.finished_form

    # -- reading ---------------------------------------------------------------------------

    def push(self, char: str) -> bool:
        """Take one character; False when it cannot be part of a well-formed tune here."""
        if not self.in_body:
            return self._header(char)
        if self.finished_form:
            return self._finished(char)
        if self.mode == "normal":
            # Time must move on: a model that loops on spaces, slurs or chord symbols is stopped.
            self.idle = self.idle + 1 if char not in NOTE_LETTERS and char not in RESTS else 0
            if self.idle > MAX_IDLE and char not in "|:)" and char not in ACCIDENTALS:
                return False
        return getattr(self, "_" + self.mode)(char)

    def _header(self, char: str) -> bool:
        if char != "\n":
            self.line += char
            return self._header_line_can_go_on()
        line, self.line = self.line, ""
        match = FIELD_LINE.match(line)
        if not match:
            return False  # the header is field lines only; an empty line would end the tune
        letter, value = match.groups()
        if letter not in self.fields:
            self.fields = {**self.fields, letter: value}  # a new dict: copies share the old one
        if letter == "M" and meter_fraction(value) is None:
            return False  # free metre: the checker cannot count its bars
        if letter == "L" and value not in ("1/4", "1/8", "1/16", "1/32"):
            return False
        if letter == "K":
            return is_written_key(value) and "M" in self.fields and self._start_body()
        return True

    def _header_line_can_go_on(self) -> bool:
        """A field line ("M:6/8"): a letter, a colon, and for M, L and K a value they can still read."""
        line = self.line
        if len(line) > MAX_HEADER_LINE:
            return False  # a title goes on no longer than a tune book's: then only the newline is allowed
        if len(line) <= 2:  # the fields of a normalised header; K: closes it and needs M: before it
            return line[0] in HEADER_FIELDS and line[1:] in ("", ":") and (line[0] != "K" or "M" in self.fields)
        value = HEADER_VALUES.get(line[0])
        return value is None or value.fullmatch(line[2:]) is not None

    def _start_body(self) -> bool:
        meter = self.fields["M"]
        self.bar_length = meter_fraction(meter)
        self.unit = Fraction(self.fields.get("L") or default_unit_length(meter))
        self.compound = is_compound(meter)
        self.in_body = True
        return True

    def _finished(self, char: str) -> bool:
        """After the form's last bar: a line break at most, then </s>."""
        ok = not self.blank and char in "!\n"
        self.blank = self.blank or char == "\n"
        return ok

    # Each mode reads one character. A character that ends what the mode was reading is
    # handed on to _normal once the element has been counted.

    def _normal(self, char: str) -> bool:
        if char not in "|:" and self.bar_notes and self.pos == self._limit() and not self._can_close():
            return False  # a full bar no sign may close (a part's last note off its cadence): go back at once
        if char == "\n":
            self.line_start = ""
        elif char != " " and len(self.line_start) < 2:
            self.line_start += char
            if self.line_start[0].isalpha() and self.line_start[1:] == ":":
                return False  # "B:|" or "L:|" at the start of a line reads as a field
        after_note, self.after_note = self.after_note, False
        letter_decoration, self.letter_decoration = self.letter_decoration, ""
        if letter_decoration and (char in ' ({!"' or (char == "[" and letter_decoration in "T~")):
            return False  # abc2midi: a one-letter decoration touches its note ("Malformed note"); no roll on a chord
        if self.tied is not None and (char == "{" or char in DECORATION_LETTERS):
            return False  # abc2midi: "Could not find note to be tied" when a grace or a decoration comes between
        if self.after_decoration and char in "|:":
            return False  # "L:" reads as a field; a decoration or chord symbol belongs to the note after it
        self.after_decoration = self.after_decoration and char == " "
        after_arrow, self.after_arrow = self.after_arrow, False
        if char == "-":  # a tie, straight after the note it ties, to a note of the same pitch
            self.tied = self.last_spelling
            # Not after a chord or a rest: abc2midi finds no note to tie from ("Cannot find note before tie").
            if not (after_note and self.broken_next is None and self.tuplet_left == 0
                    and self.tied not in RESTS and self.tied != ""):
                return False
            return self._room() or self.copy().push("|")  # the tied note needs a place: this bar, or the next
        if char in "<>":
            return self._broken(char, after_note, after_arrow)
        if char in NOTE_LETTERS or char in RESTS:
            return self._start_note(char)
        if char in ACCIDENTALS:
            if self.tied is not None:
                return False  # a tied note keeps its pitch: abc2midi refuses e-^e ("Could not find note to be tied")
            self.mode, self.pending = "accidental", char
            return self._room()
        self.after_sign = self.after_sign and char in " \n!"
        if char == " ":
            return True
        if char == "\n":
            if self.blank or self.broken_next is not None or self.slurs:
                return False
            self.blank = True
            return True
        self.blank = False
        if char in "|:":
            if self.broken_next is not None or self.tuplet_left or self.slurs:
                return False  # a slur, like any bracket, closes inside its bar
            self.mode, self.pending = "sign", ""
            return self._sign(char)
        if char in OPENINGS:
            self.mode, self.pending, self.inner, self.inner_notes = OPENINGS[char], "", "start", 0
            if char == "(":  # a slur or a tuplet: either way a note must still fit
                return self._room() and (self.slurs == 0 or self._fits(3 * SHORTEST))
            if char == "!":  # a decoration before a note, or the old line break before a newline
                return self._room() or not (self.blank or self.slurs or self.broken_next is not None)
            return self._room()
        if char == ")":
            self.slurs -= 1
            return self.slurs >= 0
        self.after_decoration = char in DECORATION_LETTERS
        self.letter_decoration = char if self.after_decoration else ""
        return self.after_decoration and self._room()

    def _can_close(self) -> bool:
        return any(self.copy()._close_bar(sign) for sign in BAR_SIGNS)

    def _limit(self) -> Fraction:
        return self.owed if self.owed is not None else self.bar_length

    def _room(self) -> bool:
        """Room for a note of some length."""
        return self._completable("")

    def _start_note(self, char: str) -> bool:
        self.blank = self.after_sign = False
        self.note_accidental = ""
        self.mode, self.pending, self.spelling = "note", "", char
        self.octave_ok = char not in RESTS
        self.octave_mark = "," if char.isupper() else "'"
        return self._room() and self._spelt_as_tied()

    def _spelt_as_tied(self) -> bool:
        return not self.tied or self.tied.startswith(self.spelling)

    def _accidental(self, char: str) -> bool:
        if char in NOTE_LETTERS:
            accidental = self.pending
            ok = self._start_note(char)
            self.note_accidental = accidental
            return ok
        if char == self.pending and char != "=":  # ^^ and __
            self.pending += char
            return len(self.pending) == 2
        return False

    def _note(self, char: str) -> bool:
        if char in ",'" and self.octave_ok and not self.pending:
            self.spelling += char
            return char == self.octave_mark and self._spelt_as_tied()  # C, and c' are notes; abc2midi refuses C' and c,
        if char.isdigit() or char == "/":
            self.octave_ok = False
            return self._extend_length(char) and (not self.tied or self.tied == self.spelling)
        self.mode = "normal"
        if self.tied and self.tied != self.spelling:
            return False  # abc2midi: a tie joins two notes of one pitch ("Could not find note to be tied")
        self.tied, self.last_spelling = None, self.spelling
        if self.spelling[0] not in RESTS:  # a rest after the last note leaves the cadence to that note
            self.last_note = (self.note_accidental, self.spelling[0].upper())
        return self._count(note_length(self.pending)) and self._normal(char)

    def _extend_length(self, char: str, scale: Fraction = Fraction(1)) -> bool:
        """Take a digit or / of a length, if some way of finishing the length still fits the bar."""
        self.pending += char
        return self._completable(self.pending, scale)

    def _completable(self, prefix: str, scale: Fraction = Fraction(1)) -> bool:
        """Whether some length that starts with `prefix` (times scale, in units) fits where the note is."""
        values = COMPLETIONS.get(prefix)
        if not values:
            return False
        if self.broken_next is not None:
            return self.broken_length / scale in values and self._fits(self.broken_length)
        if self.tuplet_left:
            return any(self._fits(value * scale, group_ends=self.tuplet_left == 1) for value in values)
        return self._fits(SHORTEST_COMPLETION[prefix] * scale)  # lengths are multiples of SHORTEST: on the grid

    def _fits(self, length: Fraction, group_ends: bool = False) -> bool:
        """Whether a note of this length (in units) fits the bar, after tuplet and broken rhythm."""
        duration = length * self.unit * (self.broken_next or 1)
        if self.tuplet_left:
            duration *= self.tuplet_factor
        end = self.pos + duration
        if group_ends and end % (SHORTEST * self.unit):
            return False
        return end < self.bar_length if self._pickup_asked() else end <= self._limit()

    def _pickup_asked(self) -> bool:
        """Bar 0 of a form that asks for a pickup: it may never fill up."""
        return self.bars == 0 and self.form is not None and bool(self.form.pickup)

    def _count(self, length: Fraction) -> bool:
        """Count a finished note, rest or chord: it must fit the bar, after tuplet and broken rhythm."""
        duration = length * self.unit
        if self.broken_next is not None:
            if length != self.broken_length:
                return False  # abc2midi: "Cannot apply broken rhythm. Notes not equal durations"
            duration *= self.broken_next
            self.broken_next = None
        if self.tuplet_left:
            duration *= self.tuplet_factor
            self.tuplet_left -= 1
        self.pos += duration
        self.last_duration, self.broken_arrows = duration, 0
        self.bar_notes += 1
        self.after_note, self.last_length = True, length
        if self._pickup_asked() and self.pos >= self.bar_length:
            return False
        # Between groups the bar stays on a grid of the shortest note, so what is left can always be filled.
        on_grid = self.tuplet_left or self.broken_next is not None or self.pos % (SHORTEST * self.unit) == 0
        return bool(on_grid) and self.pos <= self._limit()

    def _broken(self, char: str, after_note: bool, after_arrow: bool) -> bool:
        """A>B: A takes 3/2 of its length and B 1/2; >> 7/4 and 1/4; < the other way round."""
        if after_arrow:
            if self.broken_kind != char or self.broken_arrows >= 3:
                return False
        elif not after_note or self.last_duration is None or self.tuplet_left:
            return False
        self.after_arrow = True
        self.broken_length = self.last_length
        before = broken_factors(self.broken_kind * self.broken_arrows)[0] if self.broken_arrows else 1
        self.broken_kind, self.broken_arrows = char, self.broken_arrows + 1
        first, self.broken_next = broken_factors(char * self.broken_arrows)
        self.pos += self.last_duration * (first - before)  # the note before is stretched (or shortened)
        return self._room()  # the note after it needs room too

    def _paren(self, char: str) -> bool:
        self.mode = "normal"
        if char in "23456789":  # (3 is a triplet; ( before anything else opens a slur
            if self.tuplet_left or self.broken_next is not None:
                return False
            p = int(char)
            q = TUPLET_Q.get(p, 3 if self.compound else 2)
            self.tuplet_factor, self.tuplet_left = Fraction(q, p), p
            return self._fits(p * SHORTEST)
        self.slurs += 1
        if self.slurs > 1:
            return False  # abc2midi: "Slur within slur"
        return self._normal(char)

    def _quote(self, char: str) -> bool:
        """A chord symbol or an annotation: only what players' tools can read."""
        if char == '"':
            self.mode, self.after_decoration = "normal", True
            return CHORD_SYMBOL.fullmatch(self.pending) is not None
        self.pending += char
        return char != "\n" and CHORD_SYMBOL_PREFIX.fullmatch(self.pending) is not None

    def _deco(self, char: str) -> bool:
        if not self.pending and char == "\n":  # an unpaired "!" at the end of a line: the old ABC line break
            self.mode = "normal"
            return self._normal(char)
        if char == "!":
            self.mode = "normal"
            return self.pending in DECORATIONS
        self.pending += char
        return self.pending in DECORATION_PREFIXES and self._room()

    def _inner_note(self, char: str) -> bool:
        """Notes inside {grace} and [chord]: accidental, letter, octave marks, length."""
        step = self.inner
        if char in ACCIDENTALS:
            doubled = step == "acc" and char == self.inner_text and char != "="
            self.inner, self.inner_text = "acc", self.inner_text + char if doubled else char
            return (step != "acc" or doubled) and self.inner_notes < MAX_INNER_NOTES
        if char in NOTE_LETTERS:
            self.inner, self.inner_text, self.inner_length = "letter", char, ""
            self.inner_notes += 1
            return self.inner_notes <= MAX_INNER_NOTES
        if char in ",'":
            self.inner = "octave"
            return step in ("letter", "octave") and (char == "," if self.inner_text.isupper() else char == "'")
        if char.isdigit() or char == "/":
            self.inner, self.inner_length = "length", self.inner_length + char
            return step in ("letter", "octave", "length") and self.inner_length in COMPLETIONS
        return False

    def _inner_done(self) -> bool:
        return self.inner_notes > 0 and self.inner != "acc"

    def _grace(self, char: str) -> bool:
        """Grace notes take no time: any notes, then }."""
        if char == "}":
            self.mode = "normal"
            return self._inner_done()
        return self._inner_note(char)

    def _bracket(self, char: str) -> bool:
        """After [: a chord, or the start of an ending ([1, [2)."""
        if char in "12":
            self.mode = "normal"
            ok = self._close_bar("[" + char)
            self.after_sign = True
            return ok
        self.mode, self.inner, self.inner_notes, self.chord_first, self.pending = "chord", "start", 0, None, ""
        return self._room() and self._chord(char)

    def _chord(self, char: str) -> bool:
        """Notes inside [ ]: the chord lasts as long as its first note, times the length after ]."""
        if char == "]":
            if not self._inner_done():
                return False
            self.chord_first = self.chord_first if self.chord_first is not None else self.pending
            self.mode, self.pending = "chord_length", ""
            return True
        if self.inner_notes == 1 and self.chord_first is None and (char in NOTE_LETTERS or char in ACCIDENTALS):
            self.chord_first = self.pending  # the first note is complete: its length counts
        if not self._inner_note(char):
            return False
        if self.inner == "length" and self.chord_first is None:
            self.pending += char
            return self.pending in COMPLETIONS
        return True

    def _chord_length(self, char: str) -> bool:
        if char.isdigit() or char == "/":
            return self._extend_length(char, note_length(self.chord_first))
        self.mode = "normal"
        self.tied, self.last_spelling = None, ""  # a chord may be tied to anything
        self.last_note = None
        return self._count(note_length(self.chord_first) * note_length(self.pending)) and self._normal(char)

    # -- bar lines --------------------------------------------------------------------------

    def _sign(self, char: str) -> bool:
        if self.pending + char in SIGN_PREFIXES:
            self.pending += char
            # Only as far as some sign it can still become closes this bar well.
            return any(self.copy()._close_bar(sign) for sign in BAR_SIGNS if sign.startswith(self.pending))
        if not self._close_sign():
            return False
        self.mode, self.after_sign = "normal", True
        if self.finished_form:
            return self._finished(char)
        return self._normal(char)

    def _close_sign(self) -> bool:
        return self.pending in BAR_SIGNS and self._close_bar(self.pending)

    def _close_bar(self, sign: str) -> bool:
        """The bar ends with `sign`: does it add up, and does the form allow it here?"""
        section = sign in SECTION_SIGNS
        boundary = section or sign[-1].isdigit()
        if not self._endings_allow(sign, section):
            return False
        if self.tied and sign != "|":
            return False  # abc2midi looks for the tied note after a plain bar line only
        if sign == "|:" and self.repeat_open:
            return False  # abc2midi: "found another |: after a |:"
        if sign in ("|:", "::") and self.form is not None and not self.form.repeats:
            return False  # its parts end with ||, so no :| would ever close this repeat
        if self.bar_notes == 0:
            return self._empty_bar(sign, section)
        if sign.startswith(":"):
            self.repeat_open, self.repeat_closed = False, True
        if not (self._bar_adds_up(boundary) and self._form_allows(sign, section)):
            return False
        if sign in ("|:", "::"):
            self.repeat_open, self.repeat_closed = True, False
        self.bars += 1
        self.pos, self.bar_notes, self.last_duration = Fraction(0), 0, None
        self.opens_section = section
        return True

    def _endings_allow(self, sign: str, section: bool) -> bool:
        """A first ending inside a repeat and closed by its :|; a second straight after that :|."""
        if sign in ("|1", "[1"):  # abc2midi: a first ending after a closed repeat needs a new |:
            ok, self.ending = not self.repeat_closed and self.ending == 0, FIRST_ENDING
            return ok
        if sign == "::" and self.repeat_closed:
            return False  # abc2midi: "found :: before |:"
        if sign in (":|2", "[2"):
            ok = (self.ending == FIRST_ENDING and sign == ":|2") or (
                self.ending == FIRST_ENDING_CLOSED and sign == "[2" and self.bar_notes == 0)
            self.ending = SECOND_ENDING
            return ok
        if self.ending == FIRST_ENDING:
            if section and sign != ":|":
                return False  # a first ending closes with its repeat
            self.ending = FIRST_ENDING_CLOSED if sign == ":|" else FIRST_ENDING
        elif section:
            self.ending = 0
        return True

    def _empty_bar(self, sign: str, section: bool) -> bool:
        """A sign right after another ("|" then "|:" on the next line) adds to that one."""
        if sign not in ("|", "|:") and (self.form is not None or sign not in ("[1", "[2", "||")):
            return False
        if section and self.form is not None and self.bars and not self.opens_section:
            return False  # a new section in the middle of a part
        self.opens_section = self.opens_section or section
        if sign == "|:":
            self.repeat_open, self.repeat_closed = True, False
        return True

    def _bar_adds_up(self, boundary: bool) -> bool:
        """The checker's rule: a bar is full, or a pickup, or completed by the bar across a boundary."""
        full = self.pos == self.bar_length
        completes, self.may_complete = self.may_complete, None
        if self.owed is not None or (completes is not None and self.pos == completes):
            # The bar before was short at a boundary, and this one makes it up (it had to, if owed).
            if self.owed is not None and self.pos != self.owed:
                return False
            self.owed = None
            self.section_pickup = self.pos if self.opens_section else self.section_pickup
            return True
        if self.bars == 0:
            pickup = self.form.pickup if self.form else None
            if pickup is False and not full:
                return False
            self.first_bar = None if full else self.pos
            self.section_pickup = Fraction(0) if full else self.pos
            return True
        if self.opens_section:
            self.section_pickup = Fraction(0)
        if full:
            return True
        if not boundary:
            return False
        if self.section_pickup and self.pos + self.section_pickup == self.bar_length:
            self.may_complete = self.bar_length - self.pos  # the next bar may be a pickup that completes it too
            return True
        # Short at a repeat, double bar or ending: the next bar must make it up (or bar 0, if the tune ends).
        self.owed = self.bar_length - self.pos
        self.owed_can_end = self.first_bar is not None and self.first_bar + self.pos == self.bar_length
        return self.form is None or self.parts_done + 1 < self.form.parts

    def _cadence_met(self, degree: int | None) -> bool:
        """Whether the last note is that degree of the key's scale (spelt under K:, or with its own accidental)."""
        if degree is None:
            return True
        key = self.fields.get("K", "")
        if self.last_note is None or not key:
            return False
        accidental, letter = self.last_note
        if letter != degree_letter(key, degree):
            return False
        signature = key_signature(key)
        return not accidental or (signature is not None and ALTER[accidental] == signature[letter])

    def _form_allows(self, sign: str, section: bool) -> bool:
        """Plain bar lines inside a part; the part's own sign after exactly bars_per_part bars."""
        if self.form is None:
            return True
        bars = self.part_bars + self.pos / self.bar_length
        target = self.form.bars_per_part
        # Counted as the checker counts a section: bars, a pickup and its partner each their share, rounded.
        if sign == "|":
            self.part_bars = bars
            return bars < target - Fraction(1, 2) or (bars == target - Fraction(1, 2) and round(bars) != target)
        if not section or sign in ("|:", ":|2") or round(bars) != target:
            return False
        if self.form.repeats != (sign in (":|", "::")):
            return False
        if not self._cadence_met(self.form.cadence(self.parts_done)):
            return False
        self.parts_done += 1
        self.part_bars = Fraction(0)
        if self.parts_done == self.form.parts:
            self.finished_form, self.blank = True, False
            return sign != "::"  # :: would open a repeat that never closes
        return True
