"""Asking for a tune and measuring what came back.

- `compare_sampling`: free and constrained sampling from one model with one seed, checked
  the same way (every bar right, abc2midi clean, AABB-8), with what the constraint cost:
  the model's own bits per character on its samples, rollbacks, and speed.
- `request_table`: tunes asked for by type, key, metre and form (a reel in D, AABB, 8 bars
  a part), and the share delivered as asked. Whether a "jig" is jig-like is judged by a
  rhythm profile, and the same judge is run on real tunes of that type, so its verdict can
  be read against what it says of the tunes the model learnt from.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from statistics import mean

from tunesmith.abc.grammar import Form
from tunesmith.abc.reader import ends_on_tonic as quality_ends_on_tonic
from tunesmith.abc.reader import read_tune
from tunesmith.abc.text import canonical_key, canonical_rhythm, parse_fields
from tunesmith.abc.theory import key_centre
from tunesmith.judge.evaluation import rates
from tunesmith.judge.quality import check_tune
from tunesmith.learn.scoring import bits_per_char
from tunesmith.sample.sampling import SamplingSettings, sample_tunes
from tunesmith.store.checkpoint import TrainedModel

# The metre each tune type is written in, in the tune books Tunesmith reads.
RHYTHM_METERS = {
    "reel": "C", "hornpipe": "C", "jig": "6/8", "slip jig": "9/8", "slide": "12/8",
    "polka": "2/4", "waltz": "3/4", "mazurka": "3/4",
}
# The five requests: a common type in a common key, down to a rare key for its type.
DEFAULT_REQUESTS = (("reel", "D"), ("jig", "G"), ("hornpipe", "A dorian"), ("slip jig", "E minor"), ("polka", "Bb"))
AABB_8 = Form(parts=2, bars_per_part=8)
LIKE_SHARE = 0.5  # a jig, reel... moves mostly in its beat unit: at least half its notes quavers
IN_KEY = 0.8  # at least this share of notes in the scale of the key asked for


@dataclass(frozen=True)
class Request:
    rhythm: str
    key: str
    meter: str
    form: Form | None = AABB_8

    @classmethod
    def of(cls, rhythm: str, key: str, form: Form | None = AABB_8) -> Request:
        rhythm = canonical_rhythm(rhythm)
        if rhythm not in RHYTHM_METERS:
            raise ValueError(f"no metre known for tune type {rhythm!r}; known: {', '.join(RHYTHM_METERS)}")
        return cls(rhythm, key, RHYTHM_METERS[rhythm], form)

    def label(self) -> str:
        return f"{self.rhythm} / {canonical_key(self.key)}"


def compare_sampling(model: TrainedModel, samples: int = 200, seed: int = 0, temperature: float = 1.0,
                     reference: list[str] | None = None) -> dict:
    """Free vs constrained tunes from the same model and seed, and real tunes when given."""
    result = {}
    for mode, constrain in (("free", False), ("constrained", True)):
        settings = SamplingSettings(temperature=temperature, constrain=constrain)
        started = time.perf_counter()
        generated = sample_tunes(model, samples, settings=settings, seed=seed)
        seconds = time.perf_counter() - started
        texts = [sample.text for sample in generated]
        reports = [check_tune(text) for text in texts]
        shares = rates(reports, generated)
        shares["model_bpc"] = bits_per_char(model.network, model.vocab, texts)
        shares["chars_per_second"] = sum(len(text) for text in texts) / seconds
        shares["rollbacks_per_tune"] = mean(sample.rollbacks for sample in generated)
        shares["fallbacks_per_tune"] = mean(sample.fallbacks for sample in generated)
        shares["dead_ends"] = mean(sample.dead_end for sample in generated)
        result[mode] = shares
        result[f"{mode}_tunes"] = texts
    result["speed_ratio"] = result["constrained"]["chars_per_second"] / result["free"]["chars_per_second"]
    if reference:
        result["held-out real"] = rates([check_tune(text) for text in reference])
        result["held-out real"]["model_bpc"] = bits_per_char(model.network, model.vocab, reference)
    return result


def quaver_share(text: str) -> float:
    """Share of notes and rests lasting one quaver (as written, before tuplets stretch them)."""
    durations = [element.duration for bar in read_tune(text).bars for element in bar.elements]
    return sum(d == Fraction(1, 8) or d == Fraction(1, 12) for d in durations) / max(len(durations), 1)


def ends_on_tonic(text: str) -> bool:
    """Whether the last note is the tonic of K: -- a tonal centre, which notes-in-the-scale is not.

    Example: a tune in K:Bb ending on B flat -> True; one in K:Bb ending on F -> False.
    """
    return quality_ends_on_tonic(read_tune(text), parse_fields(text).get("K", ""))


# Krumhansl & Kessler's probe-tone ratings (1982), from the tonic up by semitones: how well each
# pitch class fits a major or minor key. The key whose profile correlates best with a tune's
# time spent on each pitch class is its estimated key (the Krumhansl-Schmuckler algorithm).
KEY_PROFILES = {
    "major": (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
    "minor": (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
}


def estimated_key(text: str) -> tuple[int, str] | None:
    """The key a tune sounds in, from its notes alone (Krumhansl-Schmuckler, weighted by duration).

    Example: a tune written under K:C whose notes circle G, B, D and F sharp -> (7, "major").
    """
    weights = [0.0] * 12
    for bar in read_tune(text).bars:
        for element in bar.elements:
            if element.pitch is not None:
                weights[element.pitch % 12] += float(element.duration)
    if not any(weights):
        return None
    scores = {(tonic, mode): _correlation(weights[tonic:] + weights[:tonic], profile)
              for mode, profile in KEY_PROFILES.items() for tonic in range(12)}
    return max(scores, key=scores.get)


def _correlation(xs: list[float], ys: tuple[float, ...]) -> float:
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys))
    spread = (sum((x - mean_x) ** 2 for x in xs) * sum((y - mean_y) ** 2 for y in ys)) ** 0.5
    return covariance / spread if spread else 0.0


def sounds_in_key(text: str) -> bool:
    """Whether the notes of a tune say the key its K: names (tonic and major/minor agree)."""
    centre = key_centre(parse_fields(text).get("K", ""))
    return centre is not None and estimated_key(text) == centre


def verdict(text: str, request: Request) -> dict[str, bool]:
    """Was this tune what was asked for? One flag per part of the request, and all of them."""
    fields = parse_fields(text)
    report = check_tune(text)
    flags = {
        "header": (fields.get("K") == canonical_key(request.key) and fields.get("M") == request.meter
                   and canonical_rhythm(fields.get("R", "")) == request.rhythm),
        "valid": report.syntax_ok and not report.abc2midi_errors,  # None: abc2midi not installed
        "metre": report.metre_ok,
        "form": request.form is None or (
            report.bars_per_section == tuple(map(request.form.part_length, range(request.form.parts)))
            and (report.aabb or request.form.parts != 2 or request.form.bars_per_part != 8)),
        "rhythm_like": quaver_share(text) >= LIKE_SHARE,
        "in_key": report.in_key >= IN_KEY,
    }
    flags["delivered"] = all(flags.values())
    return flags


def request_table(model: TrainedModel, requests: list[Request], per_request: int = 20, seed: int = 0,
                  temperature: float = 1.0, real_tunes: list[str] | None = None) -> dict:
    """Share of tunes delivered as asked, per request; the rhythm judge's verdict on real tunes beside it."""
    table = {}
    for number, request in enumerate(requests):
        form = request.form
        generated = sample_tunes(
            model, per_request, key=request.key, meter=request.meter, rhythm=request.rhythm,
            settings=SamplingSettings(temperature=temperature), seed=seed + number, form=form,
        )
        flags = [verdict(sample.text, request) for sample in generated]
        row = {name: mean(flag[name] for flag in flags) for name in flags[0]}
        row["finished"] = mean(sample.finished for sample in generated)
        if real_tunes:
            same_type = [t for t in real_tunes if canonical_rhythm(parse_fields(t).get("R", "")) == request.rhythm]
            row["real_tunes_of_type"] = len(same_type)
            if same_type:
                row["real_rhythm_like"] = mean(quaver_share(t) >= LIKE_SHARE for t in same_type)
        row["tunes"] = [sample.text for sample in generated]
        table[request.label()] = row
    return table


