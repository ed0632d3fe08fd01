"""Keys, modes, accidentals and chord symbols: one table of each and one reading of a K: value.

Everything in Tunesmith that needs a key or a chord's notes asks here: the checker (what a note
sounds like under the signature), the constraint (what a cadence degree is, what a K: line may
say), transposition (the circle of fifths), normalisation (the one way a key is written), the
web page's form, and the accompaniment (the notes of a chord symbol).

    key_signature("D")  -> {"F": 1, "C": 1, "G": 0, ...}
    canonical_key("A Dorian") -> "Ador"
    parse_key("Bbmix") -> KeySpec(letter="B", accidental="b", mode="mix", rest="")
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LETTERS = "CDEFGAB"
SEMITONE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
ALTER = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}  # an accidental's written form -> semitones
ALTER_TEXT = {value: text for text, value in ALTER.items()}
ROOT_ALTER = {"#": 1, "b": -1, "": 0}  # a root's accidental as keys and chord symbols write it ("F#", "Bb")
ROOT_ALTER_TEXT = {value: text for text, value in ROOT_ALTER.items()}
FIFTHS = "FCGDAEB"  # the order sharps are added in; flats come in the reverse order
TONIC_FIFTHS = {letter: FIFTHS.index(letter) - 1 for letter in LETTERS}  # C 0, G 1, F -1, B 5
# A mode's canonical suffix and how many fifths its signature lies from the major key on the tonic.
MODE_FIFTHS = {"": 0, "m": -3, "dor": -2, "mix": -1, "phr": -4, "lyd": 1, "loc": -5}
# ABC 2.1: a mode is known by its first three letters, in any case ("Dorian", "DOR"); "m" is minor.
MODE_WORDS = {"": "", "maj": "", "ion": "", "m": "m", "min": "m", "aeo": "m", "dor": "dor",
              "mix": "mix", "phr": "phr", "lyd": "lyd", "loc": "loc"}
# The mode words written out in full that normalisation rewrites ("Dorian" -> "dor"); other spellings stay.
MODE_NAMES = frozenset({*MODE_WORDS, "major", "minor", "ionian", "aeolian", "dorian", "mixolydian", "phrygian",
                        "lydian", "locrian"})
MINOR_MODES = frozenset({"m", "dor", "phr", "loc"})  # canonical modes with a minor third above the tonic
# The mode words a generated K: line may use (what the models were trained on, and abc2midi reads).
WRITTEN_MODES = ("m", "min", "maj", "ion", "mix", "dor", "phr", "lyd", "loc", "aeo")
KEY = re.compile(r"^\s*([A-Ga-g])([#b]?)\s*([A-Za-z]*)\s*(.*?)\s*$")
KEY_ACCIDENTAL = re.compile(r"(\^{1,2}|_{1,2}|=)([A-Ga-g])")
# A key as a person types it into the web page's form: a root, then a mode word (written out or not).
KEY_FIELD_PATTERN = (r"^[A-Ga-g][#b]? ?(?i:major|maj|ionian|ion|minor|min|m|aeolian|aeo|dorian|dor|"
                     r"mixolydian|mix|phrygian|phr|lydian|lyd|locrian|loc)?$")


@dataclass(frozen=True)
class KeySpec:
    """A K: value read: the tonic letter (upper case), its accidental, the canonical mode, and what
    follows (explicit accidentals, a clef), "" when nothing does."""

    letter: str
    accidental: str
    mode: str
    rest: str = ""
    word: str = ""  # the mode as written ("Dorian")

    @property
    def name(self) -> str:
        return self.letter + self.accidental + self.mode


def mode_of(word: str) -> str | None:
    """The canonical mode a mode word names, None when it names none. Example: "Dorian" -> "dor".

    As abc2midi reads it, any other word that starts with m is minor ("mi", "moll")."""
    word = word.lower()
    mode = MODE_WORDS.get(word if len(word) <= 1 else word[:3])
    return "m" if mode is None and word.startswith("m") else mode


def parse_key(value: str) -> KeySpec | None:
    """Read a K: value; None when it names no key (K:none, K:HP, K:clef=bass, a misspelt mode)."""
    match = KEY.match(value)
    if not match:
        return None
    letter, accidental, word, rest = match.groups()
    mode = mode_of(word)
    if mode is None:  # "K:G clef=bass": no mode word but a clef, read as G major
        mode, rest, word = "", f"{word}{rest}", ""
    return KeySpec(letter.upper(), accidental, mode, rest, word)


def canonical_key(value: str) -> str:
    """Write a key the one way Tunesmith trains on; keys with clefs or explicit accidentals, and what
    is no key, come back as they were (stripped).

    Example: "D Major" -> "D", "A Dorian" -> "Ador", "e minor" -> "Em", "Bb" -> "Bb".
    """
    spec = parse_key(value)
    whole = spec is not None and not spec.rest and spec.word.lower() in MODE_NAMES
    return spec.name if whole else value.strip()


def is_written_key(value: str) -> bool:
    """Whether a K: value is written as generated tunes write it: "G", "F#m", "Ador" (no spaces, no clef)."""
    spec = parse_key(value)
    return (spec is not None and not spec.rest and value[:1] == spec.letter
            and value[1 + len(spec.accidental):] in ("", *WRITTEN_MODES))


def key_fifths(spec: KeySpec) -> int:
    """The signature on the circle of fifths: sharps if positive, flats if negative. Example: Ador -> 0."""
    return TONIC_FIFTHS[spec.letter] + {"#": 7, "b": -7, "": 0}[spec.accidental] + MODE_FIFTHS[spec.mode]


def signature_of(fifths: int) -> dict[str, int]:
    """The alteration of each letter under a signature of `fifths` sharps (negative: flats)."""
    signature = {letter: 0 for letter in LETTERS}
    for letter in FIFTHS[: max(fifths, 0)]:
        signature[letter] = 1
    for letter in FIFTHS[::-1][: max(-fifths, 0)]:
        signature[letter] = -1
    return signature


def key_signature(value: str) -> dict[str, int] | None:
    """Alteration of each letter under a K: value, None if it names no key.

    Example: "D" -> {"F": 1, "C": 1, ...others 0}, "Ador" -> all 0, "Gm" -> B and E flat.
    """
    value = value.strip()
    if value.startswith(("HP", "Hp")):  # Highland pipes: HP no signature, Hp F# C#
        return signature_of(2 if value.startswith("Hp") else 0)
    spec = parse_key(value)
    if spec is None:
        return None
    signature = signature_of(key_fifths(spec))
    for sign, letter in KEY_ACCIDENTAL.findall(spec.rest):  # explicit accidentals: K:D =c
        signature[letter.upper()] = ALTER[sign]
    return signature


def scale(signature: dict[str, int]) -> frozenset[int]:
    """The pitch classes of a signature's scale."""
    return frozenset((SEMITONE[letter] + alter) % 12 for letter, alter in signature.items())


