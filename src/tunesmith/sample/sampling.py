"""Sampling: many tunes at once as one batch, the recurrent state carried, each stopped at </s>.

A tune is written by following a *script* (tunesmith.sample.script): forced text (the header
you asked for, your opening phrase) alternating with free lines the model writes itself (the
title, any header field you left open). Everything after the script is free until </s>, and
with the constraint (tunesmith.abc.grammar) every bar comes out right.
"""

from __future__ import annotations

import math
import os
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from tunesmith.abc.grammar import Form, TuneState
from tunesmith.data.forms import FREE, form_key
from tunesmith.sample.phrases import PhraseCopier
from tunesmith.sample.requests import check_request, instrument_request, request_warnings, tune_requests
from tunesmith.sample.script import FREE_LINE, ScriptFollower, check_prompt, header_script, shared_prefix
from tunesmith.store.checkpoint import TrainedModel

# Re-exported: the CLI, the web page and notebooks import these from here.
__all__ = ["FREE_LINE", "Sample", "SamplingSettings", "ScriptFollower", "check_request", "filter_logits",
           "fresh_seed", "generate", "header_script", "request_warnings", "sample_tunes", "tune_requests"]


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
    seed: int | None = None  # the batch's seed: the same model, options and seed write this tune again
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


MAX_ROLLBACKS_PER_BAR = 3  # then the bar is written from the whole (unfiltered) distribution
MAX_CADENCE_ROLLBACKS = 12  # the last bar of a part that must end on a degree: then that degree is given up
MAX_ROLLBACKS_PER_TUNE = 30


@dataclass
class _Tune:
    """One tune being written: its script, its ABC state and what the constraint had to do."""

    follower: ScriptFollower
    state: TuneState | None  # None: sampling is free
    rollbacks: int = 0
    bar_rollbacks: int = 0
    fallbacks: int = 0  # steps where the filtered (top-k/top-p) choices were all refused
    cadences_dropped: int = 0
    form: Form | None = None
    dead_end: bool = False
    phrases: PhraseCopier | None = None  # the bars the form plays again (tunesmith.sample.phrases)
    # (length, TuneState, model state row, logits row, PhraseCopier) at the last bar line
    snapshot: tuple | None = None
    snapshot_due: bool = False


def _row_state(state, row: int):
    """This row of a recurrent state (a tensor or a tuple of them, batch in dim 1); None for a cache."""
    if isinstance(state, torch.Tensor):
        return state[:, row].clone()
    if isinstance(state, tuple) and all(isinstance(t, torch.Tensor) for t in state):
        return tuple(t[:, row].clone() for t in state)
    return None  # the Transformer's KVCache has one length for the whole batch: no rollback


def _set_row_state(state, row: int, saved) -> None:
    if isinstance(state, torch.Tensor):
        state[:, row] = saved
    else:
        for tensor, part in zip(state, saved):
            tensor[:, row] = part


def never_written(vocab) -> list[int]:
    """Markers a tune never contains: <s>, <unk> and the fill-in-the-middle sentinels (where there are any)."""
    return [vocab.bos, vocab.unk, *(i for i in (getattr(vocab, "suf", None), getattr(vocab, "mid", None))
                                    if i is not None)]