def key_table(model: TrainedModel, keys: list[str], per_key: int = 50, seed: int = 0, temperature: float = 1.0,
              constrain: bool = True, real_tunes: list[str] | None = None) -> dict:
    """Tunes asked for in each key (K: only, the model picks the rest): the share that pass the
    checker, sound in the key (their notes say that tonic and mode), end on its tonic, and all
    of these. Real tunes written in the key, when there are any, get the same ear beside them.
    """
    table = {}
    for number, key in enumerate(keys):
        generated = sample_tunes(model, per_key, key=key, seed=seed + number,
                                 settings=SamplingSettings(temperature=temperature, constrain=constrain))
        texts = [sample.text for sample in generated]
        row = _key_rates(texts)
        wanted = key_centre(canonical_key(key))
        same_key = [t for t in real_tunes or [] if key_centre(parse_fields(t).get("K", "")) == wanted]
        row["real_tunes_in_key"] = len(same_key)
        if same_key:
            row["real_sounds_in_key"] = mean(sounds_in_key(t) for t in same_key)
        row["tunes"] = texts
        table[canonical_key(key)] = row
    return table


def _key_rates(texts: list[str]) -> dict[str, float]:
    reports = [check_tune(text) for text in texts]
    passes = [r.syntax_ok and r.metre_ok and not r.abc2midi_errors for r in reports]  # None: no abc2midi
    in_key = [sounds_in_key(text) for text in texts]
    return {
        "passes_checker": mean(passes),
        "sounds_in_key": mean(in_key),
        "ends_on_tonic": mean(ends_on_tonic(text) for text in texts),
        "in_key_and_passes": mean(a and b for a, b in zip(passes, in_key)),
    }


def format_key_table(table: dict) -> str:
    columns = ["passes_checker", "sounds_in_key", "ends_on_tonic", "in_key_and_passes", "real_sounds_in_key"]
    lines = ["| key | tunes in key (real) | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for key, row in table.items():
        cells = [f"{row[c]:.0%}" if c in row else "-" for c in columns]
        lines.append(f"| {key} | {row['real_tunes_in_key']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_request_table(table: dict) -> str:
    columns = ["header", "valid", "metre", "form", "rhythm_like", "in_key", "delivered", "real_rhythm_like"]
    lines = ["| request | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for label, row in table.items():
        cells = [f"{row[c]:.0%}" if c in row else "-" for c in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
