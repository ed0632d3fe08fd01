"""Writing with a musician: bars of their tune written again, a B part for their A part, a variation.

Each keeps the musician's tune byte for byte outside the bars it writes, and writes those bars under
the gap constraint (tunesmith.abc.gaps): as many bars as it replaces, each the right length, ending
with the sign the old ones ended with, so the kept bars after them still follow.

By default the model reads the bars before the gap, as it writes a tune, and the constraint makes the
join with the bars after it; reading="both" gives a model trained to fill in the middle
(`train --fim-rate`) the bars on both sides (<s> before <suf> after <mid>, tunesmith.data.infill),
which measured worse for the small LSTM (see LEFT, BOTH). Each request is written `candidates`
times in one batch and the one the model likes best (the fewest bits per token) is kept.

    fill(model, tune, (5, 8))        bars 5-8 written again
    fill(model, tune, "B")           the B part written again
    continue_tune(model, tune, "B")  a B part after the A part, ending on the tonic
    vary(model, tune, amount=0.3)    a variation: a share of the bars rewritten, the main beats kept
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, replace
from fractions import Fraction

import torch

from tunesmith.abc.gaps import GapError, gap_state, next_part_lengths, read_bars
from tunesmith.abc.reader import Bar, read_tune
from tunesmith.abc.text import TOKEN, meter_fraction, normalise_newlines, parse_fields
from tunesmith.data.infill import (
    MUSIC,
    bar_span,
    counted_bars,
    fim_ids,
    part_index,
    part_starts,
    split_at_bars,
    trained_order,
)
from tunesmith.sample.decoding import Chooser, Draft, decode_batch, to_sample, tune_rng
from tunesmith.sample.sampling import (
    Sample,
    SamplingSettings,
    ScriptFollower,
    fresh_seed,
)
from tunesmith.store.checkpoint import TrainedModel

DEFAULT_CANDIDATES = 4
# How the model reads a gap. "left": the bars before it, as it writes a tune; "both": <s> before <suf> after
# <mid>, for a model trained with --fim-rate. Left is the default from measurement: the small LSTM trained
# with fim-rate 0.5 gives the true bars 5-8 of 198 held-out tunes 1.596 bits/char reading both sides and
# 1.463 reading the left side (MODEL.md, "Filling a gap").
LEFT, BOTH = "left", "both"
VARY_CANDIDATES = 8  # a variation's bar is chosen for the main beats it keeps: more to choose among
MAX_GAP_CHARS = 80  # characters per bar written: a bar of a tune book is 10-30


@dataclass(frozen=True)
class Written:
    """A tune with some of its bars written by the model, and what was kept."""

    text: str  # the whole tune
    written: tuple[int, ...]  # the bars written (0-based, as split_at_bars counts them: a pickup is bar 0)
    method: str  # "both sides" (fill in the middle) or "left side" (the bars before the gap only)
    samples: tuple[Sample, ...]  # the kept candidate of each gap written
    candidates: int
    # vary: (bar, the earlier bar it repeats) for each bar played as that bar's new version
    echoed: tuple[tuple[int, int], ...] = ()

    def notes(self, label: str) -> list[str]:
        """N: lines: what was written and how, e.g. "bars 5-8 written again (both sides read, best of 4 ...)"."""
        bits = [s.bits_per_token for s in self.samples]
        notes = [f"{label}; the rest kept as it was",
                 f"written reading the {self.method} of the gap, best of {self.candidates} "
                 f"({sum(bits) / len(bits):.2f} bits/token)"]
        if any(s.cadences_dropped for s in self.samples):
            notes.append("the model would not end it on the tonic: its last note was left free")
        return notes


def write_gap(model: TrainedModel, text: str, first: int, end: int, *, candidates: int = DEFAULT_CANDIDATES,
              settings: SamplingSettings | None = None, seed: int | None = None,
              final_degree: int | None = None, pitch_range: tuple[int, int] | None = None,
              reading: str = LEFT) -> list[Sample]:
    """Every candidate for bars [first, end) of text, best first (end past the tune's last bar: new bars after it).

    Each Sample's text is the gap's bars only. Example: write_gap(m, tune, 4, 8)[0].text -> "\\nfdAF ...|"
    """
    if candidates < 1:
        raise ValueError(f"candidates must be at least 1 (got {candidates})")
    if settings is not None and not settings.constrain:
        raise ValueError("bars written between kept bars need constrained sampling")
    cuts = split_at_bars(text)
    state = gap_state(text, cuts, first, end, final_degree, pitch_range)
    prefix, suffix = text[: cuts[min(first, len(cuts) - 1)]], text[cuts[end]:] if end < len(cuts) else ""
    vocab = model.vocab
    if reading == BOTH:
        # fim_ids says so when the model has no sentinels
        prompt = fim_ids(vocab, prefix, suffix, strict=False, order=trained_order(model.meta))
    elif reading == LEFT:
        prompt = [vocab.bos, *vocab.encode(prefix, strict=False)]
    else:
        raise ValueError(f"reading must be {LEFT!r} or {BOTH!r} (got {reading!r})")
    seed = fresh_seed() if seed is None else seed
    settings = settings or SamplingSettings()
    settings = replace(settings, max_chars=min(settings.max_chars, MAX_GAP_CHARS * (end - first) + 20))
    tunes = [Draft(ScriptFollower([]), state.copy(), tune_rng(seed, place), settings, seed, snapshot_due=True)
             for place in range(candidates)]
    model.network.eval()
    with torch.no_grad():
        decode_batch(model.network, tunes, prompt, Chooser(vocab))
    samples = [to_sample(vocab, tune) for tune in tunes]
    return sorted(samples, key=_preference)


def _preference(sample: Sample) -> tuple:
    """Finished first, then ending where asked (a tonic not given up), then the fewest bits per token."""
    done = sample.finished and not sample.dead_end
    return (not done, sample.cadences_dropped, sample.bits_per_token)


def _joined(text: str, cuts: list[int], first: int, end: int, middle: str) -> str:
    """The tune with bars [first, end) (as `cuts`, split_at_bars, numbers them) replaced by middle."""
    return text[: cuts[first]] + middle + text[cuts[end]:]


def _usable(samples: list[Sample], what: str) -> list[Sample]:
    usable = [s for s in samples if s.finished and not s.dead_end]
    if not usable:
        raise GapError(f"no candidate could write {what} to its end: try another --seed or more --candidates")
    return usable


def fill(model: TrainedModel, text: str, bars: tuple[int, int] | str, *, candidates: int = DEFAULT_CANDIDATES,
         settings: SamplingSettings | None = None, seed: int | None = None, reading: str = LEFT) -> Written:
    """The tune with `bars` written again ((5, 8): full bars 5-8; "B": the B part), the rest kept byte for byte.

    A candidate that writes the old bars again is kept only when all do.
    Example: fill(load_model("runs/fim"), tune, (5, 8), seed=1).text
    """
    first, end = bar_span(text, bars)
    cuts = split_at_bars(text)
    old = text[cuts[first]: cuts[end]]
    samples = _usable(write_gap(model, text, first, end, candidates=candidates, settings=settings, seed=seed,
                                reading=reading), "the bars")
    chosen = next((s for s in samples if s.text != old), samples[0])
    return Written(_joined(text, cuts, first, end, chosen.text), tuple(range(first, end)), _method(reading),
                   (chosen,), candidates)


def _method(reading: str) -> str:
    return "both sides" if reading == BOTH else "left side"


def continue_tune(model: TrainedModel, text: str, part: str = "B", *, candidates: int = DEFAULT_CANDIDATES,
                  settings: SamplingSettings | None = None, seed: int | None = None, reading: str = LEFT) -> Written:
    """The tune with one more part after its last, shaped on it (tunesmith.abc.gaps.next_part_lengths),
    ending with the sign it ends with, its last note on the tonic. part names the new part ("B" after an A part)."""
    cuts = split_at_bars(text)
    if not cuts:
        raise GapError("the tune has no bars")
    count = len(cuts) - 1
    starts = part_starts(text, count)
    wanted = part_index(part)
    if wanted < 1:
        raise GapError(f"part {part!r}: name a part after the first, e.g. B")
    if wanted != len(starts):
        have = ", ".join(chr(65 + i) for i in range(len(starts)))
        raise GapError(f"the tune has parts {have}: it can be continued with part {chr(65 + len(starts))} "
                       "(to write one of them again, fill it)")
    length = len(next_part_lengths(read_bars(text, cuts)))
    samples = _usable(write_gap(model, text, count, count + length, candidates=candidates, settings=settings,
                                seed=seed, final_degree=1, reading=reading), f"part {part.upper()}")
    chosen = samples[0]
    return Written(text + chosen.text, tuple(range(count, count + length)), _method(reading), (chosen,), candidates)


# -------------------------------------------------------------------------------- variations

def main_beats(meter: str) -> list[Fraction]:
    """Where a bar's main beats fall, in whole notes: a jig's two dotted crotchets, a reel's two minims.
    Example: "6/8" -> [0, 3/8]; "C|" -> [0, 1/2]; "3/4" -> [0, 1/4, 1/2]."""
    length = meter_fraction(meter) or Fraction(1)
    top, _, bottom = meter.partition("/")
    if top.isdigit() and bottom.isdigit() and int(top) % 3 == 0 and int(top) > 3:
        beat = Fraction(3, int(bottom))  # compound time: dotted beats
    elif length >= 1:
        beat = Fraction(1, 2)
    else:
        beat = Fraction(1, 4) if length >= Fraction(1, 2) else length
    return [beat * i for i in range(int(length / beat))]


def beat_pitches(bar: Bar, beats: list[Fraction]) -> list[int | None]:
    """The pitch sounding at each main beat of a bar (None for a rest, or past the bar's end)."""
    onsets, time = [], Fraction(0)
    for element in bar.elements:
        onsets.append((time, element.pitch))
        time += element.duration
    return [next((p for t, p in reversed(onsets) if t <= beat), None) if beat < time else None for beat in beats]


def kept_beats(original: str, variation: str) -> tuple[int, int]:
    """(main-beat notes of the original sounding again at the same beat of the variation, main-beat notes in all)."""
    meter = _meter(original)
    beats = main_beats(meter)
    old, new = read_tune(original).bars, read_tune(variation).bars
    kept = total = 0
    for a, b in zip(old, new):
        for p, q in zip(beat_pitches(a, beats), beat_pitches(b, beats)):
            if p is not None:
                total += 1
                kept += p == q
    return kept, total


def _meter(text: str) -> str:
    return parse_fields(normalise_newlines(text)).get("M", "4/4")


def variable_bars(text: str) -> list[int]:
    """The bars a variation may rewrite: full bars that do not end a part (the cadences stay) and no pickup."""
    cuts = split_at_bars(text)
    count = len(cuts) - 1
    bars = read_tune(text).bars
    ends = {start - 1 for start in part_starts(text, count)[1:]} | {count - 1}
    return [i for i in counted_bars(text) if i not in ends and not bars[i].ending
            and bars[i].expected and bars[i].duration == bars[i].expected]


def bars_to_rewrite(amount: float, meter: str, eligible: int) -> int:
    """How many of the `eligible` bars a variation rewrites so that about `amount` of the main-beat notes
    change: a rewritten bar keeps the note on its first beat, so it changes at most (b - 1) / b of its b
    main beats. Example: (0.3, "C|", 14) -> 8 (a reel's bar has two main beats)."""
    beats = len(main_beats(meter))
    changed_per_bar = (beats - 1) / beats if beats > 1 else 1.0
    return max(1, min(eligible, round(amount / changed_per_bar * eligible)))


def echoes(text: str, bars: list[int]) -> dict[int, list[int]]:
    """Each of bars that sounds first, with the later ones among bars that sound the same (the same notes
    and lengths): the phrases a tune plays again, which a variation keeps playing again.
    Example: bars 1 and 5 of a reel alike -> {1: [5], 2: [], ...}."""
    read = read_tune(text).bars
    alike: dict[tuple, list[int]] = defaultdict(list)
    for bar in bars:
        alike[tuple((element.pitch, element.duration) for element in read[bar].elements)].append(bar)
    return {group[0]: group[1:] for group in alike.values()}


def choose_bars(text: str, amount: float, rng: random.Random) -> list[int]:
    """The bars to rewrite for a variation changing about `amount` of the main-beat notes (bars_to_rewrite),
    no two side by side where the tune allows it; a bar comes with the later bars that sound as it does
    (echoes), which the variation plays as its new version."""
    eligible = variable_bars(text)
    if not eligible:
        raise GapError("the tune has no full bar a variation may rewrite (each ends a part)")
    want = bars_to_rewrite(amount, _meter(text), len(eligible))
    groups = echoes(text, eligible)
    order = list(groups)
    rng.shuffle(order)
    chosen: list[int] = []

    def room(bar: int) -> bool:  # the bar and its echoes still fit in what is wanted
        return sum(1 + len(groups[b]) for b in chosen) + 1 + len(groups[bar]) <= want

    for bar in order:  # apart first, then side by side if more are wanted
        if room(bar) and all(abs(bar - other) > 1 for other in chosen):
            chosen.append(bar)
    for bar in order:
        if bar not in chosen and room(bar):
            chosen.append(bar)
    if not chosen:  # every group is larger than wanted: the smallest one
        chosen = [min(order, key=lambda bar: len(groups[bar]))]
    return sorted(bar for first in chosen for bar in (first, *groups[first]))


def vary(model: TrainedModel, text: str, amount: float = 0.3, *, candidates: int = VARY_CANDIDATES,
         settings: SamplingSettings | None = None, seed: int | None = None, reading: str = LEFT) -> Written:
    """A variation changing about `amount` of the notes on the main beats: bars written again one by one
    (choose_bars), each a candidate that keeps the note on the bar's first beat (the model's favourite of
    those), never the old bar itself when another was written; a bar that repeated an earlier one plays
    that bar's new version (Written.echoed) where it fits there, so the tune's phrases still come back; the
    last bar of each part (the cadences) and a pickup are kept. kept_beats measures what sounds as before
    (MODEL.md has the shipped model's figures)."""
    if not 0 < amount <= 1:
        raise ValueError(f"amount must be above 0 and at most 1 (got {amount})")
    seed = fresh_seed() if seed is None else seed
    read_bars(text, split_at_bars(text))  # a tune the gap constraint cannot line up is refused before any sampling
    chosen_bars = choose_bars(text, amount, random.Random(seed))
    repeated = {echo: first for first, later in echoes(text, chosen_bars).items() for echo in later}
    current, kept, echoed = text, [], {}
    for n, bar in enumerate(chosen_bars):
        cuts = split_at_bars(current)
        if bar in repeated and (played := _played_as(current, cuts, bar, repeated[bar])) is not None:
            current, echoed[bar] = played, repeated[bar]
            continue
        old = current[cuts[bar]: cuts[bar + 1]]
        downbeat = _downbeat(read_tune(current).bars[bar])
        samples = _usable(write_gap(model, current, bar, bar + 1, candidates=candidates, settings=settings,
                                    seed=seed + n, reading=reading), f"bar {bar}")
        best = max(samples, key=lambda s: (s.text != old, _keeps_downbeat(current, cuts, bar, s.text, downbeat),
                                           -s.bits_per_token))
        current = _joined(current, cuts, bar, bar + 1, best.text)
        kept.append(best)
    return Written(current, tuple(chosen_bars), _method(reading), tuple(kept), candidates, tuple(echoed.items()))


_AROUND_THE_MUSIC = frozenset({"space", "bar", "ending", "comment", "field", "linebreak"})


def _music_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Where the music of the bar text[start:end] lies: from what follows its opening signs and spaces
    (a tuplet or a slur may come before its first note) to the bar line that closes it (the signs and
    line breaks around it stay the bar's own)."""
    tokens = list(TOKEN.finditer(text, start, end))
    last_note = max(token.end() for token in tokens if token.lastgroup in MUSIC)
    first = next(token.start() for token in tokens if token.lastgroup not in _AROUND_THE_MUSIC)
    closing = next((token for token in tokens if token.start() >= last_note and token.lastgroup == "bar"), None)
    return first, closing.start() if closing is not None else end


def _played_as(text: str, cuts: list[int], bar: int, source: int) -> str | None:
    """The tune with bar's music replaced by bar source's, where the constraint takes it there (a tie or a
    broken rhythm from the bar before may not allow it); else None."""
    start, stop = _music_span(text, cuts[bar], cuts[bar + 1])
    first, last = _music_span(text, cuts[source], cuts[source + 1])
    middle = text[cuts[bar]:start] + text[first:last] + text[stop:cuts[bar + 1]]
    state = gap_state(text, cuts, bar, bar + 1)
    if not (state.push_text(middle) and state.must_end()):
        return None
    return _joined(text, cuts, bar, bar + 1, middle)


def vary_label(written: Written, counted_as: str) -> str:
    """What a variation wrote, for its N: line. counted_as says whose bar lines count ("the file's")."""
    echoed = dict(written.echoed)
    new = ", ".join(str(bar) for bar in written.written if bar not in echoed)
    label = f"a variation: bars {new} (as {counted_as} bar lines count them) written again, each keeping its first beat"
    if echoed:
        again = ", ".join(f"{bar} as {first}" for bar, first in sorted(echoed.items()))
        label += f"; bars played again as before: {again}"
    return label


def _downbeat(bar: Bar) -> int | None:
    """The pitch on a bar's first beat (None for a rest)."""
    return beat_pitches(bar, [Fraction(0)])[0]


def _keeps_downbeat(text: str, cuts: list[int], bar: int, middle: str, downbeat: int | None) -> bool:
    """Whether the bar written in place of `bar` starts on the note the old one did."""
    written = read_tune(_joined(text, cuts, bar, bar + 1, middle)).bars[bar]
    return downbeat is not None and _downbeat(written) == downbeat


__all__ = ["BOTH", "DEFAULT_CANDIDATES", "LEFT", "GapError", "Written", "bar_span", "bars_to_rewrite", "beat_pitches",
           "choose_bars", "echoes",
           "continue_tune", "fill", "kept_beats", "main_beats", "vary", "vary_label", "write_gap"]
