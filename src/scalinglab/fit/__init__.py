"""Interim fit of L = E + A * x^(-alpha) (form "power") and y = A * x^k (form "powerlaw") by
bounded least squares, with a bootstrap for intervals.

The robust fitting engine (Huber loss, multi-start, more forms) replaces this module;
the estimator interface below is the one it keeps.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import curve_fit


def _power(x, E, A, alpha):
    return E + A * x ** (-alpha)


def _fit_power(xs: np.ndarray, ys: np.ndarray) -> dict[str, float]:
    start = [0.5 * ys.min(), (ys.max() - 0.5 * ys.min()) * xs.min() ** 0.3, 0.3]
    params, _ = curve_fit(_power, xs, ys, p0=start, bounds=([0, 0, 0], [np.inf, np.inf, 3]), maxfev=20000)
    return dict(zip(("E", "A", "alpha"), params))


def _fit_powerlaw(xs: np.ndarray, ys: np.ndarray) -> dict[str, float]:
    k, log_a = np.polyfit(np.log(xs), np.log(ys), 1)
    return {"A": float(np.exp(log_a)), "k": float(k)}


_FITTERS = {"power": _fit_power, "powerlaw": _fit_powerlaw}


def _evaluate(form: str, params: dict[str, float], x: np.ndarray) -> np.ndarray:
    if form == "powerlaw":
        return params["A"] * x ** params["k"]
    return _power(x, params["E"], params["A"], params["alpha"])


class ScalingLaw:
    def __init__(self, *, form: str = "power", n_bootstrap: int = 0, random_state: int = 0, huber_delta=None) -> None:
        self.form = form
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state
        self.huber_delta = huber_delta
        self.ci_ = None

    def fit(self, frame, x: str, y: str) -> ScalingLaw:
        xs, ys = frame[x].to_numpy(float), frame[y].to_numpy(float)
        fitter = _FITTERS[self.form]
        self.params_ = fitter(xs, ys)
        self._replicates = self._bootstrap(fitter, xs, ys)
        if self._replicates:
            self.ci_ = {
                name: tuple(np.quantile([r[name] for r in self._replicates], [0.025, 0.975]))
                for name in self.params_
            }
        return self

    def _bootstrap(self, fitter, xs, ys) -> list[dict[str, float]]:
        rng = np.random.default_rng(self.random_state)
        replicates = []
        for _ in range(self.n_bootstrap):
            rows = rng.integers(0, len(xs), len(xs))
            if len(np.unique(xs[rows])) < 3:
                continue
            try:
                replicates.append(fitter(xs[rows], ys[rows]))
            except (RuntimeError, ValueError):
                continue
        return replicates

    def predict(self, x) -> np.ndarray:
        return _evaluate(self.form, self.params_, np.asarray(x, float))

    def predict_interval(self, x, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x, float)
        curves = np.array([_evaluate(self.form, r, x) for r in self._replicates])
        tail = (1 - level) / 2
        return np.quantile(curves, tail, axis=0), np.quantile(curves, 1 - tail, axis=0)
