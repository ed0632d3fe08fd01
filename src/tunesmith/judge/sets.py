"""Sets of tunes: three reels (or jigs, ...) to play one after another, as sessions do.

A set keeps one type and one metre, and moves between keys the way players move: to the key a
fourth or a fifth away, or stays (D -> G -> A, never D -> Eb). Each next key is drawn among those
in the proportions the model's tune books have them for that type (tunesmith.data.forms), and
each tune is the critic's best of its candidates (tunesmith.judge.critic), written again with the
next seed when it shares SHARED_BARS or more bars with a tune already in the set.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tunesmith.abc.text import canonical_key, canonical_rhythm, parse_fields
from tunesmith.abc.theory import key_centre
from tunesmith.data.forms import draw_request
from tunesmith.judge.critic import COPIED_BARS, Critique, best_of
from tunesmith.judge.quality import NoveltyIndex
from tunesmith.sample.sampling import Sample, SamplingSettings, fresh_seed
from tunesmith.store.checkpoint import TrainedModel

SET_STEPS = (0, 5, 7)  # semitones up from one tune's tonic to the next: the same key, a fourth, a fifth
SAME_KEY_WEIGHT = 0.5  # a set moves more often than it stays
SHARED_BARS = COPIED_BARS
MAX_TRIES = 3  # times a tune is written again when it shares bars with the set


@dataclass(frozen=True)
class TuneSet:
    tunes: tuple[Sample, ...]
    critiques: tuple[Critique, ...]
    keys: tuple[str, ...]
    rhythm: str
    meter: str
    seed: int

    def notes(self, index: int) -> list[str]:
        """N: lines of one tune: its place in the set and the keys the set moves through."""
        return [f"tune {index + 1} of a set of {len(self.tunes)} {self.rhythm}s: {' -> '.join(self.keys)}"]


def key_step(first: str, second: str) -> int | None:
    """Semitones up from one key's tonic to another's (0-11); None when either is not a key."""
    a, b = key_centre(first), key_centre(second)
    return None if a is None or b is None else (b[0] - a[0]) % 12


def next_key(table: dict, rhythm: str, key: str, rng: random.Random) -> str:
    """A key a set may move to from `key`, in the book's proportions for this type (the same key if none is)."""
    counts: Counter = Counter()
    for row in table.get("types", []):
        if row["rhythm"] == rhythm:
            counts.update(row.get("keys", {}))
    weights = {k: n * (SAME_KEY_WEIGHT if key_step(key, k) == 0 else 1) for k, n in counts.items()
               if key_step(key, k) in SET_STEPS}
    if not weights:
        return key
    keys = sorted(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def set_keys(table: dict, rhythm: str, num: int, rng: random.Random, first: str | None = None) -> list[str]:
    """The keys of a set of `num` tunes. Example: set_keys(table, "reel", 3, rng, "D") -> ["D", "G", "A"]."""
    key = canonical_key(first) if first else draw_request(table, rng, rhythm).key or "D"
    keys = [key]
    while len(keys) < num:
        keys.append(next_key(table, rhythm, keys[-1], rng))
    return keys


def make_set(model: TrainedModel, rhythm: str, num: int = 3, *, key: str | None = None,
             candidates: int = 4, settings: SamplingSettings | None = None, seed: int | None = None,
             novelty: NoveltyIndex | None = None) -> TuneSet:
    """`num` tunes of one type and metre whose keys move as sets do, no two sharing SHARED_BARS bars.

    Example: make_set(load_model(), "reel", 3, key="D", seed=1).keys -> ("D", "G", "A")
    """
    if not 1 <= num <= 8:
        raise ValueError(f"a set has 1 to 8 tunes (got {num})")
    seed = fresh_seed() if seed is None else seed
    rhythm, settings = canonical_rhythm(rhythm), settings or SamplingSettings()
    table = model.meta.get("forms") or {}
    rng = random.Random(seed)
    keys = set_keys(table, rhythm, num, rng, key)
    meter = draw_request(table, rng, rhythm).meter if table else None
    written: list[tuple[Sample, Critique]] = []
    together = NoveltyIndex([], n=SHARED_BARS)
    for index, tune_key in enumerate(keys):
        for attempt in range(MAX_TRIES):
            tune_seed = seed + 1000 * index + attempt
            sample, critique = best_of(model, 1, candidates, novelty, key=tune_key, meter=meter, rhythm=rhythm,
                                       settings=settings, seed=tune_seed, form="auto")[0]
            if together.longest_copy(sample.text)[0] < SHARED_BARS:
                break
        meter = meter or parse_fields(sample.text).get("M")
        together.add(sample.text)
        written.append((sample, critique))
    samples, critiques = zip(*written)
    return TuneSet(tuple(samples), tuple(critiques), tuple(keys), rhythm, meter or "", seed)


def shared_bars(texts: Sequence[str]) -> int:
    """The longest run of bars any two of the tunes share (0 below SHARED_BARS)."""
    longest = 0
    for i, text in enumerate(texts):
        others = NoveltyIndex(texts[:i], n=SHARED_BARS)
        longest = max(longest, others.longest_copy(text)[0])
    return longest


__all__ = ["SET_STEPS", "TuneSet", "key_step", "make_set", "next_key", "set_keys", "shared_bars"]
