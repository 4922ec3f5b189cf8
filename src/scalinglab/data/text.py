"""Byte-level text corpora for the language model: the Python standard library's own source files,
or the user's text file or folder.

Tokens are the raw bytes (vocabulary 256), so bits per byte needs no tokenizer to interpret.
Validation is split by file: a fixed, seeded choice of whole files is held out, so the model is
scored on files it never saw a byte of. The training files are concatenated in a seeded order,
and a run with train_size=n trains on the first n bytes, so smaller data sizes are prefixes
(nested subsets) of larger ones. A single file is split by position instead (its last part is
the validation text).
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

import numpy as np

from scalinglab.data.base import Dataset
from scalinglab.errors import UserError
from scalinglab.run_spec import DataSpec

VOCAB_SIZE = 256
# Scoring a small LM on every held-out byte would cost more than training it; this many is plenty
# to tell sizes apart. `data.val_size` overrides it.
DEFAULT_VAL_BYTES = 65_536


def stdlib_files() -> list[Path]:
    """The corpus: every top-level `*.py` module of this interpreter's standard library, sorted by name."""
    return sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))


def load_stdlib(spec: DataSpec) -> Dataset:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return byte_dataset(f"python{version}-stdlib", [path.read_bytes() for path in stdlib_files()], spec)


def load_text(spec: DataSpec) -> Dataset:
    """The user's text: `data.path` is one file, or a folder whose files (recursively, sorted) are the documents."""
    if spec.path is None:
        raise UserError("data.path: source 'text' needs a path to a text file or folder")
    root = Path(spec.path).expanduser()
    if not root.exists():
        # Where a relative path, or one through "..", led (the sweep file's folder joined to it).
        resolved = f" ({os.path.abspath(root)})" if os.path.abspath(root) != str(root) else ""
        raise UserError(f"data.path: {root}{resolved}: no such file or folder")
    if root.is_file():
        documents = [root.read_bytes()]
        if not documents[0]:
            raise UserError(f"data.path: {root}: empty text file")
        return single_document_dataset(root.name, documents[0], spec)
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    documents = [data for data in (p.read_bytes() for p in files) if data]
    if not documents:
        raise UserError(f"data.path: {root}: folder has no non-empty files")
    if len(documents) == 1:
        return single_document_dataset(root.name, documents[0], spec)
    return byte_dataset(root.name, documents, spec)


def byte_dataset(name: str, documents: list[bytes], spec: DataSpec) -> Dataset:
    """Hold out a seeded val_fraction of the documents (at least one), concatenate the rest."""
    order = np.random.default_rng(spec.split_seed).permutation(len(documents))
    n_val = min(len(documents) - 1, max(1, round(spec.val_fraction * len(documents))))
    val = b"".join(documents[i] for i in sorted(order[:n_val]))
    train = b"".join(documents[i] for i in order[n_val:])
    return _lm_dataset(name, train, val, spec)


def single_document_dataset(name: str, document: bytes, spec: DataSpec) -> Dataset:
    """Split one document by position: the last val_fraction of its bytes are the validation text."""
    cut = len(document) - max(1, round(spec.val_fraction * len(document)))
    return _lm_dataset(name, document[:cut], document[cut:], spec)


def _lm_dataset(name: str, train: bytes, val: bytes, spec: DataSpec) -> Dataset:
    if spec.val_size is not None and spec.val_size > len(val):  # was cut short silently, recorded as asked
        raise UserError(f"data.val_size: {spec.val_size} is more than the {len(val):,} held-out bytes of '{name}'")
    val = val[: spec.val_size or DEFAULT_VAL_BYTES]
    empty = np.zeros(0, dtype=np.int64)
    return Dataset(
        name=name,
        kind="lm",
        x_train=np.frombuffer(train, dtype=np.uint8),
        y_train=empty,
        x_val=np.frombuffer(val, dtype=np.uint8),
        y_val=empty,
        n_outputs=VOCAB_SIZE,
    )
