"""Fit diagnostics: did the optimiser converge, how many starts agree, which parameters the
data can tell apart.

The parameter correlation matrix is that of the Gauss-Newton approximation (J^T J)^-1 of the
log-space fit, in internal parameters (the logs of the scales E, A, ...). A scale and its
exponent correlate at 0.99 or more in any good fit, only because A is the value at x = 1, far
from the data; a pair with |correlation| above ``CORRELATION_WARNING`` (0.9999) is one the data
constrain only in combination (the floor E traded against the scale A, say); a near-singular J^T J (condition number above
``CONDITION_WARNING`` after scaling each parameter to unit curvature) is a flat direction,
named by the parameters its eigenvector mostly moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CORRELATION_WARNING = 0.9999
CONDITION_WARNING = 1e10
_FLAT_LOADING = 0.3
# A law whose prediction changes by less than this (relative) across the rows it was fitted on is
# flat there: no exponent or scale of it means anything, whatever its bootstrap interval says.
NEGLIGIBLE_CHANGE = 0.01
# A log-log slope this many standard errors above 0 is a clear rise of y with that input; this
# many below, a clear fall. Neither: the rows do not show y changing with that input.
RISE_T = 2.0
# A parameter whose unit change (in its internal scale: the log of a scale) moves no prediction by
# more than this (relative) has no effect on the fit: a term the fit dropped (its scale ~1e-12)
# takes its scale and exponent with it, and its bootstrap replicates never move them ("beta =
# 1.5 (1.5 to 1.5)" was printed for the exponent of a dropped data term).
NO_EFFECT = 1e-6


@dataclass
class Diagnostics:
    """What a fit reports about itself.

    Attributes
    ----------
    converged : bool
    message : str
        Why the optimiser stopped.
    n_starts, n_optimised, n_converged_runs, n_at_best : int
        Starts given, optimised after profiling, run to convergence, and reaching the best.
    correlation : DataFrame
        Parameter correlation matrix (public names as labels).
    on_bound : list of str
        Parameters sitting on a bound.
    no_effect : list of str
        Parameters that change no prediction on the data (see ``NO_EFFECT``): not determined by it.
    warnings : list of str
        One plain sentence per problem found.
    trend : list of str
        Those of ``warnings`` about what the data cannot answer: a law flat across them, or data
        rising where the form only falls (a caller that judges a trend itself may leave them out).
    """

    converged: bool
    message: str
    n_starts: int
    n_optimised: int
    n_converged_runs: int
    n_at_best: int
    correlation: pd.DataFrame
    on_bound: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    trend: list[str] = field(default_factory=list)
    no_effect: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready: correlation as a nested list in the order of ``names``."""
        return {
            "converged": self.converged,
            "message": self.message,
            "n_starts": self.n_starts,
            "n_optimised": self.n_optimised,
            "n_converged_runs": self.n_converged_runs,
            "n_at_best": self.n_at_best,
            "names": list(self.correlation.columns),
            "correlation": [[_finite(v) for v in row] for row in self.correlation.to_numpy()],
            "on_bound": list(self.on_bound),
            "no_effect": list(self.no_effect),
            "warnings": list(self.warnings),
        }


def _finite(value: float):
    return float(value) if np.isfinite(value) else None


def diagnose(problem, result, input_names=None) -> Diagnostics:
    """Diagnostics of a :class:`MultiStartResult` on its :class:`Problem`; ``input_names`` (the
    x columns) name the inputs in the warnings (default: the form's own names)."""
    form, theta = problem.form, result.theta
    names = form.public_names
    jacobian = _jacobian(problem, theta)
    correlation, flat = _correlation(names, jacobian)
    no_effect = [name for name, column in zip(names, jacobian.T) if np.max(np.abs(column)) < NO_EFFECT]
    trend = _trend_warnings(problem, theta, list(input_names or form.inputs))
    warnings = list(trend)
    if not result.converged:
        warnings.append(f"the fit did not converge: {result.message}")
    if result.n_at_best == 1 and result.n_converged_runs > 1:
        warnings.append(
            f"only 1 of {result.n_converged_runs} converged starts reached the best "
            "objective: the objective has several basins; check the fit"
        )
    on_bound = _on_bound(problem, theta)
    for name in on_bound:
        value = float(form.to_public(theta)[names.index(name)])
        warnings.append(f"{name} sits on its bound ({value:.4g}): the data push it as far as allowed")
    if no_effect:
        warnings.append(
            f"{' and '.join(no_effect)} change{'s' if len(no_effect) == 1 else ''} no prediction on these rows "
            "(a term the fit dropped, its scale ~0): not determined by them, whatever their intervals say"
        )
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            value = correlation.iat[i, j]
            if np.isfinite(value) and abs(value) > CORRELATION_WARNING:
                warnings.append(
                    f"{names[i]} and {names[j]} are not separately identified "
                    f"(correlation {value:+.3f}): the data fix only a combination of them"
                )
    if flat:
        warnings.append(f"flat direction: the objective barely changes along a combination of {', '.join(flat)}")
    return Diagnostics(
        result.converged,
        result.message,
        result.n_starts,
        result.n_optimised,
        result.n_converged_runs,
        result.n_at_best,
        correlation,
        on_bound,
        warnings,
        trend,
        no_effect,
    )


