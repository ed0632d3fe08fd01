"""One benchmark run: Tunesmith against the MIT lab, side by side, as ratios measured in one process.

    python -m benchmarks.run                         # speed and memory, a few minutes
    python -m benchmarks.run --quality-minutes 10    # + held-out bpc after 10 minutes each (~35 min more)
    make bench                                       # the full run: --quality-minutes 10
    python -m benchmarks.run --quick                 # seconds: a smoke test of every section

Writes benchmarks/results/<date>.json and .md (ratios first, the machine described).
Sections, in order:

- matmul: float32 peak (1024^3) and the LSTM's own shapes, the yardstick for "share of peak";
- training: characters/second of the lab's training step (benchmarks/lab.py), Tunesmith's
  `mit` preset (the same model) and the default preset, in interleaved rounds, with each one's
  achieved FLOP/s as a share of the peak;
- quality (--quality-minutes M): held-out bits per character after M minutes of training for
  the lab loop, `mit` and the default preset, on irish.abc split by tune (5 % held out);
- sampling: the lab's per-character loop against `sample_tunes` writing 64 tunes at once;
- memory: peak RSS of training and of sampling, each in its own child process.

Never run it beside another heavy process: on 2 cores, two torch processes slow each other
10-30x. The load average at the start and end is in the results so a noisy run shows.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from benchmarks import lab
from benchmarks.common import (
    interleaved_rates,
    lstm_forward_flops_per_char,
    lstm_layer_gflops,
    machine,
    matmul_gflops,
    paired_ratio,
    peak_rss_mb,
    seconds_per_call,
    sync,
    train_flops_per_char,
)
from tunesmith.data.batching import concatenate
from tunesmith.data.corpus import Split, load_corpus, split_by_tune
from tunesmith.data.vocab import CharVocab
from tunesmith.learn.device import resolve_device
from tunesmith.learn.scoring import bits_per_char
from tunesmith.learn.training import DEFAULT_PRESET, PRESETS, Trainer
from tunesmith.models import build_model
from tunesmith.sample.sampling import SamplingSettings, sample_tunes
from tunesmith.store.checkpoint import TrainedModel, load_model

ROOT = Path(__file__).resolve().parents[1]
IRISH = ROOT.parent / "shared" / "data" / "irish.abc"
SECTIONS = ("matmul", "training", "quality", "sampling", "memory")
SAMPLE_TUNES = 64


def quiet(_: str) -> None:
    pass


class Data:
    """The tunes every section trains on: split by tune, Tunesmith's vocabulary, one stream."""

    def __init__(self, name: str, split: Split):
        self.name, self.split = name, split
        self.vocab = CharVocab.build(t.text for t in split.train)
        self.stream = concatenate([self.vocab.encode_tune(t.text) for t in split.train])

    @classmethod
    def load(cls, name: str) -> Data:
        return cls(name, split_by_tune(load_corpus(name).tunes, seed=0))


def default_data() -> str:
    return str(IRISH) if IRISH.is_file() else "oneills"


def mit_network(vocab_size: int, device: torch.device) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(PRESETS["mit"].kind, {"vocab_size": vocab_size, **PRESETS["mit"].model}).to(device)


def preset_flops(name: str, vocab_size: int) -> float:
    model = PRESETS[name].model
    forward = lstm_forward_flops_per_char(vocab_size, model["embed_dim"], model["hidden_size"], model["num_layers"])
    return train_flops_per_char(forward)


# -- sections -------------------------------------------------------------------------------


