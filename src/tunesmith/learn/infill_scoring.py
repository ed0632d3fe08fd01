"""The infilling benchmark: bits per character of hidden bars of held-out tunes, given the music on both
sides of the gap (PSM, see tunesmith.data.infill) against the music before it only. Lower with both
sides is the proof that the model reads the suffix.

    both sides:  <s> prefix <suf> suffix <mid> [middle]      left only:  <s> prefix [middle]
                                                ^ scored                            ^ scored

The same tokens are scored in both (the middle, encoded on its own, without the </s> after it), so
the two figures divide the same bits by the same characters. Like bits_per_char, each tune starts
from a fresh state and characters unseen in training count as <unk>.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.data.infill import fim_ids, hidden_bars, trained_order
from tunesmith.store.checkpoint import TrainedModel

MAX_TOKENS = 16384  # tokens per batch, as in padded_batches: bounds memory on a long tune book


@dataclass(frozen=True)
class InfillBits:
    """Bits per character of the hidden bars, summed over all tunes scored."""

    both_sides: float | None  # given prefix and suffix; None for a model trained without fim_rate
    left_only: float  # given the prefix alone, as a left-to-right model writes
    tunes: int  # tunes scored
    skipped: int  # tunes without the bars asked for (too short, no such part)
    chars: int  # hidden characters in all


@dataclass(frozen=True)
class _Row:
    ids: list[int]  # the whole document
    first: int  # targets ids[1:][first:end] are scored
    end: int


def _rows(model: TrainedModel, prefix: str, middle: str, suffix: str) -> tuple[_Row, _Row | None]:
    """The left-only row and, when the vocabulary has the sentinels, the both-sides row of one tune."""
    vocab = model.vocab
    hidden = vocab.encode(middle, strict=False)
    left = [vocab.bos, *vocab.encode(prefix, strict=False), *hidden]
    left_row = _Row(left, len(left) - 1 - len(hidden), len(left) - 1)
    if not vocab.has_sentinels:
        return left_row, None
    both = fim_ids(vocab, prefix, suffix, middle, strict=False, order=trained_order(model.meta))  # ... middle </s>
    return left_row, _Row(both, len(both) - 2 - len(hidden), len(both) - 2)


@torch.no_grad()
def _scored_nats(network: nn.Module, rows: Sequence[_Row]) -> float:
    """Sum of -ln p over the scored targets of every row, in length-sorted padded batches."""
    device = next(network.parameters(), torch.empty(0)).device
    ordered = sorted(rows, key=lambda row: len(row.ids))
    total, start = 0.0, 0
    while start < len(ordered):
        longest = len(ordered[start].ids)
        stop = start + 1
        while stop < len(ordered) and (stop - start + 1) * len(ordered[stop].ids) <= MAX_TOKENS:
            stop, longest = stop + 1, len(ordered[stop].ids)
        group = ordered[start:stop]
        x = torch.zeros(len(group), longest - 1, dtype=torch.long)
        y = torch.full((len(group), longest - 1), -100, dtype=torch.long)  # -100: not scored
        for i, row in enumerate(group):
            ids = torch.tensor(row.ids, dtype=torch.long)
            x[i, : len(ids) - 1] = ids[:-1]
            y[i, row.first : row.end] = ids[1:][row.first : row.end]
        logits, _ = network(x.to(device))  # (B, T, vocab)
        total += F.cross_entropy(logits.flatten(0, 1), y.to(device).flatten(), reduction="sum").item()
        start = stop
    return total


def infill_bits(model: TrainedModel, texts: Sequence[str], bars: tuple[int, int] | str = (5, 8)) -> InfillBits:
    """Bits per character of the true hidden bars with both sides given and with the left side only.

    bars: (first, last) full bars, 1-based and inclusive (a pickup is bar 0), or a part by letter ("B").
    Example: infill_bits(load_model("runs/fim"), [t.text for t in split.test], (5, 8)).both_sides -> 1.1
    """
    left_rows, both_rows, chars = [], [], 0
    for text in texts:
        infill = hidden_bars(text, bars)
        if infill is None or not infill.middle:
            continue
        left, both = _rows(model, infill.prefix, infill.middle, infill.suffix)
        left_rows.append(left)
        both_rows += [both] if both else []
        chars += len(infill.middle)
    if not left_rows:
        raise ValueError(f"no tune has bars {bars} to hide")
    network, was_training = model.network, model.network.training
    network.eval()
    left_bits = _scored_nats(network, left_rows) / chars / math.log(2)
    both_bits = _scored_nats(network, both_rows) / chars / math.log(2) if both_rows else None
    network.train(was_training)
    return InfillBits(both_bits, left_bits, len(left_rows), len(texts) - len(left_rows), chars)
