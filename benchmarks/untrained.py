"""Untrained models under the constraint: does abc2midi read every tune they write? (issue #18)

    python -m benchmarks.untrained [--tunes 100] [--seed 0] [--max-chars 1500] [--models NAME ...] [--out PATH]

For each model kind (the rnn, gru, lstm and transformer presets, random weights) and both
vocabularies (characters, ABC units), samples TUNES constrained tunes with the default settings
(tunesmith.sample.sampling.sample_tunes), half free-form and half with a form, some with a key,
metre and rhythm asked for; every finished tune goes through abc2midi and the checker. A tune is
clean when abc2midi reports no error, counts no bar otherwise than the checker, and the checker
calls every bar right. Prints the clean share per model and what abc2midi said; writes the
figures to benchmarks/results/untrained-<date>.json.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import torch

from benchmarks.common import report
from tunesmith.abc.grammar import Form
from tunesmith.data.corpus import load_corpus
from tunesmith.data.vocab import ABCTokenVocab, CharVocab
from tunesmith.judge.quality import check_tune
from tunesmith.learn.config import PRESETS
from tunesmith.models import build_model
from tunesmith.sample.sampling import SamplingSettings, sample_tunes
from tunesmith.store.checkpoint import TrainedModel

MODELS = {"rnn": "rnn-small", "gru": "gru-small", "lstm": "small", "transformer": "transformer-small"}
# What each batch asks for: (key, meter, rhythm, form); the tunes of a model are split among them.
REQUESTS = (
    (None, None, None, None),
    ("D", "C|", "reel", Form(2, 8)),
    ("G", "6/8", "jig", Form(2, 8, pickup=True)),
    ("Ador", "3/4", None, None),
    ("A", "2/4", "polka", Form.of_shape(((4, True), (8, False)))),  # parts of their own lengths
)


def vocabularies() -> dict[str, CharVocab | ABCTokenVocab]:
    texts = [tune.text for tune in load_corpus("oneills").tunes]
    return {"char": CharVocab.build(texts), "abc": ABCTokenVocab.build(texts)}


def untrained(kind: str, vocab, seed: int) -> TrainedModel:
    preset = PRESETS[MODELS[kind]]
    torch.manual_seed(seed)
    return TrainedModel(build_model(preset.kind, {"vocab_size": len(vocab), **preset.model}), vocab, {})


def problems(text: str) -> list[str]:
    """abc2midi's errors, the bars abc2midi counts otherwise, the bars the checker calls wrong."""
    tune = check_tune(text, use_abc2midi=True)
    found = [message for message in tune.abc2midi_messages if message.startswith("Error")]
    found += [f"abc2midi: bar {w.bar} has {w.found} of {w.expected}" for w in tune.abc2midi_bar_warnings]
    return found + ([f"checker: {len(tune.wrong_bars)} wrong bars"] if not tune.metre_ok else [])


def kind_of(message: str) -> str:
    """A message without its numbers, so that messages of one kind count together."""
    return re.sub(r"\d+", "#", message.split(" : ", 1)[-1])[:80]


def sample_model(model: TrainedModel, tunes: int, seed: int, max_chars: int) -> dict:
    settings = SamplingSettings(max_chars=max_chars)
    outcomes, kinds, examples = Counter(), Counter(), []
    started = time.perf_counter()
    for i, (key, meter, rhythm, form) in enumerate(REQUESTS):
        share = tunes // len(REQUESTS) + (i < tunes % len(REQUESTS))
        if not share:
            continue
        for sample in sample_tunes(model, share, key=key, meter=meter, rhythm=rhythm, form=form,
                                   settings=settings, seed=seed + i):
            outcomes["tunes"] += 1
            if not sample.finished:
                outcomes["dead_end" if sample.dead_end else "cut_at_max_chars"] += 1
                continue
            outcomes["finished"] += 1
            found = problems(sample.text)
            outcomes["clean"] += not found
            kinds.update({kind_of(message) for message in found})
            if found and len(examples) < 3:
                examples.append({"text": sample.text, "problems": found})
                print(f"unclean: {found}\n{sample.text}", file=sys.stderr, flush=True)  # seen at once, not hours on
    outcomes["seconds"] = round(time.perf_counter() - started, 1)
    outcomes["clean_share"] = round(outcomes["clean"] / outcomes["finished"], 4) if outcomes["finished"] else None
    return {**outcomes, "problems": dict(kinds.most_common()), "examples": examples}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tunes", type=int, default=100, help="tunes per model and vocabulary")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-chars", type=int, default=1500)
    parser.add_argument("--out", default=f"benchmarks/results/untrained-{date.today().isoformat()}.json")
    names = [f"{kind}-{vocab}" for vocab in ("char", "abc") for kind in MODELS]
    parser.add_argument("--models", nargs="+", choices=names, default=names, help="these alone (default: all)")
    args = parser.parse_args(argv)
    results: dict[str, dict] = {}
    for vocab_name, vocab in vocabularies().items():
        for kind in MODELS:
            name = f"{kind}-{vocab_name}"
            if name not in args.models:
                continue
            results[name] = sample_model(untrained(kind, vocab, args.seed), args.tunes, args.seed, args.max_chars)
            figures = results[name]
            print(f"{name}: {figures['clean']}/{figures['finished']} finished tunes abc2midi-clean "
                  f"({figures['clean_share']}); {figures.get('dead_end', 0)} dead ends, "
                  f"{figures.get('cut_at_max_chars', 0)} cut; {figures['problems']}", file=sys.stderr)
            write_summary(results, args)  # after each model: a run stopped part-way keeps what it measured


def write_summary(results: dict[str, dict], args: argparse.Namespace) -> None:
    finished = sum(r["finished"] for r in results.values())
    clean = sum(r["clean"] for r in results.values())
    summary = {"tunes_per_model": args.tunes, "seed": args.seed, "max_chars": args.max_chars,
               "finished": finished, "clean": clean, "clean_share": round(clean / finished, 4) if finished else None,
               "models": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    report(summary, args.out)


if __name__ == "__main__":
    main()
