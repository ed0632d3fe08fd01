"""Corpora: turn DATA arguments (files, folders, named corpora) into tunes, and split them by tune."""

from __future__ import annotations

import hashlib
import importlib.util
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tunesmith.abc.text import Tune, TuneError, decode_tunebook, header_and_body, parse_tunebook

# Named corpora shipped inside the music21 package (folder under music21/corpus).
MUSIC21_CORPORA = {
    "oneills": ("oneills1850", "O'Neill's Music of Ireland (1850), Irish dance tunes and airs"),
    "ryans": ("ryansMammoth", "Ryan's Mammoth Collection (1883), reels, jigs, hornpipes"),
    "airds": ("airdsAirs", "Aird's Selection of Scotch, English, Irish and Foreign Airs"),
    "essen": ("essenFolksong", "Essen folk song collection, mostly German songs"),
}
MIT_DESCRIPTION = "the MIT 6.S191 lab's irish.abc (needs the mitdeeplearning package)"


class DataError(ValueError):
    """A DATA argument that names nothing usable."""


@dataclass
class Corpus:
    """Tunes read from one or more sources, and the ones skipped with their reasons."""

    tunes: list[Tune] = field(default_factory=list)
    skipped: list[TuneError] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def extend(self, other: Corpus) -> None:
        self.tunes += other.tunes
        self.skipped += other.skipped
        self.sources += other.sources


@dataclass
class Split:
    """Train / validation / test tunes, split by tune."""

    train: list[Tune]
    valid: list[Tune]
    test: list[Tune]

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}


def read_text(path: Path) -> str:
    """Read a file as UTF-8 (or UTF-16 with a BOM); bytes that are not UTF-8 survive as surrogate escapes.

    parse_tunebook then skips just the tunes that hold such bytes, naming the line.
    """
    return decode_tunebook(path.read_bytes())


def _music21_corpus_dir(folder: str) -> Path:
    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("named corpora come from music21: install it with `pip install music21`")
    return Path(next(iter(spec.submodule_search_locations))) / "corpus" / folder


def mit_data_file() -> Path:
    """The lab's irish.abc inside the mitdeeplearning package, found without importing it.

    Importing mitdeeplearning pulls in TensorFlow, so only its location is looked up.
    """
    spec = importlib.util.find_spec("mitdeeplearning")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "corpus 'mit' needs the mitdeeplearning package; "
            "or pass the path of irish.abc instead, e.g. --data path/to/irish.abc"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "irish.abc"
    if not path.is_file():
        raise DataError(f"mitdeeplearning is installed but {path} is missing; pass the file path instead")
    return path


def resolve_files(data: str) -> list[Path]:
    """The .abc files a DATA argument stands for: a file, a folder, or a named corpus."""
    shown = data if data.isprintable() else repr(data)
    shown = shown if len(shown) <= 100 else shown[:60] + "..."  # the message stays one readable line
    if not data.strip():  # Path("") is the current folder: never read everything under it by accident
        raise DataError("empty DATA: give an .abc file, a folder of them, or a named corpus")
    try:
        path = Path(data).expanduser()
        if path.is_file():
            return [path]
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".abc" and p.is_file())
            if not files:
                raise DataError(f"{shown}: folder holds no .abc files")
            return files
    except (OSError, RuntimeError) as error:  # a name too long, ~nosuchuser, a folder that vanished
        raise DataError(f"{shown}: cannot use this path ({getattr(error, 'strerror', None) or error})") from None
    if data == "mit":
        return [mit_data_file()]
    if data in MUSIC21_CORPORA:
        folder = _music21_corpus_dir(MUSIC21_CORPORA[data][0])
        return sorted(folder.glob("*.abc"))
    names = ", ".join(["mit", *MUSIC21_CORPORA])
    raise DataError(f"{shown}: no such file or folder, and not a named corpus ({names})")


def corpus_name(source: str) -> str:
    """The named corpus a tune's source file belongs to, else the source itself.

    Example: ".../music21/corpus/oneills1850/0001-0050.abc" -> "oneills".
    """
    return next((name for name, (folder, _) in MUSIC21_CORPORA.items() if f"/{folder}/" in source), source)


def load_file(path: Path) -> Corpus:
    """All tunes of one tune book; unreadable files become one skipped entry, not a crash."""
    try:
        text = read_text(path)
    except OSError as error:
        return Corpus(skipped=[TuneError(str(path), 0, f"cannot read file: {error.strerror}")])
    tunes, skipped = parse_tunebook(text, str(path))
    if not tunes and not skipped and text.strip():
        skipped = [TuneError(str(path), 0, "no tunes found (no X: or K: lines)")]
    return Corpus(tunes, skipped, [str(path)])


def load_corpus(data: Sequence[str] | str) -> Corpus:
    """Every tune of every DATA argument. Raises DataError for a DATA that names nothing."""
    corpus = Corpus()
    for item in [data] if isinstance(data, str) else data:
        for path in resolve_files(item):
            corpus.extend(load_file(path))
    return corpus


def _music_key(tune: Tune) -> str:
    # The same music under another title must not straddle the split: key on the body.
    return "\n".join(header_and_body(tune.text)[1])


def split_by_tune(
    tunes: Sequence[Tune], valid: float = 0.05, test: float = 0.05, seed: int = 0
) -> Split:
    """A seeded split by tune; exact duplicates (same music) always land on the same side.

    Example: 1000 tunes, valid=test=0.05 -> about 900 / 50 / 50 tunes.
    """
    groups: dict[str, list[Tune]] = {}
    for tune in tunes:
        groups.setdefault(_music_key(tune), []).append(tune)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    want_valid, want_test = round(len(tunes) * valid), round(len(tunes) * test)
    split = Split([], [], [])
    for key in keys:
        if len(split.valid) < want_valid:
            split.valid += groups[key]
        elif len(split.test) < want_test:
            split.test += groups[key]
        else:
            split.train += groups[key]
    return split


def corpus_stats(corpus: Corpus) -> dict:
    """Counts a user wants before training: tunes, characters, vocabulary, skipped and why."""
    chars = Counter(ch for tune in corpus.tunes for ch in tune.text)
    reasons = Counter(error.reason for error in corpus.skipped)
    return {
        "sources": len(corpus.sources),
        "tunes": len(corpus.tunes),
        "characters": sum(len(tune.text) for tune in corpus.tunes),
        "vocabulary": len(chars),
        "skipped": len(corpus.skipped),
        "skipped_reasons": dict(reasons.most_common()),
        "meters": dict(Counter(t.fields.get("M", "?") for t in corpus.tunes).most_common(8)),
        "rhythms": dict(Counter(t.fields.get("R", "?") for t in corpus.tunes).most_common(8)),
    }


def named_corpora() -> list[tuple[str, str, bool]]:
    """(name, description, available) for each named corpus."""
    rows = []
    for name, (folder, description) in MUSIC21_CORPORA.items():
        try:
            available = _music21_corpus_dir(folder).is_dir()
        except DataError:
            available = False
        rows.append((name, description, available))
    mit_ok = importlib.util.find_spec("mitdeeplearning") is not None
    rows.append(("mit", MIT_DESCRIPTION, mit_ok))
    return rows


def data_fingerprint(texts: list[str]) -> str:
    """A short hash of the training tunes, so --resume refuses different data."""
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:16]
