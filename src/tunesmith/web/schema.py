"""The API's requests and answers: the pydantic models that validate them, their limits and
patterns, and the JSON error answers every failure turns into."""

from __future__ import annotations

import errno
import json
import re
from typing import Annotated, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.exceptions import HTTPException

from tunesmith.abc.instruments import INSTRUMENTS, instrument
from tunesmith.abc.theory import KEY_FIELD_PATTERN
from tunesmith.sample.sampling import SamplingSettings
from tunesmith.store.library import MAX_NOTES_BYTES, MAX_PAGE, MAX_TITLE_CHARS, LibraryError
from tunesmith.web.store import TUNE_ID

MAX_BODY = 64 * 1024  # bytes; the largest request is one ABC text of at most MAX_ABC characters
MAX_ABC = 20_000

ID_PATTERN = TUNE_ID.pattern
KEY_PATTERN = KEY_FIELD_PATTERN
METER_PATTERN = r"^(?:C\|?|(?:[1-9]|1[0-6])/(?:2|4|8|16))$"  # lexicon.METERS, as a pattern (tested)
RHYTHM_PATTERN = r"^[A-Za-z][A-Za-z \-]{0,29}$"


# ---------------------------------------------------------------- requests and errors


class ApiError(Exception):
    """A 4xx/5xx answer: {"error": "<field>: <message>", "field": "<field>"}."""

    def __init__(self, status: int, message: str, field: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.field, self.headers = status, message, field, headers


class GenerateRequest(BaseModel):
    """Settings for one batch of tunes. Unset header fields are left to the model."""

    model_config = ConfigDict(extra="forbid")

    num: int = Field(2, ge=1, le=16, description="tunes to write, sampled as one batch")
    temperature: float = Field(1.0, ge=0.1, le=2.0)
    top_p: float | None = Field(SamplingSettings().top_p, gt=0, le=1, description="nucleus sampling; 1 or null: off")
    top_k: int | None = Field(None, ge=1, le=200)
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="null: the server picks one and returns it")
    max_chars: int = Field(SamplingSettings().max_chars, ge=100, le=4000,
                           description="a tune still going at this length is cut")
    key: str | None = Field(None, pattern=KEY_PATTERN, examples=["G", "Ador", "Bbmix", "F#m"])
    meter: str | None = Field(None, pattern=METER_PATTERN, examples=["6/8", "C|"])
    rhythm: str | None = Field(None, pattern=RHYTHM_PATTERN, examples=["reel", "slip jig"])
    prime: str = Field("", max_length=1000, description="opening ABC of the tune body, or a whole start from X:")
    # Form control, passed on only when this Tunesmith's sampler accepts them (see sampler_options).
    parts: int | None = Field(None, ge=1, le=8)
    bars_per_part: int | None = Field(None, ge=1, le=64)
    form: Literal["auto", "free"] = Field("auto", description="auto: a form like the training tunes' of the type "
                                                              "(unless parts is given); free: none")
    constrain: bool | None = None
    instrument: str | None = Field(None, max_length=40, examples=list(INSTRUMENTS),
                                   description="every note in its range, a key players use on it, its sound")
    keys: list[str] | None = Field(None, max_length=16, description="keys a tune may be in when key is not given",
                                   examples=[["D", "G", "A", "Em", "Bm", "Ador", "Edor"]])
    chords: bool = Field(False, description="add accompaniment chords (tunesmith.abc.chords)")

    @field_validator("key", "meter", "rhythm", "instrument", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("instrument")
    @classmethod
    def _known_instrument(cls, value: str | None) -> str | None:
        return None if value is None else instrument(value).name  # ValueError names the choices

    @field_validator("keys")
    @classmethod
    def _keys_are_keys(cls, value: list[str] | None) -> list[str] | None:
        if not value:
            return None
        for key in value:
            if len(key) > 12 or not re.fullmatch(KEY_PATTERN, key):
                raise ValueError(f"{key[:12]!r}: {PATTERN_HINTS['key']}")
        return value


FORM_OPTIONS = ("parts", "bars_per_part", "form", "constrain", "instrument", "keys")


Layout = Literal["page", "phone"]  # the score for a page, or for a narrow screen: bigger staves, fewer bars a line


class RenderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    abc: str = Field(min_length=1, max_length=MAX_ABC, description="one tune in ABC notation")
    parent: str | None = Field(None, pattern=ID_PATTERN, description="the tune this text was edited from")
    layout: Layout = Field("page", description="phone: the score drawn for a narrow screen")


class ArrangeRequest(BaseModel):
    """One tune made ready for a player: transposed to a key or for an instrument, and/or given chords."""

    model_config = ConfigDict(extra="forbid")

    abc: str = Field(min_length=1, max_length=MAX_ABC, description="one tune in ABC notation")
    parent: str | None = Field(None, pattern=ID_PATTERN, description="the tune this text came from")
    key: str | None = Field(None, pattern=KEY_PATTERN, description="move to this key (of the tune's mode)")
    instrument: str | None = Field(None, max_length=40, description="move to the best key and octave for it")
    chords: bool = Field(False, description="add accompaniment chords")
    layout: Layout = Field("page", description="phone: the score drawn for a narrow screen")

    @field_validator("instrument")
    @classmethod
    def _known_instrument(cls, value: str | None) -> str | None:
        return None if value is None else instrument(value).name


class KeepRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN, description="the tune whose settings go into the tune book")
    abc: str | None = Field(None, min_length=1, max_length=MAX_ABC, description="the text to keep (default: the id's)")


