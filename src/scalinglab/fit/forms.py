"""Scaling-law forms, written in log space and evaluated for many parameter vectors at once.

Every form predicts ``log y`` from ``log x`` so that the fit can minimise a robust loss on log
residuals, as Hoffmann et al. (2022) do. Parameters that are scales (E, A, B, Nc, ...) are
optimised as their logarithms ("internal" parameters: e = log E, a = log A, ...); sums of
positive terms become log-sum-exp, which stays finite where the plain formula overflows.

Shapes used throughout: ``theta`` is (S, p) for S parameter vectors, ``log_x`` is (n, d) for n
points with d inputs (or (S, n, d) when each parameter vector has points of its own, as in the
compute-optimal search), predictions are (S, n). A Jacobian is a list of p arrays, one per
parameter, each broadcastable to (S, n): stacking them into one (S, n, p) array would cost more
than the rest of an optimiser iteration.
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass

import numpy as np

from scalinglab.errors import UserError

_UNBOUNDED = (-np.inf, np.inf)


@dataclass(frozen=True)
class Param:
    """One parameter: its internal name and bounds, and how it maps to the published one.

    ``log_scale`` parameters are optimised as their logarithm: public = exp(internal).
    """

    internal: str
    public: str
    bounds: tuple[float, float] = _UNBOUNDED
    log_scale: bool = False


class Form:
    """A scaling-law form: parameter list, batched log-space prediction and Jacobian, start grid.

    Subclasses define ``name``, ``formula``, ``inputs`` (names of the x columns, in order),
    ``params`` and the three methods ``log_predict_and_jacobian``, ``start_grid`` and (if the
    bounds depend on the data) ``bounds``.
    """

    name: str
    formula: str
    inputs: tuple[str, ...]
    params: tuple[Param, ...]
    # Separable forms (y = sum_k exp(scale_k) * term_k(other parameters, x)) name the scale
    # parameter of each term here and implement ``log_terms``; the fit then profiles the scales
    # out of every start by non-negative least squares (variable projection, see fitter.py).
    scale_index: tuple[int, ...] = ()
    # Whether the law can only fall as its inputs grow (a loss, an error rate): data that rise
    # then get a warning (fit.convergence). A cost law of either sign sets it False.
    falls: bool = True

    @property
    def n_inputs(self) -> int:
        """Number of x columns the form takes."""
        return len(self.inputs)

    @property
    def n_params(self) -> int:
        """Number of free parameters."""
        return len(self.params)

    @property
    def internal_names(self) -> list[str]:
        """Names of the optimised (log-space) parameters, in order."""
        return [p.internal for p in self.params]

    @property
    def public_names(self) -> list[str]:
        """Names of the published parameters, in order."""
        return [p.public for p in self.params]

    def bounds(self, log_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the internal parameters, each of shape (p,).

        Parameters
        ----------
        log_x : ndarray of shape (n, d)
            Log inputs of the data; forms whose bounds depend on the data range use it.
        """
        del log_x  # the default bounds do not depend on the data
        lower = np.array([p.bounds[0] for p in self.params], dtype=float)
        upper = np.array([p.bounds[1] for p in self.params], dtype=float)
        return lower, upper

    def log_predict(self, theta: np.ndarray, log_x: np.ndarray) -> np.ndarray:
        """Predicted log y, shape (S, n), for internal parameters ``theta`` of shape (S, p)."""
        return self.log_predict_and_jacobian(theta, log_x, jacobian=False)[0]

    def log_predict_and_jacobian(
        self, theta: np.ndarray, log_x: np.ndarray, jacobian: bool = True
    ) -> tuple[np.ndarray, list[np.ndarray] | None]:
        """Predicted log y (S, n) and its derivative in each internal parameter.

        Returns
        -------
        pred : ndarray of shape (S, n)
        jacobian : list of p arrays broadcastable to (S, n), or None if ``jacobian`` is False
        """
        raise NotImplementedError

    def start_grid(self, log_x: np.ndarray, log_y: np.ndarray) -> np.ndarray:
        """Default starting points for the multi-start fit, shape (S, p), internal parameters."""
        raise NotImplementedError

    def log_terms(self, theta: np.ndarray, log_x: np.ndarray) -> list[np.ndarray]:
        """Log of each additive term of y, arrays broadcastable to (S, n); separable forms only.

        Term k includes its scale parameter ``theta[:, scale_index[k]]``, so that
        log y = logsumexp(log_terms).
        """
        raise NotImplementedError(f"form {self.name!r} is not separable")

    def to_public(self, theta: np.ndarray) -> np.ndarray:
        """Map internal parameters (..., p) to published ones (exp of the log-scale ones)."""
        theta = np.asarray(theta, dtype=float)
        is_log = np.array([p.log_scale for p in self.params])
        with np.errstate(over="ignore"):
            return np.where(is_log, np.exp(theta), theta)

    def to_internal(self, public: dict[str, float]) -> np.ndarray:
        """Map a dict of published parameter values to the internal vector (p,)."""
        missing = set(self.public_names) - set(public)
        if missing:
            raise ValueError(f"form {self.name!r} needs values for {sorted(missing)}")
        return np.array(
            [np.log(public[p.public]) if p.log_scale else public[p.public] for p in self.params],
            dtype=float,
        )

    def __repr__(self) -> str:
        return f"<Form {self.name}: {self.formula}>"