def _trend_warnings(problem, theta: np.ndarray, input_names: list[str]) -> list[str]:
    """Words for data the law cannot describe: y rising with an input where the form only falls
    (an accuracy, inverse scaling), a law flat across the data (a flat curve), and an input y
    does not clearly change with (noise: the law's term for it is not determined)."""
    slopes = _log_log_slopes(problem.log_x, problem.log_y, input_names)
    warnings = [
        f"the data rise with {name} (log-log slope {slope:+.3g}), but a {problem.form.name} law only "
        "falls as its inputs grow: it describes a loss or an error rate; for a score that rises, such "
        "as accuracy, fit its complement (1 - accuracy) instead; a loss that rises (larger models "
        "overfitting, or trained too briefly) no law of this form describes"
        for name, slope, error in slopes
        if problem.form.falls and slope > RISE_T * error
    ]
    predicted = problem.form.log_predict(theta[None, :], problem.log_x)[0]
    change = float(np.expm1(predicted.max() - predicted.min()))
    if change < NEGLIGIBLE_CHANGE:
        # Seeds show a change only between values an input already takes: one value has none.
        one_value = len(np.unique(problem.log_x, axis=0)) < 2
        seeds = "" if one_value else ", or seeds enough to show a change above the noise,"
        warnings.append(
            f"the law is flat across the data: its prediction changes by {change:.2%} over the rows fitted, so "
            f"the {problem.form.name} law's exponents and scales mean nothing here; rows over a wider range of "
            f"{', '.join(input_names)}{seeds} would determine them"
        )
        return warnings
    warnings += [
        f"the data do not clearly change with {name}: their log-log slope, {slope:+.3g} (standard error "
        f"{error:.2g}), is within {RISE_T:g} standard errors of 0, so the {problem.form.name} law's term in {name} "
        f"is shaped by noise and its predictions beyond the rows mean little; more seeds at each {name}, or "
        f"{name} over a wider range, would show whether it matters"
        for name, slope, error in slopes
        if abs(slope) <= RISE_T * error
    ]
    return warnings


def _log_log_slopes(log_x: np.ndarray, log_y: np.ndarray, input_names: list[str]) -> list[tuple[str, float, float]]:
    """(input, slope, standard error) of each input's least-squares log-log slope, all inputs
    together; none without more rows than coefficients + 1, or inputs that do not vary apart."""
    design = np.column_stack([np.ones(len(log_y)), log_x])
    dof = len(log_y) - design.shape[1]
    if dof < 2 or np.linalg.matrix_rank(design) < design.shape[1]:
        return []
    coefficients, *_ = np.linalg.lstsq(design, log_y, rcond=None)
    residual_var = float(np.sum((log_y - design @ coefficients) ** 2)) / dof
    standard_errors = np.sqrt(np.diag(np.linalg.inv(design.T @ design)) * residual_var)
    return [
        (name, float(slope), float(error))
        for name, slope, error in zip(input_names, coefficients[1:], standard_errors[1:])
    ]


def _on_bound(problem, theta: np.ndarray) -> list[str]:
    lower, upper = problem.bounds
    slack = 1e-6 * (1.0 + np.abs(theta))
    hit = (np.isfinite(lower) & (theta <= lower + slack)) | (np.isfinite(upper) & (theta >= upper - slack))
    return [name for name, flag in zip(problem.form.public_names, hit) if flag]


def _jacobian(problem, theta: np.ndarray) -> np.ndarray:
    """d log(prediction) / d internal parameter at every row, shape (n, p)."""
    _, columns = problem.form.log_predict_and_jacobian(theta[None, :], problem.log_x)
    return np.column_stack([np.broadcast_to(c, (1, len(problem.log_y)))[0] for c in columns])


def _correlation(names: list[str], jacobian: np.ndarray) -> tuple[pd.DataFrame, list[str]]:
    """Correlation matrix of the parameters and the names along a flat direction (if any)."""
    gram = jacobian.T @ jacobian
    scale = np.sqrt(np.maximum(np.diag(gram), 1e-300))
    scaled = gram / np.outer(scale, scale)
    eigenvalues, eigenvectors = np.linalg.eigh(scaled)
    flat = []
    if eigenvalues[0] <= eigenvalues[-1] / CONDITION_WARNING:
        flat = [names[k] for k in np.flatnonzero(np.abs(eigenvectors[:, 0]) > _FLAT_LOADING)]
    covariance = np.linalg.pinv(scaled, hermitian=True)
    sd = np.sqrt(np.maximum(np.diag(covariance), 1e-300))
    with np.errstate(invalid="ignore"):
        correlation = np.clip(covariance / np.outer(sd, sd), -1.0, 1.0)
    return pd.DataFrame(correlation, index=names, columns=names), flat
