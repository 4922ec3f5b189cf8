"""Laws fitted per group: quality against parameters for each data size, and every cost.

Quality (validation loss by default) is fitted against parameters separately for each data size
with form="auto" (`scalinglab.fit.select`): the saturating form among E + A * N^(-alpha), its
shifted variant and the broken power law that extrapolates best on the sweep's own largest sizes.
Whatever form is chosen, "the exponent" is the law's local decay exponent (`ScalingLaw.exponent_at`)
and its floor `params_.get("E", 0.0)`. A metric where higher is better (accuracy, F1) is fitted as
its complement 1 - y, which is what falls towards a floor as models grow.

Each cost (`metrics.COSTS`) gets one law over all runs: a cost that grows with the data a run
trains on (`Metric.grows_with_data`: FLOPs, seconds) is fitted per training example, so it
predicts any data size, trained or not. Time costs (`Metric.fixed_overhead`) are fitted as
t0 + c * N^k, because per-step overhead dominates small models (a pure power law would report a
time exponent near 0 there); it is the saturating form E + A * u^(-alpha) fitted against
u = N^(-1/5), so that k = alpha / 5 and the form's bound alpha <= 10 caps k at 2: no per-example
time grows faster than N^2 (FLOPs per example grow as N for the families here), and a flat, overhead-
dominated time would otherwise drift to any exponent. Other costs are fitted as A * N^k. The fitting itself is `scalinglab.fit`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scalinglab.analysis.numbers import format_value
from scalinglab.analysis.runs import ok_runs, ok_runs_at_best_lr
from scalinglab.fit import ScalingLaw, predict_held_out, training_rows
from scalinglab.metrics import COSTS, METRICS

QUALITY_FORM = "auto"  # issue 12: the per-size fits choose their form by extrapolation error
COMPARABLE_FORM = "power"  # laws compared parameter by parameter must share one form (settings.py)
COST_FORM = "powerlaw"
OVERHEAD_FORM = "power"  # fitted against u = N^(-1/OVERHEAD_SCALE): E + A * u^(-alpha) = t0 + c * N^k
OVERHEAD_SCALE = 5.0  # k = alpha / 5, so the form's bound alpha <= 10 is k <= 2
# Huber delta of the cost laws, on log residuals. Timings scatter by 10-50% between runs of one
# size (the machine's load, per-epoch overheads), which puts every residual in the linear zone of
# the quality fits' 1e-3: the fit becomes a least-absolute-deviation one, whose optimum does not
# move when resampled sizes balance their residuals' signs, so its bootstrap interval collapses to
# a point. At 0.5 such scatter is squared (least squares in log space) and only far outliers are not.
COST_HUBER_DELTA = 0.5
MIN_SIZES_TO_FIT = 4  # the power law has 3 parameters: fewer distinct sizes cannot test it
MIN_SIZES_TO_FIT_COST = 3  # the pure power law has 2
DATA_COLUMNS = ("train_size", "n_train", "train_tokens_seen")  # group_by values that count training examples
# Settings that a data axis is made of (tokens seen = train_size x epochs): with that axis as
# group_by they are the axis itself, not settings to hold at their best value (which kept one
# data size and dropped the rest).
DATA_AXIS_PARTS = {"train_tokens_seen": ("train_size", "n_train", "epochs")}
COST_BOOTSTRAP = 200  # replicates for a cost law: its interval is quoted to 2 digits, 200 suffice


def metric_of(fitted, complement: bool) -> np.ndarray:
    """The metric from a law's value: the value itself, or for a law of the complement 1 - it,
    which a share cannot take below 0 (a complement of 1.2 is an accuracy of 0, not -0.2: seen
    as "raised validation accuracy by 190% (95% CI -621% to +403%)")."""
    y = np.asarray(fitted, float)
    return 1.0 - np.minimum(y, 1.0) if complement else y


@dataclass
class GroupFit:
    """One fitted quality law: `metric` against `x` for the runs whose `group_by` column equals `group`.

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
        return metric_of(self.law.predict(np.asarray(x, float)), self.complement)

    def predict_interval(
        self, x, level: float = 0.95, *, kind: str = "prediction"
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Lower and upper bound of the metric at `x`, or None when the law has no intervals.

        `kind` as `ScalingLaw.predict_interval`: "prediction" (where a new run's metric is
        expected, widened beyond the trained sizes) or "mean" (where the fitted curve lies).
        """
        if not getattr(self.law, "ci_", None):
            return None
        bounds = self.law.predict_interval(np.asarray(x, float), level=level, kind=kind)
        low, high = (metric_of(bound, self.complement) for bound in bounds)
        return (high, low) if self.complement else (low, high)

    def bootstrap_predict(self, x, *, interpolating: bool = False) -> np.ndarray | None:
        """The metric at `x` under every bootstrap replicate, shape (B, len(x)); None without
        bootstrap. ``interpolating``: as `ScalingLaw.bootstrap_predict` (NaN where a replicate
        extrapolates to a trained size)."""
        if getattr(self.law, "bootstrap_theta_", None) is None:
            return None
        draws = self.law.bootstrap_predict(np.asarray(x, float), interpolating=interpolating)
        return np.where(np.isnan(draws), np.nan, metric_of(draws, self.complement))

    def extrapolation_factor(self, x: float) -> float:
        """How far `x` lies outside the trained range, as a ratio (1.0 inside it)."""
        low, high = self.x_range
        return float(max(1.0, x / high, low / x))

    @property
    def floor(self) -> float:
        """The fitted floor E of the quantity fitted (0 for a form without one)."""
        return float(self.law.params_.get("E", 0.0))

    def exponent(self) -> tuple[float, float, tuple[float, float] | None]:
        """(n, local decay exponent at n, its bootstrap interval or None), at the largest size
        trained: where an extrapolation starts, and the same number as alpha for a plain power law."""
        n = self.x_range[1]
        value, interval = self.law.exponent_at(n)
        return n, value, interval

    @property
    def has_floor(self) -> bool:
        """Whether the fitted floor E is resolved: at least 1% of the prediction at the largest size."""
        lowest = float(self.law.predict(np.array([self.x_range[1]]))[0])
        return self.floor > 0.01 * lowest


@dataclass
class CostLaw:
    """The law of one cost against parameters, for any data size.

    `per_example`: fitted to cost / data size, so predictions scale with the data size.
    `overhead`: the form t0 + c * N^k (fitted as the saturating law of 1/N), else A * N^k.
    """

    metric: str
    x: str
    group_by: str
    law: ScalingLaw
    per_example: bool
    overhead: bool
    n_points: int
    x_range: tuple[float, float]

    def predict(self, x, data_size=None) -> np.ndarray:
        """The cost at parameters `x` (and data size, needed when `per_example`), broadcast together."""
        x = np.asarray(x, float)
        y = np.asarray(self.law.predict(self._law_input(x).ravel()), float).reshape(x.shape)
        return y * np.asarray(data_size, float) if self.per_example else y

    def _law_input(self, x: np.ndarray) -> np.ndarray:
        return x ** (-1.0 / OVERHEAD_SCALE) if self.overhead else x

    @property
    def exponent(self) -> float:
        """k of c * N^k."""
        return self.law.params_["alpha"] / OVERHEAD_SCALE if self.overhead else self.law.params_["k"]

    @property
    def exponent_ci(self) -> tuple[float, float] | None:
        """The 95% bootstrap interval of k, or None without bootstrap."""
        ci = (getattr(self.law, "ci_", None) or {}).get("alpha" if self.overhead else "k")
        if ci is None or not self.overhead:
            return ci
        return ci[0] / OVERHEAD_SCALE, ci[1] / OVERHEAD_SCALE

    @property
    def growth_unresolved(self) -> bool:
        """True when an overhead law's k sits at 0 or at its cap of 2: within these sizes the cost
        is (almost) all overhead, so how it grows with size is not resolved."""
        return self.overhead and not 0.01 < self.exponent < 0.99 * 10.0 / OVERHEAD_SCALE

    @property
    def overhead_value(self) -> float | None:
        """t0 (per example when `per_example`), or None for a pure power law."""
        return self.law.params_["E"] if self.overhead else None

    def ratio(self, n_from: float, n_to: float) -> tuple[float, tuple[float, float] | None]:
        """cost(n_to) / cost(n_from) at equal data, with its 95% bootstrap interval (None without)."""
        point = float(self.predict(n_to, 1.0) / self.predict(n_from, 1.0))
        if getattr(self.law, "bootstrap_theta_", None) is None:
            return point, None
        ends = np.array([n_from, n_to], float)
        draws = self.law.bootstrap_predict(self._law_input(ends))
        ratios = draws[:, 1] / draws[:, 0]
        low, high = np.quantile(ratios[np.isfinite(ratios)], [0.025, 0.975])
        return point, (float(low), float(high))


@dataclass
class FitOutcome:
    """Quality fits (one per data size), cost laws by cost name, and what could not be fitted."""

    fits: list[GroupFit]
    warnings: list[str]
    costs: dict[str, CostLaw] = field(default_factory=dict)

    def quality_for(self, group: float) -> GroupFit | None:
        """The quality law fitted for data size `group`, if any."""
        return next((fit for fit in self.fits if fit.group == group), None)


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
    """Fit quality per `group_by` value and every measured cost against parameters, on every ok run.

    Parameters
    ----------
    frame : DataFrame
        One row per run, as `scalinglab.runs_table.results_frame` returns it.
    metric : str
        The quality column; fitted with the saturating power law per `group_by` value.
    x, group_by : str
        The size column fitted against, and the column whose values get a law each (and by which
        a cost that grows with data is divided).
    n_bootstrap, random_state : int
        Passed to every `ScalingLaw`, so intervals are reproducible.
    best_lr_only : bool
        Keep only the runs at each size's best learning rate (the `best_lr` column).

    Returns
    -------
    FitOutcome
        The laws, and one warning for every group that had too few sizes to fit.
    """
    runs = ok_runs_at_best_lr(frame) if best_lr_only else ok_runs(frame)
    if runs.empty:
        return FitOutcome([], ["no finished runs to fit"])
    if metric not in runs:
        return FitOutcome([], [f"no run recorded {metric}; nothing to fit"])
    options = dict(x=x, group_by=group_by, n_bootstrap=n_bootstrap, random_state=random_state)
    warnings: list[str] = []
    fits = []
    for group, rows in runs.groupby(group_by, sort=True):
        group = float(group) if isinstance(group, (int, float, np.number)) else group
        fit = fit_quality(rows, metric, group=group, warnings=warnings, **options)
        fits += [fit] if fit else []
    cost_options = {**options, "n_bootstrap": min(n_bootstrap, COST_BOOTSTRAP)}
    costs = {cost: fit_cost(runs, cost, warnings=warnings, **cost_options) for cost in COSTS if cost in runs}
    return FitOutcome(fits, warnings, {cost: law for cost, law in costs.items() if law is not None})


def _finite_rows(rows: pd.DataFrame, metric: str, x: str) -> pd.DataFrame:
    return rows[np.isfinite(rows[metric].astype(float)) & np.isfinite(rows[x].astype(float))]


def _too_few_sizes(
    rows: pd.DataFrame, metric: str, x: str, needed: int, form: str, where: str, warnings: list[str]
) -> bool:
    n_sizes = rows[x].nunique()
    if n_sizes < needed:
        warnings.append(
            f"{where}: only {n_sizes} distinct {x} values for {metric}; "
            f"a {form} law needs {needed} to be tested, not just fitted"
        )
        return True
    return False


def fit_quality(
    rows: pd.DataFrame,
    metric: str,
    *,
    group: float | None,
    warnings: list[str],
    x: str,
    group_by: str,
    n_bootstrap: int,
    random_state: int,
    form: str = QUALITY_FORM,
) -> GroupFit | None:
    """The saturating law (`form`, default "auto") of `metric` (or 1 - metric) against `x` on
    `rows`; None (and a warning) when there are too few sizes or a value has no logarithm."""
    rows = _finite_rows(rows, metric, x)
    where = f"{group_by}={format_value(group)}"
    if _too_few_sizes(rows, metric, x, MIN_SIZES_TO_FIT, "saturating", where, warnings):
        return None
    complement = fitted_as_complement(metric)
    target = rows.assign(**{metric: 1.0 - rows[metric]}) if complement else rows
    if (target[metric] <= 0).any():
        # A perfect score has no logarithm: the law is not defined there.
        shown = f"1 - {metric}" if complement else metric
        warnings.append(f"{where}: {shown} reaches 0 for some runs; no law fitted to it")
        return None
    law = ScalingLaw(form=form, n_bootstrap=n_bootstrap, random_state=random_state).fit(target, x=x, y=metric)
    return GroupFit(
        metric, x, group_by, group, law, len(rows), (float(rows[x].min()), float(rows[x].max())), complement
    )


def fit_cost(
    runs: pd.DataFrame,
    cost: str,
    *,
    warnings: list[str],
    x: str,
    group_by: str,
    n_bootstrap: int,
    random_state: int,
) -> CostLaw | None:
    """One law of `cost` against `x` over all `runs` (per example of `group_by` when it grows with data)."""
    rows = _finite_rows(runs, cost, x)
    # Per example only when every run says how many examples it saw (an objective sweep may not).
    per_example = (
        METRICS[cost].grows_with_data
        and group_by in DATA_COLUMNS
        and group_by in rows
        and bool(rows[group_by].notna().all())
    )
    overhead = METRICS[cost].fixed_overhead and rows[x].nunique() >= MIN_SIZES_TO_FIT
    form = OVERHEAD_FORM if overhead else COST_FORM
    if _too_few_sizes(rows, cost, x, MIN_SIZES_TO_FIT_COST, form, "all runs", warnings):
        return None
    target = rows[cost] / rows[group_by] if per_example else rows[cost]
    if (target <= 0).any():
        warnings.append(f"all runs: {cost} is 0 for some runs; no law fitted to it")
        return None
    law_input = rows[x].astype(float) ** (-1.0 / OVERHEAD_SCALE) if overhead else rows[x]
    table = pd.DataFrame({"x": law_input, "y": target})
    law = ScalingLaw(form=form, huber_delta=COST_HUBER_DELTA, n_bootstrap=n_bootstrap, random_state=random_state).fit(
        table, x="x", y="y"
    )
    return CostLaw(
        cost, x, group_by, law, per_example, overhead, len(rows), (float(rows[x].min()), float(rows[x].max()))
    )


def fitted_as_complement(metric: str) -> bool:
    """Whether `metric` is fitted as 1 - metric (higher is better, and it is not a cost)."""
    return metric in METRICS and not METRICS[metric].lower_is_better and not METRICS[metric].cost


def backtest_largest(frame: pd.DataFrame, outcome: FitOutcome, *, n_bootstrap: int = 0) -> pd.DataFrame:
    """Refit each quality law without its largest size and predict that size.

    Returns
    -------
    DataFrame
        One row per data size that had a size to spare: group, n_params (the held-out size),
        actual (seed mean), predicted, relative_error = predicted / actual - 1.
    """
    rows_out = []
    runs = ok_runs_at_best_lr(frame)
    for fit in outcome.fits:
        rows = runs[(runs[fit.group_by] == fit.group) & np.isfinite(runs[fit.metric])]
        if rows[fit.x].nunique() - 1 < MIN_SIZES_TO_FIT:
            continue  # too few sizes left to fit once the largest is held out
        train = training_rows(rows, fit.x, 1)
        refit, predictions = predict_held_out(
            train,
            lambda kept: fit_quality(
                rows[kept],
                fit.metric,
                group=fit.group,
                warnings=[],
                x=fit.x,
                group_by=fit.group_by,
                n_bootstrap=n_bootstrap,
                random_state=0,
            ),
            lambda refit, held: None if refit is None else refit.predict(rows.loc[held, fit.x]),
        )
        if refit is None:
            continue
        held_out = rows.loc[~train, fit.x].max()
        actual = rows.loc[~train, fit.metric].mean()
        predicted = float(predictions[0])
        rows_out.append(
            dict(
                group=fit.group,
                n_params=held_out,
                actual=actual,
                predicted=predicted,
                relative_error=predicted / actual - 1,
            )
        )
    return pd.DataFrame(rows_out, columns=["group", "n_params", "actual", "predicted", "relative_error"])
