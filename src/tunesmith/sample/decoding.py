"""The decode loop: tunes written token by token in a batch whose rows stay full.

A batch has a fixed number of rows. Every tune of a call starts from the same prompt, read
once; when a tune writes </s> (or reaches max_chars, or gives up), its row takes the next
waiting tune at once, so the matmuls stay as wide as the work allows (continuous batching).
Each tune draws from its own random stream (`tune_rng(seed, place)`), so what it writes does
not depend on the row it ran in, on the batch's width or on the tunes beside it.

With the constraint (tunesmith.abc.grammar) each draw is pushed once through a copy of the
tune's ABC state: an allowed draw keeps that copy, a refused one is drawn again among the rest.
A bar that cannot be finished is written again from its bar line (a rollback), model state
included, for models whose state has one row per tune (the RNNs; a Transformer's cache has one
length for the whole batch, so it neither rolls back nor takes new tunes into finished rows).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from tunesmith.abc.grammar import Form, TuneState
from tunesmith.data.forms import FREE, form_key
from tunesmith.sample.phrases import PhraseCopier
from tunesmith.sample.script import ScriptFollower
from tunesmith.sample.settings import Sample, SamplingSettings

__all__ = ["DEFAULT_ROWS", "Chooser", "Draft", "decode_batch", "draw", "filter_logits", "never_written",
           "to_sample", "tune_rng"]

# Rows of a batch: past this the matmuls of the default preset gain little on 2 cores
# (benchmarks.run's batch sweep), and more tunes wait for a free row instead.
DEFAULT_ROWS = 64

MAX_ROLLBACKS_PER_BAR = 3  # then the bar is written from the whole (unfiltered) distribution
MAX_CADENCE_ROLLBACKS = 12  # the last bar of a part that must end on a degree: then that degree is given up
MAX_ROLLBACKS_PER_TUNE = 30


def tune_rng(seed: int, place: int) -> random.Random:
    """The random stream of the tune at this place of a request (a str seed is hashed the same on any machine)."""
    return random.Random(f"tunesmith {seed} {place}")


@dataclass
class Draft:
    """One tune being written: its script, its ABC state, its random stream and what the constraint had to do."""

    follower: ScriptFollower
    state: TuneState | None  # None: sampling is free
    rng: random.Random
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


def draw(probs: torch.Tensor, rng: random.Random) -> int | None:
    """One token from a row of weights (any sum) by inverse CDF on the tune's stream; None when all are 0."""
    cdf = probs.double().cumsum(-1)
    total = float(cdf[-1])
    if not total > 0:  # also NaN
        return None
    index = int(torch.searchsorted(cdf, torch.tensor([rng.random() * total], dtype=torch.float64), right=True))
    return min(index, len(cdf) - 1)  # the first index whose cdf passes the draw: never a 0 weight


def _draw_rows(probs: torch.Tensor, rngs: list[random.Random]) -> torch.Tensor:
    """draw() for every row at once, each row from its own tune's stream."""
    cdf = probs.double().cumsum(-1)
    targets = torch.tensor([rng.random() for rng in rngs], dtype=torch.float64) * cdf[:, -1]
    return torch.searchsorted(cdf, targets[:, None], right=True).squeeze(1).clamp_(max=probs.size(-1) - 1)


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


