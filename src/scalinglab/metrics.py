"""Every figure a run records, with its unit and meaning. The single source for table headers,
plot labels, the table of columns in docs/columns.md, and for telling measurements from settings.

A test checks that train_one records nothing that is not listed here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    label: str  # short axis / column label, with unit
    description: str
    lower_is_better: bool = True
    cost: bool = False  # a price of size: fitted as a pure power law (or with overhead), never as quality
    grows_with_data: bool = False  # proportional to the examples a run trains on: fitted per example
    fixed_overhead: bool = False  # a time with a per-call or per-step part that does not shrink with size


_METRICS = [
    # What was trained
    Metric(
        "n_params",
        "parameters",
        "Parameters of the model, frozen ones included, shared ones once (counted on the built module).",
    ),
    Metric(
        "n_trainable_params",
        "trainable parameters",
        "Parameters the run trained: all of them but in [transfer]'s features mode, where the pretrained body is frozen.",
    ),
    Metric(
        "n_params_nonembedding",
        "non-embedding parameters",
        "Language model only: parameters outside the token and position embeddings (Kaplan et al.'s N).",
    ),
    Metric("n_train", "training examples", "Training examples (or bytes for a language model) the run saw per epoch."),
    Metric(
        "train_tokens_seen",
        "tokens seen",
        "Language model: training tokens (bytes) the run trained on, all passes counted: its text's tokens times "
        "training.epochs (1: a single pass). Each curve point records tokens_seen up to it.",
    ),
    Metric(
        "branch_tokens",
        "branch point (tokens)",
        "Cooldown branch (training.cooldowns): the tokens its stable run had seen when this run left it to cool down.",
    ),
    Metric(
        "cooldown_steps",
        "cooldown steps",
        "Cooldown branch: the optimizer steps of its own cooldown, past its branch point.",
    ),
    Metric(
        "cooldown_train_flops",
        "cooldown training FLOPs",
        "Cooldown branch: the training FLOPs of its own cooldown, what it cost beyond the stable run it shares.",
    ),
    Metric("cv_folds", "folds", "Cross-validation folds averaged over (only with data.cv_folds)."),
    # Quality
    Metric(
        "train_loss",
        "train loss (nats)",
        "Cross-entropy on the training subset after training, in eval mode (LM: per byte).",
    ),
    Metric(
        "val_loss", "validation loss (nats)", "Cross-entropy on the fixed validation set after training (LM: per byte)."
    ),
    Metric("val_accuracy", "validation accuracy", "Fraction of validation examples classified correctly.", False),
    Metric("val_f1_macro", "validation macro-F1", "F1 score averaged over classes with equal weight.", False),
    Metric(
        "train_bits_per_byte",
        "train bits/byte",
        "Language model: training cross-entropy in bits per byte (nats / ln 2).",
    ),
    Metric(
        "val_bits_per_byte",
        "validation bits/byte",
        "Language model: validation cross-entropy in bits per byte (nats / ln 2).",
    ),
    Metric(
        "val_loss_fold_std",
        "val loss std over folds (nats)",
        "Spread (std) of validation loss over cross-validation folds.",
    ),
    Metric(
        "val_accuracy_fold_std",
        "val accuracy std over folds",
        "Spread (std) of validation accuracy over cross-validation folds.",
    ),
    Metric(
        "val_f1_macro_fold_std",
        "val macro-F1 std over folds",
        "Spread (std) of validation macro-F1 over cross-validation folds.",
    ),
    Metric("generalization_gap", "val - train loss (nats)", "Validation loss minus training loss: overfitting."),
    Metric(
        "baseline_val_loss",
        "trivial val loss (nats)",
        "Validation loss of predicting the training label frequencies (LM: a unigram byte model), add-one smoothed.",
    ),
    Metric(
        "baseline_val_accuracy",
        "trivial val accuracy",
        "Validation accuracy of always predicting the most frequent training class.",
        False,
    ),
    Metric(
        "baseline_val_f1_macro",
        "trivial val macro-F1",
        "Validation macro-F1 of always predicting the most frequent training class.",
        False,
    ),
    Metric(
        "baseline_val_bits_per_byte",
        "trivial val bits/byte",
        "Language model: validation bits per byte of a unigram byte model.",
    ),
    Metric(
        "zlib_val_bits_per_byte",
        "zlib val bits/byte",
        "Language model: size in bits of the scored validation text compressed by zlib (level 9), per byte of it.",
    ),
    Metric(
        "lzma_val_bits_per_byte",
        "lzma val bits/byte",
        "Language model: size in bits of the scored validation text compressed by lzma (preset 9), per byte of it.",
    ),
    # Training cost
    Metric(
        "train_flops",
        "training FLOPs",
        "Analytic FLOPs of all forward and backward passes (multiply-add = 2); in [transfer]'s features mode "
        "the backward stops at the head (the frozen body needs no gradient).",
        cost=True,
        grows_with_data=True,
    ),
    Metric(
        "train_seconds",
        "training time (s)",
        "The run's own training time, per-epoch evaluation included: the loop's wall-clock seconds when trained alone; "
        "trained in a batch, its steps times its model's step time alone plus its evaluations alone (probed once per "
        "architecture; on the CPU timed in process CPU seconds where fewer than the wall clock's, so a busy machine's "
        "other processes are not counted; never more than `batch_wall_seconds`, with a warning where that cap binds).",
        cost=True,
        grows_with_data=True,
        fixed_overhead=True,
    ),
    Metric(
        "batch_wall_seconds",
        "batch wall time (s)",
        "Wall-clock seconds of the training pass this run shared with batch_runs runs (its own train_seconds when alone).",
    ),
    Metric(
        "batch_runs",
        "runs trained together",
        "How many runs shared this run's vectorised training pass (1: trained alone).",
    ),
    Metric("train_samples_per_second", "training samples/s", "Training examples per second of optimizer steps.", False),
    Metric(
        "train_tokens_per_second",
        "training tokens/s",
        "Language model: training tokens (bytes) per second of optimizer steps.",
        False,
    ),
    Metric(
        "achieved_flops_per_second",
        "achieved FLOP/s",
        "Training FLOPs divided by the seconds spent in optimizer steps (evaluation excluded).",
        False,
    ),
    Metric(
        "peak_flops_fraction",
        "fraction of matmul peak",
        "Achieved FLOP/s over this machine's measured square-matmul FLOP/s at the run's precision (cached once).",
        False,
    ),
    Metric(
        "peak_memory_bytes",
        "peak tensor memory (bytes)",
        "Most bytes of live tensors during the model's first training step alone: weights, gradients, optimizer state, "
        "activations. With `training.data_parallel` = W > 1, one worker's, at its share of the batch.",
        cost=True,
    ),
    # Inference cost and storage
    Metric(
        "latency_ms_p50",
        "latency p50 (ms)",
        "Median wall milliseconds of one forward pass at batch size 1 (LM: one window).",
        cost=True,
        fixed_overhead=True,
    ),
    Metric("latency_ms_p95", "latency p95 (ms)", "95th-percentile wall milliseconds of one forward pass at batch 1."),
    Metric(
        "inference_samples_per_second", "inference samples/s", "Eval-mode forward throughput at batch size 512.", False
    ),
    Metric(
        "inference_tokens_per_second",
        "inference tokens/s",
        "Language model: forward throughput on 32 windows at once.",
        False,
    ),
    Metric(
        "inference_peak_memory_bytes",
        "inference peak memory (bytes)",
        "Most bytes of live tensors during one eval-mode forward pass on the throughput batch, weights included.",
    ),
    Metric("bytes_fp32", "bytes on disk (fp32)", "Size of the fp32 state_dict written with torch.save.", cost=True),
    Metric("bytes_bf16", "bytes on disk (bf16)", "Size of the state_dict cast to bfloat16, written with torch.save."),
    Metric(
        "bytes_int8",
        "bytes on disk (int8)",
        "Size with weight matrices and kernels as int8 plus one fp32 scale each (biases, norms fp32), torch.save.",
    ),
    # Stability
    Metric("grad_norm_mean", "mean gradient norm", "Mean over steps of the global L2 gradient norm, before clipping."),
    Metric("grad_norm_max", "max gradient norm", "Largest global L2 gradient norm of any step, before clipping."),
    Metric("grad_norm_final", "final gradient norm", "Median global gradient norm over the last 10% of steps."),
    Metric(
        "grad_clipped_fraction",
        "fraction of steps clipped",
        "Fraction of steps whose gradient norm exceeded training.grad_clip.",
    ),
    Metric(
        "gradient_noise_scale",
        "gradient noise scale (examples)",
        "Simple noise scale B_simple = tr(Sigma)/G.G (per-example gradient covariance over the squared true gradient) "
        "at the end of training, in batch examples (LM: windows): about "
        "the critical batch size, beyond which a larger batch buys little (McCandlish et al. 2018, arXiv:1812.06162, "
        "App. A). Estimated from squared gradient norms at the step's batch and its first quarter on every 8th step "
        "of an epoch (full batches), each estimate averaged by an EMA (decay 0.99); missing when undefined (batch "
        "under 4, or an average estimate not positive: G.G when the gradient is within its noise of zero, B_simple "
        "far above the batch; tr(Sigma) when the noise is too small to resolve, B_simple far below a quarter batch).",
    ),
    Metric("loss_spikes", "loss spikes", "Steps whose loss exceeded twice the median of the 20 steps before them."),
    Metric("diverged_flag", "diverged (0/1)", "1 when the last epoch's mean training loss is above the first epoch's."),
]

METRICS: dict[str, Metric] = {metric.name: metric for metric in _METRICS}

# The costs a law is fitted to (and that a budget can limit), in the order the report shows them.
COSTS: tuple[str, ...] = tuple(metric.name for metric in _METRICS if metric.cost)

# Properties of the model (at its batch size), not of how much data it trained on: a figure draws
# them as one series over every data size, where one per data size would overlap.
SAME_FOR_EVERY_DATA_SIZE: frozenset[str] = frozenset(
    {
        "latency_ms_p50",
        "latency_ms_p95",
        "train_samples_per_second",
        "train_tokens_per_second",
        "achieved_flops_per_second",
        "peak_flops_fraction",
        "peak_memory_bytes",
        "inference_samples_per_second",
        "inference_tokens_per_second",
        "inference_peak_memory_bytes",
        "bytes_fp32",
        "bytes_bf16",
        "bytes_int8",
    }
)

# Quality columns a user may optimise, in the order they are offered.
QUALITY: tuple[str, ...] = ("val_loss", "val_accuracy", "val_f1_macro", "train_loss", "val_bits_per_byte")


@dataclass(frozen=True)
class Budget:
    """A limit a recommendation respects: the cost column it bounds, in the budget's own unit."""

    name: str  # also the command-line option, with '-' for '_'
    column: str
    per_column_unit: float  # budget units per unit of the column (1e-6: bytes -> MB)
    help: str

    @property
    def option(self) -> str:
        """The command-line option, e.g. --train-seconds."""
        return "--" + self.name.replace("_", "-")