def section_matmul(device: torch.device, quick: bool) -> dict:
    """The float32 matmul peak, and the matmuls an LSTM training step is made of (mit's shapes)."""
    seconds = 0.05 if quick else 0.5
    size = 1024 if device.type == "cpu" else 4096
    b, t, e, h = lab.BATCH, lab.SEQ, lab.EMBED, lab.HIDDEN
    shapes = {
        f"{size}^3 (peak)": (size, size, size),
        "input projection (B*T x E) @ (E x 4H)": (b * t, e, 4 * h),
        "recurrent step (B x H) @ (H x 4H), plain torch.mm": (b, h, 4 * h),
        "weight gradient (4H x B*T) @ (B*T x H)": (4 * h, b * t, h),
    }
    figures = {name: round(matmul_gflops(*shape, device, seconds), 1) for name, shape in shapes.items()}
    if device.type == "cuda":  # what bf16 autocast can reach; the peak stays float32's, as the lab trains in it
        figures[f"{size}^3 bfloat16"] = round(matmul_gflops(size, size, size, device, seconds, torch.bfloat16), 1)
    layer = lstm_layer_gflops(b, t, e, h, device, calls=1 if quick else 5)
    figures |= {f"torch LSTM layer {k} (mit shape)": round(v, 1) for k, v in layer.items()}
    return {"peak_gflops": figures[f"{size}^3 (peak)"], "gflops": figures}


def training_contestants(data: Data, device: torch.device, run_root: Path) -> tuple[dict, dict, dict]:
    """step functions, characters per step and training FLOPs per character, by name."""
    reference = lab.LabTraining(len(data.vocab), data.stream, device)
    steps = {"lab reference": reference.step}
    chars = {"lab reference": lab.BATCH * lab.SEQ}
    flops = {"lab reference": train_flops_per_char(
        lstm_forward_flops_per_char(len(data.vocab), lab.EMBED, lab.HIDDEN))}
    for name in dict.fromkeys(["mit", DEFAULT_PRESET]):
        trainer = Trainer(run_root / name, data.split, PRESETS[name], log=quiet, device=device)
        trainer.network.train()
        steps[name] = trainer.train_step
        chars[name] = trainer.config.batch_size * trainer.config.seq_length
        flops[name] = preset_flops(name, len(trainer.vocab))
    return steps, chars, flops