def _logsumexp(terms: list[np.ndarray], weights: bool = True):
    """Log-sum-exp over the terms, arrays broadcastable to (S, n), and their softmax weights.

    Each row is shifted by one constant (its largest term) rather than elementwise: a term of
    shape (S, 1), such as the floor e, then costs one exp per row instead of one per point.
    Within a row the terms span at most (exponent bound) x (range of log x), far below the
    ~700 that would underflow a whole sum; a sum that still underflows is clamped to the
    smallest positive float.
    """
    shift = terms[0].max(axis=1, keepdims=True)
    for term in terms[1:]:
        shift = np.maximum(shift, term.max(axis=1, keepdims=True))
    shifted = [np.exp(term - shift) for term in terms]
    total = shifted[0] + shifted[1]
    for term in shifted[2:]:
        total += term
    np.maximum(total, np.finfo(float).tiny, out=total)
    lse = np.log(total) + shift
    if not weights:
        return lse, None
    inverse_total = 1.0 / total
    return lse, [term * inverse_total for term in shifted]


def _softplus(t: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, t)


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * t))


def _columns(theta: np.ndarray) -> list[np.ndarray]:
    """Split (S, p) into p column vectors of shape (S, 1) that broadcast against (n,)."""
    return [theta[:, j : j + 1] for j in range(theta.shape[1])]


def _floor_fractions_grid(log_y: np.ndarray, fractions=(1e-3, 0.5, 0.8, 0.95)) -> np.ndarray:
    """Candidate e = log E: the floor as a fraction of the smallest observed y."""
    return np.log(fractions) + log_y.min()


def _intercept_through_median(e: float, log_y_median: float, decay_at_median: float) -> float:
    """a such that E + exp(a - decay) passes through the median y (floor below it)."""
    excess = np.exp(log_y_median) - np.exp(e)
    return np.log(max(excess, 1e-12 * np.exp(log_y_median))) + decay_at_median


class Power(Form):
    """y = E + A * x^(-alpha); log y = LSE(a - alpha*log x, e)."""

    name = "power"
    formula = "y = E + A * x^(-alpha)"
    inputs = ("x",)
    params = (
        Param("e", "E", log_scale=True),
        Param("a", "A", log_scale=True),
        Param("alpha", "alpha", (0.0, 10.0)),
    )
    scale_index = (0, 1)

    def log_terms(self, theta, log_x):
        e, a, alpha = _columns(theta)
        return [e, a - alpha * log_x[..., 0]]

    def log_predict_and_jacobian(self, theta, log_x, jacobian=True):
        e, a, alpha = _columns(theta)
        lx = log_x[..., 0]
        pred, softmax = _logsumexp([e, a - alpha * lx], weights=jacobian)
        if not jacobian:
            return pred, None
        w_floor, w_decay = softmax
        return pred, [w_floor, w_decay, -w_decay * lx]

    def start_grid(self, log_x, log_y):
        lx_median, ly_median = np.median(log_x[..., 0]), np.median(log_y)
        starts = []
        for e, alpha, shift in itertools.product(
            _floor_fractions_grid(log_y), (0.05, 0.1, 0.2, 0.4, 0.8, 1.6), (-1.0, 0.0, 1.0)
        ):
            a = _intercept_through_median(e, ly_median, alpha * lx_median) + shift
            starts.append((e, a, alpha))
        return np.array(starts)


