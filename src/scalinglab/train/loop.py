"""train_one(spec) -> RunResult: train one model of one size on one data size with one seed.

Pure: everything it needs is in the spec, it touches no global state but torch's RNG (seeded
from the spec) and writes nothing (the matmul-peak cache aside, see measure.py). Any exception
becomes a recorded failure, a non-finite loss a recorded divergence, so one bad run never stops a
sweep. Classification and byte-level language modelling share the loop; `tasks.py` holds what
differs (batches, evaluation, what a sample is).
"""

from __future__ import annotations

import functools
import math
import time
import traceback
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from scalinglab.data import load_source, prepare
from scalinglab.data.base import Dataset
from scalinglab.diagnostics import debug_enabled
from scalinglab.families import get_family
from scalinglab.spec import RunResult, RunSpec, TrainingSpec
from scalinglab.train.cv import cross_validated
from scalinglab.train.measure import (
    latency_ms,
    matmul_peak_flops_per_second,
    peak_tensor_bytes,
    storage_bytes,
    throughput_per_second,
)
from scalinglab.train.stability import count_loss_spikes, ended_worse_than_it_started
from scalinglab.train.tasks import Task, make_task


class Diverged(Exception):
    """Training loss became NaN or infinite."""


class OverTimeLimit(Exception):
    """The run took longer than its limits.max_seconds."""


@dataclass
class _Trace:
    """What the training loop observed step by step."""

    step_losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    step_seconds: float = 0.0
    peak_memory_bytes: float = float("nan")


def train_one(spec: RunSpec) -> RunResult:
    """Train and measure the run `spec` describes; never raises for a problem of the run itself."""
    curves: list[dict[str, float]] = []
    try:
        dataset = prepare(load_source(spec.data), train_size=spec.data.train_size, preprocessing="none")
        if spec.data.cv_folds:
            metrics = cross_validated(dataset, spec, lambda fold, fold_curves: _train_and_measure(spec, fold, fold_curves), curves)
        else:
            metrics = _train_and_measure(spec, dataset, curves)
    except Diverged as error:
        return RunResult(spec=spec, status="diverged", curves=curves, error=str(error))
    except Exception as error:  # a failed run is data, not a crashed sweep
        if debug_enabled():  # --debug: the traceback matters more than the row
            raise
        return RunResult(spec=spec, status="failed", curves=curves, error=_one_line(error))
    return RunResult(spec=spec, status="ok", metrics=metrics, curves=curves)


def _train_and_measure(spec: RunSpec, dataset: Dataset, curves: list[dict[str, float]]) -> dict[str, float]:
    """Preprocess (statistics from this training set only), train, evaluate, measure costs."""
    torch.manual_seed(spec.seed)
    dataset = prepare(dataset, train_size=None, preprocessing=spec.data.preprocessing)
    family = get_family(spec.family)
    task = make_task(dataset, spec)
    model = family.build(spec.size, task.shape, dropout=spec.training.dropout)

    started = time.perf_counter()
    trace = _fit(model, task, spec, curves, started)
    train_seconds = time.perf_counter() - started

    samples_seen = task.samples_per_epoch * spec.training.epochs
    train_flops = family.train_flops_per_sample(spec.size, task.shape) * samples_seen
    with _autocast(spec.training.precision):
        train_scores = task.evaluate(model, split="train")
        val_scores = task.evaluate(model, split="val")
        costs = _inference_costs(model, task, spec)
    achieved = train_flops / trace.step_seconds
    return {
        "n_params": float(sum(p.numel() for p in model.parameters())),
        **_nonembedding(family, spec, task),
        "n_train": float(dataset.n_train),
        **{f"train_{name}": value for name, value in train_scores.items() if name in task.train_scores},
        **{f"val_{name}": value for name, value in val_scores.items()},
        "generalization_gap": val_scores["loss"] - train_scores["loss"],
        "train_flops": train_flops,
        "train_seconds": train_seconds,
        f"train_{task.sample_unit}_per_second": samples_seen / trace.step_seconds,
        "achieved_flops_per_second": achieved,
        "peak_flops_fraction": achieved / matmul_peak_flops_per_second(spec.training.precision),
        "peak_memory_bytes": trace.peak_memory_bytes,
        **_stability(trace, curves, spec.training),
        **costs,
        **storage_bytes(model),
    }


def _nonembedding(family, spec: RunSpec, task: Task) -> dict[str, float]:
    if task.shape.kind != "lm":
        return {}
    return {"n_params_nonembedding": float(family.n_params_nonembedding(spec.size, task.shape))}


