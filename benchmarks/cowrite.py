"""Writing with a musician, measured on held-out real tunes of two books.

    python -m benchmarks.cowrite --model runs/shipped-fim --tunes 200 --json benchmarks/results/cowrite.json

Books: the model's own held-out tunes (its split's validation and test tunes) and irish.abc (the MIT
lab's book, never trained on) where ../shared has it. For each book:

- infilling bits per character of the true hidden bars (bars 5-8, and the B part), given both sides
  of the gap against the left side only (tunesmith.learn.infill_scoring): lower with both sides is
  the proof that the model reads the bars after the gap;
- `fill` of bars 5-8 and of the B part: the tunes whose bars the gap constraint can line up
  (tunesmith.abc.gaps), and of the filled ones every bar right (the checker), abc2midi clean (where it
  is installed), kept bars unchanged, and the seconds per fill (4 candidates in one batch);
- `continue`: a B part for each tune's A part: bars right, abc2midi clean, ends on the tonic;
- `vary --amount 0.3`: main-beat notes kept, bars right, and the classifier two-sample test of the
  musical-quality report (tunesmith.judge.realism) on the variations, against the tunes they vary and
  against as many other real tunes of the book (0.5: it cannot tell them apart);
- `set`: sets of three reels and of three jigs, keys a fourth/fifth/same apart, one metre, no two
  tunes sharing 4 bars.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.common import report
from tunesmith.abc.gaps import GapError
from tunesmith.abc.reader import bar_verdicts, read_tune
from tunesmith.abc.text import parse_fields
from tunesmith.data.forms import part_endings
from tunesmith.data.infill import part_starts, split_at_bars

IRISH = Path(__file__).resolve().parents[2] / "shared" / "data" / "irish.abc"
PARTS = ["fill", "continue", "vary", "set"]


def _bars_right(text: str) -> bool:
    return all(bar_verdicts(read_tune(text).bars))


def _clean(texts: list[str]) -> list[bool] | None:
    from tunesmith.judge.quality import has_abc2midi, run_abc2midi

    if not has_abc2midi():
        return None
    with ThreadPoolExecutor(2) as pool:  # abc2midi is a subprocess: two at once on two cores
        return [errors == 0 for errors, _ in pool.map(run_abc2midi, texts)]


def _abc2midi_figures(written: list[str], originals: list[str]) -> dict:
    """abc2midi on the results, on the tunes they came from, and on the results of the tunes abc2midi read
    cleanly before: the kept bars of a real tune carry its own errors, which no fill can mend."""
    after, before = _clean(written), _clean(originals)
    if after is None or not written:
        return {"abc2midi clean": None}
    was_clean = [a for a, b in zip(after, before) if b]
    return {"abc2midi clean": _share(sum(after), len(after)),
            "abc2midi clean, the tunes they came from": _share(sum(before), len(before)),
            "abc2midi clean where the tune was": _share(sum(was_clean), len(was_clean))}


def _share(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def fill_figures(model, texts: list[str], bars, seed: int) -> dict:
    from tunesmith.sample.cowriting import bar_span, fill

    filled, originals, kept, refused, failed, seconds = [], [], 0, 0, 0, 0.0
    for i, text in enumerate(texts):
        try:
            first, end = bar_span(text, bars)
            started = time.perf_counter()
            written = fill(model, text, bars, seed=seed + i)
            seconds += time.perf_counter() - started
        except GapError as error:
            failed += "no candidate" in str(error)
            refused += "no candidate" not in str(error)
            continue
        cuts = split_at_bars(text)
        prefix, suffix = text[: cuts[first]], text[cuts[end]:]
        kept += (written.text.startswith(prefix) and written.text.endswith(suffix)
                 and len(written.text) >= len(prefix) + len(suffix)
                 and len(split_at_bars(written.text)) == len(cuts))
        filled.append(written.text)
        originals.append(text)
    return {"tunes": len(texts), "refused (bars not lined up, or no such bars)": refused,
            "no candidate finished": failed, "filled": len(filled),
            "every bar right": _share(sum(map(_bars_right, filled)), len(filled)),
            **_abc2midi_figures(filled, originals), "kept bars unchanged, as many bars": _share(kept, len(filled)),
            "seconds per fill": round(seconds / max(len(filled), 1), 3)}


def continue_figures(model, texts: list[str], seed: int) -> dict:
    from tunesmith.sample.cowriting import continue_tune

    written, originals, refused, tonic, seconds = [], [], 0, 0, 0.0
    for i, text in enumerate(texts):
        cuts = split_at_bars(text)
        starts = part_starts(text, len(cuts) - 1) if cuts else []
        if len(starts) < 2:
            refused += 1
            continue
        a_part = text[: cuts[starts[1]]].rstrip()
        try:
            started = time.perf_counter()
            tune = continue_tune(model, a_part, "B", seed=seed + i).text
            seconds += time.perf_counter() - started
        except GapError:
            refused += 1
            continue
        written.append(tune)
        originals.append(a_part)
        tonic += part_endings(tune)[-1:] == [1]
    return {"tunes": len(texts), "refused": refused, "written": len(written),
            "every bar right": _share(sum(map(_bars_right, written)), len(written)),
            **_abc2midi_figures(written, originals), "ends on the tonic": _share(tonic, len(written)),
            "seconds per B part": round(seconds / max(len(written), 1), 3)}


def vary_figures(model, texts: list[str], seed: int, amount: float = 0.3, others: list[str] = ()) -> dict:
    """Variations of texts: main-beat notes kept, bars right, seconds, and the two-sample test of the
    variations against their own tunes and against `others` (real tunes of the book not varied)."""
    from tunesmith.sample.cowriting import kept_beats, vary

    shares, right, refused, seconds, varied, originals = [], 0, 0, 0.0, [], []
    for i, text in enumerate(texts):
        try:
            started = time.perf_counter()
            variation = vary(model, text, amount, seed=seed + i).text
            seconds += time.perf_counter() - started
        except GapError:
            refused += 1
            continue
        kept, total = kept_beats(text, variation)
        shares.append(kept / max(total, 1))
        right += _bars_right(variation)
        varied.append(variation)
        originals.append(text)
    shares.sort()
    unvaried = list(others)[:len(varied)]  # as many real tunes of the book, none of them varied
    return {"tunes": len(texts), "refused": refused, "varied": len(shares), "amount": amount,
            "main-beat notes kept, mean": round(sum(shares) / max(len(shares), 1), 4),
            "kept, 10th-90th percentile": [round(shares[len(shares) // 10], 4), round(shares[9 * len(shares) // 10], 4)]
            if shares else None,
            "share within 60-90 %": _share(sum(0.6 <= s <= 0.9 for s in shares), len(shares)),
            "every bar right": _share(right, len(shares)),
            "seconds per variation": round(seconds / max(len(shares), 1), 2),
            **_told_apart(varied, {"the tunes varied": originals, "other real tunes": unvaried}, seed),
            # What the test gives for real against real: the tunes varied against the same other tunes.
            "baseline": _told_apart(originals, {"other real tunes": unvaried}, seed)}


MIN_C2ST_TUNES = 20  # per side: fewer, and five folds say nothing


def _told_apart(written: list[str], real_sets: dict[str, list[str]], seed: int) -> dict:
    """Classifier two-sample accuracy (gradient-boosted trees, 5-fold) of written against each real set."""
    from tunesmith.judge.realism import features, two_sample_test

    mine = [features(text) for text in written]
    found = {}
    for name, real in real_sets.items():
        if min(len(mine), len(real)) >= MIN_C2ST_TUNES:
            test = two_sample_test(mine, [features(text) for text in real], seed)
            found[f"classifier accuracy against {name}"] = {
                "gradient_boosting": test["gradient_boosting"], "logistic_regression": test["logistic_regression"],
                "tunes": test["tunes"], "gives_away": [row["feature"] for row in test["gives_away"][:3]]}
    return found


def set_figures(model, rhythm: str, count: int, seed: int) -> dict:
    from tunesmith.judge.sets import SET_STEPS, key_step, make_set, shared_bars

    good_keys = one_metre = apart = 0
    for i in range(count):
        made = make_set(model, rhythm, 3, seed=seed + i)
        good_keys += all(key_step(a, b) in SET_STEPS for a, b in zip(made.keys, made.keys[1:]))
        one_metre += len({parse_fields(s.text).get("M") for s in made.tunes}) == 1
        apart += shared_bars([s.text for s in made.tunes]) < 4
    return {"sets": count, "keys a fourth, fifth or same apart": _share(good_keys, count),
            "one metre": _share(one_metre, count), "no two tunes sharing 4 bars": _share(apart, count)}


def books(model, tunes: int) -> dict[str, list[str]]:
    from tunesmith.data.corpus import load_corpus
    from tunesmith.judge.evaluation import heldout_texts

    found = {"own held-out": heldout_texts(model)[1][:tunes]}
    if IRISH.is_file():
        found["irish.abc"] = [t.text for t in load_corpus(str(IRISH)).tunes][:tunes]
    return found


def main() -> None:
    from tunesmith.learn.infill_scoring import infill_bits
    from tunesmith.store.checkpoint import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--tunes", type=int, default=200, help="held-out tunes per book")
    parser.add_argument("--continued", type=int, default=100, help="tunes per book whose A part is continued")
    parser.add_argument("--varied", type=int, default=30, help="tunes per book to vary")
    parser.add_argument("--sets", type=int, default=10, help="sets per tune type")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", choices=PARTS, default=PARTS, help="measure these alone")
    parser.add_argument("--json")
    args = parser.parse_args()
    model = load_model(args.model)
    figures: dict = {"model": args.model}
    for name, texts in books(model, args.tunes).items():
        book: dict = {}
        for label, bars in (("bars 5-8", (5, 8)), ("B part", "B")) if "fill" in args.only else ():
            score = infill_bits(model, texts, bars)
            book[f"infill bits/char, {label}"] = {"both sides": score.both_sides and round(score.both_sides, 4),
                                                  "left only": round(score.left_only, 4), "tunes": score.tunes}
            book[f"fill {label}"] = fill_figures(model, texts, bars, args.seed)
            print(name, label, book[f"infill bits/char, {label}"], book[f"fill {label}"], flush=True)
        if "continue" in args.only:
            book["continue"] = continue_figures(model, texts[: args.continued], args.seed)
        if "vary" in args.only:
            book["vary"] = vary_figures(model, texts[: args.varied], args.seed, others=texts[args.varied:])
        print(name, book.get("continue"), book.get("vary"), flush=True)
        figures[name] = book
    if "set" in args.only:
        figures["sets"] = {rhythm: set_figures(model, rhythm, args.sets, args.seed) for rhythm in ("reel", "jig")}
    report(figures, args.json)


if __name__ == "__main__":
    main()
