import math
from dataclasses import replace

import pytest
import torch

from tunesmith.abc.text import Tune
from tunesmith.data.corpus import Split
from tunesmith.learn.training import PRESETS, TrainConfig, Trainer, TrainingError, decay_groups, get_lr
from tunesmith.models import build_model
from tunesmith.store.checkpoint import load_model

TUNE = "X:1\nT:T{}\nM:6/8\nL:1/8\nK:D\n|:ABA dfe|dBA AFD:|\n"


def _split(n=40):
    tunes = [Tune(TUNE.format(i)) for i in range(n)]
    return Split(tunes[4:], tunes[:2], tunes[2:4])


def _preset(steps, **changes):
    tiny = PRESETS["tiny"]
    return replace(tiny, model={**tiny.model, "dropout": 0.1},
                   train=replace(tiny.train, max_steps=steps, eval_interval=10, **changes))


def test_lr_warmup_then_cosine_to_floor():
    config = TrainConfig(learning_rate=1.0, warmup_steps=10, min_lr_ratio=0.1)
    assert get_lr(0, 0.0, config) == pytest.approx(0.1)
    assert get_lr(10, 0.0, config) == pytest.approx(1.0)
    assert get_lr(50, 0.5, config) == pytest.approx(0.55)
    assert get_lr(99, 1.0, config) == pytest.approx(0.1)
    assert get_lr(5, 0.9, replace(config, schedule="constant")) == 1.0


def test_resumed_run_ends_with_the_same_weights(tmp_path, monkeypatch):
    straight = Trainer(tmp_path / "a", _split(), _preset(40), log=lambda _: None)
    straight.run(False)
    interrupted = Trainer(tmp_path / "b", _split(), _preset(40), log=lambda _: None)
    real_step = Trainer.train_step

    def step_then_interrupt(self):
        if self.state.step == 25:  # killed 5 steps after the checkpoint at step 20
            raise KeyboardInterrupt
        return real_step(self)

    monkeypatch.setattr(Trainer, "train_step", step_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        interrupted.run(False)
    monkeypatch.setattr(Trainer, "train_step", real_step)
    resumed = Trainer(tmp_path / "b", _split(), _preset(40), resume=True, log=lambda _: None)
    assert resumed.state.step == 20
    resumed.run(False)
    for (name, a), b in zip(straight.network.state_dict().items(), resumed.network.state_dict().values()):
        assert torch.equal(a, b), name


def test_run_writes_metrics_plot_and_best(tmp_path):
    final = Trainer(tmp_path, _split(), _preset(30), log=lambda _: None).run(False)
    assert {p.name for p in tmp_path.iterdir()} >= {
        "model.safetensors", "config.json", "last.safetensors", "metrics.jsonl", "loss.png"}
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 3
    assert final["best_valid_bpc"] < math.log2(len(load_model(tmp_path).vocab))
    assert load_model(tmp_path).meta["state"]["finished"] is True


def test_refuses_to_overwrite_or_resume_nothing(tmp_path):
    Trainer(tmp_path, _split(), _preset(10), log=lambda _: None).run(False)
    with pytest.raises(TrainingError, match="a run is already here"):
        Trainer(tmp_path, _split(), _preset(10), log=lambda _: None)
    with pytest.raises(TrainingError, match="nothing to resume"):
        Trainer(tmp_path / "new", _split(), _preset(10), resume=True, log=lambda _: None)


def test_resume_refuses_other_data(tmp_path):
    Trainer(tmp_path, _split(), _preset(10), log=lambda _: None).run(False)
    other = _split(30)
    with pytest.raises(TrainingError, match="different training data"):
        Trainer(tmp_path, other, _preset(20), resume=True, log=lambda _: None)


def test_read_only_output_fails_before_training(tmp_path):
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    tmp_path.chmod(0o500)
    with pytest.raises(TrainingError, match="cannot write checkpoints here"):
        Trainer(tmp_path / "run", _split(), _preset(10), log=lambda _: None)


def test_stops_when_validation_stops_improving(tmp_path, monkeypatch):
    scores = iter([2.0, 1.5, 1.6, 1.7, 1.8, 1.9])
    monkeypatch.setattr("tunesmith.learn.training.bits_per_char", lambda *args: next(scores))
    trainer = Trainer(tmp_path, _split(), _preset(60, patience=2), log=lambda _: None)
    trainer.run(False)
    assert trainer.state.step == 40  # best at step 20, then two evaluations without a better one
    assert trainer.state.best_valid_bpc == 1.5


def test_weight_decay_spares_biases_and_layer_norm_gains():
    network = build_model("transformer", {"vocab_size": 20, "embed_dim": 16, "num_layers": 1, "num_heads": 2,
                                          "context_length": 8})
    decay, no_decay = decay_groups(network, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    names = {id(p): name for name, p in network.named_parameters()}
    assert {names[id(p)] for p in decay["params"]} >= {"embed.weight", "blocks.0.attn.qkv.weight"}
    assert {names[id(p)] for p in no_decay["params"]} >= {"norm.weight", "norm.bias", "blocks.0.attn.qkv.bias"}
    assert len(decay["params"]) + len(no_decay["params"]) == len(names)
