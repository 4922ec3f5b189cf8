"""Teacher-student task: a fixed, randomly initialised MLP (the teacher, of known size) labels
Gaussian inputs with the argmax of its logits. Students of growing size should approach the
teacher's accuracy once they can represent it, which makes "how big is big enough" checkable.

The teacher's weights come from `teacher.seed`, the inputs from `split_seed`, so the task is
deterministic; `label_noise` replaces that fraction of labels with uniformly random classes.
"""

from __future__ import annotations

import numpy as np

from scalinglab.data.base import Dataset, classification_dataset
from scalinglab.run_spec import DataSpec, TeacherSpec


def teacher_n_params(teacher: TeacherSpec) -> int:
    """Parameters of the teacher MLP (weights and biases of every layer)."""
    widths = [teacher.n_features] + [teacher.width] * teacher.depth + [teacher.n_classes]
    return sum(fan_in * fan_out + fan_out for fan_in, fan_out in zip(widths, widths[1:]))


def teacher_labels(teacher: TeacherSpec, x: np.ndarray) -> np.ndarray:
    """Class of each row of `x` according to the teacher (ReLU MLP, He-scaled Gaussian weights)."""
    rng = np.random.default_rng(teacher.seed)
    widths = [teacher.n_features] + [teacher.width] * teacher.depth + [teacher.n_classes]
    hidden = x
    for layer, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        weights = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
        bias = rng.normal(0.0, 0.1, size=fan_out)
        hidden = hidden @ weights + bias
        if layer < teacher.depth:
            hidden = np.maximum(hidden, 0.0)
    return hidden.argmax(axis=1)


def load_teacher(spec: DataSpec) -> Dataset:
    teacher = spec.teacher or TeacherSpec()
    rng = np.random.default_rng(spec.split_seed)
    x = rng.standard_normal((teacher.n_samples, teacher.n_features)).astype(np.float32)
    y = teacher_labels(teacher, x)
    noisy = rng.random(len(y)) < teacher.label_noise
    y[noisy] = rng.integers(0, teacher.n_classes, size=int(noisy.sum()))
    name = f"teacher(width={teacher.width}, depth={teacher.depth}, params={teacher_n_params(teacher)})"
    return classification_dataset(
        name, x, y, val_fraction=spec.val_fraction, split_seed=spec.split_seed, val_size=spec.val_size
    )
