"""Do the checker and the constraint agree? Every tune of every named corpus, and generated tunes.

    python -m benchmarks.agreement                       # the named corpora that are here
    python -m benchmarks.agreement --generate 10000      # and 10,000 constrained tunes of the shipped model

For a real tune the constraint (`TuneState`, no form asked) reads it one character at a time as a
sampler would write it. Two kinds of disagreement are counted:

- loose: the constraint takes the whole tune, but the checker finds a bar that does not add up;
- strict: the checker finds every bar right, but the constraint refuses a bar line or a note's
  length (what it refuses because it never offers a construct, such as inline fields or comments,
  is counted apart as "not offered", with the character it stopped at).

For a generated tune every bar was written under the constraint, so any bar the checker finds
wrong is a disagreement.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

from tunesmith.abc.grammar import TuneState
from tunesmith.abc.reader import bar_verdicts, read_tune

BATCH = 250
TIMING = frozenset("|:]0123456789/<>")  # a bar sign or a length: what the constraint counts time at


def bars_right(text: str) -> bool:
    return all(bar_verdicts(read_tune(text).bars))


def read_as_written(text: str) -> tuple[bool, int, bool]:
    """Whether the constraint takes all of `text` and may end there, how many bars it closed, and
    whether it stopped for time: at a bar line or a length, with no slur, tuplet or symbol open."""
    state = TuneState()
    for char in text:
        before = state.copy()
        if not state.push(char):
            timing = (before.in_body and before.mode in ("normal", "sign", "note", "chord_length")
                      and not (before.slurs or before.tuplet_left) and char in TIMING)
            return False, before.bars, timing
    return state.can_end(), state.bars, False


def compare_tune(text: str) -> tuple[str, int]:
    """('agree' | 'loose' | 'strict' | 'not offered', bars in disagreement) for one real tune.

    loose: bars the constraint closed that the checker finds wrong; strict: the checker finds every
    bar right but the constraint refused one for its time; not offered: it stopped at a construct
    it never writes (inline fields, comments, endings without a bar line, ...)."""
    taken, closed, timing = read_as_written(text)
    verdicts = bar_verdicts(read_tune(text).bars)
    # A short bar at a section sign is settled by the bar after it (which must make it up): a tune
    # refused there has its last closed bar still open to question.
    settled = verdicts if taken else verdicts[: max(closed - 1, 0)]
    wrong_closed = sum(not right for right in settled)
    if wrong_closed:
        return "loose", wrong_closed
    if taken or not all(verdicts):
        return "agree", 0
    return ("strict", 1) if timing else ("not offered", 0)


def corpus_agreement() -> dict:
    from tunesmith.data.corpus import load_corpus, named_corpora

    result = {}
    for name, _, present in named_corpora():
        if not present:
            continue
        tunes, bars = Counter(), Counter()
        for tune in load_corpus(name).tunes:
            verdict, count = compare_tune(tune.text)
            tunes[verdict] += 1
            bars[verdict] += count
        result[name] = {"tunes": dict(tunes), "bars in disagreement": dict(bars)}
        print(f"{name:10} {result[name]}", flush=True)
    return result


def generated_agreement(count: int, seed: int) -> dict:
    from tunesmith.sample.sampling import sample_tunes
    from tunesmith.store.checkpoint import load_model

    model = load_model("default")
    start, samples = time.perf_counter(), []
    for batch in range(0, count, BATCH):  # batches as a server would run them; each its own seed
        samples += sample_tunes(model, min(BATCH, count - batch), seed=seed + batch, form="auto")
        print(f"  {len(samples)} tunes, {time.perf_counter() - start:.0f} s", flush=True)
    seconds = time.perf_counter() - start
    finished = [sample.text for sample in samples if sample.finished]
    wrong = sum(not bars_right(text) for text in finished)
    return {"tunes": count, "finished": len(finished), "bar disagreements": wrong, "seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generate", type=int, default=0, help="also this many constrained tunes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the counts here")
    args = parser.parse_args()
    result = {"corpora": corpus_agreement()}
    if args.generate:
        result["generated"] = generated_agreement(args.generate, args.seed)
        print(result["generated"])
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=1)


if __name__ == "__main__":
    main()
