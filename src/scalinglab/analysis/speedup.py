"""How much faster each size trains with W data-parallel workers, from runs that differ only in
`training.data_parallel` (train.data_parallel): measured, never modelled.

Per configuration (the size axes and every other swept setting but the learning rate) and per W > 1
trained beside W = 1: the speedup is the median `train_seconds` of its W = 1 runs over the median of
its W runs (each median over seeds and repeats), the parallel efficiency the speedup over W. A W = 1
run trained in a batched group has its own time estimated from a probe of its architecture
(train.batched), said where it is so. A size benefits from W workers when the speedup is at least
BENEFIT_EFFICIENCY x W (1.3x at W = 2): below it the workers mostly wait on each other.
Splitting one run's work over W workers cannot make it much more than W times faster (caches
give a superlinear speedup of some tens of percent at most): a configuration measured above
PLAUSIBLE_EFFICIENCY x W is timing noise (a W = 1 run slowed by a busy machine), shown as such
and not counted by anything below.

`speedup_at` carries the measurement to any size for time budgets (recommend --workers): the
speedup of each measured size (the median over its configurations), interpolated linearly in log
parameters between them, beyond them the nearest measured size's (no trend is extrapolated);
`speedup_range_at` carries the measured range (any W = 1 run against any W run) the same way.
Both read `speedups_at` the settings the laws use (`Analysis.reference_speedups`) where measured there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.analysis.numbers import format_count, format_value, join_words
from scalinglab.analysis.runs import ok_runs_at_best_lr, size_axes
from scalinglab.metrics import METRICS, RUN_IDENTITY

BENEFIT_EFFICIENCY = 0.65  # a speedup of at least 0.65 W: 1.3x at W = 2
# Above 1.25 W (2.5x at W = 2), a speedup is timing noise, not parallelism. It was 1.5 W, and a
# 2.7x at W = 2 on a 2-core CPU, where the two workers share the cores one worker had, was said to
# "benefit" at 135 % efficiency.
PLAUSIBLE_EFFICIENCY = 1.25
WORKERS = "data_parallel"


@dataclass
class DataParallelSpeedup:
    """W workers against one, for one configuration."""

    configuration: dict  # the size axes (and any other swept setting)
    n_params: float
    workers: int
    seconds_one: float  # median train_seconds of its W = 1 runs
    seconds_parallel: float  # median train_seconds of its W runs
    runs_one: int
    runs_parallel: int
    one_from_batches: bool  # some W = 1 time is a batched run's estimate of its own
    # (fastest, slowest) train_seconds of its W = 1 runs and of its W runs: the measured range
    seconds_one_range: tuple[float, float] | None = None
    seconds_parallel_range: tuple[float, float] | None = None

    @property
    def speedup(self) -> float:
        return self.seconds_one / self.seconds_parallel

    @property
    def speedup_range(self) -> tuple[float, float]:
        """The lowest and highest speedup of any W = 1 run against any W run (the median's alone
        where the ranges were not recorded)."""
        if self.seconds_one_range is None or self.seconds_parallel_range is None:
            return self.speedup, self.speedup
        (one_fast, one_slow), (parallel_fast, parallel_slow) = self.seconds_one_range, self.seconds_parallel_range
        return one_fast / parallel_slow, one_slow / parallel_fast

    @property
    def efficiency(self) -> float:
        """Speedup per worker: 1 when W workers train W times as fast."""
        return self.speedup / self.workers

    @property
    def plausible(self) -> bool:
        """False where the speedup is beyond what W workers sharing the work can give."""
        return self.speedup <= PLAUSIBLE_EFFICIENCY * self.workers

    @property
    def benefits(self) -> bool:
        return self.plausible and self.speedup >= BENEFIT_EFFICIENCY * self.workers

    def row(self) -> dict:
        return {
            **self.configuration,
            "parameters": self.n_params,
            "workers W": self.workers,
            "train s, W = 1": self.seconds_one,
            "train s, W": self.seconds_parallel,
            "speedup": self.speedup,
            "efficiency": self.efficiency,
            "benefits": ("yes" if self.benefits else "no") if self.plausible else "not counted: timing noise",
            "runs (W = 1 / W)": f"{self.runs_one} / {self.runs_parallel}",
            "W = 1 timed": "in batched groups (estimated)" if self.one_from_batches else "alone",
        }


def data_parallel_speedups(frame: pd.DataFrame) -> list[DataParallelSpeedup]:
    """One DataParallelSpeedup per configuration and W > 1 stored beside W = 1 runs of that
    configuration, in increasing order of W, then parameters; none when W is not varied."""
    runs = ok_runs_at_best_lr(frame)
    if runs.empty or WORKERS not in runs or "train_seconds" not in runs or runs[WORKERS].nunique() < 2:
        return []
    runs = runs[np.isfinite(runs["train_seconds"].astype(float)) & (runs["train_seconds"] > 0)]
    alike = [
        c
        for c in runs.columns
        if c not in METRICS
        and c not in RUN_IDENTITY
        and c not in ("lr", "best_lr", WORKERS)
        and runs[c].nunique(dropna=False) > 1
    ]
    groups = runs.groupby(alike, dropna=False, sort=False) if alike else [((), runs)]
    speedups = [answer for _, group in groups for answer in _configuration(group, alike)]
    return sorted(speedups, key=lambda answer: (answer.workers, answer.n_params))


def _configuration(runs: pd.DataFrame, alike: list[str]) -> list[DataParallelSpeedup]:
    one = runs[runs[WORKERS] == 1]
    if one.empty:
        return []
    shown = dict.fromkeys([*size_axes(runs), *alike])
    configuration = {c: runs[c].iloc[0] for c in shown if runs[c].nunique(dropna=False) == 1}
    batched = bool((one["batch_runs"] > 1).any()) if "batch_runs" in one else False
    return [
        DataParallelSpeedup(
            configuration,
            float(runs["n_params"].mean()) if "n_params" in runs else float("nan"),
            int(workers),
            float(one["train_seconds"].median()),
            float(group["train_seconds"].median()),
            len(one),
            len(group),
            batched,
            (float(one["train_seconds"].min()), float(one["train_seconds"].max())),
            (float(group["train_seconds"].min()), float(group["train_seconds"].max())),
        )
        for workers, group in runs[runs[WORKERS] > 1].groupby(WORKERS)
    ]


def speedups_at(speedups: list[DataParallelSpeedup], settings: dict) -> list[DataParallelSpeedup]:
    """The speedups measured at `settings` (the swept settings' values the laws use, e.g. their
    batch size: a speedup at batch 32 says little of the time at batch 8); all of them where none was."""
    alike = [
        answer
        for answer in speedups
        if all(
            format_value(answer.configuration[name]) == format_value(value)
            for name, value in settings.items()
            if name in answer.configuration
        )
    ]
    return alike or speedups


def speedup_at(speedups: list[DataParallelSpeedup], workers: int, n_params: np.ndarray) -> np.ndarray | None:
    """The measured speedup with `workers` workers at each of `n_params`: interpolated linearly in
    log parameters between the measured sizes, the nearest measured size's beyond them; None when
    no size was measured at that W (1 for W = 1)."""
    n_params = np.asarray(n_params, float)
    if workers == 1:
        return np.ones_like(n_params)
    return _carried(speedup_by_size(speedups, workers), n_params)


def speedup_range_at(
    speedups: list[DataParallelSpeedup], workers: int, n_params: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The lowest and highest speedup measured with `workers` workers (`DataParallelSpeedup.speedup_range`,
    over the configurations of each size), carried to `n_params` as `speedup_at` carries the median;
    None when no size was measured at that W (1, 1 for W = 1)."""
    n_params = np.asarray(n_params, float)
    if workers == 1:
        return np.ones_like(n_params), np.ones_like(n_params)
    low = _carried(_by_size(speedups, workers, lambda answer: answer.speedup_range[0], "min"), n_params)
    high = _carried(_by_size(speedups, workers, lambda answer: answer.speedup_range[1], "max"), n_params)
    return None if low is None or high is None else (low, high)


