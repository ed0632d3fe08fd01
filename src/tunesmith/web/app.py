"""The tune workshop: one page and a small JSON API over generate, render, check and keep.

    app = create_app(Path("runs/small"), Path("/tmp/workshop"))   # uvicorn.run(app)

Everything is rendered on the server by the tools rendering.py drives (abcm2ps for the
score, abc2midi for MIDI, FluidSynth or TiMidity for audio), so the page needs no
internet and no JavaScript library. Generation and rendering run in worker threads
with bounded queues: the event loop only waits, and a full queue answers 429.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from tunesmith.abc.text import parse_fields, split_tunebook
from tunesmith.abc.theory import KEY_FIELD_PATTERN
from tunesmith.render.rendering import RenderError, RenderOptions, ToolMissing, missing_tools, render_tune
from tunesmith.sample.sampling import SamplingSettings, generate
from tunesmith.store.checkpoint import TrainedModel, load_model
from tunesmith.web.store import TUNE_ID, KeptBook, TuneStore, UnknownTune, user_data_dir

STATIC = Path(__file__).parent / "static"
TRAIN_HINT = "tunesmith train --data oneills --out runs/first --minutes 10"
MAX_BODY = 64 * 1024  # bytes; the largest request is one ABC text of at most MAX_ABC characters
MAX_ABC = 20_000
MEDIA = {"abc": "text/plain; charset=utf-8", "mid": "audio/midi", "wav": "audio/wav", "svg": "image/svg+xml"}
# The page's own policy: scripts only from this server, so a hostile tune title cannot run code.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "media-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
API_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"  # an SVG opened on its own runs nothing
DOCS_PATHS = ("/docs", "/static-offline-docs")  # Swagger UI's page has an inline script of its own

ID_PATTERN = TUNE_ID.pattern
KEY_PATTERN = KEY_FIELD_PATTERN
METER_PATTERN = r"^(?:C\|?|[1-9][0-9]?/(?:1|2|4|8|16|32))$"
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

    @field_validator("key", "meter", "rhythm", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


FORM_OPTIONS = ("parts", "bars_per_part", "form", "constrain")


class RenderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    abc: str = Field(min_length=1, max_length=MAX_ABC, description="one tune in ABC notation")
    parent: str | None = Field(None, pattern=ID_PATTERN, description="the tune this text was edited from")


class KeepRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN, description="the tune whose settings go into the tune book")
    abc: str | None = Field(None, min_length=1, max_length=MAX_ABC, description="the text to keep (default: the id's)")


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


PATTERN_HINTS = {
    "key": "use a root A-G, then # or b, then a mode (m, dor, mix, ...), e.g. G, Ador, F#m, Bbmix",
    "meter": "use C, C| or a fraction such as 6/8 or 3/4",
    "rhythm": "use letters and spaces only, e.g. reel, slip jig",
    "id": "a tune id is 32 hex digits", "parent": "a tune id is 32 hex digits", "tune_id": "a tune id is 32 hex digits",
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

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, error: HTTPException) -> JSONResponse:
        return answer(error.status_code, str(error.detail), None, getattr(error, "headers", None))


# ---------------------------------------------------------------- middleware


class Guard:
    """Plain ASGI middleware: request bodies over max_body get 413, API posts must be JSON,
    and every response carries the security headers."""

    def __init__(self, app: Callable, max_body: int = MAX_BODY):
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        send = self._with_headers(scope["path"], send)
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["path"].startswith("/api/") and "json" not in headers.get("content-type", ""):
            return await _reply(send, 415, "content-type: send the request body as application/json")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            return await _reply(send, 413, self._too_large(int(declared)))
        body, more = b"", True
        while more:  # read it all here (it is small) so a body without a length is bounded too
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body:
                return await _reply(send, 413, self._too_large(len(body), at_least=True))
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    def _too_large(self, size: int, at_least: bool = False) -> str:
        return (f"body: the request is {'over ' if at_least else ''}{size:,} bytes; "
                f"the limit is {self.max_body:,} bytes ({MAX_ABC:,} characters of ABC)")

    @staticmethod
    def _with_headers(path: str, send: Callable) -> Callable:
        if path.startswith(DOCS_PATHS):
            return send
        policy = (API_CSP if path.startswith("/api/") else PAGE_CSP).encode()

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"content-security-policy", policy),
                                      (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
            await send(message)

        return sending


async def _reply(send: Callable, status: int, error: str) -> None:
    body = json.dumps({"error": error, "field": error.split(":")[0]}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# ---------------------------------------------------------------- jobs


class JobPool:
    """Worker threads with a bounded queue: jobs past workers + max_waiting are refused (429).

    Works from any event loop (the future is a thread's, wrapped), so TestClient and uvicorn agree.
    """

    def __init__(self, workers: int, max_waiting: int, name: str):
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix=f"tunesmith-{name}")
        self.workers, self.limit, self.name = workers, workers + max_waiting, name
        self.pending = 0
        self._lock = threading.Lock()

    async def run(self, fn: Callable, *args: object) -> object:
        with self._lock:
            if self.pending >= self.limit:
                raise ApiError(429, f"the server is busy: {self.pending} {self.name} jobs are running or queued; "
                                    "try again in a few seconds", headers={"Retry-After": "5"})
            self.pending += 1
        future = self.executor.submit(fn, *args)
        future.add_done_callback(self._finished)  # counted until the thread is done, even if the client left
        return await asyncio.wrap_future(future)

    def _finished(self, _: object) -> None:
        with self._lock:
            self.pending -= 1

    def state(self) -> dict:
        return {"pending": self.pending, "workers": self.workers, "limit": self.limit}


# ---------------------------------------------------------------- the workshop


def sampler_options() -> set[str]:
    """Keyword arguments this Tunesmith's generate() takes, its SamplingSettings fields included."""
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    named = {name for name, p in inspect.signature(generate).parameters.items() if p.kind in kinds}
    return named | {f.name for f in dataclasses.fields(SamplingSettings)}


class Workshop:
    """What the routes share: the model, the stores, the job pools and the novelty index."""

    def __init__(self, model_dir: Path | None, storage_dir: Path, data_dir: Path, max_jobs: int,
                 max_waiting: int, novelty: bool):
        self.run_dir = Path(model_dir) if model_dir else None
        self.model: TrainedModel | None = load_model(self.run_dir) if self.run_dir else None
        self.store = TuneStore(storage_dir)
        self.kept = KeptBook(data_dir)
        self.generation = JobPool(max_jobs, max_waiting, "generate")
        self.rendering = JobPool(4, 64, "render")
        self.render_options = RenderOptions(timeout_s=30)
        self.index = None
        self.novelty = "off"
        if novelty and self.model is not None:
            self.novelty = "building"
            threading.Thread(target=self._build_index, name="tunesmith-novelty", daemon=True).start()

    # -- model

    def _build_index(self) -> None:
        """Index the model's training tunes, so each tune can say how many bars it copied."""
        try:
            from tunesmith.data.corpus import load_corpus, split_by_tune
            from tunesmith.judge.quality import NoveltyIndex

            data = self.model.meta["data"]
            split = split_by_tune(load_corpus(data["data"]).tunes, seed=data.get("split_seed", 0))
            self.index = NoveltyIndex(tune.text for tune in split.train)
            self.novelty = "ready"
        except Exception as error:  # missing or changed data: tunes are shown without copied bars
            self.novelty = f"unavailable: {type(error).__name__}: {error}"

    def model_info(self) -> dict | None:
        if self.model is None:
            return None
        meta = self.model.meta
        return {
            "run": str(self.run_dir), "name": self.run_dir.name, "kind": meta.get("model_kind"),
            "parameters": meta.get("parameters"), "data": meta.get("data", {}).get("data"),
            "best_valid_bpc": meta.get("state", {}).get("best_valid_bpc"),
            "rhythm": all(ch in self.model.vocab.index for ch in "R:"),  # trained on tunes with R: lines
        }

    def require_model(self) -> TrainedModel:
        if self.model is None:
            raise ApiError(503, f"no trained model: train one with `{TRAIN_HINT}`, then run `tunesmith serve`")
        return self.model

    # -- generate

    def check_characters(self, request: GenerateRequest) -> None:
        """A header or prime the model cannot write: 400 naming the field and the character."""
        vocab = self.require_model().vocab
        for name in ("key", "meter", "rhythm", "prime"):
            value = getattr(request, name) or ""
            unknown = sorted({ch for ch in value if ch not in vocab.index and ch != "\n"})
            if unknown:
                raise ApiError(400, f"the model never saw {', '.join(map(repr, unknown))} in its training tunes", name)
        if len(request.prime) + 200 > request.max_chars:
            raise ApiError(422, "must be at least 200 characters longer than the opening phrase", "max_chars")

    def sampling_arguments(self, request: GenerateRequest) -> tuple[SamplingSettings, dict]:
        supported = sampler_options()
        if request.parts and request.constrain is False:
            raise ApiError(400, "a form (parts, bars per part) needs constrained sampling", "parts")
        settings_fields = {f.name for f in dataclasses.fields(SamplingSettings)}
        settings, extra = {}, {}
        for name in ("temperature", "top_p", "top_k", "max_chars", *FORM_OPTIONS):
            value = getattr(request, name)
            if value is None:
                continue
            if name not in supported:
                raise ApiError(400, "this version of Tunesmith cannot do that yet", name)
            (settings if name in settings_fields else extra)[name] = value
        return SamplingSettings(**settings), extra

    def generate(self, request: GenerateRequest, seed: int) -> dict:
        settings, extra = self.sampling_arguments(request)
        prime = request.prime.replace("\r\n", "\n")
        started = time.perf_counter()
        try:
            texts = generate(self.require_model(), request.num, settings=settings, seed=seed, key=request.key,
                             meter=request.meter, rhythm=request.rhythm, prime=prime, **extra)
        except ValueError as error:  # a prompt the model cannot follow, said by the sampler
            raise ApiError(400, str(error), "prime") from None
        seconds = time.perf_counter() - started
        record = {**request.model_dump(exclude_none=True, exclude={"num", "seed"}), "seed": seed}
        record = {k: v for k, v in record.items() if v != ""}
        tunes = []
        for number, text in enumerate(texts, start=1):
            meta = {"model": self.run_dir.name, "settings": record, "tune": number, "of": len(texts)}
            tunes.append(self.tune_out(self.store.save(text, meta), text))
        return {"tunes": tunes, "seed": seed, "seconds": round(seconds, 3), "settings": record}

    # -- tunes

    def tune_out(self, tune_id: str, text: str) -> dict:
        return {"id": tune_id, "title": parse_fields(text).get("T", ""), "abc": text,
                "quality": quality_record(text, self.index), "urls": tune_urls(tune_id)}

    def rendered(self, tune_id: str, fmt: str) -> Path:
        """The tune's file in this format, rendered the first time it is asked for."""
        path = self.store.path(tune_id, fmt)
        if not path.is_file():
            render_tune(self.store.text(tune_id), [fmt], self.store.folder, tune_id, self.render_options)
        return path

    def render(self, request: RenderRequest) -> dict:
        """Save the text as a new tune (an edit keeps its parent's settings) and draw its score."""
        meta = {"source": "render"}
        if request.parent:
            parent = self.store.meta(request.parent)
            if not parent:
                raise ApiError(404, "no such tune", "parent")
            meta = {**{k: v for k, v in parent.items() if k != "id"}, "parent": request.parent, "edited": True}
        text = _plain_text(request.abc)
        tune_id = self.store.save(text, meta)
        try:
            result = render_tune(text, ["svg"], self.store.folder, tune_id, self.render_options)
        except ToolMissing:
            raise
        except RenderError as error:
            self.store.delete(tune_id)
            raise ApiError(422, str(error).removeprefix(f"{tune_id}: "), "abc") from None
        out = self.tune_out(tune_id, text)
        return {**out, "svg": result.files["svg"].read_text(encoding="utf-8", errors="replace"),
                "warnings": result.warnings[:20]}

    def keep(self, request: KeepRequest) -> dict:
        meta = self.store.meta(request.id)
        if not meta:
            raise ApiError(404, "no such tune", "id")
        text = _plain_text(request.abc) if request.abc else self.store.text(request.id)
        if "K" not in parse_fields(text):
            raise ApiError(422, "no K: (key) line, so this is not an ABC tune", "abc")
        if len(split_tunebook(text)) > 1:  # its blank lines are dropped, so a second X: would become a tune
            raise ApiError(422, "more than one tune (a second X: line); keep one tune at a time", "abc")
        edited = meta.get("edited") or (request.abc is not None and request.abc != self.store.text(request.id))
        entry = self.kept.keep(text, keep_notes(meta, bool(edited)))
        return {"kept": entry, "path": str(self.kept.path), "count": len(self.kept.tunes())}

    def health(self) -> dict:
        info = self.model_info()
        missing = missing_tools(["mid", "wav", "svg"])
        return {
            "status": "ok" if info else "no-model",
            "model": info,
            "message": (f"model {info['name']} ({info['kind']}) is ready" if info else
                        f"no trained model found: train one with `{TRAIN_HINT}`, then run `tunesmith serve` "
                        "(it picks the newest run under ./runs holding model.safetensors) or pass --model RUN_DIR"),
            "novelty": self.novelty,
            "tools_missing": missing,
            "jobs": {"generate": self.generation.state(), "render": self.rendering.state()},
            "kept": str(self.kept.path),
            "limits": {"num": 16, "max_chars": 4000, "abc_chars": MAX_ABC, "body_bytes": MAX_BODY},
            "form_options": [name for name in FORM_OPTIONS if name in sampler_options()],
        }


def tune_urls(tune_id: str) -> dict[str, str]:
    return {fmt: f"/api/tunes/{tune_id}.{fmt}" for fmt in MEDIA}


def quality_record(text: str, index: object = None) -> dict:
    """The evaluate issue's checks for one tune: valid, bars correct, copied bars (when indexed)."""
    from tunesmith.judge.quality import check_tune

    try:
        report = check_tune(text, index=index)
    except Exception as error:  # the checker must never take a page down
        return {"valid": False, "error": f"{type(error).__name__}: {error}"}
    notes = [f"missing {letter}:" for letter in report.missing_fields]
    notes += list(report.problems) + list(report.abc2midi_messages)
    return {
        "valid": report.syntax_ok, "bars_correct": report.bars_correct, "bars_total": report.bars_total,
        "metre_ok": report.metre_ok, "bars_per_section": list(report.bars_per_section), "aabb": report.aabb,
        "copied_bars": report.longest_copy, "copied": report.copied, "notes": notes[:5],
    }


def _plain_text(abc: str) -> str:
    """The text with Windows line ends made plain; control characters refused, so a terminal
    escape pasted into the editor never reaches the tune store or the user's kept.abc."""
    text = abc.replace("\r\n", "\n")
    bad = next((ch for ch in text if (ch < " " and ch not in "\n\t") or ch == "\x7f"), None)
    if bad is not None:
        raise ApiError(422, f"control character {bad!r} in the text (ABC is printable text, newlines and tabs)", "abc")
    return text


def keep_notes(meta: dict, edited: bool) -> list[str]:
    """The N: lines of a kept tune: which model, which settings, whether it was edited."""
    if "settings" not in meta:
        return ["written in the tunesmith workshop"]
    settings = " ".join(f"{k}={json.dumps(v) if isinstance(v, str) else v}" for k, v in meta["settings"].items())
    notes = [f"tunesmith serve, model {meta.get('model')}, tune {meta.get('tune')} of {meta.get('of')}",
             f"settings: {settings}"]
    return notes + (["edited in the workshop after it was generated"] if edited else [])


# ---------------------------------------------------------------- the app


def create_app(
    model_dir: Path | None,
    storage_dir: Path,
    *,
    data_dir: Path | None = None,
    max_jobs: int = 1,  # the sampler is a Python loop holding the GIL: a second thread adds no speed
    max_waiting: int = 32,
    novelty: bool = True,
    allowed_hosts: Sequence[str] | None = None,
) -> FastAPI:
    """The workshop app. model_dir None: everything but generation works, and the page says how to train.

    storage_dir holds generated tunes by id; data_dir (default $TUNESMITH_HOME or
    ~/.local/share/tunesmith) holds kept.abc. Generation runs max_jobs at a time with at most
    max_waiting queued behind them (then 429). novelty=False skips indexing the training tunes
    (no copied-bars figure). allowed_hosts: Host headers to accept (None: any).
    """
    shop = Workshop(model_dir, Path(storage_dir), Path(data_dir or user_data_dir()), max_jobs, max_waiting, novelty)
    app = FastAPIOffline(title="Tunesmith workshop", version="0.1.0", redoc_url=None,
                         description="Generate, see, hear, edit and keep folk tunes. Errors are "
                                     '`{"error": "<field>: <message>", "field": "<field>"}`.')
    app.state.workshop = shop
    install_error_handlers(app)
    _add_routes(app, shop)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.add_middleware(Guard)
    return app


def _add_routes(app: FastAPI, shop: Workshop) -> None:
    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/api/health")
    def health() -> dict:
        """The model in use (or how to train one), novelty index, missing tools, queue lengths."""
        return shop.health()

    @app.post("/api/generate", response_model=GenerateResponse)
    async def generate_tunes(request: GenerateRequest) -> dict:
        """Write `num` tunes in one batch. Queued behind at most max_jobs running jobs; 429 when full."""
        shop.check_characters(request)
        seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
        return await shop.generation.run(shop.generate, request, seed)

    @app.get("/api/tunes/{tune_id}.{fmt}", responses={200: {"content": {m: {} for m in MEDIA.values()}}})
    async def tune_file(
        tune_id: str = PathParam(pattern=ID_PATTERN, description="32 hex digits, as /api/generate gave it"),
        fmt: Literal["abc", "mid", "wav", "svg"] = PathParam(description="abc, mid, wav or svg"),
    ) -> Response:
        """A tune as ABC text, MIDI, WAV audio or an SVG score (rendered on first request)."""
        path = await shop.rendering.run(_rendered_or_error, shop, tune_id, fmt)
        return FileResponse(path, media_type=MEDIA[fmt])

    @app.post("/api/render", response_model=RenderResponse)
    async def render(request: RenderRequest) -> dict:
        """ABC text -> a new tune id with its SVG score inline and URLs for MIDI, WAV and the rest."""
        return await shop.rendering.run(_with_tool_errors, shop.render, request)

    @app.post("/api/keep")
    def keep(request: KeepRequest) -> dict:
        """Append the tune to kept.abc with its settings as N: lines (the whole file replaced atomically)."""
        return shop.keep(request)

    @app.get("/api/kept")
    def kept() -> dict:
        """The kept tunes, in the order they were kept."""
        tunes = shop.kept.tunes()
        return {"path": str(shop.kept.path), "count": len(tunes), "tunes": tunes}

    @app.get("/api/kept.abc", response_class=PlainTextResponse)
    def kept_book() -> PlainTextResponse:
        """The whole tune book of kept tunes, as a file."""
        return PlainTextResponse(shop.kept.read(), headers={"content-disposition": 'attachment; filename="kept.abc"'})


def _with_tool_errors(fn: Callable, *args: object) -> object:
    try:
        return fn(*args)
    except ToolMissing as error:
        raise ApiError(503, str(error)) from None


def _rendered_or_error(shop: Workshop, tune_id: str, fmt: str) -> Path:
    try:
        return _with_tool_errors(shop.rendered, tune_id, fmt)
    except UnknownTune:
        raise ApiError(404, "no such tune", "tune_id") from None
    except RenderError as error:
        raise ApiError(422, str(error).removeprefix(f"{tune_id}: "), "abc") from None
