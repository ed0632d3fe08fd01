"""The faces that make and show models: `tunesmith data`, `train`, `demo`, `export` and `serve`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tunesmith.cli.common import (
    DEMO_RUN,
    MAX_MINUTES,
    MAX_SEED,
    _model_name,
    _resolve_model,
    checked,
    file_to_write,
    folder_to_write,
    model_run,
    real,
    tune_source,
    whole,
)
from tunesmith.store.library import LIBRARY_FILE

# -- data -------------------------------------------------------------------------


def cmd_data_list(args: argparse.Namespace) -> int:
    from tunesmith.data.corpus import named_corpora

    for name, description, available in named_corpora():
        print(f"{name:8} {'yes' if available else 'no ':3}  {description}")
    return 0


def cmd_data_stats(args: argparse.Namespace) -> int:
    from tunesmith.data.corpus import corpus_stats, load_corpus

    for data in args.data:
        corpus = load_corpus(data)
        stats = corpus_stats(corpus)
        if args.json:
            print(json.dumps({"data": data, **stats}))
            continue
        print(f"{data}: {stats['tunes']} tunes in {stats['sources']} files, "
              f"{stats['characters']:,} characters, vocabulary {stats['vocabulary']}")
        print(f"  meters: {stats['meters']}")
        print(f"  rhythms: {stats['rhythms']}")
        print(f"  skipped: {stats['skipped']}")
        for reason, count in stats["skipped_reasons"].items():
            print(f"    {count:5}  {reason}")
        for error in corpus.skipped[: args.show_skipped]:
            print(f"    skipping {error}")
    return 0


# -- train ------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    from tunesmith.learn import distributed
    from tunesmith.learn.training import train

    if args.nproc > 1 and not distributed.launched_by_torchrun():
        return distributed.launch(args.nproc, args.argv)  # each process comes back here as one rank
    final = train(
        args.data, args.out, args.preset, steps=args.steps, minutes=args.minutes,
        seed=args.seed, resume=args.resume, show_progress=not args.quiet, diagnostics=args.diagnostics,
        tokenizer=args.tokenizer, transpose=args.transpose, fim_rate=args.fim_rate, fim_order=args.fim_order,
        patience=args.patience,
        device=args.device, precision=args.precision,
    )
    if not distributed.is_rank_zero():
        return 0
    print(json.dumps(final))
    print(f"model written to {args.out}/model.safetensors; try: tunesmith generate --model {args.out}")
    return 0


# -- demo -------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    """Eight tunes of the common types from the shipped model (or --model, or --train a new one), in a gallery."""
    from tunesmith.render.gallery import write_demo
    from tunesmith.sample.sampling import fresh_seed
    from tunesmith.store.checkpoint import load_model

    started = time.perf_counter()
    run = _train_demo(args) if args.train else _resolve_model(args.model or "default")
    seed = fresh_seed() if args.seed is None else args.seed
    print(f"model: {_model_name(run)}; seed {seed}")
    tunes, page = write_demo(load_model(run), Path(args.out), seed)
    for tune in tunes:
        failed = [name for name, ok in tune.checks.items() if not ok]
        print(f"  {tune.label:22} {tune.files['abc'].name:18} {'; '.join(failed) if failed else 'all checks pass'}")
    print(f"done in {time.perf_counter() - started:.0f}s; open {page} in a browser "
          f"(tunesmith demo --seed {seed} writes these again)")
    return 0


def _train_demo(args: argparse.Namespace) -> Path:
    """The old demo: train the default preset on --data for a few minutes (or reuse the run)."""
    from tunesmith.learn.training import train
    from tunesmith.store.checkpoint import LAST_FILE, load_model

    run = Path(args.run)
    if (run / "model.safetensors").exists() and load_model(run).meta.get("state", {}).get("finished"):
        print(f"reusing the finished run in {run} (delete it to train again)")
        return run
    resume = (run / LAST_FILE).exists()
    print(f"training the default preset on {args.data} for {args.minutes} minutes into {run}"
          f"{' (resuming)' if resume else ''}")
    train(args.data, run, minutes=args.minutes, resume=resume)
    return run


def cmd_export(args: argparse.Namespace) -> int:
    """A run's best model as one file (how the shipped model is made), its form table filled in if missing."""
    from tunesmith.data.forms import form_table
    from tunesmith.judge.evaluation import heldout_texts
    from tunesmith.store.checkpoint import export_model, load_model

    model = load_model(args.run)
    if "forms" not in model.meta:  # a run trained before runs kept their form table
        train_texts, _, _ = heldout_texts(model, None)
        model.meta["forms"] = form_table(train_texts)
    path = export_model(model, Path(args.out), half=args.half)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB{', float16' if args.half else ''})")
    return 0


