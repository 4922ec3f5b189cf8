"""Does size matter at a data size? Measured first, so that a law is quoted only where it is resolved.

For each data size, `size_verdict` compares the seed means of the trained sizes with their noise
and decides what the data can say:

- "scales": the largest size is clearly better than the smallest (the measured change's 95%
  interval excludes 0) and the fitted law's local exponent has a finite interval above 0: the
  law's exponent and floor mean what they say;
- "improves": clearly better, but no law (too few sizes) to quote an exponent from;
- "plateau": clearly better at first, then flat within noise from `plateau_start` up, and the law's
  exponent is not resolved (a step then a floor: its exponent or floor would be meaningless);
- "flat": the change from the smallest to the largest size is within noise: size does not clearly
  matter here;
- "worse": the largest size is clearly worse than the best one (overfitting at this data size);
- "one size": a single size was trained, so the effect of size is not measured;
- "not relative": the metric is 0 or below at some size (a perfect fit), so no relative change,
  and no law of it, can be read.

A change under 1% across the trained sizes counts as no change, whatever its interval: no law
is worth quoting for it. The noise of a configuration's mean is relative (a fraction of the mean): the seeds' spread,
pooled over the configurations of the data size, over the root of each configuration's seed
count; with a single seed everywhere, the scatter of the log means about a smooth curve (their
second differences, from 5 sizes; with fewer the noise is unknown and the means are compared as
measured). Every answer that is not "scales" recommends the smallest size within noise
of the best (`plateau_start`). A comparison with the best size widens its interval for the choice
of the best among the sizes (`SizeVerdict.against_best_z`): the luckiest of several equal means
is otherwise "clearly" better than the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from scalinglab.analysis.groups import MIN_SIZES_TO_FIT, GroupFit
from scalinglab.analysis.numbers import format_change, format_count, format_percent, format_value
from scalinglab.fit.convergence import NEGLIGIBLE_CHANGE  # under 1% across the sizes is no law, whatever its CI
from scalinglab.metrics import lower_is_better, short_label, value_range

Z_95 = 1.96  # two-sided 95% normal quantile: the log-ratio intervals below
SECOND_DIFFERENCE_VARIANCE = 6.0  # var(y[i-1] - 2 y[i] + y[i+1]) = 6 sigma^2 for independent noise
# Sizes needed before the scatter of one-seed means about a smooth curve stands in for their noise:
# three second differences. With three sizes the one bend of a saturating accuracy (0.58 at 310
# parameters, 0.89 at 1.21k) read as noise put every size "within noise" of the smallest.
MIN_SIZES_FOR_SCATTER = 5
MEDIAN_CHI2_1 = 0.4549  # median of a squared standard normal: a median of squares estimates 0.4549 sigma^2


@dataclass
class SizeVerdict:
    """What the trained sizes at one data size say about size (see the module docstring)."""

    metric: str
    x: str
    group_by: str
    group: float
    sizes: np.ndarray  # trained sizes, ascending
    means: np.ndarray  # seed mean of the metric at each size
    n_seeds: np.ndarray  # seeds behind each mean
    seed_noise: float | None  # relative std of one run over seeds; None with one seed everywhere
    scatter: float | None  # relative scatter of the means about a smooth curve; None below 3 sizes
    kind: str
    plateau_start: float  # the smallest size within noise of the best: what to train when not "scales"

    @property
    def resolved(self) -> bool:
        """Whether the fitted law describes how the metric changes with size here."""
        return self.kind == "scales"

    def mean_noise(self, index: int) -> float | None:
        """Relative standard error of the mean at `sizes[index]`: its seeds' error where some size
        was trained with 2+ seeds, else the means' scatter about a smooth curve. Not the larger of
        the two: with 3 sizes the scatter is one bend of the curve, and a saturating accuracy's
        bend (0.34, 0.67, 0.88) read as a noise of 18% per mean put a clearly better size "within
        noise" of a worse one, which was then recommended. (The sizes of one data size share its
        training subset, so no noise shared by a configuration's seeds separates them.)"""
        if self.seed_noise is not None:
            return self.seed_noise / np.sqrt(self.n_seeds[index])
        return self.scatter

    def change(self, i: int, j: int, z: float = Z_95) -> tuple[float, tuple[float, float] | None]:
        """Relative change of the metric from `sizes[i]` to `sizes[j]`, with its 95% interval (`z`:
        the normal quantile; `against_best_z` where one end is the best of the sizes)."""
        ratio = self.means[j] / self.means[i]
        if self.mean_noise(i) is None:
            return float(ratio - 1), None
        half = z * np.hypot(self.mean_noise(i), self.mean_noise(j))
        # A share (accuracy) cannot pass 1: seen "rose by 81% (0.481 to 0.868, ... to +272%)".
        highest = value_range(self.metric)[1] / self.means[i]
        return float(ratio - 1), (float(ratio * np.exp(-half) - 1), float(min(ratio * np.exp(half), highest) - 1))

    def run_interval(self, index: int) -> tuple[float, float] | None:
        """95% interval of a new run's metric at `sizes[index]`: seed noise around the measured mean."""
        if self.mean_noise(index) is None:
            return None
        half = Z_95 * np.hypot(self.seed_noise or 0.0, self.mean_noise(index))
        highest = value_range(self.metric)[1]
        return float(self.means[index] * np.exp(-half)), float(min(self.means[index] * np.exp(half), highest))

    def sentence(self) -> str:
        """The verdict in words, with the measured change and its interval."""
        where = f"With {self.group_by} = {format_value(self.group)}"
        name = short_label(self.metric)
        if self.kind == "one size":
            return (
                f"{where}, only {format_count(self.sizes[0])} parameters were trained, so how {name} depends on "
                f"size is not measured; train at least {MIN_SIZES_TO_FIT} sizes to fit a law."
            )
        last = len(self.sizes) - 1
        if self.kind == "not relative":
            return (
                f"{where}, {name} is 0 or below at some of the trained sizes (seed means from "
                f"{self.means.min():.4g} to {self.means.max():.4g}), so neither its relative change with size nor "
                f"a law can be read from them; the smallest size at the best mean is "
                f"{format_count(self.plateau_start)} parameters."
            )
        if self.kind == "worse":
            best = int(np.flatnonzero(self.sizes == self.best_size)[0])
            if self.mean_noise(best) is None:  # one run per size: a worse mean may be noise
                return (
                    f"{where}, the largest model measured worse than a smaller one: from "
                    f"{format_count(self.best_size)} to {format_count(self.sizes[-1])} parameters {name} "
                    f"{self.change_words(best, last)}; with one run per size, noise and that difference cannot "
                    "be told apart: train 2+ seeds to know whether larger models do worse at this data size."
                )
            return (
                f"{where}, larger models did worse: from {format_count(self.best_size)} to "
                f"{format_count(self.sizes[-1])} parameters {name} {self.change_words(best, last, self.against_best_z)} "
                f"(at this data size larger models overfit, or train too briefly); the smallest size within noise "
                "of the best is "
                f"{format_count(self.plateau_start)}. A larger model would need more data, regularization or a "
                "longer schedule to pay off here."
            )
        if self.kind == "flat":
            return (
                f"{where}, size does not clearly matter between {format_count(self.sizes[0])} and "
                f"{format_count(self.sizes[-1])} parameters: {name} {self.change_words(0, last)}"
                f"{self._noise_advice()}."
            )
        if self.kind == "plateau":
            start = int(np.flatnonzero(self.sizes == self.plateau_start)[0])
            return (
                f"{where}, {name} {self.change_words(0, start)} from {format_count(self.sizes[0])} to "
                f"{format_count(self.plateau_start)} parameters, then {self.change_words(start, last)} up to "
                f"{format_count(self.sizes[-1])}: beyond {format_count(self.plateau_start)} parameters size does "
                "not clearly matter, and no exponent can be read from these sizes."
            )
        law = ""
        if self.kind == "improves":
            law = (
                f" ({len(self.sizes)} sizes: a law needs {MIN_SIZES_TO_FIT})"
                if len(self.sizes) < MIN_SIZES_TO_FIT
                else "; the fitted law's exponent is not resolved by these sizes, so none is quoted"
            )
        return (
            f"{where}, from {format_count(self.sizes[0])} to {format_count(self.sizes[-1])} parameters "
            f"{name} {self.change_words(0, last)}, measured{law}."
        )

    @property
    def best_size(self) -> float:
        return float(self.sizes[_best_index(self.means, self.metric)])

    @property
    def against_best_z(self) -> float:
        """The normal quantile of a 95% interval of a change from or to the best size: the best
        was picked as the extreme of the means, so its difference from any size is the largest of
        len(sizes) - 1 comparisons, whose 95% intervals must hold together (Bonferroni; Dunn 1961).
        Seen: of 6 sizes of a flat curve, the luckiest mean (1.42 among 1.49-1.53) made "larger
        models did worse ... 95% interval 0.47% to 9.6%" and was recommended."""
        comparisons = max(len(self.sizes) - 1, 1)
        return float(NormalDist().inv_cdf(1.0 - (1.0 - 0.95) / (2 * comparisons)))

    def change_words(self, i: int, j: int, z: float = Z_95) -> str:
        change, interval = self.change(i, j, z)
        verb = "fell" if change < 0 else "rose"
        words = f"{verb} by {format_percent(abs(change))} ({format_change(self.means[i], self.means[j])}"
        if interval is None:
            return words + ", one run each: no interval)"
        low, high = interval
        if low * high > 0 and low * change > 0:  # all on the verb's side: said in its sense ("fell by 13% to 14%")
            low, high = sorted((abs(low), abs(high)))
            return words + f", 95% interval {format_percent(low)} to {format_percent(high)})"
        # Across 0, the signs say it: "-5% to +1%" of the change.
        return (
            words
            + f", 95% interval of the change {format_percent(low, signed=True)} to {format_percent(high, signed=True)})"
        )

    def _noise_advice(self) -> str:
        if self.mean_noise(0) is None:
            return "; with one run per size, noise and effect cannot be told apart: train 2+ seeds"
        return ""


