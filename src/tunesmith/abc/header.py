"""The header half of the constraint: field lines as normalisation writes them (X T R M L K), each
value one the checker and abc2midi can read, K: last with M: before it. Mixed into
`tunesmith.abc.grammar.TuneState`, whose fields it reads and writes.

X: comes first with its number, and each other field at most once, in that order: a second M: or
L: would make abc2midi count bars by another metre than the checker, which reads the first.
"""

from __future__ import annotations

from tunesmith.abc.lexicon import (
    HEADER_VALUES,
    LAST_BAR_GRID,
    MAX_HEADER_LINE,
    METERS,
    QUAVER_ENDINGS,
    UNIT_LENGTHS,
)
from tunesmith.abc.rational import Rational
from tunesmith.abc.reader import is_compound
from tunesmith.abc.text import FIELD_LINE, HEADER_ORDER, default_unit_length, meter_fraction
from tunesmith.abc.theory import is_written_key, key_signature


class HeaderLines:
    """Reading the header, one character at a time: mixed into TuneState."""

    def _header(self, char: str) -> bool:
        if char != "\n":
            self.line += char
            return self._header_line_can_go_on()
        line, self.line = self.line, ""
        match = FIELD_LINE.match(line)
        if not match or len(line) < 2 or line[1] != ":":
            return False  # the header is field lines only; an empty line would end the tune
        letter, value = match.groups()
        self.fields = {**self.fields, letter: value}  # a new dict: copies share the old one
        if not self._value_complete(letter, value):
            return False
        return letter != "K" or self._start_body()

    @staticmethod
    def _value_complete(letter: str, value: str) -> bool:
        """A whole value, as its newline arrives; HEADER_VALUES has let through what could still become one."""
        if letter in "XR":
            return value != ""
        if letter == "M":
            return value in METERS  # (C, C|, n/d): no free metre, whose bars the checker cannot count
        if letter == "L":
            return value in UNIT_LENGTHS
        if letter == "K":
            return is_written_key(value)
        return True

    def _header_line_can_go_on(self) -> bool:
        """A field line ("M:6/8"): a letter that may come next, a colon, and a value that can still be read."""
        line = self.line
        if len(line) > MAX_HEADER_LINE:
            return False  # a title goes on no longer than a tune book's: then only the newline is allowed
        if len(line) == 1:
            return self._field_may_come(line)
        if len(line) == 2:
            return line[1] == ":"
        return HEADER_VALUES[line[0]].fullmatch(line[2:]) is not None

    def _field_may_come(self, letter: str) -> bool:
        """X: first; then each field later in HEADER_ORDER than the last, and none past M: before M:
        (K:, which closes the header, needs it, and once L: is written M: can no longer come)."""
        if letter not in HEADER_ORDER:
            return False
        if not self.fields:
            return letter == "X"
        order, last = HEADER_ORDER.index(letter), HEADER_ORDER.index(next(reversed(self.fields)))
        return order > last and (order <= HEADER_ORDER.index("M") or "M" in self.fields)

    def _start_body(self) -> bool:
        meter = self.fields["M"]
        self.bar_length = Rational(meter_fraction(meter))
        self.unit = Rational(self.fields.get("L") or default_unit_length(meter))
        self.compound = is_compound(meter)
        top = int(meter.split("/")[0]) if "/" in meter else 4  # C and C| are 4/4 and 2/2
        self.compound_to_abc2midi = top % 3 == 0
        if meter not in QUAVER_ENDINGS:
            self.last_bar_grid = max(LAST_BAR_GRID, Rational(1, int(meter.split("/")[1])))
        self.signature = key_signature(self.fields["K"])
        self.in_body = True
        return True

