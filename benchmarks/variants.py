"""What makes the `mit` training step faster on this machine: each variant as a ratio to the lab step.

    python -m benchmarks.variants --threads 2              # all variants, interleaved rounds
    python -m benchmarks.variants --threads 1 --only fused,compile

Every variant trains the same model on the same batches (8 x 100) and runs in turns with the lab
reference (benchmarks/lab.py), so load and clock changes fall on all alike; the figure is the
median over rounds of (variant chars/s) / (lab chars/s) measured back to back. Thread counts
and interop threads are process-wide: compare runs with different --threads / --interop.
The results of these runs are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from benchmarks import lab
from benchmarks.common import interleaved_rates, machine, paired_ratio
from benchmarks.run import Data, default_data, quiet
from tunesmith.learn.scoring import bits_per_char
from tunesmith.learn.training import PRESETS, Trainer


def trainer_step(run_dir: Path, data: Data, optimizer: dict | None = None, wrap=None, context=None):
    trainer = Trainer(run_dir, data.split, PRESETS["mit"], log=quiet, device="cpu")
    trainer.network.train()
    if optimizer is not None:  # the preset's AdamW with other kernels: same maths
        trainer.optimizer = torch.optim.AdamW(trainer.network.parameters(), lr=5e-3, weight_decay=0.0, **optimizer)
    if wrap is not None:
        trainer.model = wrap(trainer.network)
    if context is None:
        return trainer.train_step

    def step() -> float:
        with context():
            return trainer.train_step()

    return step


def bf16_context():
    return torch.autocast("cpu", dtype=torch.bfloat16)


VARIANTS = {
    "mit": lambda d, data: trainer_step(d, data),
    "fused": lambda d, data: trainer_step(d, data, {"fused": True}),
    "no-foreach": lambda d, data: trainer_step(d, data, {"foreach": False}),
    "mkldnn-off": lambda d, data: trainer_step(d, data, context=lambda: torch.backends.mkldnn.flags(enabled=False)),
    "compile": lambda d, data: trainer_step(d, data, wrap=torch.compile),
    "bf16-autocast": lambda d, data: trainer_step(d, data, context=bf16_context),
}


def eval_modes(data: Data, repeats: int) -> dict:
    """bits_per_char as written (no_grad) against the same under inference_mode."""
    trainer = Trainer(Path(tempfile.mkdtemp()) / "eval", data.split, PRESETS["mit"], log=quiet, device="cpu")
    texts = [t.text for t in data.split.valid]
    timings: dict[str, list[float]] = {"no_grad": [], "inference_mode": []}
    for _ in range(repeats):
        for name, mode in (("no_grad", contextlib.nullcontext), ("inference_mode", torch.inference_mode)):
            started = time.perf_counter()
            with mode():
                bits_per_char(trainer.network, trainer.vocab, texts)
            timings[name].append(time.perf_counter() - started)
    return {"seconds_" + k: round(statistics.median(v), 3) for k, v in timings.items()} | {
        "ratio": round(statistics.median(timings["no_grad"]) / statistics.median(timings["inference_mode"]), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--interop", type=int)
    parser.add_argument("--only", help=f"comma-separated, from {','.join(VARIANTS)},eval")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data", default=default_data())
    args = parser.parse_args()
    if args.interop:
        torch.set_num_interop_threads(args.interop)
    if args.threads:
        torch.set_num_threads(args.threads)
    chosen = args.only.split(",") if args.only else [*VARIANTS, "eval"]
    data = Data.load(args.data)
    figures: dict = {"machine": machine(torch.device("cpu"))}
    with tempfile.TemporaryDirectory() as tmp:
        steps = {"lab reference": lab.LabTraining(len(data.vocab), data.stream, torch.device("cpu")).step}
        steps |= {name: VARIANTS[name](Path(tmp) / name, data) for name in chosen if name in VARIANTS}
        chars = dict.fromkeys(steps, lab.BATCH * lab.SEQ)
        rates = interleaved_rates(steps, chars, args.steps, args.rounds, torch.device("cpu"), warmup=3)
    reference = rates["lab reference"]
    figures["variants"] = {
        name: {"chars_per_s": round(statistics.median(r)), "ratio_to_lab": round(paired_ratio(r, reference), 3),
               "rounds": [round(x) for x in r]}
        for name, r in rates.items()
    }
    if "eval" in chosen:
        figures["eval_inference_mode"] = eval_modes(data, repeats=3)
    figures["load_average_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
