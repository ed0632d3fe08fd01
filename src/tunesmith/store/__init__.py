"""Checkpoints: safetensors weights with a JSON header, the shipped model, export."""

from tunesmith._lazy import submodules

__getattr__ = submodules(__name__)
