"""The predicted time to a target loss with W data-parallel workers, per configuration, built from
what the sweep measured (issue 24): the steps to the target from the critical batch size
(analysis.batch_size) or the run's own curve, one worker's seconds per step, and the speedup
measured at W (analysis.speedup). Nothing here is measured anew or modelled beyond those.

Per configuration of the runs the laws are fitted to (one worker, each swept setting at the value
the laws use; one configuration per x and group_by, e.g. size and data size), at its batch size B:
- the target loss: the rule of analysis.batch_size (`target_loss`, its one home), the lowest
  training loss every compared curve reached. With a batch-size sweep the curves compared are the
  configuration's batch sizes (its `CriticalBatch` target); otherwise its one seed-mean curve, whose
  target is then the lowest epoch-mean training loss it reached;
- the steps S to the target at B: with a fitted B_crit, McCandlish et al. (2018, arXiv:1812.06162)
  S(B) = S_min (1 + B_crit / B); with a batch-size sweep that fitted none, the steps measured at B;
  otherwise the steps measured on its own curve (`steps_to`, interpolated between epochs);
- one worker's seconds per step: the median over its runs of train_seconds / (epochs x steps per
  epoch), per-epoch evaluation included as in train_seconds;
- with W workers: seconds_to_target = S x seconds per step / speedup(W), the global batch staying B
  (`training.data_parallel`); the speedup is `speedup_at` (measured at this size, or carried from
  the measured sizes in log parameters) and its range `speedup_range_at` (any W = 1 run against any
  W run), which with the steps' 95 % interval (where fitted: `CriticalBatch.steps_interval`) gives
  the time's range, each at its ends; both speedups from the configurations at the settings the laws use
  (their batch size, where batch size is swept too) when those were measured. A W no size was
  measured at gets no time, said in words.
- a W-times larger global batch (each worker keeping B): S(W B) = S_min (1 + B_crit / (W B)). Below
  B_crit it still cuts the steps almost W-fold; beyond it, it buys little. B is compared with
  B_crit's 95 % interval (`CriticalBatch.b_crit_interval`): inside it, the answer is not determined
  and said so; without an interval, with its value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scalinglab.analysis.batch_size import CriticalBatch, mean_curve, samples_per_epoch, steps_to, target_loss
from scalinglab.analysis.numbers import format_count, format_value
from scalinglab.analysis.speedup import DataParallelSpeedup, speedup_at, speedup_by_size, speedup_range_at


@dataclass
class WorkersTime:
    """The predicted time to the target with `workers` workers at the configuration's batch size."""

    workers: int
    speedup: float  # 1 for one worker
    speedup_range: tuple[float, float]  # lowest, highest measured
    speedup_measured_here: bool  # this size was measured at W (else carried from the measured sizes)
    seconds_to_target: float
    # low: the steps' 95 % low end at the highest speedup; high: their high end at the lowest
    seconds_to_target_range: tuple[float, float]


