"""Settings x size: when a training setting (weight decay, dropout, preprocessing, precision, batch
size, optimizer) or a second size axis (depth beside width) is swept, fit the quality law per value
and say how the values compare as models grow.

Each value gets its own saturating power law E + A * N^(-alpha) of the metric against parameters
(always this form, not form="auto": the values are compared by their difference of exponents and
floors, which means something only between laws of one form), on the runs at the largest data size, with the other swept settings at the values the main laws use. Comparisons
are at equal parameters (and, for a size axis, at equal training FLOPs). Where both values were
trained at the smallest and the largest common size with 2+ seeds each, the difference there is
the measured one (seed means), with a 95% interval from the seeds' spread (Student's t with Welch's
degrees of freedom; whether the advantage changes with size is still the curves' word where they
have intervals): a curve fitted through
two seeds per size knows no better, and its bootstrap, which resamples whole sizes, does not see
the seeds' noise at all. Elsewhere it is the fitted curves', with an interval from the two laws'
bootstraps drawn independently, only where both laws have one to quote (`ScalingLaw.has_intervals`;
a stuck bootstrap once printed "95% CI -0.0292 to -0.0292" from 2 seeds), else none and why.
"Does the advantage grow with N" compares the difference at the smallest and largest common size,
and the difference of exponents and floors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scalinglab.analysis.groups import COMPARABLE_FORM, DATA_AXIS_PARTS, GroupFit, fit_quality
from scalinglab.analysis.numbers import format_count, format_value
from scalinglab.analysis.runs import ok_runs, ok_runs_at_best_lr, size_axes, swept_settings
from scalinglab.metrics import lower_is_better, short_label
from scalinglab.run_spec import TrainingSpec


@dataclass
class SettingEffect:
    """How one swept setting interacts with size, at one data size."""

    setting: str
    is_size_axis: bool
    group_by: str
    group: float
    metric: str
    runs: pd.DataFrame  # the runs compared (every value of the setting)
    laws: dict = field(default_factory=dict)  # value -> GroupFit
    best_per_size: pd.DataFrame = field(default_factory=pd.DataFrame)  # x, one column per value, best
    sentences: list[str] = field(default_factory=list)


def compared_columns(frame: pd.DataFrame, *, x: str, group_by: str) -> list[tuple[str, bool]]:
    """(column, is_size_axis) of every setting to compare: swept data/training settings, and every
    swept size axis but the one with the most values (that one is the size the laws run along)."""
    runs = ok_runs(frame)
    axes = sorted((c for c in size_axes(runs) if c != x and runs[c].nunique() > 1), key=lambda c: runs[c].nunique())
    # A setting that changes the time alone (data_parallel) has no best value to compare.
    # Nor does a setting the data axis is made of (epochs, with tokens seen): it is that axis.
    parts = DATA_AXIS_PARTS.get(group_by, ())
    settings = [(c, False) for c in swept_settings(runs, exclude=(group_by, *parts, *TrainingSpec.time_only))]
    return settings + [(c, True) for c in axes[:-1]]


def settings_x_size(
    frame: pd.DataFrame,
    metric: str,
    *,
    x: str,
    group_by: str,
    reference: dict,
    n_bootstrap: int,
    random_state: int,
) -> list[SettingEffect]:
    """One SettingEffect per compared column (see `compared_columns`)."""
    runs = ok_runs_at_best_lr(frame)
    if runs.empty or metric not in runs or group_by not in runs:
        return []
    effects = []
    for setting, is_axis in compared_columns(runs, x=x, group_by=group_by):
        others = {name: value for name, value in reference.items() if name != setting}
        rows = runs[runs[group_by] == runs[group_by].max()]
        for name, value in others.items():
            rows = rows[rows[name] == value]
        effect = SettingEffect(setting, is_axis, group_by, rows[group_by].max(), metric, rows)
        for value, value_rows in rows.groupby(setting, sort=True):
            # One form for every value: _compare subtracts their alpha and E parameter by parameter.
            law = fit_quality(
                value_rows,
                metric,
                group=value,
                warnings=[],
                x=x,
                group_by=setting,
                n_bootstrap=n_bootstrap,
                random_state=random_state,
                form=COMPARABLE_FORM,
            )
            if law is not None:
                effect.laws[value] = law
        effect.best_per_size = best_per_size(effect, x)
        effect.sentences = _sentences(effect, x)
        effects.append(effect)
    return effects


def best_per_size(effect: SettingEffect, x: str) -> pd.DataFrame:
    """Per model size: each value's metric (seed mean where trained at that size, else its law's
    prediction inside the law's range) and the best value, where two or more values have one (a
    value alone at a size is best of nothing: "610: 1; 754: 3" once read as depth 1 winning)."""
    sizes = np.sort(effect.runs[x].unique())
    columns = {x: sizes}
    measured = effect.runs.groupby([x, effect.setting])[effect.metric].mean()
    for value in sorted(effect.runs[effect.setting].unique(), key=str):
        law = effect.laws.get(value)
        cells = []
        for size in sizes:
            if (size, value) in measured.index:
                cells.append(float(measured.loc[(size, value)]))
            elif law is not None and law.x_range[0] <= size <= law.x_range[1]:
                cells.append(float(law.predict([size])[0]))
            else:
                cells.append(np.nan)
        columns[f"{effect.setting}={value}"] = cells
    table = pd.DataFrame(columns)
    values = table.drop(columns=[x])
    pick = values.idxmin(axis=1) if lower_is_better(effect.metric) else values.idxmax(axis=1)
    compared = values.notna().sum(axis=1) >= 2
    table["best"] = [
        name.split("=", 1)[1] if isinstance(name, str) and name and both else ""
        for name, both in zip(pick.fillna(""), compared)
    ]
    return table


def _sentences(effect: SettingEffect, x: str) -> list[str]:
    where = f"({effect.group_by} = {format_value(effect.group)})"
    compared = [f"{format_count(row[x])}: {row['best']}" for _, row in effect.best_per_size.iterrows() if row["best"]]
    measured = [
        f"Best {effect.setting} at each trained size {where}: " + "; ".join(compared) + "."
        if compared
        else f"No size {where} was trained, or predicted by a law, at more than one {effect.setting}, so none is "
        f"compared at equal parameters; train one size at each {effect.setting} to compare them."
    ]
    if len(effect.laws) < 2:
        return measured + [f"Too few sizes per value of {effect.setting} to fit a law for each (4 needed)."]
    reference_value = _best_value_at_largest(effect)
    reference = effect.laws[reference_value]
    sentences = measured
    for value, law in effect.laws.items():
        if value == reference_value:
            continue
        sentences += _compare(effect, reference_value, reference, value, law, x)
    return sentences


def _best_value_at_largest(effect: SettingEffect):
    common_high = min(law.x_range[1] for law in effect.laws.values())
    predictions = {value: float(law.predict([common_high])[0]) for value, law in effect.laws.items()}
    pick = min if lower_is_better(effect.metric) else max
    return pick(predictions, key=predictions.get)


def _curves_have_intervals(better: GroupFit, other: GroupFit) -> bool:
    """Whether both laws have bootstrap intervals to quote (`ScalingLaw.has_intervals`): a stuck
    bootstrap (every replicate refitted to the fit) gave "95% CI -0.0292 to -0.0292" from 2 seeds."""
    return bool(better.law.has_intervals and other.law.has_intervals)


def _no_interval_reason(effect: SettingEffect, fits: dict) -> str:
    """Why the fitted curves of `fits` ({value: GroupFit}) have no interval, and what would give one."""
    for value, fit in fits.items():
        if not fit.law.has_intervals:
            return f"the law of {effect.setting} = {value}: {fit.law.no_interval_reason()}"
    return "the laws have none"


def _difference(
    better: GroupFit,
    other: GroupFit,
    n: float,
    n_other: float | None = None,
) -> tuple[float, tuple[float, float] | None]:
    """How much better `better` at n is than `other` at n_other (default n; positive: better),
    with the 95% interval of the difference of the two fitted curves (their bootstraps; a
    mean-curve interval, no noise), None unless both laws have intervals to quote."""
    n_other = n if n_other is None else n_other
    sign = 1.0 if lower_is_better(better.metric) else -1.0
    point = sign * float(other.predict([n_other])[0] - better.predict([n])[0])
    draws = _difference_draws(better, other, n, n_other)
    if draws is None:
        return point, None
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return point, (float(low), float(high))


def _difference_draws(better: GroupFit, other: GroupFit, n: float, n_other: float) -> np.ndarray | None:
    """The advantage of `better` at n over `other` at n_other under each pair of bootstrap
    replicates (replicate i of each law: so draws at two sizes are paired); None without a bootstrap
    or where either law has no interval to quote (`_curves_have_intervals`).
    NaN where a replicate extrapolates to a size its law was fitted across (`interpolating`): a
    replicate that lost the smallest size once put "+0.123 to +3.54" on an advantage of 0.125."""
    if not _curves_have_intervals(better, other):
        return None
    sign = 1.0 if lower_is_better(better.metric) else -1.0
    draws_better = better.bootstrap_predict([n], interpolating=True)
    draws_other = other.bootstrap_predict([n_other], interpolating=True)
    if draws_better is None or draws_other is None:
        return None
    count = min(len(draws_better), len(draws_other))
    return sign * (draws_other[:count, 0] - draws_better[:count, 0])


def _measured_difference(
    effect: SettingEffect, better_value, value, n: float, x: str
) -> tuple[float, float, float] | None:
    """The advantage of `better_value` over `value` in the seed means at `n` (positive: better), its
    standard error from each value's seeds, and that error's Welch-Satterthwaite degrees of
    freedom; None unless both were trained there with 2+ seeds that differ (seeds that agree
    exactly give no spread to measure the noise by)."""
    at = effect.runs[effect.runs[x] == n]
    ours = at.loc[at[effect.setting] == better_value, effect.metric].astype(float).dropna()
    theirs = at.loc[at[effect.setting] == value, effect.metric].astype(float).dropna()
    if len(ours) < 2 or len(theirs) < 2:
        return None
    shares = np.array([ours.var(ddof=1) / len(ours), theirs.var(ddof=1) / len(theirs)])
    error = float(np.sqrt(shares.sum()))
    if not np.isfinite(error) or error <= 0:
        return None
    freedom = float(shares.sum() ** 2 / np.sum(shares**2 / (np.array([len(ours), len(theirs)]) - 1)))
    sign = 1.0 if lower_is_better(effect.metric) else -1.0
    return sign * float(theirs.mean() - ours.mean()), error, freedom


def _t_95(freedom: float) -> float:
    """The two-sided 95% quantile of Student's t: with 2 seeds a standard error has about 1-2
    degrees of freedom, and the normal 1.96 made an 81% interval of a "95%" one."""
    from scipy.stats import t

    return float(t.ppf(0.975, freedom))


def _change_is_clear(better: GroupFit, other: GroupFit, low: float, high: float) -> bool:
    """Whether the advantage at `high` differs from that at `low` beyond the 95% interval of the
    change (paired bootstrap replicates): "shrinks with size" was said of a change inside it."""
    at_low, at_high = _difference_draws(better, other, low, low), _difference_draws(better, other, high, high)
    if at_low is None or at_high is None:
        return False
    change_low, change_high = np.nanpercentile(at_high - at_low, [2.5, 97.5])
    return bool(change_low * change_high > 0)


def _parameter_difference(better: GroupFit, other: GroupFit, name: str) -> tuple[float, tuple[float, float] | None]:
    point = better.law.params_[name] - other.law.params_[name]
    a, b = better.law.bootstrap_params_, other.law.bootstrap_params_
    if a is None or b is None or not _curves_have_intervals(better, other):
        return point, None
    count = min(len(a), len(b))
    low, high = np.nanpercentile(a[name].to_numpy()[:count] - b[name].to_numpy()[:count], [2.5, 97.5])
    return point, (float(low), float(high))


def _compare(effect: SettingEffect, best_value, best: GroupFit, value, other: GroupFit, x: str) -> list[str]:
    low = max(best.x_range[0], other.x_range[0])
    high = min(best.x_range[1], other.x_range[1])
    name = short_label(effect.metric)
    if low > high:
        return [f"{effect.setting} = {best_value} and {value} share no range of sizes to compare."]
    sentences = []
    head = f"{effect.setting} = {best_value} {{}} {effect.setting} = {value} by {{:.3g}} in {name}"
    curves_low, curves_high = _difference(best, other, low), _difference(best, other, high)
    measured = [_measured_difference(effect, best_value, value, n, x) for n in (low, high)]
    if all(m is not None for m in measured) and any(
        ci is None or ci[1] - ci[0] < 2 * _t_95(freedom) * error
        for (_, ci), (_, error, freedom) in zip((curves_low, curves_high), measured)
    ):
        # Both ends trained at both values with 2+ seeds, and the curves say the difference there no
        # better than the seeds do (no interval, or a narrower one): the seeds' is how well it is known.
        (at_low, error_low, freedom_low), (at_high, error_high, freedom_high) = measured
        for n, diff, error, freedom in (
            (high, at_high, error_high, freedom_high),
            (low, at_low, error_low, freedom_low),
        ):
            ci = (diff - _t_95(freedom) * error, diff + _t_95(freedom) * error)
            sentences.append(
                f"At {format_count(n)} parameters (equal parameters), "
                + head.format("beats" if diff > 0 else "trails", abs(diff))
                + f", measured (seed means; 95% interval from the seeds' spread {ci[0]:+.3g} to {ci[1]:+.3g}"
                + ("" if ci[0] * ci[1] > 0 else ": not clearly different, more seeds would tell")
                + ")."
            )
        # Whether the advantage changes with size: the curves' word where they have intervals (they
        # pool every size, where two configurations' seed means carry each one's own offset: a
        # 0.003 wobble read "grows"); else the seeds', at the fewer degrees of freedom of the two.
        clear = (
            _change_is_clear(best, other, low, high)
            if _curves_have_intervals(best, other)
            else abs(at_high - at_low) > _t_95(min(freedom_low, freedom_high)) * np.hypot(error_low, error_high)
        )
    else:
        at_low, at_high = curves_low[0], curves_high[0]
        missing = (
            "" if curves_low[1] else f" (no interval: {_no_interval_reason(effect, {best_value: best, value: other})})"
        )
        for n, (diff, ci) in ((high, curves_high), (low, curves_low)):
            sentences.append(
                f"At {format_count(n)} parameters (equal parameters), "
                + head.format("beats" if diff > 0 else "trails", abs(diff))
                + (
                    f" (95% CI of the fitted curves {ci[0]:+.3g} to {ci[1]:+.3g}"
                    f"{'' if ci[0] * ci[1] > 0 else ': not clearly different'})"
                    if ci
                    else f" on the fitted curves{missing}"
                )
                + "."
            )
        clear = _change_is_clear(best, other, low, high)
    # Signed: positive is an advantage, so going from -0.9 to +0.2 is an advantage that grows.
    d_alpha, alpha_ci = _parameter_difference(best, other, "alpha")
    trend = ("grows" if at_high > at_low else "shrinks") if clear else "does not clearly change"
    # A floor the fit dropped (E ~ 0, `GroupFit.has_floor`) is no number to subtract: seen,
    # "difference of floors -1.82e-19 (95% CI -2.03e-19 to -1.04e-19)".
    if best.has_floor and other.has_floor:
        d_floor, floor_ci = _parameter_difference(best, other, "E")
        floors = f", of floors {d_floor:+.3g}" + (
            f" (95% CI {floor_ci[0]:+.3g} to {floor_ci[1]:+.3g})" if floor_ci else ""
        )
    else:
        floors = "; the floors are not resolved by these sizes, so none is compared"
    sentences.append(
        f"The advantage of {effect.setting} = {best_value} over {value} {trend} with size "
        f"(from {at_low:+.3g} to {at_high:+.3g}); difference of exponents {d_alpha:+.2f}"
        + (f" (95% CI {alpha_ci[0]:+.2f} to {alpha_ci[1]:+.2f})" if alpha_ci else "")
        + floors
        + (
            ""
            if _curves_have_intervals(best, other)
            else f" (no interval: {_no_interval_reason(effect, {best_value: best, value: other})})"
        )
        + "."
    )
    if effect.is_size_axis and "train_flops" in effect.runs:
        sentences += _equal_flops(effect, best_value, best, value, other, high)
    return sentences


def _equal_flops(effect: SettingEffect, best_value, best: GroupFit, value, other: GroupFit, n_best: float) -> list[str]:
    """Compare at the FLOPs the better value spends at `n_best` parameters: each value's size at
    those FLOPs follows from its own FLOPs per parameter (a deeper net may spend more per parameter)."""
    per_param = (
        effect.runs.assign(k=effect.runs["train_flops"] / effect.runs[best.x]).groupby(effect.setting)["k"].median()
    )
    budget = n_best * per_param[best_value]
    n_other = budget / per_param[value]
    if not other.x_range[0] <= n_other <= other.x_range[1]:
        return []
    diff, ci = _difference(best, other, n_best, n_other)
    interval = (
        f" (95% CI of the fitted curves {ci[0]:+.3g} to {ci[1]:+.3g})"
        if ci is not None
        else f" (no interval: {_no_interval_reason(effect, {best_value: best, value: other})})"
    )
    return [
        f"At equal training FLOPs ({budget:.3g} per run: "
        f"{format_count(n_best)} parameters at {effect.setting} = {best_value}, {format_count(n_other)} at {value}), "
        f"{effect.setting} = {best_value} {'beats' if diff > 0 else 'trails'} by {abs(diff):.3g}{interval}."
    ]