class PurePowerLaw(Form):
    """y = A * x^k with no floor (cost metrics: seconds, bytes, latency); log y = a + k log x."""

    name = "powerlaw"
    formula = "y = A * x^k"
    inputs = ("x",)
    falls = False
    params = (Param("a", "A", log_scale=True), Param("k", "k"))

    def log_predict_and_jacobian(self, theta, log_x, jacobian=True):
        a, k = _columns(theta)
        lx = log_x[..., 0]
        pred = a + k * lx
        if not jacobian:
            return pred, None
        return pred, [np.ones((1, 1)), np.broadcast_to(lx, pred.shape)]

    def start_grid(self, log_x, log_y):
        # Huber regression of a line is convex: the least-squares line is a sufficient start.
        slope, intercept = np.polyfit(log_x[..., 0], log_y, 1)
        return np.array([[intercept, slope]])


# E, A, B and alpha of L = E + A/N^alpha + B/D^beta, shared by the forms that extend it.
_CHINCHILLA_SCALES_AND_ALPHA = (
    Param("e", "E", log_scale=True),
    Param("a", "A", log_scale=True),
    Param("b", "B", log_scale=True),
    Param("alpha", "alpha", (0.0, 10.0)),
)


class Chinchilla(Form):
    """L = E + A/N^alpha + B/D^beta; log L = LSE(a - alpha log N, b - beta log D, e).

    The default start grid is the one of Hoffmann et al. (2022, appendix D.2): alpha, beta in
    {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1}, a, b in {0, 5, ..., 25}: 4,500 starts.
    """

    name = "chinchilla"
    formula = "L = E + A / N^alpha + B / D^beta"
    inputs = ("N", "D")
    params = (
        *_CHINCHILLA_SCALES_AND_ALPHA,
        Param("beta", "beta", (0.0, 10.0)),
    )
    scale_index = (0, 1, 2)

    def log_terms(self, theta, log_x):
        e, a, b, alpha, beta = _columns(theta)
        return [e, a - alpha * log_x[..., 0], b - beta * log_x[..., 1]]

    def log_predict_and_jacobian(self, theta, log_x, jacobian=True):
        e, a, b, alpha, beta = _columns(theta)
        log_n, log_d = log_x[..., 0], log_x[..., 1]
        pred, softmax = _logsumexp([e, a - alpha * log_n, b - beta * log_d], weights=jacobian)
        if not jacobian:
            return pred, None
        w_e, w_n, w_d = softmax
        return pred, [w_e, w_n, w_d, -w_n * log_n, -w_d * log_d]

    def start_grid(self, log_x, log_y):
        exponents = np.arange(0.0, 2.01, 0.5)
        floors = np.arange(-1.0, 1.01, 0.5)
        scales = np.arange(0.0, 25.01, 5.0)
        grid = itertools.product(floors, scales, scales, exponents, exponents)
        return np.array(list(grid))


