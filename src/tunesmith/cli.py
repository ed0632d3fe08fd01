"""The `tunesmith` command: a thin layer over the Python API."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

RUNS_DIR = Path("runs")
DEMO_RUN = RUNS_DIR / "demo"


def newest_run(root: Path = RUNS_DIR) -> Path | None:
    """The documented default model: the most recently written run under ./runs."""
    runs = [p.parent for p in root.glob("*/model.safetensors")]
    return max(runs, key=lambda p: (p / "model.safetensors").stat().st_mtime, default=None)


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
        tokenizer=args.tokenizer, transpose=args.transpose,
        device=args.device, precision=args.precision,
    )
    if not distributed.is_rank_zero():
        return 0
    print(json.dumps(final))
    print(f"model written to {args.out}/model.safetensors; try: tunesmith generate --model {args.out}")
    return 0


# -- generate ---------------------------------------------------------------------


def write_tunes(texts: list[str], out: Path | None, notes: list[list[str]] | None = None,
                notes_at_end: bool = False) -> list[Path]:
    """Print the tunes as one tune book, or write one .abc file per tune into out (never over one).

    notes_at_end: the N: lines go after the music, not after X: (a prompt that wrote the header).
    """
    from tunesmith.abc.text import with_notes

    notes = notes or [[] for _ in texts]
    if out is None:
        print("\n\n".join(with_notes(t, n, i, notes_at_end) for i, (t, n) in enumerate(zip(texts, notes), start=1)))
        return []
    out.mkdir(parents=True, exist_ok=True)
    first = 1 + max((int(p.stem.split("-")[-1]) for p in out.glob("tune-[0-9][0-9][0-9]*.abc")
                     if p.stem.split("-")[-1].isdigit()), default=0)
    paths = []
    for i, (text, note) in enumerate(zip(texts, notes), start=first):
        path = out / f"tune-{i:03d}.abc"
        path.write_text(with_notes(text, note, i, notes_at_end) + "\n")
        paths.append(path)
    return paths


def _resolve_model(path: str | None) -> Path:
    """The run named, else the newest under ./runs, else the model shipped in the package."""
    from tunesmith.store.checkpoint import SHIPPED_MODEL, model_path

    return model_path(path) if path else newest_run() or SHIPPED_MODEL


def _model_name(run: Path) -> str:
    from tunesmith.store.checkpoint import DEFAULT_MODEL, SHIPPED_MODEL

    return DEFAULT_MODEL if run == SHIPPED_MODEL else str(run)


def cmd_generate(args: argparse.Namespace) -> int:
    from tunesmith.abc.grammar import Form
    from tunesmith.sample.sampling import SamplingSettings, check_request, fresh_seed, request_warnings, sample_tunes
    from tunesmith.store.checkpoint import load_model

    check_request(args.key, args.meter)  # before the model loads
    settings = SamplingSettings(args.temperature, args.top_k, args.top_p, args.max_chars, constrain=not args.free)
    run = _resolve_model(args.model)
    model = load_model(run)
    form = Form(args.parts, args.bars_per_part, not args.no_repeats, args.pickup) if args.parts else args.form
    seed = fresh_seed() if args.seed is None else args.seed
    for warning in request_warnings(model, args.rhythm, args.meter):
        print(f"tunesmith: {warning}", file=sys.stderr)
    started = time.perf_counter()
    samples = sample_tunes(
        model, args.num, key=args.key, meter=args.meter, rhythm=args.rhythm,
        prime=args.prime.replace("\\n", "\n"), settings=settings, seed=seed,
        form=None if args.free else form,
    )
    seconds = time.perf_counter() - started
    command = _provenance(args, run, seed)
    notes = [[command, *_sample_notes(sample, i, len(samples))] for i, sample in enumerate(samples, start=1)]
    paths = write_tunes([s.text for s in samples], Path(args.out) if args.out else None, notes,
                        notes_at_end=args.prime.startswith("X:"))
    extra = [f for f in args.format if f != "abc"]
    if extra:
        _render_generated(paths, extra, args)
    _report_sampling(samples, seconds, args, paths)
    print(f"seed {seed}: `{command}` writes these tunes again", file=sys.stderr)
    return 0


def _provenance(args: argparse.Namespace, run: Path, seed: int) -> str:
    """The command that makes these tunes again (the seed included)."""
    options = {"model": _model_name(run), "num": args.num, "seed": seed, "max-chars": args.max_chars,
               "temperature": args.temperature,
               "top-k": args.top_k, "top-p": args.top_p, "key": args.key, "meter": args.meter,
               "rhythm": args.rhythm, "prime": repr(args.prime) if args.prime else None,
               "parts": args.parts, "bars-per-part": args.bars_per_part if args.parts else None,
               "form": None if args.parts or args.free else args.form}
    quoted = {k: f"'{v}'" if any(c in str(v) for c in "|# ") else v for k, v in options.items() if v is not None}
    flags = " ".join(f"--{k} {v}" for k, v in quoted.items()) + (" --free" if args.free else "")
    return "tunesmith generate " + flags


def _sample_notes(sample, number: int, total: int) -> list[str]:
    """N: lines saying how one tune was asked for: its form and the notes its parts were to end on."""
    notes = [f"tune {number} of {total}; form {sample.form}"]
    if sample.cadences:
        ends = " ".join("any" if d is None else str(d) for d in sample.cadences)
        dropped = f" ({sample.cadences_dropped} given up)" if sample.cadences_dropped else ""
        notes[0] += f"; parts end on degrees {ends}{dropped}"
    return notes


def _report_sampling(samples: list, seconds: float, args: argparse.Namespace, paths: list[Path]) -> None:
    unfinished = sum(not s.finished for s in samples)
    chars = sum(len(s.text) for s in samples)
    print(f"{len(samples)} tunes, {chars:,} characters in {seconds:.1f}s ({chars / seconds:,.0f} chars/s); "
          f"{unfinished} cut at --max-chars {args.max_chars}", file=sys.stderr)
    if not args.free:
        print(f"constraint: {sum(s.rollbacks for s in samples)} bars written again, "
              f"{sum(s.dead_end for s in samples)} tunes given up at a dead end", file=sys.stderr)
    if paths:
        print(f"wrote {len(paths)} tunes to {args.out}/ ({paths[0].name} ...)", file=sys.stderr)
        print(f"hear one: tunesmith play {paths[0]}   "
              f"(or: tunesmith render {paths[0]} --to mid,wav,svg)", file=sys.stderr)


def _render_generated(paths: list[Path], formats: list[str], args: argparse.Namespace) -> None:
    from tunesmith.render.rendering import RenderError, render_tune

    options = _render_options(args)
    for path in paths:
        try:
            render_tune(path.read_text(), formats, path.parent, path.stem, options)
        except RenderError as error:
            print(f"skipping {path.name}: {error}", file=sys.stderr)


# -- render and play ------------------------------------------------------------


def _formats(value: str) -> list[str]:
    from tunesmith.render.rendering import FORMATS

    formats = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise argparse.ArgumentTypeError(f"choose formats from {','.join(FORMATS)} (got {value!r})")
    return formats


def _render_options(args: argparse.Namespace):
    from tunesmith.render.rendering import RenderOptions

    soundfont = Path(args.soundfont) if args.soundfont else None
    return RenderOptions(tempo=args.tempo, soundfont=soundfont, instrument=args.instrument)


def cmd_render(args: argparse.Namespace) -> int:
    from tunesmith.render.rendering import render_tunebook

    started = time.perf_counter()
    out = Path(args.out) if args.out else Path(args.file).parent
    tunes = None if args.all or args.tune is None else [args.tune]
    results = render_tunebook(Path(args.file), args.to, out, tunes, _render_options(args))
    for result in results:
        if result.ok:
            print(f"tune {result.number}: " + " ".join(str(p) for p in result.files.values()))
        else:
            print(f"skipping tune {result.number}: {result.error}", file=sys.stderr)
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} tunes rendered, {failed} failed, "
          f"in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return 1 if failed else 0


def cmd_play(args: argparse.Namespace) -> int:
    from tunesmith.render.rendering import play

    wav, played = play(Path(args.file), args.tune, _render_options(args))
    print(f"played {wav}" if played else f"no audio device here; the tune is in {wav}")
    return 0


def _add_render_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tempo", type=int, help="beats per minute (default: Q:, else by rhythm)")
    parser.add_argument("--soundfont", help="an .sf2 file (default: Debian's General MIDI font)")
    parser.add_argument("--instrument", default="fiddle", help="fiddle, whistle, flute, accordion, piano ...")


# -- check and evaluate ----------------------------------------------------------

RATE_ROWS = [
    ("tunes", "tunes", "{:.0f}"),
    ("has_x_m_k", "X:, M:, K: present", "{:.1%}"),
    ("syntax_ok", "syntax ok (abc2midi, no Error)", "{:.1%}"),
    ("metre_ok", "every bar the right length", "{:.1%}"),
    ("mean_bars_correct", "bars of the right length", "{:.1%}"),
    ("aabb", "AABB with 8-bar parts", "{:.1%}"),
    ("ends_on_tonic", "ends on the tonic of its key", "{:.1%}"),
    ("mean_in_key", "notes in the key of K:", "{:.1%}"),
    ("mean_pitch_range", "pitch range (semitones)", "{:.1f}"),
    ("copied", "copies >= 4 bars of a training tune", "{:.1%}"),
    ("ended_at_end_marker", "ended at </s> (not the length cap)", "{:.1%}"),
    ("abc2midi_clean", "abc2midi: no Error line", "{:.1%}"),
    ("model_bpc", "the model's own bits per character", "{:.3f}"),
    ("chars_per_second", "characters per second", "{:,.0f}"),
    ("rollbacks_per_tune", "bars written again per tune", "{:.2f}"),
    ("fallbacks_per_tune", "top-p set all refused, per tune", "{:.2f}"),
    ("dead_ends", "tunes given up at a dead end", "{:.1%}"),
]


def rate_table(columns: dict[str, dict]) -> str:
    """A plain-text table: one row per rate, one column per set of tunes."""
    names = list(columns)
    lines = [f"{'':38}" + "".join(f"{name:>16}" for name in names)]
    for key, label, form in RATE_ROWS:
        if not any(key in col for col in columns.values()):
            continue
        cells = [form.format(col[key]) if key in col else "-" for col in columns.values()]
        lines.append(f"{label:38}" + "".join(f"{cell:>16}" for cell in cells))
    return "\n".join(lines)


def _problem(report) -> str:
    """One line on why a tune failed the checks."""
    if not report.syntax_ok:
        errors = [m for m in report.abc2midi_messages if "Error" in m]
        missing = [f"no {f}:" for f in report.missing_fields]
        return "; ".join((missing + errors + list(report.problems))[:3])
    wrong = report.wrong_bars[:3]
    return "bar lengths: " + ", ".join(f"bar {w.index} is {w.found} not {w.expected}" for w in wrong)


def realism_lines(realism: dict) -> str:
    """The realism judge's verdict in words: histogram overlaps, repetition, and the classifier."""
    overlap = ", ".join(f"{name} {value:.2f}" for name, value in realism["overlap"].items())
    means = realism["means"]
    c2st = realism["c2st"]
    away = "; ".join(f"{f['feature']} {f['generated']:g} vs {f['real']:g}" for f in c2st["gives_away"][:3])
    return "\n".join([
        f"histogram overlap with real tunes (1 = the same): {overlap}",
        f"bars heard before in the tune: {means['repeats_exact']['generated']:.1%} "
        f"(real {means['repeats_exact']['real']:.1%}); up to transposition "
        f"{means['repeats_transposed']['generated']:.1%} (real {means['repeats_transposed']['real']:.1%})",
        f"a classifier tells them from real tunes with accuracy {c2st['gradient_boosting']:.2f} "
        f"(gradient-boosted trees; logistic regression {c2st['logistic_regression']:.2f}; 0.50: it cannot)",
        f"what gives them away (generated vs real): {away}",
    ])