def key_centre(value: str) -> tuple[int, str] | None:
    """The tonic's pitch class and the mode's quality ("major" or "minor"), None without a key."""
    spec = parse_key(value)
    if spec is None:
        return None
    tonic = (SEMITONE[spec.letter] + ROOT_ALTER[spec.accidental]) % 12
    return tonic, "minor" if spec.mode in MINOR_MODES else "major"


def degree_letter(key: str, degree: int) -> str:
    """The letter of a scale degree (1 = the tonic) in a key. Example: ("D", 5) -> "A"."""
    return LETTERS[(LETTERS.index(key[0].upper()) + degree - 1) % 7]


# ---------------------------------------------------------------- chord symbols

# A guitar chord symbol as tune books write it, quoted: root, quality, and a bass after "/".
CHORD = re.compile(r'^"([A-G])([#b]?)((?:maj|min|dim|aug|sus|add|m|M|\+|o|[0-9]|\(|\)|[#b])*)(?:/([A-G])([#b]?))?"$')
# Chord qualities as symbols write them, longest first: the word and the triad's semitones above the root.
TRIADS = (("maj", (0, 4, 7)), ("min", (0, 3, 7)), ("dim", (0, 3, 6)), ("aug", (0, 4, 8)), ("sus2", (0, 2, 7)),
          ("sus4", (0, 5, 7)), ("sus", (0, 5, 7)), ("m", (0, 3, 7)), ("M", (0, 4, 7)), ("+", (0, 4, 8)),
          ("o", (0, 3, 6)))
SEVENTHS = {"maj": 11, "M": 11, "dim": 9, "o": 9}  # maj7 a major seventh, dim7 a diminished one, else minor


def chord_tones(symbol: str) -> frozenset[int]:
    """The pitch classes (C = 0) of a chord symbol, quoted or not, its bass included.

    Example: "Am/C" -> {9, 0, 4}, "F#m" -> {6, 9, 1}, "A7" -> {9, 1, 4, 7}. Raises ValueError for other text.
    """
    quoted = symbol if symbol.startswith('"') else f'"{symbol}"'
    match = CHORD.match(quoted)
    if not match:
        raise ValueError(f"not a chord symbol: {symbol!r}")
    root, accidental, quality, bass, bass_accidental = match.groups()
    pitch = SEMITONE[root] + ROOT_ALTER[accidental]
    tones = {(pitch + step) % 12 for step in _quality_steps(quality)}
    if bass:
        tones.add((SEMITONE[bass] + ROOT_ALTER[bass_accidental]) % 12)
    return frozenset(tones)


def _quality_steps(quality: str) -> set[int]:
    """Semitones above the root of a quality. Example: "m" -> {0, 3, 7}, "maj7" -> {0, 4, 7, 11}."""
    word, triad = next(((w, t) for w, t in TRIADS if quality.startswith(w)), ("", (0, 4, 7)))
    rest, steps = quality[len(word):], set(triad)
    if rest.startswith("7"):
        steps.add(SEVENTHS.get(word, 10))
    elif rest.startswith("6"):
        steps.add(9)
    elif rest.startswith("9"):
        steps |= {10, 2}
    if "b5" in rest:  # m7b5, the half-diminished chord
        steps = (steps - {7}) | {6}
    return steps
