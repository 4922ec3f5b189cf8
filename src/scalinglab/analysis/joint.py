"""The joint law of size and data on a sweep, and the questions only it answers.

With at least three data sizes (or two, with training curves that see three or more amounts of
data) and four model sizes, a joint law L(N, D) (D in training examples,
bytes for a language model) is fitted to one row per configuration (model size x data size, the
mean over its seeds), so the bootstrap resamples whole configurations, never single seeds of one
configuration. The form is chosen by ``form="auto"`` (``scalinglab.fit.select.choose_joint_form``:
Chinchilla's E + A / N^alpha + B / D^beta, Kaplan's, the floor-free sum of powers, and a data
exponent that moves with N, scored on configurations held out by size, data and compute); a
sweep too small to hold any out gets Chinchilla's form. From it:

- the compute-optimal N*(C) and D*(C) with intervals, over the sweep's FLOP range and 10x and
  100x beyond it (C = k N D, with k the sweep's own FLOPs per parameter and example);
- the data-limited size: the size beyond which 10x more parameters buy less than 1% at the
  data available;
- IsoFLOP (approach 2) whenever the sweep's runs form compute groups, and where it and the joint
  law disagree beyond their intervals.

Curves as evidence. A language-model sweep whose data axis is tokens seen (``train_tokens_seen``)
records the validation loss at every evaluation with the tokens seen by then, so each evaluation
is a point (N, tokens seen, loss). The joint law is then fitted to every evaluation of every
configuration after the burn-in (each run's first ``BURN_IN`` share of tokens dropped, the
default of ``scalinglab fit --burn-in``; seed means at each evaluation), the bootstrap resampling
whole configurations, so a run's points count as one piece of evidence (Choshen, Zhang & Andreas
2025, "A Hitchhiker's Guide to Scaling Law Estimation": intermediate checkpoints after a burn-in
improve the estimate). The final points alone are fitted too, and ``CurveEvidence`` says how
much the curves narrowed the intervals. A multi-epoch classification sweep keeps its final
points: its epoch e repeats the same D examples e times, a point of the data-constrained law
(N, e D seen, D unique), not of L(N, D) at D = e D, and its intermediate epochs sit mid-schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.analysis.groups import MIN_SIZES_TO_FIT, fitted_as_complement, metric_of
from scalinglab.errors import UserError
from scalinglab.fit import ScalingLaw, compute_optimal, isoflop_analysis
from scalinglab.fit.isoflop import group_by_compute
from scalinglab.fit.table import BURN_IN, after_burn_in
from scalinglab.metrics import lower_is_better

JOINT_FORM = "auto"
# The parameters of the size term of each joint form (A / N^alpha; Kaplan's (Nc / N)^alpha_N).
SIZE_TERM = {"A": "alpha", "Nc": "alpha_N"}
DATA_TERM = {"B": "beta", "Dc": "alpha_D"}
# The data term B / D^beta has a scale and an exponent: two data sizes fit any beta with a B of
# its own (one step between them to match), and the bootstrap cannot see it (seen: beta = 9.03,
# "8.99 to 9.76", and D* = 771 examples at 100x the compute). A third size pins the exponent.
MIN_DATA_SIZES = 3
# Configurations a joint law needs: more than the parameters of Chinchilla's form (E, A, alpha, B,
# beta), the form every other joint form is measured against. A planned sweep's early rounds have
# 3 sizes x 3 data sizes of the grid but 4 configurations ("form 'chinchilla' has 5 parameters but
# the table has only 4 rows" ended its report).
MIN_CONFIGURATIONS = 6
DATA_LIMIT_GAIN = 0.01  # "gains less than 1%" from 10x more parameters
BEYOND_SWEEP = (10.0, 100.0)  # compute-optimal answers this far past the largest trained budget
LEVEL = 0.95
ISOFLOP_TOLERANCE_DECADES = 0.05  # runs whose training FLOPs lie this close (log10) form one compute group
CURVE_DATA = {"train_tokens_seen": "tokens_seen"}  # data axis of the sweep -> its column in the curves
BEYOND_FOR_WIDTH = 4.0  # the widths compared: at the trained configurations and this factor beyond in N and D


@dataclass
class CurveEvidence:
    """The joint law was fitted to training curves: how many points, and what they bought.

    ``width_ratio``: the median, over the trained configurations' final points and the points
    ``BEYOND_FOR_WIDTH`` past the largest size and past the largest data of each size, of the
    width of the 95% prediction interval from the curves over that from the final points alone
    (below 1: the curves narrowed it); ``mean_width_ratio``: the same for the interval of the
    fitted surface (``kind="mean"``: the bootstrap alone, without noise and extrapolation term).
    Both None without bootstrap. ``final_points_law``: the law fitted to the final points.
    """

    n_points: int
    n_configs: int
    burn_in: float
    width_ratio: float | None
    mean_width_ratio: float | None
    final_points_law: ScalingLaw


@dataclass
class DataLimit:
    """Beyond `n_params` parameters, 10x more parameters improve the fitted quantity by less than
    `gain` (relative) when trained on `data_size` examples."""

    data_size: float
    gain: float
    n_params: float
    interval: tuple[float, float] | None


@dataclass
class JointLaw:
    """L(N, D) fitted on configuration means (or on their curves: ``curves``), and its
    compute-optimal and data-limited answers."""

    metric: str
    x: str
    data: str
    law: ScalingLaw
    complement: bool
    n_configs: int
    n_range: tuple[float, float]
    d_range: tuple[float, float]
    flops_per_param_example: float | None
    optimal: pd.DataFrame | None = None
    data_limit: DataLimit | None = None
    unit: str = "examples"  # what the data axis counts (data_unit)
    curves: CurveEvidence | None = None

    def predict(self, n, d) -> np.ndarray:
        """The metric at parameters `n` and data size `d` (broadcast together)."""
        n, d = np.broadcast_arrays(np.asarray(n, float), np.asarray(d, float))
        return metric_of(self.law.predict(np.column_stack([n.ravel(), d.ravel()])).reshape(n.shape), self.complement)

    def predict_interval(
        self, n, d, level: float = LEVEL, *, kind: str = "prediction"
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Bounds of the metric at (n, d); None without bootstrap.

        `kind` as `ScalingLaw.predict_interval`: "prediction" (where a new configuration's metric
        is expected: the configuration bootstrap, noise, and the calibrated widening beyond the
        trained range) or "mean" (where the fitted surface lies: the bootstrap alone).
        """
        if self.law.bootstrap_theta_ is None:
            return None
        n, d = np.broadcast_arrays(np.atleast_1d(np.asarray(n, float)), np.atleast_1d(np.asarray(d, float)))
        low, high = self.law.predict_interval(np.column_stack([n.ravel(), d.ravel()]), level, kind=kind)
        return (metric_of(high, True), metric_of(low, True)) if self.complement else (low, high)

    def extrapolation_factor(self, n: float, d: float) -> float:
        """How far (n, d) lies outside the trained ranges, as the larger of the two ratios (1.0 inside)."""
        return float(max(1.0, n / self.n_range[1], self.n_range[0] / n, d / self.d_range[1], self.d_range[0] / d))

    def size_term_problem(self) -> str:
        """Why the size term (A / N^alpha, Kaplan's (Nc / N)^alpha_N) is not resolved by these
        runs ('' when it is); see `_term_problem`. Its exponent, N* and data-limited size then mean nothing."""
        return self._term_problem(*self.size_term_params)

    def data_term_problem(self) -> str:
        """Why the data term (B / D^beta, Kaplan's Dc / D) is not resolved by these runs ('' when
        it is); see `_term_problem`. The compute-optimal split of size and data then means nothing."""
        return self._term_problem(*self.data_term_params)

    def _term_problem(self, scale: str, exponent: str) -> str:
        """'' when the term's scale and exponent are resolved; else why not: one of them on the
        fit's bound, or the exponent's 95% interval not finite, not above 0, or reaching its bound
        (the bootstrap could not tell a steep term from none)."""
        params = self.law.params_
        ci = (self.law.ci_ or {}).get(exponent)
        if scale in self.law.diagnostics_.no_effect:
            return f"the fit dropped the term ({scale} ~ 0), so {exponent} is not determined by these runs"
        on_bound = [name for name in (scale, exponent) if name in self.law.diagnostics_.on_bound]
        if on_bound:
            values = " and ".join(f"{name} = {params[name]:.3g}" for name in on_bound)
            return f"{values} sit{'s' if len(on_bound) == 1 else ''} on the fit's bound"
        if ci is None:
            return ""
        low_bounded, high_bounded = self.law.ci_bounded()[exponent]
        if not (np.all(np.isfinite(ci)) and ci[0] > 0 and low_bounded):  # Kaplan's exponents stop at 1e-3, not 0
            return f"{exponent}'s 95% interval ({ci[0]:.3g} to {ci[1]:.3g}) does not exclude 0"
        if not high_bounded:
            return (
                f"{exponent}'s 95% interval ({ci[0]:.3g} to {ci[1]:.3g}) reaches the fit's bound "
                f"{self._upper_bound(exponent):g}"
            )
        return ""

    def _upper_bound(self, name: str) -> float:
        """The fit's upper bound on the published parameter `name` (inf where it is fitted in log)."""
        param = next(p for p in self.law.form_.params if p.public == name)
        return np.inf if param.log_scale else float(param.bounds[1])

    @property
    def size_term_params(self) -> tuple[str, str]:
        """The names of the size term's scale and exponent in this law ("A", "alpha" or "Nc", "alpha_N")."""
        scale = next(name for name in SIZE_TERM if name in self.law.params_)
        return scale, SIZE_TERM[scale]

    @property
    def data_term_params(self) -> tuple[str, str]:
        """The names of the data term's scale and exponent in this law ("B", "beta" or "Dc", "alpha_D")."""
        scale = next(name for name in DATA_TERM if name in self.law.params_)
        return scale, DATA_TERM[scale]

    @property
    def has_floor(self) -> bool:
        """Whether the form has a floor E and it is resolved: at least 1% of the prediction at
        the largest trained point."""
        if "E" not in self.law.params_:
            return False
        fitted = float(self.law.predict(np.array([[self.n_range[1], self.d_range[1]]]))[0])
        return self.law.params_["E"] > 0.01 * fitted


