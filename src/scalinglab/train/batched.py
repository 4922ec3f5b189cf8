"""Training many runs of one architecture at once, as one vectorised computation.

Runs that share a family, a size (an MLP's width aside, see PADDABLE_AXES) and every training
setting but their OWN_SETTINGS (so a batch size, epochs, precision and optimizer; and train with
no dropout) may differ in everything else: seed (initialisation and data order), learning rate
and schedule, weight decay, gradient clipping, data size and preprocessing. Their weights are
stacked along a leading "run" dimension and one step of every run is one forward and backward
pass (batched matmuls for an MLP, `vmap(functional_call)` for any other module), so R tiny
matmuls become one batched matmul.

What each run keeps as its own, exactly as `train_one` would do it:
- initialisation: each model is built under its own seed, then stacked;
- data: each run draws its epoch order from its own generator; a run with fewer steps per
  epoch (a smaller data size) sits out the steps it does not have (runs are ordered by steps
  per epoch, so the runs that step are a prefix of the stack and the others are not computed);
  its last, short batch is padded with zero-weight samples;
- learning rate per step from its own schedule, its own weight decay and clipping threshold;
- its optimizer: torch.optim's fused Adam/AdamW/SGD kernel, called on the run's rows of the
  stacked weights and optimizer state with the run's own step count;
- a run whose loss turns non-finite is recorded as diverged at the end of that epoch (as alone);
  the others go on, untouched: no number crosses from one run's slices to another's;
- curves: each epoch's validation scores come from one stacked forward of every run (for an MLP
  on a classification task; other groups score each run's own module), by the same scoring code
  as a single run (`ClassificationTask.scores_of_runs`);
- its gradient noise scale (train.noise_scale), measured on the same steps from the same two
  batches as alone: the small batch's per-run gradients from one extra stacked backward;
- every final measurement: after training, each run's weights are copied back into its own
  plain module and measured by the same code as a single run (`measured_metrics`).

Costs are each run's own, never a share of the group's: `train_seconds` is the run's steps times
its model's step time alone plus its evaluations alone (on the CPU timed in process CPU seconds
where those are fewer than the wall clock's, see train.probe; never more than the pass's wall
time, with a warning where that cap binds), and `peak_memory_bytes` its own first
step's, from a probe of its architecture (train.probe: once per architecture and process, before
the group's clock starts). The group's wall time is kept apart, as `batch_wall_seconds` (shared
by the `batch_runs` runs of the pass), so what batching saves stays visible.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.func import functional_call, vmap
from torch.optim.adam import adam
from torch.optim.sgd import sgd

from scalinglab.data import training_subset
from scalinglab.debug import recorded_error
from scalinglab.run_spec import RunResult, RunSpec, TrainingSpec
from scalinglab.train.checkpoint import save_run_checkpoint
from scalinglab.train.device import autocast, synchronize
from scalinglab.train.loop import (
    OverTimeLimit,
    Prepared,
    Trace,
    check_time_limit,
    epoch_point,
    measured_metrics,
    prepare_run,
    same_data_key,
    seen_by_epoch,
    train_one,
)
from scalinglab.train.noise_scale import NoiseScale, measures, small_batch_size
from scalinglab.train.optim import ADAM_BETAS, ADAM_EPS, CLIP_EPS, SGD_MOMENTUM, lr_multiplier
from scalinglab.train.outcome import Diverged, run_outcome
from scalinglab.train.probe import StepCosts, forget_step_costs, step_costs
from scalinglab.train.tasks import ClassificationTask, Task

log = logging.getLogger("scalinglab.train.batched")

# Size axes along which smaller runs can be zero-padded into one group with larger ones: an MLP's
# width (its hidden units are Linear + ReLU, whose zero padding stays exactly zero; see
# _StackedTraining). Which of them should share a group is the sweeper's choice (sweeper.grouping).
PADDABLE_AXES = {"mlp": "width"}
# The training settings each run of a group keeps as its own: its learning rate per step and weight
# decay (SCHEDULE_SETTINGS, see _RunSchedule) and its clipping threshold. Every other training
# setting (run_spec.TrainingSpec) must be equal across a group: it is part of batch_key.
SCHEDULE_SETTINGS = ("lr", "schedule", "warmup_fraction", "weight_decay")
OWN_SETTINGS = (*SCHEDULE_SETTINGS, "grad_clip")
# A group scores every run's validation split with one stacked forward when its runs share one
# split or their splits stacked fit in STACKED_VALIDATION_BYTES, over row chunks whose inputs and
# activations fit in VALIDATION_ACTIVATION_BYTES.
STACKED_VALIDATION_BYTES = 256 * 2**20
VALIDATION_ACTIVATION_BYTES = 64 * 2**20


def batch_key(spec: RunSpec) -> str | None:
    """Runs with equal keys can train together (`train_batch` takes no others; which of them do is
    sweeper.grouping's choice); None for a run that must train alone (cross-validation trains k
    models in turn; dropout's random masks could not match a lone run's; a data-parallel run's
    worker processes are its own)."""
    alone = spec.data.cv_folds or spec.training.dropout > 0 or spec.training.data_parallel > 1
    if alone or spec.objective is not None or _transferred(spec):
        return None  # (a user's own training function, objective mode, runs by itself too)
    padded = PADDABLE_AXES.get(spec.family)
    shared = {
        "family": spec.family,
        "size": {axis: value for axis, value in spec.size.items() if axis != padded},
        "data": spec.data.model_dump(mode="json", exclude={"train_size", "preprocessing"}),
        "training": spec.training.model_dump(mode="json", exclude=set(OWN_SETTINGS)),
        "limits": spec.limits.model_dump(mode="json"),
    }
    return json.dumps(shared, sort_keys=True)


def _transferred(spec: RunSpec) -> bool:
    """A run of [transfer] (a pretraining run with resized inputs or the family's own weights, or a
    run starting from one) trains alone: its weights and data are its own (train.transfer)."""
    return spec.transfer is not None or spec.input_shape is not None or spec.pretrained is not None


def train_batch(specs: Sequence[RunSpec]) -> list[RunResult]:
    """Train `specs` (equal `batch_key`s) together; one RunResult per spec, in order. Never raises
    for a problem of a run: a run that cannot be prepared fails alone, and anything that goes wrong
    with the group as a whole trains its runs again one at a time."""
    specs = list(specs)
    if len(specs) == 1:
        return [train_one(specs[0])]
    if len({batch_key(spec) for spec in specs}) != 1 or batch_key(specs[0]) is None:
        raise ValueError("train_batch: these runs cannot train together (their batch_key differs or is None)")
    failed: dict[str, RunResult] = {}
    runs: list[Prepared] = []
    tasks: dict[str, Task] = {}  # one preprocessing per data size in the group, not one per seed
    for spec in specs:
        prepared = run_outcome(spec, lambda: _prepare_into(runs, tasks, spec))
        if prepared.status != "ok":  # this run's own problem (bad data size, unknown source): it alone fails
            failed[spec.run_key] = prepared
    try:
        trained = {result.run_key: result for result in _train_together(runs)} if len(runs) > 1 else {}
    except Exception as error:  # a problem of the group, not of one run: each run trains (and fails) on its own
        log.warning(
            "training %d runs together failed (%s); training them one at a time", len(runs), recorded_error(error)
        )
        trained = {}
    results = []
    for spec in specs:
        result = failed.get(spec.run_key) or trained.get(spec.run_key) or train_one(spec)
        results.append(result)
    return results


def _prepare_into(runs: list[Prepared], tasks: dict[str, Task], spec: RunSpec) -> dict[str, float]:
    """Prepare `spec`'s run onto `runs`, sharing the task of a run of the same data from `tasks` (and
    adding its own there); no metrics yet. Raises what loading and preprocessing its data raises."""
    dataset = training_subset(spec.data)
    runs.append(prepare_run(spec, dataset, task=tasks.get(same_data_key(spec))))
    tasks.setdefault(same_data_key(spec), runs[-1].task)
    return {}


@dataclass
class _RunState:
    """One run's bookkeeping inside the group."""

    run: Prepared
    steps_per_epoch: int
    shuffle: torch.Generator
    schedule: _RunSchedule
    costs: StepCosts  # the run's model alone: what its own time and memory are computed from
    noise: NoiseScale
    trace: Trace = field(default_factory=Trace)
    curves: list[dict[str, float]] = field(default_factory=list)
    error: Exception | None = None  # Diverged or OverTimeLimit once the run has stopped