class Kaplan(Form):
    """L = ((Nc/N)^(alpha_N/alpha_D) + Dc/D)^alpha_D (Kaplan et al. 2020, eq. 1.5).

    In log space: log L = alpha_D * LSE((alpha_N/alpha_D)(log Nc - log N), log Dc - log D).
    """

    name = "kaplan"
    formula = "L = ((Nc / N)^(alpha_N / alpha_D) + Dc / D)^alpha_D"
    inputs = ("N", "D")
    params = (
        Param("log_Nc", "Nc", log_scale=True),
        Param("log_Dc", "Dc", log_scale=True),
        Param("alpha_N", "alpha_N", (1e-3, 5.0)),
        Param("alpha_D", "alpha_D", (1e-3, 5.0)),
    )

    def log_predict_and_jacobian(self, theta, log_x, jacobian=True):
        log_nc, log_dc, alpha_n, alpha_d = _columns(theta)
        log_n, log_d = log_x[..., 0], log_x[..., 1]
        n_term = (alpha_n / alpha_d) * (log_nc - log_n)
        lse, softmax = _logsumexp([n_term, log_dc - log_d], weights=jacobian)
        pred = alpha_d * lse
        if not jacobian:
            return pred, None
        w_n, w_d = softmax
        return pred, [alpha_n * w_n, alpha_d * w_d, w_n * (log_nc - log_n), lse - w_n * n_term]

    def start_grid(self, log_x, log_y):
        # Each term alone would give the median loss: (Nc/N)^alpha_N = L  =>  log Nc = log N + log L / alpha_N.
        lx_median = np.median(log_x, axis=0)
        ly_median = np.median(log_y)
        starts = []
        for alpha_n, alpha_d, shift_n, shift_d in itertools.product(
            (0.05, 0.1, 0.2, 0.4), (0.05, 0.1, 0.2, 0.4), (-3.0, 0.0, 3.0), (-3.0, 0.0, 3.0)
        ):
            log_nc = lx_median[0] + ly_median / alpha_n + shift_n
            log_dc = lx_median[1] + ly_median / alpha_d + shift_d
            starts.append((log_nc, log_dc, alpha_n, alpha_d))
        return np.array(starts)


class BrokenPowerLaw(Form):
    """Broken neural scaling law with one break (Caballero et al. 2023, eq. 1):

    y = E + A * x^(-c0) * (1 + (x/d1)^(1/f1))^(-c1*f1)

    The log-log slope is -c0 well below the break d1 and -(c0 + c1) well above it; f1 sets how
    sharp the break is (in units of log x). In log space:
    log y = LSE(e, a - c0 log x - c1 f1 softplus((log x - log d1)/f1)).
    """

    name = "bnsl"
    formula = "y = E + A * x^(-c0) * (1 + (x / d1)^(1 / f1))^(-c1 * f1)"
    inputs = ("x",)
    params = (
        Param("e", "E", log_scale=True),
        Param("a", "A", log_scale=True),
        Param("c0", "c0", (0.0, 10.0)),
        Param("c1", "c1", (-10.0, 10.0)),
        Param("log_d1", "d1", log_scale=True),
        Param("f1", "f1", (1e-2, 10.0)),
    )
    scale_index = (0, 1)

    def log_terms(self, theta, log_x):
        e, a, c0, c1, log_d1, f1 = _columns(theta)
        lx = log_x[..., 0]
        return [e, a - c0 * lx - c1 * f1 * _softplus((lx - log_d1) / f1)]

    def bounds(self, log_x):
        lower, upper = super().bounds(log_x)
        # A break outside the data cannot be identified from it.
        j = self.internal_names.index("log_d1")
        lower[j], upper[j] = log_x[..., 0].min(), log_x[..., 0].max()
        return lower, upper

    def log_predict_and_jacobian(self, theta, log_x, jacobian=True):
        e, a, c0, c1, log_d1, f1 = _columns(theta)
        lx = log_x[..., 0]
        t = (lx - log_d1) / f1
        smooth_break = _softplus(t)
        decay = a - c0 * lx - c1 * f1 * smooth_break
        pred, softmax = _logsumexp([e, decay], weights=jacobian)
        if not jacobian:
            return pred, None
        w_e, w_decay = softmax
        sig = _sigmoid(t)
        return pred, [
            w_e,
            w_decay,
            -w_decay * lx,
            -w_decay * f1 * smooth_break,
            w_decay * c1 * sig,
            -w_decay * c1 * (smooth_break - sig * t),
        ]

    def start_grid(self, log_x, log_y):
        lx = log_x[..., 0]
        lx_median, ly_median = np.median(lx), np.median(log_y)
        starts = []
        for e, c0, c1, q, f1 in itertools.product(
            _floor_fractions_grid(log_y, (1e-3, 0.5, 0.9)),
            (0.1, 0.5),
            (-0.3, 0.3, 1.0),
            (0.25, 0.5, 0.75),
            (0.3, 1.0),
        ):
            log_d1 = np.quantile(lx, q)
            decay_at_median = c0 * lx_median + c1 * f1 * _softplus((lx_median - log_d1) / f1)
            a = _intercept_through_median(e, ly_median, decay_at_median)
            starts.append((e, a, c0, c1, log_d1, f1))
        return np.array(starts)


