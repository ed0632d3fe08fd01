"""The constraint inside a gap: bars written between kept bars, so that they join on both sides.

`tunesmith fill --bars 5-8` keeps a tune byte for byte except the bars it writes again, and
`tunesmith continue --part B` writes a part after the last kept bar. `GapState` is a TuneState
(tunesmith.abc.grammar) that starts where the gap starts and adds three rules:

- the gap has exactly as many bars as the bars it replaces, and nothing comes after its last sign;
- each bar ends with the sign the bar it replaces ended with (a repeat stays a repeat), and a short bar
  (a pickup, the bar that completes it) is as long as the one it replaces;
- the kept bars after it must still follow: their bar lengths, repeats and endings are read
  after the gap's last sign, and the tune must then be able to end.

The state at the start of the gap is read from a *skeleton* of the kept bars before it: each
bar as a rest as long as the bar, between the bar's own signs. Bar lengths, repeats, endings and
pickups are all the constraint needs to know about them, and a skeleton holds nothing it may
refuse (real tunes carry bowings, line continuations and other signs the constraint never writes).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from tunesmith.abc.grammar import TuneState
from tunesmith.abc.lexicon import BAR_SIGNS
from tunesmith.abc.reader import part_start_bars, read_tune
from tunesmith.abc.text import TOKEN, length_text, normalise_newlines, parse_fields

# Signs of real tunes the constraint writes another way: endings with brackets, doubled signs.
SIGN_SPELLINGS = {"[1": "|1", "|[1": "|1", "[2": ":|2", ":|[2": ":|2", ":|]": ":|", ":||": ":|", "||:": "|:",
                  "[|": "||", ":||:": "::", ":|:": "::", "|[2": ":|2"}


SIGNS_AND_MUSIC = frozenset({"bar", "ending", "note", "chord", "rest", "barrest", "tuplet", "grace", "slur",
                             "broken", "tie", "text", "deco"})


READER_COUNTS_OTHERWISE = "the reader counts its bars otherwise (a multi-bar rest?): fill cannot line them up"


class GapError(ValueError):
    """A gap the constraint cannot fill: a bar that does not add up around it, a sign it does not write."""


@dataclass(frozen=True)
class Bars:
    """A tune's body cut at its bar lines: bar i is text[cuts[i]:cuts[i+1]], with its length and last sign."""

    cuts: list[int]
    lengths: list[Fraction]  # each bar's duration, in whole notes
    signs: list[str]  # the bar sign that closes each bar ("" for the last bar of a tune without one)
    openings: list[str]  # signs at the start of a bar (an ending "[1" on its own, "|:" on a new line)
    expected: Fraction | None  # a full bar's length, from M:
    endings: list[int | None]  # the ending each bar is in (1, 2) or None
    part_starts: list[int]  # the bars that open a part (after a repeat or a double bar, second endings aside)


def constraint_sign(sign: str) -> str:
    """The sign the constraint writes for a sign of a real tune ("[1" -> "|1"); the sign itself if it writes it."""
    return sign if sign in BAR_SIGNS else SIGN_SPELLINGS.get(sign, sign)


def opening_sign(sign: str) -> str:
    """A sign that opens a bar after the sign that closed the one before ("|1" on a new line): as the
    constraint reads a sign with nothing before it, an ending in brackets."""
    sign = constraint_sign(sign)
    return {"|1": "[1", ":|2": "[2"}.get(sign, sign)


def read_bars(text: str, cuts: list[int]) -> Bars:
    """Each bar's length and signs; GapError when the reader counts the bars otherwise (a Z4 rest)."""
    read = read_tune(text).bars
    if len(read) != len(cuts) - 1:
        raise GapError(READER_COUNTS_OTHERWISE)
    signs, openings = [], []
    for start, end in zip(cuts, cuts[1:]):
        # A bar's signs: those before its first note open it, the one after its last closes it ("!" line
        # breaks and spaces after that aside, as split_at_bars leaves them with the tune's last bar).
        tokens = [t for t in TOKEN.finditer(text, start, end) if t.lastgroup in SIGNS_AND_MUSIC]
        music = [i for i, t in enumerate(tokens) if t.lastgroup not in ("bar", "ending")]
        last = tokens[-1] if tokens and (not music or music[-1] < len(tokens) - 1) else None
        signs.append(last.group() if last is not None and last.lastgroup == "bar" else "")
        head = tokens[: music[0]] if music else tokens[:-1]
        openings.append("".join(t.group() for t in head))
    return Bars(list(cuts), [bar.duration for bar in read], signs, openings, read[0].expected if read else None,
                [bar.ending for bar in read], part_start_bars(read))


