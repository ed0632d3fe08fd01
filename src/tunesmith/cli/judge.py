"""The judging faces: `tunesmith check`, `evaluate`, `plot` and `compare`, and the tables they print."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tunesmith.cli.common import (
    MAX_SEED,
    _resolve_model,
    checked,
    file_to_write,
    folder_to_write,
    key_name,
    model_run,
    real,
    run_folder,
    tune_source,
    whole,
)

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
                            constrain=not args.free, form=args.form, candidates=args.candidates)
    where = "held-out split" if result["own_split"] else "data not used in training"
    print(f"{run}: {result['heldout_bpc']:.3f} bits per character on {result['heldout_tunes']} tunes ({where})")
    print(rate_table({"generated": result["generated"], "held-out real": result["reference"]}))
    _say_if_no_abc2midi()
    if "realism" in result:
        print(realism_lines(result["realism"]))
    steps = result["timings_s"].items()
    print("seconds: " + ", ".join(f"{step.replace('_', ' ')} {seconds:.2f}" for step, seconds in steps))
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
            raise FileNotFoundError(f"{str(run)!r}: no metrics.jsonl here; is it a run directory?")
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


# -- the parsers ------------------------------------------------------------------


def add_check_parser(sub: argparse._SubParsersAction) -> None:
    """`tunesmith check`: a tune book's syntax, metre and form."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    chk = sub.add_parser("check", help="check the tunes of a tune book: syntax, metre, form", formatter_class=fmt)
    chk.add_argument("data", nargs="+", type=tune_source, help="an .abc file, a folder of them, or a named corpus")
    chk.add_argument("--quiet", action="store_true", help="only the table, not each failing tune")
    chk.add_argument("--music21", action="store_true", help="also parse every tune with music21 (slow)")
    chk.add_argument("--against", nargs="+", type=tune_source, help="DATA to look for copied bars in")
    chk.add_argument("--json", type=file_to_write, help="write every tune's record here")
    chk.set_defaults(func=checked(chk, cmd_check))


def add_evaluate_parser(sub: argparse._SubParsersAction) -> None:
    """`tunesmith evaluate`: held-out bpc and the checks, generated against real tunes."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    ev = sub.add_parser("evaluate", help="held-out bpc and tune checks, generated vs real", formatter_class=fmt)
    ev.add_argument("--model", type=model_run, help="run directory, or 'default' (default: the newest under "
                                                    "./runs, else the model shipped with Tunesmith)")
    ev.add_argument("--data", nargs="+", type=tune_source,
                    help="tunes to score (default: the run's own held-out split)")
    ev.add_argument("--samples", type=whole(1, 10_000), default=200, help="tunes to generate and check")
    ev.add_argument("--temperature", type=real(0, 5), default=1.0, help="above 0 and at most 5")
    ev.add_argument("--seed", type=whole(0, MAX_SEED), default=0)
    ev.add_argument("--free", action="store_true",
                    help="check tunes sampled without the bar and form constraint: the model's own validity")
    ev.add_argument("--form", choices=["auto", "free"], default="auto",
                    help="the form of the generated tunes, as generate gives it (auto) or none (free)")
    ev.add_argument("--candidates", type=whole(1, 16), default=1, metavar="N",
                    help="keep each generated tune as the best of N by the critic, as generate --candidates does")
    ev.add_argument("--json", type=file_to_write, help="write every figure here")
    ev.add_argument("--report", type=folder_to_write, help="folder for a Markdown report with plots")
    ev.add_argument("--constrained-vs-free", action="store_true",
                    help="sample --samples tunes free and constrained with the same seed, check both")
    ev.add_argument("--requests", type=whole(1, 1000), metavar="N",
                    help="ask N tunes each of reel/D, jig/G, hornpipe/A dorian, slip jig/E minor, polka/Bb")
    ev.add_argument("--keys", nargs="+", type=key_name, metavar="KEY",
                    help="ask --samples tunes in each key (e.g. Bb 'F#m'): share passing the checker and "
                         "sounding in the key (Krumhansl-Schmuckler on their notes), beside real tunes in it")
    ev.set_defaults(func=checked(ev, cmd_evaluate))


def add_plot_parser(sub: argparse._SubParsersAction) -> None:
    """`tunesmith plot`: a run's curves."""
    plot = sub.add_parser("plot", help="draw a run's curves: loss.png, and gradients.png with --diagnostics")
    plot.add_argument("runs", nargs="+", type=run_folder, metavar="RUN_DIR", help="run directories")
    plot.add_argument("--out", type=file_to_write, default="gradient-reach.png",
                      help="with several runs trained with --diagnostics: their gradient reach on one plot")
    plot.set_defaults(func=checked(plot, cmd_plot))


def add_compare_parser(sub: argparse._SubParsersAction) -> None:
    """`tunesmith compare`: runs side by side."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    cmp = sub.add_parser("compare", help="table and plot of held-out bpc against time and size", formatter_class=fmt)
    cmp.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories")
    cmp.add_argument("--out", type=folder_to_write, default=".", help="folder for compare.png")
    # RUN_DIRs are not checked here: compare skips one it cannot read (missing, still starting) with a line.
    cmp.set_defaults(func=checked(cmp, cmd_compare))
