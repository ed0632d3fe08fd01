"""The one runner of the external tools ABC text meets: abc2midi, abcm2ps, rsvg-convert, synthesizers.

A tune is untrusted text, so every run is held to the same terms: a fixed argument list (no
shell), no standard input, a wall-clock timeout, and limits on CPU time and on the size of any
file the tool writes (so `Q:1/4=1` or `Z999999` cannot fill a disk). Tune text reaches a tool only
through `abc.text.disarm_directives`, which lets through an allow-list of directives.
"""

from __future__ import annotations

import resource
import subprocess
from pathlib import Path

MAX_FILE_BYTES = 256 * 2**20  # the largest file a tool may write: ~25 minutes of CD-quality WAV
CPU_GRACE_S = 5  # CPU seconds beyond the timeout before the kernel stops a tool


class ToolTimeout(RuntimeError):
    """A tool ran past its timeout and was killed."""


def _limit(pid: int, timeout: float) -> None:
    """CPU and file-size limits on a started tool (Linux; elsewhere the timeout alone bounds it)."""
    if not hasattr(resource, "prlimit"):
        return
    cpu = int(timeout) + CPU_GRACE_S
    try:
        resource.prlimit(pid, resource.RLIMIT_CPU, (cpu, cpu))
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    except (ProcessLookupError, PermissionError, ValueError):
        pass  # it has already finished, or the system will not say: the timeout still holds


def run_tool(argv: list[str], cwd: Path | str, timeout: float) -> tuple[int, str]:
    """Run one tool in `cwd`: its exit status, and its stdout then its stderr, as text.

    FileNotFoundError when the tool is not installed; ToolTimeout when it runs past `timeout`."""
    with subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as process:
        _limit(process.pid, timeout)
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as error:
            process.kill()
            process.communicate()
            raise ToolTimeout(f"{argv[0]} took longer than {timeout:g} s") from error
    return process.returncode, (out + err).decode("utf-8", errors="replace")
