"""Fill-in-the-middle: cuts at bar lines, PSM documents, sentinels, and runs trained with them."""

import math
import random
import re
from dataclasses import replace

import pytest
import torch

from tunesmith.abc.reader import read_tune
from tunesmith.data.batching import concatenate
from tunesmith.data.corpus import Split
from tunesmith.data.infill import (
    SPM_SUFFIX_BARS,
    body_start,
    fim_arrange,
    fim_document,
    fim_ids,
    hidden_bars,
    part_starts,
    split_at_bars,
    training_documents,
    tune_rng,
)
from tunesmith.data.vocab import SENTINELS, ABCTokenVocab, CharVocab, vocab_from_dict
from tunesmith.learn.config import PRESETS, TrainingError
from tunesmith.learn.infill_scoring import infill_bits
from tunesmith.learn.scoring import bits_per_char
from tunesmith.learn.training import Trainer
from tunesmith.store.checkpoint import load_model

REEL = ("X:1\nT:Test Reel\nM:C|\nL:1/8\nK:D\n"
        "|:A|dfaf gfed|cABc dAFA|GBdB AFDF|EFGE D3:|\n|:g|fdad fdad|gebe gebe|fdad fgaf|gefe d3:|")
VOCABS = pytest.mark.parametrize("vocab_kind", [CharVocab, ABCTokenVocab])
TINY_MODELS = {  # small enough that 20 steps of any kind take a second or two
    "lstm": {"embed_dim": 16, "hidden_size": 32, "num_layers": 1, "dropout": 0.0},
    "gru": {"embed_dim": 16, "hidden_size": 32, "num_layers": 1, "dropout": 0.0},
    "rnn": {"embed_dim": 16, "hidden_size": 32, "num_layers": 1, "dropout": 0.0},
    "transformer": {"embed_dim": 32, "num_layers": 1, "num_heads": 2, "context_length": 64, "dropout": 0.0},
}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from a second thread on a busy 2-core machine (see test_model_family)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def small_split(oneills_split):
    """Real tunes (with parts, pickups, endings), few enough that a run builds and scores in a moment."""
    return Split(oneills_split.train[:60], oneills_split.valid[:8], oneills_split.test[:8])


def _preset(kind, steps, fim_rate, tokenizer="char", seed=0, order="psm"):
    tiny = PRESETS["tiny"]
    train = replace(tiny.train, max_steps=steps, eval_interval=10, warmup_steps=5, fim_rate=fim_rate,
                    tokenizer=tokenizer, seed=seed, fim_order=order)
    return replace(tiny, kind=kind, model=TINY_MODELS[kind], train=train)


# -- cutting a tune at its bars ---------------------------------------------------


def test_split_at_bars_hand_checked():
    assert split_at_bars("K:D\nAB|\n|:cd|ef") == [4, 7, 13, 15]
    assert split_at_bars("X:1\nK:D\n|:AB|cd:|\n") == [8, 13, 18]  # the newline goes with the last bar
    assert split_at_bars("X:1\nK:D\n") == []
    cuts = split_at_bars(REEL)
    assert REEL[cuts[0]:cuts[1]] == "|:A|"  # the pickup, with the repeat that opens the part
    assert REEL[cuts[1]:cuts[2]] == "dfaf gfed|"
    assert REEL[cuts[5]:cuts[6]] == "\n|:g|"  # the B part's pickup starts on the line after A's :|
    assert part_starts(REEL, len(cuts) - 1) == [0, 5]


def test_cuts_are_just_after_bar_lines_and_count_the_readers_bars(oneills_split):
    tunes = oneills_split.train[:300]
    agree = 0
    for tune in tunes:
        cuts = split_at_bars(tune.text)
        assert cuts[0] == body_start(tune.text) and cuts[-1] == len(tune.text)
        assert tune.text[: cuts[0]].rstrip("\n").split("\n")[-1].startswith("K:")
        for offset in cuts[1:-1]:
            assert re.search(r"(\||:|\]|\[?\d)$", tune.text[:offset]), tune.text[offset - 10 : offset]
        agree += len(read_tune(tune.text).bars) == len(cuts) - 1
    assert agree >= 0.98 * len(tunes)