# -- writing with a musician (tunesmith.sample.cowriting, tunesmith.judge.sets)

MAX_BAR = 64  # bars are named counted from 1, as players count them
MAX_CANDIDATES = 8
MAX_SET = 6
PART_PATTERN = r"^[A-Ha-h]$"
BarNumber = Annotated[int, Field(ge=1, le=MAX_BAR)]


# -- practice and phones (GET /api/tunes/{id}.{fmt})

MIN_TEMPO, MAX_TEMPO = 50, 150


class TuneQuery(BaseModel):
    """How to play or draw a tune's file: for practice, slower or faster, counted in, one part or some bars
    (the page loops them); for a phone, the score's layout. Left out: the tune as written."""

    model_config = ConfigDict(extra="forbid")

    tempo: int = Field(100, ge=MIN_TEMPO, le=MAX_TEMPO, description="percent of the tune's tempo (wav, mid)")
    count_in: bool = Field(False, description="a bar of clicks before the tune (wav)")
    part: str | None = Field(None, pattern=PART_PATTERN, description="only this part, by its letter")
    first: int | None = Field(None, ge=1, le=64, description="only bars first..last, counted as players count")
    last: int | None = Field(None, ge=1, le=64)
    layout: Layout = Field("page", description="the score (svg) for a page or a phone")

    @field_validator("part")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return None if value is None else value.upper()

    def bars(self) -> tuple[int, int] | str | None:
        """The part or (first, last) asked for; ValueError in words when they do not go together."""
        if self.part and (self.first or self.last):
            raise ValueError("give a part or bars, not both")
        if (self.first is None) != (self.last is None):
            raise ValueError("give the first and the last bar")
        if self.first is not None and self.first > self.last:
            raise ValueError("the first bar comes before the last")
        return self.part or ((self.first, self.last) if self.first is not None else None)

    def practice(self) -> bool:
        return self.tempo != 100 or self.count_in or self.bars() is not None

    def tag(self, fmt: str) -> str:
        """The file name's middle for this variant ("" for the tune as written), from validated values only."""
        if fmt == "svg":
            return "phone" if self.layout == "phone" else ""
        if not self.practice():
            return ""
        bars = self.bars()
        where = f"p{bars}" if isinstance(bars, str) else f"b{bars[0]}-{bars[1]}" if bars else ""
        return f"t{self.tempo}{'c' if self.count_in else ''}{where}"


