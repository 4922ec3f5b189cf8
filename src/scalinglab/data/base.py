"""The dataset contract and the two operations every run applies: a nested training subset
and preprocessing fitted on that subset only.

Nesting: the training examples are put once into a fixed, class-interleaved order; a run with
train_size=n takes the first n. So every smaller data size is a subset of every larger one and
each prefix is close to class-balanced, which keeps the data-size axis a clean variable.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from scalinglab.errors import UserError


@dataclass(frozen=True)
class Dataset:
    name: str
    kind: str  # "classification" or "lm"
    x_train: np.ndarray  # already in nested order; for "lm" a 1-D uint8 byte stream
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    n_outputs: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_train(self) -> int:
        return len(self.x_train)

    @property
    def unit(self) -> str:
        """What `n_train` counts: training bytes of a language model, else training examples."""
        return "training bytes" if self.kind == "lm" else "training examples"


def stratified_split(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation): each class contributes val_fraction of its examples to validation."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        n_val = max(1, round(len(members) * val_fraction))
        val.append(members[:n_val])
        train.append(members[n_val:])
    return np.concatenate(train), np.sort(np.concatenate(val))


def nested_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """A permutation whose every prefix is close to class-balanced (classes interleaved)."""
    rng = np.random.default_rng(seed)
    rank = np.empty(len(labels))
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        # Spread each class evenly over [0, 1): the k-th of m members sits at (k + u) / m.
        rank[rng.permutation(members)] = (np.arange(len(members)) + rng.random()) / len(members)
    return np.lexsort((rng.random(len(labels)), rank))


def classification_dataset(
    name: str, x: np.ndarray, y: np.ndarray, *, val_fraction: float, split_seed: int, val_size: int | None = None
) -> Dataset:
    """Split features/labels into a fixed stratified validation set and a nested-ordered train set.

    `val_size`, when given, replaces `val_fraction`: about that many validation examples.
    """
    y = np.asarray(y)
    if val_size is not None:
        if val_size >= len(y):
            raise UserError(f"data.val_size: {val_size} is not smaller than the {len(y)} examples of '{name}'")
        val_fraction = val_size / len(y)
    classes, y_index = np.unique(y, return_inverse=True)
    train_idx, val_idx = stratified_split(y_index, val_fraction, split_seed)
    train_idx = train_idx[nested_order(y_index[train_idx], split_seed)]
    x = np.asarray(x, dtype=np.float32)
    return Dataset(
        name=name,
        kind="classification",
        x_train=x[train_idx],
        y_train=y_index[train_idx].astype(np.int64),
        x_val=x[val_idx],
        y_val=y_index[val_idx].astype(np.int64),
        n_outputs=len(classes),
    )


def prepare(dataset: Dataset, *, train_size: int | None, preprocessing: str) -> Dataset:
    """The first `train_size` training examples, preprocessed with statistics of that subset."""
    if train_size is not None:
        if train_size > dataset.n_train:
            raise UserError(
                f"data.train_size: {train_size} is larger than the {dataset.n_train} {dataset.unit} of '{dataset.name}'"
            )
        dataset = replace(dataset, x_train=dataset.x_train[:train_size], y_train=dataset.y_train[:train_size])
    return _preprocess(dataset, preprocessing)


def _preprocess(dataset: Dataset, preprocessing: str) -> Dataset:
    if preprocessing == "none" or dataset.kind != "classification":
        return dataset
    if preprocessing == "standardize":
        shift = dataset.x_train.mean(axis=0)
        scale = dataset.x_train.std(axis=0)
    elif preprocessing == "minmax":
        shift = dataset.x_train.min(axis=0)
        scale = dataset.x_train.max(axis=0) - shift
    else:
        raise UserError(f"data.preprocessing: unknown '{preprocessing}' (known: none, standardize, minmax)")
    scale = np.where(scale > 1e-8, scale, 1.0)  # constant features (digits' blank corners) stay 0
    return replace(
        dataset,
        x_train=((dataset.x_train - shift) / scale).astype(np.float32),
        x_val=((dataset.x_val - shift) / scale).astype(np.float32),
    )