class Chooser:
    """Picks each tune's next token: forced by its script, or drawn among what the constraint allows."""

    def __init__(self, vocab, settings: SamplingSettings):
        self.vocab, self.settings = vocab, settings
        self.script_masks: dict[tuple, torch.Tensor] = {}

    def scripted(self, tune: Draft, logits: torch.Tensor) -> int:
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
        mask = self.script_masks[key]
        if int(mask.sum()) == 1:  # one token writes it: nothing to draw (so a longer shared prompt changes nothing)
            return int(mask.nonzero())
        probs = torch.softmax(self.scaled(logits, mask), dim=-1)
        drawn = self.sample(tune, probs) if torch.isfinite(probs).all() else None
        return drawn[0] if drawn is not None else self.vocab.index[follower.forced()]

    def scaled(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits under the temperature, -inf where mask is False (no top-k/top-p: the set is already cut)."""
        return (logits / max(self.settings.temperature, 1e-6)).masked_fill(~mask, float("-inf"))

    def passes(self, tune: Draft, token: int) -> tuple[bool, TuneState | None]:
        """Whether the constraint takes token here, and the tune's ABC state past it (None: nothing to keep)."""
        if tune.state is None:
            return True, None
        if token == self.vocab.eos:
            return tune.state.can_end(), None
        trial = tune.state.copy()
        return trial.push_text(self.vocab.tokens[token]), trial

    def sample(self, tune: Draft, probs: torch.Tensor) -> tuple[int, TuneState | None] | None:
        """Draw from probs, refusing what the constraint forbids: (token, state past it), None when nothing is left.

        Drawing, then removing a refused token and drawing again, samples exactly from
        the distribution restricted to the allowed tokens, while checking only the tokens drawn.
        """
        probs = probs.clone()
        while (token := draw(probs, tune.rng)) is not None:
            ok, trial = self.passes(tune, token)
            if ok:
                return token, trial
            probs[token] = 0.0
        return None

    def sample_any_allowed(self, tune: Draft, logits: torch.Tensor) -> int | None:
        """The corner case: every token top-k/top-p kept is refused, so look at all of them."""
        mask = torch.tensor([self.passes(tune, token)[0] for token in range(len(self.vocab))])
        mask[never_written(self.vocab)] = False
        if not mask.any():
            return None
        scaled = self.scaled(logits, mask)
        probs = torch.softmax(scaled, dim=-1)
        token = draw(probs, tune.rng) if torch.isfinite(probs).all() else None
        return token if token is not None else int(scaled.argmax())  # every allowed token underflowed


def decode_batch(network, tunes: list[Draft], prompt_ids: Sequence[int], shown_ids: Sequence[int], prime: str,
                 chooser: Chooser, rows: int | None = None):
    """Write every tune to </s> or max_chars, `rows` at a time (default DEFAULT_ROWS): (tokens written,
    lengths, finished, (log-likelihood, tokens scored)), one row per tune, in the order of `tunes`.

    prompt_ids are read before the first draw (<s> and the forced text, or a fill-in-the-middle prompt);
    shown_ids start each row of what is written (the part of the prompt that is the tune's own text).
    """
    vocab, settings = chooser.vocab, chooser.settings
    device, num = next(network.parameters()).device, len(tunes)
    if rows is not None and rows < 1:
        raise ValueError(f"rows must be at least 1 (got {rows})")
    # written[t] holds tune t's tokens; -1 is a token not yet written.
    written = torch.full((num, settings.max_chars), -1, dtype=torch.long)
    written[:, : len(shown_ids)] = torch.tensor(list(shown_ids), dtype=torch.long)
    lengths = torch.full((num,), len(shown_ids), dtype=torch.long)
    finished = torch.zeros(num, dtype=torch.bool)
    log_likelihood, scored = torch.zeros(num, dtype=torch.float64), torch.zeros(num, dtype=torch.long)
    # Every tune starts with the same prompt, so it is read once, and each new row starts from it.
    prompt_logits, prompt_state = network(torch.tensor([list(prompt_ids)], device=device))
    prompt_logits, prompt_row = prompt_logits[:, -1].float().cpu(), _row_state(prompt_state, 0)
    width = num if prompt_row is None else min(num, rows or DEFAULT_ROWS)
    state = network.select_state(prompt_state, torch.zeros(width, dtype=torch.long, device=device))
    logits = prompt_logits.repeat(width, 1)  # (rows, vocab)
    active = torch.arange(width)  # which tune each row of the batch is writing
    waiting = width  # the next tune to start
    in_script = {t for t in range(num) if not tunes[t].follower.done}
    while len(active):
        logits[:, never_written(vocab)] = float("-inf")
        rows_now = active.tolist()
        scripted = [row for row, t in enumerate(rows_now) if t in in_script] if in_script else []
        logits[scripted, vocab.eos] = float("-inf")  # no </s> before the header and prime are written
        probs = torch.softmax(filter_logits(logits, settings), dim=-1)
        chosen = _draw_rows(probs, [tunes[t].rng for t in rows_now])
        # Free sampling past the header needs no Python per tune; the constraint looks at every draw.
        looked_at = range(len(rows_now)) if settings.constrain else scripted
        stopped = _choose(tunes, rows_now, looked_at, chosen, probs, logits, state, lengths, chooser, in_script,
                          prime)
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
        fresh = torch.zeros(len(active), dtype=torch.bool)  # rows that take a waiting tune now
        for row in (~keep).nonzero().squeeze(1).tolist()[: num - waiting]:
            active[row], fresh[row], keep[row] = waiting, True, True
            waiting += 1
        if not keep.all():
            index = keep.nonzero().squeeze(1)
            state = network.select_state(state, index.to(device))
            active, chosen, fresh = active[index], chosen[index], fresh[index]
        if len(active):
            logits, state = network(chosen[:, None].to(device), state)
            logits = logits[:, -1].float().cpu()
            for row in fresh.nonzero().squeeze(1).tolist():  # a new tune: the prompt read, nothing written
                logits[row] = prompt_logits[0]
                _set_row_state(state, row, prompt_row)
    return written, lengths, finished, list(zip(log_likelihood.tolist(), scored.tolist()))


def _choose(tunes: list[Draft], rows: list[int], looked_at, chosen: torch.Tensor, probs: torch.Tensor,
            logits: torch.Tensor, state, lengths: torch.Tensor, chooser: Chooser, in_script: set[int],
            prime: str) -> torch.Tensor:
    """Replace each looked-at row's draw by the token its script or constraint gives; True where a tune gave up."""
    stopped = torch.zeros(len(rows), dtype=torch.bool)
    drawn = chosen.tolist()
    for row in looked_at:
        tune = tunes[rows[row]]
        if tune.snapshot_due:
            _take_snapshot(tune, lengths[rows[row]], state, row, logits[row])
        token, trial = _next_token(tune, row, drawn[row], probs[row], logits, state, lengths, rows[row], chooser)
        if token is None:  # nothing at all is allowed: give the tune up, unfinished
            tune.dead_end, stopped[row] = True, True
            continue
        chosen[row] = token
        if token != chooser.vocab.eos:
            advance(tune, chooser.vocab.tokens[token], prime, trial)
        if tune.follower.done:
            in_script.discard(rows[row])
    return stopped


def advance(tune: Draft, text: str, prime: str, pushed: TuneState | None = None) -> None:
    """Move the tune's script and ABC state past text; a prompt the constraint refuses is an error.

    pushed is the state past text when the chooser has already pushed it there (one character).
    """
    if pushed is not None and len(text) == 1:
        _advance_char(tune, text, prime, pushed)
        return
    for char in text:
        _advance_char(tune, char, prime)


def _advance_char(tune: Draft, char: str, prime: str, pushed: TuneState | None = None) -> None:
    forced = tune.follower.forced() is not None
    tune.follower.advance(char)
    if tune.state is None:
        return
    was_sign = tune.state.mode == "sign"
    if pushed is not None:
        tune.state = pushed
    elif not tune.state.push(char):
        if forced:
            shown = (prime or "header") if len(prime) <= 40 else prime[:40] + "..."
            raise ValueError(f"the opening {shown!r} cannot start a well-formed tune (refused at {char!r}); "
                             "sample with constrain=False (--free) to use it")
        raise AssertionError("a token the constraint allowed was refused")  # a bug, never input
    if tune.phrases is not None:
        tune.phrases.observe(tune.state, char, was_sign)
    if not was_sign and tune.state.mode == "sign" and tune.follower.done:
        tune.snapshot_due = True  # a bar line starts: the place to come back to


def _take_snapshot(tune: Draft, length: torch.Tensor, state, row: int, logits: torch.Tensor) -> None:
    tune.snapshot_due, tune.bar_rollbacks = False, 0
    phrases = tune.phrases.copy() if tune.phrases is not None else None
    tune.snapshot = (int(length), tune.state.copy(), _row_state(state, row), logits.clone(), phrases)


def _next_token(tune: Draft, row: int, drawn: int, probs: torch.Tensor, logits: torch.Tensor, state,
                lengths: torch.Tensor, t: int, chooser: Chooser) -> tuple[int | None, TuneState | None]:
    """The token for this tune (forced by the script, the one drawn if allowed, else a redraw) and the
    tune's ABC state past it where the chooser has pushed it there."""
    if tune.follower.forced() is not None:
        return chooser.scripted(tune, logits[row]), None
    if tune.state is not None and tune.state.must_end():
        return chooser.vocab.eos, None  # a filled gap written to its last sign: the kept bars follow
    if tune.phrases is not None:
        repeat = tune.phrases.next_token(tune.state, chooser.vocab, drawn)
        if repeat is not None:
            return repeat, None
    ok, trial = chooser.passes(tune, drawn)
    if ok:
        return drawn, trial
    choice = chooser.sample(tune, probs)
    while choice is None and _roll_back(tune, row, logits, state, lengths, t):
        choice = chooser.sample(tune, torch.softmax(filter_logits(logits[row], chooser.settings), dim=-1))
    if choice is None and tune.state is not None and tune.state.cadence_due() and tune.state.relax_cadence():
        tune.cadences_dropped += 1  # the part ends where the model can take it
        choice = chooser.sample(tune, torch.softmax(filter_logits(logits[row], chooser.settings), dim=-1))
    if choice is not None:
        return choice
    tune.fallbacks += 1
    return chooser.sample_any_allowed(tune, logits[row]), None


def _roll_back(tune: Draft, row: int, logits: torch.Tensor, state, lengths: torch.Tensor, t: int) -> bool:
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


def to_sample(vocab, row: torch.Tensor, length: torch.Tensor, finished: bool, tune: Draft, seed: int,
              score: tuple[float, int]) -> Sample:
    """What decode_batch wrote for one tune, as the Sample callers see."""
    ids = [i for i in row[: int(length)].tolist() if i >= 0]
    form, cadences = (form_key(tune.form), tune.form.cadences) if tune.form else (FREE, ())
    copies = tuple(tune.phrases.copied) if tune.phrases is not None else ()
    return Sample(vocab.decode(ids), finished, tune.rollbacks, tune.fallbacks, tune.dead_end, seed,
                  form, cadences, tune.cadences_dropped, copies, *score)