def section_training(data: Data, device: torch.device, peak: float, calls: int, rounds: int, warmup: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        steps, chars, flops = training_contestants(data, device, Path(tmp))
        rates = interleaved_rates(steps, chars, calls, rounds, device, warmup)
    reference = rates["lab reference"]
    rows = {}
    for name, rate in rates.items():
        median = statistics.median(rate)
        achieved = median * flops[name] / 1e9
        rows[name] = {
            "chars_per_s": round(median),
            "ratio_to_reference": round(paired_ratio(rate, reference), 3),
            "rounds_chars_per_s": [round(r) for r in rate],
            "train_flops_per_char": flops[name],
            "achieved_gflops": round(achieved, 1),
            "share_of_peak": round(achieved / peak, 3),
        }
    return {"steps_per_round": calls, "rounds": rounds, "rows": rows}


def section_sampling(network: torch.nn.Module, vocab: CharVocab, device: torch.device, lab_chars: int,
                     max_chars: int, trained: str | None) -> dict:
    """The lab's loop (one sequence, a character per call) against 64 tunes in one batch, same weights."""
    reference = lab.copy_weights(network, lab.LabModel(len(vocab)).to(device)).eval()
    lab.lab_generate(reference, [vocab.bos], 5, vocab.tokens)  # warm up
    lab_seconds = seconds_per_call(lambda: lab.lab_generate(reference, [vocab.bos], lab_chars, vocab.tokens), 1,
                                   device, warmup=0)
    lab_rate = lab_chars / lab_seconds
    model = TrainedModel(network.eval(), vocab, {})
    # Free, as the lab samples: the engineering comparison. The constrained sampler is timed after it.
    settings = SamplingSettings(max_chars=max_chars, constrain=False)
    sample_tunes(model, 2, settings=replace(settings, max_chars=8), seed=1)  # warm up
    sync(device)
    started = time.perf_counter()
    batch = sample_tunes(model, SAMPLE_TUNES, settings=settings, seed=0)
    sync(device)
    batch_seconds = time.perf_counter() - started
    started = time.perf_counter()
    alone = sample_tunes(model, 1, settings=settings, seed=0)
    one_seconds = time.perf_counter() - started
    chars = sum(len(s.text) for s in batch)
    mean_length = chars / len(batch)
    batch_rate = chars / batch_seconds
    started = time.perf_counter()
    constrained = sample_tunes(model, SAMPLE_TUNES, settings=replace(settings, constrain=True), seed=0)
    constrained_rate = sum(len(s.text) for s in constrained) / (time.perf_counter() - started)
    return {
        "weights": trained or "untrained (random) mit network: tune lengths are not realistic",
        "lab_loop": {"chars": lab_chars, "seconds": round(lab_seconds, 2), "chars_per_s": round(lab_rate, 1),
                     "tunes_per_s": round(lab_rate / mean_length, 3),
                     "seconds_to_first_tune": round(mean_length / lab_rate, 2)},
        "batched": {"tunes": SAMPLE_TUNES, "chars": chars, "seconds": round(batch_seconds, 2),
                    "chars_per_s": round(batch_rate, 1), "tunes_per_s": round(SAMPLE_TUNES / batch_seconds, 3),
                    "seconds_to_first_tune": round(batch_seconds, 2),  # the batch returns all its tunes at once
                    "finished": sum(s.finished for s in batch), "max_chars": max_chars},
        "one_tune_alone": {"chars": len(alone[0].text), "seconds": round(one_seconds, 2)},
        "mean_tune_chars": round(mean_length, 1),
        "ratio_chars_per_s": round(batch_rate / lab_rate, 2),
        "batched_constrained": {"chars_per_s": round(constrained_rate, 1),
                                "ratio_to_lab": round(constrained_rate / lab_rate, 2),
                                "ratio_to_free_batch": round(constrained_rate / batch_rate, 3)},
    }


def lab_quality(data: Data, device: torch.device, minutes: float, heldout: dict[str, list[str]]) -> dict:
    """The lab loop for `minutes` of training time, scored on its final weights (the lab keeps no other)."""
    reference = lab.LabTraining(len(data.vocab), data.stream, device)
    steps, trained = 0, 0.0
    while trained < 60 * minutes:
        started = time.perf_counter()
        reference.step()
        trained += time.perf_counter() - started
        steps += 1
    scored = lab.Scored(reference.model)
    row = {"steps": steps, "train_seconds": round(trained, 1),
           "chars_per_s": round(steps * lab.BATCH * lab.SEQ / trained)}
    return row | {f"{name}_bpc": round(bits_per_char(scored, data.vocab, texts), 4) for name, texts in heldout.items()}


def preset_quality(name: str, data: Data, device: torch.device, minutes: float, run_dir: Path,
                   heldout: dict[str, list[str]]) -> dict:
    """A preset trained for `minutes` as `tunesmith train` would; scored on its best checkpoint."""
    preset = PRESETS[name]
    preset = replace(preset, train=replace(preset.train, max_steps=None, max_minutes=minutes))
    trainer = Trainer(run_dir, data.split, preset, {"data": [data.name]}, log=quiet, device=device)
    final = trainer.run(show_progress=False)
    best = load_model(run_dir).network.to(device)
    row = {"steps": final["step"], "train_seconds": final["train_seconds"], "chars_per_s": final["chars_per_second"],
           "stopped_early": final["train_seconds"] < 60 * minutes - 1}
    return row | {f"{key}_bpc": round(bits_per_char(best, data.vocab, texts), 4) for key, texts in heldout.items()}


def section_quality(minutes: float, device: torch.device, run_root: Path) -> dict:
    if not IRISH.is_file():
        print(f"quality: skipped, {IRISH} is not here", file=sys.stderr)
        return {"skipped": f"{IRISH} is not here"}
    data = Data.load(str(IRISH))
    split = data.split
    # heldout = the test tunes, seen by nothing; valid drives the presets' checkpoint choice and
    # early stopping; train = as many training tunes, to show how far each model memorises.
    heldout = {"heldout": [t.text for t in split.test], "valid": [t.text for t in split.valid],
               "train_tunes": [t.text for t in split.train[: len(split.test)]]}
    rows = {"lab reference": lab_quality(data, device, minutes, heldout)}
    for name in dict.fromkeys(["mit", DEFAULT_PRESET]):
        rows[name] = preset_quality(name, data, device, minutes, run_root / name, heldout)
    for row in rows.values():
        row["ratio_to_reference"] = round(row["heldout_bpc"] / rows["lab reference"]["heldout_bpc"], 3)
    return {"minutes": minutes, "data": str(IRISH), "split": split.sizes(), "rows": rows}


def run_child(kind: str, args: argparse.Namespace) -> dict:
    """Peak RSS of one job, alone in a fresh process, so no other section's memory counts."""
    command = [sys.executable, "-m", "benchmarks.run", "--child", kind, "--data", args.data,
               "--device", args.device, "--threads", str(torch.get_num_threads())]
    command += ["--quick"] if args.quick else []
    command += ["--sample-model", args.sample_model] if args.sample_model else []
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed"}
    return json.loads(result.stdout.strip().splitlines()[-1])


def child(kind: str, args: argparse.Namespace) -> dict:
    device = resolve_device(args.device)
    data = Data.load(args.data)
    figures = {"rss_after_imports_and_data_mb": peak_rss_mb()}
    steps = 2 if args.quick else 20
    if kind.startswith("train-"):
        with tempfile.TemporaryDirectory() as tmp:
            if kind == "train-lab":
                step = lab.LabTraining(len(data.vocab), data.stream, device).step
            else:
                name = "mit" if kind == "train-mit" else DEFAULT_PRESET
                step = Trainer(Path(tmp), data.split, PRESETS[name], log=quiet, device=device).train_step
            for _ in range(steps):
                step()
        figures["steps"] = steps
    else:
        network = sampling_network(args, data, device)
        max_chars = 60 if args.quick else 2000
        if kind == "sample-lab":
            reference = lab.copy_weights(network, lab.LabModel(len(data.vocab)).to(device))
            lab.lab_generate(reference, [data.vocab.bos], 50 if args.quick else 1000, data.vocab.tokens)
        else:
            sample_tunes(TrainedModel(network.eval(), data.vocab, {}), SAMPLE_TUNES,
                         settings=SamplingSettings(max_chars=max_chars, constrain=False), seed=0)
    return figures | {"peak_rss_mb": peak_rss_mb()}


def sampling_network(args: argparse.Namespace, data: Data, device: torch.device) -> torch.nn.Module:
    if args.sample_model:
        model = load_model(args.sample_model)
        if model.vocab.tokens != data.vocab.tokens:
            raise SystemExit(f"{args.sample_model}: trained on other data than --data {args.data}")
        return model.network.to(device)
    return mit_network(len(data.vocab), device)


def section_memory(args: argparse.Namespace) -> dict:
    kinds = ["train-mit", "sample-batched"] if args.quick else [
        "train-lab", "train-mit", "train-default", "sample-lab", "sample-batched"]
    return {kind: run_child(kind, args) for kind in kinds}


# -- the report -----------------------------------------------------------------------------


def _n(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def markdown(figures: dict) -> str:
    m = figures["machine"]
    lines = [f"# Tunesmith benchmark, {figures['date']}" + (" (QUICK: a smoke test, not figures to quote)"
                                                             if figures["quick"] else ""), ""]
    lines += [f"Machine: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable), torch {m['torch']}, "
              f"{m['threads']} threads (interop {m['interop_threads']}), device {m['device']}"
              + (f" ({m['gpu']})" if "gpu" in m else "")
              + f"; load average {m['load_average_1min']} at the start, {figures['load_average_end']} at the end."
              + f" Data: {figures['data']}.", ""]
    lines += ["| measure | Tunesmith | lab reference | ratio | target |", "|---|---|---|---|---|"]
    lines += _training_rows(figures) + _quality_rows(figures) + _sampling_rows(figures) + _memory_rows(figures)
    lines += ["", "Every ratio is Tunesmith ÷ the lab, measured in this one run. "
              "Training FLOPs per character = 3 × forward; forward = 2·4H·(E+H) per LSTM layer + 2·H·V "
              "(embedding: a look-up, 0); see benchmarks/common.py.", ""]
    if "matmul" in figures:
        lines += ["| matmul (float32) | GFLOP/s |", "|---|---|"]
        lines += [f"| {name} | {_n(value, 1)} |" for name, value in figures["matmul"]["gflops"].items()]
    return "\n".join(lines) + "\n"


def _training_rows(figures: dict) -> list[str]:
    if "training" not in figures:
        return []
    rows = figures["training"]["rows"]
    ref, peak = rows["lab reference"], figures.get("matmul", {}).get("peak_gflops")
    lines = []
    for name, row in rows.items():
        if name == "lab reference":
            continue
        label = f"training chars/s, `{name}`" + (" (same model as the lab)" if name == "mit" else " (default preset)")
        lines.append(f"| {label} | {_n(row['chars_per_s'])} | {_n(ref['chars_per_s'])} | "
                     f"{row['ratio_to_reference']:.2f}× | |")
    for name, row in rows.items():
        if name == "lab reference":
            continue
        target = "≥ 85 %" if name == "mit" else ""
        lines.append(f"| share of matmul peak ({_n(peak, 0)} GFLOP/s), `{name}` | {row['share_of_peak']:.0%} "
                     f"({_n(row['achieved_gflops'], 1)} GFLOP/s) | {ref['share_of_peak']:.0%} | | {target} |")
    return lines


def _quality_rows(figures: dict) -> list[str]:
    quality = figures.get("quality")
    if not quality or "rows" not in quality:
        return []
    rows, ref = quality["rows"], quality["rows"]["lab reference"]
    lines = []
    for name, row in rows.items():
        if name == "lab reference":
            continue
        target = "≤ 0.80×" if name == DEFAULT_PRESET else ""
        lines.append(f"| held-out bpc after {quality['minutes']:g} min, `{name}` (training tunes) | "
                     f"{row['heldout_bpc']:.3f} ({row['train_tunes_bpc']:.2f}) | {ref['heldout_bpc']:.3f} "
                     f"({ref['train_tunes_bpc']:.2f}) | {row['ratio_to_reference']:.2f}× | {target} |")
    return lines


def _sampling_rows(figures: dict) -> list[str]:
    s = figures.get("sampling")
    if not s:
        return []
    b, lab_loop = s["batched"], s["lab_loop"]
    return [
        f"| sampling chars/s, {b['tunes']} tunes batched vs the lab loop | {_n(b['chars_per_s'])} | "
        f"{_n(lab_loop['chars_per_s'])} | {s['ratio_chars_per_s']:.1f}× | ≥ 50× |",
        f"| sampling tunes/s | {b['tunes_per_s']:.2f} | {lab_loop['tunes_per_s']:.3f} | "
        f"{b['tunes_per_s'] / max(lab_loop['tunes_per_s'], 1e-9):.1f}× | |",
        f"| seconds to the first tune (all {b['tunes']} at once; one alone) | {b['seconds_to_first_tune']:.2f}; "
        f"{s['one_tune_alone']['seconds']:.2f} | {lab_loop['seconds_to_first_tune']:.2f} | | |",
    ]


def _memory_rows(figures: dict) -> list[str]:
    mem = figures.get("memory")
    if not mem:
        return []

    def rss(kind: str) -> str:
        return _n(mem.get(kind, {}).get("peak_rss_mb"), 0)

    return [f"| peak RSS training, MB (`mit`; default) | {rss('train-mit')}; {rss('train-default')} | "
            f"{rss('train-lab')} | | |",
            f"| peak RSS sampling, MB ({SAMPLE_TUNES} batched) | {rss('sample-batched')} | {rss('sample-lab')} | | |"]


def write_results(figures: dict, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = figures["date"] + ("-quick" if figures["quick"] else "")
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    json_path.write_text(json.dumps(figures, indent=2) + "\n")
    md_path.write_text(markdown(figures))
    return json_path, md_path


# -- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke test of every section, in seconds")
    parser.add_argument("--quality-minutes", type=float, default=0.0, metavar="M",
                        help="train each contestant M minutes on irish.abc and score held-out bpc (0: skip)")
    parser.add_argument("--data", default=default_data(), help="tunes for the speed sections")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    parser.add_argument("--steps", type=int, help="training steps per contestant per round")
    parser.add_argument("--rounds", type=int, help="interleaved rounds of the training contestants")
    parser.add_argument("--sample-model", help="a run directory whose mit-sized weights the sampling section uses")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, from {','.join(SECTIONS)}")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="folder for <date>.json/.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        figures = child(args.child, args)
        print(json.dumps(figures))
        return figures
    sections = set(args.sections.split(","))
    device = resolve_device(args.device)
    calls, rounds, warmup = (1, 2, 1) if args.quick else (10, 5, 3)
    calls, rounds = args.steps or calls, args.rounds or rounds
    figures: dict = {"date": datetime.date.today().isoformat(), "quick": args.quick, "machine": machine(device),
                     "data": args.data, "sections": sorted(sections)}
    data = Data.load(args.data)
    peak = None
    if "matmul" in sections:
        figures["matmul"] = section_matmul(device, args.quick)
        peak = figures["matmul"]["peak_gflops"]
        print(f"matmul peak {peak} GFLOP/s", file=sys.stderr)
    if "training" in sections:
        peak = peak or section_matmul(device, True)["peak_gflops"]
        figures["training"] = section_training(data, device, peak, calls, rounds, warmup)
        print(f"training: {json.dumps(figures['training']['rows'])}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        trained = args.sample_model
        label = trained and f"trained: {trained}"
        if args.quality_minutes > 0 and "quality" in sections:
            figures["quality"] = section_quality(args.quality_minutes, device, Path(tmp))
            if "rows" in figures["quality"] and not trained and data.name == str(IRISH):
                trained = str(Path(tmp) / "mit")  # sample from the mit model just trained: real tune lengths
                label = f"mit trained {args.quality_minutes:g} minutes in the quality section"
        if "sampling" in sections:
            network = sampling_network(replace_sample_model(args, trained), data, device)
            lab_chars, max_chars = (50, 60) if args.quick else (1000, 2000)
            try:
                figures["sampling"] = section_sampling(network, data.vocab, device, lab_chars, max_chars, label)
            except RuntimeError as error:  # a sampler that cannot yet run on this device: measure on the CPU
                print(f"sampling on {device} failed ({error}); measuring on cpu", file=sys.stderr)
                cpu = torch.device("cpu")
                figures["sampling"] = section_sampling(network.to(cpu), data.vocab, cpu, lab_chars, max_chars, label)
                figures["sampling"]["device_error"] = f"{device}: {error}"
            print(f"sampling: ratio {figures['sampling']['ratio_chars_per_s']}x", file=sys.stderr)
    if "memory" in sections:
        figures["memory"] = section_memory(args)
    figures["load_average_end"] = round(os.getloadavg()[0], 2)
    json_path, md_path = write_results(figures, Path(args.out))
    print(markdown(figures))
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return figures


def replace_sample_model(args: argparse.Namespace, trained: str | None) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), "sample_model": trained})


if __name__ == "__main__":
    main()
