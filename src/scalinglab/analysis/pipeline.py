"""One analysis of a sweep, computed once and read by the report, `recommend` and the terminal summary.

`analyze` takes the stored runs (a folder, a .sqlite file or a results frame), chooses the runs the
laws are fitted to, and fits everything: the quality law per data size, the cost laws, the joint
law of size and data with its compute-optimal answers, IsoFLOP where the runs form compute groups,
the held-out backtest, the settings x size interactions, and, when batch size is swept, the
critical batch size per size from the per-epoch curves and its law across sizes (analysis.batch_size),
and where `training.data_parallel` is swept the measured speedup per size (analysis.speedup), and
from these the predicted time to a target loss with W workers (analysis.time_to_target).

Which runs: ok runs at their configuration's best learning rate; when a data or training setting
is swept (weight decay, preprocessing, ...), the main laws use its best value (lowest mean
metric over the sweep) and the settings section compares the values; for `data_parallel`, one
worker's runs (W changes the time, not the answer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scalinglab.analysis.batch_size import CriticalBatch, CriticalBatchLaw, critical_batch_law, critical_batch_sizes
from scalinglab.analysis.buildable import SizeAxis
from scalinglab.analysis.groups import (
    DATA_AXIS_PARTS,
    DATA_COLUMNS,
    FitOutcome,
    backtest_largest,
    fit_metric_vs_params,
)
from scalinglab.analysis.joint import IsoFlopOnSweep, JointLaw, fit_joint, isoflop_on_sweep, joint_curve_points
from scalinglab.analysis.numbers import format_value, join_words
from scalinglab.analysis.runs import (
    aggregate_over_seeds,
    configuration_means,
    no_better_than_baseline,
    ok_runs_at_best_lr,
    swept_settings,
)
from scalinglab.analysis.sentences import isoflop_sentences, seed_warnings
from scalinglab.analysis.settings_by_size import SettingEffect, settings_x_size
from scalinglab.analysis.size_effect import SizeVerdict, size_verdict
from scalinglab.analysis.speedup import DataParallelSpeedup, data_parallel_speedups, speedups_at
from scalinglab.analysis.time_to_target import TimeToTarget, times_to_target
from scalinglab.analysis.transfer import TransferAnswer, split_transfer_runs, transfer_answer
from scalinglab.errors import UserError
from scalinglab.metrics import QUALITY, lower_is_better
from scalinglab.run_spec import TrainingSpec
from scalinglab.runs_table import load_results, stored_curves

HELD_OUT_ERROR_WARNING = 0.10  # a law that misses its own largest size by 10% cannot extrapolate


@dataclass
class Analysis:
    """Everything fitted from one sweep. Read it; never refit it elsewhere."""

    frame: pd.DataFrame  # every stored run
    config: dict | None
    metric: str
    x: str
    group_by: str
    runs: pd.DataFrame  # the runs the laws are fitted to
    reference: dict  # swept setting -> the value the main laws use
    groups: FitOutcome
    joint: JointLaw | None
    joint_note: str  # why there is no joint law (empty when there is one)
    isoflop: IsoFlopOnSweep | None
    isoflop_note: str
    backtest: pd.DataFrame
    settings: list[SettingEffect]
    data_available: float | None
    warnings: list[str] = field(default_factory=list)  # what a reader must see first
    # Each fitted law's own diagnostics (a parameter on its bound, parameters not separately
    # identified, no backtest possible): shown where the laws' trust is discussed, not at the top.
    fit_diagnostics: list[str] = field(default_factory=list)
    size_verdicts: list[SizeVerdict] = field(default_factory=list)  # does size matter, per data size
    joint_size_problem: str = ""  # why the joint law's size term means nothing here ('' when it is resolved)
    joint_data_problem: str = ""  # why its data term means nothing here ('' when it is resolved)
    size_axis: SizeAxis | None = None  # the swept size axis and its exact parameter counts, when there is one
    # How far each size parallelizes: per configuration swept over batch sizes (empty when none is)
    critical_batch: list[CriticalBatch] = field(default_factory=list)
    transfer: TransferAnswer | None = None  # pretrained or from scratch ([transfer]; analysis.transfer)
    # B_crit(L) across sizes (Kaplan et al. 2020), or why not; W workers against one per size
    critical_batch_law: tuple[CriticalBatchLaw | None, str] = (None, "")
    speedups: list[DataParallelSpeedup] = field(default_factory=list)
    # Per configuration, the predicted seconds to its target training loss with W = 1 and each W measured
    time_to_target: list[TimeToTarget] = field(default_factory=list)

    @property
    def reference_speedups(self) -> list[DataParallelSpeedup]:
        """The speedups measured at the settings the laws use (`speedups_at`): what their times divide by."""
        return speedups_at(self.speedups, self.reference)

    def time_to_target_at(self, workers: int) -> list[TimeToTarget]:
        """The configurations with a predicted time to their target with `workers` workers (none
        where that W was not measured)."""
        return [answer for answer in self.time_to_target if workers in answer.workers]

    @property
    def compute_optimal_quoted(self) -> bool:
        """Whether the joint law's compute-optimal split is an answer: it rests on both its size
        and its data term, so either one unresolved leaves N* and D* meaningless."""
        return self.joint is not None and not (self.joint_size_problem or self.joint_data_problem)

    def verdict_for(self, group) -> SizeVerdict | None:
        """The size verdict at data size `group`, if it was trained."""
        return next((verdict for verdict in self.size_verdicts if verdict.group == group), None)

    @property
    def lower_is_better(self) -> bool:
        return lower_is_better(self.metric)

    def baseline(self, group: float | None = None) -> float | None:
        """The metric's trivial baseline (`baseline_at`): the mean over the runs of data size
        `group` (the nearest trained), or over all runs; None where none was recorded."""
        return baseline_at(self.runs, self.metric, self.group_by, group)

    def possible_range(self, group: float | None = None) -> tuple[float, float]:
        """Where the metric can lie, what any prediction is clipped to: a loss in [0, its trivial
        baseline], an accuracy or F1 in [its trivial baseline, 1] (at data size `group`: that data's
        own baseline, `baseline`). Without a baseline a loss is only >= 0 and an accuracy in [0, 1]."""
        baseline = self.baseline(group)
        if self.lower_is_better:
            return 0.0, baseline if baseline is not None else np.inf
        return (baseline if baseline is not None else 0.0), 1.0

    @property
    def title(self) -> str:
        return (self.config or {}).get("name", "sweep")

    def size_table(self) -> pd.DataFrame:
        """Per model size (and data size): seed-mean params, loss, accuracy, time, latency, bytes.
        The report's table of runs and the one `scalinglab run` prints."""
        means = aggregate_over_seeds(self.runs)
        if means.empty:
            return means
        columns = [
            self.x,
            self.group_by,
            self.metric,
            "val_loss",
            "val_accuracy",
            "train_seconds",
            "latency_ms_p50",
            "bytes_fp32",
            "n_seeds",
        ]
        columns = list(dict.fromkeys(c for c in columns if c in means))
        return means[columns].sort_values([self.group_by, self.x])

    def size_table_title(self) -> str:
        """The title of `size_table`, naming the swept settings its rows are at (the runs of other
        values are not in it: seen, a table of weight_decay = 0.1 runs that said nothing of it)."""
        settings = ", ".join(f"{name} = {value}" for name, value in self.reference.items())
        return "Runs by size (mean over seeds" + (f"; at {settings}, the settings the laws use)" if settings else ")")


