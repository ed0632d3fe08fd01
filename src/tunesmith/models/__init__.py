"""Model registry: a checkpoint names its kind and config, and build_model rebuilds it.

Every model takes `forward(idx, state=None) -> (logits, state)` and has
`select_state(state, index)`, so training and sampling never branch on the kind.
"""

from __future__ import annotations

from dataclasses import asdict

from torch import nn

from tunesmith.models.gru import GRUConfig, GRULanguageModel
from tunesmith.models.lstm import LSTMConfig, LSTMLanguageModel
from tunesmith.models.rnn import RNNConfig, RNNLanguageModel
from tunesmith.models.transformer import KVCache, TransformerConfig, TransformerLanguageModel

MODEL_KINDS: dict[str, tuple[type, type[nn.Module]]] = {
    "lstm": (LSTMConfig, LSTMLanguageModel),
    "gru": (GRUConfig, GRULanguageModel),
    "rnn": (RNNConfig, RNNLanguageModel),
    "transformer": (TransformerConfig, TransformerLanguageModel),
}


def build_model(kind: str, config: dict) -> nn.Module:
    """Example: build_model("lstm", {"vocab_size": 83}) -> the lab's 5.35 M parameter LSTM."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(MODEL_KINDS)}")
    config_class, model_class = MODEL_KINDS[kind]
    return model_class(config_class(**config))


def model_kind(model: nn.Module) -> str:
    for kind, (_, model_class) in MODEL_KINDS.items():
        if type(model) is model_class:  # exact: GRULanguageModel subclasses the LSTM
            return kind
    raise ValueError(f"{type(model).__name__} is not a registered model")


def model_config(model: nn.Module) -> dict:
    return asdict(model.config)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "MODEL_KINDS",
    "GRUConfig",
    "GRULanguageModel",
    "KVCache",
    "LSTMConfig",
    "LSTMLanguageModel",
    "RNNConfig",
    "RNNLanguageModel",
    "TransformerConfig",
    "TransformerLanguageModel",
    "build_model",
    "count_parameters",
]
