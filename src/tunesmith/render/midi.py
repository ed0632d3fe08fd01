"""Reading a MIDI file abc2midi wrote: its events, the notes it plays, how long it plays.

    division, events = read_midi(path.read_bytes())
    midi_seconds(path.read_bytes()) -> 20.0
"""

from __future__ import annotations

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


def midi_seconds(data: bytes) -> float:
    """How long a MIDI file plays, in seconds, under its tempo changes (120 crotchets a minute until one)."""
    division, events = read_midi(data)
    end = max((tick for tick, _, _ in events), default=0)
    tempos = sorted((tick, int.from_bytes(payload[1:4], "big")) for tick, status, payload in events
                    if status == 0xFF and payload[:1] == b"\x51" and len(payload) == 4)
    seconds, last_tick, per_crotchet = 0.0, 0, 500_000
    for tick, tempo in tempos:
        if tick >= end:
            break
        seconds += (tick - last_tick) / division * per_crotchet / 1e6
        last_tick, per_crotchet = tick, tempo
    return seconds + (end - last_tick) / division * per_crotchet / 1e6
