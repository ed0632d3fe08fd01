"""Model registry: a checkpoint names its kind and config, and build_model rebuilds it.

Every model takes `forward(idx, state=None) -> (logits, state)` and has
`select_state(state, index)`, so training and sampling never branch on the kind.
"""

from __future__ import annotations

from dataclasses import asdict, fields

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


# The largest value of each size a config may give: far past any preset (the lab's LSTM is 1,024
# wide), near enough that a tampered or mistyped checkpoint fails here, not after building 10^8 layers.
LIMITS = {"vocab_size": 1 << 17, "embed_dim": 1 << 13, "hidden_size": 1 << 14, "num_layers": 64,
          "num_heads": 64, "context_length": 1 << 16}


def check_config(kind: str, config: object) -> None:
    """Every size a positive whole number under its limit, dropout in [0, 1) (the Transformer checks that its
    heads divide its width as it builds its first block)."""
    for name, limit in LIMITS.items():
        value = getattr(config, name, None)
        if value is not None and (type(value) is not int or not 1 <= value <= limit):
            raise ValueError(f"{kind} config: {name} must be a whole number from 1 to {limit:,} (got {value!r})")
    dropout = getattr(config, "dropout", 0.0)
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"{kind} config: dropout must be at least 0 and below 1 (got {dropout!r})")


def build_model(kind: str, config: dict) -> nn.Module:
    """Example: build_model("lstm", {"vocab_size": 83}) -> the lab's 5.35 M parameter LSTM.

    A config that is not one (unknown names, sizes out of range) is a ValueError before anything is built."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(MODEL_KINDS)}")
    config_class, model_class = MODEL_KINDS[kind]
    if not isinstance(config, dict):
        raise ValueError(f"{kind} config must be a mapping of names to values, not {type(config).__name__}")
    known = {f.name for f in fields(config_class)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"{kind} config: unknown {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    try:
        built = config_class(**config)
    except TypeError as error:  # a field without a default left out
        raise ValueError(f"{kind} config: {error}") from None
    check_config(kind, built)
    return model_class(built)


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
    "check_config",
    "count_parameters",
]
