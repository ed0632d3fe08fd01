"""Playing a rendered tune on this machine's audio device (PulseAudio, PipeWire, ALSA or macOS)."""

from __future__ import annotations

import os
import shutil
import subprocess
import wave
from pathlib import Path

from tunesmith.render.rendering import RenderError, RenderOptions, render_tunebook


def audio_player() -> list[str] | None:
    """A command that plays a WAV file on a real output device, or None when there is none."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    pulse = os.environ.get("PULSE_SERVER") or (runtime and Path(runtime, "pulse", "native").exists())
    if shutil.which("paplay") and pulse:
        return ["paplay"]
    if shutil.which("pw-play") and runtime and Path(runtime, "pipewire-0").exists():
        return ["pw-play"]
    if shutil.which("aplay") and any(Path("/dev/snd").glob("pcmC*p")):
        return ["aplay", "-q"]
    if shutil.which("afplay"):  # macOS always has an output device
        return ["afplay"]
    return None


def wav_seconds(path: Path) -> float:
    """Length of a WAV file in seconds."""
    with wave.open(str(path)) as audio:
        return audio.getnframes() / audio.getframerate()


def play(
    path: Path, tune: int = 1, options: RenderOptions | None = None, out_dir: Path | None = None
) -> tuple[Path, bool]:
    """Play a tune of an ABC file (or a WAV) on the audio device; (the WAV, whether it played).

    Without an audio device the WAV is only written (beside the ABC file by default).
    Example: wav, played = play(Path("kesh.abc"))
    """
    path = Path(path)
    if path.suffix.lower() == ".wav":
        wav = path
    else:
        result = render_tunebook(path, ["wav"], out_dir or path.parent, [tune], options)[0]
        if not result.ok:
            raise RenderError(result.error)
        wav = result.files["wav"]
    player = audio_player()
    if player is None:
        return wav, False
    timeout = wav_seconds(wav) + (options or RenderOptions()).timeout_s
    subprocess.run([*player, str(wav)], capture_output=True, timeout=timeout, check=True)
    return wav, True
