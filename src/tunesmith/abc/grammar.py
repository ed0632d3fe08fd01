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
- break the requested form (parts, bars per part, repeats, pickup),
- put a note outside the instrument's range, when one is given (`pitch_range`).

A constraint is a grammar: it must hold whatever the model proposes, a random one too. So it also
refuses what abc2midi would call an error or count otherwise than the checker (issue #18): it plays
repeats from their |: (or the last :| or the start), the second time round with what the bar before
:| left over; it times a chord by the length after ] alone, a fermata twice, a roll, trill or held
note in a tuplet or broken rhythm otherwise. tests/test_random_walk.py walks random "models" through
the state and holds every finished tune to abc2midi and the checker.

The state never looks ahead: it only removes options and the sampler renormalises
what is left. Constructs that would make the bookkeeping guesswork (inline fields,
multi-bar rests, voice overlay, `+deco+`, comments) are simply not offered in the
body. Everything it accepts is accepted by `tunesmith.judge.quality.check_tune`'s bar
check, which is what the tests hold it to.

The state is one class over four files: this one (the characters of the body, note lengths
and time), `tunesmith.abc.header` (the field lines), `tunesmith.abc.pitches` (what a note
sounds like, the notes inside chords and grace notes) and `tunesmith.abc.parts` (bar lines,
endings, the form); the tables of what may be written are in `tunesmith.abc.lexicon`.
"""

from __future__ import annotations

from functools import cache

from tunesmith.abc.header import HeaderLines
from tunesmith.abc.lexicon import (
    ACCIDENTALS,
    BAR_SIGNS,
    CHORD_SYMBOL,
    CHORD_SYMBOL_PREFIX,
    CHORDLESS_DECORATIONS,
    COMPLETIONS,
    DECORATION_LETTERS,
    DECORATIONS,
    HELD,
    HELD_DECORATIONS,
    LAST_BAR_GRID,
    LENGTHS,
    MAX_IDLE,
    MAX_OCTAVE_MARKS,
    NOTE_LETTERS,
    OPENINGS,
    RESTS,
    SHORTEST,
    SHORTEST_COMPLETION,
)
from tunesmith.abc.parts import FIRST_ENDING, BarLines, Form
from tunesmith.abc.pitches import Pitches
from tunesmith.abc.rational import Rational
from tunesmith.abc.reader import TUPLET_Q, broken_factors
from tunesmith.abc.text import note_length

__all__ = ["Form", "TuneState"]


def _units(length: str) -> Rational:
    """A written length in units, as the constraint's clock counts (tunesmith.abc.rational)."""
    return LENGTHS[length] if length in LENGTHS else Rational(note_length(length))


@cache
def _broken_factors(arrows: str) -> tuple[Rational, Rational]:
    return tuple(Rational(factor) for factor in broken_factors(arrows))


