"""Why `transformer-small` has no dropout on its attention weights: training steps with and without.

    python -m benchmarks.attention [--rounds 5] [--json FILE]

The same model (the preset's sizes), the same random batch (8 x 512), in turns: the preset's
attention (no weight dropout, so scaled_dot_product_attention may take its fused path) against
one that drops 10 % of the attention weights as nanoGPT does (which makes PyTorch write out
every (T, T) weight matrix). The figure is the median over rounds of the ratio of chars/s.
"""

from __future__ import annotations

import argparse
from unittest import mock

import torch
import torch.nn.functional as F

from benchmarks.common import interleaved_rates, machine, paired_ratio, report
from tunesmith.learn.training import PRESETS
from tunesmith.models import build_model

SDPA = F.scaled_dot_product_attention


def training_step(attention_dropout: float, batch: int, seq: int):
    preset = PRESETS["transformer-small"]
    torch.manual_seed(0)
    network = build_model(preset.kind, {"vocab_size": 93, **preset.model})
    network.train()
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-3)
    x, y = torch.randint(0, 93, (batch, seq)), torch.randint(0, 93, (batch, seq))

    def with_dropout(*args, **kwargs):
        return SDPA(*args, **kwargs, dropout_p=attention_dropout)

    def step() -> None:
        with mock.patch.object(F, "scaled_dot_product_attention", with_dropout):
            logits, _ = network(x)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=3, help="training steps per turn")
    parser.add_argument("--json")
    args = parser.parse_args()
    batch, seq = PRESETS["transformer-small"].train.batch_size, PRESETS["transformer-small"].train.seq_length
    steps = {"no attention dropout": training_step(0.0, batch, seq),
             "attention dropout 0.1": training_step(0.1, batch, seq)}
    rates = interleaved_rates(steps, {name: batch * seq for name in steps}, args.calls, args.rounds,
                              torch.device("cpu"))
    report({
        "machine": machine(torch.device("cpu")),
        "chars_per_second_median": {name: round(sorted(r)[len(r) // 2]) for name, r in rates.items()},
        "speedup_without_attention_dropout": round(
            paired_ratio(rates["no attention dropout"], rates["attention dropout 0.1"]), 2),
    }, args.json)


if __name__ == "__main__":
    main()
