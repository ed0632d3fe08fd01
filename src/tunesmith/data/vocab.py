"""Character vocabulary with explicit tune start/end markers.

Each tune is one document: <s> + its normalised text + </s>. The model learns
where tunes end, so sampling stops at </s> instead of cutting tunes mid-bar.

Characters never seen in training: `encode(strict=True)` (the default, used for
user prompts) raises a clear error; `strict=False` (used when scoring held-out
tunes) maps them to the explicit <unk> symbol so they are counted, not dropped.

A run trained to fill in the middle (fim_rate > 0, see tunesmith.data.infill) has two more
markers, <suf> and <mid>, right after those three. Encoding works on characters or ABC units,
never on these names, so user text that spells "<suf>" is five characters, not the marker.
A vocabulary saved without them (every model before infilling, the shipped one too) loads
with the ids it had.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from tunesmith.abc.units import pieces, segment

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
SPECIALS = (BOS, EOS, UNK)
SUF, MID = "<suf>", "<mid>"
SENTINELS = (SUF, MID)  # fill-in-the-middle, PSM order: <s> prefix <suf> suffix <mid> middle </s>
RESERVED = frozenset(SPECIALS + SENTINELS)  # never a character or an ABC unit


def markers(sentinels: bool) -> list[str]:
    """The structure tokens at the start of a vocabulary: the tune markers, then the FIM sentinels if asked."""
    return list(SPECIALS + SENTINELS) if sentinels else list(SPECIALS)


def saved_with_sentinels(tokens: list[str]) -> bool:
    """Whether a saved token list has the sentinels: only ever right after SPECIALS."""
    return tokens[len(SPECIALS) : len(SPECIALS) + len(SENTINELS)] == list(SENTINELS)


def refuse_unknown_characters(text: str, index: dict[str, int]) -> None:
    """A prompt may only use characters the model has seen; name the first few it has not."""
    unknown = sorted(set(text) - index.keys())
    if unknown:
        shown = ", ".join(repr(ch) for ch in unknown[:5])
        raise ValueError(f"characters never seen in training: {shown}")


class CharVocab:
    """Two look-up tables, character -> index and index -> character (as in the lab)."""

    def __init__(self, chars: Iterable[str], sentinels: bool = False):
        structure = markers(sentinels)
        self.tokens: list[str] = structure + sorted(set(chars) - RESERVED)
        self.index = {token: i for i, token in enumerate(self.tokens)}
        self.bos, self.eos, self.unk = (self.index[s] for s in SPECIALS)
        self.suf, self.mid = (self.index.get(s) for s in SENTINELS)  # None without fill-in-the-middle
        self.num_markers = len(structure)  # ids below this are structure, never text

    @classmethod
    def build(cls, texts: Iterable[str]) -> CharVocab:
        """Example: CharVocab.build(["AB", "BC"]).tokens -> ["<s>", "</s>", "<unk>", "A", "B", "C"]."""
        chars: set[str] = set()
        for text in texts:
            chars.update(text)
        return cls(chars)

    def with_sentinels(self) -> CharVocab:
        """The same characters with <suf> and <mid>, for a run that trains fill-in-the-middle."""
        return CharVocab(self.tokens[self.num_markers :], sentinels=True)

    @property
    def has_sentinels(self) -> bool:
        return self.suf is not None

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str, strict: bool = True) -> list[int]:
        """Example: encode("AB") -> [3, 4] for the vocabulary above."""
        if strict:
            refuse_unknown_characters(text, self.index)
        return [self.index.get(ch, self.unk) for ch in text]

    def encode_tune(self, text: str, strict: bool = True) -> list[int]:
        """One training document: <s> text </s>."""
        return [self.bos, *self.encode(text, strict), self.eos]

    def decode(self, ids: Sequence[int]) -> str:
        """Characters only: the markers are structure, not text."""
        return "".join(self.tokens[i] for i in ids if i >= self.num_markers)

    def to_dict(self) -> dict:
        return {"kind": "char", "tokens": self.tokens}

    @classmethod
    def from_dict(cls, data: dict) -> CharVocab:
        tokens = list(data.get("tokens", []))
        if data.get("kind") != "char" or tokens[:3] != list(SPECIALS):
            raise ValueError("not a Tunesmith character vocabulary")
        vocab = cls(tokens[3:], saved_with_sentinels(tokens))
        if vocab.tokens != tokens:
            raise ValueError("vocabulary tokens are not in canonical order")
        return vocab


def vocab_from_dict(data: dict) -> CharVocab | ABCTokenVocab:
    """Rebuild whichever vocabulary a checkpoint saved: characters ("char") or ABC units ("abc")."""
    if not isinstance(data, dict):
        raise ValueError(f"the vocabulary is not a JSON object (got {type(data).__name__})")
    if data.get("kind") == "abc":

        return ABCTokenVocab.from_dict(data)
    return CharVocab.from_dict(data)


class ABCTokenVocab:
    """The interface of CharVocab, over ABC units: tokens, index, bos/eos/unk, encode/decode."""

    def __init__(self, chars: Iterable[str], units: Iterable[str] = (), min_count: int = 2,
                 sentinels: bool = False):
        single = sorted(set(chars) - RESERVED)
        multi = sorted(set(units) - set(single) - RESERVED)
        if any(len(ch) != 1 for ch in single) or any(len(unit) < 2 or "\n" in unit for unit in multi):
            raise ValueError("ABC vocabulary: characters must be single, units longer and within one line")
        structure = markers(sentinels)
        self.tokens: list[str] = structure + single + multi
        self.index = {token: i for i, token in enumerate(self.tokens)}
        self.bos, self.eos, self.unk = (self.index[s] for s in SPECIALS)
        self.suf, self.mid = (self.index.get(s) for s in SENTINELS)  # None without fill-in-the-middle
        self.num_markers = len(structure)  # ids below this are structure, never text
        self.min_count = min_count

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 2) -> ABCTokenVocab:
        """Every character, every unit seen min_count times, and the frequent pieces of rare units."""
        chars: set[str] = set()
        counts: Counter[str] = Counter()
        for text in texts:
            chars.update(text)
            counts.update(unit for unit in segment(text) if len(unit) > 1)
        kept = {unit for unit, n in counts.items() if n >= min_count}
        piece_counts: Counter[str] = Counter()
        for unit, n in counts.items():
            if n < min_count:
                for piece in pieces(unit):
                    if len(piece) > 1:
                        piece_counts[piece] += n
        kept |= {piece for piece, n in piece_counts.items() if n >= min_count}
        return cls(chars, kept, min_count)

    def with_sentinels(self) -> ABCTokenVocab:
        """The same units with <suf> and <mid>, for a run that trains fill-in-the-middle."""
        text = self.tokens[self.num_markers :]
        return ABCTokenVocab([t for t in text if len(t) == 1], [t for t in text if len(t) > 1], self.min_count,
                             sentinels=True)

    @property
    def has_sentinels(self) -> bool:
        return self.suf is not None

    def __len__(self) -> int:
        return len(self.tokens)

    def tokenize(self, text: str) -> list[str]:
        """The token texts of text: each unit if known, else its known pieces, else characters.

        Example: tokenize("K:D\\n|:^f'2") -> ["K:D", "\\n", "|:", "^f'2"] with a vocabulary that has them.
        """
        tokens: list[str] = []
        for unit in segment(text):
            if len(unit) == 1 or unit in self.index:
                tokens.append(unit)
                continue
            for piece in pieces(unit):
                tokens += [piece] if piece in self.index else list(piece)
        return tokens

    def encode(self, text: str, strict: bool = True) -> list[int]:
        """Token ids; characters never seen in training raise (strict) or become <unk>."""
        if strict:
            refuse_unknown_characters(text, self.index)
        return [self.index.get(token, self.unk) for token in self.tokenize(text)]

    def encode_tune(self, text: str, strict: bool = True) -> list[int]:
        """One training document: <s> tokens </s>."""
        return [self.bos, *self.encode(text, strict), self.eos]

    def decode(self, ids: Sequence[int]) -> str:
        """The token texts joined; the markers are structure, not text."""
        return "".join(self.tokens[i] for i in ids if i >= self.num_markers)

    def to_dict(self) -> dict:
        return {"kind": "abc", "tokens": self.tokens, "min_count": self.min_count}

    @classmethod
    def from_dict(cls, data: dict) -> ABCTokenVocab:
        tokens = list(data.get("tokens", []))
        if data.get("kind") != "abc" or tokens[:3] != list(SPECIALS):
            raise ValueError("not a Tunesmith ABC token vocabulary")
        rest = tokens[3:]
        vocab = cls([t for t in rest if len(t) == 1], [t for t in rest if len(t) > 1], data.get("min_count", 2),
                    saved_with_sentinels(tokens))
        if vocab.tokens != tokens:
            raise ValueError("vocabulary tokens are not in canonical order")
        return vocab
