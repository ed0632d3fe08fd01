"""Judging tunes: the checker, evaluation against held-out tunes, realism, control, comparisons."""

from tunesmith._lazy import submodules

__getattr__ = submodules(__name__)
