"""The tune library: the tunes a player kept, in one SQLite file beside their other Tunesmith data.

    library = Library.open(user_data_dir())           # $TUNESMITH_HOME/library.sqlite; imports an old kept.abc
    kept = library.keep(text, settings={"seed": 7}, model="tiny")
    kept.id, kept.duplicate                           # the same music kept twice: the first one's id, True
    library.export_abc()                              # one tune book, X:1..n, oldest first

Each tune is one row (see SCHEMA). A tune's content hash is taken over its music only (normalised
the way training tunes are, without X:, T:, N: or comments), and it is UNIQUE: keeping the same
music again, under another title or with other notes, gives back the tune already kept.

Several processes may write at once (two servers, the CLI beside a server): the database runs in
WAL mode with a busy timeout, and each keep is one IMMEDIATE transaction, so the duplicate check,
the size caps and the insert see the same library. Every limit below is checked before a write.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tunesmith.abc.text import (
    TuneError,
    disarm_directives,
    normalise_newlines,
    normalise_tune,
    parse_fields,
    split_tunebook,
    tool_bytes,
)
from tunesmith.abc.tools import ToolTimeout, run_tool

LIBRARY_FILE = "library.sqlite"
KEPT_FILE = "kept.abc"  # the tune book older workshops kept tunes in; imported once, then renamed
SCHEMA_VERSION = 1

MAX_TUNE_BYTES = 64 * 1024  # one tune's ABC; the web page sends at most 20,000 characters
MAX_NOTES_BYTES = 2 * 1024  # the player's own notes
MAX_TITLE_CHARS = 200
MAX_JSON_BYTES = 16 * 1024  # settings, checks
MAX_MODEL_CHARS = 500
MAX_TUNES = 10_000  # with MAX_LIBRARY_BYTES: the exported tune book stays a file one can open
MAX_LIBRARY_BYTES = 64 << 20
MAX_PAGE = 500  # tunes listed at once
BUSY_TIMEOUT_S = 30.0  # how long a writer waits for another one; a keep holds the lock for milliseconds

SCHEMA = """
CREATE TABLE IF NOT EXISTS tunes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so `library show 3` never shows another tune
    title        TEXT NOT NULL,
    abc          TEXT NOT NULL,
    content_hash TEXT NOT NULL UNIQUE,               -- sha256 of the music: the same tune is kept once
    settings     TEXT NOT NULL DEFAULT '{}',         -- JSON: how it was generated
    checks       TEXT NOT NULL DEFAULT '{}',         -- JSON: the checks the workshop showed
    model        TEXT NOT NULL DEFAULT '',           -- the model (run name) that wrote it
    created      TEXT NOT NULL,                      -- ISO 8601, UTC
    notes        TEXT NOT NULL DEFAULT '',
    rating       INTEGER NOT NULL DEFAULT 0 CHECK (rating BETWEEN 0 AND 5)
);
"""

KEPT_STAMP = re.compile(r"^% kept (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\b")  # the old book's and export's comment
SERVE_NOTE = re.compile(r"^N:tunesmith serve, model (.+?), tune ")  # the old book's provenance line


class LibraryError(ValueError):
    """A request the library refuses, in one line (a ValueError, so the CLI prints it as one)."""


class LibraryFull(LibraryError):
    """The library has reached its count or size cap."""


class UnknownKept(LibraryError):
    """No kept tune with this id."""


class ToolsMissing(LibraryError):
    """A PDF tune book needs abcm2ps and Ghostscript's ps2pdf."""


@dataclass(frozen=True)
class Kept:
    """What keep() did: the tune's id, and whether the same music was kept before (nothing written)."""

    id: int
    duplicate: bool = False


@dataclass(frozen=True)
class KeptTune:
    """One row of the library."""

    id: int
    title: str
    abc: str
    content_hash: str
    settings: dict
    checks: dict
    model: str
    created: str
    notes: str
    rating: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class MigrationReport:
    """What importing an old kept.abc did. Every tune found is imported, already there, or refused (listed)."""

    source: str
    found: int = 0
    imported: int = 0
    duplicates: int = 0  # the same music twice in the book, or already in the library
    malformed: list[str] = field(default_factory=list)  # imported as written, with why they are malformed
    refused: list[str] = field(default_factory=list)  # not imported (too large, library full): still in the file
    renamed_to: str | None = None

    @property
    def lost(self) -> int:
        return self.found - self.imported - self.duplicates - len(self.refused)

    def summary(self) -> str:
        """Example: "kept.abc: 3 tunes found, 2 imported (1 malformed, kept as written), 1 already kept"."""
        parts = [f"{self.source}: {self.found:,} tunes found", f"{self.imported:,} imported"]
        if self.malformed:
            parts[-1] += f" ({len(self.malformed):,} malformed, kept as written)"
        parts.append(f"{self.duplicates:,} already kept")
        if self.refused:
            more = ", ..." if len(self.refused) > 1 else ""
            parts.append(f"{len(self.refused):,} not imported, still in the old file ({self.refused[0]}{more})")
        if self.renamed_to:
            parts.append(f"the old file is now {self.renamed_to}")
        return ", ".join(parts)


