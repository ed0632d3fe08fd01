"""The package's layers: imports point down (notation at the bottom, the faces on top), never in a circle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "src" / "tunesmith"
LAYER = {"_lazy": 0, "abc": 0, "data": 1, "models": 1, "store": 2, "learn": 3, "sample": 3, "judge": 4, "render": 4,
         "cli": 5, "web": 5, "__main__": 6, "__init__": 7}


def module_name(path: Path) -> str:
    return ".".join(("tunesmith", *path.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")


def imports_of(path: Path, modules: set[str]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tunesmith"):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {name for name in found if name in modules}


GRAPH = {}
_paths = {module_name(path): path for path in ROOT.rglob("*.py")}
for _name, _path in _paths.items():
    GRAPH[_name] = imports_of(_path, set(_paths)) - {_name}


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYER["__init__"] if len(parts) == 1 else LAYER[parts[1]]


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_down(module):
    up = sorted(dep for dep in GRAPH[module] if layer(dep) > layer(module))
    assert not up, f"{module} imports from a layer above it: {up}"


def test_notation_imports_no_torch():
    for path in (ROOT / "abc").glob("*.py"):
        assert "torch" not in {alias.name.split(".")[0] for node in ast.walk(ast.parse(path.read_text()))
                               if isinstance(node, ast.Import) for alias in node.names}, path
        assert "from torch" not in path.read_text(), path


def test_notation_loads_without_torch():
    """Importing every module of the notation layer loads no torch: the package's __init__ imports its API lazily."""
    modules = sorted(name for name in GRAPH if layer(name) == LAYER["abc"])
    code = (f"import importlib, sys\nfor name in {modules!r}:\n    importlib.import_module(name)\n"
            "print(sorted(name for name in sys.modules if name.split('.')[0] == 'torch'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"importing {modules} loaded torch: {result.stdout.strip()[:200]}"


def test_a_module_is_there_without_its_own_import():
    """`import tunesmith` alone reaches every module through its subpackage, loading each on first use."""
    code = ("import sys, tunesmith\nloaded = 'tunesmith.data.corpus' in sys.modules\n"
            "print(loaded, tunesmith.data.corpus.load_corpus.__name__, tunesmith.abc.text.split_tunebook.__name__)\n"
            "try:\n    tunesmith.data.no_such_module\nexcept AttributeError as error:\n    print(error)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["False load_corpus split_tunebook",
                                          "module 'tunesmith.data' has no attribute 'no_such_module'"]


def test_no_import_cycles():
    done: set[str] = set()

    def visit(module, trail):
        if module in trail:
            raise AssertionError(f"import cycle: {' -> '.join(trail[trail.index(module):] + [module])}")
        if module in done:
            return
        for dep in GRAPH[module]:
            visit(dep, trail + [module])
        done.add(module)

    for module in GRAPH:
        visit(module, [])
    assert done == set(GRAPH)
