"""Replaying a pool of finished runs as an oracle: what each selection strategy would have bought.

A run's y is revealed only once the strategy buys it; the trace records, after each round, the
compute spent and the prediction at the target. Users evaluate strategies on their own past
sweeps with it; ``benchmarks/planner.py`` runs it on public and synthetic pools.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scalinglab.errors import UserError
from scalinglab.fit.law import ScalingLaw
from scalinglab.plan import design
from scalinglab.plan.planner import CRITERIA, Planner, check_positive

ADAPTIVE = tuple(CRITERIA)  # planner, v_optimal, d_optimal: refit and choose round by round
FIXED = ("random", "cheapest", "cost_random", "all")  # choose once, without looking at y
# Not a strategy a user could run: it plans with the whole pool's fit as the truth (every y seen),
# so its error is a bound on what any strategy could reach under the budget (``oracle_design``).
ORACLE = "oracle"
STRATEGIES = ADAPTIVE + FIXED + (ORACLE,)
# E|z| / sd(z) for a normal z: turns a log-space variance into an expected relative error.
MEAN_ABS_PER_SD = float(np.sqrt(2 / np.pi))


@dataclass
class ReplayResult:
    """What one replay bought and predicted.

    trace : one row per round: round, n_runs, spent, and (once the law could be fitted)
        rel_half_width, plus error, r2, coverage when the target rows hold y.
    prediction : the target rows with predicted, low, high after the last round (None if never fitted).
    chosen : index labels of the pool rows bought, in the order bought.
    """

    trace: pd.DataFrame
    prediction: pd.DataFrame | None
    chosen: list = field(default_factory=list)

    @property
    def final(self) -> dict:
        """The trace's last row as a dict."""
        return self.trace.iloc[-1].to_dict()


def target_scores(prediction: pd.DataFrame, y: str) -> dict[str, float]:
    """Mean absolute relative error, R^2 and 95 % coverage of a prediction table at rows with y.

    R^2 is 1 - SS_res / SS_tot over the target rows; with one target row (SS_tot = 0) it is
    left out rather than shown as a meaningless number.
    """
    truth = prediction[y].to_numpy(dtype=float)
    predicted = prediction["predicted"].to_numpy(dtype=float)
    scores = {
        "error": float(np.mean(np.abs(predicted - truth) / truth)),
        "coverage": float(np.mean((prediction["low"] <= truth) & (truth <= prediction["high"]))),
    }
    total = float(np.sum((truth - truth.mean()) ** 2))
    if total > 0:
        scores["r2"] = 1.0 - float(np.sum((truth - predicted) ** 2)) / total
    return scores


