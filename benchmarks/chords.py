"""How close are Tunesmith's accompaniment chords to a human's? Real tunes that carry chords, their
chords taken off, chords put back by `tunesmith.abc.chords.harmonize`, compared slot by slot.

    python -m benchmarks.chords                          # the chorded tunes music21 ships (10)
    python -m benchmarks.chords --data DIR               # every .abc under DIR, e.g. the Nottingham
                                                         # Music Database (github.com/jukedeck/nottingham-dataset,
                                                         # ABC_cleaned/), read where it lies, never copied

At each place Tunesmith strikes a chord (the first note of each half bar or bar), three figures:
- agreement: the chord equals the human chord in force there, root and triad quality (D7 = D);
- chord tones: the melody note struck there is a tone of the chord;
and the same figures for two baselines: the tonic chord everywhere, and the best single chord per
bar by note count (of the key's palette, the chord whose tones cover most of the bar's notes).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from fractions import Fraction
from pathlib import Path

from tunesmith.abc.chords import harmonize, is_chord_symbol, vocabulary
from tunesmith.abc.reader import Reader
from tunesmith.abc.text import FIELD_LINE, header_and_body, parse_fields, split_tunebook
from tunesmith.abc.theory import chord_tones

MUSIC21_CHORDED = ("miscFolk/americanfifeopus.abc", "miscFolk/northumbrianminstrelsyopus.abc",
                   "nottingham-dataset/reelsa-c.abc")


class _Timeline(Reader):
    """The project's Reader, also noting when each chord symbol comes and when each note starts."""

    def __init__(self, fields: dict[str, str]):
        super().__init__(fields)
        self.chords: list[tuple[Fraction, str]] = []
        self.onsets: list[tuple[Fraction, int, int]] = []  # (time, bar, pitch) of each note or chord

    def now(self) -> Fraction:
        done = sum((bar.duration for bar in self.bars), Fraction(0))
        return done + self.bar.duration

    def read_token(self, token: re.Match[str]) -> None:
        if token.lastgroup == "text" and is_chord_symbol(token.group()):
            # "(D7)" is an alternative chord: the one in brackets counts; a bass after "/" does not
            self.chords.append((self.now(), token.group()[1:-1].strip("()").split("/")[0]))
        super().read_token(token)

    def add(self, pitch: int | None, duration: Fraction) -> None:
        start = self.now()
        super().add(pitch, duration)
        if pitch is not None:
            self.onsets.append((start, len(self.bars), pitch))


def timeline(text: str) -> _Timeline:
    header, body = header_and_body(text)
    reader = _Timeline(parse_fields(text))
    for line in body:
        match = FIELD_LINE.match(line)
        if match and not match.group(2).startswith(("|", ":")):
            reader.set_field(match.group(1), match.group(2))
        else:
            reader.read_line(line)
    return reader


def _in_force(chords: list[tuple[Fraction, str]], time: Fraction) -> str | None:
    current = None
    for at, symbol in chords:
        if at > time:
            break
        current = symbol
    return current


def _triad(symbol: str) -> tuple[int, frozenset[int]]:
    """Root and triad of a symbol (sevenths and extensions dropped): how two chords are compared."""
    tones = chord_tones(symbol)
    root = next(iter(chord_tones(re.match(r"[A-G][#b]?", symbol).group())))  # a bare root is a major triad
    third = 3 if (root + 3) % 12 in tones and (root + 4) % 12 not in tones else 4
    return root, frozenset({root, (root + third) % 12, (root + 7) % 12})


def _best_per_bar(onsets: list[tuple[Fraction, int, int]], palette: list) -> dict[int, str]:
    """The palette chord whose tones hold most of each bar's notes (the first of equals: the commoner)."""
    by_bar: dict[int, Counter] = {}
    for _, bar, pitch in onsets:
        by_bar.setdefault(bar, Counter())[pitch % 12] += 1
    return {bar: max(palette, key=lambda c: sum(n for pc, n in counts.items() if pc in c.tones)).symbol
            for bar, counts in by_bar.items()}


def compare_tune(text: str) -> Counter | None:
    """Counts for one chorded tune, or None when it has no chords or cannot be read."""
    human = timeline(text)
    if len(human.chords) < 2:
        return None
    try:
        ours = timeline(harmonize(text))
        palette = vocabulary(parse_fields(text)["K"])
    except (ValueError, KeyError):
        return None
    tonic, best = palette[0].tones, _best_per_bar(ours.onsets, palette)
    struck = {time: (bar, pitch) for time, bar, pitch in ours.onsets}
    counts = Counter()
    for time, symbol in ours.chords:
        theirs = _in_force(human.chords, time)
        if theirs is None or time not in struck:
            continue
        bar, pitch = struck[time]
        counts["slots"] += 1
        counts["agree"] += _triad(symbol) == _triad(theirs)
        counts["tonic agrees"] += _triad(palette[0].symbol) == _triad(theirs)
        counts["best-bar agrees"] += _triad(best[bar]) == _triad(theirs)
        counts["ours chord tone"] += pitch % 12 in chord_tones(symbol)
        counts["human chord tone"] += pitch % 12 in chord_tones(theirs)
        counts["tonic chord tone"] += pitch % 12 in tonic
        counts["best-bar chord tone"] += pitch % 12 in chord_tones(best[bar])
    return counts


def books(data: str | None) -> list[Path]:
    if data:
        return sorted(Path(data).rglob("*.abc"))
    import music21

    root = Path(music21.__file__).parent / "corpus"
    return [root / name for name in MUSIC21_CHORDED if (root / name).exists()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a folder of chorded .abc tune books (default: music21's chorded tunes)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    total, tunes = Counter(), 0
    for path in books(args.data):
        for _, text in split_tunebook(path.read_text(encoding="utf-8", errors="replace")):
            counts = compare_tune(text)
            if counts:
                total += counts
                tunes += 1
    slots = total["slots"] or 1
    figures = {"tunes": tunes, "slots": total["slots"], "source": args.data or "music21 " + ", ".join(MUSIC21_CHORDED)}
    for name in ("agree", "tonic agrees", "best-bar agrees", "ours chord tone", "human chord tone",
                 "tonic chord tone", "best-bar chord tone"):
        figures[name] = round(total[name] / slots, 3)
    print(json.dumps(figures, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
