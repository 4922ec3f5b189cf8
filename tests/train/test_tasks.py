"""Classification scores of several runs at once are those of each run alone (issue 13: a batched
group scores its runs' validation splits from one stacked forward)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score

from scalinglab.train.tasks import ClassificationTask, macro_f1


def test_macro_f1_of_each_row_is_sklearns_macro_f1():
    generator = torch.Generator().manual_seed(0)
    truth = torch.randint(0, 6, (4, 200), generator=generator)
    predicted = torch.where(torch.rand(4, 200, generator=generator) < 0.6, truth, torch.randint(0, 7, (4, 200), generator=generator))
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
        assert score["f1_macro"] == pytest.approx(f1_score(labels[row], logits[row].argmax(1), average="macro"), abs=1e-12)
