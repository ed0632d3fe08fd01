"""Held-out scoring: bits per character of whole tunes. Training (validation) and the judge
(evaluation, benchmarks) both score with it, so their figures are one figure."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.data.batching import padded_batches
from tunesmith.data.vocab import CharVocab


@torch.no_grad()
@torch.no_grad()
def bits_per_char(network: nn.Module, vocab: CharVocab, texts: Sequence[str]) -> float:
    """Total -log2 p of whole tunes (every token plus </s>) over their characters plus one per </s>.

    Dividing by characters, not tokens, keeps the figure comparable between the character
    and the ABC-token vocabularies (for characters the two counts are the same). Each tune
    is scored from <s> with a fresh state, so the figure is comparable across models and
    never sees a neighbouring tune. Characters unseen in training count as <unk> (the
    model still pays for them), never skipped.
    """
    if not texts:
        raise ValueError("no held-out tunes to score")
    was_training = network.training
    network.eval()
    device = next(network.parameters(), torch.empty(0)).device  # a network may have no parameters
    total_nats = 0.0
    for x, y in padded_batches([vocab.encode_tune(t, strict=False) for t in texts]):
        x, y = x.to(device), y.to(device)
        logits, _ = network(x)
        total_nats += F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").item()
    network.train(was_training)
    return total_nats / sum(len(t) + 1 for t in texts) / math.log(2)