@pytest.mark.parametrize("seed", range(20))
def test_arrange_keeps_every_character_and_the_header(seed, oneills_split):
    tune = oneills_split.train[seed]
    infill = fim_arrange(tune.text, random.Random(seed))
    assert infill.prefix + infill.middle + infill.suffix == tune.text
    assert infill.prefix.startswith(tune.text[: body_start(tune.text)])  # X: T: M: L: K: stay in the prefix
    assert infill.middle
    cuts = split_at_bars(tune.text)
    first, end = cuts.index(len(infill.prefix)), cuts.index(len(tune.text) - len(infill.suffix))
    starts = part_starts(tune.text, len(cuts) - 1)
    assert 1 <= end - first <= 8 or (first in starts and end in (*starts, len(cuts) - 1))


def test_gaps_are_runs_of_bars_or_whole_parts():
    cuts = split_at_bars(REEL)
    gaps = {(len(a.prefix), len(a.middle)) for a in (fim_arrange(REEL, random.Random(s)) for s in range(300))}
    lengths = {sum(1 for c in cuts if p < c <= p + m) for p, m in gaps}
    assert lengths == set(range(1, 9))  # 1..8 bars; a part of this reel is 5 (its pickup and 4 bars)
    assert (cuts[5], len(REEL) - cuts[5]) in gaps  # the whole B part, suffix empty: `continue --part B`


def test_hidden_bars_count_bars_as_players_do():
    infill = hidden_bars(REEL, (2, 3))
    assert infill.middle == "cABc dAFA|GBdB AFDF|"
    assert hidden_bars(REEL, "B").middle == "\n|:g|fdad fdad|gebe gebe|fdad fgaf|gefe d3:|"
    assert hidden_bars(REEL, "B").suffix == ""
    assert hidden_bars(REEL, (5, 12)) is None and hidden_bars(REEL, "C") is None


# -- the sentinels in both vocabularies -------------------------------------------


@VOCABS
def test_sentinels_only_when_asked_and_after_the_markers(vocab_kind):
    plain = vocab_kind.build([REEL])
    fim = plain.with_sentinels()
    assert not plain.has_sentinels and fim.has_sentinels
    assert fim.tokens[:5] == ["<s>", "</s>", "<unk>", *SENTINELS] and (fim.suf, fim.mid) == (3, 4)
    assert fim.tokens[5:] == plain.tokens[3:] and len(fim) == len(plain) + 2
    assert fim.decode(fim.encode(REEL)) == REEL == plain.decode(plain.encode(REEL))
    for vocab in (plain, fim):
        again = vocab_from_dict(vocab.to_dict())
        assert again.tokens == vocab.tokens and again.has_sentinels == vocab.has_sentinels


@VOCABS
def test_sentinels_never_come_from_user_text(vocab_kind):
    vocab = vocab_kind.build([REEL + "\nT:<suf> <mid> <s>"]).with_sentinels()
    for text in ("<suf>", "T:<mid>", "K:D\n<suf>AB|<mid>", "<s></s>"):
        ids = vocab.encode(text)
        assert vocab.suf not in ids and vocab.mid not in ids and vocab.bos not in ids
        assert vocab.decode(ids) == text  # character by character (or unit by unit)
    with pytest.raises(ValueError, match="never seen"):
        vocab_kind.build(["ABC"]).with_sentinels().encode("<suf>")


@VOCABS
def test_psm_document_layout(vocab_kind):
    vocab = vocab_kind.build([REEL]).with_sentinels()
    infill = hidden_bars(REEL, (2, 3))
    ids = fim_document(vocab, REEL, random.Random(0))
    assert ids[0] == vocab.bos and ids[-1] == vocab.eos and ids.count(vocab.suf) == ids.count(vocab.mid) == 1
    assert ids.index(vocab.suf) < ids.index(vocab.mid)
    doc = fim_ids(vocab, infill.prefix, infill.suffix, infill.middle)
    suf, mid = doc.index(vocab.suf), doc.index(vocab.mid)
    assert vocab.decode(doc[1:suf]) == infill.prefix and vocab.decode(doc[suf + 1 : mid]) == infill.suffix
    assert vocab.decode(doc[mid + 1 : -1]) == infill.middle
    assert fim_ids(vocab, infill.prefix, infill.suffix) == doc[: mid + 1]  # the prompt a fill command gives
    with pytest.raises(ValueError, match="--fim-rate"):
        fim_ids(vocab_kind.build([REEL]), infill.prefix, infill.suffix)


