"""Sampling throughput: tunes/s and chars/s, free and constrained, at several batch widths, beside the lab's loop.

    python -m benchmarks.sampling                              # the shipped model and the mit network
    python -m benchmarks.sampling --models default --tunes 256 --rows 1 8 32 64 128
    python -m benchmarks.sampling --quick                      # seconds: a smoke test

Every figure is a ratio measured in this run, on these weights:
- the lab's loop: one sequence, a forward call per character, softmax + torch.multinomial (the
  MIT lab's generate_text), on the same network, for --lab-chars characters;
- continuous batching (tunesmith.sample.decoding): --tunes tunes written `rows` at a time, a
  finished row taking the next tune; free (as the lab samples) and constrained (every bar right,
  a form and cadences drawn as `generate` does by default);
- seconds to the first tune: when the first tune of the request is done (the lab loop: one mean
  tune's length at its rate).
`mit` is the lab's network at the mit preset's size, untrained unless --mit-run names a trained run
(untrained weights write tunes to max_chars, so its tune counts are not realistic).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

from benchmarks.common import report
from tunesmith.data.corpus import load_corpus
from tunesmith.data.vocab import CharVocab
from tunesmith.learn.config import PRESETS
from tunesmith.models import build_model
from tunesmith.sample.decoding import Chooser, decode_batch
from tunesmith.sample.sampling import SamplingSettings, make_drafts
from tunesmith.store.checkpoint import TrainedModel, load_model

ROWS = (1, 8, 32, 64, 128)


@torch.no_grad()
def lab_loop(network: torch.nn.Module, vocab, chars: int, seed: int = 0) -> float:
    """Characters per second of the lab's loop on this network."""
    torch.manual_seed(seed)
    idx, state = torch.tensor([[vocab.bos]]), None
    started = time.perf_counter()
    for _ in range(chars):
        logits, state = network(idx, state)
        idx = torch.multinomial(torch.softmax(logits[:, -1], dim=-1), num_samples=1)
    return chars / (time.perf_counter() - started)


@torch.no_grad()
def batched(model: TrainedModel, tunes: int, rows: int, constrain: bool, max_chars: int, seed: int = 0) -> dict:
    """One request of `tunes` tunes written `rows` at a time: chars/s, tunes/s, seconds to the first tune."""
    settings = SamplingSettings(max_chars=max_chars, constrain=constrain)
    drafts, prefix = make_drafts(model, tunes, None, None, None, "", settings, seed, "auto" if constrain else None,
                                 None, None)
    prefix_ids = model.vocab.encode(prefix)
    done_at: list[float] = []
    for draft in drafts:
        draft.ids = list(prefix_ids)
        draft.done = lambda _: done_at.append(time.perf_counter())
    started = time.perf_counter()
    decode_batch(model.network, drafts, [model.vocab.bos, *prefix_ids], Chooser(model.vocab), rows)
    seconds = time.perf_counter() - started
    chars = sum(len(model.vocab.decode(d.ids)) for d in drafts)
    return {"rows": rows, "constrained": constrain, "tunes": tunes, "chars": chars, "seconds": round(seconds, 3),
            "chars_per_s": round(chars / seconds, 1), "tunes_per_s": round(tunes / seconds, 3),
            "seconds_to_first_tune": round(min(done_at) - started, 3),
            "finished": sum(d.finished for d in drafts)}


def measure(name: str, model: TrainedModel, tunes: int, rows: tuple[int, ...], lab_chars: int,
            max_chars: int) -> dict:
    model.network.eval()
    batched(model, 2, 2, True, 40)  # warm up
    lab_rate = lab_loop(model.network, model.vocab, lab_chars)
    runs = [batched(model, tunes, r, constrain, max_chars) for constrain in (False, True) for r in rows]
    free = {run["rows"]: run["chars_per_s"] for run in runs if not run["constrained"]}
    for run in runs:
        run["ratio_to_lab"] = round(run["chars_per_s"] / lab_rate, 2)
        if run["constrained"]:
            run["ratio_to_free"] = round(run["chars_per_s"] / free[run["rows"]], 3)
        print(f"{name}: {'constrained' if run['constrained'] else 'free'} rows {run['rows']}: "
              f"{run['chars_per_s']:,.0f} chars/s ({run['ratio_to_lab']}x the lab loop), first tune "
              f"{run['seconds_to_first_tune']} s", file=sys.stderr)
    return {"model": name, "lab_loop_chars_per_s": round(lab_rate, 1), "runs": runs}


def mit_model(run: str | None) -> TrainedModel:
    if run:
        return load_model(run)
    vocab = CharVocab.build(t.text for t in load_corpus("oneills").tunes)
    torch.manual_seed(0)
    network = build_model(PRESETS["mit"].kind, {"vocab_size": len(vocab), **PRESETS["mit"].model})
    return TrainedModel(network, vocab, {})


def markdown(results: list[dict]) -> str:
    lines = ["| model | sampling | rows | chars/s | tunes/s | × lab loop | constrained ÷ free | first tune (s) |",
             "|---|---|---|---|---|---|---|---|"]
    for result in results:
        for run in result["runs"]:
            lines.append(f"| {result['model']} | {'constrained' if run['constrained'] else 'free'} | {run['rows']} | "
                         f"{run['chars_per_s']:,.0f} | {run['tunes_per_s']:.2f} | {run['ratio_to_lab']:.1f}× | "
                         f"{run.get('ratio_to_free', '')} | {run['seconds_to_first_tune']:.2f} |")
        lines.append(f"| {result['model']} | the lab's loop | 1 | {result['lab_loop_chars_per_s']:,.0f} | | 1.0× | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["default", "mit"], help="default, mit, or run directories")
    parser.add_argument("--mit-run", help="a trained mit run to use as `mit` (real tune lengths)")
    parser.add_argument("--tunes", type=int, default=256)
    parser.add_argument("--rows", type=int, nargs="+", default=list(ROWS))
    parser.add_argument("--lab-chars", type=int, default=1000)
    parser.add_argument("--max-chars", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="a smoke test in seconds")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.tunes, args.rows, args.lab_chars, args.max_chars = 4, [1, 4], 50, 80
    load_start = os.getloadavg()[0]
    results = [measure(name, mit_model(args.mit_run) if name == "mit" else load_model(name), args.tunes,
                       tuple(args.rows), args.lab_chars, args.max_chars) for name in args.models]
    figures = {"results": results, "threads": torch.get_num_threads(), "load_average_start": round(load_start, 2),
               "load_average_end": round(os.getloadavg()[0], 2)}
    name = f"sampling-{time.strftime('%Y-%m-%d')}{'-quick' if args.quick else ''}"
    report(figures, Path(args.out) / f"{name}.json")
    (Path(args.out) / f"{name}.md").write_text(markdown(results) + "\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
