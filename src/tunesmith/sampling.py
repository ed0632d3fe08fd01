"""Sampling: many tunes at once as one batch, the recurrent state carried, each stopped at </s>.

A tune is written by following a *script*: forced text (the header you asked for,
your opening phrase) alternating with free lines the model writes itself (the title,
any header field you left open). Everything after the script is free until </s>.

    --key G --meter 6/8   ->   "X:1\\nT:" <free line> "M:6/8\\nL:" <free line> "K:G\\n"
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

from tunesmith.abcnotation import canonical_key, canonical_rhythm
from tunesmith.checkpoint import TrainedModel

FREE_LINE = None  # a script item meaning "let the model write up to the end of this line"


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 1.0  # <1 safer and more repetitive, >1 wilder
    top_k: int | None = None  # sample only from the k most likely characters
    top_p: float | None = None  # sample only from the smallest set holding this much probability
    max_chars: int = 2000  # a tune still going at this length is cut and marked unfinished

    def __post_init__(self):
        # Each of these would otherwise fail deep in torch, with a message about tensors.
        if not math.isfinite(self.temperature) or self.temperature > 1e6:  # float32 overflows near 3.4e38
            raise ValueError(f"temperature must be a number up to 1,000,000 (got {self.temperature})")
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


def header_script(
    key: str | None = None,
    meter: str | None = None,
    rhythm: str | None = None,
    prime: str = "",
) -> list[str | None]:
    """The forced text and free lines that start every tune.

    Example: header_script(key="G") -> ["X:1\\nT:", None, "M:", None, "L:", None, "K:G\\n"]
    """
    if prime.startswith("X:"):
        return [prime]  # the user wrote the start of the tune themselves
    if not (key or meter or rhythm or prime):
        return ["X:1\n"]
    script: list[str | None] = ["X:1\nT:", FREE_LINE]
    if rhythm:
        script.append(f"R:{canonical_rhythm(rhythm)}\n")
    script += [f"M:{meter}\n"] if meter else ["M:", FREE_LINE]
    script += ["L:", FREE_LINE]  # the model knows which L: its tune books pair with a metre
    script += [f"K:{canonical_key(key)}\n"] if key else ["K:", FREE_LINE]
    if prime:
        script.append(prime)
    return _merge_forced(script)


def _merge_forced(script: list[str | None]) -> list[str | None]:
    merged: list[str | None] = []
    for item in script:
        if item and merged and merged[-1]:
            merged[-1] += item
        else:
            merged.append(item)
    return merged


class ScriptFollower:
    """Per-tune position in its script: which character to force next, if any."""

    def __init__(self, script: list[str | None]):
        self.script, self.item, self.offset = script, 0, 0

    @property
    def done(self) -> bool:
        return self.item >= len(self.script)

    def forced(self) -> str | None:
        """The next character the script forces, or None where the model is free."""
        if self.done or self.script[self.item] is FREE_LINE:
            return None
        return self.script[self.item][self.offset]

    def advance(self, char: str) -> None:
        if self.done:
            return
        current = self.script[self.item]
        if current is FREE_LINE:
            if char == "\n":
                self.item += 1
            return
        self.offset += 1
        if self.offset == len(current):
            self.item, self.offset = self.item + 1, 0


def filter_logits(logits: torch.Tensor, settings: SamplingSettings) -> torch.Tensor:
    """Temperature, then top-k, then top-p (nucleus); removed entries become -inf."""
    logits = logits / max(settings.temperature, 1e-6)
    if settings.top_k:
        kth = torch.topk(logits, min(settings.top_k, logits.size(-1))).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if settings.top_p is not None and settings.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(-1)
        # Drop a token when the tokens before it already hold top_p; the first always stays.
        drop_sorted = (cumulative - torch.softmax(sorted_logits, dim=-1)) >= settings.top_p
        drop_sorted[..., 0] = False  # also when top_p is below float32's smallest number and rounds to 0
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def _shared_prefix(script: list[str | None]) -> str:
    return script[0] if script and script[0] is not FREE_LINE else ""


@torch.no_grad()
def sample_tunes(
    model: TrainedModel,
    num: int = 1,
    *,
    key: str | None = None,
    meter: str | None = None,
    rhythm: str | None = None,
    prime: str = "",
    settings: SamplingSettings = SamplingSettings(),
    seed: int = 0,
) -> list[Sample]:
    """Sample `num` tunes in one batch. Same model, options and seed -> same tunes."""
    network, vocab = model.network, model.vocab
    network.eval()
    script = header_script(key, meter, rhythm, prime)
    for piece in script:
        if piece:
            try:
                vocab.encode(piece)
            except ValueError as error:
                shown = piece if len(piece) <= 60 else piece[:60] + "..."
                raise ValueError(f"prompt {shown!r}: {error}") from None
    generator = torch.Generator().manual_seed(seed)
    prefix = _shared_prefix(script)
    if len(prefix) >= settings.max_chars:
        raise ValueError(f"the prompt is {len(prefix)} characters, no shorter than max-chars {settings.max_chars}")
    followers = [ScriptFollower(script) for _ in range(num)]
    for follower in followers:
        for char in prefix:
            follower.advance(char)
    in_script = {tune for tune in range(num) if not followers[tune].done}
    # written[t] holds tune t's characters; a row of -1 is text not yet written.
    written = torch.full((num, settings.max_chars), -1, dtype=torch.long)
    written[:, : len(prefix)] = torch.tensor(vocab.encode(prefix), dtype=torch.long)
    lengths = torch.full((num,), len(prefix), dtype=torch.long)
    finished = torch.zeros(num, dtype=torch.bool)
    # Every tune starts with the same forced text, so it is read once for the whole batch.
    logits, state = network(torch.tensor([[vocab.bos, *vocab.encode(prefix)]] * num))
    logits = logits[:, -1]  # (B, vocab)
    active = torch.arange(num)  # which tune each row of the batch belongs to
    banned = [vocab.bos, vocab.unk]
    while len(active):
        logits[:, banned] = float("-inf")
        scripted = [row for row, tune in enumerate(active.tolist()) if tune in in_script] if in_script else []
        if scripted:  # no </s> before the header and prime are written
            logits[scripted, vocab.eos] = float("-inf")
        probs = torch.softmax(filter_logits(logits, settings), dim=-1)
        chosen = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        for row in scripted:
            follower = followers[int(active[row])]
            forced = follower.forced()
            if forced is not None:
                chosen[row] = vocab.index[forced]
            follower.advance(vocab.tokens[int(chosen[row])])
            if follower.done:
                in_script.discard(int(active[row]))
        written[active, lengths[active]] = chosen
        lengths[active] += 1
        ended = chosen == vocab.eos
        finished[active[ended]] = True
        keep = ~ended & (lengths[active] < settings.max_chars)
        if not keep.all():
            index = keep.nonzero().squeeze(1)
            state = network.select_state(state, index)
            active, chosen = active[index], chosen[index]
        if len(active):
            logits, state = network(chosen[:, None], state)
            logits = logits[:, -1]
    texts = [vocab.decode(row.tolist()) for row in written]
    return [Sample(text, bool(done)) for text, done in zip(texts, finished)]


def generate(
    model: TrainedModel,
    num: int = 1,
    *,
    settings: SamplingSettings = SamplingSettings(),
    seed: int = 0,
    key: str | None = None,
    meter: str | None = None,
    rhythm: str | None = None,
    prime: str = "",
    **overrides: object,
) -> list[str]:
    """New tunes as ABC text. Overrides tweak the settings: generate(m, 4, temperature=0.8).

    Example: generate(load_model("runs/small"), num=2, key="D", meter="C|", seed=1)
    """
    settings = replace(settings, **overrides)
    samples = sample_tunes(
        model, num, key=key, meter=meter, rhythm=rhythm, prime=prime, settings=settings, seed=seed
    )
    return [sample.text for sample in samples]
