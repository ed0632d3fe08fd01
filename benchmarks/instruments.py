"""Tunes for a player's instrument, and any tune moved to any key: what the promises measure.

    python -m benchmarks.instruments --tunes 200                 # 200 tunes per instrument, shipped model
    python -m benchmarks.instruments --transpose                 # every tune of every named corpus, every key

Per instrument: the share of notes inside its range (tunesmith.transpose.tune_pitches, which reads
accidentals as abc2midi does), tunes with every bar right, tunes abc2midi plays without an error,
tunes in one of the instrument's keys, and the realism classifier's accuracy (generated against
held-out real tunes: 0.5 is indistinguishable), beside the same figures without an instrument.
Transposition: each tune moved by every shift of transpose.SHIFTS, heard by abc2midi note for note
(tunesmith.render.arrange.same_music_shifted); a tune transposition refuses (K:none, K:HP) is counted apart.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tunesmith.abc.instruments import INSTRUMENTS
from tunesmith.abc.reader import bar_verdicts, read_tune
from tunesmith.abc.text import parse_fields
from tunesmith.abc.transpose import SHIFTS, transpose_tune, tune_pitches

BATCH = 100


def instrument_figures(model, name: str | None, count: int, seed: int, real: list[str]) -> dict:
    from tunesmith.judge.quality import run_abc2midi
    from tunesmith.judge.realism import realism_report
    from tunesmith.sample.sampling import instrument_request, sample_tunes

    pitch_range, keys = instrument_request(name, None)
    started, texts = time.perf_counter(), []
    for batch in range(0, count, BATCH):
        samples = sample_tunes(model, min(BATCH, count - batch), seed=seed + batch, form="auto",
                               keys=keys, pitch_range=pitch_range)
        texts += [sample.text for sample in samples if sample.finished]
    seconds = time.perf_counter() - started
    pitches = [pitch for text in texts for pitch in tune_pitches(text)]
    low, high = pitch_range or (0, 127)
    with ThreadPoolExecutor(2) as pool:  # abc2midi is a subprocess: two at once on two cores
        clean = sum(errors == 0 for errors, _ in pool.map(run_abc2midi, texts))
    return {
        "tunes": count, "finished": len(texts), "seconds": round(seconds, 1),
        "notes in range": round(sum(low <= p <= high for p in pitches) / max(len(pitches), 1), 4),
        "every bar right": round(sum(all(bar_verdicts(read_tune(t).bars)) for t in texts) / max(len(texts), 1), 4),
        "abc2midi clean": round(clean / max(len(texts), 1), 4),
        "in its keys": round(sum(parse_fields(t).get("K") in (keys or ()) for t in texts) / max(len(texts), 1), 4)
        if keys else None,
        "classifier accuracy": realism_report(texts, real, seed=seed)["c2st"]["gradient_boosting"],
    }


def generation(count: int, seed: int) -> dict:
    from tunesmith.data.corpus import load_corpus, split_by_tune
    from tunesmith.store.checkpoint import load_model

    model = load_model("default")
    data = model.meta["data"]
    real = [tune.text for tune in split_by_tune(load_corpus(data["data"]).tunes, seed=data.get("split_seed", 0)).test]
    result = {}
    for name in (None, *INSTRUMENTS):
        result[name or "none"] = instrument_figures(model, name, count, seed, real[:count])
        print(f"{name or 'none':10} {result[name or 'none']}", flush=True)
    return result


def _moves(text: str) -> tuple[int, int, int]:
    """(shifts heard the same, shifts heard differently, 1 if transposition refuses the tune)."""
    from tunesmith.render.arrange import heard_notes

    try:
        moved = [(shift, transpose_tune(text, shift)) for shift in SHIFTS if shift]
    except ValueError:
        return 0, 0, 1
    before = heard_notes(text)
    same = sum(heard_notes(out) == [(t, p + shift) for t, p in before] for shift, out in moved)
    return same, len(moved) - same, 0


def transposition(limit: int | None) -> dict:
    from tunesmith.data.corpus import load_corpus, named_corpora

    result = {}
    for name, _, present in named_corpora():
        if not present:
            continue
        texts = [tune.text for tune in load_corpus(name).tunes][:limit]
        started = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            counts = list(pool.map(_moves, texts))
        same, different, refused = (sum(column) for column in zip(*counts))
        result[name] = {"tunes": len(texts), "moves heard the same": same, "moves heard differently": different,
                        "tunes transposition refuses": refused, "seconds": round(time.perf_counter() - started)}
        print(f"{name:10} {result[name]}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tunes", type=int, default=0, help="tunes per instrument (0: skip)")
    parser.add_argument("--transpose", action="store_true", help="every tune of every named corpus to every key")
    parser.add_argument("--limit", type=int, help="at most this many tunes per corpus for --transpose")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    result = {}
    if args.tunes:
        result["instruments"] = generation(args.tunes, args.seed)
    if args.transpose:
        result["transposition"] = transposition(args.limit)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
