"""The constraint is a grammar: whatever an untrained model proposes, what it lets through is a tune
abc2midi reads without an error and counts bar for bar as the checker does (issue #18).

The untrained model is played by a random walker: from a fresh TuneState it draws tokens at random
(uniform ASCII, ABC-ish characters, the shipped model's characters, ABC units), each among those the
state allows, as the sampler does (it renormalises over what the constraint leaves), and ends where
the state may end and a coin says so. `python tests/test_random_walk.py [tunes]` walks more and
prints the clean share per walker and what abc2midi said.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import struct
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from tunesmith.abc.grammar import Form, TuneState
from tunesmith.abc.units import segment
from tunesmith.judge.quality import check_tune

END = "</s>"
SHIPPED = Path(__file__).parents[1] / "src" / "tunesmith" / "pretrained" / "default.safetensors"
QUIRKS = Path(__file__).parent / "data" / "quirks.abc"
PRINTABLE = [chr(i) for i in range(32, 127)] + ["\n"]
# Mostly notes and bar lines, some of everything ABC uses, the rest of ASCII now and then.
ABC_WEIGHTS = Counter(list("ABCDEFGabcdefgz") * 4 + list("2222344/////||||||:::: \n^_=,'><[]()3\"!{}-~.128"))
# How the sampler starts a tune (tunesmith.sample.script): forced text, None for a line the model writes.
SCRIPTS: tuple[tuple[str | None, ...], ...] = (
    (),  # the model writes the header too
    ("X:1\n",),
    ("X:1\nT:", None, "M:6/8\nL:", None, "K:D\n"),
    ("X:1\nT:", None, "R:reel\nM:C|\nL:", None, "K:", None),
)
FORMS = (None, Form(2, 4), Form(2, 4, pickup=True), Form(1, 4, repeats=False, cadences=(1,)),
         Form.of_shape(((2, True), (4, False))), Form.of_shape(((2, False), (2, True)), pickup=True))


def shipped_tokens() -> list[str]:
    """The shipped model's characters, read from its safetensors header (no torch needed)."""
    with SHIPPED.open("rb") as file:
        size = struct.unpack("<Q", file.read(8))[0]
        header = json.loads(file.read(size))
    tokens = json.loads(header["__metadata__"]["tunesmith"])["vocab"]["tokens"]
    return [token for token in tokens if not token.startswith("<")]


def unit_tokens() -> list[str]:
    """ABC units (tunesmith.abc.units) of a small tune book, and every printable character."""
    units = set(segment(QUIRKS.read_text(encoding="latin-1")))
    return sorted(units | set(PRINTABLE))


def walkers() -> dict[str, dict[str, float]]:
    """Each walker: its tokens and their weights."""
    return {
        "uniform": dict.fromkeys(PRINTABLE, 1.0),
        "abc-ish": {char: ABC_WEIGHTS[char] + 0.1 for char in PRINTABLE},
        "shipped vocabulary": dict.fromkeys(shipped_tokens(), 1.0),
        "abc units": dict.fromkeys(unit_tokens(), 1.0),
    }


def draw(rng: random.Random, state: TuneState, weights: dict[str, float]) -> str | None:
    """A token the state allows, with chances in proportion to the weights of the allowed ones (what
    the sampler's renormalising gives), found by drawing and putting refused ones aside; None: none is."""
    tokens, chances = list(weights), list(weights.values())
    while tokens:
        i = rng.choices(range(len(tokens)), chances)[0]
        if state.allows(tokens[i]):
            return tokens[i]
        del tokens[i], chances[i]
    return None


def walk(rng: random.Random, weights: dict[str, float], form: Form | None = None,
         script: Sequence[str | None] = (), max_chars: int = 700, end_chance: float = 0.25) -> tuple[str, str]:
    """One tune and how it stopped: "done" (it ended), "long" (cut at max_chars) or "dead" (nothing allowed)."""
    state, text = TuneState(form), ""
    for item in script:
        if item is not None:
            assert state.push_text(item), (text, item)
            text += item
            continue
        while not text.endswith("\n"):  # a line the model writes: up to its newline
            token = draw(rng, state, weights)
            if token is None:
                return text, "dead"
            assert state.push_text(token)
            text += token
    while len(text) < max_chars:
        if state.can_end() and rng.random() < end_chance:
            return text, "done"
        token = draw(rng, state, weights)
        if token is None and state.cadence_due() and state.relax_cadence():
            continue  # as the sampler does (tunesmith.sample.decoding): the part ends on any degree
        if token is None:  # </s> alone may be left (a form written to its end)
            return text, "done" if state.can_end() else "dead"
        assert state.push_text(token)
        text += token
    return text, "long"


