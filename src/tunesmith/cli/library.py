"""`tunesmith library`: the kept tunes (the workshop's Keep button) from the command line.

    tunesmith library list                 newest first: number, rating, when, title
    tunesmith library show 3               the tune's ABC, its notes as % comments first
    tunesmith library export --out book.abc (or book.pdf: abcm2ps + Ghostscript)
    tunesmith library rename 3 "The Long Way Home"
    tunesmith library delete 3

The library is $TUNESMITH_HOME/library.sqlite (else ~/.local/share/tunesmith), the same file
`tunesmith serve` keeps tunes in, so the two can run side by side.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tunesmith.store.library import Library


def _library() -> Library:
    from tunesmith.store.library import Library, user_data_dir  # here, as the other faces import their work

    library = Library.open(user_data_dir())
    if library.migration:
        print(f"imported the old tune book: {library.migration.summary()}", file=sys.stderr)
    return library


def cmd_library_list(args: argparse.Namespace) -> int:
    library = _library()
    tunes = library.list_tunes(args.offset, args.limit)
    for tune in tunes:
        stars = "*" * tune.rating or "-"
        print(f"{tune.id:5}  {stars:5}  {tune.created[:16].replace('T', ' ')}  {tune.title or '(untitled)'}")
    total = library.count()
    shown = f"{args.offset + 1}-{args.offset + len(tunes)} of " if tunes and len(tunes) < total else ""
    print(f"{shown}{total:,} kept tune{'s' if total != 1 else ''} in {library.path}", file=sys.stderr)
    return 0


def cmd_library_show(args: argparse.Namespace) -> int:
    tune = _library().get(args.id)
    about = [f"kept tune {tune.id}, kept {tune.created}", f"model: {tune.model or 'not recorded'}",
             f"rating: {tune.rating} of 5"]
    about += [f"notes: {line}" for line in tune.notes.splitlines()]
    about += [f"malformed: {tune.checks['malformed']}"] if "malformed" in tune.checks else []
    print("\n".join(f"% {line}" for line in about))  # comments: the output is still a tune to pipe on
    print(tune.abc)
    return 0


def cmd_library_export(args: argparse.Namespace) -> int:
    library = _library()
    count = library.count()
    if args.out and Path(args.out).suffix.lower() == ".pdf":
        Path(args.out).write_bytes(library.export_pdf())
    elif args.out:
        Path(args.out).write_text(library.export_abc(), encoding="utf-8")
    else:
        sys.stdout.write(library.export_abc())
    if args.out:
        print(f"wrote {count:,} tune{'s' if count != 1 else ''} to {args.out}", file=sys.stderr)
    return 0


def cmd_library_delete(args: argparse.Namespace) -> int:
    tune = _library().delete(args.id)
    print(f"deleted kept tune {tune.id} ({tune.title or 'untitled'})")
    return 0


def cmd_library_rename(args: argparse.Namespace) -> int:
    tune = _library().rename(args.id, args.title)
    print(f"kept tune {tune.id} is now {tune.title!r}")
    return 0


def add_library_parser(sub: argparse._SubParsersAction) -> None:
    """`tunesmith library list|show|export|delete|rename`."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    lib = sub.add_parser("library", help="the kept tunes: list, show, export (ABC or PDF), rename, delete")
    actions = lib.add_subparsers(dest="library_command", required=True)
    ls = actions.add_parser("list", help="kept tunes, newest first", formatter_class=fmt)
    ls.add_argument("--offset", type=int, default=0, help="skip this many of the newest")
    ls.add_argument("--limit", type=int, default=100, help="list at most this many (up to 500)")
    ls.set_defaults(func=cmd_library_list)
    show = actions.add_parser("show", help="one kept tune's ABC, with its notes as comments")
    show.add_argument("id", type=int, help="the tune's number, as `library list` shows it")
    show.set_defaults(func=cmd_library_show)
    export = actions.add_parser("export", help="every kept tune as one tune book, X:1..n, oldest first")
    export.add_argument("--out", help="the file to write (default: print it); a .pdf file is a printable "
                                      "tune book made with abcm2ps and Ghostscript's ps2pdf")
    export.set_defaults(func=cmd_library_export)
    delete = actions.add_parser("delete", help="delete one kept tune")
    delete.add_argument("id", type=int)
    delete.set_defaults(func=cmd_library_delete)
    rename = actions.add_parser("rename", help="give a kept tune a new title (its T: line too)")
    rename.add_argument("id", type=int)
    rename.add_argument("title")
    rename.set_defaults(func=cmd_library_rename)
