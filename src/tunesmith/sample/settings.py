"""What a sampler is asked (SamplingSettings) and what it gives back (Sample): plain values, no torch."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

from tunesmith.data.forms import FREE

__all__ = ["Sample", "SamplingSettings", "fresh_seed"]


@dataclass(frozen=True)
class SamplingSettings:
    """How tunes are drawn; these defaults are the CLI's, the web page's and the Python API's alike."""

    temperature: float = 1.0  # <1 safer and more repetitive, >1 wilder
    top_k: int | None = None  # sample only from the k most likely characters
    # Sample only from the smallest set holding this much probability (None or 1: off). 0.95 cuts
    # the long tail of a character model, where most of its slips live.
    top_p: float | None = 0.95
    max_chars: int = 2000  # a tune still going at this length is cut and marked unfinished
    constrain: bool = True  # keep every bar, bracket and ending well formed (tunesmith.abc.grammar)

    def __post_init__(self):
        # Each of these would otherwise fail deep in torch, with a message about tensors.
        if not math.isfinite(self.temperature) or not 0 < self.temperature <= 1e6:  # float32 overflows near 3.4e38
            raise ValueError(f"temperature must be above 0 and at most 1,000,000 (got {self.temperature})")
        if self.top_k is not None and self.top_k < 0:
            raise ValueError(f"top-k must be 0 (off) or more (got {self.top_k})")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"top-p must be above 0 and at most 1 (got {self.top_p})")
        if self.max_chars < 1:
            raise ValueError(f"max-chars must be at least 1 (got {self.max_chars})")


@dataclass(frozen=True)
class Sample:
    text: str
    finished: bool  # True when the model wrote </s>; False when max_chars cut it
    rollbacks: int = 0  # bars the constraint sent back to be written again
    fallbacks: int = 0  # steps where every top-k/top-p choice was refused and all tokens were looked at
    dead_end: bool = False  # nothing at all was allowed: the tune was given up
    seed: int | None = None  # the request's seed: the same model, options and seed write this tune again
    form: str = FREE  # the form it was asked for, e.g. "2x8r" (see tunesmith.data.forms)
    cadences: tuple[int | None, ...] = ()  # the degree each part was asked to end on
    cadences_dropped: int = 0  # parts whose asked ending the model could not reach: written free
    copies: tuple = ()  # bars played again, ((part, bar), (earlier part, earlier bar)), as Form.copies
    # The model's own log-likelihood (nats) of the text past the script, and how many tokens that is:
    # what a critic (tunesmith.judge.critic) weighs candidates by.
    log_likelihood: float = 0.0
    scored_tokens: int = 0

    @property
    def bits_per_token(self) -> float:
        """The model's own bits per token of the text past the script (what critics weigh)."""
        return -self.log_likelihood / math.log(2) / max(self.scored_tokens, 1)


def fresh_seed() -> int:
    """A seed for a run that was given none; it is reported, so any tune can be made again."""
    return secrets.randbelow(2**31)

