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
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from tunesmith.vocab import SPECIALS, refuse_unknown_characters

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


class ABCTokenVocab:
    """The interface of CharVocab, over ABC units: tokens, index, bos/eos/unk, encode/decode."""

    def __init__(self, chars: Iterable[str], units: Iterable[str] = (), min_count: int = 2):
        single = sorted(set(chars) - set(SPECIALS))
        multi = sorted(set(units) - set(single) - set(SPECIALS))
        if any(len(ch) != 1 for ch in single) or any(len(unit) < 2 or "\n" in unit for unit in multi):
            raise ValueError("ABC vocabulary: characters must be single, units longer and within one line")
        self.tokens: list[str] = list(SPECIALS) + single + multi
        self.index = {token: i for i, token in enumerate(self.tokens)}
        self.bos, self.eos, self.unk = (self.index[s] for s in SPECIALS)
        self.min_count = min_count

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 2) -> ABCTokenVocab:
        """Every character, every unit seen min_count times, and the frequent pieces of rare units."""
        chars: set[str] = set()
        counts: Counter[str] = Counter()
        for text in texts:
            chars.update(text)
            counts.update(unit for unit in segment(text) if len(unit) > 1)
        kept = {unit for unit, n in counts.items() if n >= min_count}
        piece_counts: Counter[str] = Counter()
        for unit, n in counts.items():
            if n < min_count:
                for piece in pieces(unit):
                    if len(piece) > 1:
                        piece_counts[piece] += n
        kept |= {piece for piece, n in piece_counts.items() if n >= min_count}
        return cls(chars, kept, min_count)

    def __len__(self) -> int:
        return len(self.tokens)

    def tokenize(self, text: str) -> list[str]:
        """The token texts of text: each unit if known, else its known pieces, else characters.

        Example: tokenize("K:D\\n|:^f'2") -> ["K:D", "\\n", "|:", "^f'2"] with a vocabulary that has them.
        """
        tokens: list[str] = []
        for unit in segment(text):
            if len(unit) == 1 or unit in self.index:
                tokens.append(unit)
                continue
            for piece in pieces(unit):
                tokens += [piece] if piece in self.index else list(piece)
        return tokens

    def encode(self, text: str, strict: bool = True) -> list[int]:
        """Token ids; characters never seen in training raise (strict) or become <unk>."""
        if strict:
            refuse_unknown_characters(text, self.index)
        return [self.index.get(token, self.unk) for token in self.tokenize(text)]

    def encode_tune(self, text: str, strict: bool = True) -> list[int]:
        """One training document: <s> tokens </s>."""
        return [self.bos, *self.encode(text, strict), self.eos]

    def decode(self, ids: Sequence[int]) -> str:
        """The token texts joined; the markers are structure, not text."""
        return "".join(self.tokens[i] for i in ids if i >= len(SPECIALS))

    def to_dict(self) -> dict:
        return {"kind": "abc", "tokens": self.tokens, "min_count": self.min_count}

    @classmethod
    def from_dict(cls, data: dict) -> ABCTokenVocab:
        tokens = list(data.get("tokens", []))
        if data.get("kind") != "abc" or tokens[:3] != list(SPECIALS):
            raise ValueError("not a Tunesmith ABC token vocabulary")
        rest = tokens[3:]
        vocab = cls([t for t in rest if len(t) == 1], [t for t in rest if len(t) > 1], data.get("min_count", 2))
        if vocab.tokens != tokens:
            raise ValueError("vocabulary tokens are not in canonical order")
        return vocab
