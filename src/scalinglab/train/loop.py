"""train_one(spec) -> RunResult: train one model of one size on one data size with one seed.

Pure but for two side effects named in the spec's limits: the final weights go to
`limits.checkpoint_dir` when set, and the matmul peak is cached (see measure.py); it touches no
global state but torch's RNG (seeded from the spec). Any exception becomes a recorded failure, a
non-finite loss a recorded divergence (train.outcome), so one bad run never stops a sweep. Classification and
byte-level language modelling share the loop; `tasks.py` holds what differs.

The loop never waits for the device inside an epoch: losses and gradient norms stay on the device
and are read once per epoch (so a non-finite loss is noticed at the end of its epoch; the run is
recorded as diverged all the same). One-time process warm-up is paid before the clock starts.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from scalinglab.data import prepare, training_subset
from scalinglab.data.base import Dataset
from scalinglab.families import Family, TaskShape, get_family
from scalinglab.run_spec import DataSpec, RunResult, RunSpec, TrainingSpec
from scalinglab.train.checkpoint import save_run_checkpoint
from scalinglab.train.cv import cross_validated
from scalinglab.train.device import autocast, synchronize
from scalinglab.train.measure import matmul_peak_flops_per_second, validation_scores
from scalinglab.train.noise_scale import StepMeter
from scalinglab.train.optim import make_optimizer, make_scheduler, optimizer_step
from scalinglab.train.outcome import Diverged, run_outcome
from scalinglab.train.probe import shared_inference_costs, step_costs
from scalinglab.train.stability import count_loss_spikes, ended_worse_than_it_started
from scalinglab.train.tasks import Task, make_task
from scalinglab.train.transfer import (
    adapted_inputs,
    family_weights_metrics,
    start_from_parent,
    train_flops_per_sample,
    with_family_weights,
)
from scalinglab.train.warmup import warm_up


class OverTimeLimit(Exception):
    """The run took longer than its limits.max_seconds."""


@dataclass
class Trace:
    """What the training loop observed step by step; the peak memory (and, under batched training,
    the step time) is the run's own from its architecture's probe (train.probe)."""

    step_losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    step_seconds: float = 0.0
    peak_memory_bytes: float = float("nan")
    gradient_noise_scale: dict[str, float] = field(default_factory=dict)  # train.noise_scale: absent when undefined


def train_one(spec: RunSpec) -> RunResult:
    """Train and measure the run `spec` describes; its result is ok, diverged or failed by
    `run_outcome`'s rule: never raises for a problem of the run itself, but in debug mode."""
    curves: list[dict[str, float]] = []

    def attempt() -> dict[str, float]:
        dataset = adapted_inputs(training_subset(spec.data), spec)
        if spec.pretrained == "family":  # the family's own weights, loaded and scored, not trained
            return family_weights_metrics(prepare_run(spec, dataset))
        if spec.data.cv_folds:
            return cross_validated(
                dataset, spec, lambda fold, fold_curves: _train_and_measure(spec, fold, fold_curves), curves
            )
        return _train_and_measure(spec, dataset, curves, save=True)

    return run_outcome(spec, attempt, curves)


def run_task(data: DataSpec, size: dict, *, device: str = "cpu") -> Task:
    """The task a run of `data` and `size` trained on, rebuilt outside training: its training
    subset preprocessed with that subset's statistics, and the fixed validation set (as
    `prepare_run` makes it). Raises what loading the data source raises."""
    dataset = training_subset(data)
    return make_task(prepare(dataset, train_size=None, preprocessing=data.preprocessing), size, device=device)


@dataclass
class Prepared:
    """A run ready to train: its preprocessed data as a task on the device, and its fresh model."""

    spec: RunSpec
    family: Family
    task: Task
    model: nn.Module
    n_train: int


def prepare_run(spec: RunSpec, dataset: Dataset, *, task: Task | None = None) -> Prepared:
    """Preprocess (statistics from this training set only) and build the model under the run's seed.
    `task`: the task another run made of the same data (`same_data_key`), shared instead of
    preprocessing again (a task is never written to after it is made)."""
    device = spec.limits.device
    warm_up(device, spec.training)  # before seeding: the warm-up's own random numbers do not matter
    if task is None:
        task = make_task(
            prepare(dataset, train_size=None, preprocessing=spec.data.preprocessing), spec.size, device=device
        )
    return Prepared(spec, get_family(spec.family), task, build_model(spec, task.shape).to(device), dataset.n_train)


def same_data_key(spec: RunSpec) -> str:
    """Runs with equal keys train on the same task: the same data, preprocessing, context and device."""
    return json.dumps([spec.data.model_dump(mode="json"), spec.size.get("context"), spec.limits.device], sort_keys=True)


