"""ABC text handling: split tune books into tunes, read header fields, normalise for training.

Pure text, no torch: everything else in Tunesmith builds on these functions.
The ABC 2.1 standard is the reference; where real tune books bend it (spaces after
field colons, tunes without X:, old `!` line breaks) we accept what abc2midi accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

from tunesmith.abc.theory import canonical_key

FIELD_LINE = re.compile(r"^([A-Za-z+]):\s*(.*?)\s*$")
# Header fields kept for training, in the order a normalised header is written.
# T (title) comes second as the standard asks; K always closes the header.
HEADER_ORDER = ("X", "T", "R", "M", "L", "K")
# Field lines that change the music when they appear inside the body.
BODY_FIELDS = frozenset("KLMP")
LAB_RHYTHM_ID = re.compile(r"id:[a-z]+-([a-z ]+?)-\d+", re.IGNORECASE)

# One reader's view of a body line: every token a tune body is made of (the checker and
# canonical_notation read bodies with it).
TOKEN = re.compile(
    r"""
     (?P<space>[\s`$\\y]+)                        # spaces, beam breaks, continuation, spacer
    |(?P<comment>%.*)
    |(?P<field>\[[A-Za-z]:[^\]\n]*\])            # inline field [M:3/4] [K:G] [L:1/16]
    |(?P<text>"[^"\n]*")                          # chord symbol or annotation
    |(?P<deco>![^!\s|"\[\]]{1,40}!|\+[^+\s|"\[\]]{1,40}\+)
    |(?P<linebreak>!)                             # unpaired: old ABC line break
    |(?P<grace>\{[^}\n]*\})                       # grace notes take no time
    |(?P<bar>(?::*\[?\|[|\]]*:*|:{2,})(?P<num>\[?\d+(?:[,-]\d+)*)?)
    |(?P<ending>\[(?P<enum>\d+)(?:[,-]\d+)*)      # [1 [2 without a bar line
    |(?P<chord>\[(?P<notes>[^\]\[|\n]*)\](?P<clen>\d*/*\d*))
    |(?P<tuplet>\((?P<p>[2-9])(?::(?P<q>\d*))?(?::(?P<r>\d*))?)
    |(?P<slur>[()])
    |(?P<note>(?P<acc>\^{1,2}|_{1,2}|=)?(?P<letter>[A-Ga-g])(?P<octave>[,']*)(?P<len>\d*/*\d*))
    |(?P<rest>[zx](?P<rlen>\d*/*\d*))
    |(?P<barrest>[ZX](?P<bars>\d*))
    |(?P<broken>[<>]{1,3})
    |(?P<tie>-)
    |(?P<deco1>[.~HLMOPSTuv&])                    # one-letter decorations, voice overlay
    |(?P<other>.)
    """,
    re.VERBOSE,
)
LENGTH = re.compile(r"(\d*)(/*)(\d*)")
# The unit length every tune is written with once read: the reel and jig unit of most tune books.
CANONICAL_UNIT = Fraction(1, 8)


@lru_cache(maxsize=4096)
def note_length(text: str) -> Fraction:
    """Multiplier of the unit length. Example: "" -> 1, "3/2" -> 3/2, "/" -> 1/2, "//" -> 1/4."""
    digits, slashes, below = LENGTH.match(text).groups()
    length = Fraction(int(digits) if digits else 1)
    if slashes:
        if below and int(below) == 0:
            return Fraction(0)  # "c/0": no length, as "c0" is read (the checker says so), never a division by 0
        length /= (int(below) if below else 2) * 2 ** (len(slashes) - 1)
    return length


class TuneError(ValueError):
    """A tune that cannot be used, with where it came from and why."""

    def __init__(self, source: str, number: int, reason: str):
        self.source, self.number, self.reason = source, number, reason
        super().__init__(f"{source}: tune {number}: {reason}")


@dataclass(frozen=True)
class Tune:
    """One tune of a tune book: its text and where it came from."""

    text: str
    source: str = "<text>"
    number: int = 1  # 1-based position of the tune in its source
    line: int = 1  # line of the source on which the tune starts
    fields: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def title(self) -> str:
        return self.fields.get("T", "")


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR become LF; trailing spaces go."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n"))


# A line that speaks to a tool instead of holding music: %%name ..., "% %name" or I:name (ABC 2.1 s.11).
DIRECTIVE = re.compile(r"^\s*(?:%[ \t]*%+|I:)[ \t]*([A-Za-z][\w-]*)?[ \t]*([A-Za-z]*)")
# What may reach abc2midi and abcm2ps: instruments, accompaniment and layout. Everything else (file
# names such as abc-include, format, EPS, %%MIDI ptstress; PostScript and SVG such as beginps, postscript,
# beginsvg; %%abc, ss-pref; abc2midi obeys even "% %abc-include") is dropped before a tool sees the tune.
ALLOWED_DIRECTIVES = frozenset({
    "scale", "pagewidth", "pageheight", "staffwidth", "leftmargin", "rightmargin", "topmargin", "botmargin",
    "newpage", "vskip", "sep", "staffsep", "sysstaffsep", "measurenb", "barnumbers", "stretchlast",
    "continueall", "linebreak", "writefields", "titlecaps", "titleleft", "musicspace", "notespacingfactor",
    "maxshrink", "landscape", "header", "footer",
})
ALLOWED_MIDI = frozenset({
    "program", "channel", "transpose", "chordprog", "bassprog", "chordvol", "bassvol", "gchord", "gchordon",
    "gchordoff", "beat", "beatstring", "beatmod", "ratio", "nobarlines", "barlines", "drum", "drumon",
    "drumoff", "chordname", "grace", "gracedivider", "noportamento", "temperamentnormal",
})


def directive_allowed(line: str) -> bool:
    """Whether a line may reach a tool as it is: music and comments may; a directive only from the lists."""
    match = DIRECTIVE.match(line)
    if match is None:
        return True
    name, word = (match.group(1) or "").lower(), match.group(2).lower()
    return name in ALLOWED_DIRECTIVES or (name == "midi" and word in ALLOWED_MIDI)


def dropped_directives(text: str) -> list[str]:
    """The directive lines `disarm_directives` drops, as written (stripped, at most 60 characters), to say so."""
    return [line.strip()[:60] for line in text.split("\n") if not directive_allowed(line)]


def disarm_directives(text: str) -> str:
    """Tune text for an external tool: each directive not allowed becomes a bare "%" (line numbers stay)."""
    return "\n".join(line if directive_allowed(line) else "%" for line in text.split("\n"))


def decode_tunebook(data: bytes) -> str:
    """A tune book file's text: UTF-8 (with or without a BOM), or UTF-16 when it starts with a BOM.

    Bytes that are not UTF-8 survive as surrogate escapes, so parse_tunebook can skip just
    the tunes that hold them, naming the line.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Windows editors save "Unicode" as UTF-16
        return data.decode("utf-16", errors="replace")
    return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="surrogateescape")


def tool_bytes(text: str) -> bytes:
    """The bytes an external tool reads for a tune: UTF-8, surrogate escapes back to their own bytes.

    Any other lone surrogate (JSON can carry "\\ud800") becomes "?" instead of an exception.
    """
    try:
        return text.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="replace")


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """Blank-line separated blocks, each with the 1-based line it starts on."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 1
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            if not current:
                start = number
            current.append(line)
        elif current:
            blocks.append((start, current))
            current = []
    if current:
        blocks.append((start, current))
    return blocks


def _split_at_x(start: int, lines: list[str]) -> list[tuple[int, list[str]]]:
    """Split a block at every X: line (tune books that forget the blank line)."""
    pieces: list[tuple[int, list[str]]] = []
    for offset, line in enumerate(lines):
        if line.startswith("X:") or not pieces:
            pieces.append((start + offset, []))
        pieces[-1][1].append(line)
    return pieces


def split_tunebook(text: str) -> list[tuple[int, str]]:
    """Split a tune book into (line number, tune text) pairs.

    A tune starts at an X: line and ends at a blank line (ABC 2.1). Blocks without
    X: are kept only if they carry a K: line (the lab's blank-line splitting);
    other blocks are free text or the file header and are not tunes.

    Example: "X:1\\nK:D\\nABc|\\n\\nX:2\\nK:G\\nGAB|" -> [(1, "X:1\\nK:D\\nABc|"), (5, ...)]
    """
    tunes = []
    for start, lines in _blocks(normalise_newlines(text.removeprefix("\ufeff"))):
        for line_number, piece in _split_at_x(start, lines):
            has_x = piece[0].startswith("X:")
            has_k = any(line.startswith("K:") for line in piece)
            if has_x or has_k:
                tunes.append((line_number, "\n".join(piece)))
            elif tunes and tunes[-1][1].rstrip().split("\n")[-1].startswith("K:"):
                # A blank line between K: and the music (irish.abc, tune 22).
                tunes[-1] = (tunes[-1][0], tunes[-1][1] + "\n" + "\n".join(piece))
    return tunes


def _is_field(line: str) -> re.Match[str] | None:
    # "|:" and "C:|" can't start a field line, but a letter and colon can be music,
    # e.g. "A:|" -- treat as a field only when the rest is not a bar or repeat sign.
    match = FIELD_LINE.match(line)
    if match and not match.group(2).startswith(("|", ":")):
        return match
    return None


def header_and_body(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Header fields in order (letter, value) and the body lines after K:."""
    header: list[tuple[str, str]] = []
    lines = [line for line in text.split("\n") if not line.lstrip().startswith("%")]
    for index, line in enumerate(lines):
        match = FIELD_LINE.match(line)
        if not match:
            return header, lines[index:]  # header without K: -- body starts here
        header.append((match.group(1), match.group(2)))
        if match.group(1) == "K":
            return header, lines[index + 1 :]
    return header, []


def parse_fields(text: str) -> dict[str, str]:
    """The first value of each header field. Example: "X: 3\\nT:Tom\\nK:G" -> {"X": "3", "T": "Tom", "K": "G"}."""
    fields: dict[str, str] = {}
    for letter, value in header_and_body(text)[0]:
        fields.setdefault(letter, value)
    return fields


def canonical_rhythm(value: str) -> str:
    """Example: " Slip Jig" -> "slip jig", "slipjig" -> "slip jig", "REEL" -> "reel"."""
    value = " ".join(value.lower().split())
    return {"slipjig": "slip jig", "double jig": "jig", "single jig": "jig"}.get(value, value)


def meter_fraction(meter: str) -> Fraction | None:
    """Bar length in whole notes. Example: "6/8" -> 3/4, "C" -> 1, "C|" -> 1, "none" -> None."""
    meter = meter.strip()
    if meter in ("C", "C|"):
        return Fraction(1)
    match = re.match(r"^\(?([\d+]+)\)?/(\d+)$", meter)
    if not match or int(match.group(2)) == 0:  # M:3/0 is a typo, not a bar of infinite length
        return None
    numerator = sum(int(part) for part in match.group(1).split("+") if part)
    return Fraction(numerator, int(match.group(2)))


def default_unit_length(meter: str) -> str:
    """ABC 2.1's default L: 1/16 for metres under 3/4, else 1/8."""
    bar = meter_fraction(meter)
    return "1/16" if bar is not None and bar < Fraction(3, 4) else "1/8"


def _strip_comment(line: str) -> str:
    # A % starts a comment unless escaped as \%.
    match = re.search(r"(?<!\\)%", line)
    return line[: match.start()].rstrip() if match else line


def normalise_tune(text: str, source: str = "<text>", number: int = 1, canonical: bool = True) -> str:
    """The form Tunesmith trains on: X:1, then T R M L K, then the body.

    Drops comments and non-musical fields (N: Z: S: H: B: D: F: W: ...), writes
    the key canonically, adds the default L: when it is missing, and takes the
    rhythm from the lab's Z: ids ("id:dc-hornpipe-1") when there is no R:. With canonical, the
    music is written in one notation whatever book it came from (see canonical_body_line): L:1/8,
    one space between beams. Raises TuneError for a tune without K: or without a body.
    """
    header, body = header_and_body(normalise_newlines(text))
    fields: dict[str, str] = {}
    for letter, value in header:
        fields.setdefault(letter, value)
    if "K" not in fields:
        raise TuneError(source, number, "no K: (key) field")
    body_lines = [_strip_comment(line) for line in body]
    body_lines = [line for line in body_lines if line.strip() and _keeps_body_line(line)]
    if not body_lines:
        raise TuneError(source, number, "no music after the K: field")
    if "R" not in fields:
        match = LAB_RHYTHM_ID.search(fields.get("Z", ""))
        if match:
            fields["R"] = match.group(1)
    if canonical:
        fields = {letter: " ".join(value.split()) for letter, value in fields.items()}
    fields["X"] = "1"
    fields["K"] = canonical_key(fields["K"])
    if "R" in fields:
        fields["R"] = canonical_rhythm(fields["R"])
    if not fields.get("L"):  # missing or empty
        fields["L"] = default_unit_length(fields.get("M", "none"))
    factor = _unit_factor(fields["L"], body_lines) if canonical else Fraction(1)
    if factor != 1:
        fields["L"] = f"1/{CANONICAL_UNIT.denominator}"
    if canonical:
        body_lines = [line if _is_field(line) else canonical_body_line(line, factor) for line in body_lines]
    # K: is written even when empty ("K:" is C major to abc2midi): a tune without it is not a tune.
    head = [f"{letter}:{fields[letter]}" for letter in HEADER_ORDER if fields.get(letter) or letter == "K"]
    return "\n".join(head + [line for line in body_lines if line])


def with_notes(text: str, notes: list[str] | tuple[str, ...] = (), number: int | None = None,
               at_end: bool = False) -> str:
    """The tune with N: lines (how it was made) after its X: line, or after its music (ABC 2.1 allows
    N: in the body), renumbered when number is given.

    Example: with_notes("X:1\nK:D\nABc|", ["seed 7"], 3) -> "X:3\nN:seed 7\nK:D\nABc|".
    """
    first, _, rest = text.partition("\n")
    if not first.startswith("X:"):
        return text
    lines = [f"N:{note}" for note in notes]
    head = f"X:{number}" if number is not None else first
    return "\n".join([head, rest, *lines] if at_end else [head, *lines, rest])


def length_text(length: Fraction) -> str:
    """How ABC writes a multiple of the unit length.

    Example: 1 -> "", 3 -> "3", 1/2 -> "/", 1/4 -> "/4", 3/2 -> "3/2".
    """
    if length == 1:
        return ""
    if length.denominator == 1:
        return str(length.numerator)
    if length.numerator == 1:
        return "/" if length.denominator == 2 else f"/{length.denominator}"
    return f"{length.numerator}/{length.denominator}"


def _unit_factor(unit: str, body_lines: list[str]) -> Fraction:
    """What each written length is multiplied by to say the same under L:1/8 (1: leave the tune as it is).

    A tune that changes its unit length in the body (L: line or [L:] field) keeps its own lengths.
    """
    match = re.fullmatch(r"\s*(\d{1,3})/(\d{1,3})\s*", unit)
    if not match or int(match.group(1)) == 0 or int(match.group(2)) == 0:
        return Fraction(1)
    if any(line.startswith("L:") or "[L:" in line for line in body_lines):
        return Fraction(1)
    return Fraction(int(match.group(1)), int(match.group(2))) / CANONICAL_UNIT


def _rescaled(token: re.Match[str], group: str, factor: Fraction) -> str:
    """The token with the length held in `group` multiplied by factor."""
    start, end = token.start(group) - token.start(), token.end(group) - token.start()
    text = token.group()
    return text[:start] + length_text(note_length(token.group(group)) * factor) + text[end:]


def canonical_body_line(line: str, factor: Fraction = Fraction(1)) -> str:
    """A body line written the one way Tunesmith reads and writes music: every note, rest and chord
    length times factor (to the canonical unit length), and runs of alignment spaces as one space.

    A chord lasts as long as its first note times the length written after it (ABC 2.1, 4.17), so
    the notes inside are scaled and that multiplier stays; grace notes are scaled inside their
    braces. Example: ("A  B/c [Ac]2 {g}A", 2) -> "A2 Bc2 [A2c2]2 {g2}A2".
    """
    out = []
    for token in TOKEN.finditer(line):
        kind, text = token.lastgroup, token.group()
        if kind == "space":
            text = re.sub(r"[ \t]+", " ", text)
        elif factor == 1:
            pass
        elif kind in ("note", "rest"):
            text = _rescaled(token, {"note": "len", "rest": "rlen"}[kind], factor)
        elif kind in ("chord", "grace"):  # the notes inside; a chord's own length after ] stays
            inner_end = text.rindex("]" if kind == "chord" else "}")
            inner = "".join(_rescaled(t, "len", factor) if t.lastgroup == "note" else t.group()
                            for t in TOKEN.finditer(text[1:inner_end]))
            text = text[0] + inner + text[inner_end:]
        out.append(text)
    music = "".join(out).strip(" \t")  # only ABC's spaces: "\x85X:" must not become a field line
    # A line that is music only because of its indent ("  T: G>AG") keeps one space: stripped, it would be
    # read as a field the next time (a title, or a Z: that is dropped), so normalising twice would differ.
    return f" {music}" if _is_field(music) else music


def _keeps_body_line(line: str) -> bool:
    match = _is_field(line)
    return match is None or match.group(1) in BODY_FIELDS


def parse_tunebook(text: str, source: str = "<text>") -> tuple[list[Tune], list[TuneError]]:
    """Every usable tune of a tune book, normalised, and an error for each skipped one.

    Text that came from bytes which are not UTF-8 carries surrogate escapes
    (see corpus.read_text); a tune containing one is skipped with its line.
    """
    tunes: list[Tune] = []
    errors: list[TuneError] = []
    for number, (line, raw) in enumerate(split_tunebook(text), start=1):
        try:
            bad = next((i for i, ch in enumerate(raw) if "\udc80" <= ch <= "\udcff"), None)
            if bad is not None:
                row = line + raw.count("\n", 0, bad)
                raise TuneError(source, number, f"bytes that are not UTF-8 on line {row}")
            normal = normalise_tune(raw, source, number)
        except TuneError as error:
            errors.append(error)
            continue
        tunes.append(Tune(normal, source, number, line, parse_fields(normal)))
    return tunes, errors