def size_verdict(
    runs: pd.DataFrame, metric: str, *, x: str, group_by: str, group: float, fit: GroupFit | None
) -> SizeVerdict:
    """The verdict on size at data size `group` of `runs` (ok runs at their best learning rate),
    with `fit` the law fitted there (None when too few sizes)."""
    rows = runs[(runs[group_by] == group) & np.isfinite(runs[metric].astype(float))]
    grouped = rows.groupby(x)[metric]
    sizes = grouped.mean().index.to_numpy(float)
    means, n_seeds = grouped.mean().to_numpy(float), grouped.size().to_numpy(int)
    verdict = SizeVerdict(
        metric,
        x,
        group_by,
        group,
        sizes,
        means,
        n_seeds,
        _seed_noise(grouped.std(ddof=1).to_numpy(float), means, n_seeds),
        _scatter(means),
        "one size",
        float(sizes[0]),
    )
    if len(sizes) < 2:
        return verdict
    if (means <= 0).any():  # a loss of exactly 0 somewhere: changes relative to it mean nothing
        verdict.kind = "not relative"
        verdict.plateau_start = float(sizes[np.flatnonzero(means == means[_best_index(means, metric)])[0]])
        return verdict
    verdict.plateau_start = _plateau_start(verdict)
    verdict.kind = _kind(verdict, fit)
    return verdict


