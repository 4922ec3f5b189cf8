"""The cost-quality front: the one implementation behind the report's Pareto figures, the
frontier `recommend` prints, and the compress-big-or-train-small verdict."""

from __future__ import annotations

import numpy as np


def pareto_mask(cost, quality, lower_is_better: bool = True) -> np.ndarray:
    """True where no configuration at most as costly has better quality. Among equal costs only the
    best is kept; a point whose cost or quality is not finite is never on the front."""
    cost = np.asarray(cost, dtype=float)
    score = np.asarray(quality, dtype=float) * (1.0 if lower_is_better else -1.0)
    order = np.lexsort((score, cost))  # cheapest first, the best first among equal costs
    order = order[np.isfinite(cost[order]) & np.isfinite(score[order])]
    best_before = np.concatenate([[np.inf], np.minimum.accumulate(score[order])[:-1]])
    mask = np.zeros(len(cost), dtype=bool)
    mask[order] = score[order] < best_before
    return mask