def analyze(
    source,
    *,
    config: dict | None = None,
    metric: str | None = None,
    x: str | None = None,
    group_by: str | None = None,
    data_available: float | None = None,
    n_bootstrap: int = 1000,
    random_state: int = 0,
    curves: pd.DataFrame | None = None,
) -> Analysis:
    """Fit every law of a sweep once.

    Parameters
    ----------
    source : DataFrame, or path of a sweep's output folder or .sqlite file
        One row per run (as `scalinglab.runs_table.results_frame` returns it), or where to load them.
    config : dict, optional
        The sweep configuration (read from the store when `source` is a path).
    metric, x, group_by : str, optional
        Override the configuration's `[fit]` settings (defaults val_loss, n_params, train_size).
    data_available : float, optional
        Examples available for training; default the largest data size trained. The joint law's
        recommendation and data-limited size use it.
    n_bootstrap, random_state : int
        Bootstrap replicates and seed of every interval.
    curves : DataFrame, optional
        The runs' per-epoch curves (`scalinglab.runs_table.curves_frame`; read from the store when
        `source` is a path): with batch size swept, the critical batch size per size comes from them;
        with tokens seen as the data axis, the joint law is fitted to every evaluation after the
        burn-in (`analysis.joint`).

    Returns
    -------
    Analysis

    Raises
    ------
    UserError
        When `source` holds no store or no runs, or `metric`, `x` or `group_by` is not a column.
    """
    if isinstance(source, pd.DataFrame):
        frame = source
    else:
        frame, stored_config = load_results(source)
        config = config if config is not None else stored_config
        curves = curves if curves is not None else stored_curves(source)
    transfer = transfer_answer(frame, random_state=random_state)  # None without [transfer]
    frame, _ = split_transfer_runs(frame)  # the laws are the scratch runs' (analysis.transfer)
    settings = (config or {}).get("fit", {})
    metric = metric or settings.get("metric", "val_loss")
    x = x or settings.get("x", "n_params")
    group_by = group_by or settings.get("group_by", "train_size")
    check_some_run_finished(frame)
    _check_columns(frame, metric=metric, x=x, group_by=group_by)
    runs, reference = runs_to_fit(frame, metric, group_by=group_by)
    options = dict(n_bootstrap=n_bootstrap, random_state=random_state)
    groups = fit_metric_vs_params(runs, metric=metric, x=x, group_by=group_by, best_lr_only=False, **options)
    joint_warnings: list[str] = []
    joint = iso = None
    iso_note = f"group_by = {group_by} is not a data size"
    joint_note = f"{group_by} is not a data size"
    iso_warnings: list[str] = []
    if group_by in DATA_COLUMNS and metric in runs and not runs.empty:
        means = configuration_means(runs, metric, [x, group_by])
        data_available = data_available or float(means[group_by].max())
        joint = fit_joint(
            means,
            metric,
            x=x,
            data=group_by,
            data_available=data_available,
            warnings=joint_warnings,
            curve_points=joint_curve_points(runs, curves, metric, x=x, data=group_by),
            **options,
        )
        joint_note = "" if joint is not None else joint_warnings[0]  # fit_joint says why it fitted none
    verdicts = size_verdicts(runs, groups, metric, x=x, group_by=group_by)
    joint_problem = joint_size_problem(joint, verdicts)
    data_problem = joint.data_term_problem() if joint is not None else ""
    if group_by in DATA_COLUMNS and metric in runs and not runs.empty:
        # Beside each IsoFLOP profile, the joint law's N* only where its split may be quoted.
        quoted = None if joint_problem or data_problem else joint
        iso, iso_note = isoflop_on_sweep(
            means,
            quoted,
            metric,
            x=x,
            data=group_by,
            baseline=lambda data_size: baseline_at(runs, metric, group_by, data_size),
            **options,
        )
        if iso is not None and joint is not None and quoted is None:
            iso.joint_note = joint_problem or data_problem
        iso_warnings = isoflop_sentences(iso, iso_note)[1]
    # An IsoFLOP grid trains one model size per data size: the summary says so once (size_sentences).
    one_size_each = bool(verdicts) and all(verdict.kind == "one size" for verdict in verdicts)
    group_warnings = [w for w in groups.warnings if not (one_size_each and f"only 1 distinct {x} values" in w)]
    size_warnings = (
        [
            f"the joint law of {x} and {group_by} does not resolve how {metric} depends on size "
            f"({joint_problem}): its alpha, compute-optimal N* and data-limited size are not quoted"
        ]
        if joint_problem
        else []
    )
    if data_problem:
        size_warnings.append(
            f"the joint law of {x} and {group_by} does not resolve how {metric} depends on {group_by} "
            f"({data_problem}): between the data sizes trained, more data did not measurably change {metric}, "
            "so no compute-optimal split of size and data is quoted"
        )
    backtest = backtest_largest(runs, groups)
    critical_batch = critical_batch_sizes(frame, curves)
    speedups = data_parallel_speedups(frame)
    effects = settings_x_size(frame, metric, x=x, group_by=group_by, reference=reference, **options)
    # Ranked: what changes how every answer may be read first, advice last.
    unrecorded = _unrecorded_group_warnings(runs, group_by)
    if unrecorded:  # the joint law's "needs 3+ values of train_size; this sweep has 0" says it again
        joint_warnings, joint_note = [], unrecorded[0]
    warnings = (
        unrecorded
        + _failure_warnings(frame)
        + _baseline_warnings(runs, metric, [x, group_by])
        + _backtest_warnings(backtest, group_by)
        + size_warnings
        + iso_warnings
        + merge_places(group_warnings)
        + joint_warnings
        + seed_warnings(runs, metric)
    )
    return Analysis(
        frame,
        config,
        metric,
        x,
        group_by,
        runs,
        reference,
        groups,
        joint,
        joint_note,
        iso,
        iso_note,
        backtest,
        effects,
        data_available,
        warnings,
        law_warnings(groups, joint, effects),
        verdicts,
        joint_problem,
        data_problem,
        SizeAxis.from_runs(runs, x) if x == "n_params" else None,
        critical_batch,
        transfer,
        critical_batch_law(critical_batch),
        speedups,
        # Only where the report's parallelism section and `recommend --workers` read it.
        times_to_target(runs, curves, critical_batch, speedups_at(speedups, reference), x=x, group_by=group_by)
        if critical_batch or speedups
        else [],
    )