BUDGETS: dict[str, Budget] = {
    budget.name: budget
    for budget in (
        Budget("train_flops", "train_flops", 1.0, "Training compute budget, FLOPs."),
        Budget("train_seconds", "train_seconds", 1.0, "Training time budget, seconds (as measured here)."),
        Budget("latency_ms", "latency_ms_p50", 1.0, "Largest median latency at batch 1, milliseconds."),
        Budget("memory_mb", "peak_memory_bytes", 1e-6, "Largest peak memory, MB (needs peak_memory_bytes measured)."),
        Budget("storage_mb", "bytes_fp32", 1e-6, "Largest fp32 checkpoint, MB."),
    )
}

RUN_IDENTITY = ("run_key", "status", "error", "worker", "device", "seed", "parent_run_key")


def label(name: str) -> str:
    """Human label with unit for a column; the column name itself when it is not a metric."""
    return METRICS[name].label if name in METRICS else name


def short_label(name: str) -> str:
    """The label without its unit, for running text: 'validation loss'."""
    return label(name).split(" (")[0]


# What a recorded value can be, by what the column counts: parameters and examples are whole
# numbers >= 1; a share (accuracy, F1, a fraction) lies in [0, 1]; a time, FLOPs, bytes or a loss
# is >= 0. A user's objective returning "n_params": -50 or "val_accuracy": 1.7 is refused with this.
_WHOLE_COUNTS = ("n_params", "n_trainable_params", "n_params_nonembedding", "n_train")
_SHARE_SUFFIXES = ("accuracy", "f1_macro", "_fraction")
_NON_NEGATIVE_PARTS = ("seconds", "second", "flops", "bytes", "latency", "_loss", "memory", "tokens_seen")


