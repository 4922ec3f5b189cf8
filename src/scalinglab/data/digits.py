"""scikit-learn's bundled handwritten digits: 1,797 8x8 images, 10 classes, no download."""

from __future__ import annotations

from scalinglab.data.base import Dataset, classification_dataset
from scalinglab.run_spec import DataSpec


def load_digits(spec: DataSpec) -> Dataset:
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = bunch.images.reshape(-1, 1, 8, 8)  # (n, channels, height, width): a CNN can read them
    return classification_dataset(
        "digits",
        images,
        bunch.target,
        val_fraction=spec.val_fraction,
        split_seed=spec.split_seed,
        val_size=spec.val_size,
    )
