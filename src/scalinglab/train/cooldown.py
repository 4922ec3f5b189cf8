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

Stored as runs (`train_branch_group`, through train.dispatch): a sweep with
training.cooldowns = true plans each smaller data size as a branch (RunSpec.cooldown_of: the
size of its parent, the largest size's run, which is itself the longest branch), and one call
trains a group's stable run once and returns one RunResult per branch, each with its own run_key
and its branch point (`branch_tokens`) and cooldown cost (`cooldown_steps`, `cooldown_train_flops`)
in its metrics. Only the branches a group holds are cooled down, and the stable run goes only as
far as the longest of them needs: a sweep killed mid-way retrains what is missing.
Two differences from a run of that data size from scratch, besides the warmup: a branch's tokens
are the parent's first batches, windows drawn from the parent's larger text (as many tokens,
not the first `train_size` bytes; its train_loss and n_train are still measured on its own
subset), and limits.max_seconds is not checked inside a group.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from scalinglab.data import training_subset
from scalinglab.run_spec import RunResult, RunSpec
from scalinglab.train.checkpoint import save_run_checkpoint
from scalinglab.train.device import autocast
from scalinglab.train.loop import Trace, epoch_point, measured_metrics, prepare_run, run_task
from scalinglab.train.optim import lr_multiplier, make_optimizer, optimizer_step, warmup_steps, wsd_decay_start
from scalinglab.train.outcome import Diverged, run_outcome
from scalinglab.train.probe import step_costs


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
    points, stable_steps = [], 0
    for branch in _branches(spec, lengths, stable_length=max(lengths)):
        tokens = float(branch.length * spec.training.batch_size * branch.task.context)
        points.append(CooldownPoint(branch.length, tokens, branch.val_scores, branch.length - branch.start))
        stable_steps = branch.start
    return points, stable_steps


@dataclass
class _Branch:
    length: int
    start: int  # the step it left the stable run
    model: torch.nn.Module
    task: object
    losses: list[torch.Tensor]  # every step's loss it trained on, the stable run's first
    norms: list[torch.Tensor]
    seconds: float  # of optimizer steps, the stable run's up to `start` included
    val_scores: dict[str, float]


def _branches(spec: RunSpec, lengths: list[int], *, stable_length: int) -> Iterator[_Branch]:
    """Each branch in order of length, trained as it is yielded; the stable run's warmup and data
    order are those of a "wsd" run of `stable_length` steps (the parent's)."""
    settings, device = spec.training, spec.limits.device
    if settings.schedule != "wsd":
        raise ValueError(f"cooldown branches need schedule = 'wsd', not '{settings.schedule}'")
    run = prepare_run(spec, training_subset(spec.data))
    batches = _batches(run.task, spec, steps=max(lengths))
    optimizer = make_optimizer(list(run.model.parameters()), settings, device)
    stable = lr_multiplier(settings.model_copy(update={"schedule": "constant"}), total_steps=stable_length)
    warmup = warmup_steps(settings, total_steps=stable_length)
    losses, norms, seconds, step = [], [], 0.0, 0
    for length in sorted(lengths):
        start = wsd_decay_start(length, warmup=warmup)
        started = time.perf_counter()
        for stable_step in range(step, start):
            _step(run, optimizer, batches[stable_step], settings.lr * stable(stable_step), losses, norms)
        seconds += time.perf_counter() - started
        step = start
        branch = copy.deepcopy(run.model)
        branch_optimizer = make_optimizer(list(branch.parameters()), settings, device)
        branch_optimizer.load_state_dict(copy.deepcopy(optimizer.state_dict()))  # its own moments, not shared
        cooldown = lr_multiplier(settings, total_steps=length)
        branch_losses, branch_norms, started = list(losses), list(norms), time.perf_counter()
        for branch_step in range(start, length):
            _step(
                run,
                branch_optimizer,
                batches[branch_step],
                settings.lr * cooldown(branch_step),
                branch_losses,
                branch_norms,
                model=branch,
            )
        branch_seconds = seconds + time.perf_counter() - started
        with autocast(settings.precision, device):
            scores = run.task.evaluate(branch, split="val")
        yield _Branch(length, start, branch, run.task, branch_losses, branch_norms, branch_seconds, scores)


def train_branch_group(specs: Sequence[RunSpec]) -> list[RunResult]:
    """Train the cooldown branches `specs` (runs of one parent, RunSpec.cooldown_parent; the parent itself may
    be among them) from one stable run and return one result per spec, in order, each by
    `run_outcome`'s rule: a stable run that diverges makes every branch not yet cut diverged.
    Raises ValueError when `specs` have different parents."""
    specs = list(specs)
    parent = specs[0].cooldown_parent()
    if any(spec.cooldown_parent().run_key != parent.run_key for spec in specs):
        raise ValueError("a branch group holds the branches of one parent run")
    device = parent.limits.device
    steps = {
        spec.run_key: run_task(spec.data, spec.size, device=device).steps_per_epoch(spec.training.batch_size)
        for spec in specs
    }
    parent_steps = run_task(parent.data, parent.size, device=device).steps_per_epoch(parent.training.batch_size)
    by_length: dict[int, list[RunSpec]] = {}
    for spec in specs:
        by_length.setdefault(steps[spec.run_key], []).append(spec)
    results: dict[str, RunResult] = {}
    branches = _branches(parent, list(by_length), stable_length=parent_steps)
    try:
        for branch in branches:
            for spec in by_length[branch.length]:
                curves: list[dict[str, float]] = []
                results[spec.run_key] = run_outcome(
                    spec, lambda spec=spec, curves=curves: _branch_metrics(spec, branch, curves), curves
                )
    except Exception as error:  # the stable run failed: so did every branch not cut from it yet
        for spec in specs:
            if spec.run_key not in results:
                results[spec.run_key] = run_outcome(spec, lambda error=error: _raise(error))
    return [results[spec.run_key] for spec in specs]


def _raise(error: Exception):
    raise error


def _branch_metrics(spec: RunSpec, branch: _Branch, curves: list[dict[str, float]]) -> dict[str, float]:
    """A branch measured as a run of its own (train.loop.measured_metrics) on its own data size's
    task, plus where it left its parent and what its cooldown cost."""
    prepared = prepare_run(spec, training_subset(spec.data))
    prepared = dataclasses.replace(prepared, model=branch.model)
    losses, norms = torch.stack(branch.losses).cpu(), torch.stack(branch.norms).cpu()
    tokens_per_step = spec.training.batch_size * branch.task.context
    curves.append(
        epoch_point(
            1,
            losses,
            norms,
            branch.val_scores,
            0.0,
            branch.seconds,
            seen={"tokens_seen": float(branch.length * tokens_per_step)},
        )
    )
    trace = Trace(
        step_losses=losses.tolist(),
        grad_norms=norms.tolist(),
        step_seconds=branch.seconds,
        peak_memory_bytes=step_costs(prepared.model, prepared.task, spec).peak_memory_bytes,
    )
    metrics = measured_metrics(
        prepared, trace, curves, train_seconds=branch.seconds, batch_wall_seconds=branch.seconds, batch_runs=1
    )
    save_run_checkpoint(branch.model, spec)
    cooldown_steps = branch.length - branch.start
    return {
        **metrics,
        "branch_tokens": float(branch.start * tokens_per_step),
        "cooldown_steps": float(cooldown_steps),
        "cooldown_train_flops": metrics["train_flops"] * cooldown_steps / branch.length,
    }


def _batches(task, spec: RunSpec, *, steps: int) -> list:
    """The first `steps` training batches in the order the run draws them (epoch after epoch)."""
    if steps > task.steps_per_epoch(spec.training.batch_size) * spec.training.epochs:
        raise ValueError(f"{steps} steps is past the {spec.training.epochs} epochs of training data")
    shuffle, batches = torch.Generator().manual_seed(spec.seed), []
    while len(batches) < steps:
        batches.extend(task.train_batches(spec.training.batch_size, shuffle))
    return batches[:steps]


def _step(run, optimizer, batch, lr: float, losses: list, norms: list, *, model=None) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
    x, y = batch
    loss, grad_norm = optimizer_step(
        model or run.model, optimizer, run.task.loss, x, y, run.spec.training, run.spec.limits.device
    )
    if not bool(loss.isfinite()):
        raise Diverged("non-finite training loss in a cooldown branch")
    losses.append(loss.detach())
    norms.append(grad_norm.detach())
