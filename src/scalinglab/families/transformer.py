"""Decoder-only byte-level language model (GPT-2 style, pre-LayerNorm, tied input/output embedding).

Size axes: `d_model` (residual width), `n_layer` (blocks), `n_head` (attention heads; must divide
d_model), `context` (tokens per window). The vocabulary is the 256 byte values.

Parameters, with d = d_model, L = n_layer, T = context, V = 256:
  embedding (token V*d + position T*d; the output layer reuses the token matrix)
  + L * (12*d^2 + 13*d)     per block: qkv 3d^2+3d, out-proj d^2+d, MLP 8d^2+5d, two LayerNorms 4d
  + 2*d                     final LayerNorm.
`n_params_nonembedding` is Kaplan et al.'s N: everything but the token and position embeddings
(so it still counts the LayerNorms and biases that Kaplan's 12*L*d^2 leaves out).

FLOPs per token are counted the way Chinchilla does (Hoffmann et al. 2022, appendix F): every
matrix product, including the attention logits (Q K^T) and the attention-weighted values, each
2*T*d per token and layer, and the output logits 2*d*V; a multiply-add is 2 FLOPs:
  forward = L * (24*d^2 + 4*T*d) + 2*d*V.
Two departures from appendix F, both so the formula equals what `torch.utils.flop_counter` counts:
the input embedding is a table lookup (0 FLOPs here, 2*V*d there) and softmax / LayerNorm /
GELU element-wise work is left out. The attention term counts all T x T logits although half are
masked, because the computation does them. Kaplan's estimate (2*N + 2*L*T*d forward) is
`kaplan_forward_flops_per_token`. Training costs 3x the forward: every matmul has an input
gradient (the embedding needs one) and a weight gradient.

Attention is written out as two matmuls rather than `scaled_dot_product_attention` because
torch's FLOP counter does not count the fused CPU kernel.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from scalinglab.families.base import Family, TaskShape

VOCAB_SIZE = 256


class Transformer(Family):
    name = "transformer"
    size_axes = ("d_model", "n_layer", "n_head", "context")
    default_size = {"d_model": 64, "n_layer": 2, "n_head": 4, "context": 64}

    def check_size(self, size: dict[str, Any]) -> None:
        if size["d_model"] % size["n_head"]:
            raise ValueError(f"n_head={size['n_head']} does not divide d_model={size['d_model']}")

    def build(self, size: dict[str, Any], task: TaskShape, *, dropout: float = 0.0) -> nn.Module:
        self.check_size(size)
        return ByteLM(
            d_model=size["d_model"],
            n_layer=size["n_layer"],
            n_head=size["n_head"],
            context=size["context"],
            vocab_size=task.n_outputs,
            dropout=dropout,
        )

    def n_params(self, size: dict[str, Any], task: TaskShape) -> int:
        d, context = size["d_model"], size["context"]
        return task.n_outputs * d + context * d + self.n_params_nonembedding(size, task)

    def n_params_nonembedding(self, size: dict[str, Any], task: TaskShape) -> int:
        d, layers = size["d_model"], size["n_layer"]
        return layers * (12 * d * d + 13 * d) + 2 * d

    def forward_flops_per_sample(self, size: dict[str, Any], task: TaskShape) -> float:
        """FLOPs of one token's forward pass (Chinchilla's accounting; a sample is a token)."""
        d, layers, context = size["d_model"], size["n_layer"], size["context"]
        return float(layers * (24 * d * d + 4 * context * d) + 2 * d * task.n_outputs)

    def kaplan_forward_flops_per_token(self, size: dict[str, Any], task: TaskShape) -> float:
        """Kaplan et al. (2020) eq. 2.2: 2*N_nonembedding + 2*n_layer*context*d_model."""
        d, layers, context = size["d_model"], size["n_layer"], size["context"]
        return 2.0 * 12 * layers * d * d + 2.0 * layers * context * d


class ByteLM(nn.Module):
    """Token + position embedding, `n_layer` pre-LN blocks, final LayerNorm, tied output layer."""

    def __init__(self, *, d_model: int, n_layer: int, n_head: int, context: int, vocab_size: int, dropout: float):
        super().__init__()
        self.context = context
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.Embedding(context, d_model)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(_Block(d_model, n_head, dropout) for _ in range(n_layer))
        self.final_norm = nn.LayerNorm(d_model)
        self.apply(_init_weights)
        # GPT-2: scale the residual projections by 1/sqrt(2 * n_layer) so depth does not grow the stream.
        for name, parameter in self.named_parameters():
            if name.endswith("out_proj.weight"):
                nn.init.normal_(parameter, std=0.02 / math.sqrt(2 * n_layer))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits of shape (batch, time, vocab) for int64 byte tokens of shape (batch, time)."""
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.dropout(self.token_embedding(tokens) + self.position_embedding(positions))
        for block in self.blocks:
            x = block(x)
        return self.final_norm(x) @ self.token_embedding.weight.T


class _Block(nn.Module):
    def __init__(self, d_model: int, n_head: int, dropout: float):
        super().__init__()
        self.attn_norm = nn.LayerNorm(d_model)
        self.attention = _CausalSelfAttention(d_model, n_head, dropout)
        self.mlp_norm = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            OrderedDict(
                fc=nn.Linear(d_model, 4 * d_model),
                gelu=nn.GELU(),
                out_proj=nn.Linear(4 * d_model, d_model),
                dropout=nn.Dropout(dropout),
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.attn_norm(x))
        return x + self.mlp(self.mlp_norm(x))


class _CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, n_head: int, dropout: float):
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, time, d_model = x.shape
        q, k, v = self.qkv(x).split(d_model, dim=2)
        q, k, v = (t.view(batch, time, self.n_head, d_model // self.n_head).transpose(1, 2) for t in (q, k, v))
        logits = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
        future = torch.ones(time, time, dtype=torch.bool, device=x.device).triu(1)
        weights = self.dropout(F.softmax(logits.masked_fill(future, float("-inf")), dim=-1))
        mixed = (weights @ v).transpose(1, 2).reshape(batch, time, d_model)
        return self.dropout(self.out_proj(mixed))


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
