"""Forms and cadences learnt from a tune book, and drawn from for a request that names none.

A real reel is two 8-bar parts, each played twice, and it ends on its tonic; a model left to
itself writes whatever length comes and stops where it stops. So a run stores what its
training tunes look like (`form_table`, in the run's metadata as "forms") and `draw_request`
picks a tune type, a key, a form and the note each part ends on in the proportions the book has
(the keys of the book as written: a model trained on every transposition would otherwise choose
Db as often as D):

    {"types": [{"rhythm": "reel", "meter": "C|", "tunes": 250, "keys": {"D": 80, "G": 70, ...},
                "forms": {"2x8r": 150, "2x8": 40, "free": 60}}, ...],
     "cadences": {"reel": {"part": {"1": 90, "5": 60, ...}, "tune": {"1": 200, "5": 12, ...}}, ...},
     "phrases": {"2x8rp": {"0.4=0.0;0.5=0.1": 36, "": 17, ...}, ...}}

A form is written "<parts>x<bars per part>", "r" when every part ends with a repeat, "p" when
the tune starts with a pickup; "free" counts the tunes whose parts are not all alike. Those a form
can still hold (2 to 8 parts of 1 to 64 bars) are counted again by their shape in "shapes", each part
"<bars>" with "r" when it is repeated: "8r+16" is a repeated 8-bar part, then 16 bars played once
(an AABB tune whose B part's repeat is written out). A request is drawn such a shape as often as
the book has it, and never drawn free: the share of the tunes no form holds goes to the others in
proportion. Cadences are
scale degrees of the last note (1 = the tonic). Phrases are which bars a tune plays again, note
for note ("part.bar=part.bar", 0-based full bars of each part): in three reels of four, bar 5
is bar 1 again; the B part often ends as the A part does. A tune drawn a form gets one tune's
pattern of them, in the book's proportions.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

from tunesmith.abc.grammar import Form
from tunesmith.abc.reader import ReadTune, read_tune, section_shape
from tunesmith.abc.text import parse_fields
from tunesmith.abc.theory import LETTERS, SEMITONE, is_written_key, key_signature

FREE = "free"
FORM_KEY = re.compile(r"(\d+)x(\d+)(r?)(p?)")
SHAPE_KEY = re.compile(r"(\d+r?(?:\+\d+r?)+)(p?)")
MIN_TUNES = 10  # fewer tunes of a type than this: its forms are pooled with its metre's


@dataclass(frozen=True)
class Drawn:
    """What a request that left things open gets: the type's header fields and a form (None: free)."""

    key: str | None
    rhythm: str | None
    meter: str | None
    form: Form | None


def form_key(form: Form) -> str:
    """Example: Form(2, 8, repeats=True, pickup=False) -> "2x8r"; Form.of_shape(((8, True), (16, False))) -> "8r+16"."""
    pickup = "p" if form.pickup else ""
    if form.shape:
        return "+".join(f"{bars}{'r' if repeated else ''}" for bars, repeated in form.shape) + pickup
    return f"{form.parts}x{form.bars_per_part}{'r' if form.repeats else ''}{pickup}"


def parse_form(key: str) -> Form | None:
    """Example: "2x8rp" -> Form(2, 8, repeats=True, pickup=True); "8r+16" -> Form.of_shape(...); "free" -> None."""
    if match := FORM_KEY.fullmatch(key):
        parts, bars, repeats, pickup = match.groups()
        return Form(int(parts), int(bars), bool(repeats), bool(pickup))
    if (match := SHAPE_KEY.fullmatch(key)) is None:
        return None
    parts, pickup = match.groups()
    try:
        return Form.of_shape(((int(part.rstrip("r")), part.endswith("r")) for part in parts.split("+")),
                             bool(pickup))
    except ValueError:  # more parts or longer ones than a form holds
        return None


def tune_form(text: str) -> str:
    """The form key of a real tune, or "free" when its parts are not all alike (or too many)."""
    return _form_of(read_tune(text))


