"""ScalingLaw: the estimator users fit on a table (scikit-learn style)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from scalinglab.errors import UserError
from scalinglab.fit.bootstrap import percentile_interval, refit_replicates
from scalinglab.fit.convergence import diagnose
from scalinglab.fit.fitter import DEFAULT_HUBER_DELTA, Problem, fit_multistart
from scalinglab.fit.forms import (
    AUTO,
    JOINT_AUTO_CANDIDATES,
    REPEATED_DATA_AUTO_CANDIDATES,
    Form,
    get_form,
)
from scalinglab.fit.intervals import (
    REACH_ALLOWANCE,
    backtest_masks,
    calibrate,
    excess_beyond,
    group_ids,
    noise_pool,
    ratio_shortfall,
    resample_group_counts,
)
from scalinglab.fit.select import choose_form, choose_joint_form
from scalinglab.fit.table import as_column_list, log_design, log_inputs_of_array

logger = logging.getLogger("scalinglab.fit.law")
MIN_BOOTSTRAP = 10  # fewest bootstrap replicates that give an interval (one gave a "95% CI" excluding the fit)
UNBOUNDED_SCALE_FACTOR = 1e6  # a scale's interval end this far from its value is not bounded by the runs
# Replicates whose internal parameters all lie within this (relative) of the fit's did not move:
# one of 40 stuck bootstraps of 2-seed sweeps spread 1.4e-9, still an interval of no width.
STUCK_SPREAD = 1e-6
# A prediction inside the fitted range reads the replicates that resampled groups around it
# (ScalingLaw._interpolating) when at least this share of them, and MIN_BOOTSTRAP, did.
MIN_INTERPOLATING_SHARE = 0.25


def check_random_state(random_state) -> None:
    """Raise UserError unless ``random_state`` is None or a whole number >= 0 (numpy's seeds)."""
    if random_state is not None and not (
        isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool) and random_state >= 0
    ):
        raise UserError(f"random_state must be a whole number >= 0 (a seed), got {random_state!r}")


INTERVAL_KINDS = ("prediction", "mean", "observation")


