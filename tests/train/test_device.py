"""training.device: resolved once, refused in one line when the device is not there (issue 9, item 4)."""

from __future__ import annotations

import pytest
import torch

from scalinglab.errors import UserError
from scalinglab.train.device import autocast, resolve_device


def test_auto_picks_the_best_device_present():
    expected = "cuda:0" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert resolve_device("auto") == expected
    assert resolve_device("cpu") == "cpu"


@pytest.mark.parametrize(
    "setting", [f"cuda:{torch.cuda.device_count() if torch.cuda.is_available() else 0}", "tpu", "cuda:x"]
)
def test_a_device_that_is_not_there_or_not_a_device_is_a_user_error(setting):
    with pytest.raises(UserError, match=r"training\.device = '.*'"):
        resolve_device(setting)


def test_bf16_autocasts_on_the_runs_device_and_fp32_does_not():
    with autocast("bf16", "cpu"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with autocast("fp32", "cpu"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
