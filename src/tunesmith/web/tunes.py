"""What the workshop says about one tune and its model: a tune's file URLs, its checks (one message
per problem, in the tune's own line numbers), its text made safe to store and the N: lines it is
kept with; the model's menus (what it can write, and why the rest is not offered) and its
description in a musician's words."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from tunesmith.abc.text import meter_fraction
from tunesmith.web.schema import METER_PATTERN, RHYTHM_PATTERN, ApiError

MEDIA = {"abc": "text/plain; charset=utf-8", "mid": "audio/midi", "wav": "audio/wav", "svg": "image/svg+xml",
         "png": "image/png", "pdf": "application/pdf"}


def tune_urls(tune_id: str) -> dict[str, str]:
    return {fmt: f"/api/tunes/{tune_id}.{fmt}" for fmt in MEDIA}


def quality_record(text: str, index: object = None) -> dict:
    """The checks for one tune: valid (by every check: it reads, and every bar adds up), bars correct,
    its form, copied bars (when indexed), and `problems`, one per problem with the tune's own line
    (and bar) numbers; `remarks` are what the tools said that is no problem ("Assuming repeat")."""
    from tunesmith.judge.quality import check_tune

    try:
        report = check_tune(text, index=index)
        problems, remarks = tune_problems(text, report)
    except Exception as error:  # the checker must never take a page down
        return {"valid": False, "error": f"{type(error).__name__}: {error}", "problems": [], "remarks": []}
    return {
        "valid": report.syntax_ok and report.metre_ok and not problems, "syntax_ok": report.syntax_ok,
        "bars_correct": report.bars_correct, "bars_total": report.bars_total, "metre_ok": report.metre_ok,
        "wrong_bars": [bar.index for bar in report.wrong_bars],
        "bars_per_section": list(report.bars_per_section), "aabb": report.aabb,
        "copied_bars": report.longest_copy, "copied": report.copied,
        "problems": problems[:MAX_PROBLEMS], "remarks": remarks[:MAX_PROBLEMS],
    }


# ---------------------------------------------------------------- problems, in the tune's own lines

MAX_PROBLEMS = 12
ABC2MIDI_LINE = re.compile(r"^(?P<kind>Error|Warning) in line-char (?P<line>\d+)-\d+ : (?P<msg>.*)$")
RENDER_LINE = re.compile(r"^(?P<tool>abc2midi|abcm2ps): (?:line (?P<line>\d+): )?(?:(?P<kind>Error|Warning): )?"
                         r"(?P<msg>.*)$")
# What the tools say about a tune that plays and reads as meant: a B part that opens without |:,
# abcm2ps fitting a line to the page; and abc2midi's own bar lengths, which the bar check says once,
# counted as players count (abc2midi counts through the repeats).
NOT_PROBLEMS = re.compile(r"Assuming repeat|replacing \S+ with|Line (?:over|under)full|Bar \d+ has .* units|"
                          r"Track \d+ is .* quarter notes long|^No (?:T|X): ")


def tune_problems(text: str, report: object) -> tuple[list[dict], list[dict]]:
    """(problems, remarks) of a check_tune report, each {"line", "bar", "message"}; line and bar None
    where no one line or bar is meant. One message per problem: a tool's complaint about a line the
    reader already named, or about a bar the bar check found, is the same problem said twice."""
    lines = text.replace("\r\n", "\n").split("\n")
    problems = [_said(None, None, f"no {letter}: line ({FIELD_NAMES.get(letter, letter)})")
                for letter in report.missing_fields]
    problems += [_said(_line_holding(lines, problem), None, problem) for problem in report.problems]
    problems += _wrong_bar_problems(text, report.wrong_bars)
    remarks: list[dict] = []
    tool_lines = [i + 1 for i, line in enumerate(lines) if not line.startswith("R:")]  # abc2midi is given no R:
    for message in report.abc2midi_messages:
        said = _abc2midi_said(message, tool_lines)
        _file(said, problems, remarks)
    return problems, remarks


FIELD_NAMES = {"X": "the tune's number", "M": "the metre", "K": "the key"}


def _said(line: int | None, bar: int | None, message: str) -> dict:
    where = f"line {line}" + (f", bar {bar}" if bar else "") if line else (f"bar {bar}" if bar else "")
    return {"line": line, "bar": bar, "message": message, "text": f"{where}: {message}" if where else message}


def _file(said: dict, problems: list[dict], remarks: list[dict]) -> None:
    """A tool's message as a problem, or as a remark when it is none or names a line already said."""
    if NOT_PROBLEMS.search(said["message"]):
        remarks.append(said)
    elif said["line"] is not None and any(p["line"] == said["line"] for p in problems):
        remarks.append(said)  # the same line's problem, as another tool words it
    else:
        problems.append(said)