def build_model(spec: RunSpec, shape: TaskShape) -> nn.Module:
    """The fresh model a run of `spec` starts from: built by its family under the run's seed (so a
    run, a distilled student of the same recipe, or a retrained run start from the same weights)."""
    torch.manual_seed(spec.seed)
    model = get_family(spec.family).build(spec.size, shape, dropout=spec.training.dropout)
    if spec.pretrained == "family":
        return with_family_weights(model, spec, shape)
    return model if spec.transfer is None else start_from_parent(model, spec, keep_head=shape.kind == "lm")


def _train_and_measure(
    spec: RunSpec, dataset: Dataset, curves: list[dict[str, float]], *, save: bool = False
) -> dict[str, float]:
    run = prepare_run(spec, dataset)
    # Before the clock, as under batching: tracking the first step's tensors costs far more than the
    # step (tens of ms), which in the timed loop became a fixed cost of every run alone.
    peak_memory_bytes = step_costs(run.model, run.task, spec).peak_memory_bytes
    synchronize(spec.limits.device)
    started = time.perf_counter()
    trace = train_module(run.model, run.task, spec, curves, started)
    synchronize(spec.limits.device)
    trace.peak_memory_bytes = peak_memory_bytes
    seconds = time.perf_counter() - started
    metrics = measured_metrics(run, trace, curves, train_seconds=seconds, batch_wall_seconds=seconds, batch_runs=1)
    if save:
        save_run_checkpoint(run.model, spec)
    return metrics


def measured_metrics(
    run: Prepared,
    trace: Trace,
    curves: list[dict[str, float]],
    *,
    train_seconds: float,
    batch_wall_seconds: float,
    batch_runs: int,
    train_scores: dict[str, float] | None = None,
) -> dict[str, float]:
    """Every metric of a trained run: quality and its trivial baseline, training cost (`train_seconds`
    the run's own; `batch_wall_seconds` the wall time of the pass it shared with `batch_runs` runs),
    stability, and the inference costs of its architecture (shared by its runs, see train.probe).
    `train_scores`: the model's scores on its training split when already computed (a batched
    group scores all its runs in one stacked forward), else scored here."""
    spec, task, model, family = run.spec, run.task, run.model, run.family
    device, precision = spec.limits.device, spec.training.precision
    samples_seen = task.samples_per_epoch * spec.training.epochs
    train_flops = train_flops_per_sample(family, model, spec, task.shape) * samples_seen
    if train_scores is None:
        with autocast(precision, device):
            train_scores = task.evaluate(model, split="train")
    measured = {**final_validation_scores(run, curves), **shared_inference_costs(model, task, spec)}
    achieved = train_flops / trace.step_seconds
    return {
        "n_params": float(sum(p.numel() for p in model.parameters())),
        "n_trainable_params": float(sum(p.numel() for p in model.parameters() if p.requires_grad)),
        **_language_model_sizes(family, spec, task),
        "n_train": float(run.n_train),
        **{f"train_{name}": value for name, value in train_scores.items() if name in task.train_scores},
        **measured,
        "generalization_gap": measured["val_loss"] - train_scores["loss"],
        "train_flops": train_flops,
        "train_seconds": train_seconds,
        "batch_wall_seconds": batch_wall_seconds,
        "batch_runs": float(batch_runs),
        f"train_{task.sample_unit}_per_second": samples_seen / trace.step_seconds,
        "achieved_flops_per_second": achieved,
        "peak_flops_fraction": achieved / matmul_peak_flops_per_second(precision, device=device),
        "peak_memory_bytes": trace.peak_memory_bytes,
        **trace.gradient_noise_scale,
        **_stability(trace, curves, spec.training),
        **{f"baseline_val_{name}": value for name, value in task.baseline_scores().items()},
        **task.reference_scores(),
    }


def final_validation_scores(run: Prepared, curves: list[dict[str, float]]) -> dict[str, float]:
    """`val_<score>` of the trained model: its last epoch's, which scored these very weights (both
    loops score the validation split after every epoch), else scored now."""
    if curves and curves[-1]["epoch"] == run.spec.training.epochs:
        return {name: value for name, value in curves[-1].items() if name.startswith("val_")}
    return validation_scores(run.model, run.task, device=run.spec.limits.device, precision=run.spec.training.precision)


def _language_model_sizes(family, spec: RunSpec, task: Task) -> dict[str, float]:
    """A language model's N (non-embedding parameters) and D (tokens seen over all its epochs:
    its training text's tokens once per pass, `training.epochs` passes)."""
    if task.shape.kind != "lm":
        return {}
    return {
        "n_params_nonembedding": float(family.n_params_nonembedding(spec.size, task.shape)),
        "train_tokens_seen": float(task.samples_per_epoch * spec.training.epochs),
    }


