"""Where the workshop keeps things: generated tunes by opaque id, and the user's tune book.

    STORAGE_DIR/tunes/<id>.abc    a tune as generated or edited
    STORAGE_DIR/tunes/<id>.json   how it was made (model, settings, parent id when edited)
    STORAGE_DIR/tunes/<id>.svg    renderings, made on first request and kept
    DATA_DIR/library.sqlite       the tunes the user kept (tunesmith.store.library)

An id is 32 lowercase hex digits (uuid4) and is checked against that pattern before it
touches a path, so no id can name a file outside the storage folder.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from pathlib import Path

from tunesmith.store.library import user_data_dir

__all__ = ["TUNE_ID", "TuneStore", "UnknownTune", "new_id", "user_data_dir"]  # user_data_dir: where it was found before

TUNE_ID = re.compile(r"^[0-9a-f]{32}$")


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