def _abc2midi_said(message: str, tool_lines: Sequence[int]) -> dict:
    match = ABC2MIDI_LINE.match(message)
    if not match:
        return _said(None, None, message.removeprefix("Error: ").removeprefix("Warning: "))
    index = int(match["line"]) - 1
    line = tool_lines[index] if 0 <= index < len(tool_lines) else None  # past the end: the whole tune
    return _said(line, None, match["msg"].strip())


def render_problems(warnings: Iterable[str], quality: dict) -> dict:
    """The quality record with what the score's renderer said folded in, one message per problem."""
    problems, remarks = list(quality.get("problems", [])), list(quality.get("remarks", []))
    for warning in warnings:
        match = RENDER_LINE.match(warning)
        line = int(match["line"]) if match and match["line"] else None
        said = _said(line, None, match["msg"] if match else warning)
        _file(said, problems, remarks)
    valid = quality.get("valid", False) and len(problems) == len(quality.get("problems", []))
    return {**quality, "valid": valid, "problems": problems[:MAX_PROBLEMS], "remarks": remarks[:MAX_PROBLEMS]}


def _line_holding(lines: Sequence[str], problem: str) -> int | None:
    """The first body line holding what a reader's problem quotes ('chord without notes "[]"'), if any."""
    quoted = re.search(r"'([^']+)'|\"([^\"]+)\"", problem)
    if not quoted:
        return None
    snippet = quoted.group(1) or quoted.group(2)
    body = next((i for i, line in enumerate(lines) if line.startswith("K:")), 0) + 1
    return next((i + 1 for i in range(body, len(lines)) if snippet in lines[i]), None)


def _wrong_bar_problems(text: str, wrong: Sequence[object]) -> list[dict]:
    """A problem for each bar whose notes do not add up, at its line and numbered as players count
    (a pickup is no bar of the count), as "Write bars again" numbers them."""
    from tunesmith.data.infill import counted_bars, split_at_bars

    cuts = split_at_bars(text)
    try:
        counted = counted_bars(text)
    except ValueError:  # a tune the reader counts otherwise than its bar lines
        counted = []
    problems = []
    for bar in wrong:
        line, number = None, None
        if 0 < bar.index < len(cuts):
            start = cuts[bar.index - 1]
            start += len(text[start:]) - len(text[start:].lstrip())  # the bar's first sign, not the line before
            line = text.count("\n", 0, start) + 1
            number = counted.index(bar.index - 1) + 1 if bar.index - 1 in counted else None
        expected = "no bar length (no M:)" if bar.expected == "none" else f"{_whole_notes(bar.expected)} a bar"
        what = "" if number else "the pickup: "
        problems.append(_said(line, number, f"{what}the notes add up to {_whole_notes(bar.found)}, not {expected}"))
    return problems


def _whole_notes(value: str) -> str:
    return "1 whole note" if value == "1" else f"{value} of a whole note"


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


# ---------------------------------------------------------------- the model's menus

KEY_ROOTS = ("C", "C#", "Db", "D", "Eb", "E", "F", "F#", "Gb", "G", "Ab", "A", "Bb", "B")
KEY_MODES = (("", "major"), ("m", "minor"), ("dor", "dorian"), ("mix", "mixolydian"))
# The metres a musician may look for; a model's own tune books may add others.
COMMON_METERS = ("C|", "C", "2/2", "2/4", "3/4", "4/4", "6/8", "9/8", "12/8", "3/8", "6/4", "3/2", "5/4", "7/8")
COMMON_TYPES = ("reel", "jig", "slip jig", "hornpipe", "polka", "slide", "waltz", "march", "strathspey",
                "mazurka", "barndance", "air")


def model_menus(characters: set[str], table: dict) -> dict:
    """The key, metre and tune-type menus of a model: only what it can write (every character in its
    vocabulary, the metre and type in its training tunes when it has a form table), and for each
    absent one a note saying why. characters: the model's vocabulary; table: its meta["forms"]."""
    rows = table.get("types", [])
    keys, key_notes = _key_menu(characters, rows)
    meters, meter_notes = _meter_menu(characters, rows)
    rhythms, rhythm_notes = _rhythm_menu(characters, rows)
    return {"key_roots": keys["roots"], "key_modes": keys["modes"], "meters": meters, "rhythms": rhythms,
            "notes": {"key": key_notes, "meter": meter_notes, "rhythm": rhythm_notes}}


def _never_saw(characters: set[str], value: str) -> str | None:
    """The first character of `value` the model never saw, said for a musician; None if it saw them all."""
    missing = next((ch for ch in value if ch not in characters), None)
    return None if missing is None else f"the model never saw a {missing!r}" if missing != " " else \
        "the model never saw a space"