class ShiftedPower(Form):
    """y = E + A * (x + x0)^(-alpha): a power law whose start is shifted by x0.

    For x >> x0 it is the plain power law; for x near x0 the curve flattens, the shape of a
    learning curve whose first steps are spent leaving the initial plateau (Hestness et al.
    2017's "small-data region"; the offset of Alabdulmohsin et al. 2022's estimators). In log
    space: log y = LSE(e, a - alpha * log(x + x0)), log(x + x0) = logaddexp(log x, log x0).
    """

    name = "shifted_power"
    formula = "y = E + A * (x + x0)^(-alpha)"
    inputs = ("x",)
    params = (
        Param("e", "E", log_scale=True),
        Param("a", "A", log_scale=True),
        Param("alpha", "alpha", (0.0, 10.0)),
        Param("log_x0", "x0", log_scale=True),
    )
    scale_index = (0, 1)

    def bounds(self, log_x):
        lower, upper = super().bounds(log_x)
        # An offset far below the data is the plain power law; far above, a flat line.
        lower[3], upper[3] = log_x[..., 0].min() - 10.0, log_x[..., 0].max()
        return lower, upper

    def log_terms(self, theta, log_x):
        e, a, alpha, log_x0 = _columns(theta)
        return [e, a - alpha * np.logaddexp(log_x[..., 0], log_x0)]

    def log_predict_and_jacobian(self, theta, log_x, jacobian=True):
        e, a, alpha, log_x0 = _columns(theta)
        lx = log_x[..., 0]
        shifted = np.logaddexp(lx, log_x0)
        pred, softmax = _logsumexp([e, a - alpha * shifted], weights=jacobian)
        if not jacobian:
            return pred, None
        w_floor, w_decay = softmax
        return pred, [w_floor, w_decay, -w_decay * shifted, -w_decay * alpha * _sigmoid(log_x0 - lx)]

    def start_grid(self, log_x, log_y):
        lx = log_x[..., 0]
        lx_median, ly_median = np.median(lx), np.median(log_y)
        starts = []
        for e, alpha, log_x0 in itertools.product(
            _floor_fractions_grid(log_y), (0.1, 0.3, 0.6, 1.2), (lx.min() - 3.0, lx.min(), lx_median)
        ):
            decay_at_median = alpha * np.logaddexp(lx_median, log_x0)
            starts.append((e, _intercept_through_median(e, ly_median, decay_at_median), alpha, log_x0))
        return np.array(starts)


class ChinchillaNoFloor(Form):
    """L = A/N^alpha + B/D^beta: Chinchilla's form without the irreducible term E.

    The sum of a model-size and a data-size power law with no floor (the two limits of
    Kaplan et al. 2020, eqs. 1.1-1.2, added as Hoffmann et al. 2022 add them); it is what the
    Chinchilla form becomes when the data cannot resolve E, and extrapolates to a loss that
    keeps falling. In log space: log L = LSE(a - alpha log N, b - beta log D).
    """

    name = "chinchilla_no_floor"
    formula = "L = A / N^alpha + B / D^beta"
    inputs = ("N", "D")
    params = (
        Param("a", "A", log_scale=True),
        Param("b", "B", log_scale=True),
        Param("alpha", "alpha", (0.0, 10.0)),
        Param("beta", "beta", (0.0, 10.0)),
    )
    scale_index = (0, 1)

    def log_terms(self, theta, log_x):
        a, b, alpha, beta = _columns(theta)
        return [a - alpha * log_x[..., 0], b - beta * log_x[..., 1]]

    def log_predict_and_jacobian(self, theta, log_x, jacobian=True):
        a, b, alpha, beta = _columns(theta)
        log_n, log_d = log_x[..., 0], log_x[..., 1]
        pred, softmax = _logsumexp([a - alpha * log_n, b - beta * log_d], weights=jacobian)
        if not jacobian:
            return pred, None
        w_n, w_d = softmax
        return pred, [w_n, w_d, -w_n * log_n, -w_d * log_d]

    def start_grid(self, log_x, log_y):
        # The scales are profiled out (variable projection): only the exponents need a grid.
        exponents = (0.05, 0.15, 0.3, 0.6, 1.2)
        return np.array([(0.0, 0.0, alpha, beta) for alpha, beta in itertools.product(exponents, exponents)])


