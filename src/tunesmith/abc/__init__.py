"""ABC notation, the bottom layer (no torch): text and fields, keys and modes (theory), the one
reader of a tune body (reader), the sampler's grammar (grammar), tokens (units) and transposition."""

from tunesmith._lazy import submodules

__getattr__ = submodules(__name__)
