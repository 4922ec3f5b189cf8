"""Planner: which runs to train next so that the prediction at a target gets certain fastest.

The ask/tell convention of Optuna (``study.ask()`` / ``study.tell()``): the caller trains what
``ask`` proposes, anywhere, and hands the finished rows to ``tell``. Rows are plain table rows,
so a lab's CSV of finished runs and a CSV of runs it could launch are enough.

Method (see ``scalinglab.plan.design`` for the algebra and its sources): fit the law to the told
rows; describe its parameters' uncertainty by the Laplace covariance of the fit (the noise taken
from the spread between seeds, or the residuals) plus the covariance of the cluster-bootstrap
replicates (what resampling whole model sizes says the data do not pin down); score each
candidate by how much observing it would shrink the mean variance of log y at the target rows
(that of the parameters; optionally also the law's calibrated error of extrapolating to the
target, which only runs nearer it shrink), per unit of its cost; pick a batch greedily, each pick conditioned on those before it. Until the
law can be fitted (fewer told rows than the form has parameters, plus two), ``ask`` proposes a
cheap space-filling design. The approach follows the budget-aware sequential design of Li et al.
2026, "Spend Less, Fit Better: Budget-Efficient Scaling Law Fitting via Active Experiment
Selection" (arXiv:2604.22753), with a closed-form linearised criterion in place of their method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.errors import UserError
from scalinglab.fit.forms import JOINT_AUTO_CANDIDATES, get_form
from scalinglab.fit.law import ScalingLaw, check_random_state
from scalinglab.fit.select import MARGIN
from scalinglab.fit.table import as_column_list, log_design, named_rows, numeric_column
from scalinglab.plan import design

SCORE_COLUMN = "plan_score"
REASON_COLUMN = "plan_reason"
INTERVAL_LEVEL = 0.95
CRITERIA = {"planner": ("target", True), "v_optimal": ("target", False), "d_optimal": ("d", False)}
# Why a target's interval is not quoted (prediction's within_reach False), as people read it.
NO_INTERVAL = (
    "no interval: the law's error there is not measured (the target lies farther beyond the runs than its "
    "backtests reach, or too few sizes were trained to bound its parameters)"
)
# Which target row is "the answer": the first (a point target), or the lowest prediction (the
# optimum along an iso-FLOP line of target rows).
ANSWERS = ("first", "lowest")


@dataclass(frozen=True)
class StopDecision:
    """Whether to stop, and the sentence that says why (or why not)."""

    stop: bool
    reason: str

    def __bool__(self) -> bool:
        return self.stop


class Planner:
    """Chooses, round by round, the runs that most shrink the target's prediction interval.

    Parameters
    ----------
    x : str or list of str
        Input columns, in the order the form takes them (``["n_params", "train_size"]``).
    y : str
        Measured column (a loss).
    form : str
        Any form of ``scalinglab.fit.FORMS`` (or "auto" for one input).
    target : DataFrame
        Rows (with the x columns) where the answer is wanted.
    cost : str or callable
        Column of the cost of a run, or a function of one row (a Series) giving it.
    random_state : int or None
        Seed of the starting design and of the law's bootstrap: same told rows, same seed, same asks.
    strategy : {"planner", "v_optimal", "d_optimal"}
        "planner" (default): target variance per unit cost, with bootstrap uncertainty.
        "v_optimal": target variance, cost ignored, Laplace covariance only (classical locally
        V-optimal design over the target). "d_optimal": log det of the information, cost ignored.
    cost_power : float
        The planner divides a run's gain by cost ** cost_power (1: gain per unit cost).
    n_bootstrap : int
        Bootstrap replicates of each fit (fewer than ScalingLaw's default, for speed).
    groups : str, optional
        Column of the groups the bootstrap resamples whole (default: the first x column).
    form_spread : bool
        With form="auto", count the disagreement between plausible forms (``plausible_forms``) as
        uncertainty at the target that runs can remove (``design.with_form_spread``); strategy
        "planner" only.
    extrapolation_term : bool
        Count the law's calibrated error of extrapolating beyond the told runs (the term its
        prediction interval is widened by there, ``design.ExtrapolationTerm``) as target
        uncertainty that runs nearer the target remove; strategy "planner" only. Off by default:
        replaying pools whose targets lie beyond them (``benchmarks/planner.py``) it made the
        target's error worse where the form is right (synthetic laws: 1.07 % to 1.76 % at 10 %
        of the pool) and no better on measured pools. A planned sweep turns it on
        (``sweeper.planned.make_planner``): its answer is a recommendation, which names only
        sizes it trained, so the runs near its target are what it needs.
    answer : {"first", "lowest"}
        The target row the answer is read at (``answer_row``, and the stop rule's tolerance):
        "first" (a point target; the tolerance then holds for every row), or "lowest", the row
        of lowest prediction (the compute-optimal point when the target rows lie on one
        iso-FLOP line).
    """

    def __init__(
        self,
        x: str | Sequence[str],
        y: str,
        form: str = "chinchilla",
        *,
        target: pd.DataFrame,
        cost: str | Callable[[pd.Series], float],
        random_state: int | None = None,
        strategy: str = "planner",
        cost_power: float = 1.0,
        n_bootstrap: int = 200,
        groups: str | None = None,
        answer: str = "first",
        form_spread: bool = True,
        extrapolation_term: bool = False,
    ):
        if strategy not in CRITERIA:
            raise UserError(f"strategy must be one of {', '.join(CRITERIA)}; got {strategy!r}")
        if answer not in ANSWERS:
            raise UserError(f"answer must be one of {', '.join(ANSWERS)}; got {answer!r}")
        check_random_state(random_state)
        self.answer, self.form_spread, self.extrapolation_term = answer, bool(form_spread), bool(extrapolation_term)
        self.x, self.y, self.form = as_column_list(x), y, form
        self.cost, self.random_state, self.strategy = cost, random_state, strategy
        self.cost_power, self.n_bootstrap, self.groups = float(cost_power), int(n_bootstrap), groups
        self.target = self._checked_inputs(target, "target")
        self.told = pd.DataFrame()
        self._law: ScalingLaw | None = None
        self._rounds = 0

    # -- the table side -------------------------------------------------------------------

    def _checked_inputs(self, rows: pd.DataFrame, what: str) -> pd.DataFrame:
        if not isinstance(rows, pd.DataFrame):
            raise UserError(f"{what} must be a pandas DataFrame, got {type(rows).__name__}")
        if len(rows) == 0:
            raise UserError(f"{what} has no rows")
        for name in self.x:
            numeric_column(rows, name)
        return rows

    def costs_of(self, rows: pd.DataFrame) -> np.ndarray:
        """The cost of each row (column or function), checked finite and > 0."""
        if callable(self.cost):
            values = np.array([float(self.cost(row)) for _, row in rows.iterrows()], dtype=float)
        else:
            values = numeric_column(rows, self.cost, positive=False)
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            raise UserError(f"every cost must be a finite number > 0; it is not at {named_rows(rows, bad)}")
        return values

    def tell(self, rows: pd.DataFrame) -> Planner:
        """Add finished rows (x and y measured; seeds as separate rows). Index labels identify
        runs: a label told again with the same inputs replaces the earlier row (a corrected y).

        Raises UserError where a label told before comes with other inputs (two tables read with
        their default 0, 1, 2, ... index would otherwise replace each other's runs silently), or
        one label appears twice in ``rows``.
        """
        rows = self._checked_inputs(rows, "told rows")
        if rows.index.has_duplicates:
            label = rows.index[rows.index.duplicated()].tolist()[0]
            raise UserError(
                f"told rows: index label {label!r} appears twice; labels name runs, so give each run its own "
                "(e.g. rows.index = 'run' + rows.index.astype(str))"
            )
        self._check_labels_name_told_runs(rows, "told rows")
        numeric_column(rows, self.y)
        self.costs_of(rows)
        kept = self.told[~self.told.index.isin(rows.index)] if len(self.told) else self.told
        self.told = pd.concat([kept, rows]) if len(kept) else rows.copy()
        self._law = None
        return self

    def _check_labels_name_told_runs(self, rows: pd.DataFrame, what: str) -> None:
        """A label of ``rows`` already told must name the same run: the same inputs."""
        shared = rows.index[rows.index.isin(self.told.index)] if len(self.told) else rows.index[:0]
        if len(shared) == 0:
            return
        told = self.told.loc[~self.told.index.duplicated(keep="last")].loc[shared, self.x].to_numpy(float)
        new = rows.loc[~rows.index.duplicated(keep="last")].loc[shared, self.x].to_numpy(float)
        differs = ~np.isclose(told, new, rtol=1e-9, atol=0).all(axis=1)
        if differs.any():
            first = int(np.flatnonzero(differs)[0])
            label = shared[first]
            raise UserError(
                f"{what}: index label {label!r} names a told run with other inputs "
                f"({_inputs(self.x, told[first])}, not {_inputs(self.x, new[first])}); labels name runs, so give "
                "each run its own (a table read with pandas is labelled 0, 1, 2, ...: e.g. "
                "rows.index = 'run' + rows.index.astype(str))"
            )

    @property
    def spent(self) -> float:
        """Total cost of the told rows."""
        return float(self.costs_of(self.told).sum()) if len(self.told) else 0.0

    # -- the law ------------------------------------------------------------------------

    @property
    def n_start(self) -> int:
        """Rows of the starting design: the form's parameters plus two."""
        return self._form().n_params + 2

    def _form(self):
        if self.form == "auto":  # with too few rows to score any form, "auto" takes the simplest
            # one-input form, or the first joint one (scalinglab.fit.select): start with enough for it
            return get_form("power" if len(self.x) == 1 else JOINT_AUTO_CANDIDATES[0])
        return get_form(self.form)

    def law(self) -> ScalingLaw | None:
        """The law fitted to the told rows (None while there are too few to fit)."""
        if self._law is None and len(self.told) >= self.n_start:
            self._law = ScalingLaw(self.form, n_bootstrap=self.n_bootstrap, random_state=self.random_state).fit(
                self.told, x=self.x, y=self.y, groups=self.groups
            )
        return self._law

    def _log_x(self, rows: pd.DataFrame) -> np.ndarray:
        law = self.law()
        return log_design(
            rows, self.x, None, n_inputs=len(self.x), form_name=law.form_.name if law else str(self.form)
        )[0]

    # -- asking ---------------------------------------------------------------------------

    def ask(self, candidates: pd.DataFrame, k: int = 4, *, budget: float | None = None) -> pd.DataFrame:
        """The k candidate rows worth the most now, best first, index kept.

        Rows whose index label was already told are never proposed (raises UserError where
        such a label comes with other inputs than the told run's). ``budget`` caps the
        batch's total cost. Two columns are added: ``plan_score`` (the gain in the target's
        log-variance per cost ** p, given the picks before it, with p the cost power: ``cost_power``
        without a budget, and with one the power of the plan kept, ``cost_power_`` (0 where gain
        alone spends it best: the score is then the gain); 0 in the starting design)
        and ``plan_reason``.
        """
        if int(k) != k or k < 1:
            raise UserError(f"k must be a whole number >= 1, got {k}")
        check_positive("budget", budget)
        candidates = self._checked_inputs(candidates, "candidates")
        self._check_labels_name_told_runs(candidates, "candidates")
        fresh = candidates[~candidates.index.isin(self.told.index)] if len(self.told) else candidates
        if fresh.index.has_duplicates:
            raise UserError("candidate index labels must be unique (they name the runs)")
        if len(fresh) == 0:
            return fresh.assign(**{SCORE_COLUMN: [], REASON_COLUMN: []})
        cost = self.costs_of(fresh)
        limit = np.inf if budget is None else float(budget)
        rng = np.random.default_rng([self.random_state or 0, len(self.told)])
        law = self.law()
        if law is None:
            return self._starting_design(fresh, cost, int(k), limit, rng)
        batch = self._greedy(law, fresh, cost, int(k), limit)
        chosen = fresh.iloc[batch.picks].copy()
        chosen[SCORE_COLUMN] = batch.scores
        chosen[REASON_COLUMN] = [self._reason(gain) for gain in batch.gains]
        return chosen

    def _starting_design(self, fresh, cost, k, limit, rng) -> pd.DataFrame:
        taken = self._log_x(self.told) if len(self.told) else None
        picks = design.space_filling(self._log_x(fresh), cost, k, rng, taken=taken, budget=limit)
        chosen = fresh.iloc[picks].copy()
        chosen[SCORE_COLUMN] = 0.0
        # Maximin among the cheaper half, or among the k cheapest when k is more than half.
        cheap = cost[picks] <= np.median(cost)
        chosen[REASON_COLUMN] = np.where(
            cheap, "starting design: cheap and spread over the inputs", "starting design: spread over the inputs"
        )
        return chosen

    def _reason(self, gain: float) -> str:
        if CRITERIA[self.strategy][0] == "d":  # D-optimal: the information about the parameters, not the target
            return f"raises the log-determinant of the parameters' information by {gain:.3g}"
        return f"lowers the target's mean log-variance by {gain:.3g}"

    def parameter_covariance(self, law: ScalingLaw) -> tuple[np.ndarray, float]:
        """Covariance of the law's internal parameters and the noise variance of log y."""
        fitted_params = law.form_.n_params if law.noise_source_ == "residuals" else 0
        noise_var = design.noise_variance(law.noise_log_, fitted_params)
        told_log_x = self._log_x(self.told)
        sigma = design.laplace_covariance(design.jacobian_rows(law.form_, law.theta_, told_log_x), noise_var)
        if self.strategy == "planner":
            ensemble = design.ensemble_covariance(law.bootstrap_theta_)
            if ensemble is not None:
                sigma = sigma + ensemble
        return sigma, noise_var

    def plausible_forms(self, law: ScalingLaw) -> list[ScalingLaw]:
        """With form="auto": every other candidate form whose backtest score is within the
        selection's MARGIN of the best (a lead smaller than that does not overturn a choice,
        ``scalinglab.fit.select``), fitted to the told rows without bootstrap. Empty otherwise."""
        choice = law.form_choice_
        if choice is None:
            return []
        finite = [score for score in choice.scores.values() if np.isfinite(score)]
        if not finite:
            return []
        names = [
            name
            for name, score in choice.scores.items()
            if name != law.form_.name and np.isfinite(score) and score <= MARGIN * min(finite)
        ]
        fitted = []
        for name in names:
            try:
                other = ScalingLaw(name, n_bootstrap=0).fit(self.told, x=self.x, y=self.y, groups=self.groups)
            except UserError:  # too few rows for that form: it cannot be told apart yet either
                continue
            fitted.append(other)
        return fitted

    def form_shifts(self, law: ScalingLaw, rows: pd.DataFrame, others: list[ScalingLaw]) -> np.ndarray:
        """log y of each other form minus the law's at each row, shape (len(rows), len(others));
        a form that gives no finite positive prediction at some row is left out (0 there)."""
        base = np.log(law.predict(rows))
        shifts = np.column_stack([np.log(other.predict(rows)) - base for other in others])
        return np.where(np.isfinite(shifts), shifts, 0.0)

    def extrapolation(self, law: ScalingLaw, candidate_log_x: np.ndarray) -> design.ExtrapolationTerm | None:
        """The law's extrapolation term at the targets as runs would shrink it (strategy
        "planner" with ``extrapolation_term``; None where the law made no backtest)."""
        calibration = getattr(law, "calibration_", None)
        if not (self.extrapolation_term and self.strategy == "planner") or calibration is None:
            return None
        if calibration.held_out.empty:  # no backtest: every rate is 0, and so is the term
            return None
        return design.ExtrapolationTerm(
            calibration, self._log_x(self.target), candidate_log_x, law.fitted_log_x_, INTERVAL_LEVEL
        )

    def _greedy(self, law: ScalingLaw, fresh, cost, k, limit) -> design.Batch:
        criterion, cost_aware = CRITERIA[self.strategy]
        sigma, noise_var = self.parameter_covariance(law)
        candidate_log_x = self._log_x(fresh)
        candidate_jacobian = design.jacobian_rows(law.form_, law.theta_, candidate_log_x)
        target_jacobian = design.jacobian_rows(law.form_, law.theta_, self._log_x(self.target))
        extrapolation = self.extrapolation(law, candidate_log_x)
        others = self.plausible_forms(law) if self.form_spread and self.strategy == "planner" else []
        if others:
            with np.errstate(divide="ignore", invalid="ignore"):
                sigma, candidate_jacobian, target_jacobian = design.with_form_spread(
                    sigma,
                    candidate_jacobian,
                    target_jacobian,
                    self.form_shifts(law, fresh, others),
                    self.form_shifts(law, self.target, others),
                )
        if cost_aware and np.isfinite(limit):
            plan, self.cost_power_ = design.plan_for_budget(
                sigma, candidate_jacobian, target_jacobian, noise_var, cost, limit, extrapolation=extrapolation
            )
            return design.Batch(plan.picks[:k], plan.scores[:k], plan.gains[:k])
        return design.greedy_batch(
            sigma,
            candidate_jacobian,
            target_jacobian,
            noise_var,
            cost,
            k,
            criterion=criterion,
            cost_power=self.cost_power if cost_aware else 0.0,
            budget=limit,
            extrapolation=extrapolation,
        )

    # -- answering ----------------------------------------------------------------------

    def prediction(self) -> pd.DataFrame:
        """The target rows with ``predicted``, ``low`` and ``high`` (95 % prediction interval),
        and ``within_reach`` (False where the interval is not to be quoted: the target lies
        farther beyond the runs than the law's error was measured, ``ScalingLaw.within_reach``,
        or the law's bootstrap resampled no more groups than it has parameters,
        ``ScalingLaw.has_intervals``; a caller showing the interval to a person leaves it out,
        and the tolerance of ``should_stop`` is not met by it).

        Raises UserError while too few rows are told to fit the law.
        """
        law = self.law()
        if law is None:
            raise UserError(f"{len(self.told)} runs told; the law needs {self.n_start} before it can predict")
        low, high = law.predict_interval(self.target, INTERVAL_LEVEL)
        return self.target.assign(
            predicted=law.predict(self.target),
            low=low,
            high=high,
            within_reach=law.within_reach(self.target) & law.has_intervals,
        )

    def answer_row(self) -> pd.Series:
        """The prediction table's row the answer is read at (``answer``): the first target row,
        or the one of lowest prediction, with ``at_line_end``: True where that lowest prediction
        is the first or last target row (of several), so the law puts the optimum at or beyond
        the rows searched and the row is a bound on it, not the optimum. Raises UserError before
        a fit, as ``prediction``."""
        table = self.prediction()
        if self.answer == "first":
            row, at_end = table.iloc[0].copy(), False
        else:
            lowest = int(np.argmin(table["predicted"].to_numpy()))
            row, at_end = table.iloc[lowest].copy(), len(table) > 1 and lowest in (0, len(table) - 1)
        row["at_line_end"] = at_end
        return row

    def relative_half_width(self) -> float:
        """The target interval's half-width over its prediction (inf before a fit): the widest
        row's with answer "first", the answer row's with "lowest"."""
        if self.law() is None:
            return float("inf")
        table = self.prediction() if self.answer == "first" else self.answer_row().to_frame().T
        return float(((table["high"] - table["low"]) / (2 * table["predicted"])).max())

    def _answer_within_reach(self) -> bool:
        """Whether the intervals the stop rule reads are within the law's reach: every target
        row's with answer "first", the answer row's with "lowest"."""
        if self.answer == "first":
            return bool(self.prediction()["within_reach"].all())
        return bool(self.answer_row()["within_reach"])

    def should_stop(self, tolerance: float | None = None, budget: float | None = None) -> StopDecision:
        """Stop when the told runs' cost reaches ``budget``, or when every target interval's
        half-width is within ``tolerance`` of its prediction (0.02: +-2 %). An interval of a
        target beyond the law's reach (``prediction``'s within_reach) never meets the tolerance:
        it is narrow only because nothing measured how far the law errs there. Raises UserError
        for a tolerance or budget that is not a positive number."""
        check_positive("tolerance", tolerance)
        check_positive("budget", budget)
        spent = self.spent
        if budget is not None and spent >= budget:
            return StopDecision(True, f"budget spent: {spent:.4g} of {budget:.4g}")
        if tolerance is not None:
            if self.law() is not None and not self._answer_within_reach():
                return StopDecision(False, f"{NO_INTERVAL}: none to hold to the tolerance +-{tolerance:.2%} yet")
            width = self.relative_half_width()
            if width <= tolerance:
                return StopDecision(True, f"target interval is +-{width:.2%}, within the tolerance +-{tolerance:.2%}")
            shown = "not yet fitted" if not np.isfinite(width) else f"+-{width:.2%}"
            return StopDecision(False, f"target interval {shown}; tolerance +-{tolerance:.2%}")
        return StopDecision(
            False,
            "no tolerance reached and budget left"
            if budget is not None
            else "no stop rule given (tolerance or budget)",
        )


def check_positive(name: str, value: float | None) -> None:
    """Raise UserError, naming the argument, unless ``value`` is None or a positive finite number
    (a budget of -1 answered with an empty batch, a tolerance of -0.1 with "tolerance +--10.00%")."""
    if value is None:
        return
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a positive number, got {value!r}") from None
    if not (np.isfinite(number) and number > 0):
        raise UserError(f"{name} must be a positive number, got {value!r}")


def _inputs(names: list[str], values: np.ndarray) -> str:
    return ", ".join(f"{name}={value:.4g}" for name, value in zip(names, values))
