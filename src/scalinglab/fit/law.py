"""ScalingLaw: the estimator users fit on a table (scikit-learn style)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from scalinglab.errors import UserError
from scalinglab.fit.bootstrap import percentile_interval, refit_replicates, resample_counts
from scalinglab.fit.data import as_column_list, log_design, log_inputs_of_array
from scalinglab.fit.fitter import DEFAULT_HUBER_DELTA, Problem, fit_multistart
from scalinglab.fit.forms import Form, get_form


class ScalingLaw:
    """A scaling law fitted by robust multi-start optimisation, with bootstrap uncertainty.

    The fit minimises the Huber loss of log residuals, summed over rows, from every point of
    the form's start grid at once, and polishes the best with L-BFGS-B (Hoffmann et al. 2022,
    appendix D.2). The bootstrap resamples rows ``n_bootstrap`` times and refits each replicate.

    Parameters
    ----------
    form : str or Form
        One of ``scalinglab.fit.FORMS``: "power", "powerlaw", "chinchilla", "kaplan", "bnsl".
    huber_delta : float
        Huber delta on log residuals (default 1e-3, the paper's value).
    n_bootstrap : int
        Bootstrap replicates; 0 disables the bootstrap (no ``ci_``, no intervals).
    random_state : int or None
        Seed of the bootstrap; the same seed gives identical results on refit.
    ci_level : float
        Coverage of the intervals in ``ci_`` and ``summary()``.
    start_grid : ndarray of shape (S, p), or mapping of internal name to values, optional
        Starting points in internal parameters (see ``form.internal_names``); a mapping gives
        the Cartesian product of its values. Default: the form's own grid.

    Attributes
    ----------
    params_ : dict of str to float
        Fitted (published) parameters, e.g. ``{"E": ..., "A": ..., "alpha": ...}``.
    ci_ : dict of str to (float, float), or None
        Bootstrap percentile interval of each parameter; None without bootstrap.
    objective_ : float
        Minimised objective (summed Huber loss).
    bootstrap_params_ : DataFrame or None
        One row of published parameters per bootstrap replicate.
    log_residuals_ : ndarray
        log(observed) - log(fitted) on the rows used for the fit.

    Examples
    --------
    >>> law = ScalingLaw("chinchilla", random_state=0).fit(df, x=["N", "D"], y="loss")
    >>> law.params_["alpha"], law.ci_["alpha"]
    """

    def __init__(
        self,
        form: str | Form = "power",
        *,
        huber_delta: float = DEFAULT_HUBER_DELTA,
        n_bootstrap: int = 1000,
        random_state: int | None = None,
        ci_level: float = 0.95,
        start_grid: np.ndarray | Mapping[str, Sequence[float]] | None = None,
    ):
        self.form = form
        self.huber_delta = huber_delta
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state
        self.ci_level = ci_level
        self.start_grid = start_grid

    def clone(self) -> ScalingLaw:
        """A new, unfitted ScalingLaw with the same options."""
        return ScalingLaw(
            self.form,
            huber_delta=self.huber_delta,
            n_bootstrap=self.n_bootstrap,
            random_state=self.random_state,
            ci_level=self.ci_level,
            start_grid=self.start_grid,
        )

    def fit(self, data: pd.DataFrame, x: str | Sequence[str], y: str) -> ScalingLaw:
        """Fit the law to the rows of ``data``.

        Parameters
        ----------
        data : DataFrame
            One row per measurement.
        x : str or list of str
            Input column(s), in the order the form takes them (``["N", "D"]`` for the joint forms).
        y : str
            Column to predict (a loss, or a cost such as seconds for "powerlaw").

        Returns
        -------
        self
        """
        form = self.form if isinstance(self.form, Form) else get_form(self.form)
        self._check_options()
        x_names = as_column_list(x)
        log_x, log_y = log_design(data, x_names, y, n_inputs=form.n_inputs, form_name=form.name)
        if len(log_y) < form.n_params:
            raise UserError(
                f"form {form.name!r} has {form.n_params} parameters but the table has only "
                f"{len(log_y)} rows"
            )
        problem = Problem(form, log_x, log_y, float(self.huber_delta))
        best = fit_multistart(problem, self._starts(form, log_x, log_y))

        self.form_, self.x_, self.y_ = form, x_names, y
        self.n_points_, self.n_starts_ = len(log_y), best.n_starts
        self.theta_, self.objective_ = best.theta, best.loss
        self.params_ = dict(zip(form.public_names, map(float, form.to_public(best.theta))))
        self.log_residuals_ = log_y - form.log_predict(best.theta[None, :], log_x)[0]

        bootstrap_seed, self._noise_seed = np.random.SeedSequence(self.random_state).spawn(2)
        self._bootstrap(problem, np.random.default_rng(bootstrap_seed))
        return self

    def _check_options(self) -> None:
        if not (np.isfinite(self.huber_delta) and self.huber_delta > 0):
            raise UserError(f"huber_delta must be > 0, got {self.huber_delta}")
        if int(self.n_bootstrap) != self.n_bootstrap or self.n_bootstrap < 0:
            raise UserError(f"n_bootstrap must be a whole number >= 0, got {self.n_bootstrap}")
        if not 0 < self.ci_level < 1:
            raise UserError(f"ci_level must lie strictly between 0 and 1, got {self.ci_level}")

    def _starts(self, form: Form, log_x: np.ndarray, log_y: np.ndarray) -> np.ndarray:
        if self.start_grid is None:
            return form.start_grid(log_x, log_y)
        if isinstance(self.start_grid, Mapping):
            unknown = set(self.start_grid) - set(form.internal_names)
            missing = set(form.internal_names) - set(self.start_grid)
            if unknown or missing:
                raise UserError(
                    f"start_grid of form {form.name!r} needs exactly the keys "
                    f"{form.internal_names}; unknown {sorted(unknown)}, missing {sorted(missing)}"
                )
            axes = [self.start_grid[name] for name in form.internal_names]
            return np.array(list(itertools.product(*axes)), dtype=float)
        starts = np.atleast_2d(np.asarray(self.start_grid, dtype=float))
        if starts.shape[1] != form.n_params:
            raise UserError(
                f"start_grid of form {form.name!r} needs {form.n_params} columns "
                f"({', '.join(form.internal_names)}), got {starts.shape[1]}"
            )
        return starts

    def _bootstrap(self, problem: Problem, rng: np.random.Generator) -> None:
        if self.n_bootstrap == 0:
            self.bootstrap_theta_ = self.bootstrap_params_ = self.ci_ = None
            return
        counts = resample_counts(rng, self.n_points_, int(self.n_bootstrap))
        self.bootstrap_theta_ = refit_replicates(problem, self.theta_, counts)
        public = self.form_.to_public(self.bootstrap_theta_)
        self.bootstrap_params_ = pd.DataFrame(public, columns=self.form_.public_names)
        low, high = percentile_interval(public, self.ci_level)
        self.ci_ = {
            name: (float(lo), float(hi))
            for name, lo, hi in zip(self.form_.public_names, low, high)
        }

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise UserError("this ScalingLaw is not fitted yet; call fit() first")

    def _log_inputs(self, data) -> np.ndarray:
        if isinstance(data, pd.DataFrame):
            return log_design(
                data, self.x_, None, n_inputs=self.form_.n_inputs, form_name=self.form_.name
            )[0]
        return log_inputs_of_array(data, self.form_.n_inputs)

    def predict(self, data) -> np.ndarray:
        """Predicted y for each row.

        Parameters
        ----------
        data : DataFrame with the fitted x columns, or array of shape (n,) / (n, d)
            Inputs, in the order of ``x`` given to ``fit``.

        Returns
        -------
        ndarray of shape (n,)
        """
        self._check_fitted()
        return np.exp(self.form_.log_predict(self.theta_[None, :], self._log_inputs(data))[0])

    def bootstrap_predict(self, data) -> np.ndarray:
        """Predicted y of every bootstrap replicate at each row, shape (n_bootstrap, n).

        Derived quantities that combine several predictions (a ratio of two sizes, say) take
        their interval from these joint draws, which keep the correlation separate intervals lose.
        """
        self._check_fitted()
        if self.bootstrap_theta_ is None:
            raise UserError("no bootstrap was run (n_bootstrap=0), so there is no interval")
        return np.exp(self.form_.log_predict(self.bootstrap_theta_, self._log_inputs(data)))

    def predict_interval(
        self, data, level: float = 0.95, *, kind: str = "mean"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap interval of the prediction at each row.

        Parameters
        ----------
        data : DataFrame or array
            Inputs, as for :meth:`predict`.
        level : float
            Coverage of the interval.
        kind : {"mean", "observation"}
            "mean": where the fitted law lies (confidence band of the curve). "observation":
            where a new measurement is expected, adding a residual of the fit drawn at random
            to each bootstrap prediction (the interval a backtest checks held-out points against).

        Returns
        -------
        low, high : ndarray of shape (n,)
        """
        self._check_fitted()
        if self.bootstrap_theta_ is None:
            raise UserError("no bootstrap was run (n_bootstrap=0), so there is no interval")
        if kind not in ("mean", "observation"):
            raise UserError(f"kind must be 'mean' or 'observation', got {kind!r}")
        log_pred = self.form_.log_predict(self.bootstrap_theta_, self._log_inputs(data))
        if kind == "observation":
            # A fresh generator from the fit's seed: the same call gives the same interval.
            rng = np.random.default_rng(self._noise_seed)
            log_pred = log_pred + rng.choice(self.log_residuals_, size=log_pred.shape)
        low, high = percentile_interval(log_pred, level)
        return np.exp(low), np.exp(high)

    def summary(self) -> pd.DataFrame:
        """One row per parameter: name, value, ci_low, ci_high (NaN without bootstrap)."""
        self._check_fitted()
        ci = self.ci_ or {}
        return pd.DataFrame(
            {
                "name": list(self.params_),
                "value": list(self.params_.values()),
                "ci_low": [ci.get(name, (np.nan, np.nan))[0] for name in self.params_],
                "ci_high": [ci.get(name, (np.nan, np.nan))[1] for name in self.params_],
            }
        )

    def __repr__(self) -> str:
        name = self.form.name if isinstance(self.form, Form) else self.form
        fitted = ", ".join(f"{k}={v:.4g}" for k, v in getattr(self, "params_", {}).items())
        return f"ScalingLaw({name!r}{': ' + fitted if fitted else ''})"