def fit_joint(
    means: pd.DataFrame,
    metric: str,
    *,
    x: str,
    data: str,
    data_available: float | None = None,
    n_bootstrap: int = 1000,
    random_state: int = 0,
    warnings: list[str] | None = None,
    curve_points: pd.DataFrame | None = None,
) -> JointLaw | None:
    """Fit L(N, D) to `means` (one row per configuration); None, with a warning, when the sweep
    has fewer than MIN_DATA_SIZES data sizes (or curve points' data seen), 4 model sizes or
    MIN_CONFIGURATIONS configurations.

    `data_available` (default: the largest data size trained) is where the data-limited size is
    evaluated. `curve_points` (`joint_curve_points`: columns N, D, y, configuration): fit the
    law to them instead, the final points alone only for comparison (``JointLaw.curves``).
    """
    warnings = [] if warnings is None else warnings
    rows = means[np.isfinite(means[metric]) & np.isfinite(means[x]) & np.isfinite(means[data])]
    # Training curves put every evaluation's data seen on the data axis.
    n_data = rows[data].nunique() if curve_points is None or curve_points.empty else curve_points["D"].nunique()
    # Curves alone do not make a data axis: their points are also compared with 2+ final data sizes.
    n_data = min(n_data, rows[data].nunique()) if rows[data].nunique() < 2 else n_data
    if n_data < MIN_DATA_SIZES or rows[x].nunique() < MIN_SIZES_TO_FIT:
        warnings.append(
            f"the joint law of {x} and {data} needs {MIN_DATA_SIZES}+ values of {data} and {MIN_SIZES_TO_FIT}+ of {x}; "
            f"this sweep has {n_data} and {rows[x].nunique()}"
            + (
                f" (with 2 values of {data}, any exponent of its data term fits the one step between them: "
                f"a third {data} would determine it)"
                if n_data == 2
                else ""
            )
        )
        return None
    if len(rows) < MIN_CONFIGURATIONS:
        warnings.append(
            f"the joint law of {x} and {data} needs {MIN_CONFIGURATIONS}+ configurations (one more than the "
            f"parameters of its form); this sweep has {len(rows)}"
        )
        return None
    complement = fitted_as_complement(metric)
    target = 1.0 - rows[metric] if complement else rows[metric]
    if (target <= 0).any():
        warnings.append(f"{metric} reaches its perfect value for some configurations; no joint law fitted")
        return None
    table = pd.DataFrame({"N": rows[x].to_numpy(float), "D": rows[data].to_numpy(float), "y": target.to_numpy(float)})
    law = ScalingLaw(JOINT_FORM, n_bootstrap=n_bootstrap, random_state=random_state)
    law.fit(table, x=["N", "D"], y="y", groups=np.arange(len(table)))  # the bootstrap resamples configurations
    evidence = None
    if curve_points is not None and len(curve_points) > len(table):
        points = curve_points.assign(y=1.0 - curve_points["y"]) if complement else curve_points
        points = points[points["y"] > 0]
        final_law, law = law, ScalingLaw(JOINT_FORM, n_bootstrap=n_bootstrap, random_state=random_state)
        law.fit(points, x=["N", "D"], y="y", groups="configuration")  # a configuration's points move together
        evidence = CurveEvidence(
            len(points),
            len(table),
            BURN_IN,
            _width_ratio(law, final_law, table, "prediction"),
            _width_ratio(law, final_law, table, "mean"),
            final_law,
        )
    joint = JointLaw(
        metric,
        x,
        data,
        law,
        complement,
        len(rows),
        (float(rows[x].min()), float(rows[x].max())),
        (float(rows[data].min()), float(rows[data].max())),
        _flops_per_param_example(rows, x, data),
    )
    joint.unit = data_unit(rows)
    joint.optimal = _compute_optimal_table(joint, rows)
    joint.data_limit = data_limit(joint, data_available or joint.d_range[1])
    joint.curves = evidence
    return joint


