"""Tune books and what is learnt from them before any model: corpora and splits, vocabularies,
batches, and the table of forms and cadences of each tune type (forms)."""

from tunesmith._lazy import submodules

__getattr__ = submodules(__name__)
