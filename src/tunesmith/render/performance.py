"""How a tune is played when it is rendered: the instrument's General MIDI program, the tempo of
its dance type, and the accompaniment that plays its chord symbols.

    midi_program("whistle") -> 78
    tempo_field({"R": "jig", "M": "6/8"}, None) -> "Q:3/8=112"
    accompaniment("guitar") -> ["%%MIDI chordprog 24", "%%MIDI bassprog 24", ...]
"""

from __future__ import annotations

import re
from fractions import Fraction

from tunesmith.abc.instruments import INSTRUMENTS
from tunesmith.abc.instruments import instrument as find_instrument
from tunesmith.abc.text import LAB_RHYTHM_ID, canonical_rhythm

# General MIDI programs (0-based, as %%MIDI program wants them) of what is not in the instrument
# table (tunesmith.abc.instruments, which has the programs of the instruments tunes are played on).
OTHER_PROGRAMS = {
    "harpsichord": 6, "harmonica": 22, "guitar": 24, "nylon guitar": 24, "steel guitar": 25, "cello": 42,
    "harp": 46, "recorder": 74, "bagpipe": 109, "bouzouki": 25,
}
# The accompaniment that plays a tune's chord symbols, as a second part: its loudness of 127, under
# the melody (abc2midi's own default is 64).
ACCOMPANIMENT_VOLUME = 60
# Session tempos in beats per minute, the beat as beat_of() gives it: a minim in
# C, C|, 4/4 and 2/2, a dotted crotchet in 6/8, 9/8 and 12/8, else 1/denominator.
DEFAULT_TEMPO = {
    "reel": 104, "hornpipe": 80, "jig": 112, "slip jig": 112, "slide": 132,
    "polka": 132, "waltz": 140, "mazurka": 132, "barndance": 84, "set dance": 76,
    "setdance": 76, "march": 104, "strathspey": 64, "ocarolan": 96, "air": 60,
}
FALLBACK_TEMPO = 100


def midi_program(instrument: str) -> int:
    """General MIDI program for an instrument name or number. Example: "tin whistle" -> 78."""
    name = " ".join(str(instrument).lower().replace("_", " ").replace("-", " ").split())
    if name.isdigit() and 0 <= int(name) <= 127:
        return int(name)
    if name in OTHER_PROGRAMS:
        return OTHER_PROGRAMS[name]
    try:
        return find_instrument(name).program
    except ValueError:
        names = ", ".join([*INSTRUMENTS, *OTHER_PROGRAMS])
        raise ValueError(f"unknown instrument {instrument!r}: choose from {names} or 0-127") from None


def accompaniment(instrument: str) -> list[str]:
    """abc2midi directives that play chord symbols on an instrument, chords and bass alike, quieter than
    the tune. abc2midi's own pattern per metre is the vamp a backer plays (fzczfzcz in 4/4: bass,
    rest, chord, rest; fzcfzc in 6/8), so no gchord pattern is written. Example: ("guitar") -> [...]."""
    program = midi_program(instrument)
    return [f"%%MIDI chordprog {program}", f"%%MIDI bassprog {program}",
            f"%%MIDI chordvol {ACCOMPANIMENT_VOLUME}", f"%%MIDI bassvol {ACCOMPANIMENT_VOLUME}"]


def beat_of(meter: str) -> Fraction:
    """The beat a tempo counts. Example: "6/8" -> 3/8, "C|" -> 1/2, "3/4" -> 1/4."""
    meter = {"C": "4/4", "C|": "2/2"}.get(meter.strip(), meter.strip())
    match = re.match(r"^\(?([\d+]+)\)?/(\d+)$", meter)
    if not match or int(match.group(2)) == 0:
        return Fraction(1, 4)
    top = sum(int(part) for part in match.group(1).split("+") if part)
    bottom = int(match.group(2))
    if top % 3 == 0 and top > 3:
        return Fraction(3, bottom)  # compound time: 6/8 is felt in two
    if (top, bottom) in ((4, 4), (2, 2)):
        return Fraction(1, 2)  # reels and hornpipes are felt in two as well
    return Fraction(1, bottom)


def rhythm_of(fields: dict[str, str]) -> str:
    """The tune's rhythm from R:, else from the lab's Z: ids. Example: {"R": "Slip Jig"} -> "slip jig"."""
    if fields.get("R"):
        return canonical_rhythm(fields["R"])
    match = LAB_RHYTHM_ID.search(fields.get("Z", ""))
    return canonical_rhythm(match.group(1)) if match else ""


def tempo_field(fields: dict[str, str], tempo: int | None) -> str | None:
    """The Q: field to play at, or None to keep the tune's own.

    Example: tempo_field({"M": "6/8", "R": "jig"}, None) -> "Q:3/8=112"
    """
    if tempo is None and fields.get("Q"):
        return None
    if tempo is not None and not 0 < tempo <= 1000:
        raise ValueError(f"tempo {tempo} is not a number of beats per minute")
    bpm = tempo or DEFAULT_TEMPO.get(rhythm_of(fields), FALLBACK_TEMPO)
    return f"Q:{beat_of(fields.get('M', ''))}={bpm}"