def _fixed_order(strategy: str, cost: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions in the order a fixed strategy buys them."""
    if strategy == "cheapest":
        return np.argsort(cost, kind="stable")
    if strategy == "cost_random":
        # Sequential sampling without replacement, each draw with probability ~ 1 / cost:
        # Efraimidis-Spirakis keys u^(1/w) with w = 1/cost, largest first, compared as
        # log(u) * cost (u^cost itself underflows to 0 for costs in FLOPs).
        keys = np.log(rng.random(len(cost))) * (cost / cost.min())
        return np.argsort(-keys, kind="stable")
    return rng.permutation(len(cost))


def _within_budget(order: np.ndarray, cost: np.ndarray, budget: float) -> list[int]:
    """The positions of ``order`` bought one by one, skipping any that no longer fit."""
    bought, spent = [], 0.0
    for position in order:
        if spent + cost[position] <= budget:
            bought.append(int(position))
            spent += float(cost[position])
    return bought


def replay(
    pool: pd.DataFrame,
    target: pd.DataFrame,
    x: str | Sequence[str],
    y: str,
    cost: str | Callable[[pd.Series], float],
    budget: float | None = None,
    strategy: str = "planner",
    form: str = "chinchilla",
    random_state: int | None = 0,
    *,
    batch: int | None = None,
    n_bootstrap: int = 200,
) -> ReplayResult:
    """Replay ``pool`` (finished runs) as an oracle under a strategy and a cost budget.

    Parameters
    ----------
    pool, target : DataFrame
        Runs that could be bought (x, y, cost) and rows where the answer is wanted (x; with y,
        the trace also scores the prediction).
    budget : float or None
        Total cost allowed; None (or strategy "all") buys the whole pool.
    strategy : one of STRATEGIES
        "planner" (default), "v_optimal", "d_optimal" choose round by round from the fit so
        far; "random", "cheapest", "cost_random" (random, probability ~ 1/cost) and "all"
        choose at once. "oracle" is a bound, not a strategy: it sees every y of the pool and
        buys ``oracle_design``'s runs; its trace adds ``expected_error`` (of that design) and
        ``expected_error_all`` (of the whole pool), both at the whole pool's fit.
    batch : int or None
        Runs per round of an adaptive strategy; None: half the runs bought so far (at least 2),
        so rounds grow geometrically and a replay costs a few fits.
    """
    if strategy not in STRATEGIES:
        raise UserError(f"strategy must be one of {', '.join(STRATEGIES)}; got {strategy!r}")
    check_positive("budget", budget)
    if pool.index.has_duplicates:
        raise UserError("pool index labels must be unique (they name the runs)")
    planner = Planner(
        x,
        y,
        form,
        target=target,
        cost=cost,
        random_state=random_state,
        strategy=strategy if strategy in ADAPTIVE else "planner",
        n_bootstrap=n_bootstrap,
    )
    limit = np.inf if budget is None or strategy == "all" else float(budget)
    if strategy in ADAPTIVE:
        return _replay_adaptive(planner, pool, limit, batch)
    rng = np.random.default_rng(random_state)
    cost_values = planner.costs_of(pool)
    extra = {}
    if strategy == ORACLE:
        oracle = oracle_design(pool, target, x, y, cost_values, limit, form)
        bought = oracle.chosen
        extra = {"expected_error": oracle.expected_error, "expected_error_all": oracle.expected_error_all}
    else:
        bought = _within_budget(_fixed_order(strategy, cost_values, rng), cost_values, limit)
    chosen = pool.iloc[bought]
    if len(chosen):
        planner.tell(chosen)
    trace = pd.DataFrame([{**_trace_row(planner, 1), **extra}])
    return ReplayResult(trace, _prediction_or_none(planner), list(chosen.index))


@dataclass(frozen=True)
class OracleDesign:
    """The oracle's runs (positions into the pool) and the expected mean absolute relative error
    at the target of that design and of the whole pool, both at the whole pool's fit."""

    chosen: list[int]
    expected_error: float
    expected_error_all: float


def expected_target_error(sigma: np.ndarray, target_jacobian: np.ndarray) -> float:
    """Mean over the target rows of E|log y error| = sqrt(2 / pi) sd, the sd from ``sigma``
    (linearised; variance only: a law that is the wrong shape adds bias this does not see)."""
    return MEAN_ABS_PER_SD * float(np.mean(np.sqrt(np.maximum(design.target_variance(sigma, target_jacobian), 0.0))))


def oracle_design(
    pool: pd.DataFrame,
    target: pd.DataFrame,
    x: str | Sequence[str],
    y: str,
    cost: np.ndarray,
    budget: float,
    form: str,
    *,
    exchange_passes: int = 3,
) -> OracleDesign:
    """The design within ``budget`` with the lowest expected error at the target, when the law
    and its noise are known: an oracle bound for the budget, not a strategy.

    The truth is the whole pool's fit (its parameters and its noise): on a synthetic pool,
    close to the known law; on measured runs, the best the pool says. The design is chosen in
    the local linearisation at that truth (locally optimal design, Chernoff 1953), by the
    planner's budgeted greedy (``design.plan_for_budget``, every cost power, from the prior
    alone) improved by Fedorov's exchange (``design.exchange``: the mean target variance, which
    for one target row orders designs as the expected error does). Its expected error is a bound on
    the variance part of any strategy's error under the budget; the whole pool's is the same
    number with every run bought (never lower than a subset's would be without the prior).
    """
    truth = DesignTruth.of_pool(pool, target, x, y, form)
    error_of = truth.error
    cost = np.asarray(cost, dtype=float)
    whole = error_of(np.arange(len(pool)))
    if not np.isfinite(budget):
        return OracleDesign(list(range(len(pool))), whole, whole)
    prior = np.eye(truth.pool_jacobian.shape[1]) * design.PRIOR_SD**2
    plan, _ = design.plan_for_budget(
        prior,
        truth.pool_jacobian,
        truth.target_jacobian,
        truth.noise_var,
        cost,
        budget,
        exchange_passes=exchange_passes,
    )
    return OracleDesign(plan.picks, error_of(plan.picks) if plan.picks else float("inf"), whole)


@dataclass(frozen=True)
class DesignTruth:
    """A pool seen through its whole fit taken as the truth: the gradient of log y at each pool
    row and target row at the fit's parameters, and its noise variance of log y (seed spread,
    else residuals)."""

    pool_jacobian: np.ndarray
    target_jacobian: np.ndarray
    noise_var: float

    @classmethod
    def of_pool(cls, pool: pd.DataFrame, target: pd.DataFrame, x: str | Sequence[str], y: str, form: str):
        law = ScalingLaw(form, n_bootstrap=0).fit(pool, x=x, y=y)
        fitted_params = law.form_.n_params if law.noise_source_ == "residuals" else 0
        return cls(
            design.jacobian_rows(law.form_, law.theta_, np.log(pool[law.x_].to_numpy(dtype=float))),
            design.jacobian_rows(law.form_, law.theta_, np.log(target[law.x_].to_numpy(dtype=float))),
            design.noise_variance(law.noise_log_, fitted_params),
        )

    def error(self, positions: Sequence[int]) -> float:
        """Expected target error (``expected_target_error``) of buying the runs at these positions."""
        sigma = design.laplace_covariance(self.pool_jacobian[np.asarray(positions, dtype=int)], self.noise_var)
        return expected_target_error(sigma, self.target_jacobian)


def _replay_adaptive(planner: Planner, pool: pd.DataFrame, limit: float, batch: int | None) -> ReplayResult:
    rows, chosen = [], []
    while True:
        k = planner.n_start if len(planner.told) < planner.n_start else (batch or max(2, len(planner.told) // 2))
        picks = planner.ask(pool.drop(columns=[planner.y]), k, budget=limit - planner.spent)
        if len(picks) == 0:
            break
        planner.tell(pool.loc[picks.index])
        chosen.extend(picks.index)
        rows.append(_trace_row(planner, len(rows) + 1))
    if not rows:
        rows.append(_trace_row(planner, 1))
    return ReplayResult(pd.DataFrame(rows), _prediction_or_none(planner), chosen)


def _prediction_or_none(planner: Planner) -> pd.DataFrame | None:
    return planner.prediction() if planner.law() is not None else None


def _trace_row(planner: Planner, round_number: int) -> dict:
    row = {"round": round_number, "n_runs": len(planner.told), "spent": planner.spent}
    prediction = _prediction_or_none(planner)
    if prediction is None:
        return row
    row["rel_half_width"] = planner.relative_half_width()
    if planner.y in prediction.columns:
        row.update(target_scores(prediction, planner.y))
    return row
