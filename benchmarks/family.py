"""The lecture's model family on one tune book, one CPU budget each (issue #7's table).

    python -m benchmarks.family [--data oneills] [--minutes 15] [--out runs/family] [--only NAME ...]

Trains, one after another (never two at once: each run gets the whole machine, so chars/s
compare), every entry of RUNS into OUT/NAME, then scores 50 samples of each run with
`tunesmith evaluate` and writes the `tunesmith compare` table and plot to OUT. A run that is
already finished is kept; one that was interrupted resumes from its last checkpoint. About
7 x (MINUTES + 1) minutes for training, a few more for evaluation.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

# name -> (preset, extra `tunesmith train` arguments). Every run but `small-transposed` trains
# on the tunes as written, so the architectures compare on the same data.
RUNS = {
    "transformer": ("transformer-small", ["--transpose", "none"]),
    "rnn": ("rnn-small", ["--transpose", "none"]),
    "gru": ("gru-small", ["--transpose", "none"]),
    "lstm-mit": ("mit", ["--transpose", "none"]),
    "lstm-small": ("small", ["--transpose", "none"]),
    "lstm-small-abc": ("small", ["--transpose", "none", "--tokenizer", "abc"]),
    "lstm-small-transposed": ("small", ["--transpose", "all"]),
}


def tunesmith(*args: str) -> list[str]:
    return [sys.executable, "-m", "tunesmith", *args]


def finished(run_dir: Path) -> bool:
    from tunesmith.judge.compare import read_run

    try:
        return read_run(run_dir)["finished"]
    except ValueError:
        return False


def train(name: str, run_dir: Path, data: str, minutes: float) -> None:
    preset, extra = RUNS[name]
    resume = ["--resume"] if (run_dir / "last.safetensors").exists() else []
    command = tunesmith("train", "--data", data, "--out", str(run_dir), "--preset", preset,
                        "--minutes", str(minutes), "--quiet", *extra, *resume)
    print(f"== {name}: {' '.join(command[2:])}", flush=True)
    subprocess.run(command, check=True)


def evaluate(run_dir: Path, samples: int) -> None:
    if (run_dir / "evaluation.json").exists():
        return
    command = tunesmith("evaluate", "--model", str(run_dir), "--samples", str(samples), "--seed", "0", "--free",
                        "--json", str(run_dir / "evaluation.json"))
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="oneills")
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--out", default="runs/family")
    parser.add_argument("--samples", type=int, default=50, help="generated tunes to check per run")
    parser.add_argument("--only", nargs="+", choices=sorted(RUNS), help="these runs only")
    args = parser.parse_args()
    out = Path(args.out)
    names = args.only or list(RUNS)
    for name in names:
        if not finished(out / name):
            train(name, out / name, args.data, args.minutes)
    for name in names:
        evaluate(out / name, args.samples)
    compared = subprocess.run(tunesmith("compare", *(str(out / n) for n in names), "--out", str(out)),
                              check=True, capture_output=True, text=True)
    (out / "compare.md").write_text(compared.stdout)
    print(compared.stdout)
    print(json.dumps({"runs": names, "out": str(out)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
