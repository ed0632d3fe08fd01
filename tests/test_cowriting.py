"""Writing with a musician: fill, continue and vary keep the kept bars byte for byte and write right bars,
for a model that reads both sides of a gap and one that reads the left side only, nearly untrained."""

from dataclasses import replace

import pytest
import torch

from tunesmith.abc.gaps import GapError, next_part_lengths, read_bars
from tunesmith.abc.reader import read_tune
from tunesmith.abc.text import parse_fields
from tunesmith.data.corpus import Split
from tunesmith.data.forms import part_endings
from tunesmith.data.infill import counted_bars, part_starts, split_at_bars
from tunesmith.judge.quality import check_tune
from tunesmith.learn.config import PRESETS
from tunesmith.learn.training import Trainer
from tunesmith.sample.cowriting import (
    bar_span,
    bars_to_rewrite,
    choose_bars,
    continue_tune,
    echoes,
    fill,
    kept_beats,
    main_beats,
    variable_bars,
    vary,
    vary_label,
    write_gap,
)
from tunesmith.store.checkpoint import load_model

REEL = ("X:1\nT:Test Reel\nM:C|\nL:1/8\nK:D\n"
        "|:A|dfaf gfed|cABc dAFA|GBdB AFDF|EFGE D3:|\n|:g|fdad fdad|gebe gebe|fdad fgaf|gefe d3:|")
JIG = ("X:1\nT:Test Jig\nM:6/8\nL:1/8\nK:G\n"
       "|:D|GBd gdB|cAF DEF|GBd gdB|1 cAF G2:|2 cAF GBd||\n"
       "|:gfg edB|cAF DEF|gfg edB|cAF G3:|")
# Bars 1 and 3 alike, and bars 6 and 8: phrases the tune plays again.
ECHO = ("X:1\nT:Echo Reel\nM:C|\nL:1/8\nK:D\n"
        "|:A|dfaf gfed|cABc dAFA|dfaf gfed|EFGE D3:|\n|:g|(3fdc ad fgaf|gebe gebe|(3fdc ad fgaf|gefe d3:|")
TUNES = pytest.mark.parametrize("tune", [REEL, JIG], ids=["reel", "jig"])


@pytest.fixture(scope="module")
def models(tmp_path_factory, oneills_split, tiny_run):
    """A plain model (reads the left side of a gap) and two fill-in-the-middle ones, 20 steps each: the
    constraint, not the model, must keep every promise."""
    split = Split(oneills_split.train[:60], oneills_split.valid[:8], oneills_split.test[:8])
    made = {"plain lstm": load_model(tiny_run)}
    tiny = PRESETS["tiny"]
    for name, kind, tokenizer, config in [
        ("fim lstm", "lstm", "char", tiny.model),
        ("fim transformer abc", "transformer", "abc",
         {"embed_dim": 32, "num_layers": 1, "num_heads": 2, "context_length": 256, "dropout": 0.0})]:
        train = replace(tiny.train, max_steps=20, eval_interval=10, warmup_steps=5, fim_rate=0.5, tokenizer=tokenizer)
        run = tmp_path_factory.mktemp("cowrite") / name.replace(" ", "-")
        torch.manual_seed(0)
        Trainer(run, split, replace(tiny, kind=kind, model=config, train=train), log=lambda _: None).run(False)
        made[name] = load_model(run)
    return made


MODELS = pytest.mark.parametrize("name", ["plain lstm", "fim lstm", "fim transformer abc"])


def _bars_right(text: str) -> bool:
    report = check_tune(text, use_abc2midi=False)
    return report.metre_ok and report.syntax_ok


# -- which bars ---------------------------------------------------------------------


def test_bars_are_counted_as_players_count_them():
    # The reel's pickups (bar 0 and the B part's "g") are not counted; its short last bars are.
    counted = counted_bars(REEL)
    assert len(counted) == 8 and 0 not in counted
    assert bar_span(REEL, (1, 4)) == (1, 5)
    assert bar_span(REEL, (5, 8)) == (6, 10)
    assert bar_span(REEL, "B") == (5, 10)
    with pytest.raises(GapError, match="8 bars"):
        bar_span(REEL, (5, 9))
    with pytest.raises(GapError, match="no part C"):
        bar_span(REEL, "C")


def test_main_beats_of_each_metre():
    assert main_beats("6/8") == [0, pytest.approx(3 / 8)]
    assert main_beats("C|") == [0, pytest.approx(1 / 2)]
    assert len(main_beats("3/4")) == 3 and len(main_beats("9/8")) == 3 and len(main_beats("2/4")) == 2


def test_a_variation_never_touches_a_cadence_or_a_pickup():
    ends = {start - 1 for start in part_starts(REEL, len(split_at_bars(REEL)) - 1)[1:]}
    assert not ends & set(variable_bars(REEL)) and 0 not in variable_bars(REEL)
    import random

    chosen = choose_bars(REEL, 0.15, random.Random(0))
    assert len(chosen) == bars_to_rewrite(0.15, "C|", len(variable_bars(REEL))) == round(0.3 * len(variable_bars(REEL)))
    assert all(b - a > 1 for a, b in zip(chosen, chosen[1:]))  # apart where the tune allows it


def test_bars_that_sound_alike_are_chosen_together():
    assert echoes(ECHO, variable_bars(ECHO)) == {1: [3], 2: [], 6: [8], 7: []}
    assert echoes(REEL, variable_bars(REEL)) == {bar: [] for bar in variable_bars(REEL)}
    import random

    for seed in range(20):
        chosen = choose_bars(ECHO, 0.3, random.Random(seed))
        assert (1 in chosen) == (3 in chosen) and (6 in chosen) == (8 in chosen), chosen
        assert 2 <= len(chosen) <= bars_to_rewrite(0.3, "C|", len(variable_bars(ECHO)))


