"""The `tunesmith` command: a thin layer over the Python API.

The package holds one module per face, each command next to the parser that sets it up:
generate (`generate`), cowrite (`continue`, `fill`, `vary`, `set`),
render (`render`, `play`), arrange (`transpose`, `chords`), judge (`check`, `evaluate`, `plot`,
`compare`) and workshop (`data`, `train`, `demo`, `export`, `serve`); common says where
runs live and which model a command uses. Here: the parser they make together, and main.
"""

from __future__ import annotations

import argparse
import sys

from tunesmith.cli.arrange import add_chords_parser, add_transpose_parser, cmd_chords, cmd_transpose
from tunesmith.cli.common import DEMO_RUN, RUNS_DIR, newest_run
from tunesmith.cli.cowrite import add_cowrite_parsers
from tunesmith.cli.generate import add_generate_parser, cmd_generate, write_tunes
from tunesmith.cli.judge import (
    RATE_ROWS,
    add_check_parser,
    add_compare_parser,
    add_evaluate_parser,
    add_plot_parser,
    cmd_check,
    cmd_compare,
    cmd_evaluate,
    cmd_plot,
    rate_table,
    realism_lines,
)
from tunesmith.cli.library import add_library_parser
from tunesmith.cli.render import add_play_parser, add_render_parser, cmd_play, cmd_render
from tunesmith.cli.workshop import (
    _is_loopback,
    add_data_parser,
    add_demo_parser,
    add_export_parser,
    add_serve_parser,
    add_train_parser,
    cmd_data_list,
    cmd_data_stats,
    cmd_demo,
    cmd_export,
    cmd_serve,
    cmd_train,
)

__all__ = [
    "DEMO_RUN", "RATE_ROWS", "RUNS_DIR", "_is_loopback", "build_parser", "cmd_check", "cmd_chords", "cmd_compare",
    "cmd_data_list", "cmd_data_stats", "cmd_demo", "cmd_evaluate", "cmd_export", "cmd_generate", "cmd_play",
    "cmd_plot", "cmd_render", "cmd_serve", "cmd_train", "cmd_transpose", "main", "newest_run", "rate_table",
    "realism_lines", "write_tunes",
]

# -- the parser -------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tunesmith", description="Learn folk tunes in ABC notation and write new ones."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add_parser in (add_data_parser, add_train_parser, add_generate_parser, add_render_parser, add_play_parser,
                       add_check_parser, add_evaluate_parser, add_plot_parser, add_compare_parser, add_demo_parser,
                       add_export_parser, add_serve_parser, add_transpose_parser, add_chords_parser,
                       add_library_parser, add_cowrite_parsers):
        add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from tunesmith.data.corpus import DataError
    from tunesmith.learn.training import TrainingError
    from tunesmith.render.rendering import RenderError

    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for `train --nproc`, which starts itself again
    num = getattr(args, "num", 1)
    if isinstance(num, int) and num < 1:  # a value the parser refused is said by the command's own check
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
