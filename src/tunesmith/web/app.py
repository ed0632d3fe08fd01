"""The tune workshop: one page and a small JSON API over generate, render, check and keep.

    app = create_app(Path("runs/small"), Path("/tmp/workshop"))   # uvicorn.run(app)

Everything is rendered on the server by the tools rendering.py drives (abcm2ps for the
score, abc2midi for MIDI, FluidSynth or TiMidity for audio), so the page needs no
internet and no JavaScript library. Generation and rendering run in worker threads
with bounded queues: the event loop only waits, and a full queue answers 429.

The app is made of: schema.py (the requests and answers, their validation and the JSON
errors), guard.py (the security middleware), jobs.py (the worker pools), tunes.py (one
tune's URLs, checks and kept notes), and here the Workshop the routes share, create_app
and the routes. Kept tunes live in tunesmith.store.library (SQLite), which the CLI's
`tunesmith library` reads too. generate (and fill, continue_tune, vary and make_set, the routes that write
with a musician) are looked up here, so a test can swap the sampler on this module.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.middleware.trustedhost import TrustedHostMiddleware

from tunesmith.abc.chords import harmonize, with_chords
from tunesmith.abc.instruments import INSTRUMENTS, instrument, transpose_for, transpose_to
from tunesmith.abc.text import parse_fields, split_tunebook, with_notes
from tunesmith.data.infill import bar_span, split_at_bars
from tunesmith.judge.sets import make_set
from tunesmith.render.rendering import RenderError, RenderOptions, ToolMissing, missing_tools, render_tune
from tunesmith.sample.cowriting import Written, continue_tune, fill, vary, vary_label
from tunesmith.sample.sampling import SamplingSettings, fresh_seed, generate
from tunesmith.sample.service import SamplerService
from tunesmith.store.checkpoint import SHIPPED_MODEL, TrainedModel, load_model
from tunesmith.store.library import (
    KeptTune,
    Library,
    LibraryError,
    LibraryFull,
    ToolsMissing,
    UnknownKept,
    pdf_tools_missing,
    tune_text,
    tunebook_pdf,
)
from tunesmith.web.guard import API_CSP, DOCS_PATHS, PAGE_CSP, Guard
from tunesmith.web.jobs import JobPool
from tunesmith.web.schema import (
    FORM_OPTIONS,
    ID_PATTERN,
    KEY_PATTERN,
    MAX_ABC,
    MAX_BODY,
    MAX_KEPT_ID,
    METER_PATTERN,
    PATTERN_HINTS,
    RHYTHM_PATTERN,
    ApiError,
    ArrangeRequest,
    ArrangeResponse,
    ContinueRequest,
    CowriteRequest,
    CowriteResponse,
    FillRequest,
    GenerateRequest,
    GenerateResponse,
    KeepRequest,
    KeptPage,
    KeptUpdate,
    OpenResponse,
    RenderRequest,
    RenderResponse,
    SetRequest,
    SetResponse,
    TuneOut,
    TuneQuery,
    VaryRequest,
    install_error_handlers,
)
from tunesmith.web.store import TuneStore, UnknownTune, user_data_dir
from tunesmith.web.tunes import (
    MEDIA,
    _plain_text,
    describe_model,
    keep_notes,
    model_menus,
    quality_record,
    render_problems,
    tune_urls,
)

__all__ = [  # create_app, and what app.py held before it was split, for the tests and callers that import it here
    "API_CSP", "DOCS_PATHS", "FORM_OPTIONS", "ID_PATTERN", "KEY_PATTERN", "MAX_ABC", "MAX_BODY", "MEDIA",
    "METER_PATTERN", "PAGE_CSP", "PATTERN_HINTS", "RHYTHM_PATTERN", "STATIC", "TRAIN_HINT", "ApiError",
    "ArrangeRequest", "ArrangeResponse", "GenerateRequest", "GenerateResponse", "Guard", "JobPool", "KeepRequest",
    "RenderRequest", "RenderResponse",
    "TuneOut", "Workshop", "create_app", "install_error_handlers", "keep_notes", "quality_record",
    "sampler_options", "tune_urls",
]

STATIC = Path(__file__).parent / "static"
TRAIN_HINT = "tunesmith train --data oneills --out runs/first --minutes 10"
# A score for a 390 px phone: a 9 cm page at scale 1.3 draws a 42 px staff, two bars or so a line.
PHONE_SCORE = {"score_width": 9.0, "score_scale": 1.3}


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
        self.library = Library.open(data_dir)  # imports an old kept.abc the first time
        # Generate requests wait on one sampler service, whose batch writes all their tunes together; the
        # co-writing routes run their own decode loop, one at a time.
        self.sampler = SamplerService(self.model) if self.model is not None else None
        self.generation = JobPool(max_jobs, max_waiting, "generate")
        self.cowriting = JobPool(1, max_waiting, "co-writing")
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
            "test_bpc": meta.get("final", {}).get("test_bpc"),
            "rhythm": all(ch in self.model.vocab.index for ch in "R:"),  # trained on tunes with R: lines
            **describe_model(meta, self._is_shipped()),
        }

    def _is_shipped(self) -> bool:
        return self.run_dir is not None and self.run_dir.resolve() == SHIPPED_MODEL.resolve()

    def menus(self) -> dict:
        """The key, metre and tune-type menus of the model in use, each absent option with its reason."""
        model = self.require_model()
        return model_menus(set(model.vocab.index), model.meta.get("forms") or {})

    def require_model(self) -> TrainedModel:
        if self.model is None:
            raise ApiError(503, f"no trained model: train one with `{TRAIN_HINT}`, then run `tunesmith serve`")
        return self.model

    # -- generate

    def check_characters(self, request: GenerateRequest | SetRequest) -> None:
        """A header or prime the model cannot write: 400 naming the field and the character."""
        vocab = self.require_model().vocab
        for name in ("key", "meter", "rhythm", "prime"):
            value = getattr(request, name, None) or ""
            unknown = sorted({ch for ch in value if ch not in vocab.index and ch != "\n"})
            if unknown:
                raise ApiError(400, f"the model never saw {', '.join(map(repr, unknown))} in its training tunes", name)
        if isinstance(request, SetRequest):
            return
        if len(request.prime) + 200 > request.max_chars:
            raise ApiError(422, "must be at least 200 characters longer than the opening phrase", "max_chars")

    def sampling_arguments(self, request: GenerateRequest) -> tuple[SamplingSettings, dict]:
        supported = sampler_options()
        if request.parts and request.constrain is False:
            raise ApiError(400, "a form (parts, bars per part) needs constrained sampling", "parts")
        if request.instrument and request.constrain is False:
            raise ApiError(400, "an instrument's range needs constrained sampling", "instrument")
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
                             meter=request.meter, rhythm=request.rhythm, prime=prime, service=self.sampler,
                             **extra)
        except ValueError as error:  # a prompt the model cannot follow, said by the sampler
            raise ApiError(400, str(error), "prime") from None
        seconds = time.perf_counter() - started
        texts = [with_chords(text)[0] for text in texts] if request.chords else texts  # as written where none fit
        record = {**request.model_dump(exclude_none=True, exclude={"num", "seed"}), "seed": seed}
        record = {k: v for k, v in record.items() if v != ""}
        tunes = []
        for number, text in enumerate(texts, start=1):
            meta = {"model": self.run_dir.name, "settings": record, "tune": number, "of": len(texts)}
            tunes.append(self.tune_out(self.store.save(text, meta), text))
        return {"tunes": tunes, "seed": seed, "seconds": round(seconds, 3), "settings": record}

    # -- writing with a musician: fill, continue, vary and sets

    def cowrite_text(self, request: CowriteRequest) -> str:
        """The musician's tune as the routes take it: plain text, a K: line, one tune (else 422 about `tune`)."""
        self.require_model()
        try:
            text = _plain_text(request.tune)
        except ApiError as error:
            raise ApiError(error.status, error.message, "tune") from None
        if "K" not in parse_fields(text):
            raise ApiError(422, "no K: (key) line, so this is not an ABC tune", "tune")
        if len(split_tunebook(text)) > 1:
            raise ApiError(422, "more than one tune (a second X: line); send one tune at a time", "tune")
        if len(split_at_bars(text)) - 1 > MAX_COWRITE_BARS:  # vary writes bar by bar: the worker's time is bounded
            raise ApiError(422, f"more than {MAX_COWRITE_BARS} bars: longer than any dance tune", "tune")
        return text

    def cowrite(self, name: str, request: CowriteRequest, seed: int, write: Callable[..., Written], what: str,
                label: Callable[[Written], str]) -> dict:
        """Run `write` (fill, continue_tune or vary with its own arguments bound) and save the tune with N: lines
        saying what was kept and written; a gap the constraint cannot fill is a 422 in words."""
        model = self.require_model()
        started = time.perf_counter()
        try:
            written = write(model, candidates=request.candidates, settings=request.settings(), seed=seed)
        except ValueError as error:  # a GapError above all: a tune or a gap the constraint cannot line up
            raise ApiError(422, _one_line(error), "tune") from None
        seconds = time.perf_counter() - started
        notes = [f"tunesmith serve, model {self.run_dir.name}: {what}, candidates {request.candidates}, seed {seed}",
                 *written.notes(label(written))]
        text = with_notes(written.text, notes)
        record = {"cowrite": name, **request.model_dump(exclude_none=True, exclude={"tune", "seed"}), "seed": seed}
        meta = {"source": name, "model": self.run_dir.name, "settings": record, "tune": 1, "of": 1}
        out = self.tune_out(self.store.save(text, meta), text)
        return {**out, "written": list(written.written), "notes": notes, "seed": seed, "seconds": round(seconds, 3)}

    def fill_bars(self, request: FillRequest, text: str, seed: int) -> dict:
        what, field = (request.part, "part") if request.part else (tuple(request.bars), "bars")
        try:
            bar_span(text, what)  # bars the tune does not have: said about the field that named them
        except ValueError as error:
            raise ApiError(422, _one_line(error), field) from None
        shown = f"part {request.part}" if request.part else f"full bars {what[0]}-{what[1]}"
        return self.cowrite("fill", request, seed, lambda model, **kw: fill(model, text, what, **kw),
                            f"fill {shown}", lambda _: f"{shown} written again")

    def continue_part(self, request: ContinueRequest, text: str, seed: int) -> dict:
        def label(written: Written) -> str:
            return (f"part {request.part} written ({len(written.written)} bars, its last note asked to be the "
                    "tonic) after the tune's own")

        return self.cowrite("continue", request, seed,
                            lambda model, **kw: continue_tune(model, text, request.part, **kw),
                            f"continue with part {request.part}", label)

    def vary_tune(self, request: VaryRequest, text: str, seed: int) -> dict:
        def label(written: Written) -> str:
            return vary_label(written, "the tune's")

        return self.cowrite("vary", request, seed, lambda model, **kw: vary(model, text, request.amount, **kw),
                            f"vary, amount {request.amount}", label)

    def tune_set(self, request: SetRequest, seed: int) -> dict:
        """`num` tunes of one type whose keys move as sets do, each saved as its own tune with N: lines."""
        model = self.require_model()
        started = time.perf_counter()
        try:
            made = make_set(model, request.rhythm, request.num, key=request.key, candidates=request.candidates,
                            settings=request.settings(), seed=seed, novelty=self.index)
        except ValueError as error:  # as generate: a request the sampler cannot follow
            raise ApiError(400, _one_line(error)) from None
        seconds = time.perf_counter() - started
        record = {"cowrite": "set", **request.model_dump(exclude_none=True, exclude={"seed"}), "seed": seed}
        heading = (f"tunesmith serve, model {self.run_dir.name}: a set of {request.num} {made.rhythm}s, "
                   f"candidates {request.candidates}, seed {seed}")
        tunes = []
        for i, (sample, critique) in enumerate(zip(made.tunes, made.critiques)):
            text = with_notes(sample.text, [heading, *made.notes(i), critique.provenance(request.candidates)], i + 1)
            meta = {"source": "set", "model": self.run_dir.name, "settings": record, "tune": i + 1,
                    "of": len(made.tunes)}
            tunes.append(self.tune_out(self.store.save(text, meta), text))
        return {"tunes": tunes, "keys": list(made.keys), "rhythm": made.rhythm, "meter": made.meter, "seed": seed,
                "seconds": round(seconds, 3)}

    # -- tunes

    def tune_out(self, tune_id: str, text: str) -> dict:
        return {"id": tune_id, "title": parse_fields(text).get("T", ""), "abc": text,
                "quality": quality_record(text, self.index), "urls": tune_urls(tune_id)}

    def rendered(self, tune_id: str, fmt: str, query: TuneQuery | None = None) -> Path:
        """The tune's file in this format (for practice, or for a phone, as the query asks), rendered the
        first time it is asked for and kept beside the tune's own files, so the store prunes them together."""
        query = query or TuneQuery()
        path, tag = self.store.path(tune_id, fmt), query.tag(fmt)
        stem = f"{tune_id}.{tag}" if tag else tune_id  # the tag is made of validated numbers and letters only
        path = path.with_name(f"{stem}.{fmt}")
        if path.is_file():
            return path
        text = self.store.text(tune_id)
        if fmt == "pdf":  # printed as the tune book prints: abcm2ps, then ps2pdf
            _write_once(path, tunebook_pdf(text, self.render_options.timeout_s * 2, what="the PDF page"))
        else:
            options = self.options_for(tune_id, query, text)
            render_tune(practice_text(text, query) if fmt in ("wav", "mid") else text, [fmt], self.store.folder,
                        stem, options)
            if fmt in ("wav", "mid"):  # the big files: the store may be over its size now
                self.store.prune()
        return path

    def options_for(self, tune_id: str, query: TuneQuery | None = None, text: str = "") -> RenderOptions:
        """The render options: the sound of the instrument the tune was written or moved for, the practice
        tempo and count-in, and for the score its layout and its wrong bars marked."""
        query = query or TuneQuery()
        sound = (self.store.meta(tune_id) or {}).get("settings", {}).get("instrument")
        options = dataclasses.replace(self.render_options, instrument=sound) if sound else self.render_options
        return dataclasses.replace(options, speed=query.tempo, count_in=query.count_in,
                                   marked_bars=wrong_bars(text), **layout_options(query.layout))

    def render(self, request: RenderRequest, settings: dict | None = None) -> dict:
        """Save the text as a new tune (an edit keeps its parent's settings, updated by `settings`)
        and draw its score."""
        meta = {"source": "render"}
        if request.parent:
            parent = self.store.meta(request.parent)
            if not parent:
                raise ApiError(404, "no such tune", "parent")
            meta = {**{k: v for k, v in parent.items() if k != "id"}, "parent": request.parent, "edited": True}
        if settings:
            meta["settings"] = {**meta.get("settings", {}), **settings}
        text = _plain_text(request.abc)
        tune_id = self.store.save(text, meta)
        out = self.tune_out(tune_id, text)
        options = dataclasses.replace(self.render_options, marked_bars=tuple(out["quality"].get("wrong_bars", ())),
                                      **layout_options(request.layout))
        stem = f"{tune_id}.phone" if request.layout == "phone" else tune_id  # as GET ...svg?layout=phone finds it
        try:
            result = render_tune(text, ["svg"], self.store.folder, stem, options)
        except ToolMissing:
            raise
        except RenderError as error:
            self.store.delete(tune_id)
            raise ApiError(422, str(error).removeprefix(f"{stem}: "), "abc") from None
        # What abcm2ps found is said with the checks, once, in the tune's own line numbers.
        out["quality"] = render_problems(result.warnings, out["quality"])
        return {**out, "svg": result.files["svg"].read_text(encoding="utf-8", errors="replace"),
                "warnings": result.warnings[:20]}

    def arrange(self, request: ArrangeRequest) -> dict:
        """The tune moved to a key or for an instrument and/or given chords, saved and drawn as an edit."""
        # Transposition moves the music after the K: line: a tune with music before its header would move in part.
        text, said = _with_key(_plain_text(request.abc)), []
        try:
            if request.instrument:
                text, shift = transpose_for(text, instrument(request.instrument))
                said.append(f"moved {shift:+d} semitones for the {request.instrument}" if shift else
                            f"already fits the {request.instrument}")
            elif request.key:
                text = transpose_to(text, request.key)
                said.append(f"moved to {parse_fields(text)['K']}")
            if request.chords:
                text = harmonize(text)
                said.append("chords added")
        except ValueError as error:
            raise ApiError(422, str(error), "abc") from None
        sound = {"instrument": request.instrument} if request.instrument else None
        drawn = self.render(RenderRequest(abc=text, parent=request.parent, layout=request.layout), sound)
        return {**drawn, "arranged": "; ".join(said)}

    def keep(self, request: KeepRequest) -> dict:
        """Keep the tune in the library with its settings and checks; the same music twice is said, not kept."""
        meta = self.store.meta(request.id)
        if not meta:
            raise ApiError(404, "no such tune", "id")
        text = _with_key(_plain_text(request.abc) if request.abc else self.store.text(request.id))
        if len(split_tunebook(text)) > 1:  # its blank lines are dropped, so a second X: would become a tune
            raise ApiError(422, "more than one tune (a second X: line); keep one tune at a time", "abc")
        edited = meta.get("edited") or (request.abc is not None and request.abc != self.store.text(request.id))
        try:
            kept = self.library.keep(tune_text(text, _kept_notes(meta, bool(edited))), settings=meta.get("settings"),
                                     checks=quality_record(text, self.index), model=meta.get("model") or "")
        except LibraryFull as error:
            raise ApiError(507, str(error)) from None
        except LibraryError as error:
            raise ApiError(422, str(error), "abc") from None
        entry = kept_entry(self.library.get(kept.id), with_abc=True)
        if kept.duplicate:
            entry |= {"already": True, "message": f"already kept, as tune {kept.id} ({entry['title'] or 'untitled'})"}
        return {"kept": entry, "path": str(self.library.path), "count": self.library.count()}

    # -- the library

    def kept_tune(self, kept_id: int) -> KeptTune:
        try:
            return self.library.get(kept_id)
        except UnknownKept:
            raise ApiError(404, "no such kept tune", "kept_id") from None

    def open_kept(self, kept_id: int) -> dict:
        """A kept tune as a new editable tune (its own id, as a generated one has), for the editor."""
        tune = self.kept_tune(kept_id)
        meta = {"source": "library", "kept": tune.id, "model": tune.model, "settings": tune.settings}
        tune_id = self.store.save(tune.abc, meta)
        return {**self.tune_out(tune_id, tune.abc), "kept": kept_entry(tune)}

    def update_kept(self, kept_id: int, change: KeptUpdate) -> dict:
        try:
            tune = self.library.update(kept_id, title=change.title, notes=change.notes, rating=change.rating)
        except UnknownKept:
            raise ApiError(404, "no such kept tune", "kept_id") from None
        except LibraryError as error:  # what the schema cannot see: a lone surrogate, a blank title after strip
            raise ApiError(422, str(error), "title" if "title" in str(error) else "notes") from None
        return kept_entry(tune, with_abc=True)

    def delete_kept(self, kept_id: int) -> dict:
        try:
            tune = self.library.delete(kept_id)
        except UnknownKept:
            raise ApiError(404, "no such kept tune", "kept_id") from None
        return {"deleted": kept_entry(tune), "count": self.library.count()}

    def kept_page(self, page: KeptPage) -> dict:
        tunes = self.library.list_tunes(page.offset, page.limit)
        return {"path": str(self.library.path), "count": self.library.count(), "offset": page.offset,
                "limit": page.limit, "tunes": [kept_entry(tune) for tune in tunes]}

    def kept_pdf(self) -> bytes:
        try:
            return self.library.export_pdf(timeout=self.render_options.timeout_s * 4)
        except ToolsMissing as error:
            raise ApiError(503, str(error)) from None
        except LibraryError as error:
            raise ApiError(500, str(error)) from None

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
            "jobs": {"generate": self.generation.state(), "co-writing": self.cowriting.state(),
                     "render": self.rendering.state(),
                     "sampler": {"tunes_waiting": self.sampler.waiting() if self.sampler else 0}},
            "kept": str(self.library.path),
            "library": {"count": self.library.count(), "pdf_tools_missing": pdf_tools_missing(),
                        "migration": self.library.migration.summary() if self.library.migration else None},
            "limits": {"num": 16, "max_chars": 4000, "abc_chars": MAX_ABC, "body_bytes": MAX_BODY},
            "form_options": [name for name in FORM_OPTIONS if name in sampler_options()],
            "instruments": {name: {"low": player.low, "high": player.high, "keys": list(player.keys)}
                            for name, player in INSTRUMENTS.items()},
        }


