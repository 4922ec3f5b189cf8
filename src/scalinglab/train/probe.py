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

On the CPU each step is timed alone, and reads the lesser of its wall-clock and its process CPU
seconds (`seconds_alone`): both are at least what the code takes alone, and only the wall clock
counts the time other processes held the cores. On a loaded machine (load 1.2-4 on 2 cores)
wall-clock probes in blocks of steps read up to 9x (an audit: 80x) slow for some architectures
and not others, so a sweep's train_seconds reversed between sizes and changed from one run of it
to the next. What this cannot undo: a process of several torch threads on busy cores, whose
threads spin waiting for each other (both clocks then read a tiny step at ~160 ms for seconds).
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn

from scalinglab.run_spec import RunSpec
from scalinglab.train.device import autocast, synchronize
from scalinglab.train.measure import inference_costs, step_peak_memory
from scalinglab.train.optim import make_optimizer, make_scheduler, optimizer_step
from scalinglab.train.tasks import Task

log = logging.getLogger("scalinglab.train.probe")

PROBE_WARM_STEPS = 2  # after the first (allocating) step: caches and kernels settle
PROBE_BLOCK = 4  # steps timed together on an accelerator (a tiny model's step is tens of microseconds)
PROBE_MIN_STEPS = 3  # blocks, at least
PROBE_MAX_STEPS = 8  # blocks, at most
# On the CPU (no device to wait for) each step is timed alone, and more of them: under load a short
# timing more often falls between other processes' turns on the cores, and the fastest is kept.
CPU_PROBE_MIN_STEPS = 12
CPU_PROBE_MAX_STEPS = 32
PROBE_SECONDS = 0.02  # timing stops once the timed steps add up to this at the fastest one's pace (after the least)
PROBE_EVALUATIONS = 2  # an epoch's closing work is timed this many times, the fastest kept

_step_costs: dict[str, StepCosts] = {}
_inference_costs: dict[str, dict[str, float]] = {}
_probing_seconds = [0.0]  # wall seconds this process has spent in step probes (what batching's honesty costs)


@dataclass(frozen=True)
class StepCosts:
    """One optimizer step and one validation pass of a model alone, as the one-at-a-time loop runs them."""

    step_seconds: float  # the fastest of the timed blocks of steps (per step; `seconds_alone` of each block)
    step_seconds_spread: float  # (p90 - p10) / median of the timed blocks: how steady the timing was
    eval_seconds: float  # what closes an epoch of the loop: the host read of its losses and a validation pass
    peak_memory_bytes: float  # live tensor bytes of the first step: weights, gradients, optimizer state, activations

    def own_seconds(self, steps: int, evaluations: int) -> float:
        """Training time of a run of this architecture alone: its steps and its evaluations."""
        return steps * self.step_seconds + evaluations * self.eval_seconds


def step_costs(model: nn.Module, task: Task, spec: RunSpec) -> StepCosts:
    """`model`'s StepCosts on `task` at `spec`'s batch size, precision, optimizer and device;
    probed on a copy of `model` (its weights are untouched) once per architecture and process."""
    batches = _probe_batches(task, spec)
    key = _step_key(task, spec, batches)
    if key not in _step_costs:
        started = time.perf_counter()
        _step_costs[key] = _probe_steps(model, task, spec, batches)
        _probing_seconds[0] += time.perf_counter() - started
        log.debug("probed %s %s: %s", spec.family, spec.size, _step_costs[key])
    return _step_costs[key]


def forget_step_costs(task: Task, spec: RunSpec) -> None:
    """Forget the StepCosts of `spec`'s architecture, so that its next `step_costs` probes it again
    (one shown to have read slow must not stand for the rest of the process)."""
    _step_costs.pop(_step_key(task, spec, _probe_batches(task, spec)), None)


def _probe_batches(task: Task, spec: RunSpec) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    return list(itertools.islice(task.train_batches(spec.training.batch_size, generator), PROBE_BLOCK))


