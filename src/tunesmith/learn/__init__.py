"""Training: the loop and its presets, held-out scoring, devices, distributed runs, diagnostics."""

from tunesmith._lazy import submodules

__getattr__ = submodules(__name__)
