"""What differs between the two kinds of task the training loop runs: how batches are drawn,
what a sample is, and how a model is scored.

- Classification: a sample is an example; batches are shuffled examples; scored by cross-entropy,
  accuracy and macro-F1.
- Byte-level language modelling: a sample is a token (a byte); a batch holds `batch_size` windows
  of `context` bytes starting at random offsets, one epoch has as many windows as the training
  bytes fill end to end; scored by cross-entropy per byte and bits per byte (= nats / ln 2),
  over non-overlapping windows covering the validation text.
"""

from __future__ import annotations

import lzma
import math
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from scalinglab.data.base import Dataset
from scalinglab.families import TaskShape

INFERENCE_EXAMPLES = 512  # classification batch for throughput
INFERENCE_WINDOWS = 32  # language-model batch for throughput (windows of `context` tokens)
EVAL_WINDOWS_PER_CHUNK = 64  # bounds the memory of scoring a language model


class Task(ABC):
    shape: TaskShape
    sample_unit: ClassVar[str]  # "samples" or "tokens": what throughput counts
    train_scores: ClassVar[tuple[str, ...]]  # which scores are also reported on the training data
    samples_per_epoch: int

    @abstractmethod
    def steps_per_epoch(self, batch_size: int) -> int: ...

    @abstractmethod
    def train_epoch(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """One epoch's (inputs, targets), one sample per row, in a seeded random order."""

    def train_batches(self, batch_size: int, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of (input, target) batches in a seeded random order (`train_epoch` in slices)."""
        inputs, targets = self.train_epoch(generator)
        yield from zip(inputs.split(batch_size), targets.split(batch_size))

    @abstractmethod
    def sample_losses(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of each sample of a batch (a window's mean over its tokens), shape (batch,)."""

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean training loss of a batch."""
        return self.sample_losses(output, target).mean()

    @abstractmethod
    def evaluate(self, model: nn.Module, *, split: str) -> dict[str, float]:
        """Scores of `model` in eval mode on the "train" or "val" data (loss in nats per sample)."""

    @abstractmethod
    def baseline_scores(self) -> dict[str, float]:
        """The validation scores (`evaluate`'s names) of the trivial model that knows only the
        training data's label (or byte) frequencies: how far above trivial a trained model is."""

    def reference_scores(self) -> dict[str, float]:
        """Scores of well-known references a reader can place the model against, named as the
        metrics they become (none for classification)."""
        return {}

    @abstractmethod
    def single_input(self) -> torch.Tensor:
        """One input at batch size 1, for latency."""

    @abstractmethod
    def inference_batch(self) -> tuple[torch.Tensor, int]:
        """A large input batch for throughput, and how many samples it holds."""


def make_task(dataset: Dataset, size: dict, *, device: str = "cpu") -> Task:
    """The task a model of `size` (a run's size axes) trains on from `dataset`, its tensors on `device`."""
    if dataset.kind == "lm":
        if "context" not in size:
            raise ValueError(f"'{dataset.name}' is text: it needs a language-model family such as transformer")
        return LanguageModelTask(dataset, context=size["context"], device=device)
    return ClassificationTask(dataset, device=device)


class ClassificationTask(Task):
    sample_unit = "samples"
    train_scores = ("loss",)

    def __init__(self, dataset: Dataset, *, device: str = "cpu") -> None:
        self.shape = TaskShape(kind="classification", input_shape=dataset.input_shape, n_outputs=dataset.n_outputs)
        as_tensor = lambda array: torch.from_numpy(array).to(device)
        self._x = {"train": as_tensor(dataset.x_train), "val": as_tensor(dataset.x_val)}
        self._y = {"train": as_tensor(dataset.y_train), "val": as_tensor(dataset.y_val)}
        self.samples_per_epoch = dataset.n_train

    def steps_per_epoch(self, batch_size: int) -> int:
        return math.ceil(self.samples_per_epoch / batch_size)

    def train_epoch(self, generator):
        # The order is drawn on the CPU so a seed gives the same order on every device.
        order = torch.randperm(self.samples_per_epoch, generator=generator).to(self._x["train"].device)
        return self._x["train"][order], self._y["train"][order]

    def sample_losses(self, output, target):
        return F.cross_entropy(output.float(), target, reduction="none")

    @torch.no_grad()
    def evaluate(self, model, *, split):
        model.eval()
        x, y = self.examples(split)
        return self.scores_of_runs(model(x)[None], y[None])[0]

    def baseline_scores(self):
        # Add-one (Laplace) smoothing: a class absent from the training subset costs a finite loss.
        log_frequencies = _smoothed_log_frequencies(self._y["train"], self.shape.n_outputs)
        _, labels = self.examples("val")
        logits = log_frequencies.float().expand(len(labels), -1)  # argmax: the majority class, for every example
        return self.scores_of_runs(logits[None], labels[None])[0]

    def examples(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The (inputs, labels) of the "train" or "val" split, whole."""
        return self._x[split], self._y[split]

    @staticmethod
    def scores_of_runs(logits: torch.Tensor, labels: torch.Tensor) -> list[dict[str, float]]:
        """`evaluate`'s scores of several runs at once, from their logits, shape (runs, examples,
        classes), and labels, shape (runs, examples): one dict per run (batched training scores a
        group's runs from one stacked forward)."""
        logits = logits.float()
        losses = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), reduction="none").view(labels.shape).mean(1)
        predicted = logits.argmax(dim=-1)
        accuracy = (predicted == labels).float().mean(1)
        f1 = macro_f1(predicted, labels, n_classes=logits.shape[-1])
        return [
            {"loss": loss, "accuracy": acc, "f1_macro": f}
            for loss, acc, f in zip(losses.tolist(), accuracy.tolist(), f1.tolist())
        ]

    def single_input(self):
        return self._x["val"][:1]

    def inference_batch(self):
        rows = torch.arange(INFERENCE_EXAMPLES) % len(self._x["val"])
        return self._x["val"][rows], INFERENCE_EXAMPLES


class LanguageModelTask(Task):
    sample_unit = "tokens"
    train_scores = ("loss", "bits_per_byte")

    def __init__(self, dataset: Dataset, *, context: int, device: str = "cpu") -> None:
        self.context = context
        self.shape = TaskShape(kind="lm", input_shape=(context,), n_outputs=dataset.n_outputs)
        for split, stream in (("train", dataset.x_train), ("val", dataset.x_val)):
            if len(stream) < context + 1:
                raise ValueError(
                    f"{len(stream)} {split} bytes of '{dataset.name}' do not fill one window of context + 1 = {context + 1}"
                )
        self._train = torch.from_numpy(dataset.x_train.astype(np.int64)).to(device)
        self._val = torch.from_numpy(dataset.x_val.astype(np.int64)).to(device)
        # The training loss is scored on as many training bytes as there are validation bytes.
        self._scored = {"train": self._train[: len(self._val)], "val": self._val}
        self._windows_per_epoch = (len(self._train) - 1) // context
        self.samples_per_epoch = self._windows_per_epoch * context

    def steps_per_epoch(self, batch_size: int) -> int:
        return math.ceil(self._windows_per_epoch / batch_size)

    def train_epoch(self, generator):
        last_start = len(self._train) - self.context - 1
        starts = torch.randint(0, last_start + 1, (self._windows_per_epoch,), generator=generator)
        positions = (starts[:, None] + torch.arange(self.context)).to(self._train.device)
        return self._train[positions], self._train[positions + 1]

    def sample_losses(self, output, target):
        tokens = F.cross_entropy(output.float().reshape(-1, output.shape[-1]), target.reshape(-1), reduction="none")
        return tokens.view(target.shape).mean(dim=1)

    @torch.no_grad()
    def evaluate(self, model, *, split):
        model.eval()
        inputs, targets = self._windows(self._scored[split])
        total_nats = 0.0
        for x, y in zip(inputs.split(EVAL_WINDOWS_PER_CHUNK), targets.split(EVAL_WINDOWS_PER_CHUNK)):
            logits = model(x).float()
            total_nats += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        nats_per_byte = total_nats / targets.numel()
        return {"loss": nats_per_byte, "bits_per_byte": nats_per_byte / math.log(2)}

    def baseline_scores(self):
        # A unigram byte model of the training text, add-one smoothed, scored on `evaluate`'s targets.
        log_frequencies = _smoothed_log_frequencies(self._train, self.shape.n_outputs)
        _, targets = self._windows(self._val)
        nats_per_byte = -float(log_frequencies[targets.flatten()].mean())
        return {"loss": nats_per_byte, "bits_per_byte": nats_per_byte / math.log(2)}

    def reference_scores(self):
        """Bits per byte of the standard library's general-purpose compressors (zlib level 9 and
        lzma preset 9) on the very bytes `evaluate` scores: the size of the compressed held-out
        text in bits over its length. A compressor is a model that learns from the text as it
        goes and saw no training text, so it is an anchor a reader knows, not a bound."""
        _, targets = self._windows(self._val)
        text = targets.to(torch.uint8).cpu().numpy().tobytes()
        return {
            "zlib_val_bits_per_byte": compressed_bits_per_byte(zlib.compress(text, 9), text),
            "lzma_val_bits_per_byte": compressed_bits_per_byte(lzma.compress(text, preset=9), text),
        }

    def _windows(self, stream: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Non-overlapping (input, next-byte target) windows covering `stream`."""
        n_windows = (len(stream) - 1) // self.context
        used = n_windows * self.context
        return stream[:used].view(n_windows, self.context), stream[1 : used + 1].view(n_windows, self.context)

    def single_input(self):
        return self._val[None, : self.context]

    def inference_batch(self):
        inputs, _ = self._windows(self._val)
        rows = torch.arange(INFERENCE_WINDOWS) % len(inputs)
        return inputs[rows], INFERENCE_WINDOWS * self.context


def compressed_bits_per_byte(compressed: bytes, text: bytes) -> float:
    """Bits of the compressed form per byte of the original text."""
    return 8.0 * len(compressed) / len(text)


def _smoothed_log_frequencies(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """log((count + 1) / (total + n_classes)) of each class in `labels`, in float64."""
    counts = torch.bincount(labels.flatten(), minlength=n_classes).double() + 1
    return (counts / counts.sum()).log()


def macro_f1(predicted: torch.Tensor, truth: torch.Tensor, *, n_classes: int) -> torch.Tensor:
    """F1 averaged over classes with equal weight (classes absent from both are skipped), of each
    row of `predicted` and `truth` (class indices, shape (..., examples)); shape (...)."""
    classes = torch.arange(n_classes, device=predicted.device)
    is_predicted, is_true = (
        predicted.unsqueeze(-1) == classes,
        truth.unsqueeze(-1) == classes,
    )  # (..., examples, classes)
    true_pos = (is_predicted & is_true).sum(-2, dtype=torch.float64)
    claimed = is_predicted.sum(-2, dtype=torch.float64) + is_true.sum(-2, dtype=torch.float64)  # predicted + actual
    present = claimed > 0
    per_class = torch.where(present, 2 * true_pos / claimed.clamp(min=1), 0.0)
    return per_class.sum(-1) / present.sum(-1).clamp(min=1)
