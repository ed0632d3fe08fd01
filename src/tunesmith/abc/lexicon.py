"""What the constrained decoder may write, as tables: notes, decorations, chord symbols, header
values, bar signs and note lengths (`tunesmith.abc.grammar` reads a tune against them).

They are the constructs abc2midi, abcm2ps and the checker all read the same way; anything not
here is simply never offered in a generated body.
"""

from __future__ import annotations

import re

from tunesmith.abc.rational import Rational
from tunesmith.abc.text import note_length
from tunesmith.abc.theory import WRITTEN_MODES

NOTE_LETTERS = frozenset("ABCDEFGabcdefg")
RESTS = frozenset("zx")
ACCIDENTALS = frozenset("^_=")
# No fermata (H, !fermata!): abc2midi plays it twice as long and counts the bar so ("Bar N has 6 ...").
DECORATION_LETTERS = frozenset(".~LMOPSTuv")
# Decorations abc2midi and abcm2ps know; anything else between ! ! is refused.
DECORATIONS = frozenset({
    "trill", "roll", "turn", "mordent", "lowermordent", "uppermordent", "pralltriller",
    "accent", "emphasis", ">", "staccato", "tenuto", "upbow", "downbow", "slide", "breath", "segno",
    "coda", "D.C.", "D.S.", "fine", "p", "pp", "mp", "mf", "f", "ff", "crescendo(", "crescendo)",
    "diminuendo(", "diminuendo)", "open", "thumb", "snap", "wedge", "arpeggio", "invertedfermata",
})
# Decorations abc2midi plays by changing a note's length, so that > and < can no longer pair it and a
# tie no longer finds it ("Cannot apply broken rhythm", "Cannot find note before tie").
HELD = frozenset(".")
HELD_DECORATIONS = frozenset({"invertedfermata", "breath"})
# Decorations abc2midi cannot play on a chord ("Rolls and trills not supported in chords").
CHORDLESS_DECORATIONS = frozenset({"T", "~", "trill"})
# Chord symbols abc2midi can voice ("Am", "D7/F#", "Gmaj7") and annotations placed above or below ("^Fine").
CHORD_KINDS = ("", "m", "7", "m7", "maj7", "6", "m6", "9", "m9", "dim", "dim7", "aug", "sus4")
_ROOT = r"[A-G][#b]?"
_KINDS = "|".join(sorted(CHORD_KINDS, key=len, reverse=True))
_CUT_KINDS = "|".join({kind[:i] for kind in CHORD_KINDS for i in range(1, len(kind))} - set(CHORD_KINDS))
# Above or below the staff; abc2midi misreads < > @ / and ; ("Guitar chord does not start with A-G").
_ANNOTATION = r"[\^_][A-Za-z0-9 .,:!?'()-]"
CHORD_SYMBOL = re.compile(rf"{_ROOT}(?:{_KINDS})(?:/{_ROOT})?|{_ANNOTATION}{{1,30}}")
# What can still become one: a kind cut short ("Gsu") has nothing after it yet.
CHORD_SYMBOL_PREFIX = re.compile(
    rf"[A-G](?:[#b]?(?:(?:{_KINDS})(?:/(?:{_ROOT})?)?|{_CUT_KINDS}))?|{_ANNOTATION}{{0,30}}"
)
HEADER_FIELDS = frozenset("XTRMLK")  # what abcnotation.normalise_tune writes, so what models learn
# Metres and unit lengths the header may give: abc2midi refuses a metre whose denominator is not a power
# of two ("88 b is not a power of 2"), and a bar of more than 16 beats is no folk tune's.
METERS = frozenset({"C", "C|", *(f"{n}/{d}" for d in (2, 4, 8, 16) for n in range(1, 17))})
UNIT_LENGTHS = frozenset({"1/4", "1/8", "1/16", "1/32"})
# A title as tune books write them: it starts with a letter, a digit or a quote, and its second character
# is no colon, so that abc2midi can read it neither as a field ("T:K:o1") nor as a repeat ("T::|").
_TITLE = r"""(?:[A-Za-z0-9"'(](?:[A-Za-z0-9 !"&'(),.;?-][A-Za-z0-9 !"&'(),.:;?-]*)?)?"""
# What each field's value can look like while it is being written; a whole value is checked at its newline.
_MODE_PREFIXES = {mode[:i] for mode in WRITTEN_MODES for i in range(len(mode) + 1)}
HEADER_VALUES = {
    "X": re.compile(r"(?:[1-9]\d{0,4})?"),  # abc2midi: "Missing Number" after X: (X:M:...)
    "T": re.compile(_TITLE),
    "R": re.compile(r"(?:[A-Za-z][A-Za-z -]{0,29})?"),
    "M": re.compile(r"C\|?|(?:[1-9]|1[0-6]?)(?:/(?:1|16?|2|4|8)?)?"),
    "L": re.compile(r"1(?:/(?:4|8|1|16|3|32)?)?"),
    "K": re.compile(rf"[A-G](?:[#b]?(?:{'|'.join(_MODE_PREFIXES)}))?"),
}
MAX_INNER_NOTES = 6  # notes in one chord or one group of grace notes
# Octave marks a note may carry: up to b' (MIDI 95) and down to C,, (36). The books' tunes lie
# within G, (55) and a' (93); a fiddle's e'' or a C,,, is what an untrained model writes, not a tune.
MAX_OCTAVE_MARKS = {"'": 1, ",": 2}
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
    numerator + suffix: Rational(note_length(numerator + suffix))
    for numerator in ["", *map(str, range(1, 17))]
    for suffix in ["", "/", "//", "///", "/2", "/4", "/8"]
}
# Every prefix of a length is a length itself; what each can still become:
COMPLETIONS: dict[str, frozenset[Rational]] = {
    prefix: frozenset(value for text, value in LENGTHS.items() if text.startswith(prefix)) for prefix in LENGTHS
}
SHORTEST_COMPLETION = {prefix: min(values) for prefix, values in COMPLETIONS.items()}
SHORTEST = Rational(1, 8)  # what "/8" or "///" make of a length: every length is a multiple of it
# A tune's short last bar lasts a whole number of quavers, or of beats in other metres (5/4, 7/4 ...):
# abc2midi's chords sound on past the end of any other ("Sustained notes beyond end of track").
LAST_BAR_GRID = Rational(1, 8)
QUAVER_ENDINGS = frozenset({"C", "C|", "2/2", "3/2", "2/4", "3/4", "4/4", "6/4", "3/8", "5/8", "6/8", "7/8", "9/8",
                            "12/8"})  # the metres where abc2midi was seen to end well on any quaver
