"""Training with ABC tokens and transposition, and `tunesmith compare` over the runs it writes."""

import json
from dataclasses import replace

import pytest

from tunesmith.abc.text import Tune
from tunesmith.cli import main
from tunesmith.data.corpus import Split
from tunesmith.data.vocab import ABCTokenVocab, CharVocab
from tunesmith.judge.compare import compare_runs
from tunesmith.learn.training import PRESETS, Trainer, TrainingError
from tunesmith.store.checkpoint import load_model

TUNE = "X:1\nT:T{}\nM:6/8\nL:1/8\nK:D\n|:ABA dfe|\"G\"dBA AF^G:|{}|\n"


def _tune(i: int) -> str:
    """Tunes that differ in their music, so the split by tune spreads them."""
    return TUNE.format(i, "".join("ABcdefg"[(i * k + k) % 7] for k in range(1, 4)))


def _split(n=24):
    tunes = [Tune(_tune(i)) for i in range(n)]
    return Split(tunes[4:], tunes[:2], tunes[2:4])


def _preset(steps, **changes):
    tiny = PRESETS["tiny"]
    return replace(tiny, train=replace(tiny.train, max_steps=steps, eval_interval=5, batch_size=4, **changes))


def test_abc_tokens_with_transposition_train_and_reload(tmp_path):
    trainer = Trainer(tmp_path, _split(), _preset(10, tokenizer="abc", transpose="all"), log=lambda _: None)
    assert isinstance(trainer.vocab, ABCTokenVocab)
    assert {"K:D", "K:Bb", "K:F#", "|:", '"G"', "^G"} <= set(trainer.vocab.tokens)  # keys of the transposed tunes
    assert trainer.valid_texts == [_tune(i) for i in range(2)]  # held-out tunes keep their key
    assert trainer.chars_per_token > 1.0
    final = trainer.run(False)
    model = load_model(tmp_path)
    assert isinstance(model.vocab, ABCTokenVocab) and model.vocab.tokens == trainer.vocab.tokens
    assert model.meta["train_config"]["tokenizer"] == "abc" and model.meta["train_config"]["transpose"] == "all"
    assert 0 < final["best_valid_bpc"] < 8 and "test_bpc" in final
    # chars_seen counts characters: more than the tokens the steps read
    assert trainer.state.chars_seen > 10 * 4 * trainer.config.seq_length


def test_char_tokens_count_exactly_one_character_per_position(tmp_path):
    trainer = Trainer(tmp_path, _split(), _preset(5), log=lambda _: None)
    assert isinstance(trainer.vocab, CharVocab) and trainer.chars_per_token == 1.0
    trainer.run(False)
    assert trainer.state.chars_seen == 5 * 4 * trainer.config.seq_length


def test_resume_refuses_another_tokenizer_and_unknown_names(tmp_path):
    Trainer(tmp_path, _split(), _preset(5, tokenizer="abc"), log=lambda _: None).run(False)
    with pytest.raises(TrainingError, match="the run used --tokenizer abc"):
        Trainer(tmp_path, _split(), _preset(10), resume=True, log=lambda _: None)
    with pytest.raises(TrainingError, match="unknown tokenizer"):
        Trainer(tmp_path / "b", _split(), _preset(5, tokenizer="bpe"), log=lambda _: None)
    with pytest.raises(TrainingError, match="unknown transpose"):
        Trainer(tmp_path / "c", _split(), _preset(5, transpose="some"), log=lambda _: None)


def test_cli_train_flags_resume_keeps_the_runs_tokenizer_and_compare(tmp_path, capsys):
    book = tmp_path / "book.abc"
    book.write_text("\n".join(_tune(i) for i in range(40)))
    abc, char = tmp_path / "abc", tmp_path / "char"
    common = ["--data", str(book), "--preset", "tiny", "--quiet"]
    assert main(["train", *common, "--out", str(abc), "--steps", "5", "--tokenizer", "abc", "--transpose", "all"]) == 0
    assert main(["train", *common, "--out", str(abc), "--steps", "8", "--resume"]) == 0  # flags from the run
    assert load_model(abc).meta["train_config"]["tokenizer"] == "abc"
    assert main(["train", *common, "--out", str(char), "--steps", "5"]) == 0
    capsys.readouterr()
    (char / "evaluation.json").write_text(json.dumps(
        {"constrained": False, "generated": {"syntax_ok": 0.9, "metre_ok": 0.5, "copied": 0.25}}))
    assert main(["compare", str(abc), str(char), str(tmp_path / "missing"), "--out", str(tmp_path / "cmp")]) == 0
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert lines[0].startswith("| run | kind | preset | tokenizer | transpose | parameters |")
    assert "novel" in lines[0] and len(lines) == 4
    assert "| abc | lstm | tiny | abc | all |" in lines[2] and lines[2].endswith("| - | - | - | - |")
    assert "| char | lstm | tiny | char | none |" in lines[3] and "| free | 90% | 50% | 75% |" in lines[3]
    assert "skipping" in err and "missing" in err
    assert (tmp_path / "cmp" / "compare.png").stat().st_size > 10_000


def test_compare_without_evaluations_and_without_runs(tmp_path):
    for name in ("one", "two"):
        Trainer(tmp_path / name, _split(), _preset(5), log=lambda _: None).run(False)
    table, png = compare_runs([tmp_path / "one", tmp_path / "two"], tmp_path)
    assert "novel" not in table and table.count("\n") == 3 and png.is_file()
    records = [json.loads(line) for line in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    assert f"{min(r['valid_bpc'] for r in records):.3f}" in table.splitlines()[2]
    with pytest.raises(ValueError, match="no run directory"):
        compare_runs([tmp_path / "nothing"], tmp_path)
