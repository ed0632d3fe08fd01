"""What a tune sounds like, read back from abc2midi's MIDI file: the notes as (time, pitch) pairs.

A transposition is right when abc2midi hears the moved tune as the original, every note shifted
by the same interval at the same time (`same_music_shifted`); this reads the file abc2midi
writes rather than trusting the reader that did the moving.

    heard_notes("X:1\\nM:4/4\\nL:1/8\\nK:G\\n|GABc|") -> [(0, 67), (120, 69), (240, 71), (360, 72)]
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tunesmith.render.rendering import RenderError, RenderOptions, missing_tools, render_tune

Event = tuple[int, int, bytes]  # (tick, status byte, data bytes); meta events have status 0xFF


def read_midi(data: bytes) -> tuple[int, list[Event]]:
    """(ticks per crotchet, every event of every track with its absolute tick) of a MIDI file's bytes."""
    if data[:4] != b"MThd":
        raise ValueError("not a MIDI file")
    tracks, division = int.from_bytes(data[10:12], "big"), int.from_bytes(data[12:14], "big")
    pos, events = 8 + int.from_bytes(data[4:8], "big"), []
    for _ in range(tracks):
        if data[pos : pos + 4] != b"MTrk":
            raise ValueError(f"MIDI track expected at byte {pos}")
        end = pos + 8 + int.from_bytes(data[pos + 4 : pos + 8], "big")
        events += _track_events(data, pos + 8, end)
        pos = end
    return division, events


def _track_events(data: bytes, pos: int, end: int) -> list[Event]:
    events, tick, status = [], 0, 0
    while pos < end:
        delta, pos = _varlen(data, pos)
        tick += delta
        if data[pos] & 0x80:  # else running status: the previous status byte holds
            status, pos = data[pos], pos + 1
        if status == 0xFF:
            kind = data[pos]
            length, pos = _varlen(data, pos + 1)
            events.append((tick, 0xFF, bytes([kind]) + data[pos : pos + length]))
            pos += length
        elif status in (0xF0, 0xF7):
            length, pos = _varlen(data, pos)
            pos += length
        else:
            size = 1 if status & 0xF0 in (0xC0, 0xD0) else 2
            events.append((tick, status, data[pos : pos + size]))
            pos += size
    return events


def _varlen(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    while True:
        value, pos = (value << 7) | (data[pos] & 0x7F), pos + 1
        if not data[pos - 1] & 0x80:
            return value, pos


def note_ons(events: list[Event]) -> list[Event]:
    """The events that start a note (a note-on with velocity 0 ends one)."""
    return [e for e in events if e[1] & 0xF0 == 0x90 and e[2][1] > 0]


def heard_notes(text: str, timeout: float = 30) -> list[tuple[int, int]] | None:
    """(tick, MIDI pitch) of every note abc2midi plays for a tune, chords silent; None without abc2midi,
    [] when it wrote no MIDI. The tune goes through the one MIDI renderer (rendering.render_tune)."""
    if missing_tools(["mid"]):
        return None
    with tempfile.TemporaryDirectory(prefix="tunesmith-heard-") as folder:
        try:
            result = render_tune(text, ["mid"], Path(folder), "tune", RenderOptions(chords=None, timeout_s=timeout))
        except RenderError:
            return []
        _, events = read_midi(result.files["mid"].read_bytes())
    return sorted((tick, data[0]) for tick, _, data in note_ons(events))


def same_music_shifted(original: str, moved: str, semitones: int) -> bool | None:
    """Whether abc2midi hears `moved` as `original` with every note `semitones` higher, note for note
    and at the same times; None when abc2midi is not installed."""
    before, after = heard_notes(original), heard_notes(moved)
    if before is None or after is None:
        return None
    return bool(before) and after == [(tick, pitch + semitones) for tick, pitch in before]
