"""What a player's instrument can play: its range, the keys players use on it, the notes that come
easily, and the transposition that makes a tune fit it.

    instrument("Tin-Whistle").name -> "whistle"
    transpose_for("X:1\\nK:Eb\\n|EFGA Bcde|", instrument("whistle")) -> ("X:1\\nK:D\\n|DEFG ABcd|", -1)
    transpose_to("X:1\\nK:D\\n|DEFG ABcd|", "G") -> "X:1\\nK:G\\n|GABc defg|"

Pitches are MIDI numbers as ABC writes them: C = 60, c = 72, G, = 55. Tune books write the tenor
banjo an octave above its sound, so its range here is the written one (see `sounds`).

The figures are well-known ones, not measurements made for this project: violin-family open strings
and positions, D whistle and uilleann chanter fingering charts (bottom D, two octaves, C natural by
cross-fingering or half-holing), the 30-button Wheatstone C/G Anglo layout (C3..B6 in all, as laid
out button by button in mccalluc/concertina-helper's layouts/30_wheatstone_cg.yaml), and the usual
compass of a B/C box and a piano. Where a limit is a working range chosen by this project rather
than the instrument's last note, the comment beside it says so.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from tunesmith.abc.reader import read_tune
from tunesmith.abc.theory import canonical_key, key_signature, scale
from tunesmith.abc.theory import parse_key as read_key  # theory's reading: None for what is no key
from tunesmith.abc.transpose import SANE_RANGE, SHIFTS, Key, parse_key, transpose_key, transpose_tune, tune_pitches

CHROMATIC = frozenset(range(12))
# Every key once (SHIFTS) in three octaves: a tune written an octave too low for a whistle moves up 12.
CANDIDATE_SHIFTS = tuple(sorted({shift + octave for shift in SHIFTS for octave in (-12, 0, 12)}))
MODE_NAMES = {"": "major", "m": "minor", "dor": "Dorian", "mix": "Mixolydian", "phr": "Phrygian",
              "lyd": "Lydian", "loc": "Locrian"}  # how a message names a canonical mode


def _home_scale(key: str, *extra: int) -> frozenset[int]:
    """The pitch classes of a key's scale, plus extra ones. Example: ("D", 0) -> D major and C natural."""
    signature = key_signature(key)
    if signature is None:
        raise ValueError(f"{key!r} is no key")
    return scale(signature) | frozenset(extra)


@dataclass(frozen=True)
class Instrument:
    """An instrument as a tune sees it. Example: Instrument("whistle", 62, 86, ("D", "G"), 78).

    `easy_pitch_classes` are the notes that come easily (all twelve for a chromatic instrument);
    `sounds` is how far the instrument sounds from the written pitch (-12: an octave below)."""

    name: str
    low: int
    high: int
    keys: tuple[str, ...]  # canonical keys, most common first; () means any key suits
    program: int  # General MIDI program, 0-based
    aliases: tuple[str, ...] = ()
    easy_pitch_classes: frozenset[int] = CHROMATIC
    sounds: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.low < self.high <= 127:
            raise ValueError(f"{self.name}: range {self.low}..{self.high} is not a range of MIDI notes")
        if not 0 <= self.program <= 127:
            raise ValueError(f"{self.name}: General MIDI programs are 0..127, not {self.program}")
        if not self.easy_pitch_classes <= CHROMATIC:
            raise ValueError(f"{self.name}: pitch classes are 0..11")

    @property
    def chromatic(self) -> bool:
        """Whether every semitone comes easily. Example: instrument("fiddle").chromatic -> True."""
        return self.easy_pitch_classes == CHROMATIC

    def plays(self, pitch: int) -> bool:
        """Whether a MIDI pitch lies in the range. Example: instrument("whistle").plays(61) -> False."""
        return self.low <= pitch <= self.high


# The D whistle and the uilleann chanter: the D major scale, plus C natural by cross-fingering
# (OXX OOO on the whistle) or half-holing; F natural, G sharp and the rest need half-holes: awkward.
D_PLUS_C_NATURAL = _home_scale("D", 0)

