"""Gradient diagnostics: the lecture's vanishing and exploding gradients, measured on a real model.

Two views, both cheap enough to take at every evaluation of a training run:

- gradient reach: how strongly the loss at the last character of a window depends on the
  character d steps back, as the norm of d loss_T / d x_{T-d} (x the input embedding).
  A vanilla RNN's curve falls by orders of magnitude within a few dozen characters;
  an LSTM's stays up: that is what its gates are for.
- gradient norm per layer after a training step (before clipping), to see explosions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

REACH_DISTANCES = (0, 1, 2, 4, 8, 16, 32, 64, 96)


def gradient_reach(network: nn.Module, windows: torch.Tensor) -> dict[int, float]:
    """Mean norm of d loss_T / d x_{T-d} over the batch, by distance d, for windows (B, T+1).

    Example: gradient_reach(model, x)[0] is the gradient on the last input character.
    """
    was_training = network.training
    network.eval()  # no dropout: the same probe must give the same curve
    captured: list[torch.Tensor] = []

    def keep(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        output.retain_grad()
        captured.append(output)

    handle = network.embed.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            logits, _ = network(windows[:, :-1])
            F.cross_entropy(logits[:, -1], windows[:, -1]).backward()
    finally:
        handle.remove()
        network.zero_grad(set_to_none=True)
        network.train(was_training)
    norms = captured[0].grad.norm(dim=-1).mean(0).flip(0)  # (T,), distance 0 first
    return {d: float(norms[d]) for d in REACH_DISTANCES if d < len(norms)}


def gradient_norms(network: nn.Module) -> dict[str, float]:
    """The norm of each parameter's gradient as it stands (call after backward, before clipping)."""
    return {name: float(p.grad.norm()) for name, p in network.named_parameters() if p.grad is not None}


def plot_diagnostics(records: list[dict], path) -> None:
    """gradients.png: gradient reach by distance at each evaluation, and per-layer norms by step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in records if "grad_reach" in r]
    if not records:
        raise ValueError("this run logged no gradient diagnostics; train with --diagnostics")
    fig, (reach, norms) = plt.subplots(1, 2, figsize=(10, 4))
    shown = records[:: max(1, len(records) // 6)]
    if shown[-1] is not records[-1]:
        shown.append(records[-1])
    for record in shown:
        distances = sorted(int(d) for d in record["grad_reach"])
        reach.plot(distances, [record["grad_reach"][str(d)] for d in distances], marker="o",
                   label=f"step {record['step']}")
    reach.set_yscale("log")
    reach.set_xlabel("distance back in time (characters)")
    reach.set_ylabel("|d loss_T / d x_(T-d)|")
    reach.legend(fontsize=7)
    for name in records[-1]["grad_norms"]:
        norms.plot([r["step"] for r in records], [r["grad_norms"][name] for r in records], label=name)
    norms.set_yscale("log")
    norms.set_xlabel("step")
    norms.set_ylabel("gradient norm (before clipping)")
    norms.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_reach_comparison(runs: dict[str, list[dict]], path) -> None:
    """One figure, one line per run: gradient reach at the run's last evaluation, divided by its
    value at distance 0, so cells trained at different rates compare by shape (vanishing or not)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, records in runs.items():
        last = [r for r in records if "grad_reach" in r][-1]
        reach = last["grad_reach"]
        distances = sorted(int(d) for d in reach)
        ax.plot(distances, [reach[str(d)] / reach["0"] for d in distances], marker="o",
                label=f"{name} (step {last['step']})")
    ax.set_yscale("log")
    ax.set_xlabel("distance back in time (characters)")
    ax.set_ylabel("|d loss_T / d x_(T-d)|, relative to d = 0")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
