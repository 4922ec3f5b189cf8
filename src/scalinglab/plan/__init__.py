"""Choosing which runs to train: an ask/tell planner for any table, and replays of strategies.

>>> from scalinglab.plan import Planner
>>> planner = Planner(x=["N", "D"], y="loss", form="chinchilla", target=target, cost="flops")
>>> planner.tell(finished)
>>> planner.ask(candidates, k=4)

Needs only numpy, scipy and pandas (the fit layer), never torch.
"""

from scalinglab.plan.history import History, recompute_rounds
from scalinglab.plan.planner import Planner, StopDecision
from scalinglab.plan.replay import STRATEGIES, OracleDesign, ReplayResult, oracle_design, replay, target_scores

__all__ = [
    "STRATEGIES",
    "History",
    "OracleDesign",
    "Planner",
    "ReplayResult",
    "StopDecision",
    "oracle_design",
    "recompute_rounds",
    "replay",
    "target_scores",
]