def size_verdicts(runs: pd.DataFrame, groups: FitOutcome, metric: str, *, x: str, group_by: str) -> list[SizeVerdict]:
    """Whether size clearly matters at each trained data size (`size_effect.size_verdict`)."""
    if metric not in runs or runs.empty:
        return []
    values = sorted(runs.loc[np.isfinite(runs[metric].astype(float)), group_by].dropna().unique())
    return [
        size_verdict(runs, metric, x=x, group_by=group_by, group=group, fit=groups.quality_for(group))
        for group in values
    ]


def joint_size_problem(joint: JointLaw | None, verdicts: list[SizeVerdict]) -> str:
    """Why the joint law's size term is not to be quoted ('' when it may be, or there is no joint law)."""
    if joint is None:
        return ""
    # An IsoFLOP grid trains each data size at one model size: only the joint law sees size there.
    tested = [verdict for verdict in verdicts if verdict.kind != "one size"]
    if tested and not any(verdict.resolved for verdict in tested):
        return "at no data size do the runs resolve a law of size; see the answers per data size"
    return joint.size_term_problem()


def _unrecorded_group_warnings(runs: pd.DataFrame, group_by: str) -> list[str]:
    """Runs whose `group_by` is missing (an objective given no data.train_size that returns no
    n_train) belong to no group, so no law is fitted to them: say so, and what would."""
    if runs.empty or runs[group_by].notna().any():
        return []
    return [
        f"the runs record no {group_by}, so no law could be fitted: the laws are fitted per {group_by}. "
        f"Set data.train_size in the sweep file (your objective gets it as run.train_size), or return "
        f"n_train from the objective"
    ]


