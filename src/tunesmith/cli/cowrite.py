"""`tunesmith continue`, `fill`, `vary` and `set`: writing with a musician, over tunesmith.sample.cowriting
and tunesmith.judge.sets. Each prints its tune (or writes it with --out) with N: lines saying what was
kept, what was written and how to write it again."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from tunesmith.cli.common import (
    MAX_SEED,
    _model_name,
    _resolve_model,
    checked,
    file_to_write,
    key_name,
    lenient,
    model_run,
    real,
    rhythm_name,
    tune_book,
    whole,
)

BARS = re.compile(r"^\s*(\d{1,3})\s*(?:-\s*(\d{1,3}))?\s*$")


@lenient
def bar_range(value: str) -> tuple[int, int]:
    """--bars: full bars counted from 1, "5-8" or "5". Example: "5-8" -> (5, 8)."""
    match = BARS.match(value)
    if not match:
        raise argparse.ArgumentTypeError(f"{value!r}: give bars as FIRST-LAST, e.g. 5-8 (or one bar, e.g. 5)")
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    if not 1 <= first <= last:
        raise argparse.ArgumentTypeError(f"{value!r}: bars count from 1 and the first comes before the last")
    return first, last


@lenient
def part_letter(value: str) -> str:
    if not re.fullmatch(r"[A-Ha-h]", value.strip()):
        raise argparse.ArgumentTypeError(f"{value!r}: name a part by its letter, A to H")
    return value.strip().upper()


def read_tune_from(path: str, number: int) -> tuple[str, list[str]]:
    """Tune `number` (from 1) of an ABC file, in the notation the model reads, and a note when reading changed it."""
    from tunesmith.abc.text import decode_tunebook, parse_tunebook

    tunes, skipped = parse_tunebook(decode_tunebook(Path(path).read_bytes()), path)
    if not tunes:
        reason = f" ({skipped[0]})" if skipped else ""
        raise ValueError(f"{path!r}: no tune Tunesmith can read{reason}")
    if number > len(tunes):
        raise ValueError(f"{path!r}: --tune {number}, but the file has {len(tunes)} tune(s) Tunesmith can read")
    return tunes[number - 1].text, [f"from tune {number} of {Path(path).name}, read as Tunesmith writes ABC "
                                    "(X T R M L K, L:1/8)"]


def _write_book(book: str, out: str | None) -> None:
    """Print the tune book, or write it to out: never over a file that is there."""
    if out is None:
        sys.stdout.write(book)
        return
    if Path(out).exists():
        raise ValueError(f"{out!r}: already there; Tunesmith does not write over a file (give another name)")
    Path(out).write_text(book)


def _write(text: str, notes: list[str], out: str | None) -> None:
    from tunesmith.abc.text import with_notes

    _write_book(with_notes(text, notes) + "\n", out)
    if out is not None:
        print(f"wrote {out}", file=sys.stderr)


def _command(args: argparse.Namespace, name: str, run: Path, seed: int, extra: str) -> str:
    return (f"tunesmith {name} {args.file} {extra} --tune {args.tune} --model {_model_name(run)} "
            f"--candidates {args.candidates} --read {args.read} --seed {seed}")


def _cowrite(args: argparse.Namespace, name: str, write, extra: str, label: str) -> int:
    from tunesmith.sample.sampling import SamplingSettings, fresh_seed
    from tunesmith.store.checkpoint import load_model

    text, notes = read_tune_from(args.file, args.tune)
    run = _resolve_model(args.model)
    model = load_model(run)
    seed = fresh_seed() if args.seed is None else args.seed
    settings = SamplingSettings(args.temperature, None, args.top_p)
    written = write(model, text, candidates=args.candidates, settings=settings, seed=seed, reading=args.read)
    notes = [_command(args, name, run, seed, extra), *notes, *written.notes(label(written))]
    _write(written.text, notes, args.out)
    return 0


def cmd_fill(args: argparse.Namespace) -> int:
    from tunesmith.sample.cowriting import fill

    what = args.part or args.bars
    extra = f"--part {args.part}" if args.part else f"--bars {args.bars[0]}-{args.bars[1]}"
    shown = f"part {args.part}" if args.part else f"full bars {args.bars[0]}-{args.bars[1]}"
    return _cowrite(args, "fill", lambda m, t, **kw: fill(m, t, what, **kw), extra,
                    lambda w: f"{shown} written again")


def cmd_continue(args: argparse.Namespace) -> int:
    from tunesmith.sample.cowriting import continue_tune

    return _cowrite(args, "continue", lambda m, t, **kw: continue_tune(m, t, args.part, **kw), f"--part {args.part}",
                    lambda w: f"part {args.part} written ({len(w.written)} bars, its last note asked to be the "
                              "tonic) after the tune's own")


def cmd_vary(args: argparse.Namespace) -> int:
    from tunesmith.sample.cowriting import kept_beats, vary, vary_label

    def label(written) -> str:
        return vary_label(written, "the file's")

    def write(model, text, **kw):
        written = vary(model, text, args.amount, **kw)
        kept, total = kept_beats(text, written.text)
        print(f"vary: {kept} of {total} main-beat notes kept ({kept / max(total, 1):.0%})", file=sys.stderr)
        return written

    return _cowrite(args, "vary", write, f"--amount {args.amount}", label)


def cmd_set(args: argparse.Namespace) -> int:
    from tunesmith.abc.text import with_notes
    from tunesmith.cli.generate import _novelty
    from tunesmith.judge.sets import make_set, shared_bars
    from tunesmith.sample.sampling import SamplingSettings, fresh_seed
    from tunesmith.store.checkpoint import load_model

    run = _resolve_model(args.model)
    model = load_model(run)
    seed = fresh_seed() if args.seed is None else args.seed
    settings = SamplingSettings(args.temperature, None, args.top_p)
    made = make_set(model, args.rhythm, args.num, key=args.key, candidates=args.candidates, settings=settings,
                    seed=seed, novelty=_novelty(model))
    command = (f"tunesmith set --rhythm {made.rhythm} --num {args.num} --model {_model_name(run)} "
               f"--candidates {args.candidates} --seed {seed}" + (f" --key {args.key}" if args.key else ""))
    book = "\n\n".join(with_notes(s.text, [command, *made.notes(i), c.provenance(args.candidates)], i + 1)
                       for i, (s, c) in enumerate(zip(made.tunes, made.critiques))) + "\n"
    _write_book(book, args.out)
    print(f"set: {' -> '.join(made.keys)}, {made.meter}; longest run of bars two tunes share: "
          f"{shared_bars([s.text for s in made.tunes])}", file=sys.stderr)
    if args.audio:
        from tunesmith.render.rendering import RenderOptions, render_set_audio

        render_set_audio([s.text for s in made.tunes], Path(args.audio), RenderOptions())
        print(f"wrote {args.audio}: the set played through", file=sys.stderr)
    return 0


# -- the parsers ------------------------------------------------------------------


def _common_options(parser: argparse.ArgumentParser, candidates: int, with_file: bool = True) -> None:
    if with_file:
        parser.add_argument("file", type=tune_book, help="an .abc file with your tune")
        parser.add_argument("--tune", type=whole(1, 10_000), default=1, help="which tune of the file, from 1")
        parser.add_argument("--read", choices=["left", "both"], default="left",
                            help="what the model reads of the gap: the bars before it, or both sides (a model "
                                 "trained with --fim-rate)")
    parser.add_argument("--model", type=model_run, help="run directory, or 'default' (default: the newest under "
                                                        "./runs, else the model shipped with Tunesmith)")
    parser.add_argument("--candidates", type=whole(1, 16), default=candidates, metavar="N",
                        help="write it N times in one batch and keep the best")
    parser.add_argument("--seed", type=whole(0, MAX_SEED), help="the same seed and options write the same again")
    parser.add_argument("--temperature", type=real(0, 5), default=1.0, help="above 0, at most 5")
    parser.add_argument("--top-p", type=real(0, 1), default=0.95, help="nucleus sampling; 1: off")
    parser.add_argument("--out", type=file_to_write, help="write it to this file, never over one (default: print)")


def add_cowrite_parsers(sub: argparse._SubParsersAction) -> None:
    """`continue`, `fill`, `vary` and `set`."""
    from tunesmith.sample.cowriting import DEFAULT_CANDIDATES, VARY_CANDIDATES

    fmt = argparse.ArgumentDefaultsHelpFormatter
    cont = sub.add_parser("continue", help="write the next part of your tune (a B part for your A part)",
                          formatter_class=fmt)
    cont.add_argument("--part", type=part_letter, default="B", help="the part to write, the one after the last")
    _common_options(cont, DEFAULT_CANDIDATES)
    cont.set_defaults(func=checked(cont, cmd_continue))

    fill = sub.add_parser("fill", help="write bars of your tune again, keeping the rest byte for byte",
                          formatter_class=fmt)
    which = fill.add_mutually_exclusive_group(required=True)
    which.add_argument("--bars", type=bar_range, help="full bars to write again, counted from 1, e.g. 5-8")
    which.add_argument("--part", type=part_letter, help="a whole part to write again, e.g. B")
    _common_options(fill, DEFAULT_CANDIDATES)
    fill.set_defaults(func=checked(fill, cmd_fill))

    var = sub.add_parser("vary", help="a variation of your tune: its main beats and cadences kept",
                         formatter_class=fmt)
    var.add_argument("--amount", type=real(0, 1), default=0.3,
                     help="about this share of the notes on the main beats changes (default: 0.3)")
    _common_options(var, VARY_CANDIDATES)
    var.set_defaults(func=checked(var, cmd_vary))

    tune_set = sub.add_parser("set", help="tunes that make a set: one type, keys that move as sets do",
                              formatter_class=fmt)
    tune_set.add_argument("--rhythm", type=rhythm_name, required=True, help="reel, jig, hornpipe, polka ...")
    tune_set.add_argument("--num", type=whole(1, 8), default=3, help="tunes in the set, 1 to 8")
    tune_set.add_argument("--key", type=key_name, help="the first tune's key (default: drawn from the books)")
    tune_set.add_argument("--audio", type=file_to_write, help="also write the set played through to this .wav")
    _common_options(tune_set, DEFAULT_CANDIDATES, with_file=False)
    tune_set.set_defaults(func=checked(tune_set, cmd_set))
