"""Tunesmith: learn folk tunes written in ABC notation and write new ones.

    import tunesmith
    model = tunesmith.load_model("runs/demo")
    print(tunesmith.generate(model, num=2, key="D", meter="C|", seed=1)[0])

The names below are imported when first used (PEP 562), so that `import tunesmith.abc.text` loads
the notation layer alone and not torch with the models. Subpackages and their modules are imported on
first use too, so `tunesmith.data.corpus` needs no import of its own.
"""

from __future__ import annotations

import importlib

from tunesmith._lazy import submodules

__version__ = "0.1.0"

# Each public name and the module it comes from: the one table of the package's API.
_SOURCES = {
    "Tune": "tunesmith.abc.text",
    "TuneError": "tunesmith.abc.text",
    "normalise_tune": "tunesmith.abc.text",
    "parse_tunebook": "tunesmith.abc.text",
    "split_tunebook": "tunesmith.abc.text",
    "Corpus": "tunesmith.data.corpus",
    "Split": "tunesmith.data.corpus",
    "load_corpus": "tunesmith.data.corpus",
    "split_by_tune": "tunesmith.data.corpus",
    "make_set": "tunesmith.judge.sets",
    "bits_per_char": "tunesmith.learn.scoring",
    "PRESETS": "tunesmith.learn.training",
    "TrainConfig": "tunesmith.learn.training",
    "train": "tunesmith.learn.training",
    "continue_tune": "tunesmith.sample.cowriting",
    "fill": "tunesmith.sample.cowriting",
    "vary": "tunesmith.sample.cowriting",
    "Sample": "tunesmith.sample.sampling",
    "SamplingSettings": "tunesmith.sample.sampling",
    "generate": "tunesmith.sample.sampling",
    "sample_tunes": "tunesmith.sample.sampling",
    "TrainedModel": "tunesmith.store.checkpoint",
    "load_model": "tunesmith.store.checkpoint",
}

__all__ = sorted(_SOURCES)


_submodule = submodules(__name__)


def __getattr__(name: str) -> object:
    """A public name, imported from its module on first use and kept here after; or a subpackage."""
    if name not in _SOURCES:
        return _submodule(name)
    value = getattr(importlib.import_module(_SOURCES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
