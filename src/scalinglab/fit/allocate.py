"""Compute-optimal allocation: for a FLOP budget C, the model size N* and data size D* that
minimise a fitted joint law L(N, D) subject to C = flops(N, D).

The FLOP model is "FLOPs per training token as a function of N": C = k * N * D for a number
k (6 by default: forward + backward pass, Kaplan et al. 2020), or C = f(N) * D for a callable
f (e.g. one that adds attention FLOPs). The minimum over log N is found by a vectorised
bisection for the fitted parameters and every bootstrap replicate at once; for the
Chinchilla form with C = 6ND it agrees with the closed form
N* = G (C/6)^(beta/(alpha+beta)), G = (alpha A / (beta B))^(1/(alpha+beta)).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from scalinglab.errors import UserError
from scalinglab.fit.bootstrap import percentile_interval

FlopModel = float | Callable[[np.ndarray], np.ndarray]
DEFAULT_FLOPS_PER_PARAM_TOKEN = 6.0
_SLOPE_STEP = 1e-4  # in log N: small against the curvature of the loss along a budget line
# A budget more than this factor outside the compute of the rows fitted is named in a warning:
# its allocation extrapolates the law, and its interval holds the bootstrap's spread alone.
FAR_BUDGET_FACTOR = 10.0


def log_tokens(log_compute: np.ndarray, log_n: np.ndarray, flop_model: FlopModel) -> np.ndarray:
    """log D such that the FLOP model spends exp(log_compute) on a model of exp(log_n) params.

    Parameters
    ----------
    log_compute, log_n : ndarray
        Log FLOP budget and log parameter count (broadcastable).
    flop_model : float or callable
        A number k means C = k*N*D; a callable f(N) gives the training FLOPs per token.
    """
    if callable(flop_model):
        with np.errstate(divide="ignore", invalid="ignore"):
            return log_compute - np.log(np.asarray(flop_model(np.exp(log_n)), dtype=float))
    return log_compute - np.log(flop_model) - log_n


def log_flops(log_n: np.ndarray, log_d: np.ndarray, flop_model: FlopModel) -> np.ndarray:
    """log C of training a model of exp(log_n) parameters on exp(log_d) tokens."""
    if callable(flop_model):
        return log_d + np.log(np.asarray(flop_model(np.exp(log_n)), dtype=float))
    return log_d + np.log(flop_model) + log_n


def slope_bisection_minimum(fun, low: np.ndarray, high: np.ndarray, n_iter: int = 80) -> np.ndarray:
    """Elementwise minimiser of a unimodal function on [low, high], by bisecting on the sign
    of its central-difference slope.

    Comparing function values (golden section) cannot place a minimum closer than about
    sqrt(machine epsilon) in relative terms, because the function is flat there; the sign of
    the slope stays informative much closer to it.

    Parameters
    ----------
    fun : callable
        Takes and returns arrays of the shape of ``low``; evaluated twice per iteration.
    low, high : ndarray
        Bracket of each independent problem.
    n_iter : int
        Iterations; each halves the bracket.
    """
    low, high = np.array(low, dtype=float), np.array(high, dtype=float)
    for _ in range(n_iter):
        middle = 0.5 * (low + high)
        rising = fun(middle + _SLOPE_STEP) > fun(middle - _SLOPE_STEP)
        high = np.where(rising, middle, high)
        low = np.where(rising, low, middle)
    return 0.5 * (low + high)


def _check_joint_law(law, unique_data) -> None:
    if not hasattr(law, "params_"):
        raise UserError("the law is not fitted yet; call fit() first")
    inputs = law.form_.inputs
    if inputs == ("N", "D", "U"):
        if unique_data is None or not (np.isfinite(unique_data) and unique_data > 0):
            raise UserError(
                f"compute-optimal allocation of a {law.form_.name!r} law needs unique_data (--unique-data), "
                f"the number of unique tokens (examples) available, > 0; got {unique_data!r}"
            )
        return
    if inputs != ("N", "D"):
        raise UserError(
            f"compute: a compute-optimal allocation needs a joint law of N and D (chinchilla, kaplan, "
            f"chinchilla_no_floor, farseer_lite) or of N, D and U (data_constrained), not {law.form_.name!r}"
        )
    if unique_data is not None:
        raise UserError(f"unique_data applies to laws of N, D and U (data_constrained), not {law.form_.name!r}")


def _law_inputs(log_n: np.ndarray, log_d: np.ndarray, unique_data: float | None) -> np.ndarray:
    """The law's log inputs at (N, D), with log U appended for a law of N, D and U."""
    columns = [log_n, log_d]
    if unique_data is not None:
        columns.append(np.full_like(log_n, np.log(unique_data)))
    return np.stack(columns, axis=-1)


def _optimal_log_n(
    law, theta: np.ndarray, log_compute: np.ndarray, flop_model: FlopModel, unique_data: float | None = None
):
    """argmin over log N of the predicted log loss, shape (S, m) for S parameter rows."""

    def log_loss(log_n):
        log_x = _law_inputs(log_n, log_tokens(log_compute, log_n, flop_model), unique_data)
        with np.errstate(over="ignore", invalid="ignore"):
            return law.form_.log_predict(theta, log_x)

    shape = (len(theta), len(log_compute))
    # Between one parameter and a model that would see a single token.
    high = np.broadcast_to(log_compute, shape)
    return slope_bisection_minimum(log_loss, np.zeros(shape), high)


