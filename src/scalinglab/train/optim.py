"""The optimizer and learning-rate schedule of a run, shared by the one-at-a-time loop, the
batched trainer and the process warm-up, and the constants both trainers update with: the
batched trainer calls torch.optim's functional kernels itself, so it must pass exactly what the
torch.optim optimizers built here use."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from scalinglab.run_spec import TrainingSpec
from scalinglab.train.device import autocast

SGD_MOMENTUM = 0.9
ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults, passed explicitly so both trainers share them
ADAM_EPS = 1e-8
# torch.nn.utils.clip_grad_norm_ scales gradients by max_norm / (norm + CLIP_EPS); the batched
# trainer clips every run's rows itself with the same formula.
CLIP_EPS = 1e-6
# schedule = "wsd" (warmup, stable, decay): the last tenth of the steps decays the rate to zero.
# Hägele et al. 2024 ("Scaling Laws and Compute-Optimal Training Beyond Fixed Training Durations",
# arXiv:2405.18392, sections 3-4): a cooldown of 10-20% of training about matches a cosine schedule
# of the same length, and the (1 - sqrt) shape of the decay does better than a linear one. A tenth,
# not a fifth: cooldown branches then cost 46% of training each length alone instead of 52% for a
# 4-value data axis, and still land within 1.6% of those runs (docs/benchmarks.md, cooldowns).
WSD_DECAY_FRACTION = 0.1


def make_optimizer(params: list[torch.Tensor], settings: TrainingSpec, device: str) -> torch.optim.Optimizer:
    """The run's optimizer; fused kernels on CPU and CUDA (one kernel per step, not one per tensor)."""
    lr, wd = settings.lr, settings.weight_decay
    speed = {"fused": True} if torch.device(device).type in ("cpu", "cuda") else {"foreach": True}
    if settings.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=wd, **speed)
    if settings.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=SGD_MOMENTUM, weight_decay=wd, **speed)
    return torch.optim.Adam(params, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=wd, **speed)


def optimizer_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_of: Callable,
    x: torch.Tensor,
    y: torch.Tensor,
    settings: TrainingSpec,
    device: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of a run alone: forward under the precision's autocast, backward, clipping at
    `settings.grad_clip`, the optimizer's update. Returns (loss, gradient norm before clipping) as
    device tensors (no host sync). The one-at-a-time loop and the process warm-up both step here."""
    optimizer.zero_grad(set_to_none=True)
    with autocast(settings.precision, device):
        loss = loss_of(model(x), y)
    loss.backward()
    # With no clipping an infinite threshold still returns the norm, and changes nothing.
    max_norm = settings.grad_clip if settings.grad_clip is not None else float("inf")
    grad_norm = nn.utils.clip_grad_norm_(optimizer.param_groups[0]["params"], max_norm, foreach=True)
    optimizer.step()
    return loss.detach(), grad_norm


def make_scheduler(
    optimizer: torch.optim.Optimizer, settings: TrainingSpec, *, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """The run's learning-rate schedule over `total_steps` steps (`lr_multiplier` times the rate)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_multiplier(settings, total_steps=total_steps))


def lr_multiplier(settings: TrainingSpec, *, total_steps: int):
    """Linear warmup, then the schedule's decay to zero (cosine, linear), a constant rate, or
    "wsd": constant, then a (1 - sqrt) cooldown to zero over the last WSD_DECAY_FRACTION of the steps."""
    warmup = warmup_steps(settings, total_steps=total_steps)
    decay_start = wsd_decay_start(total_steps, warmup=warmup)

    def multiplier(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        if settings.schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
        if settings.schedule == "linear":
            return max(0.0, 1.0 - progress)
        if settings.schedule == "wsd":
            return 1.0 - math.sqrt(min(1.0, max(0.0, step - decay_start) / max(1, total_steps - decay_start)))
        return 1.0

    return multiplier


def warmup_steps(settings: TrainingSpec, *, total_steps: int) -> int:
    """Steps of the linear warmup: `warmup_fraction` of the run, at least one when there is one."""
    return max(1, round(settings.warmup_fraction * total_steps)) if settings.warmup_fraction > 0 else 0


def wsd_decay_start(total_steps: int, *, warmup: int) -> int:
    """The step where a "wsd" run of `total_steps` steps leaves its stable rate and cools down."""
    return max(warmup, total_steps - round(WSD_DECAY_FRACTION * total_steps))
