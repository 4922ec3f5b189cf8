"""The user's own classification data: a CSV file (one row per example, a header naming the
columns, one of them the label) or an NPZ file with arrays `x` (examples first) and `y` (labels).

Problems are reported as one line naming the file, the line or column and what is wrong.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np

from scalinglab.data.base import Dataset, classification_dataset
from scalinglab.errors import UserError
from scalinglab.run_spec import DataSpec


def load_csv(spec: DataSpec) -> Dataset:
    path = _existing_file(spec)
    features, labels = read_labelled_csv(path, spec.label_column)
    return _split(path, features, labels, spec)


def load_npz(spec: DataSpec) -> Dataset:
    path = _existing_file(spec)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise UserError(f"{path}: not a readable .npz file ({error})") from None
    missing = [key for key in ("x", "y") if key not in arrays]
    if missing:
        raise UserError(
            f"{path}: no array named {' or '.join(repr(k) for k in missing)} (has: {', '.join(arrays) or 'none'})"
        )
    x, y = arrays["x"], arrays["y"]
    if not np.issubdtype(x.dtype, np.number):
        raise UserError(f"{path}: array 'x' is not numeric (dtype {x.dtype})")
    if x.ndim < 2 or y.ndim != 1 or len(x) != len(y):
        raise UserError(f"{path}: expected x of shape (n, ...) and y of shape (n,), got {x.shape} and {y.shape}")
    if x.ndim == 3:  # (n, height, width) greyscale images: add the channel axis a CNN expects
        x = x[:, None]
    return _split(path, x, y, spec)


def read_labelled_csv(path: Path, label_column: str) -> tuple[np.ndarray, np.ndarray]:
    """Numeric feature matrix and label vector of a CSV file with a header row."""
    with path.open(newline="") as handle:
        try:
            rows = list(csv.reader(handle))
        except (csv.Error, UnicodeDecodeError) as error:
            raise UserError(f"{path}: not a readable CSV file ({error})") from None
    rows = [row for row in rows if row]  # blank lines carry no example
    if not rows:
        raise UserError(f"{path}: empty file")
    header, body = [name.strip() for name in rows[0]], rows[1:]
    if label_column not in header:
        raise UserError(
            f"{path}: no label column '{label_column}' (columns: {', '.join(header)}); set data.label_column"
        )
    if not body:
        raise UserError(f"{path}: header only, no examples")
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise UserError(f"{path} line {line}: {len(row)} fields, but the header has {len(header)}")
    label_at = header.index(label_column)
    feature_names = [name for i, name in enumerate(header) if i != label_at]
    if not feature_names:
        raise UserError(f"{path}: no feature columns besides the label '{label_column}'")
    features = np.empty((len(body), len(feature_names)), dtype=np.float32)
    for line, row in enumerate(body, start=2):
        values = [cell for i, cell in enumerate(row) if i != label_at]
        for column, (name, cell) in enumerate(zip(feature_names, values)):
            features[line - 2, column] = _number(cell, path=path, line=line, column=name)
    labels = np.array([row[label_at].strip() for row in body])
    return features, labels


def _number(cell: str, *, path: Path, line: int, column: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise UserError(f"{path} line {line}, column '{column}': {cell.strip()!r} is not a number") from None
    if not np.isfinite(value):
        raise UserError(f"{path} line {line}, column '{column}': {cell.strip()!r} is not a finite number")
    return value


def _existing_file(spec: DataSpec) -> Path:
    if spec.path is None:
        raise UserError(f"data.path: source '{spec.source}' needs a path to the file")
    path = Path(spec.path).expanduser()
    if not path.is_file():
        raise UserError(f"data.path: {path}: no such file")
    return path


def _split(path: Path, x: np.ndarray, y: np.ndarray, spec: DataSpec) -> Dataset:
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise UserError(f"{path}: the label has a single class ('{classes[0]}'); classification needs two or more")
    if counts.min() < 2:
        rare = classes[counts.argmin()]
        raise UserError(
            f"{path}: class '{rare}' has a single example; each class needs at least 2 (one to validate on)"
        )
    return classification_dataset(
        path.name, x, y, val_fraction=spec.val_fraction, split_seed=spec.split_seed, val_size=spec.val_size
    )
