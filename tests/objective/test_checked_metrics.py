"""What an objective returns is checked before it is stored: values its column cannot hold fail the run."""

from __future__ import annotations

import pytest

from scalinglab.train.objective import ObjectiveResultError, checked_metrics


@pytest.mark.parametrize(
    "returned, message",
    [
        ({"val_loss": 1.0, "n_params": -50}, "metric 'n_params' must be a whole number >= 1 (got -50)"),
        ({"val_loss": 1.0, "n_params": 12.5}, "metric 'n_params' must be a whole number >= 1"),
        ({"val_loss": 1.0, "n_params": 10, "train_seconds": -3}, "metric 'train_seconds' must be >= 0"),
        ({"val_loss": 1.0, "n_params": 10, "val_accuracy": 1.7}, "metric 'val_accuracy' must lie between 0 and 1"),
        ({"val_loss": -0.1, "n_params": 10}, "metric 'val_loss' must be >= 0"),
    ],
)
def test_a_value_its_column_cannot_hold_is_refused(returned, message):
    """Seen stored as ok: "params -50", "train s -3", "val acc 1.7"."""
    with pytest.raises(ObjectiveResultError, match=message.replace("(", r"\(").replace(")", r"\)")):
        checked_metrics(returned, required=("val_loss", "n_params"))


def test_possible_values_and_columns_of_its_own_are_kept():
    returned = {"val_loss": 0.0, "n_params": 10, "val_accuracy": 1.0, "generalization_gap": -0.2, "my_score": -4}
    returned |= {"val_loss_change": -0.1, "memory_saved": -5.0}  # a user's own column is theirs to define
    assert checked_metrics(returned, required=("val_loss", "n_params")) == {k: float(v) for k, v in returned.items()}
