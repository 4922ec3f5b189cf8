"""The statistics of compressions over seeds: each configuration's mean and 95% interval, and
the seed-by-seed difference between two configurations. numpy, pandas and scipy only.

Each configuration (method, settings, parent size, data size) is summarised over seeds by its mean
and a 95% interval (none with one seed) that stays in the quantity's range: for losses, bytes and
times a t-interval of the mean log, exponentiated; for accuracy and F1 a t-interval clipped to
[0, 1].

Two models are compared seed by seed: the same seed fixes both models' data order and
initialisation stream, so the per-seed differences cancel what a seed does to both (a paired
comparison; Student, "The probable error of a mean", Biometrika 6, 1908, who introduced the t
distribution for exactly such paired differences).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from scalinglab.compress.registry import KNOBS
from scalinglab.metrics import QUALITY, lower_is_better

# What one configuration is: the columns seed_summary groups by (its rows differ only by seed).
CONFIGURATION = ["method", "variant", "parent_n_params", "student", "train_size"]
LEVEL = 0.95
# Where projecting the seeds a verdict needs stops: a difference this many seeds cannot resolve
# is called a tie.
MOST_SEEDS = 100


def seed_summary(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per configuration (variant, parent size, student, data size): mean of `columns`, their 95%
    interval over seeds (<col>_low, <col>_high; `column_interval`, NaN with one seed) and n_seeds.
    ok rows only."""
    ok = frame[frame["status"] == "ok"]
    summaries = []
    for key, group in ok.groupby(CONFIGURATION, dropna=False, sort=True):
        summary = dict(zip(CONFIGURATION, key))
        summary["n_seeds"] = len(group)
        for column in [c for c in (*columns, "n_params") if c in group]:
            values = group[column].to_numpy(float)
            low, high = column_interval(column, values)
            summary.update({column: float(values.mean()), f"{column}_low": low, f"{column}_high": high})
        summaries.append(summary)
    return pd.DataFrame(summaries)


def column_interval(column: str, values: np.ndarray) -> tuple[float, float]:
    """The 95% interval of the mean of `values` of `column`, inside the range the column can take:
    accuracy and F1 (the quality metrics where higher is better) clipped to [0, 1]; a column whose
    values are all positive (losses, bytes, times, counts) on the log scale; anything else plain."""
    values = np.asarray(values, float)
    if column in QUALITY and not lower_is_better(column):
        low, high = mean_interval(values)
        return (low, high) if math.isnan(low) else (max(low, 0.0), min(high, 1.0))
    if len(values) and np.all(values > 0):
        return positive_mean_interval(values)
    return mean_interval(values)


def mean_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Student-t interval of the mean of `values` (NaN, NaN for fewer than two), for quantities that
    may take either sign, such as differences."""
    values = np.asarray(values, float)
    if len(values) < 2:
        return math.nan, math.nan
    half = t_factor(len(values), level) * values.std(ddof=1) / math.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def positive_mean_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The t-interval of the mean log of positive `values`, exponentiated: an interval of the
    geometric mean that never reaches zero (NaN, NaN for fewer than two). For seed spreads of a few
    percent the geometric and arithmetic means agree to three digits."""
    low, high = mean_interval(np.log(np.asarray(values, float)), level)
    return (low, high) if math.isnan(low) else (math.exp(low), math.exp(high))


def t_factor(n: int | np.ndarray, level: float = LEVEL):
    """Half-width of a `level` t-interval in standard errors, for n values (12.7 for two at 95%)."""
    return stats.t.ppf(0.5 + level / 2, np.asarray(n) - 1)


def seeds_to_decide(mean_difference: float, sd: float, level: float = LEVEL) -> int | None:
    """The fewest seeds n (at least 2) whose `level` t-interval, t_{n-1} * sd / sqrt(n), would be
    narrower than |mean_difference|, were the mean and the spread `sd` of the paired differences
    to stay as measured; None when not even MOST_SEEDS would."""
    n = np.arange(2, MOST_SEEDS + 1)
    enough = t_factor(n, level) * sd / np.sqrt(n) < abs(mean_difference)
    return int(n[enough][0]) if enough.any() else None


@dataclass(frozen=True)
class PairedDifference:
    """A compressed model's metric minus the trained one's, seed by seed over the seeds both have:
    their mean, the 95% t-interval (NaN with one seed) and the standard deviation (NaN with one)."""

    mean: float
    low: float
    high: float
    sd: float
    n_seeds: int

    @classmethod
    def of(cls, compressed: pd.Series, trained: pd.Series) -> PairedDifference | None:
        """From two Series of one metric indexed by seed; None when they share no seed."""
        seeds = compressed.index.intersection(trained.index)
        if seeds.empty:
            return None
        differences = (compressed[seeds] - trained[seeds]).to_numpy(float)
        low, high = mean_interval(differences)
        sd = float(differences.std(ddof=1)) if len(differences) > 1 else math.nan
        return cls(float(differences.mean()), low, high, sd, len(differences))

    def decided(self) -> bool:
        """Whether the interval leaves out zero (never with one seed: no spread to judge by)."""
        return self.n_seeds > 1 and (self.low > 0 or self.high < 0)

    def seeds_needed(self) -> int | None:
        """`seeds_to_decide` at the measured mean and spread (None with one seed)."""
        return None if self.n_seeds < 2 else seeds_to_decide(self.mean, self.sd)


def per_seed(frame: pd.DataFrame, configuration: pd.Series, metric: str) -> pd.Series:
    """`metric` of the ok rows of one configuration (a `seed_summary` row), one value per seed."""
    rows = frame[frame["status"] == "ok"]
    same = np.ones(len(rows), dtype=bool)
    for column in CONFIGURATION:
        value = configuration[column]
        same &= rows[column].isna().to_numpy() if pd.isna(value) else (rows[column] == value).to_numpy()
    return rows[same].groupby("seed")[metric].mean()


def sensitivity(
    frame: pd.DataFrame, method: str, *, metric: str = "val_loss", train_size: float | None = None
) -> pd.DataFrame:
    """Quality against the method's knob, per parent size: parent_n_params, the knob, metric
    (mean over seeds), its interval, and `<metric>_change`, the change from the parent itself.
    Without fine-tuning where that is a setting, so the curve shows the compression alone."""
    knob = KNOBS[method]
    rows = frame[(frame["method"] == method) & (frame["status"] == "ok")]
    if "finetune_epochs" in rows:
        rows = rows[rows["finetune_epochs"].fillna(0) == 0]
    if rows.empty or knob not in rows:
        return pd.DataFrame()
    train_size = frame["train_size"].max() if train_size is None else train_size
    rows = rows[rows["train_size"] == train_size]
    parents = frame[(frame["method"] == "none") & (frame["status"] == "ok")].set_index("parent_run_key")[metric]
    rows = rows.assign(change=rows[metric].to_numpy() - parents.reindex(rows["parent_run_key"]).to_numpy())
    extra = ["mode"] if method == "quantize" else []
    result = []
    for key, group in rows.groupby(["parent_n_params", knob, *extra], sort=True):
        low, high = column_interval(metric, group[metric].to_numpy())
        result.append(
            {
                "parent_n_params": key[0],
                knob: key[1],
                **dict(zip(extra, key[2:])),
                metric: group[metric].mean(),
                f"{metric}_low": low,
                f"{metric}_high": high,
                f"{metric}_change": group["change"].mean(),
            }
        )
    return pd.DataFrame(result)
