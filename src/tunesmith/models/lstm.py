"""The lab's character LSTM: Embedding -> LSTM -> Linear over the vocabulary."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

LSTMState = tuple[torch.Tensor, torch.Tensor]


@dataclass
class LSTMConfig:
    vocab_size: int
    embed_dim: int = 256
    hidden_size: int = 1024
    num_layers: int = 1
    dropout: float = 0.0  # between LSTM layers and before the output layer


class LSTMLanguageModel(nn.Module):
    """Logits for every position and the recurrent state, so sampling can carry it on."""

    recurrent_layer: type[nn.Module] = nn.LSTM  # the GRU model swaps this and nothing else

    def __init__(self, config: LSTMConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim)
        self.rnn = self.recurrent_layer(
            config.embed_dim,
            config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(
        self, idx: torch.Tensor, state: LSTMState | None = None
    ) -> tuple[torch.Tensor, LSTMState]:
        x = self.embed(idx)  # (B, T, embed_dim)
        out, state = self.rnn(x, state)  # (B, T, hidden_size)
        logits = self.head(self.drop(out))  # (B, T, vocab_size)
        return logits, state

    @staticmethod
    def select_state(state: LSTMState, index: torch.Tensor) -> LSTMState:
        """Keep the rows of a batch named by index (h and c are (layers, B, hidden))."""
        return state[0][:, index], state[1][:, index]
