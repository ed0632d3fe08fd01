"""A decoder-only character transformer (GPT, after nanoGPT's model.py) with a key/value cache.

Pre-norm blocks: x + attention(LayerNorm(x)), then x + MLP(LayerNorm(x)). Learned absolute
position embeddings, and the output head reuses the token embedding matrix (weight tying).

The state is a KVCache: every block's keys and values for the positions read so far, so
sampling costs one position per new character instead of re-reading the whole tune.

The context limit. Positions are learned for 0..context_length-1 only, so the cache holds
at most context_length positions. When it is full, the model keeps the last
context_length // 2 characters and re-reads them from position 0 (one half-window pass),
then goes on one position per character. So past the limit every character is predicted
from between context_length // 2 and context_length - 1 characters before it, at a cost of
one extra half-window pass per context_length // 2 new characters. (Re-reading the last
context_length - 1 characters for every new one, as nanoGPT's generate does, would give
every character the full window but cost a whole window pass per character.) A single
call with more than context_length characters, state or not, follows the same rule, so
feeding a sequence in any chunks gives the same logits as feeding it at once, and scoring
a tune longer than the context does not fail. Position embeddings are only trained as far
as the training windows reach: train with seq_length == context_length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class TransformerConfig:
    vocab_size: int
    embed_dim: int = 192  # d_model
    num_layers: int = 4
    num_heads: int = 4  # embed_dim must divide by it
    context_length: int = 1024  # most tunes are under 1,000 characters, so whole tunes fit
    dropout: float = 0.1  # on embeddings and residual branches


@dataclass
class KVCache:
    """Per block (keys, values), each (B, heads, T_cached, head_dim), and the tokens behind them."""

    layers: list[tuple[torch.Tensor, torch.Tensor]]
    tokens: torch.Tensor  # (B, T_cached), kept to re-read a window once the cache is full

    @property
    def length(self) -> int:
        """Positions in the cache: the position the next character will take."""
        return self.tokens.size(1)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        if config.embed_dim % config.num_heads:
            raise ValueError(f"embed_dim {config.embed_dim} does not divide into {config.num_heads} heads")
        self.num_heads = config.num_heads
        self.qkv = nn.Linear(config.embed_dim, 3 * config.embed_dim)  # queries, keys, values of all heads at once
        self.proj = nn.Linear(config.embed_dim, config.embed_dim)
        self.resid_drop = nn.Dropout(config.dropout)

    def forward(
        self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # each (B, T, C)
        hs = C // self.num_heads
        q, k, v = (t.view(B, T, self.num_heads, hs).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)  # (B, nh, P+T, hs)
        P = k.size(2) - T  # positions already cached
        # No dropout on the attention weights: on the CPU it forces the path that writes out
        # every (T, T) weight matrix, which halves training speed (the residual dropout stays).
        if P == 0:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            # is_causal would align the mask to the top left, as if the queries started at position 0;
            # query i is at position P+i, so it may see keys 0..P+i.
            mask = torch.ones(T, P + T, dtype=torch.bool, device=x.device).tril(diagonal=P)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C): heads side by side again
        return self.resid_drop(self.proj(y)), (k, v)


class MLP(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.up = nn.Linear(config.embed_dim, 4 * config.embed_dim)
        self.proj = nn.Linear(4 * config.embed_dim, config.embed_dim)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.proj(F.gelu(self.up(x))))


class Block(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(config.embed_dim)
        self.attn = CausalSelfAttention(config)
        self.norm2 = nn.LayerNorm(config.embed_dim)
        self.mlp = MLP(config)

    def forward(
        self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        attended, kv = self.attn(self.norm1(x), past)
        x = x + attended  # pre-norm: the residual path itself is never normalised
        x = x + self.mlp(self.norm2(x))
        return x, kv


class TransformerLanguageModel(nn.Module):
    """Logits for every position and a KVCache, so sampling can go on one character at a time."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        if config.context_length < 2:
            raise ValueError("context_length must be at least 2 (half of it is kept when the cache is full)")
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim)
        self.pos_embed = nn.Embedding(config.context_length, config.embed_dim)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_layers))
        self.norm = nn.LayerNorm(config.embed_dim)
        # No head of its own: logits = h @ embed.weight^T (weight tying). Sharing by reference
        # instead (head.weight = embed.weight) would put one tensor under two names in the
        # state dict, which safetensors refuses to save.
        self.apply(self._init_weights)
        for block in self.blocks:  # GPT-2: scale residual projections so the sum over layers stays O(1)
            for proj in (block.attn.proj, block.mlp.proj):
                nn.init.normal_(proj.weight, mean=0.0, std=0.02 / math.sqrt(2 * config.num_layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    @property
    def head_weight(self) -> torch.Tensor:
        """The output layer's (vocab_size, embed_dim) matrix: the token embedding itself."""
        return self.embed.weight

    def forward(self, idx: torch.Tensor, state: KVCache | None = None) -> tuple[torch.Tensor, KVCache]:
        window, keep = self.config.context_length, self.config.context_length // 2
        pieces = []
        while idx.size(1) or not pieces:
            if state is not None and state.length >= window:  # full: re-read the last `keep` from position 0
                _, state = self._read(state.tokens[:, -keep:], None)
            room = window - (state.length if state is not None else 0)
            logits, state = self._read(idx[:, :room], state)  # (B, <=room, vocab_size)
            pieces.append(logits)
            idx = idx[:, room:]
        return torch.cat(pieces, dim=1), state  # (B, T, vocab_size)

    def _read(self, idx: torch.Tensor, cache: KVCache | None) -> tuple[torch.Tensor, KVCache]:
        """idx (B, T) at the positions after the cache's, which has room for them."""
        start = cache.length if cache is not None else 0
        positions = torch.arange(start, start + idx.size(1), device=idx.device)  # (T,)
        x = self.drop(self.embed(idx) + self.pos_embed(positions))  # (B, T, C)
        layers = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, cache.layers[i] if cache is not None else None)
            layers.append(kv)
        logits = F.linear(self.norm(x), self.head_weight)  # (B, T, vocab_size)
        tokens = idx if cache is None else torch.cat([cache.tokens, idx], dim=1)
        return logits, KVCache(layers, tokens)

    @staticmethod
    def select_state(state: KVCache, index: torch.Tensor) -> KVCache:
        """Keep the rows of a batch named by index (batch is dim 0 of every cached tensor)."""
        return KVCache([(k[index], v[index]) for k, v in state.layers], state.tokens[index])
