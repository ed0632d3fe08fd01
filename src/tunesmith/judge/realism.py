"""How far generated tunes are from real ones, judged on their music and not on rules.

- `features(text)`: what a player hears in a tune, as numbers: pitch classes as semitones
  above the tonic (a tune in Bb and one in D compare), melodic intervals, note lengths,
  range, length, how the tune ends, how much it repeats its own bars.
- `overlaps(generated, real)`: the overlapping area of each histogram between two sets of
  tunes (Yang & Lerch 2020, "On the evaluation of generative models in music"): 1 = the same.
- `two_sample_test(generated, real)`: a classifier two-sample test (C2ST; Lopez-Paz & Oquab
  2017). Logistic regression and gradient-boosted trees learn to tell the two sets apart on
  the features, 5-fold cross-validated; 0.5 accuracy means they cannot. The features that
  separate them most say what gives the generated tunes away. Needs scikit-learn.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from fractions import Fraction

from tunesmith.abc.reader import ReadTune, ends_on_tonic, read_tune
from tunesmith.abc.text import parse_fields
from tunesmith.abc.theory import key_centre
from tunesmith.judge.quality import bar_shapes

INTERVALS = range(-12, 13)  # semitones; leaps beyond an octave count at +-12
# Note and rest lengths in whole notes (a sixteenth to a whole note, triplet quavers among them);
# anything else counts in a last bin.
LENGTHS = (Fraction(1, 16), Fraction(1, 12), Fraction(1, 8), Fraction(3, 16), Fraction(1, 4), Fraction(3, 8),
           Fraction(1, 2), Fraction(3, 4), Fraction(1))
HISTOGRAMS = ("degree", "interval", "length")
SHARES = ("repeats_exact", "repeats_transposed", "ends_on_tonic", "range", "bars")


def histograms(tune: ReadTune, key: str) -> dict[str, list[float]]:
    """Normalised histograms of scale degree (semitones above the tonic), interval and length."""
    centre = key_centre(key)
    tonic = centre[0] if centre else 0
    notes = [e for bar in tune.bars for e in bar.elements if e.pitch is not None]
    degree = Counter((e.pitch - tonic) % 12 for e in notes)
    interval = Counter(max(-12, min(12, b.pitch - a.pitch)) for a, b in zip(notes, notes[1:]))
    length = Counter(LENGTHS.index(e.duration) if e.duration in LENGTHS else len(LENGTHS)
                     for bar in tune.bars for e in bar.elements)
    return {"degree": _normal([degree[i] for i in range(12)]),
            "interval": _normal([interval[i] for i in INTERVALS]),
            "length": _normal([length[i] for i in range(len(LENGTHS) + 1)])}


def _normal(counts: list[int]) -> list[float]:
    total = sum(counts)
    return [c / total for c in counts] if total else [0.0] * len(counts)


def repetition(tune: ReadTune) -> dict[str, float]:
    """Share of bars that repeat an earlier bar of the tune exactly, and up to transposition."""
    bars = [bar for bar in tune.bars if bar.elements]
    exact = [tuple((e.pitch, e.duration) for e in bar.elements) for bar in bars]
    # A bar's shape without the step into it from the bar before: the same bar in another key.
    moved = [shape[1:] + ((None, shape[0][1]),) for shape in bar_shapes(bars)]
    return {"repeats_exact": _repeated(exact), "repeats_transposed": _repeated(moved)}


def _repeated(items: list) -> float:
    seen, again = set(), 0
    for item in items:
        again += item in seen
        seen.add(item)
    return again / len(items) if items else 0.0


def features(text: str) -> dict[str, float]:
    """One tune as named numbers: its three histograms, range, length, ending and repetition."""
    return tune_features(read_tune(text), parse_fields(text).get("K", ""))


def tune_features(tune: ReadTune, key: str) -> dict[str, float]:
    """features() of a tune already read (its K: field as key), for a caller that reads it for more."""
    pitches = tune.pitches
    row: dict[str, float] = {}
    for name, values in histograms(tune, key).items():
        row |= {f"{name}_{i}": value for i, value in enumerate(values)}
    row["range"] = max(pitches) - min(pitches) if pitches else 0
    row["bars"] = len(tune.bars)
    row["notes_per_bar"] = len(pitches) / max(len(tune.bars), 1)
    row["ends_on_tonic"] = float(ends_on_tonic(tune, key))
    return row | repetition(tune)


def pooled(rows: list[dict], name: str) -> list[float]:
    """One histogram of a set of tunes: each tune's shares summed, normalised (every tune weighs the same).

    Example: pooled([features(t) for t in tunes], "degree")[0] -> share of notes on the tonic."""
    columns = sorted((k for k in rows[0] if k.startswith(name + "_")), key=lambda k: int(k.rsplit("_", 1)[1]))
    return _normal([sum(row[column] for row in rows) for column in columns])


def overlaps(generated: list[dict], real: list[dict]) -> dict[str, float]:
    """Overlapping area of each pooled histogram between two sets of feature rows (1 = identical)."""
    return {name: round(sum(min(a, b) for a, b in zip(pooled(generated, name), pooled(real, name))), 4)
            for name in HISTOGRAMS}


def two_sample_test(generated: list[dict], real: list[dict], seed: int = 0, top: int = 5) -> dict:
    """Cross-validated accuracy of classifiers telling generated from real tunes, and what they lean on.

    Example: two_sample_test(model_rows, heldout_rows)["gradient_boosting"] -> 0.9 (easy to tell apart).
    """
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    names = sorted(generated[0])
    x = np.array([[row[name] for name in names] for row in [*generated, *real]])
    y = np.array([1] * len(generated) + [0] * len(real))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    trees = HistGradientBoostingClassifier(random_state=seed)
    result = {"tunes": {"generated": len(generated), "real": len(real)},
              "logistic_regression": round(float(cross_val_score(logistic, x, y, cv=folds).mean()), 3),
              "gradient_boosting": round(float(cross_val_score(trees, x, y, cv=folds).mean()), 3)}
    weights = logistic.fit(x, y)[-1].coef_[0]
    result["gives_away"] = [{"feature": names[i], "generated": round(float(x[y == 1, i].mean()), 3),
                             "real": round(float(x[y == 0, i].mean()), 3)}
                            for i in np.argsort(-np.abs(weights))[:top]]
    return result


def realism_report(generated: Sequence[str], real: Sequence[str], seed: int = 0) -> dict:
    """Histogram overlaps, repetition, ending, range and length of both sets, and the two-sample test."""
    mine, theirs = [features(t) for t in generated], [features(t) for t in real]

    def mean(rows: list[dict], name: str) -> float:
        return round(sum(row[name] for row in rows) / len(rows), 4)

    return {"overlap": overlaps(mine, theirs),
            "means": {name: {"generated": mean(mine, name), "real": mean(theirs, name)} for name in SHARES},
            "c2st": two_sample_test(mine, theirs, seed)}