def _say_if_no_abc2midi() -> None:
    from tunesmith.judge.quality import has_abc2midi

    if not has_abc2midi():
        print("abc2midi is not installed, so its check is left out (syntax read by Tunesmith alone): "
              "sudo apt-get install abcmidi", file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from tunesmith.data.corpus import load_corpus, resolve_files
    from tunesmith.judge.evaluation import rates
    from tunesmith.judge.quality import NoveltyIndex, check_tunebook

    index = NoveltyIndex(t.text for t in load_corpus(args.against).tunes) if args.against else None
    started, reports = time.perf_counter(), []
    for path in [p for data in args.data for p in resolve_files(data)]:
        try:
            book = check_tunebook(path, use_music21=args.music21, index=index)
        except OSError as error:  # one unreadable file in a folder: the others are still checked
            print(f"skipping {path}: cannot read file ({error.strerror})", file=sys.stderr)
            continue
        for number, report in enumerate(book, start=1):
            if not (report.syntax_ok and report.metre_ok) and not args.quiet:
                print(f"{path}: tune {number} {report.title!r}: {_problem(report)}")
        reports += book
    label = " ".join(Path(d).name for d in args.data)[:30]
    print(rate_table({label: rates(reports)}))
    _say_if_no_abc2midi()
    print(f"{len(reports)} tunes checked in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in reports], indent=1))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from tunesmith.judge.evaluation import evaluate_model
    from tunesmith.store.checkpoint import load_model

    run = _resolve_model(args.model)
    if args.constrained_vs_free or args.requests or args.keys:
        return _evaluate_control(load_model(run), run, args)
    result = evaluate_model(load_model(run), args.data, args.samples, args.temperature, args.seed,
                            constrain=not args.free, form=args.form)
    where = "held-out split" if result["own_split"] else "data not used in training"
    print(f"{run}: {result['heldout_bpc']:.3f} bits per character on {result['heldout_tunes']} tunes ({where})")
    print(rate_table({"generated": result["generated"], "held-out real": result["reference"]}))
    _say_if_no_abc2midi()
    if "realism" in result:
        print(realism_lines(result["realism"]))
    print(f"timings (s): {result['timings_s']}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if args.report:
        from tunesmith.judge.evaluation import write_report

        print(f"report: {write_report(result, Path(args.report), rate_table, run)}")
    return 0


def _evaluate_control(model, run: Path, args: argparse.Namespace) -> int:
    """evaluate --constrained-vs-free / --requests / --keys: what was asked for, what came back."""
    from tunesmith.judge import control
    from tunesmith.judge.evaluation import heldout_texts

    train, heldout, _ = heldout_texts(model, args.data)
    result: dict = {"model": str(run), "samples": args.samples, "seed": args.seed}
    if args.constrained_vs_free:
        compared = control.compare_sampling(model, args.samples, args.seed, args.temperature, heldout[: args.samples])
        print(rate_table({k: compared[k] for k in ("free", "constrained", "held-out real")}))
        print(f"sampling speed, constrained / free: {compared['speed_ratio']:.2f}")
        result["compare"] = compared
    if args.requests:
        requests = [control.Request.of(rhythm, key) for rhythm, key in control.DEFAULT_REQUESTS]
        table = control.request_table(model, requests, args.requests, args.seed, args.temperature, train)
        print(control.format_request_table(table))
        result["requests"] = table
    if args.keys:
        table = control.key_table(model, args.keys, args.samples, args.seed, args.temperature,
                                  constrain=not args.free, real_tunes=train + heldout)
        print(control.format_key_table(table))
        result["keys"] = table
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from tunesmith.learn.diagnostics import plot_diagnostics, plot_reach_comparison
    from tunesmith.learn.training import plot_losses, read_metrics

    with_diagnostics = {}
    for run in map(Path, args.runs):
        metrics = run / "metrics.jsonl"
        if not metrics.is_file():
            raise FileNotFoundError(f"{run}: no metrics.jsonl here; is it a run directory?")
        plot_losses(run)
        print(f"wrote {run / 'loss.png'}")
        records = read_metrics(metrics)
        if any("grad_reach" in r for r in records):
            plot_diagnostics(records, run / "gradients.png")
            print(f"wrote {run / 'gradients.png'}")
            with_diagnostics[run.name or str(run)] = records
    if len(with_diagnostics) > 1:
        plot_reach_comparison(with_diagnostics, args.out)
        print(f"wrote {args.out}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from tunesmith.judge.compare import compare_runs

    table, png = compare_runs(args.runs, args.out)
    print(table)
    print(f"wrote {png}", file=sys.stderr)
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
    print(f"kept tunes go to {data_dir / 'kept.abc'}", file=sys.stderr)
    print(f"open http://{'localhost' if local else args.host}:{args.port}/", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


# -- the parser -------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from tunesmith.learn.device import DEVICE_CHOICES, PRECISIONS
    from tunesmith.learn.training import DEFAULT_PRESET, PRESETS
    from tunesmith.sample.sampling import SamplingSettings

    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(
        prog="tunesmith", description="Learn folk tunes in ABC notation and write new ones."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="list and inspect tune books").add_subparsers(dest="data_command", required=True)
    data.add_parser("list", help="named corpora").set_defaults(func=cmd_data_list)
    stats = data.add_parser("stats", help="tunes, characters, vocabulary, skipped tunes", formatter_class=fmt)
    stats.add_argument("data", nargs="+", help="an .abc file, a folder of them, or a named corpus")
    stats.add_argument("--json", action="store_true", help="one JSON line per DATA")
    stats.add_argument("--show-skipped", type=int, default=10, metavar="N", help="list the first N skipped tunes")
    stats.set_defaults(func=cmd_data_stats)

    tr = sub.add_parser("train", help="train a model on tune books", formatter_class=fmt)
    tr.add_argument("--data", nargs="+", required=True, help="an .abc file, a folder of them, or a named corpus")
    tr.add_argument("--out", required=True, help="run directory for checkpoints and metrics")
    tr.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET)
    tr.add_argument("--steps", type=int, help="stop after this many steps (default: the preset's)")
    tr.add_argument("--minutes", type=float, help="stop after this much training time")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--resume", action="store_true", help="go on from RUN_DIR/last.safetensors")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.add_argument("--device", choices=DEVICE_CHOICES, default="auto",
                    help="auto: cuda if a GPU is usable, else mps, else cpu; bf16 mixed precision on cuda")
    tr.add_argument("--precision", choices=PRECISIONS,
                    help="auto: bf16 autocast on cuda, float32 elsewhere; bf16: on the CPU too (fast on CPUs with "
                         "bf16 instructions); fp32 (default: auto, or the resumed run's)")
    tr.add_argument("--nproc", type=int, default=1, metavar="N",
                    help="train in N processes on this machine (DistributedDataParallel: gloo on CPU, "
                         "NCCL on GPUs); for several machines use torchrun, see the README")
    tr.add_argument("--diagnostics", action="store_true",
                    help="log gradient reach and per-layer gradient norms; draw them with `tunesmith plot`")
    tr.add_argument("--tokenizer", choices=["char", "abc"],
                    help="characters, or ABC units (notes, bar lines, header fields) (default: char, "
                         "or the resumed run's)")
    tr.add_argument("--transpose", choices=["none", "all"],
                    help="all: train on every tune in its other keys too "
                         "(default: the preset's, all for small; or the resumed run's)")
    tr.set_defaults(func=cmd_train)

    defaults = SamplingSettings()  # one set of defaults: the API's, the web page's and these
    gen = sub.add_parser("generate", help="write new tunes", formatter_class=fmt)
    gen.add_argument("--model", help="run directory, or 'default' (default: the newest under ./runs, "
                                     "else the model shipped with Tunesmith)")
    gen.add_argument("--num", type=int, default=1, help="tunes to write, sampled together as one batch")
    gen.add_argument("--temperature", type=float, default=defaults.temperature)
    gen.add_argument("--top-k", type=int, default=defaults.top_k)
    gen.add_argument("--top-p", type=float, default=defaults.top_p, help="nucleus sampling; 1: off")
    gen.add_argument("--prime", default="", help="opening ABC of the tune body (or a whole start from X:)")
    gen.add_argument("--key", help="K: of every tune, e.g. G, Ador, 'E minor'")
    gen.add_argument("--meter", help="M: of every tune, e.g. 6/8, C|")
    gen.add_argument("--rhythm", help="R: of every tune, e.g. reel, jig, hornpipe")
    gen.add_argument("--seed", type=int, help="the same seed and options write the same tunes "
                                               "(default: a fresh one, printed and written in each tune's N: line)")
    gen.add_argument("--max-chars", type=int, default=defaults.max_chars, help="cut a tune still going at this length")
    gen.add_argument("--form", choices=["auto", "free"], default="auto",
                     help="auto: each tune gets a form (parts, bars, repeats, pickup) and part endings like the "
                          "training tunes of its type; free: none (unless --parts)")
    gen.add_argument("--parts", type=int, help="ask for this many parts (sections), e.g. 2 for AABB")
    gen.add_argument("--bars-per-part", type=int, default=8, help="bars in each part, with --parts")
    gen.add_argument("--no-repeats", action="store_true", help="parts end with || instead of a repeat")
    pickup = gen.add_mutually_exclusive_group()
    pickup.add_argument("--pickup", action="store_true", default=None, help="start with an anacrusis")
    pickup.add_argument("--no-pickup", action="store_false", dest="pickup", help="start on the downbeat")
    gen.add_argument("--free", action="store_true",
                     help="sample freely, as the lab did: no bar, bracket or form constraint")
    gen.add_argument("--out", help="folder for one .abc per tune (default: print to stdout)")
    gen.add_argument("--format", type=_formats, default=["abc"], help="also write these, e.g. abc,mid,wav,svg")
    _add_render_options(gen)
    gen.set_defaults(func=cmd_generate)

    ren = sub.add_parser("render", help="ABC to MIDI, audio and sheet music", formatter_class=fmt)
    ren.add_argument("file", help="an .abc tune book")
    which = ren.add_mutually_exclusive_group()
    which.add_argument("--tune", type=int, help="the Nth tune of the file (1-based position)")
    which.add_argument("--all", action="store_true", help="every tune (the default)")
    ren.add_argument("--to", type=_formats, default=["mid"], help="comma-separated: abc,mid,wav,flac,svg,png")
    ren.add_argument("--out", help="output folder (default: beside the file)")
    _add_render_options(ren)
    ren.set_defaults(func=cmd_render)

    pl = sub.add_parser("play", help="play a tune, or say where its WAV was written", formatter_class=fmt)
    pl.add_argument("file", help="an .abc file (or a .wav)")
    pl.add_argument("--tune", type=int, default=1, help="the Nth tune of the file")
    _add_render_options(pl)
    pl.set_defaults(func=cmd_play)

    chk = sub.add_parser("check", help="check the tunes of a tune book: syntax, metre, form", formatter_class=fmt)
    chk.add_argument("data", nargs="+", help="an .abc file, a folder of them, or a named corpus")
    chk.add_argument("--quiet", action="store_true", help="only the table, not each failing tune")
    chk.add_argument("--music21", action="store_true", help="also parse every tune with music21 (slow)")
    chk.add_argument("--against", nargs="+", help="DATA to look for copied bars in")
    chk.add_argument("--json", help="write every tune's record here")
    chk.set_defaults(func=cmd_check)

    ev = sub.add_parser("evaluate", help="held-out bpc and tune checks, generated vs real", formatter_class=fmt)
    ev.add_argument("--model", help="run directory, or 'default' (default: the newest under ./runs, else the "
                                    "model shipped with Tunesmith)")
    ev.add_argument("--data", nargs="+", help="tunes to score (default: the run's own held-out split)")
    ev.add_argument("--samples", type=int, default=200, help="tunes to generate and check")
    ev.add_argument("--temperature", type=float, default=1.0)
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--free", action="store_true",
                    help="check tunes sampled without the bar and form constraint: the model's own validity")
    ev.add_argument("--form", choices=["auto", "free"], default="auto",
                    help="the form of the generated tunes, as generate gives it (auto) or none (free)")
    ev.add_argument("--json", help="write every figure here")
    ev.add_argument("--report", help="folder for a Markdown report with plots")
    ev.add_argument("--constrained-vs-free", action="store_true",
                    help="sample --samples tunes free and constrained with the same seed, check both")
    ev.add_argument("--requests", type=int, metavar="N",
                    help="ask N tunes each of reel/D, jig/G, hornpipe/A dorian, slip jig/E minor, polka/Bb")
    ev.add_argument("--keys", nargs="+", metavar="KEY",
                    help="ask --samples tunes in each key (e.g. Bb 'F#m'): share passing the checker and "
                         "sounding in the key (Krumhansl-Schmuckler on their notes), beside real tunes in it")
    ev.set_defaults(func=cmd_evaluate)

    plot = sub.add_parser("plot", help="draw a run's curves: loss.png, and gradients.png with --diagnostics")
    plot.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories")
    plot.add_argument("--out", default="gradient-reach.png",
                      help="with several runs trained with --diagnostics: their gradient reach on one plot")
    plot.set_defaults(func=cmd_plot)

    cmp = sub.add_parser("compare", help="table and plot of held-out bpc against time and size", formatter_class=fmt)
    cmp.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories")
    cmp.add_argument("--out", default=".", help="folder for compare.png")
    cmp.set_defaults(func=cmd_compare)

    demo = sub.add_parser("demo", help="eight new tunes of the common types, rendered, in a page to open",
                          formatter_class=fmt)
    demo.add_argument("--model", help="run directory (default: the model shipped with Tunesmith)")
    demo.add_argument("--out", default="out/demo", help="folder for the tunes and index.html")
    demo.add_argument("--seed", type=int, help="the same seed writes the same tunes (default: a fresh one)")
    demo.add_argument("--train", action="store_true", help="train a model first, as the MIT lab does")
    demo.add_argument("--data", default="oneills", help="with --train: the tunes to learn")
    demo.add_argument("--run", default=str(DEMO_RUN), help="with --train: the run directory")
    demo.add_argument("--minutes", type=float, default=4.0, help="with --train: training time")
    demo.set_defaults(func=cmd_demo)

    exp = sub.add_parser("export", help="a run's model as one .safetensors file", formatter_class=fmt)
    exp.add_argument("run", help="run directory")
    exp.add_argument("--out", required=True, help="the file to write")
    exp.add_argument("--half", action="store_true", help="float16 weights: half the size")
    exp.set_defaults(func=cmd_export)

    srv = sub.add_parser("serve", help="the tune workshop in a browser: generate, see, hear, edit, keep",
                         formatter_class=fmt)
    srv.add_argument("--model", help="run directory, or 'default' (default: the newest under ./runs holding "
                                     "model.safetensors, else the model shipped with Tunesmith)")
    srv.add_argument("--host", default="127.0.0.1", help="address to listen on; other than loopback, a warning")
    srv.add_argument("--port", type=int, default=8000)
    srv.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    from tunesmith.data.corpus import DataError
    from tunesmith.learn.training import TrainingError
    from tunesmith.render.rendering import RenderError

    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for `train --nproc`, which starts itself again
    if getattr(args, "num", 1) < 1:
        print(f"tunesmith: --num must be at least 1 (got {args.num})", file=sys.stderr)
        return 2
    if getattr(args, "format", ["abc"]) != ["abc"] and not args.out:
        parser.error("--format needs --out (a folder for the files)")
    try:
        return args.func(args)
    except (DataError, TrainingError, RenderError, ValueError, FileNotFoundError) as error:
        print(f"tunesmith: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a path that cannot be read or written (a file where a folder should be)
        where = f"{error.filename}: " if error.filename else ""
        print(f"tunesmith: {where}{error.strerror or error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tunesmith: interrupted; a training run goes on with --resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
