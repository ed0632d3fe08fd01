"""ABC-aware tokens: musical units instead of characters, with characters as the fallback.

A unit is what a musician reads as one thing:

    X:1 \\n T: T h e ... \\n M:6/8 \\n L:1/8 \\n K:Dmix \\n |: A B/ ^f'2 (3 c d e "Am" [1 :|2 ...

- value fields (X M L K R P Q) are one token per line: `M:6/8`, `K:Dmix`, `R:reel`;
  free-text fields (T: and the rest) are the tag `T:` and then characters;
- a note is accidental + letter + octave marks + length (`^f'2`, `B/`, `=c,3/2`), a rest
  likewise (`z2`); bar lines and repeats with their ending number (`|`, `||`, `|:`, `:|2`,
  `[1`), tuplets (`(3`), broken rhythm (`>`), chord symbols (`"Am"`), decorations (`!trill!`),
  inline fields (`[K:G]`) and the opening of a grace group (`{`, `{/`) are one token each.

Three promises the sampler relies on:
1. Every line is tokenized on its own and "\\n" is always its own token, so a line-aligned
   prefix tokenizes the same alone as in a longer text.
2. Every character seen in training is a token too. A unit seen fewer than `min_count`
   times falls back to smaller pieces (a note to pitch + length, a field to tag + characters)
   and, failing those, to characters; so any text over the training alphabet encodes, and the
   vocabulary stays a few hundred tokens.
3. decode(encode(text)) == text, exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# A field line: a letter, a colon, and not a bar or repeat after it ("A:|" is music).
FIELD_LINE = re.compile(r"^([A-Za-z+]):(?![|:])")
VALUE_FIELDS = frozenset("XMLKRPQ")  # a whole line is one token; T: and the others are free text
LENGTH = r"\d*/*\d*"
BODY_UNIT = re.compile(
    rf"""
     (?P<field>\[[A-Za-z]:[^\]\n]*\])                                    # inline field [K:G]
    |(?P<quoted>"[^"\n]*")                                               # chord symbol, annotation
    |(?P<decoration>![A-Za-z0-9.+()<>^_=-]{{1,30}}!|\+[a-z][A-Za-z0-9.()<>]{{0,29}}\+)  # not +CEG+ chords
    |(?P<bar>(?::*\[?\|[|\]]*:*|::+)(?:\[?[1-9](?:[,-][1-9])*)?|\[[1-9](?:[,-][1-9])*)
    |(?P<tuplet>\([2-9](?::[2-9]?){{0,2}})
    |(?P<note>(?P<accidental>\^{{1,2}}|_{{1,2}}|=)?(?P<letter>[A-Ga-g])(?P<octave>[,']*)(?P<length>{LENGTH}))
    |(?P<rest>[zxZX]{LENGTH})
    |(?P<broken>[<>]{{1,3}})
    |(?P<grace>\{{/?)
    |(?P<char>.)
    """,
    re.VERBOSE,
)


def lines_of(text: str) -> Iterator[str]:
    """The lines of text with each "\\n" as its own item."""
    for number, line in enumerate(text.split("\n")):
        if number:
            yield "\n"
        if line:
            yield line


def line_units(line: str) -> list[str]:
    """The units of one line (no newline in it); they concatenate back to the line."""
    field = FIELD_LINE.match(line)
    if field:
        if field.group(1) in VALUE_FIELDS:
            return [line]
        return [line[:2], *line[2:]]
    return [match.group() for match in BODY_UNIT.finditer(line)]


def segment(text: str) -> list[str]:
    """Every unit of a text, before any vocabulary. Example: "K:D\\n|:A2" -> ["K:D", "\\n", "|:", "A2"]."""
    units: list[str] = []
    for line in lines_of(text):
        units += ["\n"] if line == "\n" else line_units(line)
    return units


def pieces(unit: str) -> list[str]:
    """The next smaller pieces of a rare unit: a note or rest to pitch + length, a field to tag + text."""
    if FIELD_LINE.match(unit):
        return [unit[:2], *unit[2:]]
    match = BODY_UNIT.fullmatch(unit)
    if match and match.lastgroup in ("note", "rest"):
        length = match.group("length") if match.lastgroup == "note" else unit[1:]
        head = unit[: len(unit) - len(length)]
        return [part for part in (head, length) if part]
    return list(unit)


