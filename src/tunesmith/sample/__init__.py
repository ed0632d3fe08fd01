"""Writing tunes: batched sampling under the grammar, forms and cadences, requests."""

from tunesmith._lazy import submodules

__getattr__ = submodules(__name__)