def user_data_dir() -> Path:
    """$TUNESMITH_HOME, else ~/.local/share/tunesmith (XDG_DATA_HOME when set)."""
    if os.environ.get("TUNESMITH_HOME"):
        return Path(os.environ["TUNESMITH_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "tunesmith"


# ---------------------------------------------------------------- tune text


def music_lines(text: str) -> list[str]:
    """The lines that make a tune's music: normalise_tune's (the training form) without X: and T:.

    A tune normalise_tune refuses keeps its non-blank lines, spacing collapsed, without N: and comments.
    Example: music_lines("X:3\\nT:A\\nN:seed 7\\nK:G\\nGA B|") -> ["L:1/8", "K:G", "GA B|"]
    """
    try:
        normal = normalise_tune(text).split("\n")
    except TuneError:
        normal = [" ".join(line.split()) for line in normalise_newlines(text).split("\n")]
        normal = [line for line in normal if line and not line.startswith(("N:", "%"))]
    return [line for line in normal if not line.startswith(("X:", "T:"))]


def content_hash(text: str) -> str:
    """sha256 of the music; two texts that differ only in title, number, notes or spacing hash the same.

    Spaces are left out altogether: in ABC they only change how notes are beamed, not what is played."""
    music = "\n".join("".join(line.split()) for line in music_lines(text))
    return hashlib.sha256(music.encode("utf-8", "surrogatepass")).hexdigest()


def malformed_reason(text: str) -> str | None:
    """Why the tune is not one Tunesmith can read (no K:, no music), or None."""
    try:
        normalise_tune(text)
    except TuneError as error:
        return error.reason
    return None


def tune_text(text: str, notes: Sequence[str] = ()) -> str:
    """The tune as the library stores it: X:1 first, no blank lines, `notes` as N: lines before K:.

    Blank lines are dropped because in a tune book a blank line ends the tune; the X: number is
    written on export.
    Example: tune_text("X:4\\nT:A\\n\\nK:G\\nGAB|", ["seed 7"]) -> "X:1\\nT:A\\nN:seed 7\\nK:G\\nGAB|"
    """
    lines = [line.rstrip() for line in normalise_newlines(text).strip().split("\n") if line.strip()]
    if lines and lines[0].startswith("X:"):
        lines = lines[1:]
    lines = [line for line in lines if not KEPT_STAMP.match(line)]  # written again from `created` on export
    at = next((i for i, line in enumerate(lines) if line.startswith("K:")), 0)
    added = [f"N:{' '.join(note.split())}" for note in notes]  # one line each
    lines[at:at] = [line for line in dict.fromkeys(added) if line not in lines]  # a reopened tune has its own
    return "\n".join(["X:1", *lines])


def retitled(text: str, title: str) -> str:
    """The text with its first T: line (in the header) replaced, or one added after X:."""
    lines = text.split("\n")
    header_end = next((i for i, line in enumerate(lines) if line.startswith("K:")), len(lines))
    at = next((i for i, line in enumerate(lines[:header_end]) if line.startswith("T:")), None)
    if at is None:
        lines.insert(1 if lines and lines[0].startswith("X:") else 0, f"T:{title}")
    else:
        lines[at] = f"T:{title}"
    return "\n".join(lines)


def _title_of(text: str) -> str:
    return parse_fields(text).get("T", "")[:MAX_TITLE_CHARS]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _old_stamp(text: str) -> str | None:
    """The UTC time in an old book's "% kept 2026-01-02 10:00:00" comment (written in local time)."""
    match = next((m for m in map(KEPT_STAMP.match, text.split("\n")) if m), None)
    if match is None:
        return None
    local = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
    return local.astimezone(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- limits


def _check_size(what: str, value: str, limit: int) -> None:
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate, as JSON can carry: SQLite would refuse it mid-write
        raise LibraryError(f"{what} is not text (it holds a lone surrogate character)") from None
    if size > limit:
        raise LibraryError(f"{what} is {size:,} bytes; the limit is {limit:,}")


def _check_title(title: str) -> str:
    title = title.strip()
    _check_size("a title", title, MAX_TITLE_CHARS * 4)
    if not title:
        raise LibraryError("a title cannot be empty")
    if len(title) > MAX_TITLE_CHARS:
        raise LibraryError(f"a title is at most {MAX_TITLE_CHARS} characters (got {len(title):,})")
    if any(ch < " " or ch == "\x7f" for ch in title):  # a newline would start a new ABC field
        raise LibraryError("a title is one line of printable text")
    return title


def _check_rating(rating: int) -> int:
    if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= 5:
        raise LibraryError(f"a rating is a whole number from 0 to 5 (got {rating!r})")
    return rating


def _json(what: str, value: dict | None) -> str:
    text = json.dumps(value or {}, sort_keys=True, default=str)
    _check_size(what, text, MAX_JSON_BYTES)
    return text


def _check_tune(text: str) -> None:
    if not text.strip():
        raise LibraryError("an empty text is not a tune")
    _check_size("the tune", text, MAX_TUNE_BYTES)
    if len(split_tunebook(text)) > 1:  # its blank lines are dropped, so a second X: would hide in the first
        raise LibraryError("more than one tune (a second X: line); keep one tune at a time")


# ---------------------------------------------------------------- the library


class Library:
    """The kept tunes in one SQLite database; safe to use from several threads and processes at once.

    Each call opens its own connection: nothing is shared between threads, and a connection
    costs well under a millisecond next to the work of a keep."""

    def __init__(self, path: Path, max_tunes: int = MAX_TUNES, max_bytes: int = MAX_LIBRARY_BYTES):
        self.path = Path(path)
        self.max_tunes, self.max_bytes = max_tunes, max_bytes
        self.migration: MigrationReport | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._create()

    @classmethod
    def open(cls, data_dir: Path, **limits: int) -> Library:
        """The library in data_dir; an old kept.abc there is imported first and renamed kept.abc.migrated."""
        library = cls(Path(data_dir) / LIBRARY_FILE, **limits)
        old = Path(data_dir) / KEPT_FILE
        if old.is_file():
            library.migration = library.migrate_kept_abc(old, rename=True)
        return library

    # -- connections

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection, in one transaction: IMMEDIATE for a write, so it holds the write lock from its start."""
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as error:
            raise LibraryError(f"{self.path}: cannot open the library ({error})") from None
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA synchronous = FULL")  # a kept tune survives a power cut, not only a crash
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield db
            db.execute("COMMIT")
        except sqlite3.Error as error:  # not a database, locked past the timeout, disk full: one line
            _rollback(db)
            raise LibraryError(f"{self.path}: {error}") from error
        except BaseException:
            _rollback(db)
            raise
        finally:
            db.close()

    def _create(self) -> None:
        try:
            # WAL lets readers go on while one process writes; once set it stays set in the file.
            with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)) as db:
                db.execute("PRAGMA journal_mode = WAL")
        except sqlite3.Error as error:
            raise LibraryError(f"{self.path}: cannot open the library ({error})") from None
        with self._connect(write=True) as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise LibraryError(f"{self.path}: made by a newer Tunesmith (schema {version}); upgrade to open it")
            if version == 0:  # not executescript: it would commit the transaction first
                db.execute(SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- writing

    def keep(self, abc: str, *, settings: dict | None = None, checks: dict | None = None, model: str = "",
             notes: str = "", rating: int = 0, created: str | None = None) -> Kept:
        """Keep one tune; Kept(id, duplicate=True) with the earlier tune's id when its music is kept already.

        A tune Tunesmith cannot read (no K:, no music) is kept as written, its checks saying why."""
        _check_tune(abc)
        _check_size("the notes", notes, MAX_NOTES_BYTES)
        _check_size("the model name", model, MAX_MODEL_CHARS)
        text = tune_text(abc)
        checks = dict(checks or {})
        reason = malformed_reason(text)
        if reason:
            checks["malformed"] = reason
        row = (_title_of(text), text, content_hash(text), _json("the settings", settings), _json("the checks", checks),
               model, created or _now(), notes, _check_rating(rating))
        with self._connect(write=True) as db:
            return self._insert(db, row)

    def _insert(self, db: sqlite3.Connection, row: tuple) -> Kept:
        """Inside the caller's write transaction: the earlier id, or the caps checked and the row inserted."""
        earlier = db.execute("SELECT id FROM tunes WHERE content_hash = ?", (row[2],)).fetchone()
        if earlier:
            return Kept(earlier["id"], duplicate=True)
        count, size = db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(abc)), 0) FROM tunes").fetchone()
        if count >= self.max_tunes:
            raise LibraryFull(f"the library holds {count:,} tunes, its limit: export it (`tunesmith library export`) "
                              "and delete some")
        if size + len(row[1]) > self.max_bytes:
            raise LibraryFull(f"the library holds {size >> 20} MB of tunes, its limit is {self.max_bytes >> 20} MB: "
                              "export it and delete some")
        cursor = db.execute("INSERT INTO tunes (title, abc, content_hash, settings, checks, model, created, notes, "
                            "rating) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        return Kept(cursor.lastrowid)

    def update(self, tune_id: int, *, title: str | None = None, notes: str | None = None,
               rating: int | None = None) -> KeptTune:
        """A new title (in the list and in the tune's T: line), notes and/or rating, in one transaction;
        None leaves a field as it is. The music, and so the content hash, stays the same."""
        title = None if title is None else _check_title(title)
        if notes is not None:
            _check_size("the notes", notes, MAX_NOTES_BYTES)
        if rating is not None:
            _check_rating(rating)
        with self._connect(write=True) as db:
            tune = self._get(db, tune_id)
            abc = tune.abc if title is None else retitled(tune.abc, title)
            db.execute("UPDATE tunes SET title = COALESCE(?, title), abc = ?, notes = COALESCE(?, notes), "
                       "rating = COALESCE(?, rating) WHERE id = ?", (title, abc, notes, rating, tune_id))
        return self.get(tune_id)

    def rename(self, tune_id: int, title: str) -> KeptTune:
        return self.update(tune_id, title=title)

    def annotate(self, tune_id: int, notes: str | None = None, rating: int | None = None) -> KeptTune:
        """The player's notes and/or rating (0-5)."""
        return self.update(tune_id, notes=notes, rating=rating)

    def delete(self, tune_id: int) -> KeptTune:
        """Delete one tune; the tune as it was."""
        with self._connect(write=True) as db:
            tune = self._get(db, tune_id)
            db.execute("DELETE FROM tunes WHERE id = ?", (tune_id,))
        return tune

    # -- reading

    def get(self, tune_id: int) -> KeptTune:
        with self._connect() as db:
            return self._get(db, tune_id)

    def _get(self, db: sqlite3.Connection, tune_id: int) -> KeptTune:
        row = db.execute("SELECT * FROM tunes WHERE id = ?", (int(tune_id),)).fetchone()
        if row is None:
            raise UnknownKept(f"no kept tune {tune_id}")
        return _tune(row)

    def list_tunes(self, offset: int = 0, limit: int = 50) -> list[KeptTune]:
        """A page of tunes, newest first."""
        if offset < 0 or not 1 <= limit <= MAX_PAGE:
            raise LibraryError(f"a page starts at 0 or later and holds 1 to {MAX_PAGE} tunes")
        with self._connect() as db:
            rows = db.execute("SELECT * FROM tunes ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)).fetchall()
        return [_tune(row) for row in rows]

    def count(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM tunes").fetchone()[0]

    def find(self, abc: str) -> int | None:
        """The id of the kept tune with this music, or None."""
        with self._connect() as db:
            row = db.execute("SELECT id FROM tunes WHERE content_hash = ?", (content_hash(tune_text(abc)),)).fetchone()
        return row["id"] if row else None

    # -- export

    def export_abc(self) -> str:
        """Every tune, oldest first, as one tune book numbered X:1..n; each says when it was kept."""
        with self._connect() as db:
            rows = db.execute("SELECT id, abc, created FROM tunes ORDER BY id").fetchall()
        tunes = []
        for number, row in enumerate(rows, start=1):
            body = row["abc"].split("\n", 1)[1] if row["abc"].startswith("X:") else row["abc"]
            stamp = datetime.fromisoformat(row["created"]).astimezone().strftime("%Y-%m-%d %H:%M:%S")
            tunes.append(f"X:{number}\n% kept {stamp} in the tunesmith library, as tune {row['id']}\n{body}\n")
        return "\n".join(tunes)

    def export_pdf(self, timeout: float = 120) -> bytes:
        """The tune book as a printable PDF: abcm2ps writes PostScript, Ghostscript's ps2pdf turns it into PDF."""
        return tunebook_pdf(self.export_abc(), timeout)

    # -- the old tune book

    def migrate_kept_abc(self, path: Path, rename: bool = False) -> MigrationReport:
        """Import every tune of an old kept.abc in one transaction, so a crash imports none and the file stays.

        Malformed tunes are imported as written and counted; a tune over the size limit, or past a full
        library, is listed as refused (it stays in the file). rename: the file becomes kept.abc.migrated."""
        path = Path(path)
        report = MigrationReport(path.name)
        book = path.read_bytes().decode("utf-8", errors="replace")
        with self._connect(write=True) as db:
            for number, (line, text) in enumerate(split_tunebook(book), start=1):
                report.found += 1
                self._migrate_one(db, text, f"tune {number} (line {line})", report)
        if rename and path.is_file():  # another process may have renamed it while this one waited for the lock
            report.renamed_to = _rename_free(path).name
        return report

    def _migrate_one(self, db: sqlite3.Connection, text: str, where: str, report: MigrationReport) -> None:
        try:
            _check_tune(text)
            stored = tune_text(text)
            reason = malformed_reason(stored)
            model = next((m.group(1) for m in map(SERVE_NOTE.match, stored.split("\n")) if m), "")
            row = (_title_of(stored), stored, content_hash(stored), "{}",
                   _json("the checks", {"malformed": reason} if reason else {"migrated_from": report.source}),
                   model[:MAX_MODEL_CHARS], _old_stamp(text) or _now(), "", 0)
            kept = self._insert(db, row)
        except LibraryError as error:
            report.refused.append(f"{where}: {error}")
            return
        if kept.duplicate:
            report.duplicates += 1
            return
        report.imported += 1
        if reason:
            report.malformed.append(f"{where}: {reason}")


def _rollback(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        db.execute("ROLLBACK")


def _tune(row: sqlite3.Row) -> KeptTune:
    values = dict(row)
    values["settings"], values["checks"] = json.loads(values["settings"]), json.loads(values["checks"])
    return KeptTune(**values)


def _rename_free(path: Path) -> Path:
    """Rename to path.migrated (or .migrated-2, -3, ... when an earlier migration left one) and return it."""
    for n in range(1, 1000):
        target = path.with_name(f"{path.name}.migrated{'' if n == 1 else f'-{n}'}")
        if not target.exists():
            with suppress(FileNotFoundError):  # renamed by another process a moment ago
                path.rename(target)
            return target
    raise LibraryError(f"{path}: 999 earlier migrations lie beside it; move them away")


# ---------------------------------------------------------------- PDF


def pdf_tools_missing() -> list[str]:
    """The tools a PDF tune book needs that are not installed (Debian packages abcm2ps, ghostscript)."""
    return [tool for tool in ("abcm2ps", "ps2pdf") if shutil.which(tool) is None]


def tunebook_pdf(book: str, timeout: float = 120, what: str = "the PDF tune book") -> bytes:
    """A tune book as PDF bytes. Needs abcm2ps and ps2pdf on PATH; ToolsMissing names them otherwise.
    `what` names the PDF in a tool's error ("the PDF page" for one tune)."""
    missing = pdf_tools_missing()
    if missing:
        raise ToolsMissing(f"a PDF tune book needs {' and '.join(missing)}: install them with "
                           "`apt-get install abcm2ps ghostscript` (the .abc tune book needs nothing)")
    with tempfile.TemporaryDirectory(prefix="tunesmith-book-") as work:
        Path(work, "book.abc").write_bytes(tool_bytes(disarm_directives(book)))  # tune text never names a file
        _run_pdf_tool(["abcm2ps", "-O", "book.ps", "book.abc"], work, timeout, "book.ps", what)
        _run_pdf_tool(["ps2pdf", "book.ps", "book.pdf"], work, timeout, "book.pdf", what)
        return Path(work, "book.pdf").read_bytes()


def _run_pdf_tool(argv: list[str], work: str, timeout: float, made: str, what: str) -> None:
    try:
        code, output = run_tool(argv, work, timeout)
    except ToolTimeout as error:
        raise LibraryError(f"{what}: {error}") from None
    if code != 0 or not Path(work, made).is_file():
        last = next((line for line in reversed(output.splitlines()) if line.strip()), "no message")
        raise LibraryError(f"{what}: {argv[0]} wrote no {made} (exit {code}): {last}")
