"""The pieces a run is made from: the learning-rate schedule, the vocabulary, the texts of the
training stream (transposed or not), AdamW's decay groups, and characters per token."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from tunesmith.abc.transpose import augment
from tunesmith.data.vocab import ABCTokenVocab, CharVocab
from tunesmith.learn.config import TrainConfig, TrainingError


def get_lr(step: int, progress: float, config: TrainConfig) -> float:
    """Linear warmup over warmup_steps, then cosine decay by progress (0..1) to the floor."""
    if config.schedule == "constant":
        return config.learning_rate
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    floor = config.learning_rate * config.min_lr_ratio
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return floor + (config.learning_rate - floor) * cosine


TOKENIZERS, TRANSPOSE = ("char", "abc"), ("none", "all")


def build_vocab(tokenizer: str, texts: list[str]) -> CharVocab | ABCTokenVocab:
    """The vocabulary a TrainConfig.tokenizer names, built from the training texts."""
    if tokenizer == "abc":
        return ABCTokenVocab.build(texts)
    if tokenizer == "char":
        return CharVocab.build(texts)
    raise TrainingError(f"unknown tokenizer {tokenizer!r}; choose from {', '.join(TOKENIZERS)}")


def training_texts(texts: list[str], transpose: str, log: Callable[[str], None] = print) -> list[str]:
    """The texts the training stream is made of: the tunes, and with "all" their transpositions."""
    if transpose not in TRANSPOSE:
        raise TrainingError(f"unknown transpose {transpose!r}; choose from {', '.join(TRANSPOSE)}")
    if transpose == "none":
        return texts
    augmented, skipped = augment(texts)
    log(f"transposed {len(texts) - skipped} training tunes into other keys: {len(augmented)} in all "
        f"({skipped} tunes kept in their own key only: they cannot be transposed)")
    return augmented


def decay_groups(network: torch.nn.Module, weight_decay: float) -> list[dict]:
    """AdamW groups as nanoGPT makes them: matrices and embeddings decay; biases and
    LayerNorm gains do not (pulling a gain towards 0 switches its layer off, it does not regularise)."""
    params = [p for p in network.parameters() if p.requires_grad]
    return [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]


def chars_per_token(vocab: CharVocab | ABCTokenVocab, stream: torch.Tensor) -> float:
    """Mean characters a token of the stream stands for (1 for characters; markers count one)."""
    lengths = torch.tensor([max(len(token), 1) if i >= 3 else 1 for i, token in enumerate(vocab.tokens)])
    return lengths[stream].double().mean().item()
