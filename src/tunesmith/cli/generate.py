"""`tunesmith generate`: new tunes from a model, printed or written one file each, with how to make them again."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tunesmith.cli.common import (
    MAX_SEED,
    MAX_TUNES,
    _model_name,
    _resolve_model,
    checked,
    key_name,
    lenient,
    meter_name,
    model_run,
    read_key,
    real,
    rhythm_name,
    tune_count,
    tune_folder,
    whole,
)
from tunesmith.cli.render import _add_render_options, _formats, _render_options
from tunesmith.judge.critic import DEFAULT_CANDIDATES

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


def cmd_generate(args: argparse.Namespace) -> int:
    from tunesmith.abc.grammar import Form
    from tunesmith.sample.sampling import (
        SamplingSettings,
        check_request,
        fresh_seed,
        instrument_request,
        request_warnings,
        sample_tunes,
    )
    from tunesmith.store.checkpoint import load_model

    check_request(args.key, args.meter, args.keys)  # before the model loads
    pitch_range, keys = instrument_request(args.instrument, args.keys)
    settings = SamplingSettings(args.temperature, args.top_k, args.top_p, args.max_chars, constrain=not args.free)
    run = _resolve_model(args.model)
    model = load_model(run)
    form = Form(args.parts, args.bars_per_part, not args.no_repeats, args.pickup) if args.parts else args.form
    seed = fresh_seed() if args.seed is None else args.seed
    for warning in request_warnings(model, args.rhythm, args.meter):
        print(f"tunesmith: {warning}", file=sys.stderr)
    started = time.perf_counter()
    request = dict(key=args.key, meter=args.meter, rhythm=args.rhythm, prime=args.prime.replace("\\n", "\n"),
                   settings=settings, seed=seed, form=None if args.free else form, keys=keys,
                   pitch_range=pitch_range)
    critiques = [None] * args.num
    if args.candidates > 1:
        from tunesmith.judge.critic import best_of

        samples, critiques = zip(*best_of(model, args.num, args.candidates, _novelty(model), **request))
    else:
        samples = sample_tunes(model, args.num, **request)
    seconds = time.perf_counter() - started
    command = _provenance(args, run, seed)
    notes = [[command, *_sample_notes(sample, i, len(samples), args)] for i, sample in enumerate(samples, start=1)]
    for note, critique in zip(notes, critiques):
        if critique is not None:
            note.append(critique.provenance(args.candidates))
    texts = [_chorded(s.text, note) if args.chords else s.text for s, note in zip(samples, notes)]
    paths = write_tunes(texts, Path(args.out) if args.out else None, notes,
                        notes_at_end=args.prime.startswith("X:"))
    extra = [f for f in args.format if f != "abc"]
    if extra:
        _render_generated(paths, extra, args)
    _report_sampling(samples, seconds, args, paths)
    print(f"seed {seed}: `{command}` writes these tunes again", file=sys.stderr)
    return 0


def _novelty(model):
    """The training tunes' index for the critic's copy check; None (no check) where they cannot be read."""
    from tunesmith.judge.critic import novelty_index
    from tunesmith.judge.evaluation import heldout_texts

    if "data" not in model.meta.get("data", {}):
        return None  # a model that does not say what it was trained on (an untrained one, a test's)
    try:
        return novelty_index(heldout_texts(model)[0])
    except (OSError, ValueError) as error:
        print(f"tunesmith: the training tunes cannot be read ({error}): candidates are not checked for copies",
              file=sys.stderr)
        return None


def _provenance(args: argparse.Namespace, run: Path, seed: int) -> str:
    """The command that makes these tunes again (the seed included)."""
    options = {"model": _model_name(run), "num": args.num, "seed": seed, "max-chars": args.max_chars,
               "temperature": args.temperature,
               "top-k": args.top_k, "top-p": args.top_p, "key": args.key, "meter": args.meter,
               "rhythm": args.rhythm, "prime": repr(args.prime) if args.prime else None,
               "parts": args.parts, "bars-per-part": args.bars_per_part if args.parts else None,
               "form": None if args.parts or args.free else args.form, "instrument": args.instrument,
               "keys": ",".join(args.keys) if args.keys else None}
    quoted = {k: f"'{v}'" if any(c in str(v) for c in "|# ") else v for k, v in options.items() if v is not None}
    flags = " ".join(f"--{k} {v}" for k, v in quoted.items()) + (" --free" if args.free else "")
    flags += " --chords" if args.chords else ""
    flags += f" --candidates {args.candidates}"
    return "tunesmith generate " + flags


def _sample_notes(sample, number: int, total: int, args: argparse.Namespace) -> list[str]:
    """N: lines saying how one tune was asked for: its form and the notes its parts were to end on."""
    notes = [f"tune {number} of {total}; form {sample.form}"]
    if not sample.finished:  # what abc2midi will say of it is not the constraint's promise
        why = "given up at a dead end" if sample.dead_end else f"cut at --max-chars {args.max_chars}"
        notes.append(f"unfinished: {why}")
    if sample.cadences:
        ends = " ".join("any" if d is None else str(d) for d in sample.cadences)
        dropped = f" ({sample.cadences_dropped} given up)" if sample.cadences_dropped else ""
        notes[0] += f"; parts end on degrees {ends}{dropped}"
    if sample.copies:  # bars counted as a player does, from 1 in each part (A, B, ...)
        bars = ", ".join(f"{chr(65 + p)}{b + 1}={chr(65 + q)}{c + 1}" for (p, b), (q, c) in sample.copies)
        notes.append(f"bars played again: {bars}")
    if args.instrument:
        from tunesmith.abc.instruments import instrument

        player = instrument(args.instrument)
        notes.append(f"every note in the {player.name}'s range (MIDI {player.low}-{player.high})")
    return notes


def _chorded(text: str, notes: list[str]) -> str:
    """The tune with accompaniment chords (tunesmith.abc.chords), said in its notes; as it was if none fit."""
    from tunesmith.abc.chords import with_chords

    chorded, note = with_chords(text)
    notes.append(note)
    return chorded


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


# -- the parser -------------------------------------------------------------------


@lenient
def _keys(value: str) -> list[str]:
    keys = [key.strip() for key in value.split(",") if key.strip()]
    if not keys:
        raise argparse.ArgumentTypeError(f"{value!r}: give keys separated by commas, e.g. D,G,Em")
    return [read_key(key) for key in keys]


def add_generate_parser(sub: argparse._SubParsersAction) -> None:
    """`tunesmith generate`: the sampling settings, the header asked for, the form, the files."""
    from tunesmith.sample.sampling import SamplingSettings

    fmt = argparse.ArgumentDefaultsHelpFormatter
    defaults = SamplingSettings()  # one set of defaults: the API's, the web page's and these
    gen = sub.add_parser("generate", help="write new tunes", formatter_class=fmt)
    gen.add_argument("--model", type=model_run, help="run directory, or 'default' (default: the newest under "
                                                     "./runs, else the model shipped with Tunesmith)")
    gen.add_argument("--num", type=tune_count, default=1,
                     help=f"tunes to write, sampled together as one batch (1 to {MAX_TUNES:,})")
    gen.add_argument("--temperature", type=real(0, 5), default=defaults.temperature,
                     help="above 0 and at most 5: below 1 safer and more repetitive, above 1 wilder")
    gen.add_argument("--top-k", type=whole(0, 10_000), default=defaults.top_k,
                     help="sample only from the k likeliest characters; 0: off")
    gen.add_argument("--top-p", type=real(0, 1), default=defaults.top_p, help="nucleus sampling; 1: off")
    gen.add_argument("--prime", default="", help="opening ABC of the tune body (or a whole start from X:)")
    gen.add_argument("--key", type=key_name, help="K: of every tune, e.g. G, Ador, 'E minor'")
    gen.add_argument("--meter", type=meter_name, help="M: of every tune, e.g. 6/8, C|")
    gen.add_argument("--rhythm", type=rhythm_name, help="R: of every tune, e.g. reel, jig, hornpipe (one the "
                                                        "model's tune books lack is written with a warning)")
    gen.add_argument("--candidates", type=whole(1, 16), default=DEFAULT_CANDIDATES, metavar="N",
                     help="write each tune N times in the same batch and keep the best by the critic "
                          "(the model's own likelihood, tonic ending, repeated bars, range, no copying: "
                          "tunesmith.judge.critic); its score goes in the tune's N: lines; 1: the first written")
    gen.add_argument("--seed", type=whole(0, MAX_SEED),
                     help="the same seed and options write the same tunes (default: a fresh one, printed and "
                          "written in each tune's N: line)")
    gen.add_argument("--max-chars", type=whole(1, 20_000), default=defaults.max_chars,
                     help="cut a tune still going at this length")
    gen.add_argument("--form", choices=["auto", "free"], default="auto",
                     help="auto: each tune gets a form (parts, bars, repeats, pickup) and part endings like the "
                          "training tunes of its type; free: none (unless --parts)")
    gen.add_argument("--parts", type=whole(1, 8), help="ask for this many parts (sections, 1 to 8), e.g. 2 for AABB")
    gen.add_argument("--bars-per-part", type=whole(1, 64), default=8, help="bars in each part (1 to 64), with --parts")
    gen.add_argument("--no-repeats", action="store_true", help="parts end with || instead of a repeat")
    pickup = gen.add_mutually_exclusive_group()
    pickup.add_argument("--pickup", action="store_true", default=None, help="start with an anacrusis")
    pickup.add_argument("--no-pickup", action="store_false", dest="pickup", help="start on the downbeat")
    gen.add_argument("--free", action="store_true",
                     help="sample freely, as the lab did: no bar, bracket or form constraint")
    gen.add_argument("--out", type=tune_folder,
                     help="folder for one .abc per tune, numbered on from the tune-NNN files already in it, so "
                          "earlier tunes are never written over (default: print to stdout)")
    gen.add_argument("--format", type=_formats, default=["abc"], help="also write these, e.g. abc,mid,wav,svg")
    gen.add_argument("--keys", type=_keys, help="comma-separated keys a tune may be in when --key is not given "
                                                "(a player's or a session's), e.g. D,G,A,Em,Bm,Ador,Edor")
    gen.add_argument("--chords", action="store_true", help="add accompaniment chords to every tune")
    _add_render_options(gen)
    # Here --instrument is also what the tunes are for: every note in its range, a key players use on it.
    gen.set_defaults(func=checked(gen, cmd_generate), instrument=None)
