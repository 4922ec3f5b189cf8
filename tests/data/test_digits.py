import numpy as np
import pytest

from scalinglab.data import load_source, prepare
from scalinglab.errors import UserError
from scalinglab.run_spec import DataSpec


@pytest.fixture(scope="module")
def digits():
    return load_source(DataSpec(source="digits"))


def test_validation_split_is_fixed_and_stratified(digits):
    again = load_source(DataSpec(source="digits", preprocessing="none", train_size=10))
    assert np.array_equal(digits.x_val, again.x_val)
    assert len(digits.x_val) + digits.n_train == 1797
    shares = np.bincount(digits.y_val) / len(digits.y_val)
    assert np.all(np.abs(shares - 0.1) < 0.01)


def test_smaller_data_sizes_are_nested_in_larger(digits):
    small = prepare(digits, train_size=100, preprocessing="none")
    large = prepare(digits, train_size=500, preprocessing="none")
    assert np.array_equal(small.x_train, large.x_train[:100])


def test_every_prefix_is_close_to_class_balanced(digits):
    counts = np.bincount(digits.y_train[:100], minlength=10)
    assert counts.min() >= 8 and counts.max() <= 12


def test_standardize_uses_training_subset_statistics(digits):
    prepared = prepare(digits, train_size=300, preprocessing="standardize")
    varying = digits.x_train[:300].std(axis=0) > 1e-8
    assert np.allclose(prepared.x_train[:, varying].mean(axis=0), 0, atol=1e-4)
    assert np.allclose(prepared.x_train[:, varying].std(axis=0), 1, atol=1e-3)


def test_data_size_larger_than_the_data_is_a_user_error(digits):
    with pytest.raises(UserError, match="data.train_size: 5000 is larger"):
        prepare(digits, train_size=5000, preprocessing="none")
