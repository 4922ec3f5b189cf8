"""Hugging Face GPT-2 as a scalinglab plugin family: `model.family = "gpt2_family:GPT2"`.

The models are built from a `transformers.GPT2Config` alone (random initialisation, nothing is
downloaded). Size axes: `n_layer`, `n_embd`, `n_head` (must divide n_embd) and `context` (the
window, GPT-2's n_positions). The vocabulary is the task's: 256 byte values for a byte corpus.

No formula is given: scalinglab counts the parameters on the built module and the FLOPs with
torch's FlopCounterMode (docs/plugins.md). Attention is built "eager" (two matmuls) so that the
counter sees it; the fused CPU kernel would be left out.
"""

from __future__ import annotations

from torch import nn

import scalinglab


class GPT2(scalinglab.Family):
    size_axes = ("n_layer", "n_embd", "n_head", "context")
    default_size = {"n_layer": 2, "n_embd": 64, "n_head": 4, "context": 64}

    def check_size(self, size):
        if size["n_embd"] % size["n_head"]:
            raise ValueError(f"n_head={size['n_head']} does not divide n_embd={size['n_embd']}")

    def build(self, size, task, *, dropout=0.0):
        from transformers import GPT2Config, GPT2LMHeadModel

        config = GPT2Config(
            vocab_size=task.n_outputs,
            n_positions=size["context"],
            n_embd=size["n_embd"],
            n_layer=size["n_layer"],
            n_head=size["n_head"],
            resid_pdrop=dropout,
            embd_pdrop=dropout,
            attn_pdrop=dropout,
            bos_token_id=None,  # GPT-2's 50256 is outside a byte vocabulary
            eos_token_id=None,
            use_cache=False,
            attn_implementation="eager",
        )
        return LogitsOnly(GPT2LMHeadModel(config))


class LogitsOnly(nn.Module):
    """Maps int64 tokens (batch, time) to logits (batch, time, vocab), as scalinglab's loop expects
    (a Hugging Face model returns an output object)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, tokens):
        return self.model(input_ids=tokens).logits
