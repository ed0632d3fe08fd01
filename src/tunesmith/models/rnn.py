"""The lecture's vanilla RNN, written out from its equations so it reads next to the slide.

MIT 6.S191, "RNN state update and output" (x_t input, h_t hidden state, y_t output):

    h_t = tanh(W_hh^T h_{t-1} + W_xh^T x_t)        update the hidden state
    y_t = W_hy^T h_t                                output vector

Here x_t is the embedding of character t, a bias b_h is added inside the tanh and b_y to
the output, and vectors are rows (x_t @ W_xh is the slide's W_xh^T x_t), so each W is
stored (inputs, outputs). Stacked layers feed each layer's h_t to the next as its x_t.
nn.RNN computes the same thing in C++; this version is for reading, and for comparing
against the LSTM, which keeps gradients alive over longer spans than tanh alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class RNNConfig:
    vocab_size: int
    embed_dim: int = 256
    hidden_size: int = 1024
    num_layers: int = 1  # any number; layer l's h_t is layer l+1's x_t
    dropout: float = 0.0  # between RNN layers and before the output layer


class VanillaRNNLayer(nn.Module):
    """One recurrent layer: h_t = tanh(W_hh^T h_{t-1} + W_xh^T x_t + b_h) for t = 1..T."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        bound = 1 / math.sqrt(hidden_size)  # nn.RNN's initialisation
        self.W_xh = nn.Parameter(torch.empty(input_size, hidden_size).uniform_(-bound, bound))
        self.W_hh = nn.Parameter(torch.empty(hidden_size, hidden_size).uniform_(-bound, bound))
        self.b_h = nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, input_size), h = h_0 (B, hidden) -> every h_t (B, T, hidden) and the last one."""
        # W_xh^T x_t + b_h does not depend on h, so it is one matmul for all T steps at once;
        # only W_hh^T h_{t-1} has to wait for the step before.
        xh = x @ self.W_xh + self.b_h  # (B, T, hidden)
        outputs = []
        for t in range(x.size(1)):
            h = torch.tanh(h @ self.W_hh + xh[:, t])  # h_t = tanh(W_hh^T h_{t-1} + W_xh^T x_t + b_h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h  # (B, T, hidden), (B, hidden)


class RNNLanguageModel(nn.Module):
    """Embedding -> vanilla RNN layers -> y_t = W_hy^T h_t + b_y; the state is h, (layers, B, hidden)."""

    def __init__(self, config: RNNConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim)
        sizes = [config.embed_dim] + [config.hidden_size] * (config.num_layers - 1)
        self.layers = nn.ModuleList(VanillaRNNLayer(size, config.hidden_size) for size in sizes)
        self.drop = nn.Dropout(config.dropout)
        bound = 1 / math.sqrt(config.hidden_size)
        self.W_hy = nn.Parameter(torch.empty(config.hidden_size, config.vocab_size).uniform_(-bound, bound))
        self.b_y = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, idx: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        B = idx.size(0)
        if state is None:  # h_0 = 0, as in nn.RNN
            state = torch.zeros(len(self.layers), B, self.config.hidden_size, device=idx.device)
        x = self.embed(idx)  # (B, T, embed_dim): x_t
        last = []
        for i, layer in enumerate(self.layers):
            if i > 0:
                x = self.drop(x)  # dropout between layers, like nn.LSTM's
            x, h = layer(x, state[i])  # (B, T, hidden)
            last.append(h)
        logits = self.drop(x) @ self.W_hy + self.b_y  # (B, T, vocab_size): y_t = W_hy^T h_t + b_y
        return logits, torch.stack(last)  # state (layers, B, hidden)

    @staticmethod
    def select_state(state: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Keep the rows of a batch named by index (the state is (layers, B, hidden))."""
        return state[:, index]
