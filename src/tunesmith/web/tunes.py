"""What the workshop says about one tune: its file URLs, its checks, its text made safe to store,
and the N: lines it is kept with."""

from __future__ import annotations

import json

from tunesmith.web.schema import ApiError

MEDIA = {"abc": "text/plain; charset=utf-8", "mid": "audio/midi", "wav": "audio/wav", "svg": "image/svg+xml"}


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
