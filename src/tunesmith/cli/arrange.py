"""`tunesmith transpose` and `tunesmith chords`: any tune book made ready for a player's instrument."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tunesmith.cli.common import checked, file_to_write, key_name, tune_book


def _read_book(path: str) -> str:
    from tunesmith.abc.text import decode_tunebook

    try:
        return decode_tunebook(Path(path).read_bytes())
    except OSError as error:
        raise ValueError(f"{path!r}: cannot read file ({error.strerror})") from None


def _write_book(arranged: list, out: str | None, path: str) -> int:
    """Print (or write to out) the tunes that were arranged; one line on stderr per tune; 1 if any failed."""
    kept = [tune.text for tune in arranged if tune.text is not None]
    book = "\n\n".join(text.strip("\n") for text in kept) + "\n" if kept else ""
    if out:
        Path(out).write_text(book)
    else:
        sys.stdout.write(book)
    for tune in arranged:
        heard = {True: "; abc2midi hears every note shifted", False: "; abc2midi hears it DIFFERENTLY"}
        what = "skipped" if tune.text is None else "tune"
        print(f"{Path(path).name}: {what} {tune.number} {tune.title!r}: {tune.note}"
              f"{heard.get(tune.heard_same, '')}", file=sys.stderr)
    failed = sum(not tune.ok for tune in arranged)
    print(f"{len(arranged) - failed} tunes arranged, {failed} skipped or failed", file=sys.stderr)
    return 1 if failed else 0


def cmd_transpose(args: argparse.Namespace) -> int:
    from tunesmith.abc.instruments import instrument
    from tunesmith.render.arrange import transpose_book

    player = instrument(args.for_instrument) if args.for_instrument else None
    arranged = transpose_book(_read_book(args.file), key=args.to, instrument=player, check=not args.no_check)
    return _write_book(arranged, args.out, args.file)


def cmd_chords(args: argparse.Namespace) -> int:
    from tunesmith.render.arrange import harmonize_book

    return _write_book(harmonize_book(_read_book(args.file), args.per_bar), args.out, args.file)


def add_transpose_parser(sub: argparse._SubParsersAction) -> None:
    """`tunesmith transpose`: a tune book to a key, or to the best key for an instrument."""
    from tunesmith.abc.instruments import INSTRUMENTS

    fmt = argparse.ArgumentDefaultsHelpFormatter
    tr = sub.add_parser("transpose", help="move tunes to a key, or to the best key for an instrument",
                        formatter_class=fmt)
    tr.add_argument("file", type=tune_book, help="an .abc tune book")
    where = tr.add_mutually_exclusive_group(required=True)
    where.add_argument("--to", type=key_name, help="a key in the tune's mode: G, Em, Ador ...")
    where.add_argument("--for", dest="for_instrument", metavar="INSTRUMENT",
                       help=f"the best key and octave for: {', '.join(INSTRUMENTS)}")
    tr.add_argument("--out", type=file_to_write, help="write the tune book here (default: print it)")
    tr.add_argument("--no-check", action="store_true", help="do not have abc2midi hear each moved tune")
    tr.set_defaults(func=checked(tr, cmd_transpose))


def add_chords_parser(sub: argparse._SubParsersAction) -> None:
    """`tunesmith chords`: accompaniment chords for every tune of a book."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    ch = sub.add_parser("chords", help="add guitar chord symbols to tunes", formatter_class=fmt)
    ch.add_argument("file", type=tune_book, help="an .abc tune book")
    ch.add_argument("--per-bar", type=int, choices=(1, 2, 4), help="chords per bar (default: by metre)")
    ch.add_argument("--out", type=file_to_write, help="write the tune book here (default: print it)")
    ch.set_defaults(func=checked(ch, cmd_chords))
