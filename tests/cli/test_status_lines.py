"""`scalinglab status` names each failed run as the sweep names it while training."""

from __future__ import annotations

from scalinglab.cli.status import _label
from scalinglab.config import load_config
from scalinglab.sweeper.plan import plan_runs


def test_a_failure_line_tells_runs_of_two_data_sizes_apart():
    """Seen: two failed runs of one width and seed at data sizes 100 and 200 printed alike."""
    config = load_config(None, ["model.width=[4]", "data.train_size=[100, 200]", "seeds=[0]"])
    labels = {_label(spec.model_dump(mode="json")) for spec in plan_runs(config)}
    assert labels == {"mlp width=4 depth=2 n=100 seed=0", "mlp width=4 depth=2 n=200 seed=0"}
    assert _label({"family": "mlp", "size": {"width": 4}, "seed": 1, "stale": True}) == "mlp width=4 seed=1"