_TABLE = (
    # Violin tuning G3 D4 A4 E5. First position tops out at B5 (83); 88 (E6) is third position with
    # the fourth finger extended, as high as folk settings usually go. GM also has "Fiddle" (110) among
    # its ethnic sounds; 40 Violin is the one soundfonts sample well.
    # E, C and F are Scottish and Cape Breton keys more than Irish ones.
    Instrument("fiddle", 55, 88, ("D", "G", "A", "Em", "Bm", "Ador", "Edor", "Amix", "Dmix", "E", "C", "F"), 40,
               ("violin",)),
    # A D whistle: bottom D (62) to the second octave's top d' (86); the third octave is shrill and
    # left out of tune books. GM 78 is Whistle.
    Instrument("whistle", 62, 86, ("D", "G", "Em", "Ador", "Bm", "Edor", "Dmix", "Amix"), 78,
               ("tin whistle", "d whistle", "penny whistle", "feadog"), D_PLUS_C_NATURAL),
    # A concert flute reaches C4 (B3 with a B foot) to C7; a wooden Irish flute's bottom is D4, and
    # trad players seldom climb past A6 (93). Chromatic: a keyed wooden flute or a Boehm flute plays
    # every semitone (a keyless flute half-holes like a whistle: pick "whistle" limits for that).
    Instrument("flute", 62, 93, ("D", "G", "Em", "Ador", "Bm", "Edor", "A", "Dmix", "Amix"), 73,
               ("wooden flute", "irish flute", "concert flute", "simple system flute")),
    # A 30-button C/G Anglo has C3..B6, but below G3 only C3 E3 F3 (bass and chord buttons), and
    # the scale thins out above A6: G3..A6 is this project's melody range. Its third row gives every
    # semitone, some in one bellows direction only: counted as chromatic. GM has no concertina;
    # 22 Harmonica, another free reed, is the usual stand-in.
    Instrument("concertina", 55, 93, ("G", "C", "D", "Em", "Am", "Ador", "Dmix"), 22,
               ("anglo", "anglo concertina", "c/g concertina", "c/g anglo")),
    # A two-row B/C box is fully chromatic; about E3 to C7, varying with maker and button count.
    # GM 21 is Accordion.
    Instrument("accordion", 52, 96, ("D", "G", "A", "E", "Bm", "Em", "Ador", "Edor"), 21,
               ("button accordion", "box", "b/c box", "b/c accordion")),
    # Tuned like the fiddle (G3 D4 A4 E5); 88 is E6, the top string's 12th fret, where the neck meets
    # the body on most mandolins. GM has no mandolin: 25 (steel-string guitar, picked steel strings)
    # rather than 105, which the banjo has, so the two stay apart when played together.
    Instrument("mandolin", 55, 88, ("D", "G", "A", "Em", "Bm", "Ador", "Edor", "Amix", "Dmix"), 25,
               ("mando",)),
    # Irish tenor banjo, GDAE an octave below the fiddle: it sounds G2 (43) to about E5, and tune books
    # write it an octave up, like fiddle music, so low/high are the written 55..88 (the neck goes on to
    # the 17th or 19th fret; 88 is this project's working top, the 12th fret). GM 105 is Banjo.
    Instrument("banjo", 55, 88, ("D", "G", "A", "Em", "Bm", "Ador", "Edor", "Amix", "Dmix"), 105,
               ("tenor banjo", "irish banjo", "irish tenor banjo"), sounds=-12),
    # The uilleann chanter: two octaves, bottom D (62) to back D (86). A keyed chanter adds semitones;
    # an unkeyed one has D major and C natural (cross-fingered). GM 109 is Bag pipe.
    Instrument("pipes", 62, 86, ("D", "G", "Em", "Bm", "Ador", "Edor", "Dmix"), 109,
               ("uilleann pipes", "uillean pipes", "union pipes", "irish pipes"), D_PLUS_C_NATURAL),
    # The 88 keys, A0..C8; any key suits, so keys is empty and nothing moves to reach one.
    Instrument("piano", 21, 108, (), 0, ("keyboard", "grand piano")),
)
INSTRUMENTS: dict[str, Instrument] = {inst.name: inst for inst in _TABLE}


def _normal(name: str) -> str:
    """A name as looked up: no case, accents, spaces, hyphens or slashes. Example: "Feadóg" -> "feadog"."""
    letters = unicodedata.normalize("NFKD", name.casefold())
    return re.sub(r"[\s_/.-]+", "", "".join(ch for ch in letters if not unicodedata.combining(ch)))


def _alias_index(instruments: dict[str, Instrument]) -> dict[str, Instrument]:
    """Every name and alias, normalised, to its instrument; two instruments may not share a name."""
    index: dict[str, Instrument] = {}
    for inst in instruments.values():
        for alias in (inst.name, *inst.aliases):
            other = index.setdefault(_normal(alias), inst)
            if other is not inst:
                raise ValueError(f"{alias!r} names both {other.name} and {inst.name}")
    return index


_BY_ALIAS = _alias_index(INSTRUMENTS)


def instrument(name: str) -> Instrument:
    """The instrument a name or alias means. Example: instrument("Uilleann-Pipes").name -> "pipes"."""
    found = _BY_ALIAS.get(_normal(name))
    if found is None:
        raise ValueError(f"unknown instrument {name!r}: choose from {', '.join(INSTRUMENTS)}")
    return found


def _session_keys() -> tuple[str, ...]:
    """The keys of every instrument in the table, each once, in the table's order (fiddle first)."""
    return tuple(dict.fromkeys(key for inst in INSTRUMENTS.values() for key in inst.keys))


def keys_for(inst: Instrument) -> tuple[str, ...]:
    """Keys to draw a tune in for an instrument, most common first; for one that takes any key
    (piano), the session keys of the other instruments. Example: keys_for(instrument("pipes"))[0] -> "D"."""
    return inst.keys or _session_keys()


