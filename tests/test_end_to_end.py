"""Train a tiny model on real tunes for a few hundred steps, then sample from it."""

import json
import math

from tunesmith.sample.sampling import SamplingSettings, sample_tunes
from tunesmith.store.checkpoint import load_model


def test_tiny_model_learns_and_writes_whole_tunes(tiny_run):
    model = load_model(tiny_run)
    uniform = math.log2(len(model.vocab))
    records = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["valid_bpc"] < 0.6 * uniform  # well below guessing
    assert records[-1]["valid_bpc"] < records[0]["valid_bpc"]
    samples = sample_tunes(model, 16, settings=SamplingSettings(temperature=0.8, max_chars=1500), seed=0)
    assert all(s.text.startswith("X:1\n") for s in samples)
    assert sum("\nK:" in s.text for s in samples) >= 12
    assert sum(s.finished for s in samples) >= 8  # most stop at </s>, not at the cap
