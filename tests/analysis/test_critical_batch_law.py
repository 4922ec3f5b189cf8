"""B_crit(L) = B* / L^(1/alpha_B) across sizes (Kaplan et al. 2020; analysis.batch_size): known B*
and alpha_B are recovered from per-size critical batch sizes, and too few sizes are said in words."""

from __future__ import annotations

import numpy as np
import pytest

from scalinglab.analysis.batch_size import CriticalBatch, critical_batch_law

B_STAR, ALPHA_B = 2.0e3, 0.3


def _answers(losses, noise=0.03, seed=0):
    """Per-size critical batches at their target losses, B_crit on the law within `noise` (relative)."""
    rng = np.random.default_rng(seed)
    answers = []
    for i, loss in enumerate(losses):
        b_crit = B_STAR / loss ** (1 / ALPHA_B) * float(np.exp(rng.normal(0, noise)))
        answers.append(CriticalBatch({"width": 2**i}, 100.0 * 2**i, loss, s_min=100.0, e_min=100.0 * b_crit))
    return answers


def test_a_known_b_star_and_alpha_b_are_recovered_with_intervals_holding_them():
    law, why_not = critical_batch_law(_answers([2.5, 2.0, 1.6, 1.3, 1.1, 0.9]))
    assert law is not None and why_not == ""
    assert law.b_star[0] == pytest.approx(B_STAR, rel=0.1) and law.alpha_b == pytest.approx(ALPHA_B, rel=0.1)
    assert law.b_star[1] < B_STAR < law.b_star[2]
    assert law.alpha_b_interval[0] < ALPHA_B < law.alpha_b_interval[1]
    assert "grows as the loss falls" in law.sentence() and "alpha_B = 0.3" in law.sentence()


def test_two_sizes_are_said_in_words_not_fitted():
    law, why_not = critical_batch_law(_answers([2.0, 1.0]))
    assert law is None and "2 size(s) have a critical batch size, fewer than the 3" in why_not


def test_an_unbounded_alpha_b_is_said_so_not_given_a_number():
    answers = _answers([1.2, 1.1, 1.0], noise=0.0)
    answers[0].e_min *= 8  # B_crit no longer falls steadily with the loss: the slope's interval reaches 0
    law, _ = critical_batch_law(answers)
    assert law is not None and law.alpha_b_interval is None
    sentence = law.sentence()  # nor B*'s interval, which moves with alpha_B's, nor a claim that B_crit grows
    assert "do not bound alpha_B's 95% interval" in sentence and "neither is determined" in sentence
    assert "95% from" not in sentence and "grows as" not in sentence
