"""The shipped model's numbers for MODEL.md: held-out bpc per book, unseen books, tune checks.

    python -m benchmarks.model_card [--model default] [--run runs/shipped] [--samples 200] [--json FILE]

- held-out bits per character on each book's test tunes (the run's own split, by tune);
- irish.abc (the MIT lab's book, never trained on), whole and its own seed-0 test split;
- float16 (as shipped) against the float32 run it was exported from, when --run is given;
- 200 tunes at the default settings (form auto, top-p 0.95), checked, beside the held-out real tunes;
- load_model("default") time, median of 5 (import time aside).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from tunesmith.data.corpus import corpus_name, data_fingerprint, load_corpus, split_by_tune
from tunesmith.judge.evaluation import rates
from tunesmith.judge.quality import NoveltyIndex, check_tune
from tunesmith.judge.realism import realism_report
from tunesmith.learn.scoring import bits_per_char
from tunesmith.sample.sampling import SamplingSettings, sample_tunes
from tunesmith.store.checkpoint import load_model

IRISH = Path(__file__).resolve().parents[2] / "shared" / "data" / "irish.abc"
ROWS = ("metre_ok", "abc2midi_clean", "ends_on_tonic", "aabb", "copied", "ended_at_end_marker", "mean_pitch_range")


def own_split(model):
    data = model.meta["data"]
    split = split_by_tune(load_corpus(data["data"]).tunes, seed=data.get("split_seed", 0))
    if data_fingerprint([t.text for t in split.train]) != data["fingerprint"]:
        raise SystemExit("the model's training data has changed since it was trained")
    return split


def per_book_bpc(model, tunes) -> dict[str, dict]:
    books: dict[str, list[str]] = {}
    for tune in tunes:
        books.setdefault(corpus_name(tune.source), []).append(tune.text)
    return {book: {"tunes": len(texts), "bpc": round(bits_per_char(model.network, model.vocab, texts), 4)}
            for book, texts in sorted(books.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--run", help="the float32 run the model was exported from")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write every figure here")
    parser.add_argument("--compare-free", action="store_true", help="also sample with form free (as before)")
    args = parser.parse_args()
    model = load_model(args.model)
    split = own_split(model)
    card: dict = {"data": model.meta["data"], "state": model.meta.get("state"), "split": split.sizes()}
    card["test_bpc"] = per_book_bpc(model, split.test)
    card["test_bpc_all"] = round(bits_per_char(model.network, model.vocab, [t.text for t in split.test]), 4)
    if args.run:
        fp32 = load_model(args.run)
        card["test_bpc_float32"] = round(bits_per_char(fp32.network, fp32.vocab, [t.text for t in split.test]), 4)
    if IRISH.is_file():
        irish = load_corpus(str(IRISH)).tunes
        card["irish_all_bpc"] = round(bits_per_char(model.network, model.vocab, [t.text for t in irish]), 4)
        card["irish_test_bpc"] = round(bits_per_char(model.network, model.vocab,
                                                     [t.text for t in split_by_tune(irish, seed=0).test]), 4)
    started = time.perf_counter()
    samples = sample_tunes(model, args.samples, seed=args.seed, form="auto", settings=SamplingSettings())
    seconds = time.perf_counter() - started
    index = NoveltyIndex(t.text for t in split.train)
    generated = rates([check_tune(s.text, index=index) for s in samples], samples)
    heldout = [t.text for t in split.valid + split.test][: args.samples]
    real = rates([check_tune(text, index=index) for text in heldout])
    card["checks"] = {"generated": generated, "held-out real": real}
    card["realism"] = realism_report([s.text for s in samples], heldout, args.seed)
    if args.compare_free:  # the same model and seed without a drawn form: how tunes came out before
        free = sample_tunes(model, args.samples, seed=args.seed, form="free", settings=SamplingSettings())
        card["checks_form_free"] = rates([check_tune(s.text, index=index) for s in free], free)
        card["realism_form_free"] = realism_report([s.text for s in free], heldout, args.seed)
    card["sampling"] = {"seconds": round(seconds, 1), "chars": sum(len(s.text) for s in samples),
                        "dead_ends": sum(s.dead_end for s in samples), "cut": sum(not s.finished for s in samples),
                        "cadences_dropped": sum(s.cadences_dropped for s in samples),
                        "parts": sum(len(s.cadences) for s in samples)}
    loads = []
    for _ in range(5):
        started = time.perf_counter()
        load_model(args.model)
        loads.append(time.perf_counter() - started)
    card["load_seconds_median"] = round(statistics.median(loads), 3)
    print(json.dumps({k: v for k, v in card.items() if k != "data"}, indent=1))
    for key in ROWS:
        mine, theirs = generated.get(key, float("nan")), real.get(key, float("nan"))
        print(f"{key:24} generated {mine:.3f}   held-out real {theirs:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(card, indent=1))


if __name__ == "__main__":
    main()
