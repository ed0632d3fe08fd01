"""The reference: the MIT 6.S191 lab's PyTorch model, training step and sampling loop, written out here.

Everything Tunesmith is measured against comes from this file, kept as the lab has it:

- model: Embedding 256 -> LSTM 1024 -> Linear over the vocabulary, a fresh zero state per call;
- training step: batch 8 x 100 windows at random offsets drawn with numpy, `model.train()`,
  `optimizer.zero_grad()`, one `loss.backward()`, Adam at 5e-3, the loss fetched every step
  (the lab appends it to a history for its plot);
- sampling: one sequence, one forward call per character, softmax then `torch.multinomial`,
  a Python look-up of each character.

Two departures, both in the reference's favour: sampling runs under `torch.no_grad()`, and
the characters are Tunesmith's (its vocabulary and `<s> tune </s>` documents), so the bits
per character of both sides are counted the same way.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

EMBED, HIDDEN, BATCH, SEQ, LR = 256, 1024, 8, 100, 5e-3


class LabModel(nn.Module):
    """The lab's LSTMModel."""

    def __init__(self, vocab_size: int, embedding_dim: int = EMBED, hidden_size: int = HIDDEN):
        super().__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, vocab_size)

    def init_hidden(self, batch_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = torch.zeros(1, batch_size, self.hidden_size, device=device)
        return zeros, zeros.clone()

    def forward(self, x: torch.Tensor, state=None, return_state: bool = False):
        x = self.embedding(x)
        if state is None:
            state = self.init_hidden(x.size(0), x.device)
        out, state = self.lstm(x, state)
        out = self.fc(out)
        return (out, state) if return_state else out


class Scored(nn.Module):
    """A LabModel behind Tunesmith's `forward(idx) -> (logits, state)`, for bits_per_char."""

    def __init__(self, model: LabModel):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, state=None):
        return self.model(x, state, return_state=True)


def copy_weights(source: nn.Module, model: LabModel) -> LabModel:
    """Give a LabModel the weights of a Tunesmith `mit` network (embed/rnn/head -> embedding/lstm/fc)."""
    names = {"embed.": "embedding.", "rnn.": "lstm.", "head.": "fc."}
    state = {}
    for key, value in source.state_dict().items():
        for ours, theirs in names.items():
            if key.startswith(ours):
                state[theirs + key.removeprefix(ours)] = value
    model.load_state_dict(state)
    return model


class LabTraining:
    """The lab's training loop, one step at a time: `step()` returns the loss."""

    def __init__(self, vocab_size: int, stream: torch.Tensor, device: torch.device, seed: int = 0):
        torch.manual_seed(seed)
        self.device = device
        self.model = LabModel(vocab_size).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.songs = stream.numpy()
        self.rng = np.random.default_rng(seed)

    def get_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        n = self.songs.shape[0] - 1
        idx = self.rng.choice(n - SEQ, BATCH)
        x = np.reshape([self.songs[i : i + SEQ] for i in idx], [BATCH, SEQ])
        y = np.reshape([self.songs[i + 1 : i + SEQ + 1] for i in idx], [BATCH, SEQ])
        return torch.tensor(x, dtype=torch.long).to(self.device), torch.tensor(y, dtype=torch.long).to(self.device)

    def step(self) -> float:
        x, y = self.get_batch()
        self.model.train()
        self.optimizer.zero_grad()
        y_hat = self.model(x)
        loss = F.cross_entropy(y_hat.view(-1, y_hat.size(-1)), y.view(-1))
        loss.backward()
        self.optimizer.step()
        return float(loss.detach().cpu().numpy().mean())


@torch.no_grad()
def lab_generate(model: LabModel, start: list[int], length: int, tokens: list[str]) -> str:
    """The lab's generate_text: one sequence, a fresh state, one character per forward call."""
    device = next(model.parameters()).device
    input_idx = torch.tensor([start], dtype=torch.long, device=device)
    state = model.init_hidden(input_idx.size(0), device)
    generated = []
    for _ in range(length):
        predictions, state = model(input_idx, state, return_state=True)
        predictions = predictions.squeeze(0)[-1:]  # (1, vocab): the last position
        input_idx = torch.multinomial(torch.softmax(predictions, dim=-1), num_samples=1)
        generated.append(tokens[input_idx.item()])
    return "".join(generated)