def value_range(name: str) -> tuple[float, float]:
    """The values a run's column `name` can take, (low, high): (0, 1) for a share, (1, inf) for a
    count of parameters or examples, (0, inf) for a time, FLOPs, bytes or a loss, else unbounded.
    Only the columns listed here are bounded: a column of a user's own is theirs to define."""
    if name not in METRICS:
        return -math.inf, math.inf
    if name in _WHOLE_COUNTS:
        return 1.0, math.inf
    if name.endswith(_SHARE_SUFFIXES):
        return 0.0, 1.0
    if any(part in name for part in _NON_NEGATIVE_PARTS) and not name.endswith("_std"):
        return 0.0, math.inf
    return -math.inf, math.inf


def impossible_value(name: str, value: float) -> str | None:
    """Why `value` cannot be a run's `name` ('must be ...'), or None when it can."""
    low, high = value_range(name)
    if name in _WHOLE_COUNTS:
        return None if value >= low and value == int(value) else "must be a whole number >= 1"
    if high == 1.0:
        return None if low <= value <= high else "must lie between 0 and 1"
    return None if value >= low else "must be >= 0"


def lower_is_better(name: str) -> bool:
    """Whether smaller values of the column are better (unknown columns: yes, like a loss)."""
    return METRICS[name].lower_is_better if name in METRICS else True
