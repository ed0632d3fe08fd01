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
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

import torch

from tunesmith.abc.grammar import Form, TuneState
from tunesmith.data.forms import FREE, form_key
from tunesmith.sample.phrases import PhraseCopier
from tunesmith.sample.script import ScriptFollower
from tunesmith.sample.settings import Sample, SamplingSettings

__all__ = ["DEFAULT_ROWS", "Chooser", "Draft", "decode", "decode_batch", "draw", "filter_logits",
           "never_written", "to_sample", "tune_rng"]

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
    """One tune being written: its script, ABC state, settings and random stream, what it has written so far
    and what the constraint had to do."""

    follower: ScriptFollower
    state: TuneState | None  # None: sampling is free
    rng: random.Random
    settings: SamplingSettings = SamplingSettings()
    seed: int | None = None  # the request's: reported with the tune
    prime: str = ""  # the opening phrase asked for (named when the constraint refuses it)
    form: Form | None = None
    phrases: PhraseCopier | None = None  # the bars the form plays again (tunesmith.sample.phrases)
    ids: list[int] = field(default_factory=list)  # the tune's tokens: its own part of the prompt, then written
    finished: bool = False  # </s> written
    dead_end: bool = False  # nothing at all was allowed: given up, unfinished
    log_likelihood: float = 0.0  # nats of the tokens the model chose (the script's not counted)
    scored: int = 0
    rollbacks: int = 0
    bar_rollbacks: int = 0
    fallbacks: int = 0  # steps where the filtered (top-k/top-p) choices were all refused
    cadences_dropped: int = 0
    # (length, TuneState, model state row, logits row, filtered probabilities, PhraseCopier) at the last bar line
    snapshot: tuple | None = None
    snapshot_due: bool = False
    done: Callable[[Draft], None] | None = None  # called once the tune is finished, cut or given up
    error: ValueError | None = None  # the request's own text (its opening phrase) refused by the constraint


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


def draw(weights: Sequence[float], rng: random.Random) -> int | None:
    """One token from a row of weights (any sum) by inverse CDF on the tune's stream; None when all are 0.

    Plain Python: for one row of a hundred weights it is several times quicker than torch's small ops.
    """
    cdf = list(accumulate(weights))
    total = cdf[-1]
    if not total > 0:  # also NaN
        return None
    index = bisect_right(cdf, rng.random() * total)  # the first index whose cdf passes the draw: a weight > 0
    return index if index < len(cdf) else max(i for i, w in enumerate(weights) if w > 0)


def _draw_rows(probs: torch.Tensor, tunes: list[Draft]) -> torch.Tensor:
    """draw() for every row at once, each row from its own tune's stream.

    A row whose script forces its next text draws nothing from its stream (the script decides), so a
    tune's draws are the same whether its header was read as a shared prompt or forced a token at a time.
    """
    cdf = probs.double().cumsum(-1)
    uniforms = [0.0 if tune.follower.forced() is not None else tune.rng.random() for tune in tunes]
    targets = torch.tensor(uniforms, dtype=torch.float64) * cdf[:, -1]
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

    def __init__(self, vocab):
        self.vocab = vocab
        self.script_masks: dict[tuple, torch.Tensor] = {}
        self.any_mask = torch.ones(len(vocab), dtype=torch.bool)  # every token a tune may contain
        self.any_mask[never_written(vocab)] = False

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
        probs = torch.softmax(_scaled(logits, mask, tune.settings), dim=-1)
        drawn = self.sample(tune, probs) if torch.isfinite(probs).all() else None
        return drawn[0] if drawn is not None else self.vocab.index[follower.forced()]

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
        weights = probs.tolist()
        while (token := draw(weights, tune.rng)) is not None:
            ok, trial = self.passes(tune, token)
            if ok:
                return token, trial
            weights[token] = 0.0
        return None

    def sample_any_allowed(self, tune: Draft, logits: torch.Tensor) -> int | None:
        """The corner case: every token top-k/top-p kept is refused, so draw from all of them (unfiltered)."""
        choice = self.sample(tune, torch.softmax(_scaled(logits, self.any_mask, tune.settings), dim=-1))
        if choice is not None:
            return choice[0]
        # Every allowed token underflowed to probability 0: the likeliest of them, if there is one.
        mask = torch.tensor([self.passes(tune, token)[0] for token in range(len(self.vocab))]) & self.any_mask
        return int(_scaled(logits, mask, tune.settings).argmax()) if mask.any() else None


def _scaled(logits: torch.Tensor, mask: torch.Tensor, settings: SamplingSettings) -> torch.Tensor:
    """Logits under the temperature, -inf where mask is False (no top-k/top-p: the set is already cut)."""
    return (logits / max(settings.temperature, 1e-6)).masked_fill(~mask, float("-inf"))


