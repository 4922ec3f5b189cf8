"""Knowledge distillation (Hinton et al. 2015): a smaller size of the family, trained from
scratch with the parent's recipe (data, epochs, optimizer, schedule, seed) on
alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * cross-entropy with the labels,
where _T are softmaxes at temperature T and the teacher is the parent (the largest trained size).
Compared with the stored run of the same size trained from labels alone."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from scalinglab.compress.finetune import train_model
from scalinglab.compress.methods.base import Compressed, Parent, dense
from scalinglab.train.loop import build_model
from scalinglab.train.tasks import Task


def distill(parent: Parent, *, student: dict[str, Any], temperature: float, alpha: float) -> Compressed:
    """Train a model of size `student` on the parent's soft targets."""
    spec = parent.spec.model_copy(update={"size": dict(student)})
    model = build_model(spec, parent.task.shape)
    teacher = parent.copy_model().eval()
    task = DistillationTask(parent.task, teacher, temperature=temperature, alpha=alpha)
    train_model(model, task, spec, epochs=spec.training.epochs)
    return dense(model)


class DistillationTask:
    """The parent's task with targets extended by the teacher's logits and the distillation loss;
    everything else (evaluation, batches, sizes) is the wrapped task's."""

    def __init__(self, task: Task, teacher: nn.Module, *, temperature: float, alpha: float) -> None:
        self._task, self._teacher = task, teacher
        self.temperature, self.alpha = temperature, alpha

    def __getattr__(self, name: str):
        return getattr(self._task, name)

    def train_batches(self, batch_size, generator):
        for x, y in self._task.train_batches(batch_size, generator):
            with torch.no_grad():  # closed before the yield: a suspended `with` would leak into training
                teacher_logits = self._teacher(x).float()
            yield x, (y, teacher_logits)

    def loss(self, output: torch.Tensor, target) -> torch.Tensor:
        labels, teacher_logits = target
        hard = self._task.loss(output, labels)
        vocabulary = output.shape[-1]
        student_log = F.log_softmax(output.float().reshape(-1, vocabulary) / self.temperature, dim=-1)
        teacher_prob = F.softmax(teacher_logits.reshape(-1, vocabulary) / self.temperature, dim=-1)
        soft = F.kl_div(student_log, teacher_prob, reduction="batchmean") * self.temperature**2
        return self.alpha * soft + (1 - self.alpha) * hard
