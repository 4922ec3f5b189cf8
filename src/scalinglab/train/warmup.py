"""One-time process warm-up, paid before any run's clock starts.

The first training step of a process imports parts of torch lazily (the optimizers pull in
torch._dynamo), initialises kernels and grows the allocator: about a second that would
otherwise land in the first run's `train_seconds` and bend the fitted time law. A tiny model
takes those costs once per (device, precision, optimizer), through the same calls a run makes.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

from scalinglab.run_spec import TrainingSpec
from scalinglab.train.device import autocast, synchronize
from scalinglab.train.measure import peak_tensor_bytes
from scalinglab.train.optim import make_optimizer, make_scheduler, optimizer_step

log = logging.getLogger("scalinglab.train.warmup")

WARM_STEPS = 10

_warm: set[tuple[str, str, str]] = set()


def warm_up(device: str, settings: TrainingSpec) -> None:
    """Run a few steps of a tiny model on `device` with the run's precision and optimizer, once per process."""
    key = (device, settings.precision, settings.optimizer)
    if key in _warm:
        return
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 4)).to(device)
    params = list(model.parameters())
    optimizer = make_optimizer(params, settings, device)
    scheduler = make_scheduler(optimizer, settings, total_steps=3)
    x, y = torch.randn(64, 64, device=device), torch.randint(0, 4, (64,), device=device)
    loss_of = lambda output, target: F.cross_entropy(output.float(), target)  # as a classification task's loss

    def step():
        returned = optimizer_step(model, optimizer, loss_of, x, y, settings, device)
        scheduler.step()
        return returned

    peak_tensor_bytes(model, step)
    for _ in range(WARM_STEPS):
        step()
    _warm_up_vmap(model, x, y)
    with torch.no_grad(), autocast(settings.precision, device):
        model.eval()(x).argmax(dim=1)
    synchronize(device)
    _warm.add(key)
    log.debug("warmed up %s for %s training with %s", device, settings.precision, settings.optimizer)


def _warm_up_vmap(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    """A forward and backward through vmap(functional_call), the batched trainer's path."""
    from torch.func import functional_call, stack_module_state, vmap

    params, buffers = stack_module_state([model, model])
    params = {name: tensor.detach().requires_grad_() for name, tensor in params.items()}
    loss = vmap(lambda p, b, inputs: F.cross_entropy(functional_call(model, (p, b), (inputs,)), y))(
        params, buffers, torch.stack([x, x])
    )
    loss.sum().backward()