@VOCABS
def test_spm_document_writes_the_gap_straight_after_the_bars_before_it(vocab_kind):
    vocab = vocab_kind.build([REEL]).with_sentinels()
    infill = hidden_bars(REEL, (4, 5))
    doc = fim_ids(vocab, infill.prefix, infill.suffix, infill.middle, order="spm")
    suf, mid = doc.index(vocab.suf), doc.index(vocab.mid)
    header_end = body_start(infill.prefix)
    assert vocab.decode(doc[1:suf]) == infill.prefix[:header_end] == "X:1\nT:Test Reel\nM:C|\nL:1/8\nK:D\n"
    assert vocab.decode(doc[suf + 1 : mid]) == "gebe gebe|fdad fgaf|"  # the next SPM_SUFFIX_BARS bars, not the rest
    assert SPM_SUFFIX_BARS == 2
    assert vocab.decode(doc[mid + 1 :]).removesuffix("</s>") == infill.prefix[header_end:] + infill.middle
    assert fim_ids(vocab, infill.prefix, infill.suffix, order="spm") == doc[: -1 - len(vocab.encode(infill.middle))]
    with pytest.raises(ValueError, match="psm, spm"):
        fim_ids(vocab, infill.prefix, infill.suffix, order="mps")


@VOCABS
def test_fim_rate_zero_is_todays_stream_and_the_choice_is_seeded(vocab_kind, oneills_split):
    texts = [t.text for t in oneills_split.train[:200]]
    plain = vocab_kind.build(texts)
    assert training_documents(plain, texts, 0.0, seed=3) == [plain.encode_tune(t) for t in texts]
    vocab = plain.with_sentinels()
    once, again = (training_documents(vocab, texts, 0.5, seed=3) for _ in range(2))
    assert once == again
    assert once != training_documents(vocab, texts, 0.5, seed=4)
    rearranged = sum(vocab.suf in doc for doc in once)
    assert 70 <= rearranged <= 130  # about half of 200
    assert all(sorted(vocab.decode(d)) == sorted(t) for d, t in zip(once, texts, strict=True))
    spm = training_documents(vocab, texts, 0.5, seed=3, order="spm")
    assert [vocab.suf in doc for doc in spm] == [vocab.suf in doc for doc in once]  # the same tunes, cut alike
    assert tune_rng(3, 7).random() == tune_rng(3, 7).random()


# -- checkpoints before and after -------------------------------------------------


def test_shipped_model_loads_without_sentinels():
    model = load_model("default")
    assert not model.vocab.has_sentinels and model.vocab.num_markers == 3
    assert model.vocab.tokens == model.meta["vocab"]["tokens"]  # every id as it was saved
    assert "<suf>" not in model.vocab.tokens and len(model.vocab) == model.meta["model_config"]["vocab_size"]
    assert model.meta["train_config"].get("fim_rate", 0.0) == 0.0


@pytest.mark.parametrize("tokenizer", ["char", "abc"])
def test_plain_run_is_as_before(tmp_path, small_split, tokenizer):
    trainer = Trainer(tmp_path / "run", small_split, _preset("lstm", 5, 0.0, tokenizer), log=lambda _: None)
    texts = [t.text for t in small_split.train]
    assert torch.equal(trainer.stream, concatenate([trainer.vocab.encode_tune(t) for t in texts]))
    trainer.run(False)
    model = load_model(tmp_path / "run")
    assert not model.vocab.has_sentinels and model.vocab.tokens == trainer.vocab.tokens
    assert model.meta["train_config"]["fim_rate"] == 0.0
    score = infill_bits(model, [t.text for t in small_split.test], (1, 2))
    assert score.both_sides is None and math.isfinite(score.left_only) and score.tunes > 0