class TuneState(HeaderLines, Pitches, BarLines):
    """Where a tune being written stands: header or body, position in the bar, what is open.

    `push(char)` returns False when the character is refused (the state is then spoilt:
    try characters on a copy, as `allows` does). `can_end()` says whether </s> may come next.
    """

    def __init__(self, form: Form | None = None, pitch_range: tuple[int, int] | None = None):
        self.form = form
        # The lowest and highest MIDI note an instrument plays (tunesmith.abc.instruments); None: any.
        self.pitch_range = pitch_range
        self.signature: dict[str, int] = {}  # K:'s sharps and flats, once the body starts
        self.accidentals: dict[tuple[str, int], int] = {}  # the bar's accidentals so far, as the reader keeps them
        self.letter_accidentals: dict[str, int] = {}  # ... and as abc2midi does: by letter, in every octave
        self.bar_accidentals = False  # an accidental was written in the bar: no tie over its bar line
        self.in_body, self.line = False, ""  # past K: yet; the header line being written
        self.fields: dict[str, str] = {}
        self.bar_length = Rational(1)
        self.unit = Rational(1, 8)
        self.compound = False
        self.last_bar_grid = LAST_BAR_GRID  # what a short last bar lasts a multiple of (lexicon)
        self.compound_to_abc2midi = False  # abc2midi's default q of (5 (7 (9: 3 when the metre's top divides by 3
        # The bar being written.
        self.pos = Rational(0)  # time of the notes already counted
        self.bar_notes = 0  # notes, rests and chords counted in it
        # normal | accidental | note | paren | quote | deco | grace | bracket | chord | chord_length | sign
        self.mode = "normal"
        self.pending = ""  # accidental, length, or bar sign being written
        self.octave_ok = False  # a , or ' may still follow the note letter
        self.inner, self.inner_text, self.inner_length, self.inner_notes = "start", "", "", 0  # [chord], {grace}
        self.inner_spelling, self.inner_accidental = "", ""  # letter and octave marks of a note inside them
        self.chord_spellings: tuple[str, ...] = ()  # the notes of the chord being written: none twice
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
        # The note being written (or the last one) cannot take a broken rhythm in abc2midi: it has a
        # decoration abc2midi plays by changing its length, or it is already the second of a > pair;
        # held_decoration: one of HELD or HELD_DECORATIONS is written for the next note; held: the note has one.
        self.unbreakable = self.held_decoration = self.held = False
        # Since the last note: a roll or trill was written (no chord may follow), grace notes were.
        self.no_chord = self.graced = False
        # A trill or roll is written for the next note / the note has one: abc2midi plays such a note tied
        # over a bar line into the next bar ("Bar N has 6 time units"), so it is never tied.
        self.trill_next = self.trilled = False
        # A ~ is written for the next note / the note has one: abc2midi times a roll of 3 units right only
        # when it is written "3".
        self.roll_next = self.rolled = False
        self.bracket_decorated = False  # the [ being read came after a decoration or chord symbol
        self.letter_decoration = ""  # the last character, when it was a one-letter decoration (~ . H T ...)
        self.line_start = ""  # what a body line starts with, while nothing but those characters is on it
        self.last_length = Rational(1)  # in units, before tuplet and broken rhythm
        self.broken_length = Rational(1)  # the note after > or < must be as long as the one before it
        self.last_duration: Rational | None = None  # the note that > and < stretch
        self.broken_kind, self.broken_arrows = "", 0
        self.broken_next: Rational | None = None
        self.tuplet_factor, self.tuplet_left = Rational(1), 0
        self.tuplet_length: Rational | None = None  # every note of a tuplet is as long as its first
        self.slurs = 0
        self.blank = True  # nothing but spaces on this line yet: a newline now would end the tune
        # The tune so far.
        self.bars = 0  # bars closed that had notes in them
        self.first_bar: Rational | None = None  # duration of bar 0 when it was a pickup
        self.opens_section = True  # the bar being written comes first after a section sign
        self.section_pickup = Rational(0)  # this section's short first bar, which its last bar completes
        self.owed: Rational | None = None  # the bar being written must last exactly this
        self.owed_can_end = False  # ... unless the tune ends before it, as bar 0 completes the last one
        self.repeat_open = False
        self.repeat_closed = False  # a :| came after the last |: (or the start)
        self.endings_written = False  # a first ending was: abc2midi then needs every repeat's |:
        self.double_bar = False  # a || or |] came since the last repeat sign: a repeat now needs its |:
        self.leading_bar = False  # the tune starts with a |
        self.after_sign = False  # the last thing written was a bar sign (spaces, ! and newlines aside)
        # As the checker reads an empty bar: "| |" on one line is a typo, "|" then "|:" on the next is one sign.
        self.sign_on_line = self.written_since_sign = False
        self.parts_done = 0
        self.part_bars = Rational(0)  # bars of the current part, a short bar counting its share
        self.finished_form = False

    def copy(self) -> TuneState:
        # Fields are immutable values, replaced and never changed in place, so a shallow copy of
        # the attributes will do; done directly it is several times cheaper than copy.copy.
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        return twin

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
        if not (state.after_sign or state.mode == "sign") or state.bars == (0 if state.first_bar is None else 1):
            return False  # a tune of a pickup alone leaves abc2midi's chords sounding ("Sustained notes")
        if state.repeat_open or state.slurs or state.tied or state.ending == FIRST_ENDING or (
                state.owed is not None and not state.owed_can_end):
            return False
        return state.form is None or state.finished_form

    def must_end(self) -> bool:
        """Whether nothing but </s> may come next (a gap written to its end: tunesmith.abc.gaps)."""
        return False

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

    def _finished(self, char: str) -> bool:
        """After the form's last bar: a line break at most, then </s>."""
        ok = not self.blank and char in "!\n"
        self.blank = self.blank or char == "\n"
        return ok

    # Each mode reads one character. A character that ends what the mode was reading is
    # handed on to _normal once the element has been counted.

    def _normal(self, char: str) -> bool:
        self.written_since_sign = self.written_since_sign or char not in "|:[\n"
        if char == "\n":
            self.sign_on_line = self.written_since_sign = False
        if char not in "|:" and self.bar_notes and self.pos == self._limit() and not self._can_close():
            return False  # a full bar no sign may close (a part's last note off its cadence): go back at once
        if not self._line_start_ok(char):
            return False
        after_note, self.after_note = self.after_note, False
        letter_decoration, self.letter_decoration = self.letter_decoration, ""
        decorated = bool(letter_decoration) or self.after_decoration
        if not self._attachment_ok(char, letter_decoration):
            return False
        if self.tied is not None and (char == "{" or char in DECORATION_LETTERS):
            return False  # abc2midi: "Could not find note to be tied" when a grace or a decoration comes between
        if self.after_decoration and char in "|:":
            return False  # "L:" reads as a field; a decoration or chord symbol belongs to the note after it
        self.after_decoration = self.after_decoration and char == " "
        after_arrow, self.after_arrow = self.after_arrow, False
        if char == "-":
            return self._tie(after_note)
        if char in "<>":
            return self._broken(char, after_note, after_arrow)
        if char in NOTE_LETTERS or char in RESTS or char in ACCIDENTALS or char == "[":
            self.held = self.held_decoration
            self.unbreakable = self.held or self.roll_next or self.broken_next is not None  # ~G3<C: long
            self.trilled, self.trill_next = self.trill_next, False
            self.rolled, self.roll_next = self.roll_next, False
            self.held_decoration = self.no_chord = self.graced = False
            self.bracket_decorated = decorated  # "S[1" is no ending to abc2midi: after a decoration [ opens a chord
        if char in NOTE_LETTERS or char in RESTS:
            return self._start_note(char)
        if char in ACCIDENTALS:
            if self.tied is not None:
                return False  # a tied note keeps its pitch: abc2midi refuses e-^e ("Could not find note to be tied")
            self.mode, self.pending, self.bar_accidentals = "accidental", char, True
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
                # Inside a slur it can only become a tuplet, and a tuplet cannot open inside another.
                return self._room() and (self.slurs == 0 or (not self.tuplet_left and self.broken_next is None
                                                             and not self.held_decoration
                                                             and self._fits(3 * SHORTEST)))
            if char == "!":  # a decoration before a note, or the old line break before a newline
                return self._room() or not (self.blank or self.slurs or self.broken_next is not None)
            return self._room()
        if char == ")":
            self.slurs -= 1
            return self.slurs >= 0
        if char in HELD and (self.broken_next is not None or self.tuplet_left or self.tied is not None):
            return False  # abc2midi: "Cannot apply broken rhythm" to a staccato or held note, nor times it in a tuplet
        if char == "~" and (self.broken_next is not None or self.tuplet_left):
            return False  # abc2midi takes a roll's grace notes out of the note after > or < (or in a tuplet): long
        self.after_decoration = char in DECORATION_LETTERS
        self.letter_decoration = char if self.after_decoration else ""
        self.no_chord = self.no_chord or char in CHORDLESS_DECORATIONS
        self.trill_next = self.trill_next or char in "T~"
        self.roll_next = self.roll_next or char == "~"
        self.held_decoration = self.held_decoration or char in HELD
        return self.after_decoration and self._room()

    def _attachment_ok(self, char: str, letter_decoration: str) -> bool:
        """What abc2midi needs of decorations and grace notes: they touch the note they belong to."""
        if letter_decoration and char in ' ({!")\n':
            return False  # "Malformed note : expecting a-g or A-G"
        if self.tuplet_left and char in "[{":
            return False  # abc2midi times chords and grace notes in a tuplet otherwise ("Different length notes")
        if char == "[" and (self.no_chord or self.tied is not None):
            return False  # "Rolls and trills not supported in chords"; a tie joins two notes, not a chord
        if char in RESTS and self.trill_next:
            # abc2midi keeps a !trill! past a rest for what comes next: on a chord, "Rolls and trills not
            # supported in chords" and a long bar (an untrained rnn's "!trill!z [GF]"); a trilled rest is nothing.
            return False
        # abc2midi plays ~ as grace notes: "Intervening note needed between grace notes"; grace notes
        # belong to the note after them, not to a bar line.
        return not (self.graced and char in "~{|:")

    def _line_start_ok(self, char: str) -> bool:
        """Keep what a body line starts with: "B:|" or "L:|" at the start of a line reads as a field."""
        if char == "\n":
            self.line_start = ""
        elif char != " " and len(self.line_start) < 2:
            self.line_start += char
            return not (self.line_start[0].isalpha() and self.line_start[1:] == ":")
        return True

    def _tie(self, after_note: bool) -> bool:
        """A tie, straight after the note it ties, to a note of the same pitch."""
        self.tied = self.last_spelling
        # Not after a chord or a rest: abc2midi finds no note to tie from ("Cannot find note before tie").
        if self.held or self.trilled or not (after_note and self.broken_next is None and self.tuplet_left == 0
                             and self.tied not in RESTS and self.tied != ""):
            return False
        return self._room() or self.copy().push("|")  # the tied note needs a place: this bar, or the next

    def _can_close(self) -> bool:
        return any(self.copy()._close_bar(sign) for sign in BAR_SIGNS)

    def _limit(self) -> Rational:
        if self.owed is not None:
            return self.owed
        closing = self._repeat_limit()
        return closing if closing is not None else self.bar_length

    def _room(self) -> bool:
        """Room for a note of some length."""
        return self._completable("")

    def _start_note(self, char: str, accidental: str = "") -> bool:
        self.blank = self.after_sign = False
        self.note_accidental = accidental
        self.mode, self.pending, self.spelling = "note", "", char
        self.octave_ok = char not in RESTS
        self.octave_mark = "," if char.isupper() else "'"
        return self._room() and self._spelt_as_tied() and self._in_range(char, accidental, final=False)

    def _spelt_as_tied(self) -> bool:
        return not self.tied or self.tied.startswith(self.spelling)

    def _accidental(self, char: str) -> bool:
        if char in NOTE_LETTERS:
            return self._start_note(char, self.pending)
        if char == self.pending and char != "=":  # ^^ and __
            self.pending += char
            return len(self.pending) == 2
        return False

    def _note(self, char: str) -> bool:
        if char in ",'" and self.octave_ok and not self.pending:
            self.spelling += char
            # C, and c' are notes; abc2midi refuses C' and c,
            return (char == self.octave_mark and self.spelling.count(char) <= MAX_OCTAVE_MARKS[char]
                    and self._spelt_as_tied()
                    and self._in_range(self.spelling, self.note_accidental, final=False))
        if char.isdigit() or char == "/":
            self.octave_ok = False
            return (self._extend_length(char) and (not self.tied or self.tied == self.spelling)
                    and self._in_range(self.spelling, self.note_accidental, final=True))
        self.mode = "normal"
        if self.tied and self.tied != self.spelling:
            return False  # abc2midi: a tie joins two notes of one pitch ("Could not find note to be tied")
        if not self._pitch_done(self.spelling, self.note_accidental):
            return False
        self.tied, self.last_spelling = None, self.spelling
        if self.spelling[0] not in RESTS:  # a rest after the last note leaves the cadence to that note
            self.last_note = (self.note_accidental, self.spelling[0].upper())
        if self.rolled and _units(self.pending) == 3 and self.pending != "3":
            return False  # abc2midi: "~c6/" makes its bar long by a sixteenth of the roll
        return self._count(_units(self.pending)) and self._normal(char)

    def _extend_length(self, char: str) -> bool:
        """Take a digit or / of a length, if some way of finishing the length still fits the bar."""
        self.pending += char
        return self._completable(self.pending)

    def _completable(self, prefix: str) -> bool:
        """Whether some length that starts with `prefix` (in units) fits where the note is."""
        values = COMPLETIONS.get(prefix)
        if not values:
            return False
        fixed = self._fixed_length()
        if fixed is not None:
            return fixed in values and self._fits(fixed)
        return self._fits(SHORTEST_COMPLETION[prefix])  # lengths are multiples of SHORTEST: on the grid

    def _fixed_length(self) -> Rational | None:
        """The length (in units) the next note must have: that of the note before > or <, or of the
        tuplet's first note. abc2midi: "Cannot apply broken rhythm", "Different length notes in tuple"."""
        return self.broken_length if self.broken_next is not None else self.tuplet_length

    def _fits(self, length: Rational) -> bool:
        """Whether a note of this length (in units) fits the bar, after tuplet and broken rhythm.

        In a tuplet the notes still to come are as long as this one: q of them fill the time of p,
        so the group ends on the grid, and a group that fits leaves no note of it without room."""
        duration = length * self.unit * (self.broken_next or 1)
        if self.tuplet_left:
            duration *= self.tuplet_factor * self.tuplet_left
        end = self.pos + duration
        if self._pickup_asked():  # short by whole units: the last bar, making it up, ends the tune (_whole_units)
            return end <= self.bar_length - self.last_bar_grid
        return end <= self._limit()

    def _pickup_asked(self) -> bool:
        """Bar 0 of a form that asks for a pickup: it may never fill up."""
        return self.bars == 0 and self.form is not None and bool(self.form.pickup)

    def _count(self, length: Rational) -> bool:
        """Count a finished note, rest or chord: it must fit the bar, after tuplet and broken rhythm."""
        duration = length * self.unit
        if self._fixed_length() not in (None, length):
            return False  # abc2midi: "Cannot apply broken rhythm. Notes not equal durations"
        if not self._fits(length):  # in a tuplet: the whole group, its notes as long as this one
            return False
        if self.broken_next is not None:
            duration *= self.broken_next
            self.broken_next = None
        if self.tuplet_left:
            duration *= self.tuplet_factor
            self.tuplet_left -= 1
            self.tuplet_length = length if self.tuplet_left else None
            self.unbreakable = True  # abc2midi: "Cannot apply broken rhythm" after a tuplet's last note too
        self.pos += duration
        self.last_duration, self.broken_arrows = duration, 0
        self.bar_notes += 1
        self.after_note, self.last_length = True, length
        # Between groups the bar stays on a grid of the shortest note, so what is left can always be filled.
        return bool(self.tuplet_left or self.pos % (SHORTEST * self.unit) == 0)

    def _broken(self, char: str, after_note: bool, after_arrow: bool) -> bool:
        """A>B: A takes 3/2 of its length and B 1/2; >> 7/4 and 1/4; < the other way round."""
        if after_arrow:
            if self.broken_kind != char or self.broken_arrows >= 3:
                return False
        elif not after_note or self.last_duration is None or self.tuplet_left or self.unbreakable:
            return False
        self.after_arrow = True
        self.broken_length = self.last_length
        before = _broken_factors(self.broken_kind * self.broken_arrows)[0] if self.broken_arrows else 1
        self.broken_kind, self.broken_arrows = char, self.broken_arrows + 1
        first, self.broken_next = _broken_factors(char * self.broken_arrows)
        self.pos += self.last_duration * (first - before)  # the note before is stretched (or shortened)
        return self._room()  # the note after it needs room too

    def _paren(self, char: str) -> bool:
        self.mode = "normal"
        if char in "23456789":  # (3 is a triplet; ( before anything else opens a slur
            if self.tuplet_left or self.broken_next is not None or self.held_decoration:
                return False  # no tuplet in a tuplet; a held note is timed otherwise by abc2midi in one
            p = int(char)
            if p not in TUPLET_Q and self.compound != self.compound_to_abc2midi:
                return False  # abc2midi's (5 (7 (9 take 3 notes' time in 3/4 too: the bar would count otherwise
            q = TUPLET_Q.get(p, 3 if self.compound else 2)
            self.tuplet_factor, self.tuplet_left, self.tuplet_length = Rational(q, p), p, None
            return self._fits(SHORTEST)
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
            held = self.pending in HELD_DECORATIONS
            self.mode, self.held_decoration = "normal", self.held_decoration or held
            self.no_chord = self.no_chord or self.pending in CHORDLESS_DECORATIONS
            self.trill_next = self.trill_next or self.pending == "trill"
            return self.pending in DECORATIONS and self._decoration_fits(self.pending)
        self.pending += char
        return self._room() and any(name.startswith(self.pending) and self._decoration_fits(name)
                                    for name in DECORATIONS)

    def _decoration_fits(self, name: str) -> bool:
        """abc2midi plays a held note longer: not after > or < ("Cannot apply broken rhythm"), nor in a
        tuplet, where "(2!breath!EB" would come out long, nor as the note a tie goes to."""
        return name not in HELD_DECORATIONS or (self.broken_next is None and not self.tuplet_left
                                                and self.tied is None)

    def _bracket(self, char: str) -> bool:
        """After [: a chord, or the start of an ending ([1, [2)."""
        if char in "12" and not self.bracket_decorated and self.bar_notes == 0:  # [1 after a bar line only
            self.mode = "normal"
            ok = self._close_bar("[" + char)
            self.after_sign = True
            return ok
        self.mode, self.inner, self.inner_notes, self.pending = "chord", "start", 0, ""
        self.chord_spellings = ()
        return self._room() and self._chord(char)

    def _chord_length(self, char: str) -> bool:
        if char.isdigit() or char == "/":
            return self._extend_length(char)
        self.mode = "normal"
        self.tied, self.last_spelling = None, ""  # a chord may be tied to anything
        self.last_note = None
        return self._count(_units(self.pending)) and self._normal(char)