@dataclass
class TimeToTarget:
    """One configuration's steps and seconds to its target training loss, per W."""

    configuration: dict  # x and group_by (and the size axes when known)
    size: float  # its x value
    group: object  # its group_by value
    n_params: float
    target_loss: float
    batch_size: int
    steps_to_target: float  # at batch_size
    steps_from: str  # 'the critical-batch fit' or 'measured on its curve'
    seconds_per_step: float  # one worker's
    critical: CriticalBatch | None = None  # its fitted steps-examples trade-off, where there is one
    workers: dict[int, WorkersTime] = field(default_factory=dict)

    @property
    def b_crit(self) -> float | None:
        return None if self.critical is None else self.critical.b_crit

    @property
    def steps_interval(self) -> tuple[float, float] | None:
        """95 % interval of the steps to the target (the fit's; None for steps measured on a curve)."""
        return None if self.critical is None else self.critical.steps_interval(self.batch_size)

    def larger_batch_words(self, workers: int) -> str:
        """Where the batch lies against B_crit (its 95 % interval where it has one) and, for W > 1,
        whether a W-times larger global batch would still cut the steps to the target."""
        if self.b_crit is None:
            return "B_crit not determined (sweep batch_size over 3 or more values to fit it)"
        interval = self.critical.b_crit_interval
        low, high = interval or (self.b_crit, self.b_crit)
        b_crit = f"B_crit = {self.b_crit:.3g}" + (
            f" (95% {low:.3g} to {high:.3g})" if interval else " (its 95% interval not determined)"
        )
        side = "below" if self.batch_size < low else "beyond" if self.batch_size > high else "within the interval of"
        if interval is None and side != "below":
            side = "at or beyond"
        words = f"B = {self.batch_size} is {side} {b_crit}"
        if workers == 1:
            return words
        now, larger = self.critical.steps_at(self.batch_size), self.critical.steps_at(workers * self.batch_size)
        verdict = {
            "below": "would still cut",
            "within the interval of": "may or may not pay: the fit says it cuts",
        }.get(side, "buys little, cutting")
        return (
            f"{words}: a {workers}x larger global batch ({workers * self.batch_size}) {verdict} the steps to the "
            f"target by {1 - larger / now:.0%} ({format_count(larger)} instead of {format_count(now)})"
        )

    def time_words(self, workers: int) -> str:
        """'12.3 s (range 10 to 14 s) at 20.5k parameters, train_size = 1600, to a training loss of 0.31'."""
        time = self.workers[workers]
        where = ", ".join(f"{name} = {format_value(value)}" for name, value in self.configuration.items())
        low, high = time.seconds_to_target_range
        spread = "" if math.isclose(low, high, rel_tol=1e-9) else f" (range {low:.3g} to {high:.3g} s)"
        return (
            f"{time.seconds_to_target:.3g} s{spread} at "
            f"{format_count(self.n_params)} parameters, {where}, to a training loss of {self.target_loss:.3g}"
        )

    def _steps_interval_words(self) -> str:
        if self.critical is None:
            return "none (measured on its curve)"
        interval = self.steps_interval
        return _range_words(interval, "") if interval else "not determined (too few batch sizes, or it reaches 0)"

    def rows(self) -> list[dict]:
        """One table row per W: the report's table."""
        return [
            {
                **self.configuration,
                "parameters": self.n_params,
                "workers W": workers,
                "speedup at W": time.speedup,
                "speedup measured": _range_words(time.speedup_range, "x")
                + ("" if time.speedup_measured_here or workers == 1 else " (carried from the measured sizes)"),
                "target train loss": self.target_loss,
                "steps to target": self.steps_to_target,
                "steps 95% interval": self._steps_interval_words(),
                "steps from": self.steps_from,
                "one worker's s/step": self.seconds_per_step,
                "seconds_to_target": time.seconds_to_target,
                "seconds_to_target range": _range_words(time.seconds_to_target_range, " s"),
                "batch vs B_crit": self.larger_batch_words(workers),
            }
            for workers, time in sorted(self.workers.items())
        ]


def _range_words(bounds: tuple[float, float], unit: str) -> str:
    low, high = bounds
    return f"{low:.3g}{unit}" if math.isclose(low, high, rel_tol=1e-9) else f"{low:.3g} to {high:.3g}{unit}"


def times_to_target(
    runs: pd.DataFrame,
    curves: pd.DataFrame | None,
    critical_batch: list[CriticalBatch],
    speedups: list[DataParallelSpeedup],
    *,
    x: str,
    group_by: str,
) -> list[TimeToTarget]:
    """One TimeToTarget per configuration of `runs` (the runs the laws are fitted to) with a target
    and a measured time per step, in increasing order of parameters; with W = 1 and every W > 1
    that some size was measured at (`speedups`: those at the settings the runs use, `speedups_at`)."""
    needed = {x, group_by, "batch_size", "epochs", "train_seconds", "n_params", "n_train", "run_key"}
    if runs.empty or not needed <= set(runs.columns):
        return []
    answers = []
    for _, group in runs.groupby([x, group_by], sort=True):
        answer = _configuration(group, curves, critical_batch, x=x, group_by=group_by)
        if answer is not None:
            answers.append(answer)
    measured_workers = sorted({answer.workers for answer in speedups})
    for workers in [1, *measured_workers]:
        _add_workers(answers, speedups, workers)
    return sorted(answers, key=lambda answer: (answer.n_params, answer.group))


