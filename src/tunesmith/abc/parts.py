"""The form a tune must have, and the half of the constraint that decides where a bar may close.

`Form` is what a request asks for (parts, bars per part, repeats, pickup, the degree each part
ends on). `BarLines` is the bar-line half of `tunesmith.abc.grammar.TuneState`: whether a bar
adds up under the checker's rules (`tunesmith.abc.reader.bar_verdicts`: full, a pickup, or made
up across a repeat), whether first and second endings pair as abc2midi reads them, and whether
the form and its cadences allow a sign here. It reads and writes TuneState's fields.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tunesmith.abc.lexicon import BAR_SIGNS, SECTION_SIGNS, SIGN_PREFIXES
from tunesmith.abc.rational import Rational
from tunesmith.abc.theory import ALTER, degree_letter, key_signature

FIRST_ENDING, FIRST_ENDING_CLOSED, SECOND_ENDING = 1, 3, 2


@dataclass(frozen=True)
class Form:
    """The shape a tune must have: `parts` sections of `bars_per_part` bars each.

    repeats: every part ends with a repeat sign (the AABB of dance tunes);
    pickup: True needs an anacrusis, False forbids one, None lets the model choose;
    cadences: the scale degree (1 = the tonic) the last note of each part must have, None for any
    (empty: no cadence asked for). Example: Form(2, 8, cadences=(5, 1)): A ends on the fifth, B home.
    copies: bars written again, ((part, bar), (earlier part, earlier bar)) with 0-based full bars of
    each part (a pickup and endings are not counted): ((0, 4), (0, 0)) plays bar 1 again as bar 5.
    The sampler writes them (tunesmith.sample.phrases); the constraint does not need them.
    shape: (bars, repeated) of each part where the parts differ, as a book's irregular tunes have them
    (a repeated 8-bar A part, then a 16-bar B part with its repeat written out); empty: every part is
    bars_per_part long and repeated as `repeats` says. Example: Form.of_shape(((8, True), (16, False))).
    """

    parts: int = 2
    bars_per_part: int = 8
    repeats: bool = True
    pickup: bool | None = None
    cadences: tuple[int | None, ...] = ()
    copies: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = ()
    shape: tuple[tuple[int, bool], ...] = ()

    @classmethod
    def of_shape(cls, shape, pickup: bool | None = None) -> Form:
        """The form of parts (bars, repeated) each; a regular one when every part is alike."""
        shape = tuple((int(bars), bool(repeated)) for bars, repeated in shape)
        if not shape:
            raise ValueError("a form needs at least one part")
        bars, repeated = shape[0]
        regular = len(set(shape)) == 1
        return cls(len(shape), bars, repeated, pickup, shape=() if regular else shape)

    def part_length(self, part: int) -> int:
        """Bars of part `part` (0-based)."""
        return self.shape[part][0] if self.shape and part < len(self.shape) else self.bars_per_part

    def part_repeats(self, part: int) -> bool:
        """Whether part `part` (0-based) ends with a repeat sign."""
        return self.shape[part][1] if self.shape and part < len(self.shape) else self.repeats

    @property
    def total_bars(self) -> int:
        return sum(self.part_length(part) for part in range(self.parts))

    def __post_init__(self) -> None:
        if not 1 <= self.parts <= 8:
            raise ValueError(f"parts must be 1..8, not {self.parts}")
        if not 1 <= self.bars_per_part <= 64:
            raise ValueError(f"bars per part must be 1..64, not {self.bars_per_part}")
        if self.cadences and (len(self.cadences) != self.parts or any(d not in (None, *range(1, 8))
                                                                      for d in self.cadences)):
            raise ValueError(f"cadences must give a degree 1..7 (or None) for each of {self.parts} parts")
        if self.shape and (len(self.shape) != self.parts or any(not 1 <= bars <= 64 for bars, _ in self.shape)):
            raise ValueError(f"a shape must give 1..64 bars for each of {self.parts} parts")
        for bar, source in self.copies:
            inside = all(0 <= p < self.parts and 0 <= b < self.part_length(p) for p, b in (bar, source))
            if not (source < bar and inside):
                raise ValueError(f"a copied bar must repeat an earlier bar of the form (got {bar} from {source})")

    def cadence(self, part: int) -> int | None:
        """The degree part `part` (0-based) must end on, None for any."""
        return self.cadences[part] if part < len(self.cadences) else None


class BarLines:
    """Bar signs, endings, the checker's bar rules and the form: mixed into TuneState."""

    def cadence_due(self) -> bool:
        """Whether the bar being written ends a part that must end on a given degree."""
        # Bars of the part already closed; a bar line being written closes its bar only when it ends.
        bars = self.part_bars + (self.pos / self.bar_length if self.mode == "sign" else 0)
        return (self.form is not None and self.form.cadence(self.parts_done) is not None
                and bars + 1 >= self.form.part_length(self.parts_done) - Rational(1, 2))  # (a half-bar pickup)

    def relax_cadence(self) -> bool:
        """Give up the degree asked of this part's last note (the model would not write it); False if none."""
        if self.form is None or self.form.cadence(self.parts_done) is None:
            return False
        cadences = list(self.form.cadences)
        cadences[self.parts_done] = None
        self.form = replace(self.form, cadences=tuple(cadences))
        return True

    def _sign(self, char: str) -> bool:
        if self.pending + char in SIGN_PREFIXES:
            self.pending += char
            # Only as far as some sign it can still become closes this bar well.
            return any(self.copy()._close_bar(sign) for sign in BAR_SIGNS if sign.startswith(self.pending))
        if not self._close_sign():
            return False
        self.mode, self.after_sign = "normal", True
        self.sign_on_line, self.written_since_sign = True, False
        if self.finished_form:
            return self._finished(char)
        return self._normal(char)

    def _close_sign(self) -> bool:
        return self.pending in BAR_SIGNS and self._close_bar(self.pending)

    def _close_bar(self, sign: str) -> bool:
        """The bar ends with `sign`: does it add up, and does the form allow it here?"""
        section = sign in SECTION_SIGNS
        if not (self._repeats_allow(sign) and self._endings_allow(sign, section)):
            return False
        if self.tied and (sign != "|" or self.bar_accidentals):
            # abc2midi looks for the tied note after a plain bar line only, and spelt as in the bar before
            return False
        if sign in ("|:", "::") and not self._repeat_may_open(sign):
            return False  # the part it opens ends with ||, so no :| would ever close this repeat
        if self.bar_notes == 0:
            return self._empty_bar(sign, section)
        if sign.startswith(":"):
            self.repeat_open, self.repeat_closed = False, True
        if not (self._bar_adds_up(sign) and self._form_allows(sign, section)):
            return False
        if sign in ("|:", "::"):
            self.repeat_open, self.repeat_closed = True, False
        self.bars += 1
        self.pos, self.bar_notes, self.last_duration = Rational(0), 0, None
        self.accidentals, self.letter_accidentals, self.bar_accidentals = {}, {}, False
        self.opens_section = section
        return True

    def _repeat_may_open(self, sign: str) -> bool:
        """|: opens the part being written when it comes first in it, else it ends the part before a
        repeated one (8 bars played once, then |: a repeated part); :: closes a repeated part and opens the next."""
        if self.form is None:
            return True
        opened = self.parts_done + (sign == "::" or self.bar_notes > 0)
        return opened < self.form.parts and self.form.part_repeats(opened) and (
            sign == "|:" or self.form.part_repeats(self.parts_done))

    def _repeats_allow(self, sign: str) -> bool:
        """Repeats abc2midi plays as the checker reads them. It goes back to the |:, or where none was
        written to the last :| or the start, never to a || or |]: those are kept out of repeats, as the
        checker's section (and its pickup) starts there. Once endings were written, a repeat needs its |:
        (abc2midi would go back to the old one), and so does an ending after a :|."""
        if sign in ("||", "|]"):
            ok, self.double_bar = not self.repeat_open, True  # abc2midi would go back past it
            return ok
        if sign == "|:":
            ok = not self.repeat_open  # "found another |: after a |:"
        elif sign == "::":
            ok = self.repeat_open  # "found :: before |:"
        elif sign in ("|1", "[1"):  # "found [1 or like before |:" after a :| with none
            ok = self.repeat_open or not (self.endings_written or self.double_bar or self.repeat_closed)
            # Before the tune's first bar abc2midi counts the ending's bar otherwise (an untrained model's
            # "[1..." as its first notes: 13/16 of 3/4 where the checker counted 3/4), and no tune starts so.
            ok = ok and (self.bars > 0 or self.bar_notes > 0)
        elif sign == ":|":
            ok = self.repeat_open or not (self.endings_written or self.double_bar)
        else:
            return True
        self.double_bar = self.double_bar and sign in ("|1", "[1")
        return ok

    def _endings_allow(self, sign: str, section: bool) -> bool:
        """A first ending inside a repeat and closed by its :|; a second straight after that :|."""
        if sign in ("|1", "[1"):
            ok, self.ending, self.endings_written = self.ending == 0, FIRST_ENDING, True
            return ok
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
        if self.sign_on_line and self.written_since_sign:
            return False  # "| |": the checker's empty bar
        if sign not in ("|", "|:") and (self.form is not None or sign not in ("[1", "[2", "||")):
            return False
        if sign == "|" and self.owed is not None:
            return False  # abc2midi counts the short bar before it again, as a bar of its own
        if sign == "|" and self.bars == 0:
            # A repeat played again from the start counts what it carries at this | as a bar: so no pickup.
            self.leading_bar = True
            return not self._pickup_asked()
        if section and self.form is not None and self.bars and not self.opens_section:
            return False  # a new section in the middle of a part
        self.opens_section = self.opens_section or section
        if sign == "|:":
            self.repeat_open, self.repeat_closed = True, False
        return True

    def _bar_adds_up(self, sign: str) -> bool:
        """The checker's rule (a bar is full, the tune's pickup, or made up across a boundary) as abc2midi
        counts it: a short bar at || |] |: :| :: runs on into the next bar, and at a repeat, the second
        time through, into the repeat's first bar too ("Bar N has x time units ... in repeat")."""
        paid = self.owed is not None  # the bar before was short at a boundary: this one makes it up
        if paid and self.pos != self.owed:
            return False
        self.owed = None
        whole = paid or self.pos == self.bar_length  # as abc2midi counts it, with what the bar before left
        if self.opens_section:
            self.section_pickup = Rational(0) if self.pos == self.bar_length else self.pos
        if self.bars == 0:
            if not whole and self.leading_bar:
                return False  # no pickup after a | at the start (_empty_bar)
            if self.form is not None and not whole and (
                    self.form.pickup is False or not self._whole_units(self.bar_length - self.pos)):
                return False  # the form's last bar makes the pickup up, and ends the tune
            self.first_bar = None if whole else self.pos
        if sign.startswith(":"):
            return self._repeat_adds_up(sign, whole, paid)
        if whole or self.bars == 0:  # abc2midi starts counting after the tune's pickup
            return True
        return sign in SECTION_SIGNS and self._runs_on()

    def _repeat_adds_up(self, sign: str, whole: bool, paid: bool) -> bool:
        """The last bar of a repeat makes up its first: played again, the two are one bar."""
        if self.opens_section:  # a repeat of one bar: played again, it starts with what the bar before left
            return self._runs_on() if paid else self.pos == self.bar_length
        heard = self.bar_length if whole else self.pos
        if heard != self.bar_length - self.section_pickup:
            return False
        # After a first ending abc2midi plays on from its :| with a new bar; else the short bar runs on.
        after_first_ending = sign == ":|2" or self.ending == FIRST_ENDING_CLOSED
        return whole or after_first_ending or self._runs_on()

    def _runs_on(self) -> bool:
        """A short bar at a section sign: the next bar must make it up, unless the tune ends here and a
        pickup (the section's or the tune's) makes it up for the checker."""
        self.owed = self.bar_length - self.pos
        completes_pickup = not self.opens_section and self.pos + self.section_pickup == self.bar_length
        self.owed_can_end = self._whole_units(self.pos) and (completes_pickup or (
            self.first_bar is not None and self.first_bar + self.pos == self.bar_length))
        return self.form is None or self.parts_done + 1 < self.form.parts or self.owed_can_end

    def _whole_units(self, duration: Rational) -> bool:
        """Whether a tune may end on a bar this long (lexicon.LAST_BAR_GRID)."""
        return duration % self.last_bar_grid == 0

    def _repeat_limit(self) -> Rational | None:
        """How long the bar being written must be when the form has it close a repeat after a pickup: it
        makes the pickup up (played again, the two are one bar). None: as long as the metre says."""
        part = self.parts_done
        if self.form is None or not self.form.part_repeats(part) or self.opens_section or not self.section_pickup:
            return None
        rest = self.bar_length - self.section_pickup
        return rest if self.part_bars + rest / self.bar_length == self.form.part_length(part) else None

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
        target, repeats = self.form.part_length(self.parts_done), self.form.part_repeats(self.parts_done)
        # Counted as the checker counts a section: bars, a pickup and its partner each their share, rounded.
        if sign == "|":
            self.part_bars = bars
            if repeats:  # room for the bar that makes up the pickup and closes the repeat
                return bars + 1 - self.section_pickup / self.bar_length <= target
            return bars < target - Rational(1, 2) or (bars == target - Rational(1, 2) and round(bars) != target)
        if not section or sign == ":|2" or round(bars) != target:
            return False
        if repeats != (sign in (":|", "::")):
            return False
        if not repeats and (sign == "|:") != self._repeat_may_open("|:"):
            return False  # a part played once before a repeated one ends with the |: that opens it, and only it
        if not self._cadence_met(self.form.cadence(self.parts_done)):
            return False
        self.parts_done += 1
        self.part_bars = Rational(0)
        if self.parts_done == self.form.parts:
            self.finished_form, self.blank = True, False
            return sign != "::"  # :: would open a repeat that never closes
        return True