def _inference_costs(model: nn.Module, task: Task, spec: RunSpec) -> dict[str, float]:
    big_batch, samples_in_big_batch = task.inference_batch()
    return {
        **latency_ms(model, task.single_input(), repeats=spec.limits.latency_repeats),
        f"inference_{task.sample_unit}_per_second": throughput_per_second(
            model, big_batch, samples_per_batch=samples_in_big_batch
        ),
    }


def _stability(trace: _Trace, curves: list[dict[str, float]], settings: TrainingSpec) -> dict[str, float]:
    norms = np.asarray(trace.grad_norms)
    clipped = float(np.mean(norms > settings.grad_clip)) if settings.grad_clip is not None else 0.0
    return {
        "grad_norm_mean": float(norms.mean()),
        "grad_norm_max": float(norms.max()),
        "grad_norm_final": float(np.median(norms[-max(1, len(norms) // 10) :])),
        "grad_clipped_fraction": clipped,
        "loss_spikes": float(count_loss_spikes(trace.step_losses)),
        "diverged_flag": float(ended_worse_than_it_started([point["train_loss"] for point in curves])),
    }


def _fit(model: nn.Module, task: Task, spec: RunSpec, curves: list, started: float) -> _Trace:
    settings = spec.training
    steps_per_epoch = task.steps_per_epoch(settings.batch_size)
    optimizer = _optimizer(model, settings)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _lr_multiplier(settings, total_steps=settings.epochs * steps_per_epoch)
    )
    shuffle = torch.Generator().manual_seed(spec.seed)
    trace = _Trace()
    for epoch in range(1, settings.epochs + 1):
        model.train()
        first_norm = len(trace.grad_norms)
        epoch_losses = []
        for x, y in task.train_batches(settings.batch_size, shuffle):
            step = functools.partial(_step, model, optimizer, task, x, y, settings)
            step_started = time.perf_counter()
            if not trace.step_losses:  # the first step allocates everything: gradients, optimizer state
                trace.peak_memory_bytes, (loss, grad_norm) = peak_tensor_bytes(model, step)
            else:
                loss, grad_norm = step()
            trace.step_seconds += time.perf_counter() - step_started
            if not math.isfinite(loss):
                raise Diverged(f"non-finite training loss at epoch {epoch}")
            trace.step_losses.append(loss)
            trace.grad_norms.append(grad_norm)
            epoch_losses.append(loss)
            scheduler.step()
        with _autocast(settings.precision):
            val_scores = task.evaluate(model, split="val")
        curves.append(
            {
                "epoch": epoch,
                "train_loss": float(np.mean(epoch_losses)),
                **{f"val_{name}": value for name, value in val_scores.items()},
                "lr": scheduler.get_last_lr()[0],
                "grad_norm_mean": float(np.mean(trace.grad_norms[first_norm:])),
                "seconds": time.perf_counter() - started,
            }
        )
        limit = spec.limits.max_seconds
        if limit is not None and time.perf_counter() - started > limit:
            raise OverTimeLimit(f"over the time limit of {limit:g} s after epoch {epoch}")
    return trace


def _step(model: nn.Module, optimizer, task: Task, x: torch.Tensor, y: torch.Tensor, settings: TrainingSpec):
    """One optimizer step; returns (loss, gradient norm before clipping)."""
    optimizer.zero_grad(set_to_none=True)
    with _autocast(settings.precision):
        loss = task.loss(model(x), y)
    if not torch.isfinite(loss):
        return float("nan"), float("nan")
    loss.backward()
    # With no clipping an infinite threshold still returns the norm, and changes nothing.
    max_norm = settings.grad_clip if settings.grad_clip is not None else float("inf")
    grad_norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm).item()
    optimizer.step()
    return loss.item(), grad_norm


def _autocast(precision: str):
    return torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else nullcontext()


def _optimizer(model: nn.Module, settings: TrainingSpec) -> torch.optim.Optimizer:
    params, lr, wd = model.parameters(), settings.lr, settings.weight_decay
    if settings.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    if settings.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=wd)
    return torch.optim.Adam(params, lr=lr, weight_decay=wd)


def _lr_multiplier(settings: TrainingSpec, *, total_steps: int):
    """Linear warmup, then the schedule's decay to zero (cosine, linear) or a constant rate."""
    warmup = max(1, round(settings.warmup_fraction * total_steps)) if settings.warmup_fraction > 0 else 0

    def multiplier(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        if settings.schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
        if settings.schedule == "linear":
            return max(0.0, 1.0 - progress)
        return 1.0

    return multiplier


def _one_line(error: Exception) -> str:
    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    location = f" ({where.filename.rsplit('/', 1)[-1]}:{where.lineno})" if where else ""
    return f"{type(error).__name__}: {' '.join(str(error).split())}{location}"
