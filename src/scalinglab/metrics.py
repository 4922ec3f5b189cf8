"""Every figure a run records, with its unit and meaning. The single source for table headers,
plot labels, the README's table of columns, and for telling measurements from settings.

A test checks that train_one records nothing that is not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    label: str  # short axis / column label, with unit
    description: str
    lower_is_better: bool = True


_METRICS = [
    Metric("n_params", "parameters", "Trainable parameters of the model (counted on the built module)."),
    Metric("n_train", "training examples", "Training examples (or bytes for a language model) the run saw per epoch."),
    Metric("train_loss", "train loss (nats)", "Cross-entropy on the training subset after training, in eval mode."),
    Metric("val_loss", "validation loss (nats)", "Cross-entropy on the fixed validation set after training."),
    Metric("val_accuracy", "validation accuracy", "Fraction of validation examples classified correctly.", False),
    Metric("val_f1_macro", "validation macro-F1", "F1 score averaged over classes with equal weight.", False),
    Metric("generalization_gap", "val - train loss (nats)", "Validation loss minus training loss: overfitting."),
    Metric("train_flops", "training FLOPs", "Analytic FLOPs of all forward and backward passes (multiply-add = 2)."),
    Metric("train_seconds", "training time (s)", "Wall-clock seconds of the training loop, evaluation included."),
    Metric("train_samples_per_second", "training samples/s", "Training examples processed per second.", False),
    Metric("latency_ms_p50", "latency p50 (ms)", "Median wall milliseconds of one forward pass at batch size 1."),
    Metric("latency_ms_p95", "latency p95 (ms)", "95th-percentile wall milliseconds of one forward pass at batch 1."),
    Metric("bytes_fp32", "bytes on disk (fp32)", "Size of the fp32 state_dict written with torch.save."),
]

METRICS: dict[str, Metric] = {metric.name: metric for metric in _METRICS}

RUN_IDENTITY = ("run_key", "status", "error", "worker", "seed")


def label(name: str) -> str:
    """Human label with unit for a column; the column name itself when it is not a metric."""
    return METRICS[name].label if name in METRICS else name