def next_part_lengths(bars: Bars) -> list[Fraction]:
    """The bars of a part written after the tune's last, shaped as players shape a B part on its A part:
    its pickup if it had one, as many bars as it has (its second ending not counted again), and a
    short last bar where its last bar completed the pickup. Example: a reel "A|dfaf gfed|...|EFGE D3:|" ->
    [1/8, 1, 1, 1, 7/8]; a jig whose second ending is a full bar, "D|GBd gdB|...|1 cAF G2:|2 cAF GBd||" -> four 3/4."""
    full = bars.expected
    last_part = range(bars.part_starts[-1], len(bars.lengths))
    # A pickup only where the tune's last bar leaves room for one (the checker's rule: it completes that bar).
    room = full is not None and bars.lengths[-1] < full
    had_pickup = full is not None and bars.lengths[last_part[0]] < full
    pickup = [bars.lengths[last_part[0]]] if room and had_pickup else []
    body = [i for i in last_part[had_pickup:] if bars.endings[i] != 2]
    if not body or full is None:
        return pickup + [bars.lengths[i] for i in body]
    last = bars.lengths[body[-1]]
    return pickup + [full] * (len(body) - 1) + [last if pickup and last < full else full]


def skeleton(bars: Bars, first: int, end: int, unit: Fraction) -> str:
    """Bars [first, end) as rests between their own signs: "|:z8|z8:|" for two full bars of 4/4 in L:1/8."""
    pieces = []
    for i in range(first, end):
        # An opening sign follows the bar line before it on a new line, as in the tune ("| |:" on one
        # line is an empty bar); the tune's first bar has nothing before it.
        gap = "\n" if i else ""
        opening = "".join(f"{gap}{opening_sign(t.group())}" for t in TOKEN.finditer(bars.openings[i]))
        units = bars.lengths[i] / unit
        rest = f"z{length_text(units)}" if units else ""
        pieces.append(f"{opening}{rest}{constraint_sign(bars.signs[i])}")
    return "".join(pieces)


class GapState(TuneState):
    """A TuneState for the bars of a gap: see the module's docstring. Build one with `gap_state`."""

    end_bars: int | None = None  # bars the state will have counted once the gap's last sign is closed
    signs: tuple[str, ...] = ()  # the sign that closes each bar of the gap, as the constraint writes it
    openings: tuple[str, ...] = ()  # the sign a bar of the gap may open with ("|:" on a new line), "" for none
    lengths: tuple[Fraction, ...] = ()  # each bar's length: a pickup stays a pickup, a short last bar short
    after: str = ""  # the skeleton of the kept bars after the gap
    final_degree: int | None = None  # the gap's last note must be this degree of the key (1: home)

    def push(self, char: str) -> bool:
        if not super().push(char):
            return False
        return self.end_bars is None or not self.in_body or self._gap_allows(char)

    def _limit(self) -> Fraction:
        """A bar of the gap is no longer than the bar it replaces (a pickup stays a pickup)."""
        limit = super()._limit()
        if self.end_bars is not None and 0 <= self._bar() < len(self.lengths):
            return min(limit, self.lengths[self._bar()])
        return limit

    def cadence_due(self) -> bool:
        """Writing the gap's last bar, when its last note must be a degree; also at the bar line before it,
        where the sampler's snapshot is taken, so that a rollback gives the cadence its full tries."""
        if self.end_bars is None or self.final_degree is None:
            return super().cadence_due()
        bar = self._bar()
        return bar == len(self.signs) - 1 or (self.mode == "sign" and self.bar_notes > 0
                                              and bar == len(self.signs) - 2)

    def relax_cadence(self) -> bool:
        """Give up the degree asked of the gap's last note (the model would not write it); False if none."""
        if self.end_bars is None or self.final_degree is None:
            return super().relax_cadence()
        self.final_degree = None
        return True

    def _bar(self) -> int:
        """The bar of the gap being written, from 0."""
        return len(self.signs) - (self.end_bars - self.bars)

    def at_gap_end(self) -> bool:
        """The gap's last sign is written: nothing but </s> may come next."""
        return (self.mode == "sign" and self.bar_notes > 0 and self._bar() == len(self.signs) - 1
                and self.pending == self.signs[-1])

    def _gap_allows(self, char: str) -> bool:
        bar = self._bar()
        if bar < 0 or bar >= len(self.signs):
            return False  # the kept bar line before the gap made longer ("|" + ":"), or a bar after the gap
        if self.mode != "sign":
            # A bar that opened a repeat opens it again before its music: the :| that closes the part
            # needs that |: (after endings abc2midi would play back to the start of the tune).
            return not (self.openings[bar] == "|:" and not self.repeat_open and self.bar_notes == 0
                        and not self.pos and char not in " \n")
        # Each bar line of the gap is the one the replaced bars had: the tune's repeats and endings stay.
        wanted = self.signs[bar] if self.bar_notes > 0 else self.openings[bar]
        if not wanted.startswith(self.pending):
            return False
        if self.bar_notes == 0:
            return True
        if self.lengths and self.pos != self.lengths[bar]:
            return False  # ... and no shorter
        # A bar line begun: allowed only if, written out, it closes the bar (and after the gap's last one,
        # the kept bars can follow), so that a sign is never begun that cannot be finished.
        ahead = self.copy()
        ahead.end_bars = None
        if not ahead.push_text(wanted[len(self.pending):]):
            return False
        return ahead._joins() if bar == len(self.signs) - 1 else ahead._close_sign()

    def _joins(self) -> bool:
        """The kept bars after the gap can follow its last sign, and the tune can end after them."""
        if not self._cadence_met(self.final_degree):
            return False
        rest = self.copy()
        rest.end_bars = None
        return rest.push_text(self.after or "") and TuneState.can_end(rest)

    def can_end(self) -> bool:
        if self.end_bars is None:
            return super().can_end()
        return self.at_gap_end() and self._joins()

    def must_end(self) -> bool:
        return self.end_bars is not None and self.at_gap_end()