def _filtered_probs(logits: torch.Tensor, tunes: list[Draft]) -> torch.Tensor:
    """Each row's probabilities under its own tune's temperature, top-k and top-p (rows grouped by settings)."""
    groups: dict[SamplingSettings, list[int]] = {}
    for row, tune in enumerate(tunes):
        groups.setdefault(tune.settings, []).append(row)
    if len(groups) == 1:
        return torch.softmax(filter_logits(logits, tunes[0].settings), dim=-1)
    probs = torch.empty_like(logits)
    for settings, rows in groups.items():
        probs[rows] = torch.softmax(filter_logits(logits[rows], settings), dim=-1)
    return probs


def decode(network, next_tune: Callable[[], Draft | None], prompt_ids: Sequence[int], chooser: Chooser,
           rows: int | None = None) -> None:
    """Write tunes to </s> or their max_chars, `rows` at a time (default DEFAULT_ROWS), each into its Draft.

    next_tune() gives the next tune to start (None: none waiting now); it is asked again whenever a
    row comes free, so tunes may arrive while others are being written. prompt_ids are read before
    every tune's first draw (<s> and the text all of them start with, or a fill-in-the-middle prompt).
    """
    if rows is not None and rows < 1:
        raise ValueError(f"rows must be at least 1 (got {rows})")
    vocab, device = chooser.vocab, next(network.parameters()).device
    prompt_logits, prompt_state = network(torch.tensor([list(prompt_ids)], device=device))
    prompt_logits, prompt_row = prompt_logits[:, -1].float().cpu(), _row_state(prompt_state, 0)
    refills = prompt_row is not None  # a Transformer's cache cannot start a row at another position
    tunes = _take(next_tune, (rows or DEFAULT_ROWS) if refills else None)
    if not tunes:
        return
    state = network.select_state(prompt_state, torch.zeros(len(tunes), dtype=torch.long, device=device))
    logits = prompt_logits.repeat(len(tunes), 1)  # (rows, vocab)
    never, eos = never_written(vocab), vocab.eos
    while tunes:
        logits[:, never] = float("-inf")
        scripted = [row for row, tune in enumerate(tunes) if not tune.follower.done]
        logits[scripted, eos] = float("-inf")  # no </s> before the header and prime are written
        probs = _filtered_probs(logits, tunes)
        chosen = _draw_rows(probs, tunes)
        # Free sampling past the header needs no Python per tune; the constraint looks at every draw.
        looked_at = [row for row, tune in enumerate(tunes) if tune.state is not None or not tune.follower.done]
        stopped = _choose(tunes, looked_at, chosen, probs, logits, state, chooser)
        token_logp = torch.log_softmax(logits, dim=-1).gather(1, chosen[:, None]).squeeze(1).tolist()
        in_script = set(scripted)
        over = []  # rows whose tune is over: written to </s>, cut at max_chars or given up
        for row, (tune, token) in enumerate(zip(tunes, chosen.tolist())):
            if not stopped[row]:
                tune.ids.append(token)
                if row not in in_script:  # the script's text is the request's, not the model's
                    tune.log_likelihood += token_logp[row]
                    tune.scored += 1
                tune.finished = token == eos
            if stopped[row] or tune.finished or len(tune.ids) >= tune.settings.max_chars:
                over.append(row)
                if tune.done is not None:
                    tune.done(tune)
        fresh = []  # rows that start a waiting tune now
        for row in over:
            tune = next_tune() if refills else None
            if tune is None:
                break
            tunes[row] = tune
            fresh.append(row)
        if len(fresh) < len(over):
            gone = set(over) - set(fresh)
            index = [row for row in range(len(tunes)) if row not in gone]
            state = network.select_state(state, torch.tensor(index, dtype=torch.long, device=device))
            tunes, chosen = [tunes[row] for row in index], chosen[index]
            fresh = [index.index(row) for row in fresh]
        if tunes:
            logits, state = network(chosen[:, None].to(device), state)
            logits = logits[:, -1].float().cpu()
            for row in fresh:  # a new tune: the prompt read, nothing written
                logits[row] = prompt_logits[0]
                _set_row_state(state, row, prompt_row)


def decode_batch(network, tunes: list[Draft], prompt_ids: Sequence[int], chooser: Chooser,
                 rows: int | None = None) -> None:
    """decode() for a list of tunes, written in its order (a finished row takes the next)."""
    waiting = iter(tunes)
    decode(network, lambda: next(waiting, None), prompt_ids, chooser, rows)


def _take(next_tune: Callable[[], Draft | None], limit: int | None) -> list[Draft]:
    """Up to limit tunes (None: all there are) from next_tune."""
    tunes = []
    while (limit is None or len(tunes) < limit) and (tune := next_tune()) is not None:
        tunes.append(tune)
    return tunes


