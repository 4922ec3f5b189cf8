"""The gradient noise scale of a run, measured during training at little cost.

McCandlish, Kaplan, Amodei and the OpenAI Dota team, "An Empirical Model of Large-Batch Training"
(2018, arXiv:1812.06162), Appendix A.1: the squared norm of a mean gradient over B examples has
expectation E|G_B|^2 = |G|^2 + tr(Sigma) / B (G the true gradient, Sigma the per-example gradient
covariance), so the squared norms at two batch sizes B_small < B_big give unbiased estimates

    |G|^2     ~ (B_big |G_big|^2 - B_small |G_small|^2) / (B_big - B_small)
    tr(Sigma) ~ (|G_small|^2 - |G_big|^2) / (1/B_small - 1/B_big)

and the simple noise scale B_simple = tr(Sigma) / |G|^2, which predicts the critical batch size
(the batch beyond which a larger one buys little). Each estimate is very noisy alone; as in the
paper, each of the two is averaged with its own exponential moving average and B_simple is the
ratio of the averages.

How it is measured here (the paper's trick of reusing gradients already computed): B_big is the
step's own batch, whose gradient norm before clipping the step computes anyway; B_small is the
first `batch_size // SMALL_BATCH_DIVISOR` examples of the same batch, whose gradient (at the same
weights, before the update; without touching the step's gradient) costs one extra forward and
backward of a quarter batch on every EVERY-th step of an epoch (steps 0, EVERY, 2 EVERY, ...),
full batches only. The two batches are nested, not independent: each estimate stays unbiased.
The noise scale is in the batch's own unit (examples; a language model's windows of `context`
bytes). It is undefined (recorded as missing, never negative or infinite) when the batch size is
below SMALL_BATCH_DIVISOR or when an average estimate is not positive: |G|^2 when the gradient
is within its estimate's noise of 0 (B_simple far above the batch, as late in a run that fits a
small training set), tr(Sigma) when the noise is too small to resolve (B_simple far below the
small batch, as early in a language model's run, whose every window averages many tokens).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from scalinglab.train.device import autocast

EVERY = 8  # measure on steps 0, 8, 16, ... of each epoch
SMALL_BATCH_DIVISOR = 4  # the small batch is the first batch_size // 4 examples of the step's batch
# Of each of the two estimates, per measurement: about the last 100 measurements (800 steps); a
# shorter run's value is its (recency-weighted) average over the run. On the linear-regression case
# of benchmarks/noise_scale.py, 0.9 left a median error of 24%, 0.99 under 10%.
EMA_DECAY = 0.99


def small_batch_size(batch_size: int) -> int:
    """The small batch of a run with `batch_size`: 0 when too small to measure."""
    return batch_size // SMALL_BATCH_DIVISOR if batch_size >= SMALL_BATCH_DIVISOR else 0


def measures(step: int, batch_rows: int, batch_size: int) -> bool:
    """Whether step `step` of an epoch (with `batch_rows` real examples) measures the noise scale."""
    return step % EVERY == 0 and batch_rows == batch_size and small_batch_size(batch_size) > 0


class NoiseScale:
    """The exponential moving averages of |G|^2 and tr(Sigma) over one run's measurements."""

    def __init__(self, batch_size: int, decay: float = EMA_DECAY) -> None:
        self.b_big, self.b_small = float(batch_size), float(small_batch_size(batch_size))
        self.decay = decay
        self.gradient_sq = 0.0  # EMA of the |G|^2 estimates (no bias correction: it cancels in the ratio)
        self.trace_sigma = 0.0  # EMA of the tr(Sigma) estimates
        self.measurements = 0

    def update(self, small_sq: float, big_sq: float) -> None:
        """Add one measurement: squared gradient norms at the small and the big batch."""
        if not (math.isfinite(small_sq) and math.isfinite(big_sq)) or self.b_small <= 0:
            return
        b_small, b_big = self.b_small, self.b_big
        gradient_sq = (b_big * big_sq - b_small * small_sq) / (b_big - b_small)
        trace_sigma = (small_sq - big_sq) / (1.0 / b_small - 1.0 / b_big)
        self.gradient_sq = self.decay * self.gradient_sq + (1 - self.decay) * gradient_sq
        self.trace_sigma = self.decay * self.trace_sigma + (1 - self.decay) * trace_sigma
        self.measurements += 1

    def value(self) -> float | None:
        """B_simple = tr(Sigma) / |G|^2 of the averages; None when undefined (no measurement, or an
        average not positive)."""
        if self.measurements == 0 or self.gradient_sq <= 0 or self.trace_sigma <= 0:
            return None
        value = self.trace_sigma / self.gradient_sq
        return value if math.isfinite(value) else None

    def metrics(self) -> dict[str, float]:
        """The run's `gradient_noise_scale` column, absent when undefined."""
        value = self.value()
        return {} if value is None else {"gradient_noise_scale": value}


class StepMeter:
    """The one-at-a-time loop's measurements: the small batch's squared gradient norm, computed
    before the step, and the step's own norm, kept on the device and read once per epoch."""

    def __init__(self, batch_size: int, *, forks_rng: bool) -> None:
        self.noise = NoiseScale(batch_size)
        self.batch_size = batch_size
        self.forks_rng = forks_rng  # dropout draws random masks: the extra forward must not shift the run's
        self.pending: list[tuple[torch.Tensor, torch.Tensor]] = []

    def small_sq(
        self,
        model: nn.Module,
        loss_of: Callable,
        x: torch.Tensor,
        y: torch.Tensor | tuple[torch.Tensor, ...],
        *,
        step: int,
        precision: str,
        device: str,
    ) -> torch.Tensor | None:
        """The squared norm of the gradient over the small batch at the current weights (None on a
        step that does not measure); the parameters' .grad is left as it was."""
        if not measures(step, len(x), self.batch_size):
            return None
        rows = small_batch_size(self.batch_size)
        params = [param for param in model.parameters() if param.requires_grad]
        devices = [torch.device(device)] if torch.device(device).type == "cuda" else []
        with torch.random.fork_rng(devices=devices, enabled=self.forks_rng):
            with autocast(precision, device):
                loss = loss_of(model(x[:rows]), first_rows(y, rows))
            grads = torch.autograd.grad(loss, params, allow_unused=True)
        return squared_norm([grad for grad in grads if grad is not None])

    def record(self, small_sq: torch.Tensor | None, big_norm: torch.Tensor) -> None:
        if small_sq is not None:
            self.pending.append((small_sq, big_norm.detach()))

    def close_epoch(self) -> None:
        """Read the epoch's measurements from the device (one read) into the averages."""
        if not self.pending:
            return
        pairs = torch.stack([torch.stack([small.float(), big.float()]) for small, big in self.pending]).double().cpu()
        self.pending = []
        for small_sq, big_norm in pairs.tolist():
            self.noise.update(small_sq, big_norm**2)


def first_rows(target, rows: int):
    """The first `rows` examples of a batch's target: a tensor, or a tuple of tensors (a distilled
    student's target is (labels, teacher logits): slicing the tuple itself would keep every row)."""
    if isinstance(target, (tuple, list)):
        return type(target)(part[:rows] for part in target)
    return target[:rows]


def squared_norm(grads: list[torch.Tensor]) -> torch.Tensor:
    """The squared L2 norm of all `grads` together, as a float32 device scalar."""
    return torch.stack([grad.float().pow(2).sum() for grad in grads]).sum()