# ---------------------------------------------------------------- the app


def create_app(
    model_dir: Path | None,
    storage_dir: Path,
    *,
    data_dir: Path | None = None,
    max_jobs: int = 16,  # generate requests written at once, all in the sampler service's one batch
    max_waiting: int = 32,
    novelty: bool = True,
    allowed_hosts: Sequence[str] | None = None,
) -> FastAPI:
    """The workshop app. model_dir None: everything but generation works, and the page says how to train.

    storage_dir holds generated tunes by id; data_dir (default $TUNESMITH_HOME or
    ~/.local/share/tunesmith) holds the kept tunes' library.sqlite (an old kept.abc there is
    imported into it the first time). Generation runs max_jobs requests at a time (their
    tunes side by side in one batch: tunesmith.sample.service) with at most max_waiting queued
    behind them (then 429); fill, continue, vary and set run one at a time. novelty=False skips
    indexing the training tunes (no copied-bars figure). allowed_hosts: Host headers to accept (None: any).
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

    @app.get("/api/options")
    def options() -> dict:
        """The key roots and modes, metres and tune types the model can write (503 without a model), and
        `notes` saying why the others are not offered ("7/8 is not offered: the model never saw a '7'")."""
        return shop.menus()

    @app.post("/api/generate", response_model=GenerateResponse)
    async def generate_tunes(request: GenerateRequest) -> dict:
        """Write `num` tunes, side by side with other requests' in the sampler's batch; 429 when max_jobs run
        and max_waiting wait."""
        shop.check_characters(request)
        seed = _seed(request.seed)
        return await shop.generation.run(shop.generate, request, seed)

    _add_cowrite_routes(app, shop)

    @app.get("/api/tunes/{tune_id}.{fmt}", responses={200: {"content": {m: {} for m in MEDIA.values()}}})
    async def tune_file(
        query: Annotated[TuneQuery, Query()],
        tune_id: str = PathParam(pattern=ID_PATTERN, description="32 hex digits, as /api/generate gave it"),
        fmt: Literal["abc", "mid", "wav", "svg", "png", "pdf"] = PathParam(description="abc, mid, wav, svg, png "
                                                                                       "or pdf"),
    ) -> Response:
        """A tune as ABC text, MIDI, WAV audio, or its score as SVG, PNG or a printable PDF page (rendered on
        first request). For practice,
        `tempo` 50-150 % of its own, `count_in` a bar of clicks first, and only a `part` or bars `first`-`last`
        (to loop on the page); `layout=phone` draws the score for a narrow screen."""
        try:
            query.bars()
        except ValueError as error:
            raise ApiError(422, str(error), "bars") from None
        path = await shop.rendering.run(_rendered_or_error, shop, tune_id, fmt, query)
        return FileResponse(path, media_type=MEDIA[fmt])

    @app.post("/api/render", response_model=RenderResponse)
    async def render(request: RenderRequest) -> dict:
        """ABC text -> a new tune id with its SVG score inline and URLs for MIDI, WAV and the rest."""
        return await shop.rendering.run(_with_tool_errors, shop.render, request)

    @app.post("/api/arrange", response_model=ArrangeResponse)
    async def arrange(request: ArrangeRequest) -> dict:
        """A tune to a key or to the best key for an instrument, and/or with chords: a new tune id, drawn."""
        return await shop.rendering.run(_with_tool_errors, shop.arrange, request)

    @app.post("/api/keep")
    def keep(request: KeepRequest) -> dict:
        """Keep the tune in the library, its settings as N: lines; the same music kept again answers `already`."""
        return shop.keep(request)

    _add_library_routes(app, shop)


def _add_cowrite_routes(app: FastAPI, shop: Workshop) -> None:
    """Writing with a musician: each runs on the generation pool, as /api/generate does (429 when it is full)."""

    @app.post("/api/fill", response_model=CowriteResponse)
    async def fill_bars(request: FillRequest) -> dict:
        """The tune with `bars` [first, last] (full bars counted from 1) or a `part` ("B") written again,
        the rest kept byte for byte; give one of the two."""
        text = shop.cowrite_text(request)
        if request.bars is None and request.part is None:
            raise ApiError(422, "say which bars to write again: bars [first, last] or a part letter", "bars")
        if request.bars is not None and request.part is not None:
            raise ApiError(422, "give bars or a part to write again, not both", "bars")
        return await shop.cowriting.run(shop.fill_bars, request, text, _seed(request.seed))

    @app.post("/api/continue", response_model=CowriteResponse)
    async def continue_part(request: ContinueRequest) -> dict:
        """The tune with its next `part` (default B) written after its last, ending on the tonic."""
        text = shop.cowrite_text(request)
        return await shop.cowriting.run(shop.continue_part, request, text, _seed(request.seed))

    @app.post("/api/vary", response_model=CowriteResponse)
    async def vary_tune(request: VaryRequest) -> dict:
        """A variation: `amount` of the full bars written again, the main beats, cadences and pickups kept."""
        text = shop.cowrite_text(request)
        return await shop.cowriting.run(shop.vary_tune, request, text, _seed(request.seed))

    @app.post("/api/set", response_model=SetResponse)
    async def tune_set(request: SetRequest) -> dict:
        """`num` tunes of one `rhythm` whose keys move as sets do (from `key`, when given)."""
        shop.check_characters(request)
        return await shop.cowriting.run(shop.tune_set, request, _seed(request.seed))


MAX_COWRITE_BARS = 128


def _seed(seed: int | None) -> int:
    """The request's seed, or a fresh one (reported back, so the tune can be written again)."""
    return seed if seed is not None else fresh_seed()


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