# -- fill ---------------------------------------------------------------------------


@MODELS
@TUNES
@pytest.mark.parametrize("bars", [(2, 3), "B", (8, 8)])
def test_fill_keeps_the_rest_byte_for_byte_and_every_bar_right(models, name, tune, bars):
    model = models[name]
    first, end = bar_span(tune, bars)
    cuts = split_at_bars(tune)
    reading = "both" if model.vocab.has_sentinels else "left"
    written = fill(model, tune, bars, seed=3, reading=reading)
    prefix, suffix = tune[: cuts[first]], tune[cuts[end]:]
    assert written.text.startswith(prefix) and written.text.endswith(suffix)
    middle = written.text[len(prefix): len(written.text) - len(suffix)]
    assert middle.rstrip().endswith(tune[cuts[first]: cuts[end]].rstrip()[-1])  # the same closing sign
    assert len(split_at_bars(written.text)) == len(cuts)  # as many bars as before
    assert _bars_right(written.text)
    assert written.method == ("both sides" if model.vocab.has_sentinels else "left side")


def test_reading_both_sides_needs_a_model_trained_for_it(models):
    with pytest.raises(ValueError, match="not trained to fill in the middle"):
        fill(models["plain lstm"], REEL, (5, 8), seed=0, reading="both")
    with pytest.raises(ValueError, match="reading must be"):
        fill(models["fim lstm"], REEL, (5, 8), seed=0, reading="right")


@MODELS
def test_every_candidate_is_a_whole_gap_and_the_best_comes_first(models, name):
    reading = "both" if models[name].vocab.has_sentinels else "left"
    samples = write_gap(models[name], REEL, 6, 10, candidates=6, seed=1, reading=reading)
    done = [s for s in samples if s.finished and not s.dead_end]
    assert done and samples[0] in done
    for sample in done:
        joined = REEL[: split_at_bars(REEL)[6]] + sample.text + REEL[split_at_bars(REEL)[10]:]
        assert _bars_right(joined) and len(split_at_bars(joined)) == len(split_at_bars(REEL))
    rates = [s.log_likelihood / s.scored_tokens for s in done]
    assert rates == sorted(rates, reverse=True)


def test_fill_is_seeded(models):
    assert fill(models["fim lstm"], REEL, (5, 8), seed=7).text == fill(models["fim lstm"], REEL, (5, 8), seed=7).text


def test_a_gap_around_bars_that_do_not_add_up_is_refused_in_words(models):
    broken = REEL.replace("cABc dAFA", "cABc dAF")  # bar 2 a quaver short
    with pytest.raises(GapError, match="do not add up"):
        fill(models["plain lstm"], broken, (5, 8), seed=0)


# -- continue -----------------------------------------------------------------------


@MODELS
@TUNES
def test_continue_writes_a_b_part_as_long_as_a_ending_home(models, name, tune):
    a_part = tune[: split_at_bars(tune)[part_starts(tune, len(split_at_bars(tune)) - 1)[1]]].rstrip()
    written = continue_tune(models[name], a_part, "B", seed=2, reading="both" if name.startswith("fim") else "left")
    assert written.text.startswith(a_part) and _bars_right(written.text)
    new_bars = read_tune(written.text).bars[len(split_at_bars(a_part)) - 1:]
    # Bar for bar as long as the shape a B part takes on its A part (its pickup, its short last bar).
    assert [bar.duration for bar in new_bars] == next_part_lengths(read_bars(a_part, split_at_bars(a_part)))
    # It ends on its tonic, or says it gave the tonic up (a model of 20 steps cannot always reach it).
    assert part_endings(written.text)[-1] == 1 or written.samples[0].cadences_dropped == 1
    assert parse_fields(written.text)["K"] == parse_fields(tune)["K"]


def test_continue_names_the_part_it_can_write(models):
    with pytest.raises(GapError, match="continued with part C"):
        continue_tune(models["plain lstm"], REEL, "B", seed=0)
    with pytest.raises(GapError, match="after the first"):
        continue_tune(models["plain lstm"], REEL, "A", seed=0)


# -- vary ---------------------------------------------------------------------------


@MODELS
def test_vary_rewrites_only_the_chosen_bars_and_keeps_the_cadences(models, name):
    written = vary(models[name], REEL, 0.3, seed=5, candidates=4)
    old, new = split_at_bars(REEL), split_at_bars(written.text)
    assert len(old) == len(new) and _bars_right(written.text)
    for bar in range(len(old) - 1):
        if bar not in written.written:
            assert REEL[old[bar]:old[bar + 1]] == written.text[new[bar]:new[bar + 1]]
    assert set(written.written) <= set(variable_bars(REEL))
    kept, total = kept_beats(REEL, written.text)
    assert total > 0 and 0 <= kept <= total


def _music(text: str, bar: int) -> str:
    cuts = split_at_bars(text)
    return text[cuts[bar]:cuts[bar + 1]].strip(" \n|:")


@MODELS
def test_a_variation_plays_a_repeated_bar_as_its_new_version(models, name):
    written = vary(models[name], ECHO, 0.6, seed=1, candidates=2)
    echoed = dict(written.echoed)
    assert echoed and set(echoed) <= {3, 8} and _bars_right(written.text)
    for echo, first in echoed.items():
        assert _music(written.text, echo) == _music(written.text, first) != _music(ECHO, first)
    label = vary_label(written, "the tune's")
    assert "bars played again as before: " in label and f"{min(echoed)} as " in label


def test_vary_amount_is_checked(models):
    with pytest.raises(ValueError, match="amount"):
        vary(models["plain lstm"], REEL, 0)