def problems(text: str) -> list[str]:
    """What abc2midi calls an error, the bars it counts otherwise than the checker, what the checker refuses."""
    report = check_tune(text, use_abc2midi=True)
    found = [message for message in report.abc2midi_messages if message.startswith("Error")]
    found += [f"abc2midi: bar {w.bar} has {w.found} of {w.expected}" for w in report.abc2midi_bar_warnings]
    if not report.metre_ok:
        found.append(f"checker: wrong bars {report.wrong_bars}")
    return found + list(report.problems)


def walk_many(name: str, tunes: int, seed: int) -> tuple[Counter, list[tuple[str, list[str]]]]:
    """Walk `tunes` tunes with one walker, through every script and form in turn."""
    rng, weights = random.Random(seed), walkers()[name]
    outcomes, unclean = Counter(), []
    for i in range(tunes):
        text, how = walk(rng, weights, FORMS[i % len(FORMS)], SCRIPTS[i // len(FORMS) % len(SCRIPTS)])
        outcomes[how] += 1
        found = problems(text) if how == "done" else []
        outcomes["clean"] += how == "done" and not found
        if found:
            unclean.append((text, found))
    return outcomes, unclean


needs_abc2midi = pytest.mark.skipif(shutil.which("abc2midi") is None, reason="needs abc2midi (apt-get install abcmidi)")


@needs_abc2midi
@pytest.mark.parametrize("name", ["uniform", "abc-ish", "shipped vocabulary", "abc units"])
def test_an_untrained_model_writes_tunes_abc2midi_reads_as_the_checker_does(name):
    outcomes, unclean = walk_many(name, tunes=48, seed=18)
    assert not unclean, unclean[:3]
    assert outcomes["done"] >= 24, outcomes  # most walks end: the test shows something


def test_the_header_is_one_x_then_each_field_once_in_order():
    assert TuneState().allows("X:1\nT:a title\nR:reel\nM:6/8\nL:1/8\nK:G\n")
    assert not TuneState().allows("T:")  # X: first
    assert not TuneState().allows("X:M")  # abc2midi: "Missing Number"
    assert not TuneState().allows("X:1\nM:6/8\nM:")  # a second metre: abc2midi would count by it
    assert not TuneState().allows("X:1\nL:1/8\n")  # no M: can come after L:, and K: needs one
    assert not TuneState().allows("X:1\nM:19/88\n")  # abc2midi: "88 b is not a power of 2"
    assert not TuneState().allows("X:1\nT::|")  # abc2midi: "either a :| repeat or a field command"
    assert not TuneState().allows("X:1\nT:K:o1")  # a title that reads as a field


@pytest.mark.parametrize("body, ok", [
    ("D|GABc dBAG|FGAB c3:|", True),  # the repeat's last bar makes up its pickup
    ("D|GABc dBAG|FGAB c4:|", False),  # played again, abc2midi counts D with the bar before it
    ("D|GABc dBAG||GABc dBAG:|", False),  # abc2midi goes back past || to the start
    ("GABc dBAG|1 GABc dBA:|2 GABc dBAG|]", False),  # a short bar at |1: abc2midi checks it
    ("C8|[C2E]2 c4|", False),  # abc2midi times a chord by the length after ] alone
    ("C8|(3C2D2E c3|", False),  # a tuplet's notes are as long as its first
    ("C8|c4 Tc4-|c4 c4|", False),  # abc2midi plays a trilled tied note into the next bar
    ("C8|~c6/ c5|", False),  # ... and a roll of 3 units well only when written "3"
    ("C8|~c3 c5|", True),
    ("C8|HC8|", False),  # a fermata: abc2midi plays (and counts) it twice as long
    ("C8|(5ccccc c6|", True),
    ("C8|!trill!z [CE]c6|", False),  # abc2midi keeps the trill past the rest for the chord
    ("C8|!trill!c [CE]c6|", True),
])
def test_bars_abc2midi_counts_otherwise_are_refused(body, ok):
    header = "X:1\nM:4/4\nL:1/8\nK:C\n"
    state = TuneState()
    assert (state.push_text(header + body) and state.can_end()) == ok


def test_odd_tuplets_in_three_four_are_refused():
    """abc2midi's (5 (7 (9 take the time of 3 in 3/4 (the checker: of 2), so they are not written there."""
    state = TuneState()
    assert state.push_text("X:1\nM:3/4\nL:1/8\nK:C\nC6|(")
    assert state.allows("3") and not state.allows("5")


def sweep(tunes: int) -> None:
    for name in walkers():
        outcomes, unclean = walk_many(name, tunes, seed=1)
        kinds = Counter(re.sub(r"\d+", "#", found.split(" : ")[-1])[:70] for _, f in unclean for found in f)
        print(f"{name}: {outcomes['clean']}/{outcomes['done']} finished tunes clean ({dict(outcomes)})")
        for kind, count in kinds.most_common():
            print(f"  {count:4d} {kind}")


if __name__ == "__main__":
    sweep(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