KeptId = Annotated[int, PathParam(ge=1, le=MAX_KEPT_ID, description="the kept tune's number, as /api/kept lists it")]


def _add_library_routes(app: FastAPI, shop: Workshop) -> None:
    @app.get("/api/kept")
    def kept(page: Annotated[KeptPage, Query()]) -> dict:
        """The kept tunes, newest first, a page at a time (their ABC comes with GET /api/kept/{kept_id})."""
        return shop.kept_page(page)

    @app.get("/api/kept.abc", response_class=PlainTextResponse)
    def kept_book() -> PlainTextResponse:
        """Every kept tune as one tune book, oldest first, numbered X:1 to X:n."""
        return PlainTextResponse(shop.library.export_abc(),
                                 headers={"content-disposition": 'attachment; filename="kept.abc"'})

    @app.get("/api/kept.pdf", responses={200: {"content": {"application/pdf": {}}}})
    async def kept_pdf() -> Response:
        """The tune book as a printable PDF (abcm2ps and Ghostscript; 503 naming them when missing)."""
        pdf = await shop.rendering.run(shop.kept_pdf)
        return Response(pdf, media_type="application/pdf",
                        headers={"content-disposition": 'attachment; filename="kept.pdf"'})

    @app.get("/api/kept/{kept_id}")
    def kept_tune(kept_id: KeptId) -> dict:
        """One kept tune: its ABC, settings, checks, model, when it was kept, notes and rating."""
        return kept_entry(shop.kept_tune(kept_id), with_abc=True)

    @app.post("/api/kept/{kept_id}/open", response_model=OpenResponse)
    def open_kept(kept_id: KeptId) -> dict:
        """A kept tune back in the editor: a new tune id with its URLs, as /api/generate gives."""
        return shop.open_kept(kept_id)

    @app.patch("/api/kept/{kept_id}")
    def update_kept(kept_id: KeptId, change: KeptUpdate) -> dict:
        """Rename a kept tune (its T: line too), or change its notes or rating."""
        return shop.update_kept(kept_id, change)

    @app.delete("/api/kept/{kept_id}")
    def delete_kept(kept_id: KeptId) -> dict:
        """Delete a kept tune from the library."""
        return shop.delete_kept(kept_id)