class _Chooser:
    """Picks each tune's next token: forced by its script, or sampled among what the constraint allows."""

    def __init__(self, vocab, settings: SamplingSettings, generator: torch.Generator):
        self.vocab, self.settings, self.generator = vocab, settings, generator
        self.script_masks: dict[tuple, torch.Tensor] = {}

    def scripted(self, tune: _Tune, logits: torch.Tensor) -> int:
        """Where the script forces text: the model picks among the tokens that write it.

        With characters that is the one forced character; with ABC tokens a field such as
        `M:` with a free value may be written as the single token `M:6/8`, as in training.
        """
        follower = tune.follower
        key = (follower.name, follower.item, follower.offset)
        if key not in self.script_masks:
            mask = torch.tensor([follower.accepts(token) for token in self.vocab.tokens])
            mask[[self.vocab.eos, *never_written(self.vocab)]] = False
            self.script_masks[key] = mask
        probs = torch.softmax(self.scaled(logits, self.script_masks[key]), dim=-1)
        token = self.sample(tune, probs) if torch.isfinite(probs).all() else None
        return token if token is not None else self.vocab.index[follower.forced()]

    def scaled(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits under the temperature, -inf where mask is False (no top-k/top-p: the set is already cut)."""
        return (logits / max(self.settings.temperature, 1e-6)).masked_fill(~mask, float("-inf"))

    def allowed(self, tune: _Tune, token: int) -> bool:
        if tune.state is None:
            return True
        if token == self.vocab.eos:
            return tune.state.can_end()
        return tune.state.allows(self.vocab.tokens[token])

    def sample(self, tune: _Tune, probs: torch.Tensor) -> int | None:
        """Draw from probs, refusing what the constraint forbids and renormalising; None when nothing is left.

        Drawing, then removing a refused token and drawing again, samples exactly from
        the distribution restricted to the allowed tokens, while checking only the tokens drawn.
        """
        probs = probs.clone()
        while probs.sum() > 0:
            token = int(torch.multinomial(probs, 1, generator=self.generator))
            if self.allowed(tune, token):
                return token
            probs[token] = 0.0
        return None

    def sample_any_allowed(self, tune: _Tune, logits: torch.Tensor) -> int | None:
        """The corner case: every token top-k/top-p kept is refused, so look at all of them."""
        mask = torch.tensor([self.allowed(tune, token) for token in range(len(self.vocab))])
        mask[never_written(self.vocab)] = False
        if not mask.any():
            return None
        scaled = self.scaled(logits, mask)
        probs = torch.softmax(scaled, dim=-1)
        if not torch.isfinite(probs).all() or probs.sum() <= 0:  # every allowed token underflowed
            return int(scaled.argmax())
        return int(torch.multinomial(probs, 1, generator=self.generator))


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
    seed: int | None = None,
    form: Form | str | None = None,
    keys: Sequence[str] | None = None,
    pitch_range: tuple[int, int] | None = None,
    candidates: int = 1,
) -> list[Sample]:
    """Sample `num` tunes in one batch. Same model, options and seed -> same tunes; seed None
    draws a fresh one (each Sample says which).

    With settings.constrain (the default) every tune is kept well formed as it is written
    (see tunesmith.abc.grammar): bars add up, brackets close, the tune ends at a bar line,
    and a `form` (parts x bars per part) is followed exactly. form "auto" draws each tune's
    type, form and cadences from the model's training tunes (tunesmith.data.forms) where the
    request leaves them open; None or "free" asks for none. `keys` are the keys a tune that
    names none may be in (a player's or a session's: drawn in the tune books' proportions);
    `pitch_range` (lowest, highest MIDI note) keeps every note playable on an instrument.
    `candidates` writes each request that many times, one after another (num x candidates samples
    come back), for a critic to choose among.
    """
    model.network.eval()
    seed = fresh_seed() if seed is None else seed
    tunes, prefix = _start_tunes(model, num, key, meter, rhythm, prime, settings, seed, form, keys, pitch_range,
                                 candidates)
    chooser = _Chooser(model.vocab, settings, torch.Generator().manual_seed(seed))
    prefix_ids = model.vocab.encode(prefix)
    written, lengths, finished, scores = decode_batch(model.network, tunes, [model.vocab.bos, *prefix_ids],
                                                      prefix_ids, prime, chooser)
    return [_sample(model.vocab, written[t], lengths[t], bool(finished[t]), tunes[t], seed, scores[t])
            for t in range(len(tunes))]


def decode_batch(network, tunes: list[_Tune], prompt_ids: Sequence[int], shown_ids: Sequence[int], prime: str,
                 chooser: _Chooser):
    """Write every tune of the batch to </s> or max_chars: (tokens written, lengths, finished, (log-likelihood,
    tokens scored)), one row per tune.

    prompt_ids are read before the first draw (<s> and the forced text, or a fill-in-the-middle prompt);
    shown_ids start each row of what is written (the part of the prompt that is the tune's own text).
    """
    vocab, settings, generator = chooser.vocab, chooser.settings, chooser.generator
    device, num = next(network.parameters()).device, len(tunes)
    # written[t] holds tune t's tokens; -1 is a token not yet written.
    written = torch.full((num, settings.max_chars), -1, dtype=torch.long)
    written[:, : len(shown_ids)] = torch.tensor(list(shown_ids), dtype=torch.long)
    lengths = torch.full((num,), len(shown_ids), dtype=torch.long)
    finished = torch.zeros(num, dtype=torch.bool)
    log_likelihood, scored = torch.zeros(num, dtype=torch.float64), torch.zeros(num, dtype=torch.long)
    # Every tune starts with the same prompt, so it is read once for the whole batch.
    logits, state = network(torch.tensor([list(prompt_ids)] * num, device=device))
    logits = logits[:, -1].float().cpu()  # (B, vocab)
    active = torch.arange(num)  # which tune each row of the batch belongs to
    in_script = {t for t in range(num) if not tunes[t].follower.done}
    while len(active):
        logits[:, never_written(vocab)] = float("-inf")
        rows = active.tolist()
        scripted = [row for row, t in enumerate(rows) if t in in_script] if in_script else []
        logits[scripted, vocab.eos] = float("-inf")  # no </s> before the header and prime are written
        probs = torch.softmax(filter_logits(logits, settings), dim=-1)
        chosen = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        # Free sampling past the header needs no Python per tune; the constraint looks at every draw.
        looked_at = range(len(rows)) if settings.constrain else scripted
        stopped = _choose(tunes, rows, looked_at, chosen, probs, logits, state, lengths, chooser, in_script, prime)
        writing = active[~stopped]
        written[writing, lengths[writing]] = chosen[~stopped]
        free = ~stopped
        free[scripted] = False  # the script's text is the request's, not the model's
        token_logp = torch.log_softmax(logits, dim=-1).gather(1, chosen[:, None]).squeeze(1)
        log_likelihood[active[free]] += token_logp[free].double()
        scored[active[free]] += 1
        lengths[writing] += 1
        ended = (chosen == vocab.eos) & ~stopped
        finished[active[ended]] = True
        keep = ~ended & ~stopped & (lengths[active] < settings.max_chars)
        if not keep.all():
            index = keep.nonzero().squeeze(1)
            state = network.select_state(state, index.to(device))
            active, chosen = active[index], chosen[index]
        if len(active):
            logits, state = network(chosen[:, None].to(device), state)
            logits = logits[:, -1].float().cpu()
    return written, lengths, finished, list(zip(log_likelihood.tolist(), scored.tolist()))


def _start_tunes(model: TrainedModel, num: int, key, meter, rhythm, prime: str, settings: SamplingSettings,
                 seed: int, form, keys, pitch_range, candidates: int = 1) -> tuple[list[_Tune], str]:
    """Each tune's request, script and ABC state, moved past the text every tune starts with."""
    check_request(key, meter, keys)
    if candidates < 1:
        raise ValueError(f"candidates must be at least 1 (got {candidates})")
    requests = tune_requests(model, num, key, meter, rhythm, form, random.Random(seed), keys)
    requests = [request for request in requests for _ in range(candidates)]
    scripts = [header_script(k, m, r, prime) for k, m, r, _ in requests]
    for script in {tuple(s) for s in scripts}:
        check_prompt(list(script), model.vocab)
    prefix = os.path.commonprefix([shared_prefix(script) for script in scripts])
    if len(prefix) >= settings.max_chars:
        raise ValueError(f"the prompt is {len(prefix)} characters, no shorter than max-chars {settings.max_chars}")
    if any(f is not None for *_, f in requests) and not settings.constrain:
        raise ValueError("a form (parts, bars per part) needs constrained sampling")
    if pitch_range is not None and not settings.constrain:
        raise ValueError("an instrument's range needs constrained sampling")
    tunes = [_Tune(ScriptFollower(script), TuneState(f, pitch_range) if settings.constrain else None, form=f,
                   phrases=PhraseCopier(f.copies) if f is not None and f.copies else None)
             for script, (*_, f) in zip(scripts, requests)]
    for tune in tunes:
        _advance(tune, prefix, prime)
    return tunes, prefix


def _choose(tunes: list[_Tune], rows: list[int], looked_at, chosen: torch.Tensor, probs: torch.Tensor,
            logits: torch.Tensor, state, lengths: torch.Tensor, chooser: _Chooser, in_script: set[int],
            prime: str) -> torch.Tensor:
    """Replace each looked-at row's draw by the token its script or constraint gives; True where a tune gave up."""
    stopped = torch.zeros(len(rows), dtype=torch.bool)
    drawn = chosen.tolist()
    for row in looked_at:
        tune = tunes[rows[row]]
        if tune.snapshot_due:
            _take_snapshot(tune, lengths[rows[row]], state, row, logits[row])
        token = _next_token(tune, row, drawn[row], probs[row], logits, state, lengths, rows[row], chooser)
        if token is None:  # nothing at all is allowed: give the tune up, unfinished
            tune.dead_end, stopped[row] = True, True
            continue
        chosen[row] = token
        if token != chooser.vocab.eos:
            _advance(tune, chooser.vocab.tokens[token], prime)
        if tune.follower.done:
            in_script.discard(rows[row])
    return stopped


def _advance(tune: _Tune, text: str, prime: str) -> None:
    """Move the tune's script and ABC state past text; a prompt the constraint refuses is an error."""
    for char in text:
        forced = tune.follower.forced() is not None
        tune.follower.advance(char)
        if tune.state is None:
            continue
        was_sign = tune.state.mode == "sign"
        if not tune.state.push(char):
            if forced:
                shown = (prime or "header") if len(prime) <= 40 else prime[:40] + "..."
                raise ValueError(f"the opening {shown!r} cannot start a well-formed tune (refused at {char!r}); "
                                 "sample with constrain=False (--free) to use it")
            raise AssertionError("a token the constraint allowed was refused")  # a bug, never input
        if tune.phrases is not None:
            tune.phrases.observe(tune.state, char, was_sign)
        if not was_sign and tune.state.mode == "sign" and tune.follower.done:
            tune.snapshot_due = True  # a bar line starts: the place to come back to


def _take_snapshot(tune: _Tune, length: torch.Tensor, state, row: int, logits: torch.Tensor) -> None:
    tune.snapshot_due, tune.bar_rollbacks = False, 0
    phrases = tune.phrases.copy() if tune.phrases is not None else None
    tune.snapshot = (int(length), tune.state.copy(), _row_state(state, row), logits.clone(), phrases)


def _next_token(tune: _Tune, row: int, drawn: int, probs: torch.Tensor, logits: torch.Tensor, state,
                lengths: torch.Tensor, t: int, chooser: _Chooser) -> int | None:
    """The token for this tune: forced by the script, the one drawn if allowed, else a redraw."""
    if tune.follower.forced() is not None:
        return chooser.scripted(tune, logits[row])
    if tune.state is not None and tune.state.must_end():
        return chooser.vocab.eos  # a filled gap written to its last sign: the kept bars follow
    if tune.phrases is not None:
        repeat = tune.phrases.next_token(tune.state, chooser.vocab, drawn)
        if repeat is not None:
            return repeat
    if chooser.allowed(tune, drawn):
        return drawn
    token = chooser.sample(tune, probs)
    while token is None and _roll_back(tune, row, logits, state, lengths, t):
        token = chooser.sample(tune, torch.softmax(filter_logits(logits[row], chooser.settings), dim=-1))
    if token is None and tune.state is not None and tune.state.cadence_due() and tune.state.relax_cadence():
        tune.cadences_dropped += 1  # the part ends where the model can take it
        token = chooser.sample(tune, torch.softmax(filter_logits(logits[row], chooser.settings), dim=-1))
    if token is None:
        tune.fallbacks += 1
        token = chooser.sample_any_allowed(tune, logits[row])
    return token


def _roll_back(tune: _Tune, row: int, logits: torch.Tensor, state, lengths: torch.Tensor, t: int) -> bool:
    """Go back to the last bar line, model state included, to write the bar again (bounded)."""
    snapshot = tune.snapshot
    if snapshot is None or snapshot[2] is None:
        return False
    cadence = snapshot[1].cadence_due()  # a part's last bar, written again until it ends where asked
    if tune.bar_rollbacks >= (MAX_CADENCE_ROLLBACKS if cadence else MAX_ROLLBACKS_PER_BAR) or (
            not cadence and tune.rollbacks >= MAX_ROLLBACKS_PER_TUNE):
        return False
    length, tune_state, row_state, row_logits, phrases = snapshot
    tune.rollbacks += 1
    tune.bar_rollbacks += 1
    tune.state = tune_state.copy()
    tune.phrases = phrases.copy() if phrases is not None else None
    _set_row_state(state, row, row_state)
    logits[row] = row_logits
    lengths[t] = length
    return True


def _sample(vocab, row: torch.Tensor, length: torch.Tensor, finished: bool, tune: _Tune, seed: int,
            score: tuple[float, int]) -> Sample:
    ids = [i for i in row[: int(length)].tolist() if i >= 0]
    form, cadences = (form_key(tune.form), tune.form.cadences) if tune.form else (FREE, ())
    copies = tuple(tune.phrases.copied) if tune.phrases is not None else ()
    return Sample(vocab.decode(ids), finished, tune.rollbacks, tune.fallbacks, tune.dead_end, seed,
                  form, cadences, tune.cadences_dropped, copies, *score)


def generate(
    model: TrainedModel,
    num: int = 1,
    *,
    settings: SamplingSettings = SamplingSettings(),
    seed: int | None = None,
    key: str | None = None,
    meter: str | None = None,
    rhythm: str | None = None,
    prime: str = "",
    parts: int | None = None,
    bars_per_part: int = 8,
    repeats: bool = True,
    pickup: bool | None = None,
    form: str = "auto",
    instrument: str | None = None,
    keys: Sequence[str] | None = None,
    **overrides: object,
) -> list[str]:
    """New tunes as ABC text. Overrides tweak the settings: generate(m, 4, temperature=0.8).

    parts / bars_per_part ask for a form (a reel is usually parts=2, bars_per_part=8, repeated);
    without them, form "auto" gives each tune a form and cadences like the training tunes of its
    type, and "free" none. constrain=False samples freely, as the lab did (no form).
    instrument ("whistle", "fiddle", ... see tunesmith.abc.instruments) keeps every note in its
    range and, unless key or keys say otherwise, the tune in a key players use on it; keys
    (e.g. ["D", "G", "Em", "Ador"]) are the keys a tune may be in when key is not given.
    Example: generate(load_model("default"), num=2, key="D", meter="C|", rhythm="reel", seed=1)
    """
    settings = replace(settings, **overrides)
    chosen: Form | str | None = Form(parts, bars_per_part, repeats, pickup) if parts else form
    if not settings.constrain and chosen == "auto":
        chosen = None
    pitch_range, keys = instrument_request(instrument, keys)
    samples = sample_tunes(model, num, key=key, meter=meter, rhythm=rhythm, prime=prime, settings=settings,
                           seed=seed, form=chosen, keys=keys, pitch_range=pitch_range)
    return [sample.text for sample in samples]


