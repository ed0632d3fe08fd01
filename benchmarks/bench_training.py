"""Training throughput of Tunesmith's presets against a faithful re-implementation of the lab's step.

    python -m benchmarks.bench_training --data ../shared/data/irish.abc --steps 40

The reference is the lab's PyTorch training step written out here on its own: Embedding 256
-> LSTM 1024 -> Linear, batch 8 x 100 random windows, a fresh zero state every batch, Adam at
5e-3, one loss.backward() per step. Everything runs in this one process, one after another,
so the ratios compare like with like. A float32 matmul measures the machine's peak, and each
model's useful FLOPs (6 x weights touched per character: 2 forward, 4 backward) are divided
by it to give the share of peak.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.common import report
from tunesmith.batching import concatenate, random_windows
from tunesmith.corpus import load_corpus, split_by_tune
from tunesmith.training import PRESETS, Trainer
from tunesmith.vocab import CharVocab


class LabModel(nn.Module):
    """The lab's model, as its notebook builds it."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, 256)
        self.lstm = nn.LSTM(256, 1024, batch_first=True)
        self.dense = nn.Linear(1024, vocab_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embedding(x))  # a fresh zero state every batch, as in the lab
        return self.dense(out)


def matmul_peak_gflops(size: int = 1024, repeats: int = 10) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b  # warm up
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9


def lab_reference(stream: torch.Tensor, vocab_size: int, steps: int) -> float:
    """Characters per second of the lab's training step."""
    torch.manual_seed(0)
    model = LabModel(vocab_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    generator = torch.Generator().manual_seed(0)

    def step() -> None:
        x, y = random_windows(stream, 8, 100, generator)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return _timed(step, steps) * 8 * 100


def preset_rate(preset: str, split, steps: int, run_dir) -> tuple[float, float]:
    """Characters per second of Trainer.train_step for a preset (no evaluation, no checkpoints),
    and the FLOPs each character costs."""
    trainer = Trainer(run_dir, split, PRESETS[preset], log=lambda _: None)
    trainer.network.train()
    config = trainer.config
    rate = _timed(trainer.train_step, steps) * config.batch_size * config.seq_length
    return rate, flops_per_char(trainer.network)


def _timed(step, steps: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - started)


def flops_per_char(model: nn.Module) -> float:
    """6 x the weights every character touches; the embedding is a look-up, not a matmul."""
    weights = sum(p.numel() for name, p in model.named_parameters() if "embed" not in name)
    return 6.0 * weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="oneills")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--presets", nargs="+", default=["mit", "small"])
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    split = split_by_tune(load_corpus(args.data).tunes)
    vocab = CharVocab.build(t.text for t in split.train)
    stream = concatenate([vocab.encode_tune(t.text) for t in split.train])
    peak = matmul_peak_gflops()
    first_reference = lab_reference(stream, len(vocab), args.steps)
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets:
            rates[preset] = preset_rate(preset, split, args.steps, Path(tmp) / preset)
    # The reference runs before and after the presets, so a drift in clock speed shows and averages out.
    last_reference = lab_reference(stream, len(vocab), args.steps)
    reference = (first_reference + last_reference) / 2
    lab_flops = flops_per_char(LabModel(len(vocab)))
    rows = {"lab reference": {"chars_per_s": round(reference), "ratio": 1.0,
                              "share_of_peak": round(reference * lab_flops / 1e9 / peak, 3)}}
    for preset, (rate, flops) in rates.items():
        rows[preset] = {"chars_per_s": round(rate), "ratio": round(rate / reference, 2),
                        "share_of_peak": round(rate * flops / 1e9 / peak, 3)}
    figures = {"matmul_peak_gflops": round(peak, 1), "threads": torch.get_num_threads(), "steps": args.steps,
               "reference_first_last_chars_per_s": [round(first_reference), round(last_reference)],
               "rows": rows}
    report(figures, args.json)


if __name__ == "__main__":
    main()
