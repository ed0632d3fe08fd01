"""`tunesmith render` and `tunesmith play`, and the render options generate takes too."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tunesmith.cli.common import checked, folder_to_write, readable_file, sound, tune_book, tune_book_or_wav, whole

MAX_TUNE_NUMBER = 100_000  # --tune: a position in a tune book (O'Neill's has 1,850 tunes)

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
    chords = None if args.no_chords else args.chords_on
    return RenderOptions(tempo=args.tempo, soundfont=soundfont, instrument=args.instrument or "fiddle", chords=chords)


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
    from tunesmith.render.playback import play

    wav, played = play(Path(args.file), args.tune, _render_options(args))
    print(f"played {wav}" if played else f"no audio device here; the tune is in {wav}")
    return 0


def _add_render_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tempo", type=whole(20, 400),
                        help="beats per minute, 20 to 400 (default: Q:, else by rhythm)")
    parser.add_argument("--soundfont", type=readable_file, help="an .sf2 file (default: Debian's General MIDI font)")
    parser.add_argument("--instrument", type=sound, default="fiddle",
                        help="fiddle, whistle, flute, accordion, piano ... or a General MIDI program 0-127")
    parser.add_argument("--chords-on", type=sound, default="guitar", metavar="INSTRUMENT",
                        help="what plays the chord symbols: guitar, piano, accordion ...")
    parser.add_argument("--no-chords", action="store_true", help="leave the chord symbols silent")


# -- the parsers ------------------------------------------------------------------


def add_render_parser(sub: argparse._SubParsersAction) -> None:
    """`tunesmith render`: a tune book to MIDI, audio and sheet music."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    ren = sub.add_parser("render", help="ABC to MIDI, audio and sheet music", formatter_class=fmt)
    ren.add_argument("file", type=tune_book, help="an .abc tune book")
    which = ren.add_mutually_exclusive_group()
    which.add_argument("--tune", type=whole(1, MAX_TUNE_NUMBER), help="the Nth tune of the file (1-based position)")
    which.add_argument("--all", action="store_true", help="every tune (the default)")
    ren.add_argument("--to", type=_formats, default=["mid"], help="comma-separated: abc,mid,wav,flac,svg,png")
    ren.add_argument("--out", type=folder_to_write, help="output folder (default: beside the file)")
    _add_render_options(ren)
    ren.set_defaults(func=checked(ren, cmd_render))


def add_play_parser(sub: argparse._SubParsersAction) -> None:
    """`tunesmith play`: one tune, heard."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    pl = sub.add_parser("play", help="play a tune, or say where its WAV was written", formatter_class=fmt)
    pl.add_argument("file", type=tune_book_or_wav, help="an .abc file (or a .wav)")
    pl.add_argument("--tune", type=whole(1, MAX_TUNE_NUMBER), default=1, help="the Nth tune of the file")
    _add_render_options(pl)
    pl.set_defaults(func=checked(pl, cmd_play))
