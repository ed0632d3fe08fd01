"""The script a tune is written by: forced text (the header you asked for, your opening phrase)
alternating with free lines the model writes itself (the title, any header field you left open).

    --key G --meter 6/8   ->   "X:1\\nT:" <free line> "M:6/8\\nL:" <free line> "K:G\\n"
"""

from __future__ import annotations

from tunesmith.abc.text import canonical_key, canonical_rhythm

FREE_LINE = None  # a script item meaning "let the model write up to the end of this line"


def header_script(
    key: str | None = None,
    meter: str | None = None,
    rhythm: str | None = None,
    prime: str = "",
) -> list[str | None]:
    """The forced text and free lines that start every tune.

    Example: header_script(key="G") -> ["X:1\\nT:", None, "M:", None, "L:", None, "K:G\\n"]
    """
    if prime.startswith("X:"):
        return [prime]  # the user wrote the start of the tune themselves
    if not (key or meter or rhythm or prime):
        return ["X:1\n"]
    script: list[str | None] = ["X:1\nT:", FREE_LINE]
    if rhythm:
        script.append(f"R:{canonical_rhythm(rhythm)}\n")
    script += [f"M:{meter}\n"] if meter else ["M:", FREE_LINE]
    script += ["L:", FREE_LINE]  # the model knows which L: its tune books pair with a metre
    script += [f"K:{canonical_key(key)}\n"] if key else ["K:", FREE_LINE]
    if prime:
        script.append(prime)
    return _merge_forced(script)


def _merge_forced(script: list[str | None]) -> list[str | None]:
    merged: list[str | None] = []
    for item in script:
        if item and merged and merged[-1]:
            merged[-1] += item
        else:
            merged.append(item)
    return merged


class ScriptFollower:
    """Per-tune position in its script: which character to force next, if any."""

    def __init__(self, script: list[str | None]):
        self.script, self.item, self.offset = script, 0, 0
        self.name = tuple(script)  # tunes of one batch may follow different scripts

    @property
    def done(self) -> bool:
        return self.item >= len(self.script)

    def forced(self) -> str | None:
        """The next character the script forces, or None where the model is free."""
        if self.done or self.script[self.item] is FREE_LINE:
            return None
        return self.script[self.item][self.offset]

    def accepts(self, text: str) -> bool:
        """Whether writing text next keeps to the script (an ABC token may span forced and free text)."""
        item, offset = self.item, self.offset
        for char in text:
            if item >= len(self.script):
                return True
            current = self.script[item]
            if current is FREE_LINE:
                item += char == "\n"
                continue
            if current[offset] != char:
                return False
            offset += 1
            if offset == len(current):
                item, offset = item + 1, 0
        return True

    def advance(self, char: str) -> None:
        if self.done:
            return
        current = self.script[self.item]
        if current is FREE_LINE:
            if char == "\n":
                self.item += 1
            return
        self.offset += 1
        if self.offset == len(current):
            self.item, self.offset = self.item + 1, 0


def shared_prefix(script: list[str | None]) -> str:
    return script[0] if script and script[0] is not FREE_LINE else ""


def check_prompt(script: list[str | None], vocab) -> None:
    for piece in script:
        if piece:
            try:
                vocab.encode(piece)
            except ValueError as error:
                shown = piece if len(piece) <= 60 else piece[:60] + "..."
                raise ValueError(f"prompt {shown!r}: {error}") from None
