"""Sampling: many tunes at once in one batch (tunesmith.sample.decoding), each stopped at </s>.

A tune is written by following a *script* (tunesmith.sample.script): forced text (the header
you asked for, your opening phrase) alternating with free lines the model writes itself (the
title, any header field you left open). Everything after the script is free until </s>, and
with the constraint (tunesmith.abc.grammar) every bar comes out right.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import torch

from tunesmith.abc.grammar import Form, TuneState
from tunesmith.sample.decoding import Chooser, Draft, advance, decode_batch, filter_logits, to_sample, tune_rng
from tunesmith.sample.phrases import PhraseCopier
from tunesmith.sample.requests import check_request, instrument_request, request_warnings, tune_requests
from tunesmith.sample.script import FREE_LINE, ScriptFollower, check_prompt, header_script, shared_prefix
from tunesmith.sample.settings import Sample, SamplingSettings, fresh_seed
from tunesmith.store.checkpoint import TrainedModel

if TYPE_CHECKING:
    from tunesmith.sample.service import SamplerService

# Re-exported: the CLI, the web page and notebooks import these from here.
__all__ = ["FREE_LINE", "Sample", "SamplingSettings", "ScriptFollower", "check_request", "filter_logits",
           "fresh_seed", "generate", "header_script", "make_drafts", "request_warnings", "sample_tunes",
           "tune_requests"]


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
    rows: int | None = None,
    service: SamplerService | None = None,
) -> list[Sample]:
    """Sample `num` tunes, `rows` at a time (tunesmith.sample.decoding: a finished tune's row takes the
    next one). Same model, options and seed -> same tunes, whatever `rows`; seed None draws a fresh
    one (each Sample says which).

    With settings.constrain (the default) every tune is kept well formed as it is written
    (see tunesmith.abc.grammar): bars add up, brackets close, the tune ends at a bar line,
    and a `form` (parts x bars per part) is followed exactly. form "auto" draws each tune's
    type, form and cadences from the model's training tunes (tunesmith.data.forms) where the
    request leaves them open; None or "free" asks for none. `keys` are the keys a tune that
    names none may be in (a player's or a session's: drawn in the tune books' proportions);
    `pitch_range` (lowest, highest MIDI note) keeps every note playable on an instrument.
    `candidates` writes each request that many times, one after another (num x candidates samples
    come back), for a critic to choose among. A `service` (tunesmith.sample.service) writes them in its
    own running batch, beside other callers' tunes (the same tunes: each has its own random stream).
    """
    model.network.eval()
    seed = fresh_seed() if seed is None else seed
    tunes, prefix = make_drafts(model, num, key, meter, rhythm, prime, settings, seed, form, keys, pitch_range,
                                 candidates, shared_prompt=service is None)
    prefix_ids = model.vocab.encode(prefix)
    for tune in tunes:
        tune.ids = list(prefix_ids)
    if service is not None:  # written beside other requests' tunes, by the service's own thread
        return service.write(tunes)
    decode_batch(model.network, tunes, [model.vocab.bos, *prefix_ids], Chooser(model.vocab), rows)
    refused = next((tune.error for tune in tunes if tune.error is not None), None)
    if refused is not None:
        raise refused
    return [to_sample(model.vocab, tune) for tune in tunes]


def make_drafts(model: TrainedModel, num: int, key, meter, rhythm, prime: str, settings: SamplingSettings,
                 seed: int, form, keys, pitch_range, candidates: int = 1,
                 shared_prompt: bool = True) -> tuple[list[Draft], str]:
    """The Drafts sample_tunes writes (each tune's request, script, ABC state and random stream), moved past
    the text every tune starts with, and that text (the shared prompt, read once for the batch; without
    one, each tune's script is followed from its first character). For callers that drive
    tunesmith.sample.decoding themselves, e.g. to time each tune."""
    check_request(key, meter, keys)
    if candidates < 1:
        raise ValueError(f"candidates must be at least 1 (got {candidates})")
    requests = tune_requests(model, num, key, meter, rhythm, form, random.Random(seed), keys)
    requests = [request for request in requests for _ in range(candidates)]
    scripts = [header_script(k, m, r, prime) for k, m, r, _ in requests]
    for script in {tuple(s) for s in scripts}:
        check_prompt(list(script), model.vocab)
    prefix = os.path.commonprefix([shared_prefix(script) for script in scripts]) if shared_prompt else ""
    if len(prefix) >= settings.max_chars:
        raise ValueError(f"the prompt is {len(prefix)} characters, no shorter than max-chars {settings.max_chars}")
    if any(f is not None for *_, f in requests) and not settings.constrain:
        raise ValueError("a form (parts, bars per part) needs constrained sampling")
    if pitch_range is not None and not settings.constrain:
        raise ValueError("an instrument's range needs constrained sampling")
    tunes = [Draft(ScriptFollower(script), TuneState(f, pitch_range) if settings.constrain else None,
                   tune_rng(seed, place), settings, seed, prime, form=f,
                   phrases=PhraseCopier(f.copies) if f is not None and f.copies else None)
             for place, (script, (*_, f)) in enumerate(zip(scripts, requests))]
    for tune in tunes:
        advance(tune, prefix)
    return tunes, prefix


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
    service: SamplerService | None = None,
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
                           seed=seed, form=chosen, keys=keys, pitch_range=pitch_range, service=service)
    return [sample.text for sample in samples]


