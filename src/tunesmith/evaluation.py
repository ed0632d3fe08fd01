"""Held-out scoring: bits per character of whole tunes, each from a fresh state."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.batching import padded_batches
from tunesmith.vocab import CharVocab


@torch.no_grad()
def bits_per_char(network: nn.Module, vocab: CharVocab, texts: Sequence[str]) -> float:
    """Mean -log2 p per predicted symbol over whole tunes: every character plus </s>.

    Each tune is scored from <s> with a fresh state, so the figure is comparable across
    models and never sees a neighbouring tune. Characters unseen in training count
    as <unk> (the model still pays for them), never skipped.
    """
    if not texts:
        raise ValueError("no held-out tunes to score")
    was_training = network.training
    network.eval()
    total_nats, count = 0.0, 0
    for x, y in padded_batches([vocab.encode_tune(t, strict=False) for t in texts]):
        logits, _ = network(x)
        total_nats += F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").item()
        count += int((y != -100).sum())
    network.train(was_training)
    return total_nats / count / math.log(2)
