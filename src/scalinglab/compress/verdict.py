"""Compress big or train small? The decision: at each budget, the best trained model and the
best compressed one within it, compared seed by seed (`seed_statistics.PairedDifference`). The
stored compressions are read by `compressions_table`, the verdicts worded by `verdict_words`.
pandas only: no torch.

The training frontier is the `none` rows: every trained model measured by the same function, in
the same process, as the compressed ones, so bytes and latencies compare like with like.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.compress.seed_statistics import PairedDifference, per_seed, seed_summary
from scalinglab.metrics import lower_is_better

# The costs of a model as deployed (not metrics.COSTS, the training-time costs a law is fitted to).
DEPLOYED_COSTS = ("bytes_deployed", "latency_ms_p50", "inference_peak_memory_bytes")


def decide(difference: PairedDifference | None, lower_is_better: bool) -> str:
    """compress / train small when the paired interval leaves out zero; "tie" when not even
    MOST_SEEDS seeds would separate them; else "undecided" (one seed, or too few to tell)."""
    if difference is None:
        return "undecided"
    if difference.decided():
        return "compress" if (difference.mean < 0) == lower_is_better else "train small"
    if difference.n_seeds > 1 and difference.seeds_needed() is None:
        return "tie"
    return "undecided"


@dataclass
class Verdict:
    """At one budget of `cost`: the best trained model and the best compressed one within it, and
    the compressed one's metric minus the trained one's, seed by seed (None when nothing
    compressed fits or they share no seed)."""

    cost: str
    budget: float
    trained: pd.Series
    compressed: pd.Series | None
    metric: str
    difference: PairedDifference | None
    decision: str  # "compress", "train small", "tie" (MOST_SEEDS would not separate them) or "undecided"


def verdicts(
    frame: pd.DataFrame, *, cost: str = "bytes_deployed", metric: str = "val_loss", train_size: float | None = None
) -> list[Verdict]:
    """One verdict per trained size: the budget is that size's own cost (mean over seeds), at the
    largest data size unless `train_size` is given. The best of each kind within the budget is
    chosen by its seed mean, then the two are compared seed by seed."""
    summary = seed_summary(frame, [metric, cost])
    if summary.empty or cost not in summary or metric not in summary:
        return []
    train_size = summary["train_size"].max() if train_size is None else train_size
    summary = summary[(summary["train_size"] == train_size) & summary[cost].notna() & summary[metric].notna()]
    trained, compressed = summary[summary["method"] == "none"], summary[summary["method"] != "none"]
    lower = lower_is_better(metric)
    result = []
    for budget in sorted(trained[cost]):
        best_trained = best_row(trained[trained[cost] <= budget], metric, lower)
        best_compressed = best_row(compressed[compressed[cost] <= budget], metric, lower)
        if best_compressed is None:
            result.append(Verdict(cost, float(budget), best_trained, None, metric, None, "train small"))
            continue
        difference = PairedDifference.of(
            per_seed(frame, best_compressed, metric), per_seed(frame, best_trained, metric)
        )
        result.append(
            Verdict(cost, float(budget), best_trained, best_compressed, metric, difference, decide(difference, lower))
        )
    return result


def best_row(rows: pd.DataFrame, metric: str, lower_is_better: bool) -> pd.Series | None:
    if rows.empty:
        return None
    return rows.loc[rows[metric].idxmin() if lower_is_better else rows[metric].idxmax()]


# recommend's budgets -> (measured column of a compressed model, budget units per unit). Training
# cost is the parent's (its training seconds plus the compression's own; FLOPs: the parent's only).
DEPLOYMENT_BUDGETS = {
    "train_flops": ("parent_train_flops", 1.0),
    "train_seconds": ("total_train_seconds", 1.0),
    "storage_mb": ("bytes_deployed", 1e-6),
    "latency_ms": ("latency_ms_p50", 1.0),
    "memory_mb": ("inference_peak_memory_bytes", 1e-6),
}


def best_within_budgets(
    frame: pd.DataFrame, budgets: dict[str, float], *, metric: str = "val_loss", include_compressed: bool = True
) -> pd.Series | None:
    """The measured configuration (a trained size, or a compressed model when `include_compressed`)
    with the best seed-mean `metric` whose seed-mean costs fit every budget in `budgets`
    (names of DEPLOYMENT_BUDGETS; others are ignored). None when nothing fits.

    For `scalinglab recommend`: its laws choose what to train; this says whether, under the same
    storage / latency / memory budgets, a compressed model measured here does better, and which
    kind (`row["method"]`, `describe_configuration(row)`)."""
    limits = {DEPLOYMENT_BUDGETS[name]: limit for name, limit in budgets.items() if name in DEPLOYMENT_BUDGETS}
    summary = seed_summary(frame, [metric, *(column for column, _ in limits)])
    if summary.empty or metric not in summary:
        return None
    if not include_compressed:
        summary = summary[summary["method"] == "none"]
    within = np.ones(len(summary), dtype=bool)
    for (column, scale), limit in limits.items():
        within &= (summary[column].to_numpy(float) * scale) <= limit if column in summary else False
    lower = lower_is_better(metric)
    return best_row(summary[within & summary[metric].notna().to_numpy()], metric, lower)