class ScalingLaw:
    """A scaling law fitted by robust multi-start optimisation, with bootstrap uncertainty.

    The fit minimises the Huber loss of log residuals, summed over rows, from every point of
    the form's start grid at once, and polishes the best with L-BFGS-B (Hoffmann et al. 2022,
    appendix D.2). The bootstrap resamples whole groups of rows (model sizes by default)
    ``n_bootstrap`` times and refits each replicate; backtests on the data calibrate how much
    wider a prediction must be the further it extrapolates (see ``scalinglab.fit.intervals``).

    Parameters
    ----------
    form : str or Form
        One of ``scalinglab.fit.FORMS`` ("power", "powerlaw", "chinchilla", "kaplan", "bnsl",
        "shifted_power", "chinchilla_no_floor", "farseer_lite", "data_constrained"), or "auto":
        the candidate that extrapolates best on the data itself (see ``scalinglab.fit.select``;
        x = [N, D] chooses among the joint forms, x = [N, D, U] adds "data_constrained");
        ``form_`` is the one chosen and ``x_`` the columns it takes.
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
    bootstrap_stuck_ : bool
        Every replicate refitted to the fit itself (within ``STUCK_SPREAD``) on rows it does not
        pass through: its intervals would have no width, so ``has_intervals`` is False.
    log_residuals_ : ndarray
        log(observed) - log(fitted) on the rows used for the fit.
    form_choice_ : FormChoice or None
        With form="auto": the chosen form and every candidate's extrapolation score.
    diagnostics_ : Diagnostics
        Convergence, starts at the best objective, parameter correlations, warnings.
    calibration_ : Calibration or None
        The backtests behind the extrapolation term of prediction intervals.

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

    def fit(self, data: pd.DataFrame, x: str | Sequence[str], y: str, *, groups=None) -> ScalingLaw:
        """Fit the law to the rows of ``data``.

        Parameters
        ----------
        data : DataFrame
            One row per measurement.
        x : str or list of str
            Input column(s), in the order the form takes them (``["N", "D"]`` for the joint forms).
        y : str
            Column to predict (a loss, or a cost such as seconds for "powerlaw").
        groups : str or array-like, optional
            Column name (or one label per row) of the groups the bootstrap resamples whole:
            the runs, seeds or checkpoints of one model. Default: the first x column (model size).

        Returns
        -------
        self

        Raises
        ------
        UserError
            Bad options or columns, too few rows, form="auto" with more than three x columns.
        """
        self._check_options()
        x_names = as_column_list(x)
        form, choice = self._resolve_form(data, x_names, y)
        x_names = x_names[: form.n_inputs] if choice is not None else x_names
        log_x, log_y = log_design(data, x_names, y, n_inputs=form.n_inputs, form_name=form.name)
        if len(log_y) < form.n_params:
            raise UserError(
                f"form {form.name!r} has {form.n_params} parameters but the table has only {len(log_y)} "
                f"row{'s' if len(log_y) != 1 else ''}"
            )
        group_of_row = self._group_ids(data, groups, x_names[0])
        problem = Problem(form, log_x, log_y, float(self.huber_delta))
        best = fit_multistart(problem, self._starts(form, log_x, log_y))

        self.form_, self.x_, self.y_, self.form_choice_ = form, x_names, y, choice
        self.n_points_, self.n_starts_ = len(log_y), best.n_starts
        self.theta_, self.objective_ = best.theta, best.loss
        self.params_ = dict(zip(form.public_names, map(float, form.to_public(best.theta))))
        self.log_residuals_ = log_y - form.log_predict(best.theta[None, :], log_x)[0]
        self.diagnostics_ = diagnose(problem, best, x_names[: form.n_inputs])
        # Debug, not info: callers show `warnings_` themselves (the fit CLI, the report's warning
        # list), and a CLI logging at info would otherwise repeat them above its own output.
        for warning in self.diagnostics_.warnings:
            logger.debug("%s fit of %s: %s", form.name, y, warning)
        self.log_x_low_, self.log_x_high_ = log_x.min(axis=0), log_x.max(axis=0)
        self.fitted_log_x_ = log_x
        self.n_groups_ = int(group_of_row.max()) + 1

        bootstrap_seed, self._noise_seed = np.random.SeedSequence(self.random_state).spawn(2)
        self.noise_log_, self.noise_source_ = noise_pool(log_x, log_y, self.log_residuals_)
        self.bootstrap_stuck_ = False
        if self.n_bootstrap == 0:
            self.bootstrap_theta_ = self.bootstrap_params_ = self.ci_ = self.calibration_ = None
            return self
        counts = self._resample(group_of_row, np.random.default_rng(bootstrap_seed))
        masks, factors = backtest_masks(form, log_x)
        # Bootstrap replicates and backtests are the same kind of refit (weights on the rows,
        # from the full-data optimum): one batch, so a replicate and a backtest that both
        # crawl along a flat valley cost one crawl, not two.
        thetas = refit_replicates(problem, self.theta_, np.vstack([counts, masks]))
        self._store_bootstrap(thetas[: len(counts)])
        self.bootstrap_log_x_low_, self.bootstrap_log_x_high_ = _resampled_spans(log_x, counts > 0)
        self._store_calibration(problem, thetas[len(counts) :], masks, factors)
        return self

    def _resolve_form(self, data, x_names, y):
        """The form to fit, and the FormChoice when it was chosen by form="auto"."""
        if isinstance(self.form, Form):
            return self.form, None
        if self.form != AUTO:
            return get_form(self.form), None
        if len(x_names) > 3:
            raise UserError(
                f"form 'auto' takes x, or N,D, or N,D,U (unique data); got {len(x_names)} "
                f"x columns ({', '.join(x_names)})"
            )
        log_x, log_y = log_design(data, x_names, y, n_inputs=len(x_names), form_name=AUTO)
        if len(x_names) == 1:
            choice = choose_form(log_x, log_y, float(self.huber_delta))
        else:
            candidates = JOINT_AUTO_CANDIDATES if len(x_names) == 2 else REPEATED_DATA_AUTO_CANDIDATES
            choice = choose_joint_form(log_x, log_y, float(self.huber_delta), candidates)
        return get_form(choice.name), choice

    @staticmethod
    def _group_ids(data: pd.DataFrame, groups, size_column: str) -> np.ndarray:
        if groups is None:
            labels = data[size_column].to_numpy()
        elif isinstance(groups, str):
            if groups not in data.columns:
                raise UserError(
                    f"groups column {groups!r} not found; the table has {', '.join(map(repr, map(str, data.columns)))}"
                )
            labels = data[groups].astype(str).to_numpy()
        else:
            labels = np.asarray(groups).astype(str)
            if labels.shape != (len(data),):
                raise UserError(f"groups must give one label per row ({len(data)}), got shape {labels.shape}")
        return group_ids(labels)

    def _check_options(self) -> None:
        if not (np.isfinite(self.huber_delta) and self.huber_delta > 0):
            raise UserError(f"huber_delta must be a finite number > 0, got {self.huber_delta}")
        if int(self.n_bootstrap) != self.n_bootstrap or not (
            self.n_bootstrap == 0 or self.n_bootstrap >= MIN_BOOTSTRAP
        ):
            raise UserError(
                f"n_bootstrap must be 0 (no intervals) or a whole number >= {MIN_BOOTSTRAP} (fewer replicates "
                f"cannot place an interval's ends), got {self.n_bootstrap}"
            )
        if not 0 < self.ci_level < 1:
            raise UserError(f"ci_level must lie strictly between 0 and 1, got {self.ci_level}")
        check_random_state(self.random_state)

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

    def _resample(self, group_of_row: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Row weights of the cluster bootstrap's replicates, shape (n_bootstrap, n)."""
        if not self.groups_bound_parameters:
            self.diagnostics_.warnings.append(
                f"only {self.n_groups_} group{'s' if self.n_groups_ != 1 else ''} to resample for {self.form_.n_params} parameters: "
                "the bootstrap can barely vary, so no interval is quoted from it (it would understate the "
                "uncertainty); rows of more groups would give one: more sizes, or, where the rows of one size are "
                "independent runs (an N x D grid), a finer grouping (scalinglab fit --groups COLUMN, "
                "ScalingLaw.fit(groups=...))"
            )
        return resample_group_counts(rng, group_of_row, int(self.n_bootstrap), min_distinct=self.form_.n_params)

    @property
    def groups_bound_parameters(self) -> bool:
        """Whether there are more groups to resample than parameters: with fewer, every bootstrap
        replicate lands near the fit and its intervals claim a precision the data do not have."""
        return self.n_groups_ > self.form_.n_params

    @property
    def has_intervals(self) -> bool:
        """Whether its bootstrap intervals may be quoted: the bootstrap ran, over more groups than
        parameters (``groups_bound_parameters``). Parameter intervals (``ci_bounded``), a figure's
        band, a backtest's coverage and an allocation's intervals all ask this."""
        return self.bootstrap_theta_ is not None and self.groups_bound_parameters and not self.bootstrap_stuck_

    def no_interval_reason(self) -> str:
        """Why `has_intervals` is False, in words with what would give an interval ('' when it is True)."""
        if self.has_intervals:
            return ""
        if self.bootstrap_theta_ is None:
            return "no bootstrap was run"
        if not self.groups_bound_parameters:
            return (
                f"{self.n_groups_} groups to resample for the {self.form_.n_params} parameters of the "
                f"{self.form_.name} law; more sizes would measure it"
            )
        return (
            "every bootstrap replicate refitted to the same curve, as any curve between each size's seeds fits "
            "them as well; a third seed of each size would measure it"
        )

    def _store_bootstrap(self, thetas: np.ndarray) -> None:
        self.bootstrap_theta_ = thetas
        # Every replicate refitted to the fit itself, on points it does not pass through. Seen with
        # two seeds per size and the default near-L1 loss: any curve passing between each size's
        # seeds fits equally well, and the fit's gradient cancels within every resampled pair, so
        # no replicate moves. Its intervals ("E 0.10443 (0.10443 to 0.10443)") have no width,
        # which is no precision but no measure of it either.
        finite = thetas[np.isfinite(thetas).all(axis=1)]
        spread = np.ptp(finite, axis=0) if len(finite) else np.zeros(thetas.shape[1])
        exact = float(np.max(np.abs(self.log_residuals_))) < 1e-6
        # (Over no more groups than parameters every replicate lands near the fit anyway: that
        # is `groups_bound_parameters`' word to say, not this one.)
        self.bootstrap_stuck_ = bool(
            self.groups_bound_parameters
            and len(finite) > 1
            and not exact
            and (spread <= STUCK_SPREAD * np.maximum(1.0, np.abs(self.theta_))).all()
        )
        if self.bootstrap_stuck_:
            self.diagnostics_.warnings.append(
                f"every bootstrap replicate refitted to the fit itself: with a loss this close to L1 (huber delta "
                f"{self.huber_delta:g}), any curve passing between the rows of each group fits them as well, so "
                "resampling the groups does not move it and cannot show how uncertain it is; no interval is quoted. "
                "A third seed of each size, a larger huber delta (closer to least squares: scalinglab fit "
                "--huber-delta 0.3), or one row per group (the seeds' mean) would measure it"
            )
        public = self.form_.to_public(thetas)
        self.bootstrap_params_ = pd.DataFrame(public, columns=self.form_.public_names)
        low, high = percentile_interval(public, self.ci_level)
        self.ci_ = {name: (float(lo), float(hi)) for name, lo, hi in zip(self.form_.public_names, low, high)}

    def _store_calibration(self, problem: Problem, thetas: np.ndarray, masks: np.ndarray, factors) -> None:
        """The extrapolation backtests behind prediction intervals, from their refits."""
        self.calibration_ = calibrate(
            thetas, masks, factors, self.form_, problem.log_x, problem.log_y, self.noise_log_, self.ci_level
        )
        if self.calibration_.held_out.empty:
            self.diagnostics_.warnings.append(
                f"too few distinct sizes to backtest a {self.form_.name} law (it needs "
                f"{self.form_.n_params + 1} at or below half the largest): prediction intervals "
                "beyond the data hold the bootstrap and noise but no extrapolation term"
            )

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise UserError("this ScalingLaw is not fitted yet; call fit() first")

    def _log_inputs(self, data) -> np.ndarray:
        if isinstance(data, pd.DataFrame):
            return log_design(data, self.x_, None, n_inputs=self.form_.n_inputs, form_name=self.form_.name)[0]
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

    def bootstrap_predict(self, data, *, interpolating: bool = False) -> np.ndarray:
        """Predicted y of every bootstrap replicate at each row, shape (n_bootstrap, n).

        Derived quantities that combine several predictions (a ratio of two sizes, say) take
        their interval from these joint draws, which keep the correlation separate intervals lose.
        ``interpolating``: NaN where a replicate extrapolates to a row inside the fitted range,
        as :meth:`predict_interval` reads them (a caller combining rows drops such replicates).
        """
        self._check_fitted()
        if self.bootstrap_theta_ is None:
            raise UserError("no bootstrap was run (n_bootstrap=0), so there is no interval")
        log_inputs = self._log_inputs(data)
        log_pred = self.form_.log_predict(self.bootstrap_theta_, log_inputs)
        return np.exp(self._interpolating(log_pred, log_inputs) if interpolating else log_pred)

    def predict_interval(self, data, level: float = 0.95, *, kind: str = "prediction") -> tuple[np.ndarray, np.ndarray]:
        """Interval of the prediction at each row.

        Parameters
        ----------
        data : DataFrame or array
            Inputs, as for :meth:`predict`.
        level : float
            Coverage of the interval.
        kind : {"prediction", "mean", "observation"}
            "prediction" (default): where a new measurement is expected — the cluster-bootstrap
            spread of the law, plus observation noise, widened beyond the fitted range by the
            extrapolation error calibrated on the data (``scalinglab.fit.intervals``). "mean":
            where the fitted law lies (the confidence band of the curve, bootstrap only).
            "observation": the old name of "prediction", kept for existing callers.

        Returns
        -------
        low, high : ndarray of shape (n,)

        Raises
        ------
        UserError
            Not fitted, no bootstrap (n_bootstrap=0), or an unknown kind.
        """
        self._check_fitted()
        if self.bootstrap_theta_ is None:
            raise UserError("no bootstrap was run (n_bootstrap=0), so there is no interval")
        if kind not in INTERVAL_KINDS:
            raise UserError(f"kind must be one of {', '.join(INTERVAL_KINDS)}; got {kind!r}")
        log_inputs = self._log_inputs(data)
        log_pred = self.form_.log_predict(self.bootstrap_theta_, log_inputs)
        if kind != "mean":
            # A fresh generator from the fit's seed: the same call gives the same interval.
            rng = np.random.default_rng(self._noise_seed)
            log_pred = log_pred + rng.choice(self.noise_log_, size=log_pred.shape)
        low, high = percentile_interval(self._interpolating(log_pred, log_inputs), level, skip_nan=True)
        if kind == "mean":
            return np.exp(low), np.exp(high)
        widening = self._widening(log_inputs, level)
        # Far beyond the data the widening's d^2 growth overflows exp: an unbounded interval, which
        # `within_reach` keeps from being quoted; no numpy warning for the caller to print.
        with np.errstate(over="ignore"):
            return np.exp(low - widening), np.exp(high + widening)

    def _interpolating(self, log_pred: np.ndarray, log_inputs: np.ndarray) -> np.ndarray:
        """The replicates' predictions (B, n), NaN where a replicate extrapolates to a row the
        fit interpolates: a row inside the fitted range of an input, outside the range of the
        groups that replicate resampled. The cluster bootstrap then measures the law where the
        fit measured it: a replicate that lost the smallest size predicts that size from the
        others, and on data with no clear trend such replicates put a trained size's interval
        at "1.47 to 7.1e4" for losses of 1 to 5. A row keeps every replicate where fewer than
        ``MIN_INTERPOLATING_SHARE`` of them interpolate it (a bootstrap over very few groups)."""
        log_inputs = np.atleast_2d(log_inputs)
        inside = (log_inputs >= self.log_x_low_) & (log_inputs <= self.log_x_high_)  # (n, inputs)
        low, high = self.bootstrap_log_x_low_[:, None, :], self.bootstrap_log_x_high_[:, None, :]
        covered = (log_inputs[None] >= low) & (log_inputs[None] <= high)  # (B, n, inputs)
        interpolates = (covered | ~inside[None]).all(axis=2)  # (B, n)
        share, count = interpolates.mean(axis=0), interpolates.sum(axis=0)
        enough = (share >= MIN_INTERPOLATING_SHARE) & (count >= MIN_BOOTSTRAP)
        return np.where(interpolates | ~enough[None, :], log_pred, np.nan)

    def exponent_at(self, x: float) -> tuple[float, tuple[float, float] | None]:
        """Local decay exponent of the part above the floor at ``x``: -d log(y - E) / d log x.

        The same number for every one-input form: alpha of "power" everywhere, alpha x / (x + x0)
        of "shifted_power", between c0 and c0 + c1 for "bnsl", -k of "powerlaw" (no floor). Use
        it where a sentence needs "the exponent" whatever form="auto" chose.

        Returns
        -------
        value : float
        interval : (low, high) at ``ci_level`` from the bootstrap replicates, or None without one

        Raises
        ------
        UserError
            Not fitted, or a form with more than one input.
        """
        self._check_fitted()
        if self.form_.n_inputs != 1:
            raise UserError(f"exponent_at needs a one-input form; {self.form_.name!r} takes {self.form_.n_inputs}")
        value = float(self._local_exponents(self.theta_[None, :], x)[0])
        if self.bootstrap_theta_ is None:
            return value, None
        low, high = percentile_interval(self._local_exponents(self.bootstrap_theta_, x), self.ci_level)
        return value, (float(low), float(high))

    def _local_exponents(self, theta: np.ndarray, x: float) -> np.ndarray:
        step = 1e-4
        log_x = np.log(float(x)) + np.array([[-step], [step]])
        names = self.form_.public_names
        floor = self.form_.to_public(theta)[:, names.index("E")][:, None] if "E" in names else 0.0
        # A replicate whose floor meets its curve has no excess to take the log of: nan, quietly.
        with np.errstate(divide="ignore", invalid="ignore"):
            log_excess = np.log(np.exp(self.form_.log_predict(theta, log_x)) - floor)
            return -(log_excess[:, 1] - log_excess[:, 0]) / (2 * step)

    def _widening(self, log_inputs: np.ndarray, level: float) -> np.ndarray:
        """The extrapolation term of each target's log interval (0 inside the data)."""
        if getattr(self, "calibration_", None) is None:
            return np.zeros(len(log_inputs))
        return self.calibration_.widening(
            excess_beyond(log_inputs, self.fitted_log_x_), level, ratio_shortfall(log_inputs, self.fitted_log_x_)
        )

    def extrapolation_rate(self, level: float = 0.95) -> float:
        """Widening of log prediction intervals per squared unit of log distance beyond the data
        (``intervals.GROWTH``), along the input where it is largest (0 if the data allowed no
        backtest); per input: :meth:`extrapolation_rates`."""
        self._check_fitted()
        if getattr(self, "calibration_", None) is None:
            return 0.0
        return self.calibration_.rate(level)

    def within_reach(self, data) -> np.ndarray:
        """Whether :meth:`predict_interval`'s prediction interval at each row is quoted: False
        where the row lies farther beyond the data than the backtests measured the law's error,
        times ``intervals.REACH_ALLOWANCE`` (see ``Calibration.within_reach``). The interval is
        still computed there; a caller that shows it to a person says instead how far the row is.
        """
        self._check_fitted()
        log_inputs = self._log_inputs(data)
        if getattr(self, "calibration_", None) is None:  # no bootstrap: no interval to quote anywhere
            return np.zeros(len(log_inputs), dtype=bool)
        return self.calibration_.within_reach(
            excess_beyond(log_inputs, self.fitted_log_x_), ratio_shortfall(log_inputs, self.fitted_log_x_)
        )

    def reach_factors(self) -> dict[str, float]:
        """How far beyond the data (as a factor) :meth:`within_reach` quotes intervals along each
        x column, and, for a joint law, below the fewest data per size ("<y> per <x>"); {} without
        backtests."""
        self._check_fitted()
        calibration = getattr(self, "calibration_", None)
        if calibration is None or calibration.held_out.empty:
            return {}
        factors = dict(zip(self.x_, np.exp(REACH_ALLOWANCE * calibration.reach()).tolist()))
        if len(self.x_) > 1:
            factors[f"{self.x_[1]} per {self.x_[0]}"] = float(np.exp(REACH_ALLOWANCE * calibration.ratio_reach()))
        return factors

    def extrapolation_rates(self, level: float = 0.95) -> dict[str, float]:
        """Widening of log prediction intervals per squared unit of log distance beyond the data
        along each input, by x column (all 0 if the data allowed no backtest)."""
        self._check_fitted()
        if getattr(self, "calibration_", None) is None:
            return dict.fromkeys(self.x_, 0.0)
        return dict(zip(self.x_, map(float, self.calibration_.rates(level))))

    @property
    def warnings_(self) -> list[str]:
        """Plain sentences about what may be wrong with this fit (empty when nothing is)."""
        self._check_fitted()
        return list(self.diagnostics_.warnings)

    def diagnostics(self) -> dict:
        """Everything the fit reports about itself, JSON-ready (for ``--json`` and the report).

        Keys: those of :meth:`Diagnostics.as_dict`, plus ``form``, ``form_scores`` (form="auto":
        each candidate's extrapolation score, else None), ``form_scores_by_direction`` (joint
        form="auto": each candidate's RMS log error per direction held out, else None), ``form_tie`` (form="auto": why the form
        with fewer parameters won a tie, else None), ``n_groups``, ``noise_source``,
        ``extrapolation_rate`` (at ``ci_level``; the largest), ``extrapolation_rates`` (per x column),
        ``extrapolation_rate_data_per_parameter`` (c_R: per squared unit of log distance below the fewest
        data per parameter D / N trained; 0 for one input) and ``n_calibration_points``.
        """
        self._check_fitted()
        result = self.diagnostics_.as_dict()
        scores = (
            None
            if self.form_choice_ is None
            else {name: (value if np.isfinite(value) else None) for name, value in self.form_choice_.scores.items()}
        )
        calibration = getattr(self, "calibration_", None)
        result.update(
            form=self.form_.name,
            form_scores=scores,
            form_scores_by_direction=None
            if self.form_choice_ is None or self.form_choice_.by_direction is None
            else {
                name: {direction: (value if np.isfinite(value) else None) for direction, value in errors.items()}
                for name, errors in self.form_choice_.by_direction.items()
            },
            form_tie=(self.form_choice_.tie_note() or None) if self.form_choice_ is not None else None,
            n_groups=self.n_groups_,
            noise_source=self.noise_source_,
            extrapolation_rate=self.extrapolation_rate(self.ci_level),
            extrapolation_rates=self.extrapolation_rates(self.ci_level),
            extrapolation_rate_data_per_parameter=0.0 if calibration is None else calibration.ratio_rate(self.ci_level),
            n_calibration_points=0 if calibration is None else len(calibration.held_out),
        )
        return result

    def ci_bounded(self) -> dict[str, tuple[bool, bool]]:
        """Whether these runs bound each parameter's interval below and above ({} without bootstrap).

        A scale (A in A / N^alpha) is its term's value at an input of 1, usually decades outside the
        data, and replicates trade it against the term's exponent; an end more than
        ``UNBOUNDED_SCALE_FACTOR`` times from the value ("B = 8.57 (2.88 to 1.03e+20)") comes from
        replicates that found another term altogether, so the runs do not bound it. Any other
        parameter's end (or a scale's with bounds of its own, R_star's 1e4) is not bounded where it
        reaches the fit's own bound (alpha's 10): that
        bound, not the data, stopped it. A bound of 0 is not such a bound: an exponent of 0 (no
        effect) is a value the data can show. Neither end of a parameter that changes no prediction
        (`Diagnostics.no_effect`: a dropped term's scale and exponent) is bounded, nor is any
        end of a bootstrap over no more groups than parameters (``has_intervals``).
        """
        self._check_fitted()
        bounded = {}
        for param in self.form_.params:
            if self.ci_ is None or param.public not in self.ci_:
                continue
            if param.public in self.diagnostics_.no_effect or not self.has_intervals:
                bounded[param.public] = (False, False)
                continue
            value, (low, high) = self.params_[param.public], self.ci_[param.public]
            lower, upper = param.bounds
            if param.log_scale:  # bounds on the log (R_star's 0.1 to 1e4), ends 1% (in log) short of them
                factor = UNBOUNDED_SCALE_FACTOR
                bounded[param.public] = (
                    low * factor >= value and not (np.isfinite(lower) and np.log(low) <= lower + 0.01),
                    high <= value * factor and not (np.isfinite(upper) and np.log(high) >= upper - 0.01),
                )
                continue
            bounded[param.public] = (
                not (np.isfinite(lower) and lower != 0 and low <= lower + 0.01 * abs(lower)),
                not (np.isfinite(upper) and upper != 0 and high >= upper - 0.01 * abs(upper)),
            )
        return bounded

    def summary(self) -> pd.DataFrame:
        """One row per parameter: name, value, ci_low, ci_high (NaN without an interval to quote:
        no bootstrap, or ``has_intervals`` false), on_bound, ci_bounded (False where the runs do
        not bound an end of the interval: see `ci_bounded`).

        ``summary().attrs["diagnostics"]`` holds :meth:`diagnostics` (convergence, starts at the
        best objective, correlations, warnings).
        """
        self._check_fitted()
        # An interval of no width (a stuck bootstrap, or one over too few groups) is not printed as one.
        ci, bounded = (self.ci_ or {}) if self.has_intervals else {}, self.ci_bounded()
        table = pd.DataFrame(
            {
                "name": list(self.params_),
                "value": list(self.params_.values()),
                "ci_low": [ci.get(name, (np.nan, np.nan))[0] for name in self.params_],
                "ci_high": [ci.get(name, (np.nan, np.nan))[1] for name in self.params_],
                "on_bound": [name in self.diagnostics_.on_bound for name in self.params_],
                "ci_bounded": [all(bounded.get(name, (True, True))) for name in self.params_],
            }
        )
        table.attrs["diagnostics"] = self.diagnostics()
        return table

    def __repr__(self) -> str:
        name = self.form.name if isinstance(self.form, Form) else self.form
        fitted = ", ".join(f"{k}={v:.4g}" for k, v in getattr(self, "params_", {}).items())
        return f"ScalingLaw({name!r}{': ' + fitted if fitted else ''})"


def _resampled_spans(log_x: np.ndarray, resampled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest log input of the rows each replicate resampled, each (B, inputs)."""
    spread = np.where(resampled[:, :, None], log_x[None], np.nan)
    return np.nanmin(spread, axis=1), np.nanmax(spread, axis=1)
