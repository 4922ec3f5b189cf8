"""From a results DataFrame to fitted laws: the step between the store and the report or the
recommendation.

Quality (validation loss by default) is fitted against parameters separately for each data size
with the saturating power law y = E + A * N^(-alpha). A metric where higher is better (accuracy,
F1) is fitted as its complement 1 - y, which is what falls towards a floor as models grow.
Each cost (seconds, FLOPs, latency, bytes, memory) is fitted with the pure power law
y = A * N^k: per data size when it grows with the data a run trains on, else on all runs at once.
The fitting itself is `scalinglab.fit`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scalinglab.fit import ScalingLaw
from scalinglab.metrics import METRICS, label
from scalinglab.results import aggregate_over_seeds, ok_runs

QUALITY_FORM = "power"
COST_FORM = "powerlaw"
MIN_SIZES_TO_FIT = 4  # the power law has 3 parameters: fewer distinct sizes cannot test it
MIN_SIZES_TO_FIT_COST = 3  # the pure power law has 2
UNSTABLE_SEED_CV = 0.10  # seed std above 10% of the mean: the fit is chasing noise

# Costs the recommendation can budget, and whether each grows with the data a run trains on
# (then it is fitted per data size). A new cost metric becomes budgetable by adding it here.
COSTS: dict[str, bool] = {
    "train_flops": True,
    "train_seconds": True,
    "latency_ms_p50": False,
    "bytes_fp32": False,
    "peak_memory_bytes": False,
}


@dataclass
class GroupFit:
    """One fitted law: `metric` against `x` for the runs whose `group_by` column equals `group`.

    `group` is None for a law fitted on all runs at once (a cost that does not depend on data).
    When `complement` is true the law was fitted to 1 - metric; `predict` undoes that.
    """

    metric: str
    x: str
    group_by: str
    group: float | None
    law: ScalingLaw
    n_points: int
    x_range: tuple[float, float]
    complement: bool = False

    def predict(self, x) -> np.ndarray:
        """The metric predicted at `x` (parameters)."""
        y = np.asarray(self.law.predict(np.asarray(x, float)), float)
        return 1.0 - y if self.complement else y

    def predict_interval(self, x, level: float = 0.95) -> tuple[np.ndarray, np.ndarray] | None:
        """Lower and upper bound of the metric at `x`, or None when the law has no intervals."""
        if not getattr(self.law, "ci_", None):
            return None
        low, high = (np.asarray(bound, float) for bound in self.law.predict_interval(np.asarray(x, float), level=level))
        return (1.0 - high, 1.0 - low) if self.complement else (low, high)

    def extrapolation_factor(self, x: float) -> float:
        """How far `x` lies outside the trained range, as a ratio (1.0 inside it)."""
        low, high = self.x_range
        return float(max(1.0, x / high, low / x))


@dataclass
class FitOutcome:
    """Quality fits (one per data size), cost fits by cost name, and what could not be fitted."""

    fits: list[GroupFit]
    warnings: list[str]
    costs: dict[str, list[GroupFit]] = field(default_factory=dict)

    def quality_for(self, group: float) -> GroupFit | None:
        """The quality law fitted for data size `group`, if any."""
        return next((fit for fit in self.fits if fit.group == group), None)

    def cost_for(self, cost: str, group: float | None) -> GroupFit | None:
        """The law of `cost` that applies to data size `group` (the pooled law when it has one)."""
        for fit in self.costs.get(cost, []):
            if fit.group is None or fit.group == group:
                return fit
        return None


def fit_metric_vs_params(
    frame: pd.DataFrame,
    *,
    metric: str = "val_loss",
    x: str = "n_params",
    group_by: str = "train_size",
    n_bootstrap: int = 1000,
    random_state: int = 0,
    best_lr_only: bool = True,
) -> FitOutcome:
    """Fit quality and every measured cost against parameters, on every ok run (all seeds).

    Parameters
    ----------
    frame : DataFrame
        One row per run, as `scalinglab.results.results_frame` returns it.
    metric : str
        The quality column; fitted with the saturating power law per `group_by` value.
    x, group_by : str
        The size column fitted against, and the column whose values get a law each.
    n_bootstrap, random_state : int
        Passed to every `ScalingLaw`, so intervals are reproducible.
    best_lr_only : bool
        Keep only the runs at each size's best learning rate (the `best_lr` column), so a law is
        not bent by learning rates that suit some sizes and not others.

    Returns
    -------
    FitOutcome
        The laws, and one warning for every group that had too few sizes to fit.
    """
    runs = ok_runs(frame)
    if best_lr_only and "best_lr" in runs:
        runs = runs[runs["best_lr"].astype(bool)]
    if runs.empty:
        return FitOutcome([], ["no finished runs to fit"])
    if metric not in runs:
        return FitOutcome([], [f"no run recorded {metric}; nothing to fit"])
    options = dict(x=x, group_by=group_by, n_bootstrap=n_bootstrap, random_state=random_state)
    warnings: list[str] = []
    fits = []
    for group, rows in runs.groupby(group_by, sort=True):
        fit = _fit_group(rows, metric, group=float(group), form=QUALITY_FORM, warnings=warnings, **options)
        fits += [fit] if fit else []
    costs = {cost: _fit_cost(runs, cost, warnings, **options) for cost in COSTS if cost in runs}
    return FitOutcome(fits, warnings, {cost: laws for cost, laws in costs.items() if laws})


def _fit_cost(runs: pd.DataFrame, cost: str, warnings: list[str], *, group_by: str, **options) -> list[GroupFit]:
    if not COSTS[cost] or runs[group_by].nunique() == 1:
        fit = _fit_group(runs, cost, group=None, form=COST_FORM, warnings=warnings, group_by=group_by, **options)
        return [fit] if fit else []
    fits = []
    for group, rows in runs.groupby(group_by, sort=True):
        fit = _fit_group(rows, cost, group=float(group), form=COST_FORM, warnings=warnings, group_by=group_by, **options)
        fits += [fit] if fit else []
    return fits


def _fit_group(
    rows: pd.DataFrame,
    metric: str,
    *,
    group: float | None,
    form: str,
    warnings: list[str],
    x: str,
    group_by: str,
    n_bootstrap: int,
    random_state: int,
) -> GroupFit | None:
    rows = rows[np.isfinite(rows[metric]) & np.isfinite(rows[x])]
    needed = MIN_SIZES_TO_FIT if form == QUALITY_FORM else MIN_SIZES_TO_FIT_COST
    n_sizes = rows[x].nunique()
    where = f"{group_by}={group:g}" if group is not None else "all runs"
    if n_sizes < needed:
        warnings.append(
            f"{where}: only {n_sizes} distinct {x} values for {metric}; "
            f"a {form} law needs {needed} to be tested, not just fitted"
        )
        return None
    complement = _fitted_as_complement(metric)
    target = rows.assign(**{metric: 1.0 - rows[metric]}) if complement else rows
    if (target[metric] <= 0).any():
        # A perfect score or a zero cost has no logarithm: the law is not defined there.
        shown = f"1 - {metric}" if complement else metric
        warnings.append(f"{where}: {shown} reaches 0 for some runs; no {form} law fitted to it")
        return None
    law = ScalingLaw(form=form, n_bootstrap=n_bootstrap, random_state=random_state).fit(target, x=x, y=metric)
    return GroupFit(
        metric, x, group_by, group, law, len(rows), (float(rows[x].min()), float(rows[x].max())), complement
    )


def _fitted_as_complement(metric: str) -> bool:
    return metric in METRICS and not METRICS[metric].lower_is_better and metric not in COSTS


def describe_fit(fit: GroupFit) -> str:
    """One plain sentence about what the exponent means, with its 95% interval when there is one."""
    alpha = fit.law.params_["alpha"]
    ci = (getattr(fit.law, "ci_", None) or {}).get("alpha")
    interval = f" (95% CI {ci[0]:.2f} to {ci[1]:.2f})" if ci is not None else ""
    floor = fit.law.params_["E"]
    factor = 10 ** (-alpha)
    quantity = f"1 - {fit.metric}" if fit.complement else fit.metric
    lowest = float(np.min(fit.law.predict(np.array([fit.x_range[1]]))))
    # A floor far below everything measured is not resolved by these sizes: say so, not "0.000".
    floor_words = f"approaches a floor of {floor:.3g}" if floor > 0.01 * lowest else "shows no floor within these sizes"
    return (
        f"With {fit.group_by} = {fit.group:g}, {quantity} {floor_words} and the part above it "
        f"shrinks as {fit.x}^-{alpha:.2f}{interval}: each 10x more parameters multiplies the excess by {factor:.2g}."
    )


def describe_cost(fit: GroupFit) -> str:
    """One plain sentence: how a cost grows with parameters, with the 95% interval of the exponent."""
    k = fit.law.params_["k"]
    ci = (getattr(fit.law, "ci_", None) or {}).get("k")
    interval = f" (95% CI {10 ** ci[0]:.2g}x to {10 ** ci[1]:.2g}x)" if ci is not None else ""
    where = f" with {fit.group_by} = {fit.group:g}" if fit.group is not None else ""
    return (
        f"{label(fit.metric).capitalize()} grows as {fit.x}^{k:.2f}{where}: "
        f"10x more parameters cost {10 ** k:.2g}x{interval}."
    )


@dataclass
class ScalingEffect:
    """What moving from `n_from` to `n_to` parameters did, at one data size, with 95% intervals."""

    metric: str
    group_by: str
    group: float
    n_from: float
    n_to: float
    metric_from: float
    metric_to: float
    change: float  # relative change of the metric, e.g. -0.23 for a 23% cut
    change_ci: tuple[float, float] | None
    cost_ratios: dict[str, tuple[float, tuple[float, float] | None]]

    def sentence(self) -> str:
        """E.g. '... going from 8.5k to 85k parameters (10x) cut validation loss by 23% (95% CI 19-27%)'."""
        verb = "cut" if self.change < 0 else "raised"
        size = abs(self.change) * 100
        interval = " (too few runs to resample for an interval)"
        if self.change_ci is not None:
            low, high = sorted(abs(bound) * 100 for bound in self.change_ci)
            if (self.change_ci[0] < 0) == (self.change_ci[1] < 0):
                interval = f" (95% CI {low:.0f}-{high:.0f}%)"
            else:
                interval = f" (95% CI {self.change_ci[0] * 100:+.0f}% to {self.change_ci[1] * 100:+.0f}%: not clearly any change)"
        factor = self.n_to / self.n_from
        costs = [
            f"{ratio:.2g}x the {label(cost).split(' (')[0]}" + (f" (95% CI {ci[0]:.2g}-{ci[1]:.2g}x)" if ci else "")
            for cost, (ratio, ci) in self.cost_ratios.items()
        ]
        cost_text = f", and cost {_join(costs)}" if costs else ""
        return (
            f"With {self.group_by} = {self.group:g}, going from {format_count(self.n_from)} to {format_count(self.n_to)} parameters "
            f"({format_factor(factor)}) {verb} {label(self.metric).split(' (')[0]} by {size:.0f}%{interval}, "
            f"from {self.metric_from:.3g} to {self.metric_to:.3g}{cost_text}."
        )


def scaling_effect(
    outcome: FitOutcome,
    group: float,
    *,
    costs: tuple[str, ...] = ("train_seconds",),
    decade: float = 10.0,
) -> ScalingEffect | None:
    """The effect of the last `decade`-fold of parameters trained at data size `group`.

    The interval of the quality change comes from the law's bootstrap (refits on runs resampled
    with replacement), taken jointly at both ends so it keeps their correlation;
    the interval of a cost ratio comes from the interval of its exponent.
    """
    fit = outcome.quality_for(group)
    if fit is None:
        return None
    n_to = fit.x_range[1]
    n_from = max(fit.x_range[0], n_to / decade)
    ends = np.array([n_from, n_to])
    metric_from, metric_to = fit.predict(ends)
    ratios = _resampled_changes(fit, ends)
    change_ci = tuple(np.quantile(ratios, [0.025, 0.975])) if len(ratios) >= 20 else None
    cost_ratios = {}
    for cost in costs:
        cost_fit = outcome.cost_for(cost, group)
        if cost_fit is not None:
            cost_ratios[cost] = _cost_ratio(cost_fit, n_to / n_from)
    return ScalingEffect(
        fit.metric, fit.group_by, group, n_from, n_to, float(metric_from), float(metric_to),
        float(metric_to / metric_from - 1), change_ci, cost_ratios,
    )


def _resampled_changes(fit: GroupFit, ends: np.ndarray) -> np.ndarray:
    """Relative change of the metric between the two ends, for every bootstrap replicate."""
    if fit.law.bootstrap_theta_ is None:
        return np.array([])
    low, high = fit.law.bootstrap_predict(ends).T
    if fit.complement:
        low, high = 1.0 - low, 1.0 - high
    return high / low - 1


def _cost_ratio(fit: GroupFit, factor: float) -> tuple[float, tuple[float, float] | None]:
    k = fit.law.params_["k"]
    ci = (getattr(fit.law, "ci_", None) or {}).get("k")
    return float(factor**k), ((float(factor ** ci[0]), float(factor ** ci[1])) if ci is not None else None)


def data_effect_sentence(frame: pd.DataFrame, metric: str, *, x: str = "n_params", group_by: str = "train_size") -> str | None:
    """What more data did for the largest model, from the measured seed means."""
    means = aggregate_over_seeds(frame)
    if means.empty or metric not in means or means[group_by].nunique() < 2:
        return None
    largest = means[means[x] == means[x].max()].sort_values(group_by)
    first, last = largest.iloc[0], largest.iloc[-1]
    change = last[metric] / first[metric] - 1
    verb = "cut" if change < 0 else "raised"
    return (
        f"At {format_count(first[x])} parameters, {last[group_by] / first[group_by]:.2g}x more training data "
        f"({first[group_by]:g} to {last[group_by]:g}) {verb} {label(metric).split(' (')[0]} by {abs(change) * 100:.0f}% "
        f"({first[metric]:.3g} to {last[metric]:.3g}, measured)."
    )


def generalization_sentence(frame: pd.DataFrame, *, x: str = "n_params", group_by: str = "train_size") -> str | None:
    """How the validation-minus-training loss moved with size and with data, measured."""
    means = aggregate_over_seeds(frame)
    if means.empty or "generalization_gap" not in means:
        return None
    most_data = means[means[group_by] == means[group_by].max()].sort_values(x)
    small, large = most_data.iloc[0], most_data.iloc[-1]
    sentence = (
        f"With {group_by} = {small[group_by]:g}, the generalization gap (validation minus training loss) went from "
        f"{small['generalization_gap']:.3f} at {format_count(small[x])} parameters to {large['generalization_gap']:.3f} "
        f"at {format_count(large[x])}"
    )
    biggest = means[means[x] == means[x].max()].sort_values(group_by)
    if len(biggest) > 1:
        sentence += (
            f"; for the largest model, more data moved it from {biggest.iloc[0]['generalization_gap']:.3f} "
            f"({group_by} = {biggest.iloc[0][group_by]:g}) to {biggest.iloc[-1]['generalization_gap']:.3f} "
            f"({group_by} = {biggest.iloc[-1][group_by]:g})"
        )
    return sentence + "."


def seed_warnings(frame: pd.DataFrame, metric: str, *, x: str = "n_params", group_by: str = "train_size") -> list[str]:
    """Warnings about seeds: only one per configuration, or configurations whose seeds disagree."""
    means = aggregate_over_seeds(frame)
    if means.empty or metric not in means:
        return []
    if means["n_seeds"].max() < 2:
        return ["one seed per configuration: the seed-to-seed spread is unknown, so intervals cover only the spread across sizes"]
    spread = means[f"{metric}_std"] / means[metric].abs()
    unstable = means[spread > UNSTABLE_SEED_CV].assign(spread=spread)
    return [
        f"unstable seeds at {x}={row[x]:g}, {group_by}={row[group_by]:g}: the std of {metric} over "
        f"{row['n_seeds']} seeds is {row['spread'] * 100:.0f}% of its mean"
        for _, row in unstable.sort_values("spread", ascending=False).head(5).iterrows()
    ]


def backtest_largest(frame: pd.DataFrame, outcome: FitOutcome, *, n_bootstrap: int = 0) -> pd.DataFrame:
    """Refit each quality law without its largest size and predict that size.

    Returns
    -------
    DataFrame
        One row per data size that had a size to spare: group, n_params (the held-out size),
        actual (seed mean), predicted, relative_error = predicted / actual - 1.
    """
    rows_out = []
    runs = ok_runs(frame)
    for fit in outcome.fits:
        rows = runs[(runs[fit.group_by] == fit.group) & np.isfinite(runs[fit.metric])]
        held_out = rows[fit.x].max()
        train = rows[rows[fit.x] < held_out]
        if train[fit.x].nunique() < MIN_SIZES_TO_FIT:
            continue
        refit = _fit_group(
            train, fit.metric, group=fit.group, form=QUALITY_FORM, warnings=[], x=fit.x, group_by=fit.group_by,
            n_bootstrap=n_bootstrap, random_state=0,
        )
        actual = rows.loc[rows[fit.x] == held_out, fit.metric].mean()
        predicted = float(refit.predict([held_out])[0])
        rows_out.append(dict(group=fit.group, n_params=held_out, actual=actual, predicted=predicted,
                             relative_error=predicted / actual - 1))
    return pd.DataFrame(rows_out, columns=["group", "n_params", "actual", "predicted", "relative_error"])


def format_count(n: float) -> str:
    """A count in words people read: 850, 8.5k, 85M, 1.2B."""
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= threshold:
            return f"{n / threshold:.3g}{suffix}"
    return f"{n:.3g}"


def format_factor(factor: float) -> str:
    """A ratio as people say it: 1.8x, 12x, 340x."""
    return f"{factor:.2g}x" if factor < 10 else f"{factor:.0f}x"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
