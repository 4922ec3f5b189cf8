"""Costs that depend only on a run's architecture, measured once per architecture and process.

A model's step time, training-step memory, latency, throughput, inference memory and bytes on
disk follow from its architecture (family, size, task shape) and how it runs (batch size,
precision, optimizer, device), not from its weights, its seed or how much data it sees. So they
are measured once per architecture in a process and shared by every run of it (seeds, data
sizes, learning rates), while what depends on the trained weights (quality, checkpoint,
stability) stays per run.

The step probe is what makes batched training honest about each run's own cost: runs trained
together share one wall time, which says nothing about any one of them. A run's own training
time is its steps times its model's step time alone, plus its evaluations alone (`own_seconds`),
and its peak memory is its own first step's, exactly as a run trained alone measures it.
"""

from __future__ import annotations

import copy
import json
import logging
import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn

from scalinglab.spec import RunSpec
from scalinglab.train.device import autocast, synchronize
from scalinglab.train.measure import inference_costs, step_peak_memory
from scalinglab.train.optim import make_optimizer, optimizer_step
from scalinglab.train.tasks import Task

log = logging.getLogger("scalinglab.train.probe")

PROBE_WARM_STEPS = 3  # after the first (allocating) step: caches and kernels settle
PROBE_MIN_STEPS = 5
PROBE_MAX_STEPS = 30
PROBE_SECONDS = 0.2  # timed steps stop once they add up to this (after PROBE_MIN_STEPS)

_step_costs: dict[str, StepCosts] = {}
_inference_costs: dict[str, dict[str, float]] = {}


@dataclass(frozen=True)
class StepCosts:
    """One optimizer step and one validation pass of a model alone, as the one-at-a-time loop runs them."""

    step_seconds: float  # median over the timed steps
    step_seconds_spread: float  # (p90 - p10) / median of the timed steps: how steady the timing was
    eval_seconds: float  # one validation pass (the loop scores the validation split after every epoch)
    peak_memory_bytes: float  # live tensor bytes of the first step: weights, gradients, optimizer state, activations

    def own_seconds(self, steps: int, evaluations: int) -> float:
        """Training time of a run of this architecture alone: its steps and its evaluations."""
        return steps * self.step_seconds + evaluations * self.eval_seconds


def step_costs(model: nn.Module, task: Task, spec: RunSpec) -> StepCosts:
    """`model`'s StepCosts on `task` at `spec`'s batch size, precision, optimizer and device;
    probed on a copy of `model` (its weights are untouched) once per architecture and process."""
    settings = spec.training
    x, y = next(task.train_batches(settings.batch_size, torch.Generator().manual_seed(0)))  # a full batch, as the run's
    key = _architecture_key(spec, task, batch=list(x.shape), optimizer=settings.optimizer, clipped=settings.grad_clip is not None)
    if key not in _step_costs:
        _step_costs[key] = _probe_steps(model, task, spec, x, y)
        log.debug("probed %s %s: %s", spec.family, spec.size, _step_costs[key])
    return _step_costs[key]


def shared_inference_costs(model: nn.Module, task: Task, spec: RunSpec) -> dict[str, float]:
    """`train.measure.inference_costs` of `model` (latency, throughput, inference memory, bytes),
    measured on the first run of an architecture in this process and shared by the others."""
    key = _architecture_key(spec, task, latency_repeats=spec.limits.latency_repeats)
    if key not in _inference_costs:
        _inference_costs[key] = inference_costs(model, task, device=spec.limits.device, precision=spec.training.precision,
                                                latency_repeats=spec.limits.latency_repeats)
    return dict(_inference_costs[key])


def _architecture_key(spec: RunSpec, task: Task, **how: object) -> str:
    shape = task.shape
    return json.dumps({
        "family": spec.family, "size": spec.size, "task": [shape.kind, list(shape.input_shape), shape.n_outputs],
        # the data source (not the data size): it fixes the validation split every run is scored on
        "data": spec.data.model_dump(mode="json", exclude={"train_size", "preprocessing"}), "device": spec.limits.device, "precision": spec.training.precision,
        **how,
    }, sort_keys=True)


def _probe_steps(model: nn.Module, task: Task, spec: RunSpec, x: torch.Tensor, y: torch.Tensor) -> StepCosts:
    settings, device = spec.training, spec.limits.device
    probe = copy.deepcopy(model).train()
    optimizer = make_optimizer(list(probe.parameters()), settings, device)
    step = lambda: optimizer_step(probe, optimizer, task.loss, x, y, settings, device)
    peak_bytes, _ = step_peak_memory(probe, step, device)  # the first step allocates gradients and optimizer state
    for _ in range(PROBE_WARM_STEPS):
        step()
    timings: list[float] = []
    while len(timings) < PROBE_MAX_STEPS and (len(timings) < PROBE_MIN_STEPS or sum(timings) < PROBE_SECONDS):
        synchronize(device)
        started = time.perf_counter()
        step()
        synchronize(device)
        timings.append(time.perf_counter() - started)
    synchronize(device)
    started = time.perf_counter()
    with autocast(settings.precision, device):
        task.evaluate(probe, split="val")
    synchronize(device)
    eval_seconds = time.perf_counter() - started
    median = statistics.median(timings)
    deciles = statistics.quantiles(timings, n=10)
    return StepCosts(median, (deciles[-1] - deciles[0]) / median, eval_seconds, peak_bytes)
