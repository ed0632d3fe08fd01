"""A tune book made ready for a player: every tune transposed to a key or for an instrument, or
given accompaniment chords, each said in an N: line, and a transposition heard by abc2midi.

A transposition is right when abc2midi hears the moved tune as the original, every note shifted
by the same interval at the same time (`same_music_shifted`): this reads the MIDI abc2midi
writes rather than trusting the reader that did the moving.

    for tune in transpose_book(Path("book.abc").read_text(), instrument=instrument("whistle")):
        print(tune.text if tune.text else f"skipped: {tune.note}")
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from tunesmith.abc.chords import chords_note, harmonized
from tunesmith.abc.instruments import Instrument, out_of_range, transpose_for, transpose_to
from tunesmith.abc.text import parse_fields, split_tunebook, with_notes
from tunesmith.abc.transpose import tune_pitches
from tunesmith.render.midi import note_ons, read_midi
from tunesmith.render.rendering import RenderError, RenderOptions, missing_tools, render_tune

MAX_TUNES = 10_000  # a book longer than the largest tune book in the corpora: refused, not read for minutes


@dataclass(frozen=True)
class Arranged:
    """One tune of a book: the new text (None when it was skipped), and what was done or why not."""

    number: int  # 1-based position in the book
    title: str
    text: str | None
    note: str
    shift: int = 0
    heard_same: bool | None = None  # abc2midi hears the moved tune note for note shifted; None: not checked

    @property
    def ok(self) -> bool:
        return self.text is not None and self.heard_same is not False


def _tunes(book: str) -> list[tuple[int, str, str]]:
    tunes = split_tunebook(book)
    if len(tunes) > MAX_TUNES:
        raise ValueError(f"{len(tunes)} tunes in one book: at most {MAX_TUNES:,} are arranged at once")
    return [(number, parse_fields(text).get("T", ""), text) for number, (_, text) in enumerate(tunes, start=1)]


def transpose_book(book: str, *, key: str | None = None, instrument: Instrument | None = None,
                   check: bool = True) -> list[Arranged]:
    """Every tune to `key`, or to the best key for `instrument`; check: abc2midi must hear the same
    music shifted (when it is installed). A tune that cannot move is skipped, with the reason."""
    if (key is None) == (instrument is None):
        raise ValueError("give a key to move to or an instrument to move for (one of them)")
    arranged = []
    for number, title, text in _tunes(book):
        try:
            if instrument is not None:
                moved, shift = transpose_for(text, instrument)
            else:
                moved = transpose_to(text, key)
                shift = _shift_between(text, moved)
        except ValueError as error:
            arranged.append(Arranged(number, title, None, str(error)))
            continue
        heard = same_music_shifted(text, moved, shift) if check and shift else None
        note = _transpose_note(text, moved, shift, instrument)
        arranged.append(Arranged(number, title, with_notes(moved, [note]), note, shift, heard))
    return arranged


def _shift_between(original: str, moved: str) -> int:
    before, after = tune_pitches(original), tune_pitches(moved)
    return after[0] - before[0] if before and after else 0


def _transpose_note(original: str, moved: str, shift: int, instrument: Instrument | None) -> str:
    old, new = parse_fields(original).get("K", "?"), parse_fields(moved).get("K", "?")
    if shift and shift % 12 == 0:
        octaves = abs(shift) // 12
        said = f"moved {'up' if shift > 0 else 'down'} {octaves} octave{'s' * (octaves > 1)} in {old}"
    else:
        said = f"transposed from {old} to {new} ({shift:+d} semitones)" if shift else f"kept in {old}"
    if instrument is not None:
        outside = len(out_of_range(moved, instrument))
        said += f" for the {instrument.name}: {outside} notes outside its range"
    return said


def harmonize_book(book: str, per_bar: int | None = None) -> list[Arranged]:
    """Every tune with guitar chord symbols (tunesmith.abc.chords); a tune without a key or metre is skipped."""
    arranged = []
    for number, title, text in _tunes(book):
        try:
            chorded, symbols = harmonized(text, per_bar)
        except ValueError as error:
            arranged.append(Arranged(number, title, None, str(error)))
            continue
        note = chords_note(symbols)
        arranged.append(Arranged(number, title, with_notes(chorded, [note]), note))
    return arranged


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