def kept_entry(tune: KeptTune, with_abc: bool = False) -> dict:
    """A kept tune as the API shows it; `number` is its id, which stays its own while others come and go."""
    entry = {"id": tune.id, "number": tune.id, "title": tune.title, "created": tune.created, "model": tune.model,
             "rating": tune.rating, "notes": tune.notes}
    return entry | ({"abc": tune.abc, "settings": tune.settings, "checks": tune.checks} if with_abc else {})


def _kept_notes(meta: dict, edited: bool) -> list[str]:
    """The N: lines a keep adds: how it was made; none for a tune reopened from the library, which has its own."""
    if meta.get("source") == "library":
        return ["edited in the workshop after it was kept"] if edited else []
    return keep_notes(meta, edited)


def _with_key(text: str) -> str:
    """The tune, when its header has a K: line; else the 422 that says it is not an ABC tune."""
    if "K" not in parse_fields(text):
        raise ApiError(422, "no K: (key) line, so this is not an ABC tune", "abc")
    return text


def _with_tool_errors(fn: Callable, *args: object) -> object:
    try:
        return fn(*args)
    except ToolMissing as error:
        raise ApiError(503, str(error)) from None


def _write_once(path: Path, data: bytes) -> None:
    """Write a file whole or not at all, so a request beside this one never serves half of it."""
    part = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    part.write_bytes(data)
    part.replace(path)


