"""`tunesmith train` for the fault tests: a small preset, and pauses where a test wants to kill it.

    python tests/fuzz/train_child.py RUN_DIR [--resume] [--pause PHASE:FILE:N] [--steps N]

It runs the real command line (tunesmith.cli.main) with the preset "fault" (a tiny LSTM with
dropout, a checkpoint every 10 steps). With --pause it stops for good the Nth time it reaches
PHASE while writing FILE (model, last or config), after writing RUN_DIR.paused, so that the
test can send SIGKILL at exactly that moment:

  mid-write       the checkpoint's .tmp file is half written (cut to half its bytes)
  before-replace  the .tmp is written in full, not yet moved into place
  before-write    nothing of this file written yet (for config: model.safetensors is new)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from tunesmith.cli import main
from tunesmith.learn import training
from tunesmith.store import checkpoint

STEPS = 60
PRESET = training.Preset(
    "fault tests: seconds of training, dropout on so that resuming must restore the RNG",
    {"embed_dim": 16, "hidden_size": 64, "num_layers": 1, "dropout": 0.1},
    training.TrainConfig(batch_size=8, seq_length=32, learning_rate=1e-2, warmup_steps=5,
                         max_steps=STEPS, eval_interval=10, seed=0),
)


def install_pause(run_dir: Path, phase: str, target: str, nth: int) -> None:
    """Wrap the checkpoint writers so that the process stops at the chosen moment."""
    seen: Counter[str] = Counter()

    def now(here: str, path: str) -> bool:
        """True the Nth time the run reaches PHASE for FILE."""
        if (here, Path(path).name.split(".")[0]) != (phase, target):  # model, last, config
            return False
        seen[here] += 1
        return seen[here] == nth

    def pause() -> None:
        Path(f"{run_dir}.paused").write_text(f"{phase} {target} {nth}\n")
        while True:  # the test kills us here
            time.sleep(1)

    real_save_file, real_write_text = checkpoint.save_file, checkpoint._atomic_write_text

    def save_file(tensors, filename, metadata=None):
        if now("before-write", filename):
            pause()
        real_save_file(tensors, filename, metadata)
        if now("mid-write", filename):
            with open(filename, "r+b") as handle:
                handle.truncate(Path(filename).stat().st_size // 2)
            pause()
        if now("before-replace", filename):
            pause()

    def write_text(text, path):
        if now("before-write", str(path)):
            pause()
        real_write_text(text, path)

    checkpoint.save_file, checkpoint._atomic_write_text = save_file, write_text


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--pause", help="PHASE:FILE:N")
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args(argv)
    if args.pause:
        phase, target, nth = args.pause.split(":")
        install_pause(Path(args.run_dir), phase, target, int(nth))
    training.PRESETS["fault"] = PRESET
    command = ["train", "--data", "airds", "--out", args.run_dir, "--preset", "fault", "--quiet",
               "--steps", str(args.steps)]
    return main(command + (["--resume"] if args.resume else []))


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
