"""Cooldown branches: the losses of several training lengths from one warmup-stable-decay run.

With a constant rate after warmup, a run can be stopped at any length by cooling its rate down
over a short final stretch, and the cooled-down model's loss matches that of a run trained for
that length alone with the same schedule (Hägele et al. 2024, "Scaling Laws and Compute-Optimal
Training Beyond Fixed Training Durations", arXiv:2405.18392, section 4; fitting laws on such
points: Choshen et al. 2025, "A Hitchhiker's Guide to Scaling Law Estimation"). So one stable run
and a cooldown per length give a whole tokens-seen axis for about the cost of the longest run
plus the cooldowns, not the sum of every length.

`cooldown_branches` trains the run `spec` describes (schedule = "wsd") at its stable rate; a branch
of `length` steps copies the model and optimizer state at the step where a "wsd" run of that
length would start its cooldown (train.optim.wsd_decay_start), cools the copy down over the
remaining steps exactly as that run's schedule does, on the batches the stable run goes on to
draw, and scores it on the validation split. The one difference from a run of that length alone
is the warmup, `warmup_fraction` of the longest length rather than of its own.

This is the training half of cooldowns; they are not yet stored as runs of their own by the
sweeper (issue 25 item 3).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from scalinglab.data import training_subset
from scalinglab.run_spec import RunSpec
from scalinglab.train.device import autocast
from scalinglab.train.loop import prepare_run
from scalinglab.train.optim import lr_multiplier, make_optimizer, optimizer_step, warmup_steps, wsd_decay_start
from scalinglab.train.outcome import Diverged


@dataclass(frozen=True)
class CooldownPoint:
    """One branch: its length, what it had seen, its validation scores, and the steps it cost
    beyond the stable run (its cooldown)."""

    steps: int
    tokens_seen: float
    val_scores: dict[str, float]
    cooldown_steps: int


def cooldown_branches(spec: RunSpec, lengths: list[int]) -> tuple[list[CooldownPoint], int]:
    """The branches of the "wsd" run `spec` at each length in `lengths` (optimizer steps), and the
    steps the stable run trained (its longest branch's decay start). Raises Diverged on a
    non-finite loss and ValueError for a schedule other than "wsd" or a length past the data."""
    settings, device = spec.training, spec.limits.device
    if settings.schedule != "wsd":
        raise ValueError(f"cooldown branches need schedule = 'wsd', not '{settings.schedule}'")
    run = prepare_run(spec, training_subset(spec.data))
    batches = _batches(run.task, spec, steps=max(lengths))
    optimizer = make_optimizer(list(run.model.parameters()), settings, device)
    stable = lr_multiplier(settings.model_copy(update={"schedule": "constant"}), total_steps=max(lengths))
    warmup = warmup_steps(settings, total_steps=max(lengths))
    points, step = [], 0
    for length in sorted(lengths):
        start = wsd_decay_start(length, warmup=warmup)
        for stable_step in range(step, start):
            _step(run, optimizer, batches[stable_step], settings.lr * stable(stable_step))
        step = start
        branch = copy.deepcopy(run.model)
        branch_optimizer = make_optimizer(list(branch.parameters()), settings, device)
        branch_optimizer.load_state_dict(copy.deepcopy(optimizer.state_dict()))  # its own moments, not shared
        cooldown = lr_multiplier(settings, total_steps=length)
        for branch_step in range(start, length):
            _step(run, branch_optimizer, batches[branch_step], settings.lr * cooldown(branch_step), model=branch)
        with autocast(settings.precision, device):
            scores = run.task.evaluate(branch, split="val")
        tokens = float(length * settings.batch_size * run.task.context)
        points.append(CooldownPoint(length, tokens, scores, length - start))
    return points, step


def _batches(task, spec: RunSpec, *, steps: int) -> list:
    """The first `steps` training batches in the order the run draws them (epoch after epoch)."""
    if steps > task.steps_per_epoch(spec.training.batch_size) * spec.training.epochs:
        raise ValueError(f"{steps} steps is past the {spec.training.epochs} epochs of training data")
    shuffle, batches = torch.Generator().manual_seed(spec.seed), []
    while len(batches) < steps:
        batches.extend(task.train_batches(spec.training.batch_size, shuffle))
    return batches[:steps]


def _step(run, optimizer, batch, lr: float, *, model=None) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
    x, y = batch
    loss, _ = optimizer_step(
        model or run.model, optimizer, run.task.loss, x, y, run.spec.training, run.spec.limits.device
    )
    if not bool(loss.isfinite()):
        raise Diverged("non-finite training loss in a cooldown branch")