def _form_of(tune: ReadTune) -> str:
    return _regular(_shape_of(tune))


def _regular(shape: str) -> str:
    """A shape key as tune_form gives it: itself when its parts are alike, else "free"."""
    return shape if FORM_KEY.fullmatch(shape) else FREE


def _shape_of(tune: ReadTune) -> str:
    """The form key of a tune whatever its parts (a "+" shape when they differ); "free" when no form holds it."""
    sections = section_shape(tune)
    if sections and sections[0][0] == 0:  # a pickup before the first |: is not a part
        sections = sections[1:]
    if not 1 <= len(sections) <= 8 or not all(1 <= bars <= 64 for bars, _ in sections):
        return FREE
    first = tune.bars[0] if tune.bars else None
    pickup = first is not None and first.expected is not None and 0 < first.duration < first.expected
    return form_key(Form.of_shape(sections, pickup))


def scale_degree(pitch: int, key: str) -> int | None:
    """The degree (1-7) of a MIDI pitch in the scale of K:, None when it is outside it.

    Example: (62, "D") -> 1, (69, "D") -> 5, (65, "D") -> None (F natural in D major), (69, "Ador") -> 1.
    """
    signature = key_signature(key)
    tonic_letter = key.strip()[:1].upper()
    if signature is None or tonic_letter not in LETTERS:  # K:HP (Highland pipes), K:none
        return None
    tonic = LETTERS.index(tonic_letter)
    for letter in LETTERS:
        if (SEMITONE[letter] + signature[letter] - pitch) % 12 == 0:
            return (LETTERS.index(letter) - tonic) % 7 + 1
    return None


def part_endings(text: str) -> list[int | None]:
    """The scale degree of the last note of each part; the last item is the tune's own ending."""
    return endings_of(read_tune(text), parse_fields(text).get("K", ""))


def endings_of(tune: ReadTune, key: str) -> list[int | None]:
    """part_endings() of a tune already read (its K: field as key)."""
    degrees = []
    for bars in section_ends(tune.bars):
        pitches = [e.pitch for bar in bars for e in bar.elements if e.pitch is not None]
        degrees.append(scale_degree(pitches[-1], key) if pitches else None)
    return degrees


def section_ends(bars: list) -> list[list]:
    """The bars of each part: a part starts after a repeat or double bar that does not open a second
    ending; a lone pickup before the first |: is not a part."""
    parts: list[list] = []
    for bar in bars:
        if not parts or (bar.new_section and not (bar.ending and bar.ending >= 2)):
            parts.append([])
        parts[-1].append(bar)
    return [part for part in parts if len(part) > 1] or parts


def phrase_pattern(tune: ReadTune) -> str:
    """Which full bars repeat an earlier one note for note. Example: "0.4=0.0;0.5=0.1" (bars 5, 6 = 1, 2).

    Bars are counted within each part, leaving out a short first or last bar and endings (the
    sampler counts the same way, tunesmith.sample.phrases)."""
    seen: dict[tuple, str] = {}
    pattern = []
    for part, bars in enumerate(section_ends(tune.bars)):
        full = [bar for bar in bars if bar.elements and not bar.ending
                and (bar.expected is None or bar.duration == bar.expected)]
        for index, bar in enumerate(full):
            notes = tuple((e.pitch, e.duration) for e in bar.elements)
            if notes in seen:
                pattern.append(f"{part}.{index}={seen[notes]}")
            else:
                seen[notes] = f"{part}.{index}"
    return ";".join(pattern)


def parse_phrases(pattern: str) -> tuple[tuple[tuple[int, int], tuple[int, int]], ...]:
    """Example: "0.4=0.0;1.7=0.7" -> (((0, 4), (0, 0)), ((1, 7), (0, 7)))."""
    copies = []
    for item in filter(None, pattern.split(";")):
        bar, source = (tuple(int(n) for n in side.split(".")) for side in item.split("="))
        copies.append((bar, source))
    return tuple(copies)


