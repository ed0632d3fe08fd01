"""Tunesmith: learn folk tunes written in ABC notation and write new ones.

    import tunesmith
    model = tunesmith.load_model("runs/demo")
    print(tunesmith.generate(model, num=2, key="D", meter="C|", seed=1)[0])
"""

from tunesmith.abc.text import Tune, TuneError, normalise_tune, parse_tunebook, split_tunebook
from tunesmith.data.corpus import Corpus, Split, load_corpus, split_by_tune
from tunesmith.judge.sets import make_set
from tunesmith.learn.scoring import bits_per_char
from tunesmith.learn.training import PRESETS, TrainConfig, train
from tunesmith.sample.cowriting import continue_tune, fill, vary
from tunesmith.sample.sampling import Sample, SamplingSettings, generate, sample_tunes
from tunesmith.store.checkpoint import TrainedModel, load_model

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "Corpus",
    "Sample",
    "SamplingSettings",
    "Split",
    "TrainConfig",
    "TrainedModel",
    "Tune",
    "TuneError",
    "bits_per_char",
    "continue_tune",
    "fill",
    "generate",
    "load_corpus",
    "load_model",
    "make_set",
    "normalise_tune",
    "parse_tunebook",
    "sample_tunes",
    "split_by_tune",
    "split_tunebook",
    "train",
    "vary",
]
