"""The tool runner and the directive allow-list: what a hostile tune can make a tool do."""

from __future__ import annotations

import shutil
import sys

import pytest

from tunesmith.abc import tools
from tunesmith.abc.text import directive_allowed, disarm_directives


@pytest.mark.parametrize("line", [
    "%%MIDI program 40", "%%MIDI gchord fzfz", "%%scale 0.8", "% %MIDI channel 2", "I:MIDI transpose -2",
    "% a comment", "ABcd efga|", "T:%%abc-include in a title is text", "",
])
def test_music_comments_and_allowed_directives_pass(line):
    assert directive_allowed(line)


@pytest.mark.parametrize("line", [
    "%%abc-include /etc/passwd", "% %abc-include x", "I:abc-include x", "%%format /tmp/x.fmt", "%%EPS x.eps",
    "%%MIDI ptstress /tmp/fifo", "%%beginps", "%%postscript 0 0 moveto", "%%ps x", "%%ss-pref 1", "%%abc x",
    "%%beginsvg", "  %%ABC-INCLUDE x", "%%%%MIDI ptstress x", "%%", "%%MIDI",
])
def test_every_other_directive_is_dropped(line):
    assert not directive_allowed(line)
    assert disarm_directives(f"X:1\n{line}\nK:D") == "X:1\n%\nK:D"  # line numbers stay


def test_a_tool_reads_no_standard_input(tmp_path):
    if shutil.which("cat") is None:
        pytest.skip("needs cat")
    code, output = tools.run_tool(["cat"], tmp_path, timeout=5)  # would wait forever on a terminal or pipe
    assert (code, output) == (0, "")


def test_a_tool_past_its_timeout_is_killed(tmp_path):
    with pytest.raises(tools.ToolTimeout, match="took longer than 0.5 s"):
        tools.run_tool([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path, timeout=0.5)


def test_a_tool_cannot_write_a_file_past_the_limit(tmp_path, monkeypatch):
    if not hasattr(tools.resource, "prlimit"):
        pytest.skip("no prlimit on this system")
    monkeypatch.setattr(tools, "MAX_FILE_BYTES", 2**20)
    script = "f = open('big', 'wb')\nfor _ in range(8): f.write(bytes(2**20)); f.flush()"
    code, _ = tools.run_tool([sys.executable, "-c", script], tmp_path, timeout=20)
    assert code != 0
    assert (tmp_path / "big").stat().st_size <= 2**20


def test_a_missing_tool_is_named(tmp_path):
    with pytest.raises(FileNotFoundError):
        tools.run_tool(["no-such-tool-tunesmith"], tmp_path, timeout=5)


def test_a_dropped_directive_is_said(tmp_path):
    from tunesmith.judge.quality import run_abc2midi

    if shutil.which("abc2midi") is None:
        pytest.skip("needs abc2midi")
    errors, messages = run_abc2midi("X:1\nT:t\nM:4/4\nL:1/8\n%%MIDI ptstress /tmp/x\nK:D\nABcd efga|\n")
    assert errors == 0
    assert any("'%%MIDI ptstress /tmp/x' not passed to abc2midi" in line for line in messages)
