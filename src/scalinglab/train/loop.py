"""train_one(spec) -> RunResult: train one model of one size on one data size with one seed.

Pure: everything it needs is in the spec, it touches no global state but torch's RNG (seeded
from the spec) and writes nothing. Any exception becomes a recorded failure, a non-finite loss a
recorded divergence, so one bad run never stops a sweep.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from scalinglab.data import load_source, prepare
from scalinglab.data.base import Dataset
from scalinglab.families import TaskShape, get_family
from scalinglab.spec import RunResult, RunSpec, TrainingSpec
from scalinglab.train.measure import latency_ms, state_dict_bytes


class Diverged(Exception):
    """Training loss became NaN or infinite."""


class OverTimeLimit(Exception):
    """The run took longer than its limits.max_seconds."""


@dataclass
class _Tensors:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


def train_one(spec: RunSpec) -> RunResult:
    """Train and measure the run `spec` describes; never raises for a problem of the run itself."""
    curves: list[dict[str, float]] = []
    try:
        metrics = _train_and_measure(spec, curves)
    except Diverged as error:
        return RunResult(spec=spec, status="diverged", curves=curves, error=str(error))
    except Exception as error:  # a failed run is data, not a crashed sweep
        return RunResult(spec=spec, status="failed", curves=curves, error=_one_line(error))
    return RunResult(spec=spec, status="ok", metrics=metrics, curves=curves)


def _train_and_measure(spec: RunSpec, curves: list[dict[str, float]]) -> dict[str, float]:
    torch.manual_seed(spec.seed)
    family = get_family(spec.family)
    dataset = prepare(load_source(spec.data), train_size=spec.data.train_size, preprocessing=spec.data.preprocessing)
    task = TaskShape(kind=dataset.kind, input_shape=dataset.input_shape, n_outputs=dataset.n_outputs)
    model = family.build(spec.size, task, dropout=spec.training.dropout)
    tensors = _to_tensors(dataset)

    started = time.perf_counter()
    _fit(model, tensors, spec, curves, started)
    train_seconds = time.perf_counter() - started

    samples_seen = spec.training.epochs * dataset.n_train
    train_loss, _, _ = _evaluate(model, tensors.x_train, tensors.y_train)
    val_loss, val_accuracy, val_f1 = _evaluate(model, tensors.x_val, tensors.y_val)
    return {
        "n_params": float(sum(p.numel() for p in model.parameters())),
        "n_train": float(dataset.n_train),
        "train_loss": train_loss,
        "val_loss": val_loss,
        "val_accuracy": val_accuracy,
        "val_f1_macro": val_f1,
        "generalization_gap": val_loss - train_loss,
        "train_flops": family.train_flops_per_sample(spec.size, task) * samples_seen,
        "train_seconds": train_seconds,
        "train_samples_per_second": samples_seen / train_seconds,
        "bytes_fp32": float(state_dict_bytes(model)),
        **latency_ms(model, tensors.x_val[:1], repeats=spec.limits.latency_repeats),
    }


def _fit(model: nn.Module, data: _Tensors, spec: RunSpec, curves: list, started: float) -> None:
    settings = spec.training
    n = len(data.x_train)
    steps_per_epoch = math.ceil(n / settings.batch_size)
    optimizer = _optimizer(model, settings)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _lr_multiplier(settings, total_steps=settings.epochs * steps_per_epoch)
    )
    shuffle = torch.Generator().manual_seed(spec.seed)
    for epoch in range(1, settings.epochs + 1):
        model.train()
        batch_losses = []
        for batch in torch.randperm(n, generator=shuffle).split(settings.batch_size):
            loss = _step(model, optimizer, data.x_train[batch], data.y_train[batch], settings)
            if not math.isfinite(loss):
                raise Diverged(f"non-finite training loss at epoch {epoch}")
            batch_losses.append(loss)
            scheduler.step()
        val_loss, val_accuracy, _ = _evaluate(model, data.x_val, data.y_val)
        curves.append(
            {"epoch": epoch, "train_loss": float(np.mean(batch_losses)), "val_loss": val_loss, "val_accuracy": val_accuracy}
        )
        limit = spec.limits.max_seconds
        if limit is not None and time.perf_counter() - started > limit:
            raise OverTimeLimit(f"over the time limit of {limit:g} s after epoch {epoch}")


def _step(model: nn.Module, optimizer, x: torch.Tensor, y: torch.Tensor, settings: TrainingSpec) -> float:
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=settings.precision == "bf16"):
        loss = F.cross_entropy(model(x), y)
    if not torch.isfinite(loss):
        return float("nan")
    loss.backward()
    if settings.grad_clip is not None:
        nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
    optimizer.step()
    return loss.item()


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


@torch.no_grad()
def _evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float, float]:
    """Mean cross-entropy, accuracy and macro-F1 on (x, y), in eval mode (no dropout)."""
    model.eval()
    logits = model(x).float()
    loss = F.cross_entropy(logits, y).item()
    predicted = logits.argmax(dim=1)
    accuracy = (predicted == y).float().mean().item()
    return loss, accuracy, _macro_f1(predicted, y, n_classes=logits.shape[1])


def _macro_f1(predicted: torch.Tensor, truth: torch.Tensor, *, n_classes: int) -> float:
    scores = []
    for cls in range(n_classes):
        true_pos = ((predicted == cls) & (truth == cls)).sum().item()
        predicted_pos = (predicted == cls).sum().item()
        actual_pos = (truth == cls).sum().item()
        if actual_pos == 0 and predicted_pos == 0:
            continue
        scores.append(2 * true_pos / (predicted_pos + actual_pos))
    return float(np.mean(scores)) if scores else 0.0


def _to_tensors(dataset: Dataset) -> _Tensors:
    return _Tensors(
        x_train=torch.from_numpy(dataset.x_train),
        y_train=torch.from_numpy(dataset.y_train),
        x_val=torch.from_numpy(dataset.x_val),
        y_val=torch.from_numpy(dataset.y_val),
    )


def _one_line(error: Exception) -> str:
    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    location = f" ({where.filename.rsplit('/', 1)[-1]}:{where.lineno})" if where else ""
    return f"{type(error).__name__}: {' '.join(str(error).split())}{location}"
