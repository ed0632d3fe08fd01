"""Bars played again: the sampler writes a bar of a form's `copies` as the earlier bar it repeats.

Real tunes say a phrase twice: in most reels bar 5 is bar 1 again, and a B part often ends
as the A part does (tunesmith.data.forms counts which bars repeat, tune by tune). A model that
writes one character at a time rarely does it by itself, so the sampler does it for the model:
it remembers each full bar as it is written, and when the model starts a bar the form says is
a repeat, it writes the earlier bar's text instead, provided the constraint accepts that text
there and a bar line after it (a bar that must end on a cadence may not be the earlier one).

Bars are counted as `tunesmith.data.forms.phrase_pattern` counts them in real tunes: within
each part, full bars only (a pickup, a short closing bar and endings are not counted).
"""

from __future__ import annotations

import copy

from tunesmith.abc.grammar import TuneState
from tunesmith.abc.lexicon import SIGN_PREFIXES

Place = tuple[int, int]  # (part, full bar of that part), both 0-based


class PhraseCopier:
    """One tune's written bars and the bars it still has to play again."""

    def __init__(self, copies: tuple[tuple[Place, Place], ...]):
        self.copies = dict(copies)  # bar -> the earlier bar it repeats
        self.bars: dict[Place, str] = {}  # the text of each full bar written, by place
        self.text: list[str] = []  # the bar being written
        self.place: Place | None = None  # ... and where it stands (None: it cannot be repeated)
        self.pending: list[int] = []  # tokens of a repeat still to write
        self.copied: list[tuple[Place, Place]] = []  # the repeats written

    def copy(self) -> PhraseCopier:
        # Its containers hold strings and tuples: copying the containers is a full copy (and far quicker
        # than copy.deepcopy, which a snapshot at every bar line would pay for).
        twin = copy.copy(self)
        twin.bars, twin.text, twin.pending, twin.copied = dict(self.bars), list(self.text), list(self.pending), \
            list(self.copied)
        return twin

    def observe(self, state: TuneState, char: str, was_sign: bool) -> None:
        """Follow the tune past one character (after the state has read it)."""
        if not state.in_body:
            return
        if state.mode == "sign":
            if not was_sign:  # a bar line begins: the bar before it is complete
                self._finish(state)
            return
        if not self.text and char in " \n":
            return
        if not self.text:  # the bar's first character: the sign before it has closed, so the count is current
            self.place = (state.parts_done, int(state.part_bars)) if state.form is not None else None
        self.text.append(char)

    def _finish(self, state: TuneState) -> None:
        text = "".join(self.text).rstrip()
        # Only a full bar, on one line, not in an ending and not tied into the next, is worth repeating.
        if (self.place is not None and text and state.pos == state.bar_length and state.ending == 0
                and "\n" not in text and not text.endswith("-")):
            self.bars.setdefault(self.place, text)
        self.text, self.place = [], None

    def next_token(self, state: TuneState, vocab, drawn: int) -> int | None:
        """The token of a repeat to write now, or None to let the model's own draw stand."""
        if self.pending:
            return self.pending.pop(0)
        if drawn == vocab.eos or not _starts_bar(state, vocab.tokens[drawn]):
            return None
        place = _next_place(state)
        source = self.copies.get(place) if place is not None else None
        text = self.bars.get(source) if source is not None else None
        # A space after the bar ends its last note: without it the model could still lengthen the note
        # ("B" then "6///e/4") and the bar would no longer be the one it repeats.
        text = text + " " if text is not None else None
        if text is None or not _fits(state, text):
            return None
        self.pending = vocab.encode(text)
        self.copied.append((place, source))
        return self.pending.pop(0)


def _starts_bar(state: TuneState, token: str) -> bool:
    """Whether this token begins the music of a new bar (not a space, not more of the bar line)."""
    if not token or token[0] in " \n":
        return False
    if state.mode == "sign":  # the bar before is still counted until its sign closes
        return state.pending + token[0] not in SIGN_PREFIXES
    return state.mode == "normal" and state.after_sign and not state.bar_notes and not state.pos


def _next_place(state: TuneState) -> Place | None:
    """Where the bar about to begin stands, with the bar line before it closed as the model left it."""
    if state.form is None:
        return None
    if state.mode == "sign":
        state = state.copy()
        if not state.push(" "):  # a space closes whatever sign is pending, as the bar's first note would
            return None
    return state.parts_done, int(state.part_bars)


def _fits(state: TuneState, text: str) -> bool:
    """Whether the earlier bar may stand here: the constraint takes it and a bar line after it."""
    trial = state.copy()
    return trial.push_text(text) and (trial.allows("|") or trial.allows(":"))
