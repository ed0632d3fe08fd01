import json
from dataclasses import replace

import torch

from tunesmith.cli import main
from tunesmith.learn.diagnostics import REACH_DISTANCES, gradient_reach
from tunesmith.learn.training import PRESETS, Trainer
from tunesmith.models import build_model


def test_vanilla_rnn_gradient_vanishes_with_small_recurrent_weights():
    torch.manual_seed(0)
    rnn = build_model("rnn", {"vocab_size": 12, "embed_dim": 8, "hidden_size": 16})
    with torch.no_grad():
        rnn.layers[0].W_hh.copy_(0.1 * torch.eye(16))  # each step back multiplies the gradient by <= 0.1
    reach = gradient_reach(rnn, torch.randint(0, 12, (4, 41)))
    assert sorted(reach) == [d for d in REACH_DISTANCES if d < 40]
    assert reach[0] > 0 and reach[16] < 1e-10 * reach[0]
    assert all(p.grad is None for p in rnn.parameters())  # the probe leaves no gradients behind


def test_lstm_gradient_reaches_further_than_the_vanilla_rnn():
    torch.manual_seed(0)
    windows = torch.randint(0, 12, (4, 41))
    lstm = build_model("lstm", {"vocab_size": 12, "embed_dim": 8, "hidden_size": 16})
    with torch.no_grad():  # forget gates wide open: the cell carries its memory along
        lstm.rnn.bias_ih_l0[16:32].fill_(5.0)
    rnn = build_model("rnn", {"vocab_size": 12, "embed_dim": 8, "hidden_size": 16})
    lstm_reach, rnn_reach = gradient_reach(lstm, windows), gradient_reach(rnn, windows)
    assert lstm_reach[32] / lstm_reach[0] > rnn_reach[32] / rnn_reach[0]


def test_training_logs_diagnostics_and_plot_draws_them(tmp_path, oneills_split):
    tiny = PRESETS["tiny"]
    preset = replace(tiny, train=replace(tiny.train, max_steps=20, eval_interval=10, diagnostics=True))
    Trainer(tmp_path, oneills_split, preset, log=lambda _: None).run(False)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert all("grad_reach" in r and "rnn.weight_hh_l0" in r["grad_norms"] for r in records)
    with open(tmp_path / "metrics.jsonl", "a") as metrics:
        metrics.write('{"step": 30, "train_seconds": 1.2, "valid_b')  # a run killed mid-line: still plots
    assert main(["plot", str(tmp_path)]) == 0
    assert (tmp_path / "gradients.png").stat().st_size > 1000
    other = tmp_path / "other"  # a second run: their gradient reach side by side on one plot
    other.mkdir()
    (other / "metrics.jsonl").write_text((tmp_path / "metrics.jsonl").read_text())
    assert main(["plot", str(tmp_path), str(other), "--out", str(tmp_path / "reach.png")]) == 0
    assert (tmp_path / "reach.png").stat().st_size > 1000
