"""The data axis from cooldowns through the real sweep (issue 25 item 3's goals; a script, not a test).

Runs one 4-value data axis of the language model twice with `scalinglab run`'s driver
(sweeper.run_sweep, serial executor): with training.cooldowns = true (one stable run at the
largest size, the smaller sizes stored as cooldown branches) and with every size trained from
scratch with the same "wsd" schedule. Prints each size's validation loss both ways and their
relative difference (goal: within 2%), and the optimizer steps both ways (goal: at most half).

    python benchmarks/cooldown_sweep.py                        # cooldowns of 10% (WSD_DECAY_FRACTION)
    python benchmarks/cooldown_sweep.py --decay-fraction 0.2   # what 20% cooldowns give

--decay-fraction sets train.optim.WSD_DECAY_FRACTION for this process only (both sweeps), to
measure a fraction other than the shipped one.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from scalinglab.config import config_from_dict
from scalinglab.runs_table import results_frame
from scalinglab.store import open_store
from scalinglab.sweeper import run_sweep
from scalinglab.train import optim

CONTEXT = 64


def sweep(out: str, args, *, cooldowns: bool):
    raw = {
        "output": out,
        "seeds": [0],
        "measure": {"latency_repeats": 2},
        "execution": {"executor": "serial"},
        "model": {"family": "transformer", "d_model": [args.d_model], "n_layer": 2, "n_head": 2, "context": CONTEXT},
        "data": {"source": "stdlib", "train_size": [tokens + 1 for tokens in args.tokens]},
        "training": {
            "epochs": 1,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "schedule": "wsd",
            "warmup_fraction": 0.05,
            "cooldowns": cooldowns,
            "save_checkpoints": False,
        },
    }
    config = config_from_dict(raw, source="benchmark")
    store = open_store(config.output)
    started = time.perf_counter()
    outcome = run_sweep(config, store)
    seconds = time.perf_counter() - started
    frame = results_frame(store).sort_values("train_size").reset_index(drop=True)
    store.close()
    assert (frame["status"] == "ok").all() and outcome.trained == len(args.tokens), outcome.summary()
    return frame, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d-model", type=int, default=32)
    parser.add_argument("--tokens", type=int, nargs="+", default=[65536, 131072, 196608, 262144])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--decay-fraction", type=float, default=optim.WSD_DECAY_FRACTION)
    args = parser.parse_args()
    optim.WSD_DECAY_FRACTION = args.decay_fraction
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        branched, branched_seconds = sweep(f"{folder}/branched", args, cooldowns=True)
        scratch, scratch_seconds = sweep(f"{folder}/scratch", args, cooldowns=False)
    steps_per_token = 1 / (args.batch_size * CONTEXT)
    for (_, branch), (_, alone) in zip(branched.iterrows(), scratch.iterrows()):
        print(
            f"{int(branch['train_tokens_seen']):>9,} tokens: branch val loss {branch['val_loss']:.4f}, "
            f"from scratch {alone['val_loss']:.4f}, difference {100 * (branch['val_loss'] / alone['val_loss'] - 1):+.2f}% "
            f"({branch['val_bits_per_byte']:.3f} vs {alone['val_bits_per_byte']:.3f} bits/byte)"
            + ("" if isinstance(branch["parent_run_key"], str) else "  [the parent]")
        )
    parent = branched.iloc[-1]
    branched_steps = (
        parent["branch_tokens"] * steps_per_token
        + parent["cooldown_steps"]
        + branched["cooldown_steps"].iloc[:-1].sum()
    )
    scratch_steps = (scratch["train_tokens_seen"] * steps_per_token).sum()
    print(
        f"cooldowns of {args.decay_fraction:.0%}: {branched_steps:.0f} optimizer steps for the stable run and its "
        f"cooldowns, {scratch_steps:.0f} from scratch ({branched_steps / scratch_steps:.0%}); sweep wall "
        f"{branched_seconds:.0f} s vs {scratch_seconds:.0f} s (2 shared cores: wall is indicative only)"
    )


if __name__ == "__main__":
    main()
