"""Classification scores of several runs at once are those of each run alone (issue 13: a batched
group scores its runs' validation splits from one stacked forward); each task's trivial baseline
(issue 18)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score

from scalinglab.data.base import Dataset
from scalinglab.train.tasks import ClassificationTask, LanguageModelTask, macro_f1


def test_macro_f1_of_each_row_is_sklearns_macro_f1():
    generator = torch.Generator().manual_seed(0)
    truth = torch.randint(0, 6, (4, 200), generator=generator)
    predicted = torch.where(
        torch.rand(4, 200, generator=generator) < 0.6, truth, torch.randint(0, 7, (4, 200), generator=generator)
    )
    predicted[2] = truth[2]  # a perfect run
    predicted[3][predicted[3] == 5] = 4  # a class never predicted
    ours = macro_f1(predicted, truth, n_classes=8)  # classes 6 and 7 absent from both: skipped, as sklearn does
    assert ours.shape == (4,)
    for row in range(4):
        assert ours[row].item() == pytest.approx(f1_score(truth[row], predicted[row], average="macro"), abs=1e-12)


def test_scores_of_runs_are_each_runs_own_scores():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 50, 10, generator=generator)
    labels = torch.randint(0, 10, (3, 50), generator=generator)
    scores = ClassificationTask.scores_of_runs(logits, labels)
    for row, score in enumerate(scores):
        assert score["loss"] == pytest.approx(F.cross_entropy(logits[row], labels[row]).item(), rel=1e-6)
        assert score["accuracy"] == pytest.approx((logits[row].argmax(1) == labels[row]).float().mean().item())
        assert score["f1_macro"] == pytest.approx(
            f1_score(labels[row], logits[row].argmax(1), average="macro"), abs=1e-12
        )


def test_the_classification_baseline_predicts_training_frequencies():
    """Item 5 of issue 18: the trivial model's loss is the cross-entropy of the (add-one smoothed)
    training class frequencies, its accuracy that of always answering the majority class."""
    y_train = np.array([0] * 6 + [1] * 3 + [2] * 1)
    y_val = np.array([0, 1, 2, 2])
    data = Dataset(
        "toy", "classification", np.zeros((10, 2), np.float32), y_train, np.zeros((4, 2), np.float32), y_val, 4
    )
    scores = ClassificationTask(data).baseline_scores()
    p = np.array([7, 4, 2, 1]) / 14  # counts + 1 over 10 + 4 (class 3 never seen: still finite)
    assert scores["loss"] == pytest.approx(-np.mean(np.log(p[y_val])), rel=1e-6)
    assert scores["accuracy"] == pytest.approx(0.25)  # only the one validation 0 is right
    assert scores["f1_macro"] == pytest.approx(f1_score(y_val, np.zeros(4), average="macro"))


def test_the_language_model_baseline_is_a_unigram_byte_model():
    train = np.frombuffer(b"abababababaaaa" * 20, dtype=np.uint8)
    val = np.frombuffer(b"aabbaabbaabbaabbc", dtype=np.uint8)
    data = Dataset("text", "lm", train, train, val, val, 256)
    scores = LanguageModelTask(data, context=4).baseline_scores()
    counts = np.bincount(train, minlength=256) + 1.0
    log_p = np.log(counts / counts.sum())
    targets = val[1 : 1 + 4 * 4]  # the next bytes of four non-overlapping windows of 4
    assert scores["loss"] == pytest.approx(-log_p[targets].mean(), rel=1e-6)
    assert scores["bits_per_byte"] == pytest.approx(scores["loss"] / np.log(2))


def test_the_language_model_references_are_the_compressed_size_of_the_scored_text():
    """Issue 25 item 5: zlib and lzma bits per byte of exactly the bytes `evaluate` scores; a
    repetitive text compresses far below 8 bits per byte, random bytes do not."""
    repetitive = np.frombuffer(b"def f(x):\n    return x\n" * 40, dtype=np.uint8)
    data = Dataset("text", "lm", repetitive, repetitive, repetitive, repetitive, 256)
    scores = LanguageModelTask(data, context=8).reference_scores()
    scored = repetitive[1 : 1 + 8 * ((len(repetitive) - 1) // 8)].tobytes()
    assert scores["zlib_val_bits_per_byte"] == pytest.approx(8 * len(zlib.compress(scored, 9)) / len(scored))
    assert scores["zlib_val_bits_per_byte"] < 1 and scores["lzma_val_bits_per_byte"] < 1
    noise = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)
    random_scores = LanguageModelTask(
        Dataset("noise", "lm", noise, noise, noise, noise, 256), context=8
    ).reference_scores()
    assert random_scores["zlib_val_bits_per_byte"] > 7.9 and random_scores["lzma_val_bits_per_byte"] > 7.9
