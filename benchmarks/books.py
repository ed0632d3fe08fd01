"""Leave one book out: does a model read a tune book it has never seen?

    python -m benchmarks.books [--steps 1000] [--out runs/books]

For each of O'Neill's, Ryan's and Aird's, trains the default preset on the other two (OUT/without-BOOK),
and one run on all three with the same steps (OUT/all); then scores each book's test tunes (the split
of all three books, seed 0, so the same tunes either way) under the run that never saw the book and
under the run that did. Tunes whose music also stands in a training book (the same body, another
title) are left out of the unseen score, so a copy in another book is not counted as reading an unseen
one. One run at a time: 4 x STEPS steps (about 4 x 5 minutes at 1,000 steps on 2 cores).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tunesmith.data.corpus import corpus_name, load_corpus, split_by_tune
from tunesmith.learn.scoring import bits_per_char
from tunesmith.learn.training import train
from tunesmith.store.checkpoint import load_model

BOOKS = ("oneills", "ryans", "airds")


def music(text: str) -> str:
    return text.split("\nK:", 1)[-1]


def trained(run: Path, data: list[str], steps: int) -> Path:
    if not (run / "model.safetensors").exists() or not load_model(run).meta["state"].get("finished"):
        train(data, run, steps=steps, resume=(run / "last.safetensors").exists(), show_progress=False)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--out", default="runs/books")
    args = parser.parse_args()
    out = Path(args.out)
    test = split_by_tune(load_corpus(list(BOOKS)).tunes, seed=0).test
    tests = {book: [t for t in test if corpus_name(t.source) == book] for book in BOOKS}
    everything = load_model(trained(out / "all", list(BOOKS), args.steps))
    rows = []
    for book in BOOKS:
        others = [b for b in BOOKS if b != book]
        without = load_model(trained(out / f"without-{book}", others, args.steps))
        seen = {music(t.text) for other in others for t in load_corpus(other).tunes}
        unseen = [t.text for t in tests[book] if music(t.text) not in seen]
        row = {"book": book, "test_tunes": len(tests[book]), "unseen_tunes": len(unseen),
               "in_book_bpc": round(bits_per_char(everything.network, everything.vocab, unseen), 4),
               "left_out_bpc": round(bits_per_char(without.network, without.vocab, unseen), 4)}
        row["gap"] = round(row["left_out_bpc"] - row["in_book_bpc"], 4)
        rows.append(row)
        print(json.dumps(row), flush=True)
    (out / "books.json").write_text(json.dumps(rows, indent=1))
    print("| book | test tunes scored | trained with it | left out | gap |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['book']} | {row['unseen_tunes']} of {row['test_tunes']} | {row['in_book_bpc']:.3f} | "
              f"{row['left_out_bpc']:.3f} | {row['gap']:+.3f} |")


if __name__ == "__main__":
    main()