def joint_curve_points(
    runs: pd.DataFrame, curves: pd.DataFrame | None, metric: str, *, x: str, data: str
) -> pd.DataFrame | None:
    """Every evaluation of the `runs` after the burn-in as a point of the joint law: columns N,
    D (what the run had seen by then, in the unit of `data`), y (`metric` there, the mean over
    seeds of one configuration) and configuration (N and the run's final `data`); None where the
    data axis has no counterpart in the curves (``CURVE_DATA``: a classification sweep's epochs
    repeat its data) or the curves lack `metric`."""
    seen = CURVE_DATA.get(data)
    if curves is None or curves.empty or seen is None or seen not in curves or metric not in curves:
        return None
    points = curves[["run_key", seen, metric]].merge(runs[["run_key", x, data]], on="run_key")
    points = points[np.isfinite(points[metric].astype(float)) & (points[seen] > 0)]
    if points.empty:
        return None
    points = after_burn_in(points, run="run_key", step=seen)
    means = points.groupby([x, data, seen], sort=True)[metric].mean().reset_index()
    return pd.DataFrame(
        {
            "N": means[x].to_numpy(float),
            "D": means[seen].to_numpy(float),
            "y": means[metric].to_numpy(float),
            "configuration": [f"{n:.6g}-{d:.6g}" for n, d in zip(means[x], means[data])],
        }
    )