def gap_state(text: str, cuts: list[int], first: int, end: int, final_degree: int | None = None,
              pitch_range: tuple[int, int] | None = None) -> GapState:
    """The state at the start of bars [first, end) of a tune cut at `cuts` (tunesmith.data.infill.split_at_bars).

    end may be past the tune's last bar (`continue`): the gap then writes bars the tune does not have,
    plain bar lines and then the sign its last bar ends with. GapError says in words why a gap cannot be filled.
    """
    bars = read_bars(text, cuts)
    fields = parse_fields(normalise_newlines(text))
    if "K" not in fields or "M" not in fields:
        raise GapError("the tune needs an M: and a K: line")
    unit, count = _unit(fields), len(bars.signs)
    if end <= count:
        signs = [constraint_sign(sign) for sign in bars.signs[first:end]]
        openings = [_first_opening(bars.openings[i]) for i in range(first, end)]
        lengths = bars.lengths[first:end]
    else:  # a new part (next_part_lengths): plain bar lines, then the sign the tune's last bar ends with
        lengths = next_part_lengths(bars)
        if end - first != len(lengths):
            raise GapError(f"a part after this tune's last has {len(lengths)} bars, not {end - first}")
        signs = ["|"] * (end - first - 1) + [constraint_sign(bars.signs[-1])]
        openings = ["|:" if signs[-1] in (":|", "::") else ""] + [""] * (end - first - 1)
    unwritten = [sign for sign in signs if sign not in BAR_SIGNS]
    if unwritten:
        raise GapError(f"a bar of the gap ends with {unwritten[0] or 'no bar line'!r}, which the constraint does "
                       "not write: choose bars that end at a bar line")
    state = GapState(pitch_range=pitch_range)
    header = f"X:1\nM:{fields['M']}\nL:{fields.get('L', '1/8')}\nK:{fields['K']}\n"
    before, after = skeleton(bars, 0, first, unit), skeleton(bars, min(end, count), count, unit)
    if not state.push_text(header + before):
        raise GapError("the bars before the gap do not add up as its metre says, so the join cannot be checked")
    state.end_bars = state.bars + (1 if state.mode == "sign" else 0) + (end - first)
    state.signs, state.openings, state.after, state.final_degree = tuple(signs), tuple(openings), after, final_degree
    state.lengths = tuple(lengths)
    probe = state.copy()
    probe.end_bars = None
    gap = skeleton(bars, first, min(end, count), unit)
    if end <= count and not (probe.push_text(gap + after) and TuneState.can_end(probe)):
        raise GapError("the tune's bars around the gap do not add up as its metre says, so its joins "
                       "cannot be checked")
    return state


def _first_opening(openings: str) -> str:
    """The sign a bar opens with, as the model writes it: the first of them ("" for none)."""
    token = next(TOKEN.finditer(openings), None)
    return constraint_sign(token.group()) if token else ""


def _unit(fields: dict[str, str]) -> Fraction:
    value = fields.get("L", "1/8").strip()
    try:
        unit = Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise GapError(f"L:{value} is not a note length") from None
    if unit <= 0:
        raise GapError(f"L:{value} is not a note length")
    return unit
