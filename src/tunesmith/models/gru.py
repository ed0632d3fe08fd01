"""A character GRU: the lab's model with nn.GRU in place of nn.LSTM (no cell state, fewer gates)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class GRUConfig:
    vocab_size: int
    embed_dim: int = 256
    hidden_size: int = 1024
    num_layers: int = 1
    dropout: float = 0.0  # between GRU layers and before the output layer


class GRULanguageModel(nn.Module):
    """Logits for every position and the hidden state (layers, B, hidden), so sampling can carry it on."""

    def __init__(self, config: GRUConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim)
        self.gru = nn.GRU(
            config.embed_dim,
            config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(self, idx: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.embed(idx)  # (B, T, embed_dim)
        out, state = self.gru(x, state)  # (B, T, hidden_size); state (layers, B, hidden_size)
        logits = self.head(self.drop(out))  # (B, T, vocab_size)
        return logits, state

    @staticmethod
    def select_state(state: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Keep the rows of a batch named by index (the state is (layers, B, hidden))."""
        return state[:, index]
