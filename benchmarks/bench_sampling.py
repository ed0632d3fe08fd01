"""Batched sampling against one-tune-at-a-time sampling, as a ratio measured in one run.

    python -m benchmarks.bench_sampling --model runs/small --num 32

Both sides use the same model, settings and seeds; only the batching differs. The
reference writes the tunes one after another (the lab's loop: one sequence, one
forward call per character).
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmarks.common import report
from tunesmith.checkpoint import load_model
from tunesmith.sampling import SamplingSettings, sample_tunes


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--num", type=int, default=32)
    parser.add_argument("--max-chars", type=int, default=2000)
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = load_model(args.model)
    settings = SamplingSettings(max_chars=args.max_chars)
    batched, batch_s = timed(lambda: sample_tunes(model, args.num, settings=settings, seed=0))
    single = []
    _, single_s = timed(lambda: single.extend(sample_tunes(model, 1, settings=settings, seed=s)[0]
                                              for s in range(args.num)))
    chars_batched = sum(len(s.text) for s in batched)
    chars_single = sum(len(s.text) for s in single)
    figures = {
        "tunes": args.num,
        "batched_seconds": round(batch_s, 2),
        "sequential_seconds": round(single_s, 2),
        "time_ratio": round(single_s / batch_s, 2),
        "batched_chars_per_s": round(chars_batched / batch_s, 1),
        "sequential_chars_per_s": round(chars_single / single_s, 1),
        "throughput_ratio": round((chars_batched / batch_s) / (chars_single / single_s), 2),
        "finished_batched": sum(s.finished for s in batched),
        "finished_sequential": sum(s.finished for s in single),
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()