def baseline_at(runs: pd.DataFrame, metric: str, group_by: str, group: float | None = None) -> float | None:
    """The metric's trivial baseline: the mean of the runs' `baseline_<metric>` column (what
    predicting the class frequencies, or a unigram model, scores); None where none was recorded.
    At `group` (a data size, `group_by` a data column), the mean over that group's runs: a unigram
    model of 200k bytes scored 4.620 where the mean over 50k-200k was 4.658, and a prediction at
    200k bytes was clipped to the mean. A data size not trained takes the nearest trained one's
    (in log data)."""
    if group is None or group_by not in DATA_COLUMNS or group_by not in runs:
        return metric_baseline(runs, metric)  # a setting's value: the data, and its baseline, are one
    per_group = {float(value): metric_baseline(rows, metric) for value, rows in runs.groupby(group_by)}
    known = {value: baseline for value, baseline in per_group.items() if baseline is not None and value > 0}
    if not known:
        return metric_baseline(runs, metric)
    nearest = min(known, key=lambda value: abs(np.log(value) - np.log(max(float(group), 1e-300))))
    return known[nearest]


def metric_baseline(runs: pd.DataFrame, metric: str) -> float | None:
    """The trivial baseline of `metric`: the mean of the runs' `baseline_<metric>` column (what
    predicting the class frequencies, or a unigram model, scores); None where none was recorded."""
    column = f"baseline_{metric}"
    known = column in runs and bool(runs[column].notna().any())
    return float(runs[column].mean()) if known else None


