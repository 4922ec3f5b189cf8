"""Cooldown branches against runs trained alone (issue 25 item 3's check; a script, not a test).

One "wsd" run of the language model with a cooldown branch at each of four lengths (1:2:3:4)
(train.cooldown), and, for each length, a run of that length trained alone with schedule = "wsd"
(train_one). Prints each pair's validation loss and their relative difference (the goal: within
2%), the optimizer steps and wall seconds of both ways, and the steps a 4-value data axis costs
each way at the same cooldown fraction.

    python benchmarks/cooldown_agreement.py
    python benchmarks/cooldown_agreement.py --d-model 64 --tokens 131072 262144 393216 524288

The longest branch is the run of its length trained alone, step for step (0.00% by construction;
tests/train/test_cooldown.py); the shorter ones are the check. Measured on 2 shared cores:
d_model 32, 64k-256k tokens: -0.61%, +0.54%, +0.13%; d_model 64, 128k-512k tokens: -1.29%,
-0.25%, +0.27%; both 52% of the steps of training each length alone.
"""

from __future__ import annotations

import argparse
import time

import torch

from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec
from scalinglab.train.cooldown import cooldown_branches
from scalinglab.train.loop import train_one
from scalinglab.train.optim import WSD_DECAY_FRACTION

CONTEXT = 64


def spec_of(d_model: int, tokens: int, batch_size: int, lr: float) -> RunSpec:
    """A one-pass "wsd" run over exactly `tokens` training tokens (tokens / batch / context steps)."""
    return RunSpec(
        family="transformer",
        size={"d_model": d_model, "n_layer": 2, "n_head": 2, "context": CONTEXT},
        data=DataSpec(source="stdlib", train_size=tokens + 1),
        seed=0,
        limits=RunLimits(latency_repeats=2),
        training=TrainingSpec(epochs=1, batch_size=batch_size, lr=lr, schedule="wsd", warmup_fraction=0.05),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d-model", type=int, default=32)
    parser.add_argument("--tokens", type=int, nargs="+", default=[65536, 131072, 196608, 262144])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    tokens_per_step = args.batch_size * CONTEXT
    lengths = [tokens // tokens_per_step for tokens in args.tokens]
    started = time.perf_counter()
    points, stable_steps = cooldown_branches(spec_of(args.d_model, max(args.tokens), args.batch_size, args.lr), lengths)
    branch_seconds = time.perf_counter() - started
    alone_seconds = 0.0
    for point, tokens in zip(points, sorted(args.tokens)):
        started = time.perf_counter()
        alone = train_one(spec_of(args.d_model, tokens, args.batch_size, args.lr))
        alone_seconds += time.perf_counter() - started
        assert alone.status == "ok", alone.error
        branch_loss, alone_loss = point.val_scores["loss"], alone.metrics["val_loss"]
        print(
            f"{tokens:>9,} tokens ({point.steps} steps): branch val loss {branch_loss:.4f}, alone {alone_loss:.4f}, "
            f"difference {100 * (branch_loss / alone_loss - 1):+.2f}% "
            f"({point.val_scores['bits_per_byte']:.3f} vs {alone.metrics['val_bits_per_byte']:.3f} bits/byte)"
        )
    branch_steps = stable_steps + sum(point.cooldown_steps for point in points)
    print(
        f"steps: {branch_steps} for the stable run and its cooldowns, {sum(lengths)} trained alone "
        f"({branch_steps / sum(lengths):.0%}); wall {branch_seconds:.0f} s vs {alone_seconds:.0f} s "
        "(trained alone includes measuring each run)"
    )
    axis = [1, 2, 3, 4]
    branched = (1 - WSD_DECAY_FRACTION) * max(axis) + WSD_DECAY_FRACTION * sum(axis)
    print(
        f"a 4-value data axis 1:2:3:4 costs {branched / sum(axis):.0%} of training each length alone "
        f"(cooldowns of {WSD_DECAY_FRACTION:.0%})"
    )


if __name__ == "__main__":
    main()