class FarseerLite(Form):
    """L = E + A/N^alpha + B/D^(beta * N^gamma): a data exponent that changes with model size.

    Farseer (H. Li et al. 2025, "Farseer: A Refined Scaling Law in Large Language Models",
    arXiv:2506.10972)
    writes L(N, D) = exp(a3 N^g3 + b3) + exp(a2 N^g2 + b2) * D^(-exp(a1 N^g1 + b1)): floor,
    data coefficient and data exponent each a function of N, nine parameters. This is the
    simplest member of that family in which the data exponent moves with N, documented as such:
    the floor and the data coefficient are constants and the log of the data exponent is linear
    in log N (Farseer's exp(a1 N^g1 + b1) to first order in g1 log N), plus Chinchilla's size
    term. gamma = 0 is the Chinchilla form; gamma < 0 means larger models gain less per token.
    ``beta`` is the exponent at N = 1, so beta * N^gamma is the one to read at the data's sizes.
    In log space: log L = LSE(e, a - alpha log N, b - beta N^gamma log D).
    """

    name = "farseer_lite"
    formula = "L = E + A / N^alpha + B / D^(beta * N^gamma)"
    inputs = ("N", "D")
    params = (
        *_CHINCHILLA_SCALES_AND_ALPHA,
        Param("log_beta", "beta", (-30.0, 30.0), log_scale=True),
        Param("gamma", "gamma", (-0.5, 0.5)),
    )
    scale_index = (0, 1, 2)

    @staticmethod
    def _data_exponent(log_beta, gamma, log_n):
        """beta * N^gamma, the data exponent at each row's size, (S, n)."""
        return np.exp(np.clip(log_beta + gamma * log_n, -50.0, 5.0))

    def log_terms(self, theta, log_x):
        e, a, b, alpha, log_beta, gamma = _columns(theta)
        log_n, log_d = log_x[..., 0], log_x[..., 1]
        return [e, a - alpha * log_n, b - self._data_exponent(log_beta, gamma, log_n) * log_d]

    def log_predict_and_jacobian(self, theta, log_x, jacobian=True):
        e, a, b, alpha, log_beta, gamma = _columns(theta)
        log_n, log_d = log_x[..., 0], log_x[..., 1]
        exponent = self._data_exponent(log_beta, gamma, log_n)
        pred, softmax = _logsumexp([e, a - alpha * log_n, b - exponent * log_d], weights=jacobian)
        if not jacobian:
            return pred, None
        w_e, w_n, w_d = softmax
        d_log_beta = -w_d * exponent * log_d
        return pred, [w_e, w_n, w_d, -w_n * log_n, d_log_beta, d_log_beta * log_n]

    def start_grid(self, log_x, log_y):
        # Exponents only (the scales are profiled out): beta * N^gamma at the median size.
        log_n_median = float(np.median(log_x[..., 0]))
        starts = []
        for alpha, beta_at_median, gamma in itertools.product(
            (0.1, 0.3, 0.6, 1.2), (0.1, 0.3, 0.6, 1.2), (-0.1, -0.03, 0.0, 0.03, 0.1)
        ):
            starts.append((0.0, 0.0, 0.0, alpha, np.log(beta_at_median) - gamma * log_n_median, gamma))
        return np.array(starts)


