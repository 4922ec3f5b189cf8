"""The data sources: shapes, determinism, nesting, held-out splits, and user files."""

from __future__ import annotations

import numpy as np
import pytest

from scalinglab.data import load_source, prepare
from scalinglab.data.teacher import teacher_labels, teacher_n_params
from scalinglab.data.text import DEFAULT_VAL_BYTES, byte_dataset, stdlib_files
from scalinglab.errors import UserError
from scalinglab.families import TaskShape, get_family
from scalinglab.run_spec import DataSpec, TeacherSpec


@pytest.mark.slow
def test_mnist_is_the_bundled_5000_image_sample_as_images():
    dataset = load_source(DataSpec(source="mnist"))
    assert dataset.input_shape == (1, 28, 28)
    assert dataset.n_train + len(dataset.x_val) == 5000
    assert dataset.n_outputs == 10
    assert dataset.x_train.max() == 255


def test_digits_are_images_a_cnn_can_read():
    assert load_source(DataSpec(source="digits")).input_shape == (1, 8, 8)


@pytest.mark.slow
def test_val_size_sets_the_number_of_validation_examples():
    dataset = load_source(DataSpec(source="mnist", val_size=500))
    assert abs(len(dataset.x_val) - 500) <= 10  # stratified rounding per class


def test_teacher_parameter_count_is_that_of_the_same_mlp():
    teacher = TeacherSpec(n_features=16, n_classes=4, width=32, depth=2)
    task = TaskShape(kind="classification", input_shape=(16,), n_outputs=4)
    assert teacher_n_params(teacher) == get_family("mlp").n_params({"width": 32, "depth": 2}, task)


def test_teacher_task_is_deterministic_and_uses_every_class():
    spec = DataSpec(source="teacher", teacher=TeacherSpec(n_samples=2000))
    first, second = load_source(spec), load_source(spec.model_copy(update={"split_seed": 0}))
    assert np.array_equal(first.y_train, second.y_train)
    assert first.n_outputs == 4
    assert np.bincount(first.y_train).min() > 0.05 * first.n_train


def test_teacher_labels_change_with_the_teacher_seed():
    x = np.random.default_rng(0).standard_normal((500, 16))
    assert not np.array_equal(teacher_labels(TeacherSpec(seed=0), x), teacher_labels(TeacherSpec(seed=1), x))


def test_stdlib_corpus_is_a_fixed_sorted_list_of_python_files():
    files = stdlib_files()
    assert files == sorted(files) and len(files) > 50
    assert all(path.suffix == ".py" for path in files)
    dataset = load_source(DataSpec(source="stdlib"))
    assert dataset.kind == "lm" and dataset.n_outputs == 256
    assert dataset.x_train.dtype == np.uint8 and len(dataset.x_val) == DEFAULT_VAL_BYTES


def test_text_is_split_by_whole_documents_and_training_sizes_are_prefixes():
    documents = [bytes([65 + i]) * (100 + i) for i in range(20)]  # each document one distinct letter
    dataset = byte_dataset("letters", documents, DataSpec(source="text", val_fraction=0.2))
    train_letters, val_letters = set(dataset.x_train.tolist()), set(dataset.x_val.tolist())
    assert not train_letters & val_letters
    assert len(val_letters) == 4
    small = prepare(dataset, train_size=300, preprocessing="standardize")
    assert np.array_equal(small.x_train, dataset.x_train[:300])


def test_data_size_larger_than_the_text_names_bytes():
    dataset = byte_dataset("tiny", [b"abc" * 10, b"def" * 10], DataSpec(source="text"))
    with pytest.raises(UserError, match=r"data.train_size: 1000 is larger than the 30 training bytes of 'tiny'"):
        prepare(dataset, train_size=1000, preprocessing="none")


def test_text_folder_and_single_file(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i in range(5):
        (folder / f"doc{i}.txt").write_bytes(b"x" * (50 + i))
    (folder / ".hidden").write_bytes(b"never read")
    dataset = load_source(DataSpec(source="text", path=str(folder)))
    assert dataset.n_train + len(dataset.x_val) == sum(50 + i for i in range(5))
    single = tmp_path / "one.txt"
    single.write_bytes(bytes(range(100)))
    one = load_source(DataSpec(source="text", path=str(single), val_fraction=0.25))
    assert one.x_train.tolist() == list(range(75)) and one.x_val.tolist() == list(range(75, 100))


def test_empty_text_folder_is_refused(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(UserError, match="folder has no non-empty files"):
        load_source(DataSpec(source="text", path=str(tmp_path)))


def _write_csv(path, rows):
    path.write_text("\n".join(",".join(map(str, row)) for row in rows) + "\n")
    return path


def test_user_csv_with_string_labels(tmp_path):
    rows = [["a", "b", "label"]] + [[i, i % 3, "cat" if i % 2 else "dog"] for i in range(40)]
    dataset = load_source(DataSpec(source="csv", path=str(_write_csv(tmp_path / "d.csv", rows))))
    assert dataset.input_shape == (2,) and dataset.n_outputs == 2
    assert dataset.n_train + len(dataset.x_val) == 40


def test_user_npz_greyscale_images_get_a_channel_axis(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.random((60, 6, 6)), y=np.arange(60) % 3)
    dataset = load_source(DataSpec(source="npz", path=str(tmp_path / "d.npz")))
    assert dataset.input_shape == (1, 6, 6) and dataset.n_outputs == 3


def test_user_npz_without_labels_is_refused(tmp_path):
    np.savez(tmp_path / "d.npz", features=np.zeros((4, 2)))
    with pytest.raises(UserError, match=r"no array named 'x' or 'y' \(has: features\)"):
        load_source(DataSpec(source="npz", path=str(tmp_path / "d.npz")))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["a", "b", "label"], [1, 2, 0], [3, "x", 1]], r"line 3, column 'b': 'x' is not a number"),
        ([["a", "b", "label"], [1, 2, 0], [3, 4]], r"line 3: 2 fields, but the header has 3"),
        ([["a", "b"], [1, 2], [3, 4]], r"no label column 'label' \(columns: a, b\)"),
        ([["a", "label"], [1, 0], [2, 0]], r"single class"),
        ([["a", "label"], [1, "cat"], [2, "dog"], [3, "dog"]], r"class 'cat' has a single example"),
        ([["a", "label"], ["inf", 0], [2, 1]], r"'inf' is not a finite number"),
    ],
)
def test_bad_user_csv_names_the_problem(tmp_path, rows, message):
    path = _write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(UserError, match=message):
        load_source(DataSpec(source="csv", path=str(path)))


def test_a_text_val_size_beyond_the_held_out_bytes_is_refused_not_cut_short():
    """Seen: val_size = 1e8 trained on the 1.26M held-out bytes there are, and runs.csv said 1e8."""
    documents = [b"abc" * 10, b"def" * 10]
    assert len(byte_dataset("tiny", documents, DataSpec(source="text", val_size=20)).x_val) == 20
    with pytest.raises(UserError, match="data.val_size: 31 is more than the 30 held-out bytes of 'tiny'"):
        byte_dataset("tiny", documents, DataSpec(source="text", val_size=31))