def _configuration(
    runs: pd.DataFrame, curves: pd.DataFrame | None, critical_batch: list[CriticalBatch], *, x: str, group_by: str
) -> TimeToTarget | None:
    first = runs.iloc[0]
    if any(pd.isna(first[column]) or not first[column] > 0 for column in ("batch_size", "n_train")):
        return None  # no steps to count (e.g. an objective's own training)
    batch = int(first["batch_size"])
    per_epoch = math.ceil(samples_per_epoch(first) / batch)
    seconds = runs["train_seconds"].astype(float) / (runs["epochs"].astype(float) * per_epoch)
    seconds = seconds[np.isfinite(seconds) & (seconds > 0)]
    if seconds.empty:
        return None
    fitted = _critical_batch_of(first, critical_batch)
    if fitted is not None and fitted.b_crit is not None:
        target, steps, source = fitted.target_loss, fitted.steps_at(batch), "the critical-batch fit"
    elif fitted is not None and batch in fitted.batch_sizes:
        target, steps, source = (
            fitted.target_loss,
            fitted.steps[fitted.batch_sizes.index(batch)],
            "measured on its curve",
        )
    else:
        curve = mean_curve(curves, runs["run_key"]) if curves is not None and not curves.empty else None
        curve = curve.dropna() if curve is not None else None
        if curve is None or curve.empty:
            return None
        target = target_loss([curve])
        steps, source = steps_to(curve, target, per_epoch), "measured on its curve"
    if not (math.isfinite(target) and math.isfinite(steps) and steps > 0):
        return None  # never a nan or infinite time: the configuration is left out
    return TimeToTarget(
        _shown(first, x, group_by),
        float(first[x]),
        first[group_by],
        float(runs["n_params"].mean()),
        float(target),
        batch,
        float(steps),
        source,
        float(seconds.median()),
        fitted if fitted is not None and fitted.b_crit is not None else None,
    )


def _shown(run: pd.Series, x: str, group_by: str) -> dict:
    return {x: run[x], group_by: run[group_by]} if x != "n_params" else {group_by: run[group_by]}


def _critical_batch_of(run: pd.Series, critical_batch: list[CriticalBatch]) -> CriticalBatch | None:
    """The critical batch answer whose configuration this run belongs to, if any."""
    for answer in critical_batch:
        if answer.batch_sizes and all(
            name in run and format_value(run[name]) == format_value(value)
            for name, value in answer.configuration.items()
        ):
            return answer
    return None


def _add_workers(answers: list[TimeToTarget], speedups: list[DataParallelSpeedup], workers: int) -> None:
    if not answers:
        return
    n_params = np.array([answer.n_params for answer in answers], float)
    speedup, (low, high) = speedup_at(speedups, workers, n_params), speedup_range_at(speedups, workers, n_params)
    here = set(speedup_by_size(speedups, workers).index) if workers > 1 else set()
    for i, answer in enumerate(answers):
        fewest, most = answer.steps_interval or (answer.steps_to_target, answer.steps_to_target)
        answer.workers[workers] = WorkersTime(
            workers,
            float(speedup[i]),
            (float(low[i]), float(high[i])),
            answer.n_params in here,
            answer.steps_to_target * answer.seconds_per_step / float(speedup[i]),
            (fewest * answer.seconds_per_step / float(high[i]), most * answer.seconds_per_step / float(low[i])),
        )


def time_sentence(answers: list[TimeToTarget]) -> str:
    """The report's one sentence on the predicted time to the target with W workers."""
    measured_workers = sorted({workers for answer in answers for workers in answer.workers if workers > 1})
    if not answers:
        return (
            "The time to a target loss is not determined: no configuration has both a stored curve and a measured "
            "training time."
        )
    rule = (
        "steps to each size's target training loss at its batch size (S_min (1 + B_crit / B), McCandlish et al. "
        "2018, where a batch-size sweep fitted B_crit; else measured on its curve, the target being the lowest "
        "loss every batch size reached, or its own lowest) times one worker's seconds per step"
    )
    if not measured_workers:
        return (
            f"Predicted time to a target loss: {rule}; no W > 1 was measured, so these are one worker's times "
            "(sweep training.data_parallel = [1, 2] to measure the speedup at W = 2)."
        )
    workers = max(measured_workers)
    by_time = sorted(answers, key=lambda answer: answer.workers[workers].seconds_to_target)
    quickest, slowest = by_time[0], by_time[-1]
    return (
        f"Predicted time to a target loss with W workers: {rule}, divided by the speedup measured at W; with "
        f"{workers} workers, from {quickest.time_words(workers)} to {slowest.time_words(workers)}, each to its own "
        "target (table below)."
    )
