"""Tunes as tensors: the lab's random windows for training, padded whole tunes for scoring.

Training stream (every tune one document, joined end to end):

    <s> X:1 T:... K:D |ABc... </s> <s> X:1 ... </s> <s> ...
         ^--- a window: seq_length+1 characters from a random offset
    x = window[:-1]      y = window[1:]      (so x[:, 1:] == y[:, :-1])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def concatenate(documents: Sequence[Sequence[int]]) -> torch.Tensor:
    """All documents as one long int64 stream."""
    return torch.tensor([i for doc in documents for i in doc], dtype=torch.long)


def random_windows(
    stream: torch.Tensor, batch_size: int, seq_length: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """The lab's batches: (x, y), each (batch_size, seq_length), y shifted by one."""
    if len(stream) <= seq_length + 1:
        raise ValueError(f"training text has {len(stream)} characters, fewer than seq_length+2")
    starts = torch.randint(0, len(stream) - seq_length - 1, (batch_size,), generator=generator)
    offsets = starts[:, None] + torch.arange(seq_length + 1)  # (B, T+1)
    windows = stream[offsets]
    return windows[:, :-1], windows[:, 1:]


def padded_batches(
    documents: Sequence[Sequence[int]], max_tokens: int = 16384, pad: int = -100
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Whole documents grouped by length into (x, y) batches; y is `pad` past each end.

    Sorting by length keeps padding small; max_tokens bounds memory per batch.
    """
    order = sorted(range(len(documents)), key=lambda i: len(documents[i]))
    batches, group = [], []
    for i in order:
        if group and (len(group) + 1) * len(documents[i]) > max_tokens:
            batches.append(_pad(group, pad))
            group = []
        group.append(documents[i])
    if group:
        batches.append(_pad(group, pad))
    return batches


def _pad(documents: list[Sequence[int]], pad: int = -100) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(len(doc) for doc in documents) - 1
    x = torch.zeros(len(documents), length, dtype=torch.long)
    y = torch.full((len(documents), length), pad, dtype=torch.long)
    for row, doc in enumerate(documents):
        ids = torch.tensor(doc, dtype=torch.long)
        x[row, : len(doc) - 1] = ids[:-1]
        y[row, : len(doc) - 1] = ids[1:]
    return x, y
