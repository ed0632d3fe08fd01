"""Where the workshop keeps things: generated tunes by opaque id, and the user's tune book.

    STORAGE_DIR/tunes/<id>.abc    a tune as generated or edited
    STORAGE_DIR/tunes/<id>.json   how it was made (model, settings, parent id when edited)
    STORAGE_DIR/tunes/<id>.svg    renderings, made on first request and kept
    DATA_DIR/kept.abc             the tunes the user kept, one tune book

An id is 32 lowercase hex digits (uuid4) and is checked against that pattern before it
touches a path, so no id can name a file outside the storage folder.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tunesmith.abc.text import parse_fields, split_tunebook

TUNE_ID = re.compile(r"^[0-9a-f]{32}$")
KEPT_FILE = "kept.abc"


def user_data_dir() -> Path:
    """$TUNESMITH_HOME, else ~/.local/share/tunesmith (XDG_DATA_HOME when set)."""
    if os.environ.get("TUNESMITH_HOME"):
        return Path(os.environ["TUNESMITH_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "tunesmith"


def new_id() -> str:
    return uuid.uuid4().hex


class UnknownTune(KeyError):
    """No tune with this id in the store (or the id is not an id at all)."""


class TuneStore:
    """Tunes by id on disk; the oldest are dropped past max_tunes tunes or max_bytes of files (their
    renderings included), so the folder stays bounded in count and in size."""

    def __init__(self, root: Path, max_tunes: int = 2000, max_bytes: int = 1 << 30):
        self.folder = Path(root) / "tunes"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_tunes, self.max_bytes = max_tunes, max_bytes
        self._saved = 0
        self._lock = threading.Lock()

    def path(self, tune_id: str, ext: str) -> Path:
        """The file of a tune; UnknownTune for anything that is not an id."""
        if not TUNE_ID.fullmatch(tune_id) or not re.fullmatch(r"[a-z]{3,4}", ext):
            raise UnknownTune(tune_id)
        return self.folder / f"{tune_id}.{ext}"

    def save(self, text: str, meta: dict) -> str:
        tune_id = new_id()
        self.path(tune_id, "json").write_text(json.dumps({"id": tune_id, **meta}, indent=1))
        self.path(tune_id, "abc").write_text(text, encoding="utf-8")  # written last: the tune exists
        with self._lock:
            self._saved += 1
            prune = self._saved % 100 == 0
        if prune:
            self.prune()
        return tune_id

    def text(self, tune_id: str) -> str:
        path = self.path(tune_id, "abc")
        if not path.is_file():
            raise UnknownTune(tune_id)
        return path.read_text(encoding="utf-8")

    def meta(self, tune_id: str) -> dict:
        try:
            return json.loads(self.path(tune_id, "json").read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def delete(self, tune_id: str) -> None:
        for path in self.folder.glob(f"{self.path(tune_id, 'abc').stem}.*"):
            path.unlink(missing_ok=True)

    def prune(self) -> int:
        """Delete the oldest tunes (and their renderings) beyond max_tunes or max_bytes; how many went."""
        files: dict[str, list[tuple[Path, os.stat_result]]] = {}
        for path in self.folder.iterdir():  # one listing: the folder may hold thousands of files
            try:
                files.setdefault(path.name.split(".")[0], []).append((path, path.stat()))
            except FileNotFoundError:  # another request pruned it a moment ago
                continue
        tunes = sorted((stem for stem, group in files.items() if any(p.suffix == ".abc" for p, _ in group)),
                       key=lambda stem: max(st.st_mtime for _, st in files[stem]))  # last used last
        total = sum(st.st_size for group in files.values() for _, st in group)
        dropped = 0
        for stem in tunes:
            if len(tunes) - dropped <= self.max_tunes and total <= self.max_bytes:
                break
            for path, st in files[stem]:
                path.unlink(missing_ok=True)
                total -= st.st_size
            dropped += 1
        return dropped


class BookFull(ValueError):
    """The kept tunes' book has reached its size cap."""


def _music(text: str) -> str:
    """A tune as compared for keeping: its lines without X:, N: and comments (which keeping adds)."""
    return "\n".join(line.rstrip() for line in text.strip().split("\n")
                     if line.strip() and not line.startswith(("X:", "N:", "%")))


class KeptBook:
    """The user's tune book of kept tunes; each keep rewrites the whole file atomically.

    A tune already in the book is not kept twice; the book stops growing at max_bytes."""

    def __init__(self, data_dir: Path, max_bytes: int = 50 << 20):
        self.path = Path(data_dir) / KEPT_FILE
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # The thread lock serialises this server; flock also keeps out a second server.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path.with_suffix(".lock"), "w") as handle:
            try:
                import fcntl

                fcntl.flock(handle, fcntl.LOCK_EX)
            except ImportError:  # Windows: the thread lock alone
                pass
            yield

    def read(self) -> str:
        return self.path.read_text(encoding="utf-8") if self.path.is_file() else ""

    def tunes(self) -> list[dict]:
        """The kept tunes in order: number (X:), title and text."""
        tunes = []
        for _, text in split_tunebook(self.read()):
            fields = parse_fields(text)
            tunes.append({"number": fields.get("X", ""), "title": fields.get("T", ""), "abc": text})
        return tunes

    def keep(self, text: str, notes: list[str]) -> dict:
        """Append a tune as the book's next X:, the notes as N: lines; returns its list entry
        ("already": True when the same music was kept before, and nothing is written)."""
        with self._locked():
            book = self.read()
            kept = split_tunebook(book)
            for number, (_, earlier) in enumerate(kept, start=1):
                if _music(earlier) == _music(text):
                    fields = parse_fields(earlier)
                    return {"number": fields.get("X", str(number)), "title": fields.get("T", ""), "abc": earlier,
                            "already": True}
            number = len(kept) + 1
            tune = kept_text(text, number, notes)
            if len(book.encode()) + len(tune.encode()) > self.max_bytes:
                raise BookFull(f"the tune book is full ({self.max_bytes >> 20} MB): download it and start another")
            if book and not book.endswith("\n\n"):
                book = book.rstrip("\n") + "\n\n"
            _atomic_write(self.path, book + tune + "\n")
        return {"number": str(number), "title": parse_fields(tune).get("T", ""), "abc": tune}


def kept_text(text: str, number: int, notes: list[str]) -> str:
    """The tune as X:number, a `%` line saying when it was kept, the notes as N: lines before K:.

    Blank lines are dropped: in a tune book a blank line ends the tune.
    Example: kept_text("X:1\\nT:A\\nK:G\\nGAB|", 3, ["seed 7"]) -> "X:3\\n% kept ...\\nT:A\\nN:seed 7\\nK:G\\nGAB|"
    """
    lines = [line.rstrip() for line in text.strip().split("\n") if line.strip()]
    if lines and lines[0].startswith("X:"):
        lines = lines[1:]
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    at = next((i for i, line in enumerate(lines) if line.startswith("K:")), 0)
    n_lines = [f"N:{' '.join(note.split())}" for note in notes]  # one line each
    lines[at:at] = n_lines
    return "\n".join([f"X:{number}", f"% kept {stamp} in the tunesmith workshop", *lines])


def _atomic_write(path: Path, text: str) -> None:
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
