"""From a results DataFrame to fitted laws and what they answer, computed once (`analyze`).

By job: `groups` (a law per data size, cost laws), `joint` (L(N, D), compute-optimal N* and D*,
the data-limited size, IsoFLOP), `settings` (settings x size, width vs depth), `sentences` (the
answers in words), `numbers` (number formatting), `pipeline` (`analyze` and `Analysis`).
"""

from scalinglab.analysis.groups import CostLaw, FitOutcome, GroupFit, backtest_largest, fit_metric_vs_params
from scalinglab.analysis.joint import JointLaw, fit_joint
from scalinglab.analysis.numbers import format_count, format_factor
from scalinglab.analysis.pipeline import Analysis, analyze
from scalinglab.analysis.sentences import describe_cost, describe_fit, scaling_effect

__all__ = [
    "Analysis",
    "CostLaw",
    "FitOutcome",
    "GroupFit",
    "JointLaw",
    "analyze",
    "backtest_largest",
    "describe_cost",
    "describe_fit",
    "fit_joint",
    "fit_metric_vs_params",
    "format_count",
    "format_factor",
    "scaling_effect",
]
