"""A mutation corpus built from real tunes: the damage that years of copying does to a tune book.

Text mutations (truncate, delete, duplicate, swap, insert control bytes and non-ASCII, CRLF) work
on one tune; byte encodings (Latin-1, UTF-16, BOMs, CR line ends) work on a whole file.
"""

from __future__ import annotations

import random
from pathlib import Path

from tunesmith.abc.text import split_tunebook

DATA = Path(__file__).resolve().parents[1] / "data"
SHARED_IRISH = Path(__file__).resolve().parents[3] / "shared" / "data" / "irish.abc"

# Characters that mean something to ABC, to the tools, to a terminal or to a decoder.
JUNK = [
    "\x00", "\x07", "\x08", "\x0b", "\x0c", "\x1b[31m", "\x7f", "\x85", "\u2028", "\u2029", "\ufeff",
    "\udc80", "\udcff", "\ud800", "é", "ß", "中", "𝄞", "\u202e", "\r", "\n", "\r\n", "\t",
    "%", "%%", "\\", "[", "]", "|", '"', "!", "+", "(", ")", "{", "}", ":", "::", "/", "/0", "0",
    "-", "--", "../", "$(reboot)", "`id`", ";rm -rf /", "X:", "K:", "M:", "L:", "T:", "M:3/0\n",
    "L:1/0\n", "K:\n", "[K:]", "[M:9/0]", "[L:0]", "Z999999", "z999999", "A" * 200, "(9", ">>>", "<<<",
]


def seed_tunes() -> list[str]:
    """Every tune text of quirks.abc and, when ../shared has it, the lab's irish.abc."""
    books = [DATA / "quirks.abc"] + ([SHARED_IRISH] if SHARED_IRISH.is_file() else [])
    tunes = []
    for book in books:
        text = book.read_bytes().decode("utf-8", errors="surrogateescape")
        tunes += [tune for _, tune in split_tunebook(text)]
    return tunes


def good_tunes() -> list[str]:
    """Seed tunes that parse cleanly, to mix with mutants."""
    from tunesmith.abc.text import parse_tunebook

    return [tune for tune in seed_tunes() if len(parse_tunebook(tune)[0]) == 1]


def mutate(text: str, rng: random.Random) -> str:
    """One to four random edits of a tune."""
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(text) + 1)
        op = rng.randrange(8)
        if op == 0:
            text = text[:at]
        elif op == 1:
            text = text[:at] + text[at + rng.randint(1, 8):]
        elif op == 2:
            piece = text[at:at + rng.randint(1, 30)]
            text = text[:at] + piece * rng.randint(2, 4) + text[at:]
        elif op == 3 and len(text) > 1:
            chars, other = list(text), rng.randrange(len(text))
            at = min(at, len(text) - 1)
            chars[at], chars[other] = chars[other], chars[at]
            text = "".join(chars)
        elif op == 4:
            text = text[:at] + rng.choice(JUNK) + text[at:]
        elif op == 5:
            text = text[:at] + chr(rng.choice([rng.randrange(32), rng.randrange(0x80, 0x3000)])) + text[at:]
        elif op == 6:
            text = text.replace("\n", rng.choice(["\r\n", "\r", "\n\n", "\n \n"]))
        else:
            lines = text.split("\n")
            rng.shuffle(lines)
            text = "\n".join(lines)
    return text


def mutants(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    tunes = seed_tunes()
    return [mutate(rng.choice(tunes), rng) for _ in range(count)]


def encodings(text: str) -> dict[str, bytes]:
    """One tune book written the ways editors write files."""
    return {
        "utf-8": text.encode("utf-8", "surrogateescape"),
        "utf-8-bom": b"\xef\xbb\xbf" + text.encode("utf-8", "surrogateescape"),
        "latin-1": text.encode("latin-1", "replace"),
        "cp1252": text.encode("cp1252", "replace"),
        "utf-16": text.encode("utf-16", "surrogatepass"),  # with BOM, as Windows Notepad writes it
        "utf-16-be": b"\xfe\xff" + text.encode("utf-16-be", "surrogatepass"),
        "crlf": text.replace("\n", "\r\n").encode("utf-8", "surrogateescape"),
        "cr": text.replace("\n", "\r").encode("utf-8", "surrogateescape"),
    }