def _seed_noise(stds: np.ndarray, means: np.ndarray, n_seeds: np.ndarray) -> float | None:
    """Relative std of one run over seeds, pooled over the sizes with 2+ seeds; None without any."""
    repeated = (n_seeds >= 2) & (means > 0)
    if not repeated.any():
        return None
    relative = stds[repeated] / np.abs(means[repeated])
    weights = n_seeds[repeated] - 1
    return float(np.sqrt(np.sum(weights * relative**2) / np.sum(weights)))


def _scatter(means: np.ndarray) -> float | None:
    """Relative scatter of the means about a smooth curve, from their second differences in log
    (``MIN_SIZES_FOR_SCATTER``+ sizes: with fewer, one or two bends cannot tell the curve's own
    bend from noise). The median, so that one knee of the curve (a step, then a floor) is not taken
    for noise; what bend remains counts as noise, which errs towards "not clearly"."""
    if len(means) < MIN_SIZES_FOR_SCATTER or (means <= 0).any():
        return None
    bends = np.diff(np.log(means), 2)
    return float(np.sqrt(np.median(bends**2) / (SECOND_DIFFERENCE_VARIANCE * MEDIAN_CHI2_1)))


def _best_index(means: np.ndarray, metric: str) -> int:
    return int(np.argmin(means) if lower_is_better(metric) else np.argmax(means))


