import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from scalinglab.families import TaskShape, get_family

TASK = TaskShape(kind="classification", input_shape=(64,), n_outputs=10)
SIZES = [{"width": 8, "depth": 1}, {"width": 32, "depth": 3}, {"width": 100, "depth": 2}]


@pytest.mark.parametrize("size", SIZES)
def test_parameter_formula_matches_built_module(size):
    family = get_family("mlp")
    module = family.build(size, TASK)
    assert family.n_params(size, TASK) == sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("size", SIZES)
def test_forward_and_training_flops_match_torch_counter(size):
    family = get_family("mlp")
    module = family.build(size, TASK)
    batch = 16
    x, y = torch.randn(batch, 64), torch.randint(0, 10, (batch,))

    with FlopCounterMode(display=False) as forward:
        module(x)
    assert forward.get_total_flops() == pytest.approx(batch * family.forward_flops_per_sample(size, TASK), rel=1e-9)

    with FlopCounterMode(display=False) as step:
        torch.nn.functional.cross_entropy(module(x), y).backward()
    assert step.get_total_flops() == pytest.approx(batch * family.train_flops_per_sample(size, TASK), rel=1e-9)