def _stability(trace: Trace, curves: list[dict[str, float]], settings: TrainingSpec) -> dict[str, float]:
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


def train_module(model: nn.Module, task: Task, spec: RunSpec, curves: list, started: float) -> Trace:
    """Train the built `model` in place with `spec`'s settings and seed, appending one point per
    epoch to `curves`; the loop `train_one` runs, also used by compression to fine-tune and distil.

    Raises Diverged on a non-finite loss and OverTimeLimit past `spec.limits.max_seconds`."""
    settings, device = spec.training, spec.limits.device
    steps_per_epoch = task.steps_per_epoch(settings.batch_size)
    optimizer = make_optimizer(list(model.parameters()), settings, device)
    scheduler = make_scheduler(optimizer, settings, total_steps=settings.epochs * steps_per_epoch)
    shuffle = torch.Generator().manual_seed(spec.seed)
    trace = Trace()
    noise = StepMeter(settings.batch_size, forks_rng=settings.dropout > 0)  # the gradient noise scale
    for epoch in range(1, settings.epochs + 1):
        model.train()
        epoch_started = time.perf_counter()
        losses, norms = [], []
        for step, (x, y) in enumerate(task.train_batches(settings.batch_size, shuffle)):
            small_sq = noise.small_sq(model, task.loss, x, y, step=step, precision=settings.precision, device=device)
            loss, grad_norm = optimizer_step(model, optimizer, task.loss, x, y, settings, device)
            noise.record(small_sq, grad_norm)
            losses.append(loss)
            norms.append(grad_norm)
            scheduler.step()
        epoch_losses, epoch_norms = torch.stack(losses).cpu(), torch.stack(norms).cpu()  # the epoch's one host read
        noise.close_epoch()
        trace.step_seconds += time.perf_counter() - epoch_started
        record_epoch(trace, curves, model, task, spec, epoch, epoch_losses, epoch_norms, scheduler, started)
    trace.gradient_noise_scale = noise.noise.metrics()
    return trace


def record_epoch(
    trace: Trace,
    curves: list,
    model: nn.Module,
    task: Task,
    spec: RunSpec,
    epoch: int,
    losses: torch.Tensor,
    norms: torch.Tensor,
    scheduler,
    started: float,
    *,
    validate: bool = True,
) -> None:
    """The end of an epoch, in every loop that trains one run: its step losses and gradient norms
    (on the host) join the trace, the model is scored on validation and its curve point appended
    (`validate`: in data-parallel training worker 0 alone scores), and the time limit is checked.

    Raises Diverged on a non-finite loss and OverTimeLimit past `spec.limits.max_seconds`."""
    if not torch.isfinite(losses).all():
        raise Diverged(f"non-finite training loss at epoch {epoch}")
    trace.step_losses.extend(losses.tolist())
    trace.grad_norms.extend(norms.tolist())
    if validate:
        with autocast(spec.training.precision, spec.limits.device):
            val_scores = task.evaluate(model, split="val")
        point = epoch_point(
            epoch,
            losses,
            norms,
            val_scores,
            scheduler.get_last_lr()[0],
            time.perf_counter() - started,
            seen=seen_by_epoch(task, epoch),
        )
        curves.append(point)
    check_time_limit(spec, time.perf_counter() - started, epoch)


def seen_by_epoch(task: Task, epoch: int) -> dict[str, float]:
    """What the run has trained on by the end of `epoch`, named by its unit: `tokens_seen` for a
    language model (every epoch draws as many windows as fill its training text once), else
    `samples_seen`. A language model's data axis is tokens seen, wherever a curve point falls."""
    return {f"{task.sample_unit}_seen": float(epoch * task.samples_per_epoch)}


def epoch_point(
    epoch: int,
    losses: torch.Tensor,
    norms: torch.Tensor,
    val_scores: dict[str, float],
    lr: float,
    seconds: float,
    *,
    seen: dict[str, float],
) -> dict[str, float]:
    """One point of a run's curves: the epoch's mean step loss and gradient norm, validation scores,
    the learning rate the next step would use, seconds since training started, and what the run
    has seen by then (`seen_by_epoch`)."""
    return {
        "epoch": epoch,
        **seen,
        "train_loss": float(losses.double().mean()),
        **{f"val_{name}": value for name, value in val_scores.items()},
        "lr": lr,
        "grad_norm_mean": float(norms.double().mean()),
        "seconds": seconds,
    }


def check_time_limit(spec: RunSpec, seconds: float, epoch: int) -> None:
    """Raise OverTimeLimit when `seconds` (this run's share of the wall time) is past limits.max_seconds."""
    limit = spec.limits.max_seconds
    if limit is not None and seconds > limit:
        raise OverTimeLimit(f"over the time limit of {limit:g} s after epoch {epoch}")