def _rendered_or_error(shop: Workshop, tune_id: str, fmt: str, query: TuneQuery | None = None) -> Path:
    try:
        return _with_tool_errors(shop.rendered, tune_id, fmt, query)
    except ToolsMissing as error:  # the PDF page's tools (abcm2ps, ps2pdf)
        raise ApiError(503, str(error)) from None
    except LibraryError as error:
        raise ApiError(422, str(error), "abc") from None
    except UnknownTune:
        raise ApiError(404, "no such tune", "tune_id") from None
    except PracticeError as error:
        raise ApiError(422, str(error), error.field) from None
    except RenderError as error:
        raise ApiError(422, re.sub(rf"^{tune_id}(\.\w+)?: ", "", str(error)), "abc") from None


# ---------------------------------------------------------------- practice and phones


class PracticeError(ValueError):
    """Bars or a part the tune does not have, said about the query field that named them."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def practice_text(text: str, query: TuneQuery) -> str:
    """The tune, or its header and only the part or bars the query names (the page loops them)."""
    bars = query.bars()
    if bars is None:
        return text
    try:
        first, end = bar_span(text, bars)
    except ValueError as error:
        raise PracticeError(_one_line(error), "part" if isinstance(bars, str) else "first") from None
    cuts = split_at_bars(text)
    return text[: cuts[0]] + text[cuts[first] : cuts[end]].strip("\n") + "\n"


def layout_options(layout: str) -> dict:
    return PHONE_SCORE if layout == "phone" else {}


def wrong_bars(text: str) -> tuple[int, ...]:
    """The bars (as read_tune counts them) whose notes do not add up, to draw them red in the score."""
    if not text:
        return ()
    from tunesmith.abc.reader import read_tune
    from tunesmith.judge.quality import metre_report

    return tuple(bar.index for bar in metre_report(read_tune(text).bars)["wrong_bars"])