def _step_key(task: Task, spec: RunSpec, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> str:
    settings = spec.training
    return _architecture_key(
        spec,
        task,
        batch=list(batches[0][0].shape),
        optimizer=settings.optimizer,
        clipped=settings.grad_clip is not None,
    )


def probe_seconds_spent() -> float:
    """Wall seconds this process has spent probing step costs so far."""
    return _probing_seconds[0]


def forget_architectures() -> None:
    """Forget every architecture measured in this process (a benchmark's repeats start as a new process would)."""
    _step_costs.clear()
    _inference_costs.clear()


def shared_inference_costs(model: nn.Module, task: Task, spec: RunSpec) -> dict[str, float]:
    """`train.measure.inference_costs` of `model` (latency, throughput, inference memory, bytes),
    measured on the first run of an architecture in this process and shared by the others."""
    key = _architecture_key(spec, task, latency_repeats=spec.limits.latency_repeats)
    if key not in _inference_costs:
        _inference_costs[key] = inference_costs(
            model,
            task,
            device=spec.limits.device,
            precision=spec.training.precision,
            latency_repeats=spec.limits.latency_repeats,
        )
    return dict(_inference_costs[key])


def _architecture_key(spec: RunSpec, task: Task, **how: object) -> str:
    shape = task.shape
    return json.dumps(
        {
            "family": spec.family,
            "size": spec.size,
            "task": [shape.kind, list(shape.input_shape), shape.n_outputs],
            # the data source (not the data size): it fixes the validation split every run is scored on
            "data": spec.data.model_dump(mode="json", exclude={"train_size", "preprocessing"}),
            "device": spec.limits.device,
            "precision": spec.training.precision,
            **how,
        },
        sort_keys=True,
    )


def _probe_steps(
    model: nn.Module, task: Task, spec: RunSpec, batches: list[tuple[torch.Tensor, torch.Tensor]]
) -> StepCosts:
    """Steps on the run's first batches as `train.loop.train_module` takes them (optimizer step,
    scheduler step, results kept on the device), timed in blocks; then one epoch's closing work:
    the host read of its losses and a validation pass."""
    settings, device = spec.training, spec.limits.device
    probe = copy.deepcopy(model).train()
    optimizer = make_optimizer(list(probe.parameters()), settings, device)
    most_steps = max(PROBE_MAX_STEPS * PROBE_BLOCK, CPU_PROBE_MAX_STEPS)
    scheduler = make_scheduler(optimizer, settings, total_steps=PROBE_WARM_STEPS + most_steps + 1)
    step = lambda x, y: optimizer_step(probe, optimizer, task.loss, x, y, settings, device)
    # The first step allocates gradients and optimizer state: its peak is the run's, as the loop measures it.
    peak_bytes, _ = step_peak_memory(probe, lambda: step(*batches[0]), device)
    losses = [step(*batches[0]) for _ in range(PROBE_WARM_STEPS)]
    block, fewest, most = _blocks(device)
    timings: list[float] = []  # seconds per step of each timed block
    while len(timings) < fewest or (len(timings) < most and not timed_enough(timings, block)):
        started = _start(device)
        for _ in range(block):
            losses.append(step(*batches[len(losses) % len(batches)]))
            scheduler.step()
        timings.append(_seconds_since(started, device) / block)
    with autocast(settings.precision, device):
        task.evaluate(probe, split="val")  # untimed: a model's first evaluation pays one-time costs (seen: 4 s)
    epoch_seconds = min(_timed_epoch_close(probe, task, losses, settings, device) for _ in range(PROBE_EVALUATIONS))
    # The fastest block, not the median: what a timing gains over the code's own cost is what other
    # processes took (timeit's rule). A probe on a loaded machine (load 2-4 on 2 cores) put one
    # architecture's runs at 40x the wall time of the batched pass they shared; on the CPU each block
    # also leaves out the time the process was off the cores (`seconds_alone`).
    fastest = min(timings)
    deciles = statistics.quantiles(timings, n=10)
    middle = statistics.median(timings)
    spread = (deciles[-1] - deciles[0]) / middle if middle > 0 else 0.0
    return StepCosts(fastest, spread, epoch_seconds, peak_bytes)


def _timed_epoch_close(probe: nn.Module, task: Task, losses: list, settings, device) -> float:
    """Seconds of one epoch's closing work: the host read of its losses and a validation pass."""
    started = _start(device)
    torch.stack([loss for loss, _ in losses]).cpu(), torch.stack([norm for _, norm in losses]).cpu()
    with autocast(settings.precision, device):
        task.evaluate(probe, split="val")
    return _seconds_since(started, device)


def _blocks(device: str) -> tuple[int, int, int]:
    """(steps per timed block, blocks at least, blocks at most) of a step probe on `device`."""
    return (
        (1, CPU_PROBE_MIN_STEPS, CPU_PROBE_MAX_STEPS)
        if _on_cpu(device)
        else (PROBE_BLOCK, PROBE_MIN_STEPS, PROBE_MAX_STEPS)
    )


def timed_enough(timings: list[float], block: int) -> bool:
    """Whether blocks of `block` steps timed at `timings` seconds per step add up to PROBE_SECONDS
    at the fastest block's pace: a probe that ran slow (the machine busy elsewhere) takes more
    blocks, not fewer (a budget counted in its slow seconds once stopped it after 3 blocks)."""
    return bool(timings) and len(timings) * block * min(timings) >= PROBE_SECONDS


def seconds_alone(wall_seconds: float, cpu_seconds: float | None) -> float:
    """A timed stretch's seconds as its code would take them alone, from its wall-clock seconds and
    the process's CPU seconds over it (None where the work runs on an accelerator: the host's CPU
    time says nothing of the device's). On the CPU each reading is at least the time alone: the wall
    clock also counts the time other processes held the cores, the CPU time counts every thread's
    work (so it exceeds the wall time of work spread over threads). The lesser of the two is kept:
    under load the wall clock can read any multiple of the time alone, the CPU time stays near it.
    A CPU reading of 0 or less is no reading (a clock that ticks in 15.6 ms steps, as on Windows,
    reads 0 over a short step): the wall clock stands."""
    return wall_seconds if cpu_seconds is None or cpu_seconds <= 0 else min(wall_seconds, cpu_seconds)


def _start(device: str) -> tuple[float, float | None]:
    """The clocks at the start of a timed stretch on `device` (after its queued work): wall and, on
    the CPU, process CPU seconds."""
    synchronize(device)
    return time.perf_counter(), time.process_time() if _on_cpu(device) else None


def _seconds_since(started: tuple[float, float | None], device: str) -> float:
    """`seconds_alone` of the stretch since `_start` (after its queued work)."""
    synchronize(device)
    wall, cpu = started
    return seconds_alone(time.perf_counter() - wall, None if cpu is None else time.process_time() - cpu)


def _on_cpu(device: str) -> bool:
    return torch.device(device).type == "cpu"