def with_phrases(form: Form | None, table: dict, rng: random.Random) -> Form | None:
    """The form with the bars it plays again drawn from the book's tunes of that form (none if it has none)."""
    counts = table.get("phrases", {}).get(form_key(form)) if form is not None else None
    if not counts or form.copies:
        return form
    copies = tuple(c for c in parse_phrases(_choice(rng, counts))
                   if all(part < form.parts and bar < form.part_length(part) for part, bar in c)
                   and not (form.cadences and _ending_copy(form, c) and form.cadence(c[0][0]) != form.cadence(c[1][0])))
    return replace(form, copies=copies)


def _ending_copy(form: Form, copy: tuple[tuple[int, int], tuple[int, int]]) -> bool:
    """Whether a copied bar and the bar it plays again both end their parts (so end on one degree)."""
    return all(bar == form.part_length(part) - 1 for part, bar in copy)


def form_table(texts: Iterable[str]) -> dict:
    """What the tunes look like, by type: see the module docstring. Example: form_table(train_texts)."""
    types: dict[tuple[str, str], Counter] = {}
    keys: dict[tuple[str, str], Counter] = {}
    cadences: dict[str, dict[str, Counter]] = {}
    shapes: dict[tuple[str, str], Counter] = {}
    phrases: dict[str, Counter] = {}
    for text in texts:
        rhythm, meter, key, form, shape, endings, pattern = _summary(text)
        if not meter:
            continue
        types.setdefault((rhythm, meter), Counter())[form] += 1
        if form == FREE and shape != FREE:
            shapes.setdefault((rhythm, meter), Counter())[shape] += 1
        if shape != FREE:
            phrases.setdefault(shape, Counter())[pattern] += 1
        if is_written_key(key):  # only keys a request can ask for ("K:D clef=bass" is not one)
            keys.setdefault((rhythm, meter), Counter())[key] += 1
        counts = cadences.setdefault(rhythm, {"part": Counter(), "tune": Counter()})
        for degree in endings[:-1]:
            counts["part"][str(degree)] += 1
        if endings:
            counts["tune"][str(endings[-1])] += 1
    rows = [{"rhythm": rhythm, "meter": meter, "tunes": sum(forms.values()),
             "keys": dict(keys.get((rhythm, meter), Counter()).most_common()), "forms": dict(forms.most_common()),
             "shapes": dict(shapes.get((rhythm, meter), Counter()).most_common())}
            for (rhythm, meter), forms in types.items()]
    rows.sort(key=lambda row: -row["tunes"])
    return {"types": rows, "cadences": {r: {k: dict(c.most_common()) for k, c in v.items()}
                                         for r, v in cadences.items()},
            "phrases": {form: dict(counts.most_common()) for form, counts in phrases.items()}}


@lru_cache(maxsize=1 << 15)  # the same tune books are read by run after run in one process
def _summary(text: str) -> tuple[str, str, str, str, str, tuple[int | None, ...], str]:
    """(rhythm, metre, key, form, shape, part endings, phrase pattern) of one tune, read once."""
    fields, tune = parse_fields(text), read_tune(text)
    key, shape = fields.get("K", ""), _shape_of(tune)
    return (fields.get("R", ""), fields.get("M", ""), key, _regular(shape), shape, tuple(endings_of(tune, key)),
            phrase_pattern(tune))


def _choice(rng: random.Random, counts: dict[str, int]) -> str:
    keys = list(counts)
    return rng.choices(keys, weights=[counts[k] for k in keys])[0]


def _matching(rows: list[dict], rhythm: str | None, meter: str | None) -> list[dict]:
    """The table's types that fit what was asked, relaxing the metre and then the rhythm when none do."""
    if rhythm is None and meter is None:
        return rows
    for want_rhythm, want_meter in ((rhythm, meter), (rhythm, None), (None, meter)):
        if want_rhythm is None and want_meter is None:
            continue
        found = [row for row in rows if want_rhythm in (None, row["rhythm"]) and want_meter in (None, row["meter"])]
        if found:
            return found
    return []