# -- serve ------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    """The browser workshop; with no --model, the newest run under ./runs (or a page saying how to train)."""
    try:
        import uvicorn

        from tunesmith.web import create_app
        from tunesmith.web.store import user_data_dir
    except ImportError as error:
        raise SystemExit(f"tunesmith serve needs the web extra ({error.name} is missing): "
                         "pip install 'tunesmith[web]'") from None
    run = _resolve_model(args.model)
    data_dir = user_data_dir()
    local = _is_loopback(args.host)
    if not local:
        print(f"warning: serving on {args.host} lets anyone who can reach this machine generate tunes "
              "and write to your tune book; use --host 127.0.0.1 unless you mean it", file=sys.stderr)
    app = create_app(run, data_dir / "workshop", data_dir=data_dir,
                     allowed_hosts=["127.0.0.1", "localhost", "::1", "[::1]"] if local else None)
    print(f"model: {_model_name(run)}", file=sys.stderr)
    print(f"kept tunes go to the library {data_dir / LIBRARY_FILE} (tunesmith library list)", file=sys.stderr)
    print(f"open http://{'localhost' if local else args.host}:{args.port}/", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


# -- the parsers ------------------------------------------------------------------


def add_data_parser(sub: argparse._SubParsersAction) -> None:
    """`tunesmith data list` and `tunesmith data stats`."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    data = sub.add_parser("data", help="list and inspect tune books").add_subparsers(dest="data_command", required=True)
    data.add_parser("list", help="named corpora").set_defaults(func=cmd_data_list)
    stats = data.add_parser("stats", help="tunes, characters, vocabulary, skipped tunes", formatter_class=fmt)
    stats.add_argument("data", nargs="+", type=tune_source, help="an .abc file, a folder of them, or a named corpus")
    stats.add_argument("--json", action="store_true", help="one JSON line per DATA")
    stats.add_argument("--show-skipped", type=whole(0, 100_000), default=10, metavar="N",
                       help="list the first N skipped tunes")
    stats.set_defaults(func=checked(stats, cmd_data_stats))


def add_train_parser(sub: argparse._SubParsersAction) -> None:
    """`tunesmith train`: the preset, how long, the device, and what the run learns from."""
    from tunesmith.learn.device import DEVICE_CHOICES, PRECISIONS
    from tunesmith.learn.training import DEFAULT_PRESET, PRESETS

    fmt = argparse.ArgumentDefaultsHelpFormatter
    tr = sub.add_parser("train", help="train a model on tune books", formatter_class=fmt)
    tr.add_argument("--data", nargs="+", type=tune_source, required=True,
                    help="an .abc file, a folder of them, or a named corpus")
    tr.add_argument("--out", type=folder_to_write, required=True, help="run directory for checkpoints and metrics")
    tr.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET)
    tr.add_argument("--steps", type=whole(1, 10**9), help="stop after this many steps (default: the preset's)")
    tr.add_argument("--minutes", type=real(0, MAX_MINUTES), help="stop after this much training time (at most a week)")
    tr.add_argument("--seed", type=whole(0, MAX_SEED), default=0)
    tr.add_argument("--resume", action="store_true", help="go on from RUN_DIR/last.safetensors")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.add_argument("--device", choices=DEVICE_CHOICES, default="auto",
                    help="auto: cuda if a GPU is usable, else mps, else cpu; bf16 mixed precision on cuda")
    tr.add_argument("--precision", choices=PRECISIONS,
                    help="auto: bf16 autocast on cuda, float32 elsewhere; bf16: on the CPU too (fast on CPUs with "
                         "bf16 instructions); fp32 (default: auto, or the resumed run's)")
    tr.add_argument("--nproc", type=whole(1, 64), default=1, metavar="N",
                    help="train in N processes on this machine, 1 to 64 (DistributedDataParallel: gloo on CPU, "
                         "NCCL on GPUs); for several machines use torchrun, see the README")
    tr.add_argument("--diagnostics", action="store_true",
                    help="log gradient reach and per-layer gradient norms; draw them with `tunesmith plot`")
    tr.add_argument("--tokenizer", choices=["char", "abc"],
                    help="characters, or ABC units (notes, bar lines, header fields) (default: char, "
                         "or the resumed run's)")
    tr.add_argument("--transpose", choices=["none", "all"],
                    help="all: train on every tune in its other keys too "
                         "(default: the preset's, all for small; or the resumed run's)")
    tr.add_argument("--fim-rate", type=float, metavar="SHARE",
                    help="share of training tunes (0 to 1) rearranged prefix, suffix, middle at bar lines, so the "
                         "model learns to fill gaps too; held-out bpc stays left to right (default: 0, or the "
                         "resumed run's)")
    tr.add_argument("--fim-order", choices=["psm", "spm"],
                    help="psm: before, after, gap; spm: after (its next two bars), before, gap, so the gap is "
                         "written straight after the bars before it (default: psm, or the resumed run's)")
    tr.add_argument("--patience", type=whole(0, 1000), metavar="EVALS",
                    help="stop after this many evaluations without a better validation bpc; 0: never stop early "
                         "(default: the preset's, 5 for small)")
    tr.set_defaults(func=checked(tr, cmd_train))


def add_demo_parser(sub: argparse._SubParsersAction) -> None:
    """`tunesmith demo`: eight tunes in a page (or train first, as the lab does)."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    demo = sub.add_parser("demo", help="eight new tunes of the common types, rendered, in a page to open",
                          formatter_class=fmt)
    demo.add_argument("--model", type=model_run, help="run directory (default: the model shipped with Tunesmith)")
    demo.add_argument("--out", type=folder_to_write, default="out/demo", help="folder for the tunes and index.html")
    demo.add_argument("--seed", type=whole(0, MAX_SEED),
                      help="the same seed writes the same tunes (default: a fresh one)")
    demo.add_argument("--train", action="store_true", help="train a model first, as the MIT lab does")
    demo.add_argument("--data", type=tune_source, default="oneills", help="with --train: the tunes to learn")
    demo.add_argument("--run", type=folder_to_write, default=str(DEMO_RUN), help="with --train: the run directory")
    demo.add_argument("--minutes", type=real(0, MAX_MINUTES), default=4.0, help="with --train: training time")
    demo.set_defaults(func=checked(demo, cmd_demo))


def add_export_parser(sub: argparse._SubParsersAction) -> None:
    """`tunesmith export`: a run's model as one file."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    exp = sub.add_parser("export", help="a run's model as one .safetensors file", formatter_class=fmt)
    exp.add_argument("run", type=model_run, help="run directory")
    exp.add_argument("--out", type=file_to_write, required=True, help="the file to write")
    exp.add_argument("--half", action="store_true", help="float16 weights: half the size")
    exp.set_defaults(func=checked(exp, cmd_export))


def add_serve_parser(sub: argparse._SubParsersAction) -> None:
    """`tunesmith serve`: the browser workshop."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    srv = sub.add_parser("serve", help="the tune workshop in a browser: generate, see, hear, edit, keep",
                         formatter_class=fmt)
    srv.add_argument("--model", type=model_run, help="run directory, or 'default' (default: the newest under "
                                                     "./runs holding model.safetensors, else the model shipped "
                                                     "with Tunesmith)")
    srv.add_argument("--host", default="127.0.0.1", help="address to listen on; other than loopback, a warning")
    srv.add_argument("--port", type=whole(1, 65_535), default=8000)
    srv.set_defaults(func=checked(srv, cmd_serve))
