"""Budgets -> the model size and data size to train, and what each cost buys (the Pareto frontier).

The recommendation reads one `Analysis`. Every trained configuration is a candidate at its
measured seed mean and measured costs: where something was trained, its measurement is the
answer. Between and above the trained sizes (never below the smallest: whole numbers of
parameters and examples) the laws predict, clipped to what is possible (`Analysis.possible_range`:
a loss in [0, the trivial baseline], an accuracy in [baseline, 1]). With a joint law L(N, D) whose
size term is resolved the grid spans parameters x data sizes up to the data available (so it may
choose a data size never trained); otherwise it spans parameters at each data size whose own law
is resolved (`SizeVerdict.resolved`), and only the trained sizes elsewhere. Costs come from their
own laws, the candidates that fit every budget are kept, and the one with the best metric wins;
where its data size resolves no law of size (flat, a plateau, worse with size), the smallest
trained size within noise of it wins instead.

Extrapolation: by default the search goes up to 10x the largest trained size when the law has a
resolved floor, and stays inside the trained range when it has none (such a law keeps promising
gains forever). Asked to go further, it does, and the first warning says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from scalinglab.analysis import Analysis
from scalinglab.analysis.groups import DATA_COLUMNS
from scalinglab.analysis.numbers import format_count, format_factor, format_value
from scalinglab.analysis.runs import aggregate_over_seeds, configuration_means
from scalinglab.analysis.size_effect import NEGLIGIBLE_CHANGE, clearly_better
from scalinglab.analysis.speedup import speedup_at, speedup_by_size
from scalinglab.errors import UserError
from scalinglab.fit.table_fit import finite_records
from scalinglab.metrics import BUDGETS, COSTS, METRICS, label, lower_is_better, short_label, value_range
from scalinglab.pareto import pareto_mask

FAR_EXTRAPOLATION = 3.0  # beyond 3x the trained range a prediction is a guess, and we say so
MAX_EXTRAPOLATION = 10.0  # default search range for a law with a floor, as a multiple of the largest size
POINTS_PER_DECADE = 200  # grid step of 1.2% in parameters: finer than any fit's uncertainty
DATA_POINTS = 25  # data sizes tried between the smallest trained and the data available


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

    def check(self) -> None:
        """UserError naming the first budget that is not a positive number, or when none is given."""
        if not self.given():
            raise UserError("give at least one budget, e.g. --train-seconds 60 or --train-flops 1e12")
        for name, value in self.given().items():
            if not (np.isfinite(value) and value > 0):
                raise UserError(f"{BUDGETS[name].option} {value:g}: a budget must be a finite number > 0")


BUDGET_DIGITS = 6  # significant digits a budget is printed with, as an option a user can pass back


def default_budgets(analysis: Analysis) -> Budgets | None:
    """The budget of a recommendation nobody gave one for (the report's, `scalinglab run`'s):
    the training time of the slowest configuration trained (seed mean), rounded up to
    ``BUDGET_DIGITS`` significant digits, or None when not measured. Rounded so that the
    `scalinglab recommend OUT --train-seconds ...` the report prints is this very budget: seen,
    2332.85 printed for 2332.8500000000004, which no longer afforded the slowest configuration
    and gave another answer."""
    means = aggregate_over_seeds(analysis.runs)
    if means.empty or "train_seconds" not in means:
        return None
    return Budgets(train_seconds=printable_ceiling(float(means["train_seconds"].max())))


def printable_ceiling(value: float, digits: int = BUDGET_DIGITS) -> float:
    """The least number of `digits` significant digits at or above `value`, which prints with that
    many digits as itself (`value` itself where it is not a finite number > 0: nothing to round)."""
    if not (np.isfinite(value) and value > 0):
        return value
    rounded = float(f"{value:.{digits}g}")
    if rounded >= value:  # already as printed, or printed up: no step to take (0.07 stays 0.07)
        return rounded
    step = 10.0 ** (np.floor(np.log10(value)) - digits + 1)
    units = np.round(rounded / step)
    while (rounded := float(f"{units * step:.{digits}g}")) < value:
        units += 1
    return rounded


@dataclass
class Recommendation:
    """The chosen size and data size, the predicted metric with its 95% prediction interval
    (`ci_low`, `ci_high`: where the metric of the run you train is expected, not only the fitted
    curve), which law answered, and which budget stops a larger model. `warnings[0]` is the one
    to read first."""

    metric: str
    n_params: float
    group_by: str
    train_size: float
    predicted: float
    ci_low: float | None
    ci_high: float | None
    law: str
    binding: str
    usage: dict[str, dict[str, float]]  # budget -> {"predicted": cost, "limit": budget}
    extrapolation_factor: float
    warnings: list[str]
    frontiers: dict[str, pd.DataFrame] = field(default_factory=dict)
    measured: bool = False  # a trained configuration: `predicted` is its measured seed mean
    size: dict | None = None  # the family's size axes that build `n_params` (None when not known)
    n_seeds: int = 0  # runs behind that mean
    workers_note: str = ""  # how training times with `recommend(workers=W)` workers were had ('' for one)
    # The trivial baseline, set when the best candidate is no better than it: nothing was learned.
    baseline: float | None = None
    # With `baseline`: the cheapest candidate beyond the budgets that beats it, in words ("" if none).
    beyond_budget: str = ""

    def sentence(self) -> str:
        """The choice in plain words."""
        if self.baseline is not None and self.beyond_budget:
            return (
                f"Nothing worth training within these budgets: no configuration that fits them does better than "
                f"the trivial baseline, {label(self.metric)} {self.baseline:.3g} (what predicting the data's "
                f"frequencies scores); the best that fits, {format_count(self.n_params)} parameters on "
                f"{self.group_by} = {self.train_size:,.0f}, {'measured' if self.measured else 'is predicted at'} "
                f"{self.predicted:.3g}. {self.beyond_budget}"
            )
        if self.baseline is not None:
            return (
                f"Nothing worth training: no configuration did better than the trivial baseline, "
                f"{label(self.metric)} {self.baseline:.3g} (what predicting the data's frequencies scores); the "
                f"best, {format_count(self.n_params)} parameters on {self.group_by} = {self.train_size:,.0f}, "
                f"{'measured' if self.measured else 'is predicted at'} {self.predicted:.3g}. These models learned "
                "nothing from this data that its frequencies do not say: check the labels, train on more data or "
                "longer, or tune the learning rate; more sizes of the same model would not answer it."
            )
        if self.measured:
            interval = (
                f"; a new run is {new_run_words(self.ci_low, self.ci_high)}"
                if self.ci_low is not None
                else "; one run, so its seed-to-seed spread is unknown"
            )
            return (
                f"Train {format_count(self.n_params)} parameters{self._size_words()} on {self.group_by} = "
                f"{self.train_size:,.0f}, a "
                f"configuration this sweep trained: measured {label(self.metric)} {self.predicted:.3g} (mean of "
                f"{self.n_seeds} run{'s' if self.n_seeds != 1 else ''}{interval}). What stops a larger model: {self.binding}."
            )
        interval = (
            f" (95% prediction interval {self.ci_low:.3g} to {self.ci_high:.3g})" if self.ci_low is not None else ""
        )
        return (
            f"Train about {format_count(self.n_params)} parameters{self._size_words()} on {self.group_by} = "
            f"{self.train_size:,.0f}: predicted "
            f"{label(self.metric)} {self.predicted:.3g}{interval}, by the {self.law}. What stops a larger model: {self.binding}."
        )

    def _size_words(self) -> str:
        return " (" + ", ".join(f"{axis} = {value}" for axis, value in self.size.items()) + ")" if self.size else ""

    def lines(self) -> list[str]:
        """What to print: the warnings first (an extrapolation is never below the fold), then the choice."""
        lines = [f"warning: {warning}" for warning in self.warnings] + [self.sentence()]
        return lines + [self.workers_note] if self.workers_note else lines

    def to_dict(self) -> dict:
        """JSON-ready: every number, and each frontier as a list of rows."""
        data = {
            name: getattr(self, name)
            for name in (
                "n_params",
                "train_size",
                "predicted",
                "ci_low",
                "ci_high",
                "law",
                "binding",
                "metric",
                "group_by",
                "usage",
                "extrapolation_factor",
                "warnings",
                "measured",
                "n_seeds",
                "size",
                "workers_note",
                "baseline",
                "beyond_budget",
            )
        }
        # A measured candidate of one seed has no interval: null in JSON, never NaN.
        data["frontiers"] = {cost: finite_records(frame) for cost, frame in self.frontiers.items()}
        return data


class _Answerer:
    """What a recommendation evaluates: every trained configuration at its measured seed mean,
    and between and above them the quality law, the joint law or one law per data size where
    that law resolves how quality changes with size."""

    def __init__(self, analysis: Analysis):
        self.analysis = analysis
        # A joint law whose size term is not resolved says nothing about which size to train.
        self.joint = analysis.joint if not analysis.joint_size_problem else None
        self.fits = {
            verdict.group: analysis.groups.quality_for(verdict.group)
            for verdict in analysis.size_verdicts
            if verdict.resolved and analysis.groups.quality_for(verdict.group) is not None
        }
        self.name = (
            f"joint law of size and data ({self.joint.law.form_.name} form)"
            if self.joint is not None
            else f"per-{analysis.group_by} law of size"
        )

    def n_range(self) -> tuple[float, float]:
        """The smallest and largest size trained."""
        sizes = self.analysis.runs[self.analysis.x]
        return float(sizes.min()), float(sizes.max())

    def has_floor(self) -> bool:
        if self.joint is not None:
            return self.joint.has_floor
        return all(fit.has_floor for fit in self.fits.values())

    def predicted(self, n_grid: np.ndarray, *, max_extrapolation: float = 1.0) -> pd.DataFrame:
        """Predicted candidates: n_params, group (data size), metric, unbounded (the metric before
        `measured_bound` held it), held_through (the row of `measured` that held it, -1 where none
        did); whole numbers of parameters and examples. The law's prediction is anchored to the
        measurements (`anchored`). With a joint
        law, data sizes from the smallest trained up to the data available, and at most
        `max_extrapolation` times the largest trained (as sizes are: "train_size = 2,613,526,305,
        1818738x outside the trained data sizes" otherwise). Raises UserError where the data
        available are below every data size trained."""
        if self.joint is not None:
            smallest, largest = self.joint.d_range
            available = min(self.analysis.data_available or largest, largest * max(1.0, max_extrapolation))
            if available < smallest * (1 - 1e-9):
                raise UserError(
                    f"data_available {available:g} is below every {self.analysis.group_by} trained (the smallest is "
                    f"{smallest:g}): the law is not extrapolated to less data; train at the data you have"
                )
            trained = self.analysis.runs[self.analysis.group_by].unique()
            sizes = np.unique(
                np.concatenate(
                    [
                        np.round(np.geomspace(smallest, available, DATA_POINTS)),
                        trained[trained <= available],
                    ]
                )
            )
            n, d = (axis.ravel() for axis in np.meshgrid(n_grid, sizes))
        else:
            n = np.tile(n_grid, len(self.fits))
            d = np.repeat(np.array(list(self.fits), float), len(n_grid))
        unbounded = self.unbounded(n, d)
        bound, through = self.measured_bound(n, d)
        metric = self._held(unbounded, bound)
        return pd.DataFrame(
            {
                "n_params": n,
                "group": d,
                "metric": metric,
                "unbounded": unbounded,
                "held_through": np.where(metric != unbounded, through, -1),
            }
        )

    def law(self, n: np.ndarray, d: np.ndarray) -> np.ndarray:
        """The quality law at parameters `n` and data sizes `d` (of resolved groups, without a joint law)."""
        if self.joint is not None:
            return np.asarray(self.joint.predict(n, d), float)
        return np.array([float(self.fits[group].predict([size])[0]) for size, group in zip(n, d)])

    def anchored(self, n: np.ndarray, d: np.ndarray) -> np.ndarray:
        """The law anchored to the measurements (`unbounded`), held no better than what was measured
        with at least its size and data (`measured_bound`)."""
        n, d = np.asarray(n, float), np.asarray(d, float)
        return self._held(self.unbounded(n, d), self.measured_bound(n, d)[0])

    def _held(self, unbounded: np.ndarray, bound: np.ndarray) -> np.ndarray:
        """Each value no better than its bound (unchanged where the bound is NaN)."""
        sign = 1.0 if self.analysis.lower_is_better else -1.0
        return np.where(np.isnan(bound), unbounded, sign * np.maximum(sign * unbounded, sign * bound))

    def unbounded(self, n: np.ndarray, d: np.ndarray) -> np.ndarray:
        """The law times its measured miss nearby: at a trained configuration its seed mean, between
        trained sizes (and data sizes) the law's log miss interpolated in log size (and log data),
        beyond them the miss of the nearest. A law that misses its own largest size by 20% would
        otherwise recommend a size next to it as 20% better than what was measured there."""
        n, d = np.asarray(n, float), np.asarray(d, float)
        if len(n) == 0:
            return np.empty(0)
        measured = self.measured()
        measured = measured[measured["group"].isin(self.fits) | (self.joint is not None)]
        if measured.empty:
            return self.law(n, d)
        with np.errstate(divide="ignore", invalid="ignore"):  # an accuracy law at 0: no miss to read there
            miss = np.log(measured["metric"].to_numpy(float)) - np.log(
                self.law(measured["n_params"].to_numpy(float), measured["group"].to_numpy(float))
            )
        measured = measured.assign(miss=miss)[np.isfinite(miss)]
        groups = np.sort(measured["group"].unique())
        per_group = np.array(
            [_interpolated_in_log(n, measured[measured["group"] == group], "n_params", "miss") for group in groups]
        )  # (groups, candidates)
        log_miss = np.array([np.interp(np.log(size), np.log(groups), per_group[:, i]) for i, size in enumerate(d)])
        return self.law(n, d) * np.exp(log_miss)

    def measured_bound(self, n: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What each candidate is held to: the worst measured among the configurations trained with
        at least its size and at least its data (NaN where none was), and which one (its row of
        `measured`, -1 where none). A model no better for less size or data is no better than any
        of them, so the worst is the tightest bound.

        A model is no better for less size or less data (every form of the law says so), but the miss
        interpolated from other configurations need not agree: a planned sweep that had trained
        3.61k parameters on 1,000 examples was told that 3.61k on 700 would reach 0.105, by the miss
        of 1.81k on 700 (the whole grid measured 0.156 there). A configuration that measured worse
        than one with at most its size and data (overfitting, an unlucky seed) shows that this does
        not hold there, and holds nothing. Where `group_by` is no data size (a setting), only the
        same group's larger sizes hold a candidate."""
        measured = self.measured()
        n, d = np.asarray(n, float), np.asarray(d, float)
        if not len(measured) or not len(n):
            return np.full(len(n), np.nan), np.full(len(n), -1)
        n_measured, group_measured = measured["n_params"].to_numpy(float), measured["group"].to_numpy(float)
        sign = 1.0 if self.analysis.lower_is_better else -1.0
        signed = sign * measured["metric"].to_numpy(float)
        below = self._at_most(n_measured, group_measured, n_measured, group_measured)  # [j, i]: j at most i
        monotone = signed <= np.where(below, signed[:, None], np.inf).min(axis=0)
        holds = self._at_most(n, d, n_measured, group_measured) & monotone[None, :]
        holding = np.where(holds, signed[None, :], -np.inf)
        through = holding.argmax(axis=1)
        held = np.isfinite(holding[np.arange(len(n)), through])
        return np.where(held, sign * signed[through], np.nan), np.where(held, through, -1)

    def _at_most(self, n_small, d_small, n_large, d_large) -> np.ndarray:
        """[i, j]: configuration i has at most the size and data of configuration j (the same group
        where `group_by` is no data size)."""
        tolerance = 1 + 1e-9
        size = n_small[:, None] <= n_large[None, :] * tolerance
        if self.analysis.group_by in DATA_COLUMNS:
            return size & (d_small[:, None] <= d_large[None, :] * tolerance)
        return size & np.isclose(d_small[:, None], d_large[None, :])

    def measured(self) -> pd.DataFrame:
        """Every trained configuration: n_params, group, its seed-mean metric and measured costs, n_seeds."""
        analysis = self.analysis
        runs = analysis.runs[np.isfinite(analysis.runs[analysis.metric].astype(float))]
        means = configuration_means(runs, analysis.metric, [analysis.x, analysis.group_by])
        costs = [cost for cost in COSTS if cost in means]
        table = means[[analysis.x, analysis.group_by, analysis.metric, *costs, "n_seeds"]]
        return table.rename(columns={analysis.x: "n_params", analysis.group_by: "group", analysis.metric: "metric"})

    def seed_spread(self) -> float:
        """The typical relative spread of the metric between seeds of one configuration: the median,
        over configurations trained with 2+ seeds, of their std / |mean| (0 when none was)."""
        analysis = self.analysis
        runs = analysis.runs[np.isfinite(analysis.runs[analysis.metric].astype(float))]
        per_config = runs.groupby([analysis.x, analysis.group_by])[analysis.metric].agg(["std", "mean", "count"])
        repeated = per_config[per_config["count"] >= 2]
        return float((repeated["std"] / repeated["mean"].abs()).median()) if len(repeated) else 0.0

    def interval(self, row: pd.Series) -> tuple[float, float] | None:
        """95% interval of a new run's metric: the seed noise around a measurement, else the law's
        prediction interval clipped to what is possible."""
        n, d = float(row["n_params"]), float(row["group"])
        if row["measured"]:
            verdict = self.analysis.verdict_for(d)
            bounds = verdict.run_interval(int(np.flatnonzero(verdict.sizes == n)[0]))
        else:
            bounds = self._law_interval(n, d)
        if bounds is None:
            return None
        # A prediction is clipped to what a model can be worth (the trivial baseline bounds it); a
        # new run of a trained configuration only to what its metric can be: it may measure worse
        # than the baseline, as its seeds did ("measured 2.33, 2.303 to 2.303" otherwise).
        if row["measured"]:
            low, high = value_range(self.analysis.metric)
        else:
            low, high = self.analysis.possible_range(d)  # a noisy accuracy's interval reached 1.14
        return tuple(float(np.clip(bound, low, high)) for bound in bounds)

    def _law_interval(self, n: float, d: float) -> tuple[float, float] | None:
        """The law's 95% prediction interval at (n, d), moved with its point onto the anchored prediction."""
        if self.joint is not None:
            bounds = self.joint.predict_interval([n], [d], kind="prediction")
        else:
            bounds = self.fits[d].predict_interval([n], kind="prediction")
        if bounds is None:
            return None
        at_law = float(self.law(np.array([n]), np.array([d]))[0])
        # Moved as the point is; a law at 0 there (an accuracy law's floor) has no ratio to move by.
        anchor = float(self.anchored([n], [d])[0]) / at_law if at_law > 0 else 1.0
        return tuple(float(bound[0] * anchor) for bound in bounds)

    def extrapolation_factor(self, row: pd.Series) -> float:
        if row["measured"]:
            return 1.0
        n, d = float(row["n_params"]), float(row["group"])
        if self.joint is not None:
            return self.joint.extrapolation_factor(n, d)
        return self.fits[d].extrapolation_factor(n)


def recommend(
    analysis: Analysis,
    budgets: Budgets,
    *,
    max_extrapolation: float | None = None,
    max_frontier_rows: int = 12,
    workers: int = 1,
) -> Recommendation:
    """The size (and data size) with the best predicted metric whose predicted costs fit `budgets`.

    Parameters
    ----------
    analysis : Analysis
        From `scalinglab.analyze`; its joint law answers when there is one.
    budgets : Budgets
        The limits; every one given needs a fitted law of its cost.
    max_extrapolation : float, optional
        Largest size considered, as a multiple of the largest trained size (and, with a joint
        law, largest data size, as a multiple of the largest trained). Default: 10 when the law
        has a resolved floor, 1 (the trained range) when it has none.
    max_frontier_rows : int
        Rows kept in each Pareto-frontier table (spread evenly in log cost).
    workers : int
        Data-parallel workers the model will train with: training times are one worker's divided
        by the speedup measured at that W (analysis.speedup.speedup_at), or one worker's where
        this sweep measured none (said in a warning). The whole run's time, not its time to a
        target loss (the report's analysis.time_to_target): the quality quoted is the whole run's.

    Raises
    ------
    UserError
        When no quality law was fitted, a budget is not positive or its cost has no law, or no
        candidate fits.
    """
    budgets.check()
    if not analysis.size_verdicts:
        reason = analysis.warnings[0] if analysis.warnings else "no runs"
        raise UserError(f"no law of {analysis.metric} was fitted, so nothing can be recommended: {reason}")
    limits = budgets.given()
    _check_cost_laws(analysis, limits)
    answerer = _Answerer(analysis)
    if max_extrapolation is None:
        max_extrapolation = MAX_EXTRAPOLATION if answerer.has_floor() else 1.0
    candidates = candidate_table(analysis, answerer, limits, max_extrapolation=max_extrapolation, workers=workers)
    workers_note, workers_warnings = _workers_words(analysis, workers)
    feasible = candidates[candidates["within_budgets"] & _within_data_available(analysis, candidates)]
    if feasible.empty:
        raise UserError(_nothing_fits_message(candidates, limits, analysis.group_by))
    best_index = _best(feasible, analysis.lower_is_better)
    baseline = _baseline_not_beaten(analysis, feasible.loc[best_index])
    # Nothing learned: the answer names the best candidate itself (it said "the best, 682 parameters"
    # of the smallest size within noise of the best, where 4.52k measured better).
    plateau_index = smallest_within_noise(analysis, feasible, best_index) if baseline is None else best_index
    margin = extrapolation_margin(answerer, candidates.loc[plateau_index])
    worth_index = worth_extrapolating(
        feasible,
        plateau_index,
        largest_trained=answerer.n_range()[1],
        lower_is_better=analysis.lower_is_better,
        margin=margin,
    )
    best = candidates.loc[worth_index]
    interval = answerer.interval(best)
    factor = answerer.extrapolation_factor(best)
    binding = _binding(candidates, worth_index, limits, max_extrapolation)
    if worth_index != plateau_index:
        beyond = candidates.loc[plateau_index]
        binding = (
            f"nothing worth the risk: the law predicts {format_count(beyond['n_params'])} parameters (the best "
            f"within budget, beyond the sizes trained) at {beyond['metric']:.3g}, a gain over this one no larger "
            f"than its own uncertainty there ({_uncertainty_words(answerer, beyond, margin)})"
        )
    verdict = analysis.verdict_for(best["group"])
    # "the larger sizes trained" only where some were: of the largest size trained, the law's word stands.
    if (
        binding.startswith("nothing")
        and best["measured"]
        and not verdict.resolved
        and best["n_params"] < verdict.sizes.max()
    ):
        # "No better" would be false of one 0.2% better: under NEGLIGIBLE_CHANGE is no clear gain.
        negligible = f"under {NEGLIGIBLE_CHANGE:.0%} better"
        binding = (
            f"nothing: no larger size trained measured clearly better than it (each within noise of it, {negligible}, "
            "or worse), so size does not clearly matter beyond it"
            + _gain_within_noise(analysis, best, feasible.loc[best_index])
            if verdict.mean_noise(0) is not None
            else f"nothing: the larger sizes trained measured {negligible} or worse, one run each (so how much of "
            "that is noise is unknown: train 2+ seeds to know)"
        )
    return Recommendation(
        metric=analysis.metric,
        n_params=float(best["n_params"]),
        group_by=analysis.group_by,
        train_size=float(best["group"]),
        predicted=float(best["metric"]),
        ci_low=interval[0] if interval else None,
        ci_high=interval[1] if interval else None,
        law=_law_words(answerer, best),
        binding=binding,
        usage={
            name: {"predicted": float(best[BUDGETS[name].column] * BUDGETS[name].per_column_unit), "limit": limit}
            for name, limit in limits.items()
        },
        extrapolation_factor=factor,
        warnings=_extrapolation_warnings(answerer, float(best["n_params"]), factor)
        + _clip_warnings(analysis, best)
        + workers_warnings,
        frontiers={
            cost: pareto_frontier(candidates, analysis, answerer, cost, max_rows=max_frontier_rows, chosen=worth_index)
            for cost in COSTS
            if cost in candidates
        },
        measured=bool(best["measured"]),
        n_seeds=int(best["n_seeds"]) if best["measured"] else 0,
        size=analysis.size_axis.size_of(float(best["n_params"])) if analysis.size_axis is not None else None,
        workers_note=workers_note,
        baseline=baseline,
        beyond_budget=_cheapest_beating_baseline(analysis, candidates, limits) if baseline is not None else "",
    )


def _law_words(answerer: _Answerer, row: pd.Series) -> str:
    """What answered for a candidate: its measurement, the law, or the law held at a measurement."""
    if row["measured"]:
        return "measurement of this configuration"
    if row["held_through"] < 0:
        return answerer.name
    holding = answerer.measured().iloc[int(row["held_through"])]
    group_by = answerer.analysis.group_by
    if group_by in DATA_COLUMNS:
        where, why = (
            f"{group_by} = {holding['group']:,.0f}",
            "at least this size and data: a model is no better for less of either",
        )
    else:
        where, why = (
            f"{group_by} = {format_value(holding['group'])}",
            "at least this size, the same setting: a model is no better for less size",
        )
    return (
        f"{answerer.name}, held at what {format_count(holding['n_params'])} parameters on {where} measured ({why}; "
        f"without that bound it predicts {row['unbounded']:.3g})"
    )


def _best(candidates: pd.DataFrame, lower_is_better: bool):
    """The index of the candidate with the best metric. Of equals, a measured one (a prediction held
    at a measurement by `_Answerer.measured_bound` is a bound, the measurement an estimate), then
    the one the law alone predicts best: many candidates below a measurement are held at its
    value, and the first in the table's order was the one with the least size and data."""
    order = candidates.sort_values(
        ["metric", "measured", "unbounded"], ascending=[lower_is_better, False, lower_is_better], kind="stable"
    )
    return order.index[0]


def _baseline_not_beaten(analysis: Analysis, best: pd.Series) -> float | None:
    """The trivial baseline of the best candidate's data when even it is no better than that (None
    otherwise, or without a recorded baseline): a run on labels with no signal measured 1.40 nats
    against 1.39 and was recommended."""
    baseline = analysis.baseline(float(best["group"]))
    if baseline is None:
        return None
    return baseline if bool(_no_better_than_baseline(best.to_frame().T, analysis).iloc[0]) else None


def _seconds_at_fastest(predicted: pd.DataFrame, measured: pd.DataFrame) -> np.ndarray:
    """The training seconds of each predicted row at the fastest FLOP/s any trained configuration
    achieved: a size not trained is taken to train no faster than that. The time law, fitted to
    small models' fixed overheads, extrapolates too low: it gave 4.1 s for a model 10x the largest
    trained, which then took 61 s (its FLOPs at the measured FLOP/s: 31 s). 0 where nothing measured both."""
    if not {"train_seconds", "train_flops"} <= set(measured):
        return np.zeros(len(predicted))
    rates = (measured["train_flops"] / measured["train_seconds"]).to_numpy(float)
    rates = rates[np.isfinite(rates) & (rates > 0)]
    if not len(rates):
        return np.zeros(len(predicted))
    return predicted["train_flops"].to_numpy(float) / rates.max()


def _costs_of_trained_sizes(predicted: pd.DataFrame, measured: pd.DataFrame, costs: dict) -> pd.DataFrame:
    """Each predicted row at a size trained at another data size, with that size's measured costs:
    per example times the row's data size for a cost that grows with the data (``CostLaw.per_example``:
    training time, FLOPs), as measured for the rest (memory, latency, bytes; the mean over the data
    sizes it was trained at). The cost laws stay for sizes never trained: fitted across sizes, they
    put a 330-parameter model measured at 0.011 MB at 0.009 MB, under a budget it did not meet."""
    predicted = predicted.copy()
    for cost, law in costs.items():
        if cost not in measured or not len(predicted) or (METRICS[cost].grows_with_data and not law.per_example):
            continue  # a cost that grows with data, in runs that do not all say how much data they saw
        own = measured[cost] / measured["group"] if law.per_example else measured[cost]
        by_size = own.groupby(measured["n_params"]).mean().dropna()
        at_size = predicted["n_params"].map(by_size)
        known = at_size.notna().to_numpy()
        scale = predicted["group"].to_numpy(float) if law.per_example else 1.0
        predicted[cost] = np.where(known, at_size.to_numpy(float) * scale, predicted[cost].to_numpy(float))
    return predicted


def candidate_table(
    analysis: Analysis, answerer: _Answerer, limits: dict[str, float], *, max_extrapolation: float, workers: int = 1
) -> pd.DataFrame:
    """Every candidate (parameters x data size, whole numbers, from the smallest size trained up)
    with its metric and costs: measured where the configuration was trained, else predicted by
    the laws and clipped to what is possible (the costs of a size trained at other data sizes
    from its own runs, `_costs_of_trained_sizes`).

    Columns: n_params, group (the data size), metric, one column per cost, measured, n_seeds,
    clipped (the law predicted beyond what is possible), within_budgets (and within the data
    available). Sorted by group, then n_params.
    `workers`: train_seconds with that many data-parallel workers, where measured (`_workers_words`).
    """
    n_low, n_high = answerer.n_range()
    high = n_high * max(1.0, max_extrapolation)
    points = int(np.log10(high / n_low) * POINTS_PER_DECADE) + 1
    if analysis.size_axis is not None:  # sizes the family can build: integer axis values, their real counts
        n_grid = analysis.size_axis.n_params(analysis.size_axis.values_between(n_low, high, max_values=points))
    else:
        n_grid = np.unique(np.round(np.geomspace(n_low, high, points)))
    predicted = answerer.predicted(n_grid, max_extrapolation=max_extrapolation)
    for cost, law in analysis.groups.costs.items():
        predicted[cost] = (
            law.predict(predicted["n_params"].to_numpy(float), predicted["group"].to_numpy(float))
            if len(predicted)
            else np.nan
        )
    measured = answerer.measured()
    if {"train_seconds", "train_flops"} <= set(predicted) and len(predicted):
        predicted["train_seconds"] = np.maximum(predicted["train_seconds"], _seconds_at_fastest(predicted, measured))
    predicted = _costs_of_trained_sizes(predicted, measured, analysis.groups.costs)
    ranges = {group: analysis.possible_range(group) for group in predicted["group"].unique()}
    low = predicted["group"].map(lambda group: ranges[group][0]).to_numpy(float)
    high = predicted["group"].map(lambda group: ranges[group][1]).to_numpy(float)
    metric = predicted["metric"].to_numpy(float)
    predicted = predicted.assign(
        metric=np.clip(metric, low, high), clipped=(metric < low) | (metric > high), measured=False, n_seeds=0
    )
    measured = measured.assign(measured=True, clipped=False, unbounded=measured["metric"], held_through=-1)
    for cost, law in analysis.groups.costs.items():  # a cost not recorded by every run: from its law
        missing = measured[cost].isna() if cost in measured else pd.Series(True, index=measured.index)
        if missing.any():
            measured.loc[missing, cost] = law.predict(
                measured.loc[missing, "n_params"].to_numpy(float), measured.loc[missing, "group"].to_numpy(float)
            )
    trained = pd.MultiIndex.from_frame(measured[["n_params", "group"]])
    predicted = predicted[~pd.MultiIndex.from_frame(predicted[["n_params", "group"]]).isin(trained)]
    table = pd.concat([predicted, measured], ignore_index=True).sort_values(["group", "n_params"], ignore_index=True)
    speedup = speedup_at(analysis.reference_speedups, workers, table["n_params"].to_numpy(float))
    if speedup is not None and "train_seconds" in table:
        table["train_seconds"] = table["train_seconds"] / speedup
    # The data the user has is a budget too: a Pareto row on more data than that does not fit.
    within = np.ones(len(table), dtype=bool)
    if analysis.data_available is not None:
        within &= table["group"].to_numpy(float) <= analysis.data_available * (1 + 1e-9)
    for name, limit in limits.items():
        budget = BUDGETS[name]
        within &= table[budget.column].to_numpy(float) * budget.per_column_unit <= limit
    return table.assign(within_budgets=within)


def _workers_words(analysis: Analysis, workers: int) -> tuple[str, list[str]]:
    """(how the training times with `workers` workers were had, [a warning where they were not])."""
    if workers == 1:
        return "", []
    measured = speedup_by_size(analysis.reference_speedups, workers)
    if measured.empty:
        return "", [
            f"no data-parallel measurement at {workers} workers in this sweep (sweep training.data_parallel = "
            f"[1, {workers}] to measure one): training times assume 1 worker"
        ]
    speedups = ", ".join(f"{speedup:.2f}x at {format_count(n_params)}" for n_params, speedup in measured.items())
    return (
        f"Training times with {workers} workers: one worker's divided by the speedup measured at {workers} "
        f"workers ({speedups} parameters), interpolated in log parameters between those sizes and the "
        "nearest one's beyond them.",
        [],
    )


def smallest_within_noise(analysis: Analysis, feasible: pd.DataFrame, best_index):
    """Where the best candidate is a trained size whose data size does not resolve a law of size
    (flat, a plateau, worse with size), the smallest feasible trained size within noise of it."""
    best = feasible.loc[best_index]
    verdict = analysis.verdict_for(best["group"])
    if not best["measured"] or verdict is None or verdict.resolved:
        return best_index
    peers = feasible[
        feasible["measured"] & (feasible["group"] == best["group"]) & (feasible["n_params"] < best["n_params"])
    ]
    position = {size: i for i, size in enumerate(verdict.sizes)}
    i_best = position[best["n_params"]]
    close = [
        index
        for index, row in peers.iterrows()
        if clearly_better(verdict, position[row["n_params"]], i_best, verdict.against_best_z) == 0
    ]
    return min(close, key=lambda index: feasible.loc[index, "n_params"]) if close else best_index


def _gain_within_noise(analysis: Analysis, chosen: pd.Series, best: pd.Series) -> str:
    """The measured gain of the best trained size over `chosen` where it is within noise but not
    negligible, and what would resolve it: "within noise" alone once hid a larger size measured
    20% better (0.161 to 0.129) behind the noise of the chosen size's own two seeds."""
    if not best["measured"] or best["group"] != chosen["group"] or best["n_params"] <= chosen["n_params"]:
        return ""
    verdict = analysis.verdict_for(chosen["group"])
    position = {size: i for i, size in enumerate(verdict.sizes)}
    i, j = position[chosen["n_params"]], position[best["n_params"]]
    z = verdict.against_best_z  # the z that put `chosen` within noise of the best (smallest_within_noise)
    change, interval = verdict.change(i, j, z)
    if interval is None or abs(change) < NEGLIGIBLE_CHANGE:
        return ""
    return (
        f"; from {format_count(chosen['n_params'])} to {format_count(best['n_params'])} parameters "
        f"{short_label(analysis.metric)} {verdict.change_words(i, j, z)}, a gain the seeds' spread cannot tell from "
        "noise: more seeds of both sizes would tell whether the larger is worth training"
    )


def worth_extrapolating(
    feasible: pd.DataFrame, best_index, *, largest_trained: float, lower_is_better: bool, margin: float
):
    """Where the best candidate lies beyond the trained sizes and is predicted to gain no more than
    `margin` (in the metric's unit; `extrapolation_margin`) over the best candidate within them,
    that one instead: a gain the law cannot tell from its own uncertainty is no reason to train
    outside what was measured, and a law that has flattened out (with a floor) would otherwise
    always pick the largest size searched."""
    best = feasible.loc[best_index]
    inside = feasible[feasible["n_params"] <= largest_trained]
    if best["n_params"] <= largest_trained or inside.empty:
        return best_index
    inside_index = _best(inside, lower_is_better)
    gain = (inside.loc[inside_index, "metric"] - best["metric"]) * (1 if lower_is_better else -1)
    return inside_index if gain <= margin else best_index


def _uncertainty_words(answerer: _Answerer, row: pd.Series, margin: float) -> str:
    """The uncertainty at a candidate as the 95% interval of a new run's metric, clipped to what the
    metric can be (a "+/-" around a loss of 0.11 could read as a negative loss), or +/- ``margin``
    where the law gives no interval."""
    interval = answerer.interval(row)
    if interval is not None and all(np.isfinite(interval)):
        return f"a new run {new_run_words(*interval)}"
    return f"+/- {margin:.3g}"


def no_interval_words(measured: bool) -> str:
    """A Pareto row's interval where it has none: a configuration trained once has no seed spread;
    a predicted one, a law without a bootstrap interval there (not "one run": none was trained)."""
    return "none (one run)" if measured else "none (no interval)"


def new_run_words(low: float, high: float) -> str:
    """A new run's 95% interval as the recommendation says it."""
    return f"expected within {low:.3g} to {high:.3g} (95%)"


def extrapolation_margin(answerer: _Answerer, row: pd.Series) -> float:
    """What a candidate beyond the trained sizes must be predicted to gain to be worth training:
    half its 95% prediction interval (the law's uncertainty there, run noise included), or where
    the law gives no interval, the seeds' typical relative spread (`_Answerer.seed_spread`)."""
    interval = answerer.interval(row)
    if interval is not None and all(np.isfinite(interval)):
        return (interval[1] - interval[0]) / 2
    return answerer.seed_spread() * abs(float(row["metric"]))


def pareto_frontier(
    candidates: pd.DataFrame, analysis: Analysis, answerer: _Answerer, cost: str, *, max_rows: int = 12, chosen=None
) -> pd.DataFrame:
    """The candidates no cheaper candidate beats on the metric: what each extra unit of `cost` buys.

    Returns at most `max_rows` rows spread evenly in log cost, the chosen candidate and every
    measured frontier row always kept (where those leave fewer than 2 rows of `max_rows`, the
    table still shows 2 predictions, and exceeds it),
    cheapest first, with the metric's 95% interval for a new run (NaN where none can be given:
    one run of an untrained-noise configuration), whether it was measured or predicted (and
    clipped), and how far each row extrapolates.
    """
    # A row held at a measurement is a bound ("no better than"), no point of a trade-off: cheaper
    # than the measurement that holds it and equal to it, it would push that measurement off.
    options = candidates[(candidates["held_through"] < 0) & ~_no_better_than_baseline(candidates, analysis)]
    ordered = options.dropna(subset=[cost]).sort_values([cost, "n_params"])
    frontier = ordered[pareto_mask(ordered[cost], ordered["metric"], analysis.lower_is_better)]
    # Every measured row on the frontier is kept (thinned out, a trained configuration nothing beat
    # went missing between two predictions); predictions fill the other rows, spread in log cost.
    measured = np.flatnonzero(frontier["measured"].to_numpy(bool))
    predicted = np.flatnonzero(~frontier["measured"].to_numpy(bool))
    spread = _spread_evenly(np.log(frontier[cost].to_numpy(float)[predicted]), max(2, max_rows - len(measured)))
    rows = frontier.iloc[np.sort(np.concatenate([measured, predicted[spread]]))]
    if chosen is not None and chosen in candidates.index and chosen not in rows.index:
        rows = pd.concat([rows, candidates.loc[[chosen]]]).sort_values(cost)
    intervals = [answerer.interval(row) or (np.nan, np.nan) for _, row in rows.iterrows()]
    metric = analysis.metric
    return pd.DataFrame(
        {
            "n_params": rows["n_params"].to_numpy(),
            analysis.group_by: rows["group"].to_numpy(),
            cost: rows[cost].to_numpy(),
            metric: rows["metric"].to_numpy(),
            f"{metric}_low": [low for low, _ in intervals],
            f"{metric}_high": [high for _, high in intervals],
            "measured": rows["measured"].to_numpy(bool),
            "clipped": rows["clipped"].to_numpy(bool),
            "held": rows["held_through"].to_numpy() >= 0,
            "within_budgets": rows["within_budgets"].to_numpy(),
            "extrapolation_factor": [answerer.extrapolation_factor(row) for _, row in rows.iterrows()],
            "chosen": rows.index == chosen,
        }
    )


def _interpolated_in_log(at: np.ndarray, table: pd.DataFrame, x: str, y: str) -> np.ndarray:
    """`table[y]` interpolated linearly in log `table[x]` at `at`, constant beyond its ends."""
    ordered = table.sort_values(x)
    return np.interp(np.log(at), np.log(ordered[x].to_numpy(float)), ordered[y].to_numpy(float))


def _no_better_than_baseline(candidates: pd.DataFrame, analysis: Analysis) -> pd.Series:
    """Candidates no better than the trivial baseline of their data, measured or predicted (clipped
    to it): no option on a Pareto table, which predicting the data's frequencies beats at no cost
    (seen: "4.66, 4.658 to 4.658, clipped" offered as the cheapest row, and measured 4.04, 3.65 and
    2.94 against a baseline of 2.3 as frontier points)."""
    worst = (
        candidates["group"]
        .map(
            {
                group: analysis.possible_range(group)[1 if analysis.lower_is_better else 0]
                for group in candidates["group"].unique()
            }
        )
        .to_numpy(float)
    )
    metric = candidates["metric"].to_numpy(float)
    beyond = metric >= worst if analysis.lower_is_better else metric <= worst
    return pd.Series(beyond | np.isclose(metric, worst), index=candidates.index)


def frontier_source(row: pd.Series) -> str:
    """Where a frontier row's metric comes from, in a word: measured, law (predicted by it),
    clipped (the law's prediction was impossible and is shown at the nearest possible value), or
    held (the law's prediction was better than a configuration with at least its size and data
    measured, and is shown at that measurement: only the chosen row can be one)."""
    if row["measured"]:
        return "measured"
    if row.get("held", False):
        return "held"
    return "clipped" if row["clipped"] else "law"


def _spread_evenly(log_cost: np.ndarray, max_rows: int) -> np.ndarray:
    if len(log_cost) <= max_rows:
        return np.arange(len(log_cost))
    targets = np.linspace(log_cost[0], log_cost[-1], max_rows)
    return np.unique(np.searchsorted(log_cost, targets).clip(0, len(log_cost) - 1))


def _binding(candidates: pd.DataFrame, best_index, limits: dict[str, float], max_extrapolation: float) -> str:
    """What stops the next larger size at the chosen data size."""
    best = candidates.loc[best_index]
    same_data = candidates[candidates["group"] == best["group"]]
    larger = same_data[same_data["n_params"] > best["n_params"]]
    if larger.empty and candidates["measured"].all():
        return (
            "no law: these runs resolve no law of size, so only the configurations trained were compared "
            "(none larger was trained on this data size)"
        )
    if larger.empty:
        if max_extrapolation <= 1:
            return "the search range (the largest size trained; --max-extrapolation X searches further)"
        return f"the search range (at most {max_extrapolation:g}x the largest trained size)"
    following = larger.iloc[0]
    over = [
        f"the budget {BUDGETS[name].option} {limit:.3g}"  # 3 figures, as every number of the answer
        for name, limit in limits.items()
        if following[BUDGETS[name].column] * BUDGETS[name].per_column_unit > limit
    ]
    return " and ".join(over) if over else "nothing: the predicted metric stops improving beyond this size"


def _within_data_available(analysis: Analysis, candidates: pd.DataFrame) -> pd.Series:
    """The candidates whose data size the user has (`Analysis.data_available`; by default the
    largest trained, so all of them). Raises UserError when it is below every data size trained:
    told 100 examples, recommend answered with 720."""
    if analysis.data_available is None:
        return pd.Series(True, index=candidates.index)
    available = candidates["group"] <= analysis.data_available * (1 + 1e-9)
    if not available.any():
        raise UserError(
            f"data_available {analysis.data_available:g} is below every {analysis.group_by} trained (the smallest is "
            f"{candidates['group'].min():g}): no trained data size can be recommended; train at the data you have"
        )
    return available


def _budget_usage(candidates: pd.DataFrame, limits: dict[str, float]) -> np.ndarray:
    """Each candidate's largest cost as a share of its budget (> 1: over some budget; inf where a
    cost is unknown)."""
    usage = np.zeros(len(candidates))
    for name, limit in limits.items():
        usage = np.maximum(
            usage, candidates[BUDGETS[name].column].to_numpy(float) * BUDGETS[name].per_column_unit / limit
        )
    return np.where(np.isnan(usage), np.inf, usage)


def _needs_words(row: pd.Series, limits: dict[str, float]) -> str:
    """The costs of `row` that exceed their budgets, e.g. 'train-flops 2.88e+10'."""
    return ", ".join(
        f"{BUDGETS[name].option[2:]} {row[BUDGETS[name].column] * BUDGETS[name].per_column_unit:.3g}"
        for name, limit in limits.items()
        if row[BUDGETS[name].column] * BUDGETS[name].per_column_unit > limit
    )


def _budget_words(limits: dict[str, float]) -> str:
    return ", ".join(f"{BUDGETS[name].option[2:]} {limit:g}" for name, limit in limits.items())


def _nothing_fits_message(candidates: pd.DataFrame, limits: dict[str, float], group_by: str) -> str:
    closest = candidates.iloc[int(np.argmin(_budget_usage(candidates, limits)))]
    return (
        f"{NOTHING_FITS} ({_budget_words(limits)}): even the cheapest candidate, {format_count(closest['n_params'])} "
        f"parameters with {group_by} = {closest['group']:g}, needs {_needs_words(closest, limits)}; raise the budget"
    )


def _cheapest_beating_baseline(analysis: Analysis, candidates: pd.DataFrame, limits: dict[str, float]) -> str:
    """Where nothing within the budgets beats the trivial baseline: the words for the cheapest
    candidate beyond them that does ("" where none does, and the data, not the budget, is at
    fault). Seen: at --train-flops 3e9 the answer said "check the labels ... more sizes would not
    answer it" of a sweep whose 2.43M model measured 1.30 against a baseline of 2.3."""
    candidates = candidates[_within_data_available(analysis, candidates)]  # one the user could train
    if candidates.empty:
        return ""
    beats = ~_no_better_than_baseline(candidates, analysis).to_numpy(bool)
    if not beats.any():
        return ""
    usage = np.where(beats, _budget_usage(candidates, limits), np.inf)
    if not np.isfinite(usage).any():
        return ""
    row = candidates.iloc[int(np.argmin(usage))]
    how = "measured" if row["measured"] else "predicted"
    return (
        f"The cheapest configuration that does beat it, {format_count(row['n_params'])} parameters on "
        f"{analysis.group_by} = {row['group']:,.0f} ({how} {row['metric']:.3g}), needs {_needs_words(row, limits)} "
        f"against the {_budget_words(limits)} given: a larger budget would answer."
    )


def _check_cost_laws(analysis: Analysis, limits: dict[str, float]) -> None:
    for name in limits:
        column = BUDGETS[name].column
        if column not in analysis.groups.costs and column not in analysis.runs:
            raise UserError(f"{BUDGETS[name].option}: {column} was not measured by these runs")


def _extrapolation_warnings(answerer: _Answerer, n_params: float, factor: float) -> list[str]:
    if factor <= 1.0:
        return []
    low, high = answerer.n_range()
    if n_params > high:
        where = f"{format_factor(n_params / high)} beyond the largest trained size ({format_count(high)} parameters)"
    elif n_params < low:
        where = f"{format_factor(low / n_params)} below the smallest trained size ({format_count(low)} parameters)"
    else:
        where = f"{format_factor(factor)} outside the trained data sizes"
    if n_params > high and not answerer.has_floor():
        return [
            f"extrapolating a law with no resolved floor: the recommended size is {where}, where such a law "
            "keeps promising gains that may not exist; train it to check"
        ]
    if factor > FAR_EXTRAPOLATION:
        return [
            f"the recommendation is {where}: far outside what was trained, so treat its prediction as a guess and train it to check"
        ]
    return [f"the recommendation is {where}: extrapolated by the law"]


def _clip_warnings(analysis: Analysis, best: pd.Series) -> list[str]:
    if not best["clipped"]:
        return []
    low, high = analysis.possible_range(best["group"])
    bound = low if best["metric"] <= low else high  # the bound it was clipped to: finite
    return [
        f"the law predicts {label(analysis.metric)} beyond what is possible here; the value shown is the bound "
        f"{bound:.3g} (the trivial baseline where the runs recorded one), so train it to check"
    ]


NOTHING_FITS = "no model size fits the budget"


def compressed_that_fits(compressions: pd.DataFrame, budgets: Budgets, metric: str) -> str | None:
    """Where no trained size fits the budgets, the best stored compressed model that does, in words
    (None when none does): the compress-or-train-small answer, not "raise the budget" (seen with a
    shared 11.7k model of 39.8 kB under --storage-mb 0.05)."""
    from scalinglab.compress.verdict_words import describe_configuration

    best = _best_compressed(compressions, budgets, metric)
    if best is None:
        return None
    return (
        f"a stored compressed model fits it: {describe_configuration(best)}, measured {metric} {best[metric]:.3g} "
        "(use it, or raise the budget for a model trained at its size)"
    )


def _best_compressed(compressions: pd.DataFrame, budgets: Budgets, metric: str) -> pd.Series | None:
    """The best stored compressed model (not the trained models' own `none` rows) within `budgets`,
    by `metric` (None when nothing was compressed or none fits)."""
    from scalinglab.compress.verdict import best_within_budgets

    if compressions.empty or metric not in compressions:
        return None
    return best_within_budgets(compressions[compressions["method"] != "none"], budgets.given(), metric=metric)


def compressed_alternative(compressions: pd.DataFrame, budgets: Budgets, choice: Recommendation) -> dict | None:
    """The best measured compressed model among `compressions` (`compress.compressions_table.compressions_frame`)
    within the same budgets when it beats `choice`'s prediction (None otherwise, or when nothing
    was compressed): which kind, its numbers, and a sentence saying so."""
    from scalinglab.compress.verdict_words import describe_configuration

    best = _best_compressed(compressions, budgets, choice.metric)
    sign = 1 if lower_is_better(choice.metric) else -1
    if best is None or not sign * best[choice.metric] < sign * choice.predicted:
        return None
    interval = (
        ""
        if np.isnan(best[f"{choice.metric}_low"])
        else (f" (95% CI {best[f'{choice.metric}_low']:.3g} to {best[f'{choice.metric}_high']:.3g} over seeds)")
    )
    return {
        "method": best["method"],
        "variant": best["variant"],
        "parent_n_params": float(best["parent_n_params"]),
        choice.metric: float(best[choice.metric]),
        "sentence": (
            f"Compress instead: {describe_configuration(best)} measured {choice.metric} "
            f"{best[choice.metric]:.3g}{interval} within the same budgets, better than the "
            f"{choice.predicted:.3g} {_measured_or_predicted(choice)} for the size above (--no-compressed to leave "
            "compressed models out)."
        ),
    }


def _measured_or_predicted(choice: Recommendation) -> str:
    """How the answer's value was had, in a word: a trained configuration's is its measurement."""
    return "measured" if choice.measured else "predicted"


def pretrained_alternative(
    runs: pd.DataFrame, budgets: Budgets, choice: Recommendation, *, count_pretraining: bool = True
) -> dict | None:
    """`recommend --pretrained available`: the best measured run that starts from a pretrained
    parent ([transfer]'s finetune or features runs; seed means) within `budgets`, its pretraining
    cost counted in the training budgets when `count_pretraining`, against `choice` (from scratch).
    None when the sweep trained none, or none fits the budgets."""
    from scalinglab.analysis.transfer import pretrained_options

    options = pretrained_options(runs, count_pretraining=count_pretraining)
    if options.empty or choice.metric not in options:
        return None
    within = options[choice.metric].notna()
    for name, limit in budgets.given().items():
        budget = BUDGETS[name]
        within &= options[budget.column] * budget.per_column_unit <= limit if budget.column in options else False
    fitting = options[within]
    if fitting.empty:
        return None
    lower = lower_is_better(choice.metric)
    best = fitting.loc[fitting[choice.metric].idxmin() if lower else fitting[choice.metric].idxmax()]
    better = (best[choice.metric] < choice.predicted) if lower else (best[choice.metric] > choice.predicted)
    counted = "counted" if count_pretraining else "not counted (--no-count-pretraining)"
    verdict = "better than" if better else "no better than"
    return {
        "mode": best["transfer_mode"],
        "n_params": float(best["n_params"]),
        "train_size": float(best["train_size"]),
        choice.metric: float(best[choice.metric]),
        "beats_scratch": bool(better),
        "sentence": (
            f"Pretrained: {best['transfer_mode']} at {best['n_params']:,.0f} parameters on "
            f"{best['train_size']:,.0f} examples measured {choice.metric} {best[choice.metric]:.3g} within "
            f"the same budgets (pretraining cost {counted}), {verdict} the {choice.predicted:.3g} "
            f"{_measured_or_predicted(choice)} for training from scratch above."
            + (_timed_apart_words(runs) if "train_seconds" in budgets.given() else "")
        ),
    }


def _trained_in_batches(runs: pd.DataFrame) -> bool:
    """Whether any of `runs` shared its training pass with others (``batch_runs`` > 1)."""
    return bool((pd.to_numeric(runs["batch_runs"], errors="coerce") > 1).any())


def _timed_apart_words(runs: pd.DataFrame) -> str:
    """A caution where the scratch runs were trained in batches (their seconds estimated from a probe
    of the shared pass) and the runs from a pretrained start one at a time (wall clock): seen with
    scratch runs batched 6 at a time at 1.19 s and fine-tuned runs of the same FLOPs at 1.74-2.31 s."""
    from scalinglab.analysis.transfer import split_transfer_runs

    if "batch_runs" not in runs:
        return ""
    ok = runs[runs["status"] == "ok"]
    scratch, _ = split_transfer_runs(ok)
    started = ok[ok.get("transfer_mode", pd.Series(index=ok.index, dtype=object)).notna()]
    if _trained_in_batches(scratch) == _trained_in_batches(started):
        return ""
    return (
        " Their training seconds were measured differently (one kind trained in batches of runs, its seconds "
        "estimated from the shared pass; the other one run at a time), so compare them by training FLOPs "
        "(--train-flops) rather than seconds."
    )