class DataConstrained(Form):
    """Chinchilla's form with repeated data worth less (Muennighoff et al. 2023, eq. 5, data part):

    L = E + A/N^alpha + B/D'^beta,  D' = U + U R* (1 - exp(-R/R*)),  R = D/U - 1,

    with D the tokens (examples) seen, U the unique ones (the data set's size) and R the number
    of repetitions beyond the first epoch; R* is how many repetitions it takes for their value
    to decay by 1/e (the paper fits R*_D = 15.4). One epoch (D = U) gives D' = D: Chinchilla's
    form. D < U (less than one epoch) is read as D unique tokens seen once. The paper also
    decays excess parameters beyond the compute-optimal size for U (N'); that half needs an
    allocation rule inside the law and is left out: N' = N, exact for models no larger than
    optimal for their data. In log space: log L = LSE(e, a - alpha log N, b - beta log D').
    """

    name = "data_constrained"
    formula = "L = E + A / N^alpha + B / D'^beta, D' = U + U R* (1 - exp(-(D/U - 1)/R*))"
    inputs = ("N", "D", "U")
    params = (
        *_CHINCHILLA_SCALES_AND_ALPHA,
        Param("beta", "beta", (0.0, 10.0)),
        Param("log_rstar", "R_star", (np.log(0.1), np.log(1e4)), log_scale=True),
    )
    scale_index = (0, 1, 2)

    @staticmethod
    def _log_effective_data(log_rstar, log_x):
        """log D' and its derivative in log R*, each (S, n)."""
        log_d, log_u = log_x[..., 1], log_x[..., 2]
        log_unique = np.minimum(log_u, log_d)
        repetitions = np.expm1(log_d - log_unique)  # R >= 0
        rstar = np.exp(log_rstar)
        decayed = np.exp(-repetitions / rstar)
        gain = rstar * -np.expm1(-repetitions / rstar)  # R* (1 - exp(-R/R*)), in [0, R]
        d_gain = gain - repetitions * decayed  # d gain / d log R*
        return log_unique + np.log1p(gain), d_gain / (1.0 + gain)

    def log_terms(self, theta, log_x):
        e, a, b, alpha, beta, log_rstar = _columns(theta)
        log_effective, _ = self._log_effective_data(log_rstar, log_x)
        return [e, a - alpha * log_x[..., 0], b - beta * log_effective]

    def log_predict_and_jacobian(self, theta, log_x, jacobian=True):
        e, a, b, alpha, beta, log_rstar = _columns(theta)
        log_n = log_x[..., 0]
        log_effective, d_effective = self._log_effective_data(log_rstar, log_x)
        pred, softmax = _logsumexp([e, a - alpha * log_n, b - beta * log_effective], weights=jacobian)
        if not jacobian:
            return pred, None
        w_e, w_n, w_d = softmax
        return pred, [w_e, w_n, w_d, -w_n * log_n, -w_d * log_effective, -w_d * beta * d_effective]

    def start_grid(self, log_x, log_y):
        exponents = (0.1, 0.3, 0.6, 1.2)
        return np.array(
            [
                (0.0, 0.0, 0.0, alpha, beta, np.log(rstar))
                for alpha, beta, rstar in itertools.product(exponents, exponents, (1.0, 5.0, 15.0, 60.0))
            ]
        )


FORMS: dict[str, Form] = {
    form.name: form
    for form in (
        Power(),
        PurePowerLaw(),
        Chinchilla(),
        Kaplan(),
        BrokenPowerLaw(),
        ShiftedPower(),
        ChinchillaNoFloor(),
        FarseerLite(),
        DataConstrained(),
    )
}

# Candidates of form="auto": chosen by how well each extrapolates on the data. One input:
AUTO = "auto"
AUTO_CANDIDATES = ("power", "shifted_power", "bnsl")
# Two inputs (N, D); with a third (U, unique data) the data-constrained law joins them, and the
# two-input forms are fitted on N and D alone.
JOINT_AUTO_CANDIDATES = ("chinchilla", "kaplan", "chinchilla_no_floor", "farseer_lite")
REPEATED_DATA_AUTO_CANDIDATES = (*JOINT_AUTO_CANDIDATES, "data_constrained")


def get_form(name: str) -> Form:
    """Look up a form by name; an unknown name is a UserError listing the known ones.

    "auto" is not a form but a choice among ``AUTO_CANDIDATES`` (one input),
    ``JOINT_AUTO_CANDIDATES`` (N, D) or ``REPEATED_DATA_AUTO_CANDIDATES`` (N, D, U) made by
    ``ScalingLaw.fit``.
    """
    try:
        return FORMS[name]
    except KeyError:
        known = [*FORMS, AUTO]
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        # "form ..." first: a command line re-raises it under its own flag (--form).
        raise UserError(f"form {name!r}: unknown form{hint}; choose one of {', '.join(known)}") from None