def _carried(measured: pd.Series, n_params: np.ndarray) -> np.ndarray | None:
    """Per-size values interpolated linearly in log parameters, the nearest size's beyond them."""
    if measured.empty:
        return None
    return np.interp(np.log(n_params), np.log(measured.index.to_numpy(float)), measured.to_numpy(float))


def speedup_by_size(speedups: list[DataParallelSpeedup], workers: int) -> pd.Series:
    """The speedup measured with `workers` workers per parameter count (the median over the
    configurations of that size, e.g. its data sizes), in increasing order of size."""
    return _by_size(speedups, workers, lambda answer: answer.speedup, "median")


def _by_size(speedups: list[DataParallelSpeedup], workers: int, value, how: str) -> pd.Series:
    """`value(answer)` of the answers at `workers` per parameter count, aggregated over a size's
    configurations by `how` ('median', 'min', 'max'), in increasing order of size."""
    at = [answer for answer in speedups if answer.workers == workers and answer.plausible]
    measured = pd.Series([value(answer) for answer in at], index=[answer.n_params for answer in at], dtype=float)
    measured = measured[np.isfinite(measured.index.to_numpy(float)) & (measured.index.to_numpy(float) > 0)]
    return measured.groupby(level=0).agg(how).sort_index()


def benefit_sentences(speedups: list[DataParallelSpeedup]) -> list[str]:
    """Per W measured, which sizes benefit from it and which do not, with each size's speedup (the
    median over its configurations, as `speedup_at` uses it), in one sentence."""
    sentences = []
    for workers in sorted({answer.workers for answer in speedups}):
        rule = BENEFIT_EFFICIENCY * workers
        by_size = speedup_by_size(speedups, workers)
        yes = [f"{format_count(n)} ({speedup:.2f}x)" for n, speedup in by_size.items() if speedup >= rule]
        no = [f"{format_count(n)} ({speedup:.2f}x)" for n, speedup in by_size.items() if speedup < rule]
        verdicts = ([f"the sizes of {join_words(yes)} parameters benefit"] if yes else []) + (
            [f"{'those' if yes else 'the sizes'} of {join_words(no)} {'parameters ' if not yes else ''}do not"]
            if no
            else []
        )
        if verdicts:
            sentences.append(
                f"Measured with {workers} data-parallel workers against one: {' and '.join(verdicts)} (a size "
                f"benefits when its speedup is at least {rule:.2g}x, a parallel efficiency of {BENEFIT_EFFICIENCY:.0%})."
            )
        noise = [answer for answer in speedups if answer.workers == workers and not answer.plausible]
        if noise:
            sentences.append(_noise_sentence(noise))
    return sentences


def _noise_sentence(noise: list[DataParallelSpeedup]) -> str:
    """Which measurements were not counted, and what would measure them."""
    workers = noise[0].workers
    shown = join_words([f"{answer.speedup:.3g}x at {format_count(answer.n_params)} parameters" for answer in noise])
    return (
        f"Not counted: {len(noise)} configuration(s) measured {shown} with {workers} workers, more than "
        f"{PLAUSIBLE_EFFICIENCY * workers:.3g}x, which {workers} workers sharing one run's work cannot give: timing "
        "noise, such as a one-worker run slowed by a busy machine. More seeds of each (or an idle machine) measure it."
    )