def check_some_run_finished(frame: pd.DataFrame) -> None:
    """Runs of which none finished ok leave nothing to analyze: say so and why, not that the
    metric is "not a recorded column (choose one of )"."""
    if "status" not in frame or len(frame) == 0 or (frame["status"] == "ok").any():
        return
    errors = frame["error"].dropna().astype(str).str.strip() if "error" in frame else pd.Series(dtype=str)
    errors = errors[errors != ""]
    example = f" (e.g. {errors.iloc[0].splitlines()[0]})" if len(errors) else ""
    raise UserError(
        f"none of the {len(frame)} runs finished ok{example}, so there is nothing to analyze; "
        "scalinglab status lists why each failed"
    )


def _check_columns(frame: pd.DataFrame, *, metric: str, x: str, group_by: str) -> None:
    if metric not in frame:
        known = ", ".join(c for c in QUALITY if c in frame)
        # Seen: "(choose one of )" of a table that recorded no quality column scalinglab knows.
        choices = f"choose one of {known}" if known else f"its columns are {', '.join(map(str, frame.columns))}"
        raise UserError(f"metric {metric}: not a recorded column ({choices})")
    for option, column in (("x", x), ("group_by", group_by)):
        if column not in frame:
            raise UserError(f"fit.{option} = {column}: not a column of these runs")


def runs_to_fit(frame: pd.DataFrame, metric: str, *, group_by: str) -> tuple[pd.DataFrame, dict]:
    """The ok runs at their best learning rate, with every swept data or training setting (other
    than `group_by` and the settings it is made of, `DATA_AXIS_PARTS`) fixed at its best value:
    the lowest (or highest) mean `metric` over the sweep.

    Returns the runs and {setting: value used}.
    """
    runs = ok_runs_at_best_lr(frame)
    reference = {}
    for setting in swept_settings(runs, exclude=(group_by, *DATA_AXIS_PARTS.get(group_by, ()))):
        means = runs.groupby(setting)[metric].mean()
        best = means.idxmin() if lower_is_better(metric) else means.idxmax()
        if setting in TrainingSpec.time_only and 1 in means.index:
            best = 1  # W changes the time, not the answer: the laws (and their time) are one worker's
        reference[setting] = best
        runs = runs[runs[setting] == best]
    return runs, reference


def _failure_warnings(frame: pd.DataFrame) -> list[str]:
    if frame.empty or "status" not in frame:
        return []
    failed = int((frame["status"] != "ok").sum())
    return [f"{failed} run(s) did not finish ok; see `scalinglab status`"] if failed else []


