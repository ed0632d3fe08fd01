"""Fill-in-the-middle documents (Bavarian et al. 2022, "Efficient Training of Language Models to Fill
in the Middle"), cut at bar lines. No torch.

A share of the training tunes (TrainConfig.fim_rate) is rearranged, so one model both writes left to
right and fills a gap given the music on both sides of it. In PSM order (TrainConfig.fim_order "psm"):

    <s> X:1 ... K:D\\n|:ABcd|efga|  <suf>  |c2BA:|  <mid>  bagf|edcB|  </s>
        '--- header + prefix ---'         suffix         middle: the hidden bars

In SPM order ("spm") the bars before the gap come last, so the gap is written straight after them as
it is left to right, and the suffix is the SPM_SUFFIX_BARS bars after the gap (a recurrent model
trained on 128-character windows never learns to reach further back than that):

    <s> X:1 ... K:D\\n  <suf>  |c2BA:|  <mid>  |:ABcd|efga|  bagf|edcB|  </s>
        '- header -'         suffix'        bars before     middle

Every cut is at a bar boundary of the body (just after a bar line), and the header always stays in
the prefix. The middle is 1..MAX_GAP_BARS whole bars or, one time in WHOLE_PART_SHARE, a whole part:
the gaps `tunesmith fill --bars 5-8` and `tunesmith continue --part B` ask the model to fill.
Which tunes are rearranged, and how, depends only on the run's seed and the tune's place in the
stream, so a resumed run rebuilds the identical stream.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from tunesmith.abc.gaps import READER_COUNTS_OTHERWISE, GapError
from tunesmith.abc.reader import part_start_bars, read_tune
from tunesmith.abc.text import FIELD_LINE, TOKEN
from tunesmith.data.vocab import ABCTokenVocab, CharVocab

MAX_GAP_BARS = 8  # `fill --bars` hides up to eight bars: a phrase, or half of a reel's part
WHOLE_PART_SHARE = 0.25  # the other gaps are runs of 1..8 bars at any place
MUSIC = frozenset({"note", "chord", "rest", "barrest"})  # tokens that make a bar more than signs and spaces
FIM_ORDERS = ("psm", "spm")  # how a rearranged document is laid out (see above)
SPM_SUFFIX_BARS = 2  # the bars after the gap an SPM document keeps: the join, within one training window


@dataclass(frozen=True)
class Infill:
    """A tune cut in three at bar boundaries: prefix + middle + suffix is the tune, character for character."""

    prefix: str  # the header and the bars before the gap
    middle: str  # the hidden bars
    suffix: str  # the bars after the gap (may be empty)

    def psm(self) -> str:
        """The document as text, for reading. Example: "X:1\\nK:D\\nAB|<suf>ef|<mid>cd|"."""
        return f"{self.prefix}<suf>{self.suffix}<mid>{self.middle}"


def body_start(text: str) -> int:
    """Offset of the first body line: after K:, or at the first line that is not a field (comments skipped),
    as `tunesmith.abc.text.header_and_body` reads a tune. Example: "X:1\\nK:D\\nAB|" -> 8."""
    offset = 0
    for line in text.split("\n"):
        if not line.lstrip().startswith("%"):
            match = FIELD_LINE.match(line)
            if not match:
                return offset
            if match.group(1) == "K":
                return min(offset + len(line) + 1, len(text))
        offset += len(line) + 1
    return len(text)


def _is_field_line(line: str) -> bool:
    """A field line inside the body (K:G, P:B), read as the reader reads it: "A:|" is music."""
    match = FIELD_LINE.match(line)
    return bool(match) and not match.group(2).startswith(("|", ":"))


def split_at_bars(text: str) -> list[int]:
    """Offsets o_0 < ... < o_n with bar i = text[o_i:o_i+1]: o_0 is where the body starts, o_n is len(text),
    and every other offset is just after a bar line. [] for a tune without a note or rest.

    Each bar holds music: a bar line with nothing sounding before it ("|\\n|:") goes with the bar that
    follows, and what comes after the last bar line (a newline) with the last bar, so the bars are
    the ones `tunesmith.abc.reader.read_tune` counts. Example: "K:D\\nAB|\\n|:cd|ef" -> [4, 7, 13, 15].
    """
    start = body_start(text)
    cuts, music, offset = [start], False, start
    for line in text[start:].split("\n"):
        if not _is_field_line(line):
            for token in TOKEN.finditer(line):
                if token.lastgroup == "bar" and music:
                    cuts.append(offset + token.end())
                    music = False
                elif token.lastgroup in MUSIC:
                    music = True
        offset += len(line) + 1
    if music:
        cuts.append(len(text))
    elif len(cuts) > 1:
        cuts[-1] = len(text)
    return cuts if len(cuts) > 1 else []


def part_starts(text: str, bars: int) -> list[int]:
    """The bars (0-based, as split_at_bars counts them) that open a part: after a repeat sign or a
    double bar, a second ending not counted. [0] when the reader counts the bars otherwise (Z4).

    Example: "K:D\\n|:AB|cd:|\\n|:ef|ga:|" -> [0, 2].
    """
    read = read_tune(text).bars
    return part_start_bars(read) if len(read) == bars else [0]


def counted_bars(text: str) -> list[int]:
    """The bars a player counts, as split_at_bars numbers them: every bar but a pickup (a short bar that
    opens the tune or a part; the short bar that completes it at the part's end is counted all the same).
    Example: a reel with a pickup to each part -> [1, ..., 8, 10, ..., 17]."""
    bars = read_tune(text).bars
    return [i for i, bar in enumerate(bars)
            if not (bar.expected and bar.duration < bar.expected and (i == 0 or bar.new_section))]


def draw_gap(bars: int, parts: Sequence[int], rng: random.Random) -> tuple[int, int]:
    """The hidden bars [first, end): a whole part (when there are two or more), else 1..8 bars anywhere."""
    if len(parts) > 1 and rng.random() < WHOLE_PART_SHARE:
        part = rng.randrange(len(parts))
        return parts[part], (*parts, bars)[part + 1]
    length = rng.randint(1, min(MAX_GAP_BARS, bars))
    first = rng.randrange(bars - length + 1)
    return first, first + length


def cut(text: str, cuts: Sequence[int], first: int, end: int) -> Infill:
    """The tune with bars [first, end) hidden."""
    return Infill(text[: cuts[first]], text[cuts[first] : cuts[end]], text[cuts[end] :])


def fim_arrange(text: str, rng: random.Random) -> Infill | None:
    """A random gap of whole bars (see draw_gap) cut out of the tune; None for a tune without bars."""
    cuts = split_at_bars(text)
    if not cuts:
        return None
    bars = len(cuts) - 1
    first, end = draw_gap(bars, part_starts(text, bars), rng)
    return cut(text, cuts, first, end)


def part_index(letter: str) -> int:
    """A part's place from its letter: "A" 0, "b" 1; -1 for anything but one letter."""
    return ord(letter.upper()) - ord("A") if len(letter) == 1 and letter.isalpha() else -1


def bar_span(text: str, bars: tuple[int, int] | str) -> tuple[int, int]:
    """[first, end) of the bars a musician names, as split_at_bars numbers them; GapError in words when the
    tune has no such bars.

    bars: (first, last), 1-based and inclusive, counting bars as players do (see counted_bars), e.g. (5, 8);
    or a part by its letter, "A" the first, "B" the second.
    """
    cuts = split_at_bars(text)
    if not cuts:
        raise GapError("the tune has no bars")
    count = len(cuts) - 1
    if isinstance(bars, str):
        starts = part_starts(text, count)
        part = part_index(bars)
        if not 0 <= part < len(starts):
            raise GapError(f"the tune has no part {bars} (it has {len(starts)}: "
                           f"{', '.join(chr(65 + i) for i in range(len(starts)))})")
        return starts[part], (*starts, count)[part + 1]
    if len(read_tune(text).bars) != count:
        raise GapError(READER_COUNTS_OTHERWISE)
    counted = counted_bars(text)
    if not (1 <= bars[0] <= bars[1] <= len(counted)):
        raise GapError(f"the tune has {len(counted)} bars: bars {bars[0]}-{bars[1]} are not all in it")
    return counted[bars[0] - 1], counted[bars[1] - 1] + 1


def hidden_bars(text: str, bars: tuple[int, int] | str) -> Infill | None:
    """The tune with the bars a benchmark or a command names hidden (see bar_span); None if it has no such bars."""
    try:
        first, end = bar_span(text, bars)
    except GapError:
        return None
    return cut(text, split_at_bars(text), first, end)


Vocab = CharVocab | ABCTokenVocab


def trained_order(meta: dict) -> str:
    """The document order a checkpoint's model was trained on ("psm" for runs from before the choice)."""
    return meta.get("train_config", {}).get("fim_order", "psm")


def first_bars(fragment: str, bars: int) -> str:
    """The first `bars` bars of a piece of a tune's body, e.g. ("|cd|ef|ga|", 2) -> "|cd|ef|"."""
    cuts = split_at_bars(fragment)
    return fragment[: cuts[bars]] if len(cuts) > bars else fragment


def fim_ids(vocab: Vocab, prefix: str, suffix: str, middle: str | None = None, strict: bool = True,
            order: str = "psm") -> list[int]:
    """The document of a gap in `order` (see the module docstring), ending with middle </s> when the middle is
    given (training) or at the point where the middle is written (a prompt to fill).

    Each part is encoded on its own, so the ABC units at a cut are the same whether the middle is
    known or written by the sampler.
    """
    if not vocab.has_sentinels:
        raise ValueError("this model was not trained to fill in the middle (its vocabulary has no <suf> "
                         "and <mid>); train one with --fim-rate")
    if order == "psm":
        ids = [vocab.bos, *vocab.encode(prefix, strict), vocab.suf, *vocab.encode(suffix, strict), vocab.mid]
    elif order == "spm":
        start = body_start(prefix)
        ids = [vocab.bos, *vocab.encode(prefix[:start], strict), vocab.suf,
               *vocab.encode(first_bars(suffix, SPM_SUFFIX_BARS), strict), vocab.mid,
               *vocab.encode(prefix[start:], strict)]
    else:
        raise ValueError(f"fim order must be one of {', '.join(FIM_ORDERS)} (got {order!r})")
    return ids if middle is None else [*ids, *vocab.encode(middle, strict), vocab.eos]


def fim_document(vocab: Vocab, text: str, rng: random.Random, order: str = "psm") -> list[int]:
    """One training document rearranged in `order`; a tune without bars stays left to right."""
    infill = fim_arrange(text, rng)
    if infill is None:
        return vocab.encode_tune(text)
    return fim_ids(vocab, infill.prefix, infill.suffix, infill.middle, order=order)


def tune_rng(seed: int, index: int) -> random.Random:
    """The generator of one tune of the stream: the same for the same run seed and place, on any machine."""
    return random.Random(f"fim:{seed}:{index}")


def training_documents(vocab: Vocab, texts: Sequence[str], fim_rate: float, seed: int,
                       order: str = "psm") -> list[list[int]]:
    """Every tune as one document: a share fim_rate rearranged in `order`, the rest left to right (all at 0)."""
    documents = []
    for index, text in enumerate(texts):
        rng = tune_rng(seed, index)
        if fim_rate > 0 and rng.random() < fim_rate:
            documents.append(fim_document(vocab, text, rng, order))
        else:
            documents.append(vocab.encode_tune(text))
    return documents