def _width_ratio(curves_law: ScalingLaw, final_law: ScalingLaw, table: pd.DataFrame, kind: str) -> float | None:
    """Median ratio of 95% interval widths (log) of `kind`, curves over final points, at the
    configurations and ``BEYOND_FOR_WIDTH`` past them in N and in D (see ``CurveEvidence``);
    None without bootstrap or where no interval from the final points has a width."""
    if curves_law.bootstrap_theta_ is None or final_law.bootstrap_theta_ is None:
        return None
    trained = table[["N", "D"]].to_numpy(float)
    largest = trained[trained[:, 0] == trained[:, 0].max()]
    beyond_n = largest * [BEYOND_FOR_WIDTH, 1.0]
    most = pd.DataFrame(trained, columns=["N", "D"]).groupby("N")["D"].max()
    beyond_d = np.column_stack([most.index, most.to_numpy() * BEYOND_FOR_WIDTH])
    targets = np.vstack([trained, beyond_n, beyond_d])
    widths = [
        np.log(np.divide(*law.predict_interval(targets, LEVEL, kind=kind)[::-1])) for law in (curves_law, final_law)
    ]
    wide = widths[1] > 0
    return float(np.median(widths[0][wide] / widths[1][wide])) if wide.any() else None


def _flops_per_param_example(rows: pd.DataFrame, x: str, data: str) -> float | None:
    """k of C = k N D, from the sweep's own FLOP counts (6 x epochs for a dense network)."""
    if "train_flops" not in rows:
        return None
    per = (rows["train_flops"] / (rows[x] * rows[data])).to_numpy(float)
    per = per[np.isfinite(per)]  # none where the runs record no FLOPs or no data size
    return float(np.median(per)) if per.size else None


