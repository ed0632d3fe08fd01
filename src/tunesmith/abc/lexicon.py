"""What the constrained decoder may write, as tables: notes, decorations, chord symbols, header
values, bar signs and note lengths (`tunesmith.abc.grammar` reads a tune against them).

They are the constructs abc2midi, abcm2ps and the checker all read the same way; anything not
here is simply never offered in a generated body.
"""

from __future__ import annotations

import re
from fractions import Fraction

from tunesmith.abc.text import note_length
from tunesmith.abc.theory import WRITTEN_MODES

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
# Decorations abc2midi plays by changing a note's length, so that > and < can no longer pair it:
# the staccato dot, the fermata (H, !fermata!).
HELD = frozenset(".H")
HELD_DECORATIONS = frozenset({"fermata", "invertedfermata"})
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
