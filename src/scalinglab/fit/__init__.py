"""Interim fit of L = E + A * x^(-alpha) by bounded least squares.

The robust fitting engine (Huber loss, multi-start, bootstrap, more forms) replaces this module;
the estimator interface below is the one it keeps.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import curve_fit


def _power(x, E, A, alpha):
    return E + A * x ** (-alpha)


class ScalingLaw:
    def __init__(self, *, form: str = "power", n_bootstrap: int = 0, random_state: int = 0) -> None:
        self.form = form
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state
        self.ci_ = None

    def fit(self, frame, x: str, y: str) -> ScalingLaw:
        xs, ys = frame[x].to_numpy(float), frame[y].to_numpy(float)
        start = [0.5 * ys.min(), (ys.max() - 0.5 * ys.min()) * xs.min() ** 0.3, 0.3]
        params, _ = curve_fit(_power, xs, ys, p0=start, bounds=([0, 0, 0], [np.inf, np.inf, 3]), maxfev=20000)
        self.params_ = dict(zip(("E", "A", "alpha"), params))
        return self

    def predict(self, x) -> np.ndarray:
        return _power(np.asarray(x, float), *self.params_.values())
