"""What the command's faces share: where runs live, and which model a command uses."""

from __future__ import annotations

from pathlib import Path

RUNS_DIR = Path("runs")
DEMO_RUN = RUNS_DIR / "demo"


def newest_run(root: Path = RUNS_DIR) -> Path | None:
    """The documented default model: the most recently written run under ./runs."""
    runs = [p.parent for p in root.glob("*/model.safetensors")]
    return max(runs, key=lambda p: (p / "model.safetensors").stat().st_mtime, default=None)


def _resolve_model(path: str | None) -> Path:
    """The run named, else the newest under ./runs, else the model shipped in the package."""
    from tunesmith.store.checkpoint import SHIPPED_MODEL, model_path

    return model_path(path) if path else newest_run() or SHIPPED_MODEL


def _model_name(run: Path) -> str:
    from tunesmith.store.checkpoint import DEFAULT_MODEL, SHIPPED_MODEL

    return DEFAULT_MODEL if run == SHIPPED_MODEL else str(run)
