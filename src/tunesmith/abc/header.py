"""The header half of the constraint: field lines as normalisation writes them (X T R M L K), each
value one the checker and abc2midi can read, K: last with M: before it. Mixed into
`tunesmith.abc.grammar.TuneState`, whose fields it reads and writes.
"""

from __future__ import annotations

from fractions import Fraction

from tunesmith.abc.lexicon import HEADER_FIELDS, HEADER_VALUES, MAX_HEADER_LINE
from tunesmith.abc.reader import is_compound
from tunesmith.abc.text import FIELD_LINE, default_unit_length, meter_fraction
from tunesmith.abc.theory import is_written_key, key_signature


class HeaderLines:
    """Reading the header, one character at a time: mixed into TuneState."""

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
        self.signature = key_signature(self.fields["K"])
        self.in_body = True
        return True