def sweep_budgets(rows: pd.DataFrame) -> dict[str, float]:
    """FLOP budgets to answer for: the smallest, middle and largest trained, then 10x and 100x beyond."""
    flops = rows["train_flops"].to_numpy(float)
    low, high = float(np.nanmin(flops)), float(np.nanmax(flops))
    budgets = {"smallest trained": low, "middle of the sweep": float(np.sqrt(low * high)), "largest trained": high}
    budgets.update({f"{factor:g}x the largest": high * factor for factor in BEYOND_SWEEP})
    return budgets


def _compute_optimal_table(joint: JointLaw, rows: pd.DataFrame) -> pd.DataFrame | None:
    if joint.flops_per_param_example is None:
        return None
    budgets = sweep_budgets(rows)
    table = compute_optimal(joint.law, list(budgets.values()), flop_model=joint.flops_per_param_example)
    table.insert(0, "budget", list(budgets))
    if joint.complement:  # the law was fitted to 1 - metric: report the metric itself
        table["loss_opt"] = metric_of(table["loss_opt"], True)
        if "loss_opt_low" in table:
            low, high = table["loss_opt_low"].copy(), table["loss_opt_high"].copy()
            table["loss_opt_low"], table["loss_opt_high"] = metric_of(high, True), metric_of(low, True)
    return table.rename(
        columns={
            "loss_opt": "metric_opt",
            "loss_opt_low": "metric_opt_low",
            "loss_opt_high": "metric_opt_high",
            "tokens_per_param": "examples_per_param",
            "tokens_per_param_low": "examples_per_param_low",
            "tokens_per_param_high": "examples_per_param_high",
        }
    )


def data_limit(joint: JointLaw, data_size: float, *, gain: float = DATA_LIMIT_GAIN) -> DataLimit:
    """The smallest N beyond which 10x more parameters improve the fitted quantity by less than
    `gain` at `data_size`, for the fit and for every bootstrap replicate (the interval)."""
    law = joint.law
    theta = law.theta_[None, :] if law.bootstrap_theta_ is None else np.vstack([law.theta_, law.bootstrap_theta_])
    log_n = np.log(np.geomspace(1.0, 1e15, 1501))
    log_d = np.full_like(log_n, np.log(data_size))
    here = law.form_.log_predict(theta, np.column_stack([log_n, log_d]))
    tenfold = law.form_.log_predict(theta, np.column_stack([log_n + np.log(10.0), log_d]))
    below = 1.0 - np.exp(tenfold - here) < gain
    first = np.where(below.any(axis=1), np.exp(log_n)[np.argmax(below, axis=1)], np.nan)
    interval = None
    if len(first) > 1 and np.isfinite(first[1:]).mean() > 0.9:
        low, high = np.nanpercentile(first[1:], [50 * (1 - LEVEL), 100 - 50 * (1 - LEVEL)])
        interval = (float(low), float(high))
    return DataLimit(float(data_size), gain, float(first[0]), interval)


@dataclass
class IsoFlopOnSweep:
    """Approach 2 on the sweep's compute groups, beside the joint law's answer at the same budgets."""

    # isoflop_analysis groups + N_min / N_max (the sizes tried), examples_per_param (D*/N*) with
    # its interval, and the joint law's joint_N_opt, joint_examples_per_param (each with
    # _low/_high) and disagree
    groups: pd.DataFrame
    exponents: pd.DataFrame
    unit: str = "examples"  # what the data axis counts: "tokens" for a language model
    joint_note: str = ""  # why the joint law's N* is not beside the profiles ('' when it is, or there is none)


def better_than_baseline(metric: str, values, baseline: float | None) -> np.ndarray:
    """Whether each value of `metric` beats the trivial `baseline` (all True without one): a
    compute optimum that does not is no model worth training, and its N* is quoted nowhere."""
    values = np.asarray(values, float)
    if baseline is None:
        return np.ones(values.shape, dtype=bool)
    return values < baseline if lower_is_better(metric) else values > baseline


