"""From a results DataFrame to fitted laws: the step between the store and the report.

Quality (validation loss by default) is fitted against parameters separately for each data size
with the saturating power law L = E + A * N^(-alpha); the fitting itself is `scalinglab.fit`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.fit import ScalingLaw
from scalinglab.results import ok_runs

MIN_SIZES_TO_FIT = 4  # the power law has 3 parameters: fewer distinct sizes cannot test it


@dataclass
class GroupFit:
    """One fitted law: `metric` against `x` for the runs whose `group_by` column equals `group`."""

    metric: str
    x: str
    group_by: str
    group: float
    law: ScalingLaw
    n_points: int
    x_range: tuple[float, float]


@dataclass
class FitOutcome:
    fits: list[GroupFit]
    warnings: list[str]


def fit_metric_vs_params(
    frame: pd.DataFrame,
    *,
    metric: str = "val_loss",
    x: str = "n_params",
    group_by: str = "train_size",
    n_bootstrap: int = 200,
    random_state: int = 0,
) -> FitOutcome:
    """Fit `metric` = E + A * x^(-alpha) for each value of `group_by`, on every ok run (all seeds)."""
    runs = ok_runs(frame)
    fits, warnings = [], []
    if runs.empty:
        return FitOutcome([], ["no finished runs to fit"])
    for group, rows in runs.groupby(group_by, sort=True):
        rows = rows[np.isfinite(rows[metric]) & np.isfinite(rows[x])]
        n_sizes = rows[x].nunique()
        if n_sizes < MIN_SIZES_TO_FIT:
            warnings.append(
                f"{group_by}={group:g}: only {n_sizes} distinct {x} values; a power law needs {MIN_SIZES_TO_FIT} to be tested, not fitted"
            )
            continue
        law = ScalingLaw(form="power", n_bootstrap=n_bootstrap, random_state=random_state)
        law.fit(rows, x=x, y=metric)
        fits.append(GroupFit(metric, x, group_by, float(group), law, len(rows), (rows[x].min(), rows[x].max())))
    return FitOutcome(fits, warnings)


def describe_fit(fit: GroupFit) -> str:
    """One plain sentence about what the exponent means, with its 95% interval when there is one."""
    alpha = fit.law.params_["alpha"]
    ci = (fit.law.ci_ or {}).get("alpha") if hasattr(fit.law, "ci_") else None
    interval = f" (95% CI {ci[0]:.2f} to {ci[1]:.2f})" if ci is not None else ""
    floor = fit.law.params_["E"]
    factor = 10 ** (-alpha)
    return (
        f"With {fit.group_by} = {fit.group:g}, {fit.metric} approaches a floor of {floor:.3f} and the part above it "
        f"shrinks as {fit.x}^-{alpha:.2f}{interval}: each 10x more parameters multiplies the excess by {factor:.2f}."
    )