def clearly_better(verdict: SizeVerdict, i: int, j: int, z: float = Z_95) -> int:
    """+1 when the metric at `sizes[j]` is clearly better than at `sizes[i]`, -1 clearly worse, 0
    within noise (its interval at normal quantile `z` holds 0) or negligible (under
    `NEGLIGIBLE_CHANGE`). A comparison with the best size takes `verdict.against_best_z`."""
    change, interval = verdict.change(i, j, z)
    low, high = interval if interval is not None else (change, change)
    better_is_lower = lower_is_better(verdict.metric)
    if (low > 0 or high < 0) and abs(change) >= NEGLIGIBLE_CHANGE:
        improved = (high < 0) if better_is_lower else (low > 0)
        return 1 if improved else -1
    return 0


def _plateau_start(verdict: SizeVerdict) -> float:
    best = _best_index(verdict.means, verdict.metric)
    z = verdict.against_best_z
    within = [i for i in range(len(verdict.sizes)) if clearly_better(verdict, i, best, z) == 0 or i == best]
    return float(verdict.sizes[min(within)])


def _kind(verdict: SizeVerdict, fit: GroupFit | None) -> str:
    best, last = _best_index(verdict.means, verdict.metric), len(verdict.sizes) - 1
    if clearly_better(verdict, best, last, verdict.against_best_z) == -1:
        return "worse"
    if clearly_better(verdict, 0, last) != 1:
        return "flat"
    if fit is None:
        return "improves"
    if exponent_resolved(fit):
        return "scales"
    # A plateau needs a size past its start: when only the largest is within noise of the best,
    # the metric clearly improved up to the end ("then rose by 0.00% up to 26.1k" otherwise).
    return "plateau" if verdict.sizes[0] < verdict.plateau_start < verdict.sizes[-1] else "improves"


def exponent_resolved(fit: GroupFit) -> bool:
    """Whether the law's local exponent at its largest size is finite and, where it has an
    interval, clearly above 0 with a finite interval. An interval of no width is resolved only for
    a law that fits its points exactly: on scattered points every bootstrap replicate landing on
    one value (seen: "95% CI 0.44 to 0.44") means the bootstrap failed to move, not precision."""
    _, value, interval = fit.exponent()
    if not np.isfinite(value) or value <= 0 or getattr(fit.law, "bootstrap_stuck_", False):
        return False
    if interval is None:
        return True
    low, high = interval
    if not (np.isfinite(low) and np.isfinite(high) and low > 0):
        return False
    return high - low > 1e-6 * abs(value) or _fits_exactly(fit)


def _fits_exactly(fit: GroupFit) -> bool:
    residuals = getattr(fit.law, "log_residuals_", None)
    return residuals is not None and float(np.max(np.abs(residuals))) < 1e-6