def isoflop_on_sweep(
    means: pd.DataFrame,
    joint: JointLaw | None,
    metric: str,
    *,
    x: str,
    data: str,
    n_bootstrap: int = 1000,
    random_state: int = 0,
    baseline: Callable[[float], float | None] | None = None,
) -> tuple[IsoFlopOnSweep | None, str]:
    """IsoFLOP profiles of the sweep's configurations grouped by training FLOPs (within 0.05
    decades), and the joint law's N* at each group's budget where its prediction there beats the
    trivial baseline at its D* (`baseline`: data size -> baseline or None, `Analysis.baseline`;
    `better_than_baseline`). Returns (None, why) when the runs do not form two
    compute groups of 3+ sizes with a convex profile."""
    if "train_flops" not in means:
        return None, "the runs recorded no training FLOPs"
    flop_model = _flops_per_param_example(means, x, data) or 6.0
    target = (1.0 - means[metric]) if fitted_as_complement(metric) else means[metric]
    table = pd.DataFrame({"N": means[x], "loss": target, "C": means["train_flops"]})
    try:
        result = isoflop_analysis(
            table,
            tolerance_decades=ISOFLOP_TOLERANCE_DECADES,
            flop_model=flop_model,
            n_bootstrap=n_bootstrap,
            random_state=random_state,
        )
    except UserError as error:
        return None, str(error)
    groups = result.groups.copy()
    labels = group_by_compute(np.log10(table["C"].to_numpy(float)), ISOFLOP_TOLERANCE_DECADES)
    sizes = table.groupby(labels)["N"]
    groups["N_min"], groups["N_max"] = sizes.min().to_numpy(), sizes.max().to_numpy()
    _ratio_at_optimum(groups, flop_model)
    # A vertex outside the sizes tried is an extrapolated parabola, not a measured optimum: no numbers.
    extrapolated = ~groups["vertex_inside"].astype(bool)
    groups["vertex_below"] = extrapolated & (groups["N_opt"] < groups["N_min"])  # toward the smallest size
    measured = [c for c in groups if c.startswith(("N_opt", "D_opt", "loss_opt", "examples_per_param"))]
    groups.loc[extrapolated, measured] = np.nan
    usable = groups["compute"].notna() & (groups["note"] == "")
    groups["joint_N_opt"] = np.nan
    groups["disagree"] = False
    if joint is not None and usable.any():
        answer = compute_optimal(joint.law, groups.loc[usable, "compute"].to_numpy(), flop_model=flop_model)
        predicted = joint.predict(answer["N_opt"], answer["D_opt"])
        worth = np.array(
            [
                bool(better_than_baseline(metric, value, None if baseline is None else baseline(data_size)))
                for value, data_size in zip(predicted, answer["D_opt"])
            ],
            dtype=bool,
        )
        usable.loc[usable] = worth
        answer = answer[worth]
    if joint is not None and usable.any():
        groups.loc[usable, "joint_N_opt"] = answer["N_opt"].to_numpy()
        for suffix in ("", "_low", "_high"):
            if f"tokens_per_param{suffix}" in answer:
                groups.loc[usable, f"joint_examples_per_param{suffix}"] = answer[f"tokens_per_param{suffix}"].to_numpy()
        if "N_opt_low" in answer and "N_opt_low" in groups:
            groups.loc[usable, "joint_N_opt_low"] = answer["N_opt_low"].to_numpy()
            groups.loc[usable, "joint_N_opt_high"] = answer["N_opt_high"].to_numpy()
            apart = (groups["joint_N_opt_low"] > groups["N_opt_high"]) | (
                groups["joint_N_opt_high"] < groups["N_opt_low"]
            )
            groups["disagree"] = apart.fillna(False).astype(bool)
    return IsoFlopOnSweep(groups, result.exponents, data_unit(means)), ""


def data_unit(rows: pd.DataFrame) -> str:
    """What the data axis counts in words: "tokens" for a language model (its runs record
    train_tokens_seen), else "examples"."""
    return "tokens" if "train_tokens_seen" in rows and rows["train_tokens_seen"].notna().any() else "examples"


def _ratio_at_optimum(groups: pd.DataFrame, flops_per_param_example: float) -> None:
    """Add examples_per_param = D*/N* = C / (k N*^2) at each group's optimum, with the interval
    its N* interval gives (the larger N*, the fewer examples per parameter)."""
    k, compute = flops_per_param_example, groups["compute"]
    groups["examples_per_param"] = compute / (k * groups["N_opt"] ** 2)
    if "N_opt_low" in groups:
        groups["examples_per_param_low"] = compute / (k * groups["N_opt_high"] ** 2)
        groups["examples_per_param_high"] = compute / (k * groups["N_opt_low"] ** 2)
