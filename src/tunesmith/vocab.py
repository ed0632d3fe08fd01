"""Character vocabulary with explicit tune start/end markers.

Each tune is one document: <s> + its normalised text + </s>. The model learns
where tunes end, so sampling stops at </s> instead of cutting tunes mid-bar.

Characters never seen in training: `encode(strict=True)` (the default, used for
user prompts) raises a clear error; `strict=False` (used when scoring held-out
tunes) maps them to the explicit <unk> symbol so they are counted, not dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tunesmith.abctokens import ABCTokenVocab

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
SPECIALS = (BOS, EOS, UNK)


def refuse_unknown_characters(text: str, index: dict[str, int]) -> None:
    """A prompt may only use characters the model has seen; name the first few it has not."""
    unknown = sorted(set(text) - index.keys())
    if unknown:
        shown = ", ".join(repr(ch) for ch in unknown[:5])
        raise ValueError(f"characters never seen in training: {shown}")


class CharVocab:
    """Two look-up tables, character -> index and index -> character (as in the lab)."""

    def __init__(self, chars: Iterable[str]):
        self.tokens: list[str] = list(SPECIALS) + sorted(set(chars) - set(SPECIALS))
        self.index = {token: i for i, token in enumerate(self.tokens)}
        self.bos, self.eos, self.unk = (self.index[s] for s in SPECIALS)

    @classmethod
    def build(cls, texts: Iterable[str]) -> CharVocab:
        """Example: CharVocab.build(["AB", "BC"]).tokens -> ["<s>", "</s>", "<unk>", "A", "B", "C"]."""
        chars: set[str] = set()
        for text in texts:
            chars.update(text)
        return cls(chars)

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
        return "".join(self.tokens[i] for i in ids if i >= len(SPECIALS))

    def to_dict(self) -> dict:
        return {"kind": "char", "tokens": self.tokens}

    @classmethod
    def from_dict(cls, data: dict) -> CharVocab:
        if data.get("kind") != "char" or list(data["tokens"][:3]) != list(SPECIALS):
            raise ValueError("not a Tunesmith character vocabulary")
        vocab = cls(data["tokens"][3:])
        if vocab.tokens != list(data["tokens"]):
            raise ValueError("vocabulary tokens are not in canonical order")
        return vocab


def vocab_from_dict(data: dict) -> CharVocab | ABCTokenVocab:
    """Rebuild whichever vocabulary a checkpoint saved: characters ("char") or ABC units ("abc")."""
    if data.get("kind") == "abc":
        from tunesmith.abctokens import ABCTokenVocab

        return ABCTokenVocab.from_dict(data)
    return CharVocab.from_dict(data)
