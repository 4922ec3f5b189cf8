"""Budgets -> the model size to train, and what each cost buys (the Pareto frontier).

The recommendation never looks at runs directly: it evaluates the fitted laws of
`scalinglab.analysis` on a dense grid of parameter counts, for every data size that has a quality
law, so it can choose sizes that were never trained. Costs are predicted by their own laws, the
candidates that fit every budget are kept, and the one with the best predicted metric wins.
Data sizes are the trained ones: choosing an untrained data size needs a law in data as well.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from scalinglab.analysis import FitOutcome, GroupFit, format_count, format_factor
from scalinglab.errors import UserError
from scalinglab.metrics import METRICS, label

FAR_EXTRAPOLATION = 3.0  # beyond 3x the trained range a prediction is a guess, and we say so
MAX_EXTRAPOLATION = 10.0  # by default never recommend more than 10x the largest trained size
SMALLEST_CONSIDERED = 0.1  # nor less than a tenth of the smallest
POINTS_PER_DECADE = 200  # grid step of 1.2%: finer than any fit's uncertainty

# Budget name -> (cost column it limits, budget units per unit of the column).
BUDGETED_COSTS: dict[str, tuple[str, float]] = {
    "train_flops": ("train_flops", 1.0),
    "train_seconds": ("train_seconds", 1.0),
    "latency_ms": ("latency_ms_p50", 1.0),
    "memory_mb": ("peak_memory_bytes", 1e-6),
    "storage_mb": ("bytes_fp32", 1e-6),
}


@dataclass(frozen=True)
class Budgets:
    """Upper limits on the costs of the model to train; None means unconstrained."""

    train_flops: float | None = None
    train_seconds: float | None = None
    latency_ms: float | None = None
    memory_mb: float | None = None
    storage_mb: float | None = None

    def given(self) -> dict[str, float]:
        """The budgets that are set, by name."""
        return {name: value for name, value in asdict(self).items() if value is not None}


@dataclass
class Recommendation:
    """The chosen size, its predicted metric with a 95% interval, and why it is not larger."""

    metric: str
    n_params: float
    group_by: str
    group: float
    predicted: float
    interval: tuple[float, float] | None
    binding: str
    usage: dict[str, dict[str, float]]  # budget -> {"predicted": cost, "limit": budget}
    extrapolation_factor: float
    warnings: list[str]
    frontiers: dict[str, pd.DataFrame] = field(default_factory=dict)

    def sentence(self) -> str:
        """The choice in plain words."""
        interval = f" (95% CI {self.interval[0]:.3g} to {self.interval[1]:.3g})" if self.interval else ""
        return (
            f"Train about {format_count(self.n_params)} parameters on {self.group_by} = {self.group:g}: predicted "
            f"{label(self.metric)} {self.predicted:.3g}{interval}. What stops a larger model: {self.binding}."
        )

    def to_dict(self) -> dict:
        """JSON-ready: every number, and each frontier as a list of rows."""
        data = {name: getattr(self, name) for name in (
            "metric", "n_params", "group_by", "group", "predicted", "binding", "usage", "extrapolation_factor", "warnings"
        )}
        data["interval"] = list(self.interval) if self.interval else None
        data["frontiers"] = {cost: frame.to_dict(orient="records") for cost, frame in self.frontiers.items()}
        return data


def recommend(
    outcome: FitOutcome,
    budgets: Budgets,
    *,
    max_extrapolation: float = MAX_EXTRAPOLATION,
    max_frontier_rows: int = 12,
) -> Recommendation:
    """The size (and data size) with the best predicted metric whose predicted costs fit `budgets`.

    Parameters
    ----------
    outcome : FitOutcome
        Quality laws per data size and cost laws, from `scalinglab.analysis.fit_metric_vs_params`.
    budgets : Budgets
        The limits; every one given needs a fitted law of its cost.
    max_extrapolation : float
        Largest size considered, as a multiple of the largest trained size.
    max_frontier_rows : int
        Rows kept in each Pareto-frontier table (spread evenly in log cost).

    Raises
    ------
    UserError
        When no quality law was fitted, a budget's cost has no law, or no candidate fits.
    """
    if not outcome.fits:
        reason = outcome.warnings[0] if outcome.warnings else "no runs"
        raise UserError(f"no quality law could be fitted, so nothing can be recommended: {reason}")
    limits = budgets.given()
    if not limits:
        raise UserError("give at least one budget, e.g. --train-seconds 60 or --train-flops 1e12")
    _check_cost_laws(outcome, limits)
    candidates = candidate_table(outcome, limits, max_extrapolation=max_extrapolation)
    feasible = candidates[candidates["within_budgets"]]
    if feasible.empty:
        raise UserError(_nothing_fits_message(candidates, limits, outcome.fits[0].group_by))
    metric = outcome.fits[0].metric
    best_index = feasible[metric].idxmin() if _lower_is_better(metric) else feasible[metric].idxmax()
    best = candidates.loc[best_index]
    fit = outcome.quality_for(best["group"])
    interval = fit.predict_interval([best["n_params"]])
    factor = fit.extrapolation_factor(best["n_params"])
    return Recommendation(
        metric=metric,
        n_params=float(best["n_params"]),
        group_by=fit.group_by,
        group=float(best["group"]),
        predicted=float(best[metric]),
        interval=(float(interval[0][0]), float(interval[1][0])) if interval else None,
        binding=_binding(candidates, best_index, limits, max_extrapolation),
        usage={
            name: {"predicted": float(best[BUDGETED_COSTS[name][0]] * BUDGETED_COSTS[name][1]), "limit": limit}
            for name, limit in limits.items()
        },
        extrapolation_factor=factor,
        warnings=_extrapolation_warnings(fit, best["n_params"], factor),
        frontiers={
            cost: pareto_frontier(candidates, outcome, cost, max_rows=max_frontier_rows, chosen=best_index)
            for cost in outcome.costs
        },
    )


def candidate_table(
    outcome: FitOutcome, limits: dict[str, float], *, max_extrapolation: float = MAX_EXTRAPOLATION
) -> pd.DataFrame:
    """Every candidate (parameters x trained data size) with its predicted metric and costs.

    Columns: n_params, group, the metric, one column per cost with a law, within_budgets.
    """
    low = min(fit.x_range[0] for fit in outcome.fits) * SMALLEST_CONSIDERED
    high = max(fit.x_range[1] for fit in outcome.fits) * max_extrapolation
    n_grid = np.geomspace(low, high, int(np.log10(high / low) * POINTS_PER_DECADE) + 1)
    tables = [_candidates_for(fit, outcome, n_grid) for fit in outcome.fits]
    table = pd.concat(tables, ignore_index=True)
    within = np.ones(len(table), dtype=bool)
    for name, limit in limits.items():
        column, scale = BUDGETED_COSTS[name]
        within &= table[column].to_numpy() * scale <= limit
    return table.assign(within_budgets=within)


def _candidates_for(fit: GroupFit, outcome: FitOutcome, n_grid: np.ndarray) -> pd.DataFrame:
    columns = {"n_params": n_grid, "group": np.full(len(n_grid), fit.group), fit.metric: fit.predict(n_grid)}
    for cost in outcome.costs:
        cost_fit = outcome.cost_for(cost, fit.group)
        columns[cost] = cost_fit.predict(n_grid) if cost_fit is not None else np.full(len(n_grid), np.nan)
    return pd.DataFrame(columns)


def pareto_frontier(
    candidates: pd.DataFrame, outcome: FitOutcome, cost: str, *, max_rows: int = 12, chosen=None
) -> pd.DataFrame:
    """The candidates no cheaper candidate beats on the metric: what each extra unit of `cost` buys.

    Returns at most `max_rows` rows spread evenly in log cost (the chosen candidate always kept),
    cheapest first, with the metric's 95% interval and how far each row extrapolates.
    """
    metric = outcome.fits[0].metric
    ordered = candidates.dropna(subset=[cost]).sort_values([cost, "n_params"])
    score = ordered[metric] if _lower_is_better(metric) else -ordered[metric]
    best_so_far = score.cummin().shift(fill_value=np.inf)
    frontier = ordered[score < best_so_far]
    keep = _spread_evenly(np.log(frontier[cost].to_numpy()), max_rows)
    rows = frontier.iloc[keep]
    if chosen is not None and chosen in frontier.index and chosen not in rows.index:
        rows = pd.concat([rows, frontier.loc[[chosen]]]).sort_values(cost)
    return _describe_rows(rows, outcome, metric, cost, chosen)


def _describe_rows(rows: pd.DataFrame, outcome: FitOutcome, metric: str, cost: str, chosen) -> pd.DataFrame:
    lows, highs, factors = [], [], []
    for _, row in rows.iterrows():
        fit = outcome.quality_for(row["group"])
        interval = fit.predict_interval([row["n_params"]])
        lows.append(interval[0][0] if interval else np.nan)
        highs.append(interval[1][0] if interval else np.nan)
        factors.append(fit.extrapolation_factor(row["n_params"]))
    group_by = outcome.fits[0].group_by
    return pd.DataFrame({
        "n_params": rows["n_params"].to_numpy(),
        group_by: rows["group"].to_numpy(),
        cost: rows[cost].to_numpy(),
        metric: rows[metric].to_numpy(),
        f"{metric}_low": lows,
        f"{metric}_high": highs,
        "within_budgets": rows["within_budgets"].to_numpy(),
        "extrapolation_factor": factors,
        "chosen": rows.index == chosen,
    })


def _spread_evenly(log_cost: np.ndarray, max_rows: int) -> np.ndarray:
    if len(log_cost) <= max_rows:
        return np.arange(len(log_cost))
    targets = np.linspace(log_cost[0], log_cost[-1], max_rows)
    return np.unique(np.searchsorted(log_cost, targets).clip(0, len(log_cost) - 1))


def _binding(candidates: pd.DataFrame, best_index, limits: dict[str, float], max_extrapolation: float) -> str:
    """What stops the next larger size at the chosen data size."""
    best = candidates.loc[best_index]
    same_group = candidates[candidates["group"] == best["group"]]
    larger = same_group[same_group["n_params"] > best["n_params"]]
    if larger.empty:
        if max_extrapolation <= 1:
            return "nothing within the budgets: it is the largest size trained"
        return f"the search range (at most {max_extrapolation:g}x the largest trained size)"
    following = larger.iloc[0]
    over = [
        f"--{name.replace('_', '-')} {limit:g}"
        for name, limit in limits.items()
        if following[BUDGETED_COSTS[name][0]] * BUDGETED_COSTS[name][1] > limit
    ]
    return " and ".join(over) if over else "nothing: the predicted metric stops improving beyond this size"


def _nothing_fits_message(candidates: pd.DataFrame, limits: dict[str, float], group_by: str) -> str:
    usage = np.zeros(len(candidates))
    for name, limit in limits.items():
        column, scale = BUDGETED_COSTS[name]
        usage = np.maximum(usage, candidates[column].to_numpy() * scale / limit)
    closest = candidates.iloc[int(np.argmin(usage))]
    needs = ", ".join(
        f"{name.replace('_', '-')} {closest[BUDGETED_COSTS[name][0]] * BUDGETED_COSTS[name][1]:.3g}"
        for name, limit in limits.items()
        if closest[BUDGETED_COSTS[name][0]] * BUDGETED_COSTS[name][1] > limit
    )
    budget = ", ".join(f"{name.replace('_', '-')} {limit:g}" for name, limit in limits.items())
    return (
        f"no model size fits the budget ({budget}): even the cheapest candidate, {format_count(closest['n_params'])} "
        f"parameters with {group_by} = {closest['group']:g}, needs {needs}; raise the budget"
    )


def _check_cost_laws(outcome: FitOutcome, limits: dict[str, float]) -> None:
    for name in limits:
        column = BUDGETED_COSTS[name][0]
        missing = [fit.group for fit in outcome.fits if outcome.cost_for(column, fit.group) is None]
        if column not in outcome.costs or missing:
            raise UserError(
                f"--{name.replace('_', '-')}: no law of {column} could be fitted from these runs "
                "(not measured, or too few sizes)"
            )


def _extrapolation_warnings(fit: GroupFit, n_params: float, factor: float) -> list[str]:
    if factor <= 1.0:
        return []
    side = "beyond the largest" if n_params > fit.x_range[1] else "below the smallest"
    message = f"the recommended size is {format_factor(factor)} {side} trained size ({format_count(fit.x_range[1 if n_params > fit.x_range[1] else 0])} parameters)"
    if factor > FAR_EXTRAPOLATION:
        return [f"{message}: far outside what was trained, so treat its prediction as a guess and train it to check"]
    return [f"{message}: extrapolated by the law"]


def _lower_is_better(metric: str) -> bool:
    return METRICS[metric].lower_is_better if metric in METRICS else True