def check_budgets(compute, flop_model: FlopModel) -> np.ndarray:
    """The FLOP budgets as an array, or a UserError: each must be a finite number > 1, and the
    flop model a positive number or a callable."""
    budgets = np.atleast_1d(np.asarray(compute, dtype=float))
    if not (np.isfinite(budgets).all() and (budgets > 1).all()):
        raise UserError(
            f"compute: budgets must be finite numbers of FLOPs > 1, got {', '.join(f'{b:g}' for b in budgets)}"
        )
    if not callable(flop_model) and not (np.isfinite(flop_model) and flop_model > 0):
        raise UserError(f"flop_model must be a positive number or a callable, got {flop_model!r}")
    return budgets


def compute_optimal(
    law,
    compute,
    *,
    flop_model: FlopModel = DEFAULT_FLOPS_PER_PARAM_TOKEN,
    level: float | None = None,
    unique_data: float | None = None,
) -> pd.DataFrame:
    """Compute-optimal N*, D*, tokens per parameter and loss for each FLOP budget.

    Parameters
    ----------
    law : ScalingLaw
        A fitted joint law: of N and D ("chinchilla", "kaplan", "chinchilla_no_floor",
        "farseer_lite"), or of N, D and U ("data_constrained", with ``unique_data``).
    compute : float or array-like
        FLOP budgets C.
    flop_model : float or callable
        A number k: C = k*N*D (default 6). A callable f: C = f(N)*D, f giving FLOPs per token.
    level : float, optional
        Coverage of the bootstrap intervals; the law's ``ci_level`` by default.
    unique_data : float, optional
        Laws of N, D and U (``data_constrained``) only, and required there: the unique tokens
        (examples) available. D* may then exceed it: the optimum repeats the data D*/U times,
        each repetition worth less (Muennighoff et al. 2023). The form leaves out the paper's
        decay of parameters beyond the optimum for U, so where data is scarce this N* leans to
        larger models than the paper's full law would (it finds extra epochs worth more than
        extra parameters).

    Returns
    -------
    DataFrame
        One row per budget: ``compute``, ``N_opt``, ``D_opt``, ``tokens_per_param``,
        ``loss_opt``, and ``<column>_low`` / ``<column>_high`` when the law has intervals
        (``ScalingLaw.has_intervals``: bootstrapped over more groups than parameters).
    """
    _check_joint_law(law, unique_data)
    budgets = check_budgets(compute, flop_model)
    theta = law.theta_[None, :]
    if law.has_intervals:
        theta = np.vstack([theta, law.bootstrap_theta_])
    log_compute = np.log(budgets)
    log_n = _optimal_log_n(law, theta, log_compute, flop_model, unique_data)
    log_d = log_tokens(log_compute, log_n, flop_model)
    log_loss = law.form_.log_predict(theta, _law_inputs(log_n, log_d, unique_data))
    figures = {
        "N_opt": np.exp(log_n),
        "D_opt": np.exp(log_d),
        "tokens_per_param": np.exp(log_d - log_n),
        "loss_opt": np.exp(log_loss),
    }
    table = {"compute": budgets}
    for name, values in figures.items():
        table[name] = values[0]
        if len(theta) > 1:
            low, high = percentile_interval(values[1:], law.ci_level if level is None else level)
            table[f"{name}_low"], table[f"{name}_high"] = low, high
    return pd.DataFrame(table)


def allocation_warnings(law, allocation: pd.DataFrame, flop_model: FlopModel = DEFAULT_FLOPS_PER_PARAM_TOKEN):
    """The allocation with every impossible optimum blanked, and the warnings that say why.

    An optimum below one parameter or one token (a law whose size or data term the rows do not
    resolve: flat, or rising with N or D) is no model anyone can train: its row's figures become
    NaN. A budget more than ``FAR_BUDGET_FACTOR`` outside the compute of the fitted rows is named:
    its allocation extrapolates the law that far, and its interval is the bootstrap's alone.

    Returns
    -------
    allocation : DataFrame
        A copy of ``allocation``, the impossible rows' figures NaN.
    warnings : list of str
    """
    allocation = allocation.copy()
    warnings = []
    impossible = (allocation["N_opt"] < 1) | (allocation["D_opt"] < 1)
    if impossible.any():
        first = allocation[impossible].iloc[0]
        warnings.append(
            f"no compute-optimal allocation at {_budgets(allocation.loc[impossible, 'compute'])} FLOPs: the law's "
            f"optimum there is {_short(first['N_opt'])} parameters on {_short(first['D_opt'])} tokens, less than one of "
            "either, which no model can be; the law's size or data term is not resolved by these rows (see the "
            "warnings above)"
        )
        figures = [column for column in allocation.columns if column != "compute"]
        allocation.loc[impossible, figures] = np.nan
    log_trained = log_flops(law.fitted_log_x_[:, 0], law.fitted_log_x_[:, 1], flop_model)
    low, high = float(np.exp(log_trained.min())), float(np.exp(log_trained.max()))
    far = allocation["compute"][
        ~impossible
        & ((allocation["compute"] > high * FAR_BUDGET_FACTOR) | (allocation["compute"] < low / FAR_BUDGET_FACTOR))
    ]
    if len(far):
        warnings.append(
            f"{_budgets(far)} FLOPs lie more than {FAR_BUDGET_FACTOR:g}x outside the compute of the rows fitted "
            f"({_short(low)} to {_short(high)}): their allocation extrapolates the law that far, and its interval holds "
            "the bootstrap's spread, not the law's error so far out"
        )
    return allocation, warnings


def _budgets(compute: pd.Series) -> str:
    return ", ".join(_short(value) for value in compute)


def _short(value: float) -> str:
    """3 significant digits, exponents without '+' or leading zeros (1e3, 1e22, 2.5e-5)."""
    mantissa, _, exponent = f"{value:.3g}".partition("e")
    return mantissa + (f"e{int(exponent)}" if exponent else "")