@pytest.mark.parametrize("tokenizer", ["char", "abc"])
@pytest.mark.parametrize("kind", sorted(TINY_MODELS))
def test_fim_run_trains_saves_loads_and_scores_infill(tmp_path, small_split, kind, tokenizer):
    trainer = Trainer(tmp_path / "run", small_split, _preset(kind, 20, 0.5, tokenizer), log=lambda _: None)
    assert trainer.vocab.has_sentinels and (trainer.stream == trainer.vocab.suf).any()
    final = trainer.run(False)
    model = load_model(tmp_path / "run")
    assert model.vocab.has_sentinels and model.meta["train_config"]["fim_rate"] == 0.5
    # Validation is scored on plain left-to-right tunes: the saved best is the figure bits_per_char gives.
    valid = [t.text for t in small_split.valid]
    assert final["best_valid_bpc"] == pytest.approx(bits_per_char(model.network, model.vocab, valid), abs=1e-4)
    score = infill_bits(model, [t.text for t in small_split.test], (5, 8))
    assert score.tunes + score.skipped == len(small_split.test) and score.chars > 0
    assert math.isfinite(score.both_sides) and math.isfinite(score.left_only)


def test_an_spm_run_is_read_and_filled_in_its_own_order(tmp_path, small_split, monkeypatch):
    from tunesmith.learn import infill_scoring
    from tunesmith.sample import cowriting

    Trainer(tmp_path / "run", small_split, _preset("lstm", 10, 0.5, order="spm"), log=lambda _: None).run(False)
    model = load_model(tmp_path / "run")
    assert model.meta["train_config"]["fim_order"] == "spm"
    orders = []
    for module in (infill_scoring, cowriting):
        def noted(*args, _real=module.fim_ids, **kwargs):
            orders.append(kwargs["order"])
            return _real(*args, **kwargs)
        monkeypatch.setattr(module, "fim_ids", noted)
    test = [t.text for t in small_split.test]
    assert math.isfinite(infill_bits(model, test, (5, 8)).both_sides)
    cowriting.write_gap(model, REEL, 2, 4, candidates=1, seed=0, reading=cowriting.BOTH)
    assert set(orders) == {"spm"} and len(orders) > 1
    with pytest.raises(TrainingError, match="--fim-order spm"):
        Trainer(tmp_path / "run", small_split, _preset("lstm", 20, 0.5), resume=True, log=lambda _: None)
    with pytest.raises(TrainingError, match="fim_order"):
        Trainer(tmp_path / "bad", small_split, _preset("lstm", 5, 0.5, order="pms"), log=lambda _: None)


def test_resume_rebuilds_the_same_fim_stream(tmp_path, small_split):
    first = Trainer(tmp_path / "run", small_split, _preset("lstm", 10, 0.5, seed=5), log=lambda _: None)
    first.run(False)
    # Without --seed a resumed run still draws its own tunes: the stream follows the saved seed.
    resumed = Trainer(tmp_path / "run", small_split, _preset("lstm", 20, 0.5, seed=0), resume=True,
                      log=lambda _: None)
    assert torch.equal(resumed.stream, first.stream)
    with pytest.raises(TrainingError, match="--fim-rate 0.5"):
        Trainer(tmp_path / "run", small_split, _preset("lstm", 20, 0.25), resume=True, log=lambda _: None)


def test_fim_rate_out_of_range_and_the_flag(tmp_path, small_split):
    from tunesmith.cli import build_parser

    with pytest.raises(TrainingError, match="fim_rate"):
        Trainer(tmp_path / "run", small_split, _preset("lstm", 5, 1.5), log=lambda _: None)
    args = build_parser().parse_args(["train", "--data", "oneills", "--out", "x", "--fim-rate", "0.3"])
    assert args.fim_rate == 0.3
    assert build_parser().parse_args(["train", "--data", "oneills", "--out", "x"]).fim_rate is None