def _choose(tunes: list[Draft], looked_at: list[int], chosen: torch.Tensor, probs: torch.Tensor,
            logits: torch.Tensor, state, chooser: Chooser) -> list[bool]:
    """Replace each looked-at row's draw by the token its script or constraint gives; True where a tune gave up."""
    stopped = [False] * len(tunes)
    drawn = chosen.tolist()
    for row in looked_at:
        tune = tunes[row]
        if tune.snapshot_due:
            _take_snapshot(tune, state, row, logits[row], probs[row])
        token, trial = _next_token(tune, row, drawn[row], probs[row], logits, state, chooser)
        if token is None:  # nothing at all is allowed: give the tune up, unfinished
            tune.dead_end, stopped[row] = True, True
            continue
        chosen[row] = token
        if token == chooser.vocab.eos:
            continue
        try:
            advance(tune, chooser.vocab.tokens[token], trial)
        except ValueError as error:  # the tune's own prime refused: it stops, the batch goes on
            tune.error, tune.dead_end, stopped[row] = error, True, True
    return stopped


def advance(tune: Draft, text: str, pushed: TuneState | None = None) -> None:
    """Move the tune's script and ABC state past text; a prompt the constraint refuses is an error.

    pushed is the state past text when the chooser has already pushed it there (one character).
    """
    if pushed is not None and len(text) == 1:
        _advance_char(tune, text, pushed)
        return
    for char in text:
        _advance_char(tune, char)


def _advance_char(tune: Draft, char: str, pushed: TuneState | None = None) -> None:
    forced = tune.follower.forced() is not None
    tune.follower.advance(char)
    if tune.state is None:
        return
    was_sign = tune.state.mode == "sign"
    if pushed is not None:
        tune.state = pushed
    elif not tune.state.push(char):
        if forced:
            prime = tune.prime
            shown = (prime or "header") if len(prime) <= 40 else prime[:40] + "..."
            raise ValueError(f"the opening {shown!r} cannot start a well-formed tune (refused at {char!r}); "
                             "sample with constrain=False (--free) to use it")
        raise AssertionError("a token the constraint allowed was refused")  # a bug, never input
    if tune.phrases is not None:
        tune.phrases.observe(tune.state, char, was_sign)
    if not was_sign and tune.state.mode == "sign" and tune.follower.done:
        tune.snapshot_due = True  # a bar line starts: the place to come back to


def _take_snapshot(tune: Draft, state, row: int, logits: torch.Tensor, probs: torch.Tensor) -> None:
    tune.snapshot_due, tune.bar_rollbacks = False, 0
    phrases = tune.phrases.copy() if tune.phrases is not None else None
    tune.snapshot = (len(tune.ids), tune.state.copy(), _row_state(state, row), logits.clone(), probs.clone(),
                     phrases)


def _next_token(tune: Draft, row: int, drawn: int, probs: torch.Tensor, logits: torch.Tensor, state,
                chooser: Chooser) -> tuple[int | None, TuneState | None]:
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
    while choice is None and (at_bar_line := _roll_back(tune, row, logits, state)) is not None:
        probs = at_bar_line
        choice = chooser.sample(tune, probs)
    if choice is None and tune.state is not None and tune.state.cadence_due() and tune.state.relax_cadence():
        tune.cadences_dropped += 1  # the part ends where the model can take it
        choice = chooser.sample(tune, probs)
    if choice is not None:
        return choice
    tune.fallbacks += 1
    return chooser.sample_any_allowed(tune, logits[row]), None


def _roll_back(tune: Draft, row: int, logits: torch.Tensor, state) -> torch.Tensor | None:
    """Go back to the last bar line, model state included, to write the bar again (bounded): the
    filtered probabilities there, or None when the tune cannot go back."""
    snapshot = tune.snapshot
    if snapshot is None or snapshot[2] is None:
        return None
    cadence = snapshot[1].cadence_due()  # a part's last bar, written again until it ends where asked
    if tune.bar_rollbacks >= (MAX_CADENCE_ROLLBACKS if cadence else MAX_ROLLBACKS_PER_BAR) or (
            not cadence and tune.rollbacks >= MAX_ROLLBACKS_PER_TUNE):
        return None
    length, tune_state, row_state, row_logits, row_probs, phrases = snapshot
    tune.rollbacks += 1
    tune.bar_rollbacks += 1
    tune.state = tune_state.copy()
    tune.phrases = phrases.copy() if phrases is not None else None
    _set_row_state(state, row, row_state)
    logits[row] = row_logits
    del tune.ids[length:]
    return row_probs


def to_sample(vocab, tune: Draft) -> Sample:
    """What the decoder wrote for one tune, as the Sample callers see."""
    form, cadences = (form_key(tune.form), tune.form.cadences) if tune.form else (FREE, ())
    copies = tuple(tune.phrases.copied) if tune.phrases is not None else ()
    return Sample(vocab.decode(tune.ids), tune.finished, tune.rollbacks, tune.fallbacks, tune.dead_end, tune.seed,
                  form, cadences, tune.cadences_dropped, copies, tune.log_likelihood, tune.scored)
