"""k-fold cross-validation inside one run's training subset, for small classification data.

The run's training examples are split into k stratified folds; k models are trained, each
validated on the fold it did not see. Every metric becomes the mean over folds, the validation
scores also get their spread (`val_loss_fold_std`, ...), and the curves are averaged per epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from scalinglab.data.base import Dataset
from scalinglab.run_spec import RunSpec

SPREAD_REPORTED = ("val_loss", "val_accuracy", "val_f1_macro")


def stratified_folds(labels: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """k disjoint index arrays covering every example; each class is dealt round-robin over folds."""
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(labels), dtype=int)
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        assignment[members] = (np.arange(len(members)) + rng.integers(k)) % k
    return [np.flatnonzero(assignment == fold) for fold in range(k)]


def fold_dataset(dataset: Dataset, validation: np.ndarray) -> Dataset:
    """`dataset` with the examples at `validation` as its validation set and the rest as training."""
    training = np.setdiff1d(np.arange(dataset.n_train), validation)
    return replace(
        dataset,
        x_train=dataset.x_train[training],
        y_train=dataset.y_train[training],
        x_val=dataset.x_train[validation],
        y_val=dataset.y_train[validation],
    )


def cross_validated(
    dataset: Dataset,
    spec: RunSpec,
    train_fold: Callable[[Dataset, list], dict[str, float]],
    curves: list[dict[str, float]],
) -> dict[str, float]:
    """Mean metrics over `spec.data.cv_folds` folds (train_fold trains and measures one, filling its curves), with spreads."""
    k = spec.data.cv_folds
    if dataset.kind != "classification":
        raise ValueError("data.cv_folds is for classification data; a language model is validated on held-out files")
    if np.unique(dataset.y_train, return_counts=True)[1].min() < k:
        raise ValueError(f"data.cv_folds={k}: some class has fewer than {k} training examples")
    fold_metrics, fold_curves = [], []
    for validation in stratified_folds(dataset.y_train, k, spec.data.split_seed):
        one_fold_curves: list[dict[str, float]] = []
        fold_metrics.append(train_fold(fold_dataset(dataset, validation), one_fold_curves))
        fold_curves.append(one_fold_curves)
    curves.extend(_mean_per_key(points) for points in zip(*fold_curves))
    metrics = _mean_per_key(fold_metrics)
    metrics.update(
        {f"{name}_fold_std": float(np.std([m[name] for m in fold_metrics], ddof=1)) for name in SPREAD_REPORTED}
    )
    metrics["n_train"] = float(dataset.n_train)
    metrics["cv_folds"] = float(k)
    return metrics


def _mean_per_key(records) -> dict[str, float]:
    return {key: float(np.mean([record[key] for record in records])) for key in records[0]}
