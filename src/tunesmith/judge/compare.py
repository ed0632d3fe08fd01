"""`tunesmith compare RUN_DIR...`: held-out bpc against training time and size, for several runs.

Everything comes from what a run directory already holds: the metadata of model.safetensors
(model kind, parameters, training settings, the final figures), metrics.jsonl (the validation
curve) and, when `tunesmith evaluate --json RUN_DIR/evaluation.json` has been run, the tune
checks of its generated tunes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from safetensors import SafetensorError, safe_open

from tunesmith.store.checkpoint import BEST_FILE

EVALUATION_FILE = "evaluation.json"
COLUMNS = ("run", "kind", "preset", "tokenizer", "transpose", "parameters", "chars/s", "train min",
           "best valid bpc", "test bpc", "sampled", "syntax ok", "metre ok", "novel")
RATE_COLUMNS = 4  # the last four come from evaluation.json


def read_meta(path: Path) -> dict:
    """The Tunesmith metadata of a checkpoint, without reading its tensors."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return json.loads((handle.metadata() or {})["tunesmith"])
    except (KeyError, ValueError, OSError, SafetensorError) as error:
        raise ValueError(f"{path}: not a Tunesmith checkpoint ({error})") from None


def read_run(run_dir: Path) -> dict:
    """One row of the comparison, plus the run's validation curve under "curve"."""
    best = run_dir / BEST_FILE
    if not best.is_file():
        raise ValueError(f"{run_dir}: no {BEST_FILE} here; is it a run directory?")
    meta = read_meta(best)
    state, final = meta.get("state", {}), meta.get("final", {})
    train_config = meta.get("train_config", {})
    seconds = final.get("train_seconds", state.get("train_seconds", 0.0))
    row = {
        "run": run_dir.name or str(run_dir),
        "kind": meta.get("model_kind", "?"),
        "preset": meta.get("data", {}).get("preset", "?"),
        "tokenizer": train_config.get("tokenizer", "char"),
        "transpose": train_config.get("transpose", "none"),
        "parameters": meta.get("parameters"),
        "chars_per_second": final.get("chars_per_second", state.get("chars_seen", 0) / max(seconds, 1e-9)),
        "train_minutes": seconds / 60,
        "best_valid_bpc": final.get("best_valid_bpc", state.get("best_valid_bpc")),
        "test_bpc": final.get("test_bpc"),
        "finished": bool(state.get("finished")),
        "curve": _curve(run_dir / "metrics.jsonl"),
    }
    evaluation = run_dir / EVALUATION_FILE
    if evaluation.is_file():
        evaluated = json.loads(evaluation.read_text())
        generated = evaluated.get("generated", {})
        row["sampled"] = {True: "constrained", False: "free"}.get(evaluated.get("constrained"), "?")
        row["syntax_ok"] = generated.get("syntax_ok")
        row["metre_ok"] = generated.get("metre_ok")
        if generated.get("copied") is not None:
            row["novel"] = 1 - generated["copied"]
    return row


def _curve(metrics: Path) -> list[tuple[float, float]]:
    """(training seconds, validation bpc) at each evaluation."""
    if not metrics.is_file():
        return []
    from tunesmith.learn.training import read_metrics

    return [(r["train_seconds"], r["valid_bpc"]) for r in read_metrics(metrics) if "valid_bpc" in r]


def _cells(row: dict) -> list[str]:
    def number(value, form: str) -> str:
        return "-" if value is None else form.format(value)

    return [
        row["run"] + ("" if row["finished"] else " (unfinished)"), row["kind"], row["preset"],
        row["tokenizer"], row["transpose"], number(row["parameters"], "{:,}"),
        number(row["chars_per_second"], "{:,.0f}"), number(row["train_minutes"], "{:.1f}"),
        number(row["best_valid_bpc"], "{:.3f}"), number(row["test_bpc"], "{:.3f}"), row.get("sampled", "-"),
        number(row.get("syntax_ok"), "{:.0%}"), number(row.get("metre_ok"), "{:.0%}"),
        number(row.get("novel"), "{:.0%}"),
    ]


def markdown_table(rows: list[dict]) -> str:
    """A Markdown table, one line per run; rate columns only when some run has an evaluation."""
    columns = list(COLUMNS)
    cells = [_cells(row) for row in rows]
    if not any("syntax_ok" in row for row in rows):
        columns, cells = columns[:-RATE_COLUMNS], [c[:-RATE_COLUMNS] for c in cells]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(c) + " |" for c in cells]
    return "\n".join(lines)


def plot_comparison(rows: list[dict], path: Path) -> None:
    """compare.png: validation bpc against training minutes, and best bpc against parameters."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_time, by_size) = plt.subplots(1, 2, figsize=(11, 4.2))
    for row in rows:
        if row["curve"]:
            minutes, bpc = zip(*[(seconds / 60, value) for seconds, value in row["curve"]])
            by_time.plot(minutes, bpc, marker=".", label=row["run"])
        if row["parameters"] and row["best_valid_bpc"] is not None:
            by_size.scatter(row["parameters"], row["best_valid_bpc"])
            by_size.annotate(row["run"], (row["parameters"], row["best_valid_bpc"]), fontsize=8,
                             xytext=(4, 4), textcoords="offset points")
    by_time.set_xlabel("training time (minutes)")
    by_time.set_ylabel("held-out bits per character (validation)")
    by_time.legend(fontsize=8)
    by_size.set_xscale("log")
    by_size.set_xlabel("parameters")
    by_size.set_ylabel("best validation bits per character")
    for ax in (by_time, by_size):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def compare_runs(run_dirs: list[str | Path], out: str | Path = ".") -> tuple[str, Path]:
    """The Markdown table of the runs and the path of compare.png. Runs that cannot be read are
    skipped with a line on stderr; none readable raises ValueError.

    Example: table, png = compare_runs(["runs/lstm", "runs/gru"], out="report")
    """
    rows = []
    for run_dir in run_dirs:
        try:
            rows.append(read_run(Path(run_dir)))
        except ValueError as error:
            print(f"skipping {error}", file=sys.stderr)
    if not rows:
        raise ValueError("no run directory to compare (each needs a model.safetensors)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plot_comparison(rows, out / "compare.png")
    return markdown_table(rows), out / "compare.png"