class _StackedTraining:
    """The stacked weights of a group of runs, and one optimizer per run over its slices.

    Smaller runs of a paddable family sit in the top-left corner of the largest run's tensors,
    zeros elsewhere: a zero unit's ReLU output and ReLU gradient are both exactly zero, so the
    padding never receives a gradient, never moves, and every run computes its own model.
    """

    def __init__(self, states: list[_RunState]) -> None:
        self.states = states
        self.n_runs = len(states)
        self.device = states[0].run.spec.limits.device
        self.settings = states[0].run.spec.training
        self.template = max((s.run.model for s in states), key=lambda model: sum(p.numel() for p in model.parameters()))
        self.forward = _stacked_forward_for(self.template)
        if self.forward is None and len({json.dumps(s.run.spec.size, sort_keys=True) for s in states}) > 1:
            raise ValueError("runs of different sizes need a stackable Sequential of Flatten/Linear/ReLU layers")
        self.max_steps = max(state.steps_per_epoch for state in states)
        # The batched-matmul forward keeps Linear weights as (in, out): a CPU's batched matmul and its
        # backward run about 1.5x faster on them than on the transposed (out, in) layout of nn.Linear.
        self.transposed = _linear_weights(self.template) if self.forward is not None else set()
        with torch.no_grad():
            self.params = {
                name: _stack_padded(
                    [self._layout(name, dict(s.run.model.named_parameters())[name]) for s in states],
                    self._layout(name, like),
                ).requires_grad_()
                for name, like in self.template.named_parameters()
            }
            self.buffers = {
                name: _stack_padded([dict(s.run.model.named_buffers())[name] for s in states], like)
                for name, like in self.template.named_buffers()
            }
        self.alive = torch.ones(self.n_runs, dtype=torch.bool, device=self.device)
        clip = [s.run.spec.training.grad_clip for s in states]
        self.max_norm = torch.tensor([math.inf if c is None else c for c in clip], device=self.device)
        self.optimizer = _StackedOptimizer(
            self.settings.optimizer, list(self.params.values()), [s.schedule for s in states]
        )
        self.validation = self.stacked_split("val")

    def epoch_data(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(inputs, targets, sample weights) of one epoch for every run, shape (runs, steps*batch, ...):
        each run's own order, padded with zero-weight samples to the longest epoch."""
        rows = self.max_steps * self.settings.batch_size
        epochs = [state.run.task.train_epoch(state.shuffle) for state in self.states]
        x, y = epochs[0]
        inputs, targets = x.new_empty((self.n_runs, rows, *x.shape[1:])), y.new_empty((self.n_runs, rows, *y.shape[1:]))
        weights = torch.ones((self.n_runs, rows), device=x.device)
        for row, (x, y) in enumerate(epochs):  # written in place: no per-run padded copies to stack
            inputs[row, : len(x)], inputs[row, len(x) :] = x, 0
            targets[row, : len(y)], targets[row, len(y) :] = y, 0
            weights[row, len(x) :] = 0
        return inputs, targets, weights

    def _losses(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Each of the first len(x) runs' mean loss over its real samples of this step, shape (len(x),)."""
        task = self.states[0].run.task
        params, buffers = self.params, self.buffers
        if len(x) < self.n_runs:  # (slicing always would cost a zero-filled gradient copy per tensor)
            params = {name: param[: len(x)] for name, param in params.items()}
            buffers = {name: buffer[: len(x)] for name, buffer in buffers.items()}
        if self.forward is not None:
            output = self.forward(params, x)
            per_sample = task.sample_losses(output.flatten(0, 1), y.flatten(0, 1)).view(w.shape)
            return (per_sample * w).sum(1) / w.sum(1).clamp(min=1)

        def run_loss(params, buffers, inputs, targets, weights):
            per_sample = task.sample_losses(functional_call(self.template, (params, buffers), (inputs,)), targets)
            return (per_sample * weights).sum() / weights.sum().clamp(min=1)

        return vmap(run_loss, randomness="different")(params, buffers, x, y, w)

    def step(
        self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, step: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Step `step` of the epoch for every run that has that many steps; returns (losses, grad
        norms before clipping, the small batch's squared gradient norms or None on a step that does
        not measure the noise scale), shape (runs,), on the device (zeros for the runs that skip it;
        NaN for the runs that do not measure).

        Runs are in decreasing order of steps per epoch, so the runs that step are the first
        `stepping` ones: the others are left out of the computation, not computed on padding."""
        stepping = sum(state.steps_per_epoch > step for state in self.states)
        for param in self.params.values():
            param.grad = None
        with autocast(self.settings.precision, self.device):
            losses = self._losses(x[:stepping], y[:stepping], w[:stepping])
        losses.sum().backward()  # runs are independent: each run's weights get its own loss's gradient
        small_sq = (
            self.small_batch_sq(x[:stepping], y[:stepping], w[:stepping])
            if measures(step, self.settings.batch_size, self.settings.batch_size)
            else None
        )
        losses = torch.cat([losses.detach(), losses.new_zeros(self.n_runs - stepping)])
        grads = [param.grad for param in self.params.values()]
        # clip_grad_norm_'s total norm: the norm of the per-tensor norms, here one per run
        norms = torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads]), dim=0
        )
        self.alive[:stepping] &= torch.isfinite(losses[:stepping])
        scale = (self.max_norm / (norms + CLIP_EPS)).clamp(max=1.0)
        with torch.no_grad():
            for grad in grads:
                grad.mul_(scale.view(-1, *([1] * (grad.dim() - 1))))
            self.optimizer.step(grads, stepping)
        return losses, norms, small_sq

    def small_batch_sq(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Each run's squared gradient norm over the first small_batch_size examples of its batch at
        the current weights (train.noise_scale), shape (runs,): NaN for the runs that skip the step
        or whose batch is not full (its last, short one), as a run alone measures only full batches."""
        rows, full = small_batch_size(self.settings.batch_size), w.sum(1) == self.settings.batch_size
        with autocast(self.settings.precision, self.device):
            losses = self._losses(x[:, :rows], y[:, :rows], w[:, :rows])
        grads = torch.autograd.grad(losses.sum(), list(self.params.values()))
        squares = torch.stack([grad[: len(x)].float().flatten(1).pow(2).sum(1) for grad in grads]).sum(0)
        squares = torch.where(full, squares, torch.nan)
        return torch.cat([squares, squares.new_full((self.n_runs - len(x),), torch.nan)])

    def stacked_split(self, split: str) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Every run's `split` ("train" or "val") as (inputs, labels) along a leading run dimension:
        one split seen by every run (seeds, learning rates) when all are equal, else the runs' splits
        stacked (their standardisation depends on the data size). None where the runs are scored one
        at a time: a module without the batched-matmul forward, a task other than classification,
        splits of different shapes, or different splits too large to hold once per run."""
        if self.forward is None or not all(isinstance(s.run.task, ClassificationTask) for s in self.states):
            return None
        splits = [s.run.task.examples(split) for s in self.states]
        (x, y), runs = splits[0], self.n_runs
        if all(torch.equal(x, other_x) and torch.equal(y, other_y) for other_x, other_y in splits[1:]):
            return x.expand(runs, *x.shape), y.expand(runs, *y.shape)
        if len({other_x.shape for other_x, _ in splits}) != 1 or runs * x.nbytes > STACKED_VALIDATION_BYTES:
            return None
        return torch.stack([x for x, _ in splits]), torch.stack([y for _, y in splits])

    @torch.no_grad()
    def scores(self, stacked: tuple[torch.Tensor, torch.Tensor] | None) -> list[dict[str, float]] | None:
        """Each run's scores now on its split of `stacked` (`stacked_split`), those of
        `ClassificationTask.evaluate`, from one stacked forward; None where `stacked` is None."""
        if stacked is None:
            return None
        inputs, labels = stacked
        widest = max(max(param.shape[1:]) for param in self.params.values())  # a layer's inputs or outputs
        rows = max(1, VALIDATION_ACTIVATION_BYTES // (self.n_runs * widest * 4))
        with autocast(self.settings.precision, self.device):
            logits = torch.cat([self.forward(self.params, chunk).float() for chunk in inputs.split(rows, dim=1)], dim=1)
        return ClassificationTask.scores_of_runs(logits, labels)

    def _layout(self, name: str, tensor: torch.Tensor) -> torch.Tensor:
        """A module's tensor as it is stacked (a view; transposed for the batched-matmul forward's weights)."""
        return tensor.T if name in self.transposed else tensor

    def copy_into_models(self) -> None:
        """Each run's current weights into its own plain module (for evaluation and measurement)."""
        with torch.no_grad():
            for row, state in enumerate(self.states):
                for name, param in state.run.model.named_parameters():
                    stacked = self._layout(name, self.params[name][row])
                    param.copy_(stacked[tuple(slice(0, n) for n in param.shape)])


class _RunSchedule:
    """One run's learning rate and weight decay per step, and how many steps it has taken."""

    def __init__(self, settings: TrainingSpec, *, total_steps: int) -> None:
        self.settings = settings
        self.multiplier = lr_multiplier(settings, total_steps=total_steps)
        self.taken = 0

    def next_step(self) -> tuple[float, float, int]:
        """(learning rate, weight decay, steps taken before) of the run's next step, which it counts as taken."""
        lr = self.settings.lr * self.multiplier(self.taken)  # what LambdaLR gives the run's step `taken`
        self.taken += 1
        return lr, self.settings.weight_decay, self.taken - 1


class _StackedOptimizer:
    """Every run's optimizer state, stacked like the weights (moments, momentum), and one step of
    all runs: torch.optim's functional update with the fused kernel that `train_one`'s optimizer
    runs, called on row ranges of the stacked tensors.

    Adjacent runs at the same learning rate, weight decay and step count (seeds, data sizes of equal
    length; `_train_together` puts equal schedules side by side) share one kernel call on their
    rows: the update is elementwise, so sharing a call changes nothing but the number of calls and
    of tensors (6 for a 3-layer MLP, not 6 per run). A diverged run may go on stepping on NaNs,
    which touch only its own rows; its weights are never used.
    """

    def __init__(self, kind: str, params: list[torch.Tensor], schedules: list[_RunSchedule]) -> None:
        self.kind = kind
        self.params = params
        self.schedules = schedules
        # SGD's momentum starts at zero: with no dampening, 0.9 * 0 + g is exactly the first step's g.
        self.momentum = [torch.zeros_like(p) for p in params] if kind == "sgd" else []
        self.first = [torch.zeros_like(p) for p in params] if kind != "sgd" else []
        self.second = [torch.zeros_like(p) for p in params] if kind != "sgd" else []

    def step(self, grads: list[torch.Tensor], stepping: int) -> None:
        """One step of the first `stepping` runs, each at its own schedule's next learning rate."""
        keys = [schedule.next_step() for schedule in self.schedules[:stepping]]
        start = 0
        for end in range(1, stepping + 1):
            if end == stepping or keys[end] != keys[start]:
                self._update(slice(start, end), *keys[start], grads)
                start = end

    def _update(self, rows: slice, lr: float, weight_decay: float, taken: int, grads: list[torch.Tensor]) -> None:
        at = lambda tensors: [tensor[rows] for tensor in tensors]
        if self.kind == "sgd":
            sgd(
                at(self.params),
                at(grads),
                at(self.momentum),
                fused=True,
                weight_decay=weight_decay,
                momentum=SGD_MOMENTUM,
                lr=lr,
                dampening=0.0,
                nesterov=False,
                maximize=False,
            )
            return
        # The kernel adds one to each tensor's own step count before its update, as torch.optim.Adam does.
        steps = [torch.full((), float(taken), device=param.device) for param in self.params]
        beta1, beta2 = ADAM_BETAS
        adam(
            at(self.params),
            at(grads),
            at(self.first),
            at(self.second),
            [],
            steps,
            fused=True,
            decoupled_weight_decay=self.kind == "adamw",
            amsgrad=False,
            beta1=beta1,
            beta2=beta2,
            lr=lr,
            weight_decay=weight_decay,
            eps=ADAM_EPS,
            maximize=False,
        )


def _stack_padded(tensors: list[torch.Tensor], like: torch.Tensor) -> torch.Tensor:
    """`tensors` stacked along a new first dimension, each in the top-left corner of `like`'s shape."""
    stacked = like.new_zeros((len(tensors), *like.shape))
    for row, tensor in enumerate(tensors):
        stacked[row][tuple(slice(0, n) for n in tensor.shape)] = tensor.detach()
    return stacked


def _linear_weights(template: nn.Module) -> set[str]:
    return {f"{name}.weight" for name, layer in template.named_modules() if isinstance(layer, nn.Linear)}


def _stacked_forward_for(template: nn.Module):
    """A forward over stacked weights with batched matmuls, for a Sequential of Flatten, Linear
    and ReLU (an MLP); None for any other module, which then goes through vmap(functional_call)."""
    if not isinstance(template, nn.Sequential):
        return None
    layers = list(template.named_children())
    known = (nn.Flatten, nn.Linear, nn.ReLU)
    if not all(isinstance(layer, known) for _, layer in layers):
        return None

    def forward(params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        for name, layer in layers:
            if isinstance(layer, nn.Flatten):
                x = x.flatten(2)
            elif isinstance(layer, nn.Linear):  # weights stacked as (runs, in, out), see _StackedTraining
                x = torch.baddbmm(params[f"{name}.bias"].unsqueeze(1), x, params[f"{name}.weight"])
            else:
                x = torch.relu(x)
        return x

    return forward


def _train_together(runs: list[Prepared]) -> list[RunResult]:
    settings = runs[0].spec.training
    states = []
    for run in runs:
        steps_per_epoch = run.task.steps_per_epoch(settings.batch_size)
        schedule = _RunSchedule(run.spec.training, total_steps=settings.epochs * steps_per_epoch)
        costs = step_costs(run.model, run.task, run.spec)  # before the clock: probed once per architecture
        states.append(
            _RunState(
                run,
                steps_per_epoch,
                torch.Generator().manual_seed(run.spec.seed),
                schedule,
                costs,
                NoiseScale(settings.batch_size),
            )
        )
    # Decreasing steps per epoch: the runs that take a step are always a prefix. Then equal
    # schedules side by side: runs that step alike share one optimizer call (_StackedOptimizer).
    states.sort(key=lambda state: (-state.steps_per_epoch, _schedule_key(state.run.spec.training)))
    stacked = _StackedTraining(states)
    batch = settings.batch_size
    synchronize(stacked.device)
    started = time.perf_counter()
    for epoch in range(1, settings.epochs + 1):
        x_all, y_all, w_all = stacked.epoch_data()
        losses, norms, measured = [], [], []
        for step in range(stacked.max_steps):
            rows = slice(step * batch, (step + 1) * batch)
            loss, norm, small_sq = stacked.step(x_all[:, rows], y_all[:, rows], w_all[:, rows], step)
            losses.append(loss)
            norms.append(norm)
            if small_sq is not None:
                measured.append(torch.stack([small_sq, norm.float()]))
        epoch_losses, epoch_norms = torch.stack(losses).cpu(), torch.stack(norms).cpu()  # (steps, runs): one host read
        noise = (
            torch.stack(measured).double().cpu() if measured else torch.empty((0, 2, len(states)))
        )  # (measured, 2, runs)
        alive = stacked.alive.cpu()
        val_scores = stacked.scores(stacked.validation)
        if val_scores is None:
            stacked.copy_into_models()  # each run is scored from its own module
        for row, state in enumerate(states):
            if state.error is None:
                _close_epoch(
                    state,
                    epoch,
                    epoch_losses[: state.steps_per_epoch, row],
                    epoch_norms[: state.steps_per_epoch, row],
                    bool(alive[row]),
                    None if val_scores is None else val_scores[row],
                    noise[:, :, row],
                    time.perf_counter() - started,
                )
        if all(state.error is not None for state in states):
            break
    synchronize(stacked.device)
    wall_seconds = time.perf_counter() - started
    _warn_where_capped(states, wall_seconds)
    stacked.copy_into_models()  # each run's final weights, for its measurements and checkpoint
    train_scores = stacked.scores(stacked.stacked_split("train")) or [None] * len(states)
    return [_result(state, wall_seconds, len(runs), scores) for state, scores in zip(states, train_scores)]


def _alone_seconds(state: _RunState) -> float:
    """The run's whole training alone by its architecture's probe: its steps and its evaluations."""
    epochs = state.run.spec.training.epochs
    return state.costs.own_seconds(epochs * state.steps_per_epoch, epochs)


def _warn_where_capped(states: list[_RunState], wall_seconds: float) -> None:
    """Say so where a run's time alone by its probe exceeds the pass it shared (`wall_seconds`),
    which no run of it can take alone: its probe read slow (timed while the machine was busy
    elsewhere), so its `train_seconds` (capped at the pass's wall time, see _result) overstates its
    own. Such an architecture's probe is forgotten: the next group of this process probes it again."""
    capped = [state for state in states if state.error is None and _alone_seconds(state) > wall_seconds]
    if not capped:
        return
    for state in capped:
        forget_step_costs(state.run.task, state.run.spec)
    sizes = sorted({json.dumps(state.run.spec.size, sort_keys=True) for state in capped})
    log.warning(
        "%d of %d runs trained together in a %.3g s pass read slower alone by their step probe (up to %.3g s; "
        "sizes %s): their train_seconds is capped at the pass's wall time and overstates their own (a probe "
        "timed while the machine was busy; compare such runs by train_flops)",
        len(capped),
        len(states),
        wall_seconds,
        max(_alone_seconds(state) for state in capped),
        ", ".join(sizes),
    )


def _schedule_key(settings: TrainingSpec) -> tuple:
    return tuple(getattr(settings, name) for name in SCHEDULE_SETTINGS)


def _close_epoch(
    state: _RunState,
    epoch: int,
    losses: torch.Tensor,
    norms: torch.Tensor,
    alive: bool,
    val_scores: dict[str, float] | None,
    noise: torch.Tensor,
    wall_seconds: float,
) -> None:
    """Record one run's epoch (trace, curve point, validation scores: given, or scored from the
    run's module, noise-scale measurements `noise`: (small, big) squared and plain gradient norms
    of its measured steps, NaN where it did not measure), or stop it: diverged or over its time.
    Its seconds are its own (StepCosts), never more than the pass's `wall_seconds` so far."""
    spec, task, model = state.run.spec, state.run.task, state.run.model
    steps_done = epoch * state.steps_per_epoch
    state.trace.step_seconds = steps_done * state.costs.step_seconds
    if not alive or not torch.isfinite(losses).all():
        state.error = Diverged(f"non-finite training loss at epoch {epoch}")
        return
    state.trace.step_losses.extend(losses.tolist())
    state.trace.grad_norms.extend(norms.tolist())
    for small_sq, big_norm in noise.tolist():
        if not math.isnan(small_sq):
            state.noise.update(small_sq, big_norm**2)
    if val_scores is None:
        with autocast(spec.training.precision, spec.limits.device):
            val_scores = task.evaluate(model, split="val")
    lr = spec.training.lr * state.schedule.multiplier(steps_done)
    seconds = min(state.costs.own_seconds(steps_done, epoch), wall_seconds)  # see _result
    state.curves.append(epoch_point(epoch, losses, norms, val_scores, lr, seconds, seen=seen_by_epoch(task, epoch)))
    try:
        check_time_limit(spec, seconds, epoch)
    except OverTimeLimit as error:
        state.error = error


def _result(state: _RunState, wall_seconds: float, n_runs: int, train_scores: dict[str, float] | None) -> RunResult:
    """The run's result by `run_outcome`'s rule, as alone: diverged or failed (over its time) when
    training stopped it, else measured and its checkpoint saved (failed if either raises)."""
    spec = state.run.spec

    def attempt() -> dict[str, float]:
        if state.error is not None:
            raise state.error  # Diverged or OverTimeLimit, raised where training stopped the run
        state.trace.peak_memory_bytes = state.costs.peak_memory_bytes
        state.trace.gradient_noise_scale = state.noise.metrics()
        # No run trains slower alone than the whole pass it shared took: a probe timed under load
        # (cached for the process) once read 8.2 s for a run of a 0.78 s pass of 2 runs. Each
        # epoch's curve point and time-limit check take the same cap (_close_epoch); where it
        # binds, _warn_where_capped has said so.
        own_seconds = min(_alone_seconds(state), wall_seconds)
        metrics = measured_metrics(
            state.run,
            state.trace,
            state.curves,
            train_seconds=own_seconds,
            batch_wall_seconds=wall_seconds,
            batch_runs=n_runs,
            train_scores=train_scores,
        )
        save_run_checkpoint(state.run.model, spec)
        return metrics

    return run_outcome(spec, attempt, state.curves)