def _key_menu(characters: set[str], rows: list[dict]) -> tuple[dict, list[str]]:
    notes = []
    roots = [root for root in KEY_ROOTS if not _never_saw(characters, f"K:{root}")]
    notes += [f"{root} is not offered: {_never_saw(characters, f'K:{root}')}" for root in KEY_ROOTS
              if root not in roots]
    modes = [{"value": mode, "label": name} for mode, name in KEY_MODES if not _never_saw(characters, mode)]
    notes += [f"{name} is not offered: {_never_saw(characters, mode)}" for mode, name in KEY_MODES
              if not any(m["value"] == mode for m in modes)]
    counts: Counter = Counter()
    for row in rows:
        counts.update(row.get("keys", {}))
    if counts:
        notes.append("most of its tunes are in " + ", ".join(key for key, _ in counts.most_common(6)))
    return {"roots": roots, "modes": modes}, notes


def _meter_menu(characters: set[str], rows: list[dict]) -> tuple[list[dict], list[str]]:
    tunes: Counter = Counter()
    for row in rows:
        tunes[row["meter"]] += row["tunes"]
    candidates = [m for m, _ in tunes.most_common() if _writable_meter(m)] or list(COMMON_METERS)
    candidates += [m for m in COMMON_METERS if m not in candidates]
    offered, notes = [], []
    for meter in candidates:
        why = _never_saw(characters, f"M:{meter}")
        if why is None and rows and not tunes[meter]:
            why = "none of its training tunes is in it"
        if why:
            notes.append(f"{meter} is not offered: {why}")
        else:
            offered.append({"value": meter, "label": _counted(meter, tunes[meter]), "tunes": tunes[meter]})
    return offered, notes


def _writable_meter(meter: str) -> bool:
    return bool(re.fullmatch(METER_PATTERN, meter)) and meter_fraction(meter) is not None


def _rhythm_menu(characters: set[str], rows: list[dict]) -> tuple[list[dict], list[str]]:
    if _never_saw(characters, "R:"):
        return [], ["no tune type is offered: the model's training tunes have no R: (tune type) lines"]
    tunes: Counter = Counter()
    for row in rows:
        if row["rhythm"] and re.fullmatch(RHYTHM_PATTERN, row["rhythm"]):
            tunes[row["rhythm"]] += row["tunes"]
    candidates = [r for r, _ in tunes.most_common()] if rows else list(COMMON_TYPES)
    offered, notes = [], []
    for rhythm in candidates:
        why = _never_saw(characters, f"R:{rhythm}")
        if why:
            notes.append(f"{rhythm} is not offered: {why}")
        else:
            offered.append({"value": rhythm, "label": _counted(rhythm, tunes[rhythm]), "tunes": tunes[rhythm]})
    absent = [t for t in COMMON_TYPES if rows and t not in tunes]
    if absent:
        notes.append(f"{', '.join(absent)}: not offered, as its training tunes have none")
    return offered, notes


def _counted(name: str, tunes: int) -> str:
    return f"{name} ({tunes:,} tune{'s' if tunes != 1 else ''})" if tunes else name


# ---------------------------------------------------------------- the model, in a musician's words

BOOK_NAMES = {
    "oneills": "O'Neill's Music of Ireland", "ryans": "Ryan's Mammoth Collection",
    "airds": "Aird's Selection of Scotch, English, Irish and Foreign Airs", "essen": "the Essen folk song collection",
    "irish": "the MIT lab's irish.abc",
}
# The shipped model's card (MODEL.md, "How good it is"): 200 tunes at generate's defaults, best of 4.
SHIPPED_TUNES = {"tunes": 200, "bars_right": 1.0, "reads_clean": 1.0, "ends_on_tonic": 0.805, "copied": 0.0,
                 "classifier": 0.72}


def describe_model(meta: dict, shipped: bool) -> dict:
    """What a musician reads about a model: what it learnt from, and how good its tunes are."""
    data = meta.get("data", {})
    books = [BOOK_NAMES.get(str(name), Path(str(name)).name) for name in data.get("data") or []]
    train = (data.get("split") or {}).get("train")
    learnt = f"learnt from {train:,} tunes of " if train else "learnt from "
    trained_on = learnt + (_and(books) if books else "tune books not recorded")
    if shipped:
        q = SHIPPED_TUNES
        quality = (f"Of {q['tunes']} tunes it wrote, every bar adds up in {q['bars_right']:.0%}, "
                   f"{q['reads_clean']:.1%} play without an error and {q['ends_on_tonic']:.1%} end on the key note; "
                   f"none copies four bars of a tune it learnt from. A classifier told them from real tunes "
                   f"{q['classifier']:.0%} of the time (50 % would mean it could not).")
    else:
        quality = ("Its tunes have not been measured yet (`tunesmith evaluate --model RUN`); each tune's own "
                   "checks are shown with it.")
    return {"trained_on": trained_on, "quality": quality}


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