def _baseline_warnings(runs: pd.DataFrame, metric: str, columns: list[str]) -> list[str]:
    """The configurations no better than the trivial baseline (`no_better_than_baseline`), whose
    points a law should not be read from, said with one example."""
    if runs.empty or metric not in runs or f"baseline_{metric}" not in runs:
        return []
    means = configuration_means(runs, metric, columns).dropna(subset=[metric, f"baseline_{metric}"])
    worst = means[no_better_than_baseline(means, metric)]
    if worst.empty:
        return []
    first = worst.iloc[0]
    where = ", ".join(f"{column}={format_value(first[column])}" for column in columns)
    return [
        f"{len(worst)} of {len(means)} configurations measured no better than the trivial baseline "
        f"(e.g. {where}: {metric} {first[metric]:.3g}, baseline {first[f'baseline_{metric}']:.3g}): "
        "they learned nothing beyond the data's frequencies; train on more data or longer, or tune the learning rate"
    ]


def _backtest_warnings(backtest: pd.DataFrame, group_by: str) -> list[str]:
    bad = backtest[np.abs(backtest["relative_error"]) > HELD_OUT_ERROR_WARNING]
    if bad.empty:
        return []
    misses = join_words(
        [f"{abs(row['relative_error']) * 100:.0f}% at {group_by}={row['group']:g}" for _, row in bad.iterrows()]
    )
    return [f"the law misses its own largest size by {misses}, so do not trust it far beyond the trained sizes"]


_PLACE = re.compile(r"^(\w+=[^:,\s]+): (.+)$")


def merge_places(warnings: list[str]) -> list[str]:
    """One line for a message said at several places: 'train_size=360: only 3 sizes ...' and
    'train_size=720: only 3 sizes ...' become 'train_size=360 and 720: only 3 sizes ...'; other
    warnings unchanged, in order of first appearance."""
    places: dict[str, list[str]] = {}
    for warning in warnings:
        match = _PLACE.match(warning)
        key, place = (match.group(2), match.group(1)) if match else (warning, None)
        places.setdefault(key, []).extend([place] if place else [])
    merged = []
    for message, where in places.items():
        if not where:
            merged.append(message)
            continue
        name = where[0].partition("=")[0]
        values = [place.partition("=")[2] if place.startswith(name + "=") else place for place in where]
        merged.append(f"{name}={join_words(values)}: {message}")
    return merged


def law_warnings(groups: FitOutcome, joint: JointLaw | None, effects: list[SettingEffect]) -> list[str]:
    """Every fitted law's own diagnostics (`ScalingLaw.warnings_`: a parameter on a bound, two
    parameters not separately identified, no convergence, too few groups to resample, a flat
    law or rising data), each prefixed by which law it is about. A cost law's trend is left out:
    the cost section judges it itself (CostLaw.growth_unresolved), and the overhead law is fitted
    against N^(-1/5), where "rises with x" would read backwards."""
    laws = [(f"{fit.metric} law at {fit.group_by}={format_value(fit.group)}", fit.law) for fit in groups.fits]
    cost_laws = [(f"{cost.metric} law", cost.law) for cost in groups.costs.values()]
    if joint is not None:
        laws.append((f"joint law of {joint.x} and {joint.data}", joint.law))
    for effect in effects:
        laws += [
            (
                f"{fit.metric} law at {effect.setting}={format_value(value)} "
                f"({effect.group_by}={format_value(effect.group)})",
                fit.law,
            )
            for value, fit in effect.laws.items()
        ]
    said = [(name, law, law.warnings_) for name, law in laws]
    said += [(name, law, [w for w in law.warnings_ if w not in law.diagnostics_.trend]) for name, law in cost_laws]
    return [f"{name} ({law.form_.name}): {warning}" for name, law, warnings in said for warning in warnings]