class CowriteRequest(BaseModel):
    """What fill, continue and vary share: the musician's tune and how to sample."""

    model_config = ConfigDict(extra="forbid")

    tune: str = Field(min_length=1, max_length=MAX_ABC, description="one tune in ABC notation, kept byte for byte "
                                                                     "outside the bars written")
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="null: the server picks one and returns it")
    candidates: int = Field(4, ge=1, le=MAX_CANDIDATES, description="write it this many times, keep the best")
    temperature: float = Field(1.0, ge=0.1, le=2.0)
    top_p: float | None = Field(SamplingSettings().top_p, gt=0, le=1, description="nucleus sampling; 1 or null: off")

    def settings(self) -> SamplingSettings:
        return SamplingSettings(temperature=self.temperature, top_p=self.top_p)  # constrained: the gap needs it


def _part_letter(value: str | None) -> str | None:
    return None if value is None else value.upper()


class FillRequest(CowriteRequest):
    """Bars of the tune written again: give `bars` or `part`, not both."""

    bars: tuple[BarNumber, BarNumber] | None = Field(None, description="[first, last] full bars, counted from 1",
                                                     examples=[[5, 8]])
    part: str | None = Field(None, pattern=PART_PATTERN, description="a whole part, by its letter", examples=["B"])

    @field_validator("bars")
    @classmethod
    def _first_before_last(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError("the first bar comes before the last, e.g. [5, 8]")
        return value

    @field_validator("part")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return _part_letter(value)


class ContinueRequest(CowriteRequest):
    """The next part written after the tune's last (a B part for an A part)."""

    part: str = Field("B", pattern=PART_PATTERN, description="the part to write: the one after the tune's last")

    @field_validator("part")
    @classmethod
    def _upper(cls, value: str) -> str:
        return _part_letter(value)


class VaryRequest(CowriteRequest):
    """A variation: a share of the full bars written again, the main beats and cadences kept."""

    amount: float = Field(0.3, ge=0.05, le=1, description="share of the main-beat notes to change (about)")
    candidates: int = Field(8, ge=1, le=MAX_CANDIDATES, description="candidates for each bar")


class SetRequest(BaseModel):
    """Tunes that make a set: one type and metre, keys that move as sets do."""

    model_config = ConfigDict(extra="forbid")

    rhythm: str = Field(pattern=RHYTHM_PATTERN, examples=["reel", "jig"])
    num: int = Field(3, ge=1, le=MAX_SET, description="tunes in the set")
    key: str | None = Field(None, pattern=KEY_PATTERN, description="the first tune's key (default: drawn)")
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="null: the server picks one and returns it")
    candidates: int = Field(4, ge=1, le=MAX_CANDIDATES, description="each tune the critic's best of this many")
    temperature: float = Field(1.0, ge=0.1, le=2.0)
    top_p: float | None = Field(SamplingSettings().top_p, gt=0, le=1, description="nucleus sampling; 1 or null: off")

    @field_validator("key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def settings(self) -> SamplingSettings:
        return SamplingSettings(temperature=self.temperature, top_p=self.top_p)


MAX_KEPT_ID = 2**63 - 1  # SQLite's largest rowid
TITLE_PATTERN = r"^[^\x00-\x1f\x7f]*$"  # one line: a newline in a title would start a new ABC field


class KeptUpdate(BaseModel):
    """What a player changes about a kept tune; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=MAX_TITLE_CHARS, pattern=TITLE_PATTERN)
    notes: str | None = Field(None, max_length=MAX_NOTES_BYTES, description="the player's own notes")
    rating: int | None = Field(None, ge=0, le=5, description="0 (none) to 5 stars")

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("a title cannot be blank")
        return value

    @field_validator("notes")
    @classmethod
    def _notes_fit(cls, value: str | None) -> str | None:
        # In bytes, as the library counts them; max_length above counts characters.
        if value is not None and len(value.encode("utf-8", "surrogatepass")) > MAX_NOTES_BYTES:
            raise ValueError(f"the notes are at most {MAX_NOTES_BYTES:,} bytes")
        return value


class KeptPage(BaseModel):
    """Which kept tunes to list, newest first."""

    model_config = ConfigDict(extra="forbid")

    offset: int = Field(0, ge=0, le=10**6)
    limit: int = Field(100, ge=1, le=MAX_PAGE)


class TuneOut(BaseModel):
    id: str
    title: str
    abc: str
    quality: dict
    urls: dict[str, str]


class GenerateResponse(BaseModel):
    tunes: list[TuneOut]
    seed: int
    seconds: float
    settings: dict


class RenderResponse(TuneOut):
    svg: str
    warnings: list[str]


class ArrangeResponse(RenderResponse):
    arranged: str  # what was done, in words


class OpenResponse(TuneOut):
    kept: dict  # the kept tune this editable copy was made from


class CowriteResponse(TuneOut):
    written: list[int]  # the bars written, from 0 as the tune's bar lines cut it (a pickup is bar 0)
    notes: list[str]  # the N: lines added to the tune: what was kept, what was written and how
    seed: int
    seconds: float


class SetResponse(BaseModel):
    tunes: list[TuneOut]
    keys: list[str]
    rhythm: str
    meter: str
    seed: int
    seconds: float


PATTERN_HINTS = {
    "key": "use a root A-G, then # or b, then a mode (m, dor, mix, ...), e.g. G, Ador, F#m, Bbmix",
    "meter": "use C, C| or a fraction such as 6/8 or 3/4",
    "rhythm": "use letters and spaces only, e.g. reel, slip jig",
    "id": "a tune id is 32 hex digits", "parent": "a tune id is 32 hex digits", "tune_id": "a tune id is 32 hex digits",
    "title": "a title is one line of printable text",
    "part": "name a part by its letter, A to H",
}


def _message(error: dict, field: str) -> str:
    if error.get("type") == "string_pattern_mismatch" and field in PATTERN_HINTS:
        return PATTERN_HINTS[field]
    return error.get("msg", "invalid")


def _field_of(error: dict) -> str:
    parts = [str(part) for part in error.get("loc", ()) if part not in ("body", "path", "query")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Every error is JSON with a one-line `error` that starts with the field it is about."""

    def answer(status: int, message: str, field: str | None, headers: dict | None = None) -> JSONResponse:
        text = f"{field}: {message}" if field else message
        return JSONResponse({"error": text, "field": field}, status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return answer(error.status, error.message, error.field, error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        fields = [_field_of(e) for e in error.errors()]
        errors = [{"field": f, "message": _message(e, f)} for e, f in zip(error.errors(), fields)]
        response = answer(422, errors[0]["message"], errors[0]["field"])
        response.body = json.dumps({**json.loads(response.body), "errors": errors}).encode()
        response.headers["content-length"] = str(len(response.body))
        return response

    @app.exception_handler(OSError)
    async def os_error(_: Request, error: OSError) -> JSONResponse:
        # A full disk or a folder gone: said in one line, not a bare 500 with a traceback in the log.
        full = error.errno == errno.ENOSPC
        return answer(507 if full else 500, f"the server could not read or write its files ({error.strerror or error})",
                      None)

    @app.exception_handler(LibraryError)
    async def library_error(_: Request, error: LibraryError) -> JSONResponse:
        # What the routes do not turn into a 4xx themselves: the database locked past its timeout, or not one.
        return answer(503, f"the tune library: {error}", None)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, error: HTTPException) -> JSONResponse:
        return answer(error.status_code, str(error.detail), None, getattr(error, "headers", None))
