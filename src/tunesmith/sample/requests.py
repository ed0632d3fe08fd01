"""What each tune of a batch is asked for: key, metre, rhythm and form, drawn where the request
leaves them open (tunesmith.data.forms), and the request checked in words before any sampling."""

from __future__ import annotations

import random
from collections.abc import Sequence

from tunesmith.abc.grammar import Form
from tunesmith.abc.instruments import instrument
from tunesmith.abc.text import canonical_key, canonical_rhythm, meter_fraction
from tunesmith.abc.theory import is_written_key
from tunesmith.data.forms import FREE, draw_key, draw_request, with_phrases
from tunesmith.store.checkpoint import TrainedModel


def tune_requests(model: TrainedModel, num: int, key: str | None, meter: str | None, rhythm: str | None,
                  form: Form | str | None, rng: random.Random, keys: Sequence[str] | None = None) -> list[tuple]:
    """(key, meter, rhythm, form) for each tune of a batch; form "auto" draws what was left open.

    keys: the keys a tune that names none may be in, drawn in the tune books' proportions."""
    table = model.meta.get("forms") or {}
    allowed = tuple(canonical_key(k) for k in keys) if keys and key is None else None
    if form == "auto" and table:
        drawn = [draw_request(table, rng, rhythm and canonical_rhythm(rhythm), meter, key, allowed)
                 for _ in range(num)]
        return [(d.key, d.meter, d.rhythm, d.form) for d in drawn]
    if isinstance(form, str) and form not in ("auto", FREE):
        raise ValueError(f"form must be a Form, 'auto' or 'free' (got {form!r})")
    chosen = form if isinstance(form, Form) else None
    # A form asked for plays bars again as the book's tunes of that form do (its cadences are as asked).
    forms = [with_phrases(chosen, table, rng) for _ in range(num)]
    if allowed:
        return [(draw_key(table, rng, allowed), meter, rhythm, f) for f in forms]
    return [(key, meter, rhythm, f) for f in forms]


def check_request(key: str | None, meter: str | None, keys: Sequence[str] | None = None) -> None:
    """A key or metre that is not one, said in words before any sampling (ValueError)."""
    for value in [key, *(keys or ())]:
        if value is not None and not is_written_key(canonical_key(value)):
            raise ValueError(f"key {value!r} is not a key: write a letter A-G, then # or b if it has one, then a "
                             "mode (m, dor, mix, lyd, phr, loc), e.g. G, F#m, Ador, Bbmix")
    if meter is not None and meter_fraction(meter) is None:
        raise ValueError(f"meter {meter!r} is not a metre: write C, C| or a fraction such as 6/8, 3/4, 9/8")


def request_warnings(model: TrainedModel, rhythm: str | None, meter: str | None) -> list[str]:
    """What the model's tune books never had: a rhythm or metre it will write without having seen one."""
    rows = model.meta.get("forms", {}).get("types", [])
    if not rows:
        return []
    warnings = []
    rhythms = sorted({row["rhythm"] for row in rows if row["rhythm"]})
    if rhythm and canonical_rhythm(rhythm) not in rhythms:
        warnings.append(f"rhythm {rhythm!r}: the model's tune books have no such tunes (they have "
                        f"{', '.join(rhythms)}); it writes one anyway, without a form of its own")
    meters = sorted({row["meter"] for row in rows})
    if meter and meter not in meters:
        warnings.append(f"meter {meter!r}: no tune of the model's books is in it (they are in {', '.join(meters)})")
    return warnings


def instrument_request(name: str | None, keys: Sequence[str] | None) -> tuple[tuple[int, int] | None,
                                                                          Sequence[str] | None]:
    """(pitch range, keys) for an instrument by name: its range, and its keys unless keys are given."""
    if name is None:
        return None, keys
    chosen = instrument(name)
    return (chosen.low, chosen.high), keys or chosen.keys