def suits(key: str, inst: Instrument) -> bool:
    """Whether players commonly use a key on the instrument (any key suits a piano).

    Example: suits("E minor", instrument("whistle")) -> True."""
    if not inst.keys:
        return read_key(key) is not None
    return canonical_key(key) in inst.keys


def _pitches(text: str) -> list[int]:
    """The tune's notes as transposition reads them (grace and chord notes too: the player reaches
    those as well), so a count here on best_shift's output is the count it chose by; a tune that
    transposition cannot read (K:none, K:HP) is read by the reader instead."""
    try:
        return tune_pitches(text)
    except ValueError:
        return read_tune(text).pitches


def out_of_range(text: str, inst: Instrument) -> list[int]:
    """The tune's pitches outside the instrument's range, in tune order.

    Example: out_of_range("X:1\\nK:D\\n|A,DFA d'e'|", instrument("whistle")) -> [57, 88]."""
    return [pitch for pitch in _pitches(text) if not inst.plays(pitch)]


def awkward_notes(text: str, inst: Instrument) -> int:
    """How many of the tune's notes are not easy on the instrument (0 on a chromatic one).

    Example: awkward_notes("X:1\\nK:D\\n|DEFG =F^G|", instrument("whistle")) -> 2."""
    return sum(pitch % 12 not in inst.easy_pitch_classes for pitch in _pitches(text))


def _score(pitches: list[int], inst: Instrument, key: str, shift: int) -> tuple[int, int, bool, int]:
    """How well a shift fits, smaller better: notes out of range, awkward notes, whether the new key
    is foreign to the instrument, then the size of the move (a small move keeps the tune's character)."""
    moved = [pitch + shift for pitch in pitches]
    outside = sum(not inst.plays(pitch) for pitch in moved)
    awkward = sum(pitch % 12 not in inst.easy_pitch_classes for pitch in moved)
    return outside, awkward, not suits(key, inst), abs(shift)


def _main_key(text: str) -> Key:
    """The key of the tune's first K: line, as transposition reads it; ValueError without one."""
    line = next((line for line in text.split("\n") if line.startswith("K:")), None)
    if line is None:
        raise ValueError("no K: field, so no key to transpose from")
    return parse_key(line[2:])


def _fit(text: str, inst: Instrument) -> tuple[str, int]:
    """The tune moved by the best-scoring shift, and the shift."""
    try:
        pitches, key = tune_pitches(text), _main_key(text)
    except ValueError as error:
        raise ValueError(f"cannot transpose this tune for the {inst.name}: {error}") from error
    # min() keeps the first of equals, and the shifts are in order: -6 wins over +6.
    shift = min(CANDIDATE_SHIFTS, key=lambda s: _score(pitches, inst, transpose_key(key, s).name, s))
    return (text if shift == 0 else transpose_tune(text, shift)), shift


def best_shift(text: str, inst: Instrument) -> int:
    """Semitones that make the tune fit the instrument best (0 when it fits as it is).

    Example: best_shift("X:1\\nK:D\\n|D,F,A,D|", instrument("whistle")) -> 12. ValueError for a tune
    transposition cannot move (K:none, K:HP, no K:)."""
    return _fit(text, inst)[1]


def transpose_for(text: str, inst: Instrument) -> tuple[str, int]:
    """The tune moved by best_shift (the text itself when that is 0), and the shift.

    Example: transpose_for("X:1\\nK:Eb\\n|EFGA|", instrument("whistle")) -> ("X:1\\nK:D\\n|DEFG|", -1)."""
    return _fit(text, inst)


def _tonic_pitch_class(key: Key) -> int:
    return key.tonic * 7 % 12  # a fifth is 7 semitones: C 0, G 7, F 5, Bb 10


def _outside_sane(pitches: list[int], shift: int) -> int:
    low, high = SANE_RANGE
    return sum(not low <= pitch + shift <= high for pitch in pitches)


def transpose_to(text: str, key: str) -> str:
    """The tune in another key of the same mode, its tonic moved the shortest way (-5..+6) unless
    an octave more or less keeps more notes in transpose.SANE_RANGE. The new key is spelt as
    transposition spells keys (C# comes back as Db).

    Example: transpose_to("X:1\\nK:D\\n|DEFG|", "G") -> "X:1\\nK:G\\n|GABc|". ValueError when the mode differs."""
    target, current = parse_key(key), _main_key(text)
    if target.mode != current.mode:
        raise ValueError(f"the tune is in {current.name} ({MODE_NAMES[current.mode]}); {target.name} is "
                         f"{MODE_NAMES[target.mode]}: give a key in the same mode, e.g. "
                         f"{Key(target.tonic, current.mode).name}")
    shift = (_tonic_pitch_class(target) - _tonic_pitch_class(current)) % 12
    shift -= 12 if shift > 6 else 0
    pitches = tune_pitches(text)
    # min() keeps the first of equals: the shortest move unless an octave off fits the sane range better.
    shift = min((shift, shift - 12, shift + 12), key=lambda s: _outside_sane(pitches, s))
    return text if shift == 0 else transpose_tune(text, shift)
