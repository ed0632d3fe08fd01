"""A character GRU: the lab's model with nn.GRU in place of nn.LSTM (no cell state, fewer gates)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from tunesmith.models.lstm import LSTMConfig, LSTMLanguageModel


@dataclass
class GRUConfig(LSTMConfig):
    """The same fields as the LSTM: vocab_size, embed_dim, hidden_size, num_layers, dropout."""


class GRULanguageModel(LSTMLanguageModel):
    """Logits for every position and the hidden state (layers, B, hidden), so sampling can carry it on."""

    recurrent_layer = nn.GRU

    @staticmethod
    def select_state(state: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Keep the rows of a batch named by index (the state is (layers, B, hidden))."""
        return state[:, index]