def draw_key(table: dict, rng: random.Random, keys: tuple[str, ...], rows: list[dict] | None = None) -> str:
    """One of `keys`, in the proportions the book's tunes (of `rows`, default all) are in them, each
    counted one tune more so that a key the book never uses stays possible.
    Example: draw_key(table, rng, ("D", "G", "Em"))."""
    counts: Counter = Counter()
    for row in table.get("types", []) if rows is None else rows:
        counts.update({k: n for k, n in row.get("keys", {}).items() if k in keys})
    return _choice(rng, {k: counts.get(k, 0) + 1 for k in keys})


def draw_request(table: dict, rng: random.Random, rhythm: str | None = None, meter: str | None = None,
                 key: str | None = None, keys: tuple[str, ...] | None = None) -> Drawn:
    """A type, a key, a form and the cadences for one tune, drawn in the book's own proportions.

    What the request names is kept; a request that names neither rhythm nor metre gets a type
    drawn from the book, R: and M: both (so a form that suits it); one that names only a metre
    gets the forms of all the book's tunes in it, and its R: line is left to the model.
    keys: the keys a tune that names none may be in (a player's or a session's).
    Example: draw_request(table, rng, rhythm="reel")
    -> Drawn("D", "reel", "C|", Form(2, 8, repeats=True, pickup=False, cadences=(5, 1))).
    """
    rows = _matching(table.get("types", []), rhythm, meter)
    if not rows:
        return Drawn(key, rhythm, meter, None)
    pooled = [row for row in rows if row["tunes"] >= MIN_TUNES] or rows
    row = rng.choices(pooled, weights=[r["tunes"] for r in pooled])[0]
    drawn_type = rhythm is None and meter is None
    forms: Counter = Counter()
    for other in pooled:
        if other["meter"] == row["meter"] and (not drawn_type or other["rhythm"] == row["rhythm"]):
            forms.update(other["forms"])
            forms.update(other.get("shapes", {}))  # the irregular tunes a form holds, by their own shape
    # The tunes no form holds are drawn as the others in proportion: a model left without a form
    # rambles on to the length cap, which no tune book does.
    del forms[FREE]
    form = parse_form(_choice(rng, dict(forms))) if forms else None
    if form is not None:
        form = furnished(form, table, row["rhythm"], rng)
    chosen_rhythm = rhythm if rhythm is not None else (row["rhythm"] or None) if drawn_type else None
    if key is None and keys:
        chosen_key = draw_key(table, rng, keys, [row])
    else:
        chosen_key = key if key is not None else (_choice(rng, row["keys"]) if row.get("keys") else None)
    return Drawn(chosen_key or None, chosen_rhythm, meter if meter is not None else row["meter"], form)


def furnished(form: Form, table: dict, rhythm: str | None, rng: random.Random) -> Form:
    """The form with what it leaves open drawn from the book's tunes of that type and form: the bars it
    plays again, and the degree each part ends on. Example: furnished(Form(2, 8), table, "reel", rng)."""
    return _with_cadences(with_phrases(form, table, rng), table.get("cadences", {}).get(rhythm or ""), rng)


def _with_cadences(form: Form, counts: dict | None, rng: random.Random) -> Form:
    """The form with the degree each part ends on drawn from the book (None where it ends off the scale).

    A part whose last bar plays another part's last bar again ends as that part does: the earlier part
    takes the later one's degree (the B part ending as the A part did, home on the tonic). Drawn apart,
    the two degrees would differ in most tunes, and the sampler could not play that bar again."""
    if form.cadences or not counts or not counts.get("tune"):
        return form
    draw = [_choice(rng, counts["part"]) if counts.get("part") else "None" for _ in range(form.parts - 1)]
    draw.append(_choice(rng, counts["tune"]))
    cadences = [int(d) if d != "None" else None for d in draw]
    for copy in sorted(form.copies, reverse=True):  # the latest part first: its degree passes back
        if _ending_copy(form, copy):
            cadences[copy[1][0]] = cadences[copy[0][0]]
    return replace(form, cadences=tuple(cadences))
