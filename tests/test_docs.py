"""Every command the README and the docs show: as bash reads it, accepted by the parser it names,
and the README's own commands run for real in order, as a new user would type them."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tunesmith.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "MODEL.md", ROOT / "docs" / "guide.md", ROOT / "benchmarks" / "README.md"]
SHELL_OPERATORS = {"|", "||", "&", "&&", ";", ">", ">>", "<", "(", ")"}
# Commands run for real from the README (the others take minutes, or never return, like serve).
QUICK = {"generate", "render", "play", "check", "data", "transpose", "chords", "fill", "vary", "set"}
NEEDS_TOOLS = {"render", "play"}


def console_commands(path: Path) -> list[str]:
    """The `$ ` lines of the ```console blocks of a Markdown file."""
    blocks = re.findall(r"```console\n(.*?)```", path.read_text(), re.DOTALL)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():  # a \ at the end of a line goes on
            if line.startswith("$ "):
                commands.append(line[2:])
    return commands


def words(command: str) -> list[str]:
    """The command as bash splits it, comments dropped; an unquoted | ; & < > ( ) stays a word of its own."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


ALL = [(path.relative_to(ROOT).as_posix(), command) for path in DOCS if path.exists()
       for command in console_commands(path)]


def test_the_docs_show_commands():
    assert sum(where == "README.md" for where, _ in ALL) >= 8


@pytest.mark.parametrize(("where", "command"), ALL, ids=[f"{w}: {c[:50]}" for w, c in ALL])
def test_every_command_reads_as_written(where, command):
    split = words(command)
    operators = SHELL_OPERATORS.intersection(split)
    assert not operators, f"{where}: bash reads {sorted(operators)} in {command!r} as an operator: quote it"
    program = Path(split[0]).name
    if program == "tunesmith":
        try:
            build_parser().parse_args(split[1:])
        except SystemExit as stop:
            pytest.fail(f"{where}: {command!r} is refused by tunesmith's parser (exit {stop.code})")
    elif program == "make":
        targets = re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE)
        assert all(target in targets for target in split[1:]), f"{where}: no such make target in {command!r}"
    elif program.startswith("python"):
        module = split[split.index("-m") + 1]
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), f"{where}: no module {module}"


def test_the_readme_commands_run_in_order(tmp_path, monkeypatch, capsys):
    """generate, render, play, check as the README shows them, with the shipped model, in a fresh folder."""
    monkeypatch.chdir(tmp_path)
    tools = shutil.which("abc2midi") and shutil.which("abcm2ps") and shutil.which("fluidsynth")
    ran = []
    for command in console_commands(ROOT / "README.md"):
        split = words(command)
        if Path(split[0]).name != "tunesmith" or split[1] not in QUICK or (split[1] in NEEDS_TOOLS and not tools):
            continue
        if "--model" in split and not Path(split[split.index("--model") + 1]).exists():
            continue  # a run trained by a command before it (minutes of training)
        code = main(split[1:])
        assert code == 0, f"{command!r} exited {code}: {capsys.readouterr().err[-500:]}"
        ran.append(split[1])
    assert "generate" in ran and "check" in ran
    assert sorted(p.name for p in (tmp_path / "tunes").glob("*.abc"))[0] == "tune-001.abc"


def test_the_readme_python_runs(tmp_path):
    code = re.search(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL).group(1)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-1000:]
    assert result.stdout.count("X:") == 2 and "R:hornpipe" in result.stdout
