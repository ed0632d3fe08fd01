"""Packages that import their modules on first use (PEP 562): below every layer, importing nothing of
Tunesmith's, so each subpackage can use it."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from types import ModuleType


def submodules(package: str) -> Callable[[str], ModuleType]:
    """A package's module __getattr__ that imports its submodule `name` on first use, so that
    `tunesmith.data.corpus` works after `import tunesmith` alone, though nothing imported it yet."""

    def submodule(name: str) -> ModuleType:
        full = f"{package}.{name}"
        if name.startswith("_") or importlib.util.find_spec(full) is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return importlib.import_module(full)

    return submodule
