"""Candidates are sizes the family can build (issue 18, item 3): the parameter count along the
swept axis, pinned down by the trained sizes, gives every integer axis value its real count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalinglab.analysis import analyze
from scalinglab.analysis.buildable import SizeAxis
from scalinglab.families import TaskShape, get_family

DIGITS = TaskShape(kind="classification", input_shape=(64,), n_outputs=10)
TRAINED_WIDTHS = (4, 8, 16, 32, 64)


def mlp_params(width: int, depth: int = 2) -> int:
    return get_family("mlp").n_params({"width": width, "depth": depth}, DIGITS)


def mlp_runs(widths=TRAINED_WIDTHS, depths=(2,)) -> pd.DataFrame:
    rows = []
    for depth in depths:
        for width in widths:
            n = mlp_params(width, depth)
            for d in (300, 1000):
                for seed in (0, 1):
                    loss = (0.1 + 30 * n**-0.5 + 5 * d**-0.5) * (1 + 0.01 * seed)
                    rows.append(
                        dict(
                            run_key=f"{width}-{depth}-{d}-{seed}",
                            status="ok",
                            error=None,
                            family="mlp",
                            width=width,
                            depth=depth,
                            train_size=d,
                            seed=seed,
                            worker="",
                            n_params=float(n),
                            val_loss=loss,
                            train_loss=0.9 * loss,
                            train_flops=6.0 * n * d,
                            train_seconds=1e-6 * n * d + 0.01,
                            latency_ms_p50=0.01 + 1e-6 * n,
                        )
                    )
    return pd.DataFrame(rows)


def test_the_swept_axis_gives_the_real_count_of_every_width_the_family_can_build():
    axis = SizeAxis.from_runs(mlp_runs())
    assert axis is not None and axis.name == "width" and axis.fixed == {"depth": 2}
    assert axis.step == 4  # the gcd of the trained widths: only its multiples are offered
    for width in (12, 36, 68, 500):  # never trained
        assert axis.n_params([width])[0] == mlp_params(width)
        assert axis.size_of(mlp_params(width)) == {"width": width, "depth": 2}
    assert axis.size_of(mlp_params(36) + 1) is None  # a count no width has
    assert axis.size_of(mlp_params(33)) is None  # a width off the trained widths' step
    values = axis.values_between(mlp_params(4), mlp_params(640), max_values=50)
    assert len(values) <= 50 and values.min() == 4 and values.max() == 640
    assert (np.diff(values) > 0).all() and (values % 4 == 0).all()


def test_a_transformer_is_offered_only_widths_its_heads_divide():
    """Seen: 'Train about 53k parameters (d_model = 55, n_head = 2)', which the family refuses to build."""
    lm = TaskShape(kind="language_model", input_shape=(32,), n_outputs=256)
    family = get_family("transformer")
    fixed = {"n_layer": 1, "n_head": 2, "context": 32}
    runs = pd.DataFrame(
        [
            dict(family="transformer", d_model=d, **fixed, n_params=float(family.n_params({"d_model": d, **fixed}, lm)))
            for d in (8, 16, 24, 32)
        ]
    )
    axis = SizeAxis.from_runs(runs)
    assert axis is not None and axis.name == "d_model" and axis.step == 8
    values = axis.values_between(axis.n_params([8])[0], axis.n_params([130])[0], max_values=100)
    for d_model in values:
        family.check_size({"d_model": int(d_model), **fixed})  # raises for a size it cannot build


@pytest.mark.parametrize(
    "runs",
    [
        mlp_runs(depths=(1, 2)),  # two axes vary: a count is no function of one of them
        mlp_runs(widths=(8, 16, 32)),  # three sizes: a quadratic would fit them whatever they were
        mlp_runs().assign(n_params=lambda frame: 40.0 * frame["width"] ** 1.5),  # no polynomial of degree 2
    ],
)
def test_no_axis_is_claimed_when_the_runs_do_not_pin_the_counts_down(runs):
    assert SizeAxis.from_runs(runs) is None


def test_every_candidate_and_the_recommendation_can_be_built():
    from scalinglab.recommendation import Budgets, _Answerer, candidate_table, recommend

    analysis = analyze(mlp_runs(), n_bootstrap=20)
    table = candidate_table(analysis, _Answerer(analysis), {"train_flops": 1e12}, max_extrapolation=3)
    buildable = {mlp_params(width) for width in range(1, 200)}
    assert set(table["n_params"]) <= buildable
    choice = recommend(analysis, Budgets(train_flops=float(6 * mlp_params(40) * 1000)))
    assert choice.size is not None and mlp_params(choice.size["width"]) == choice.n_params
    assert f"width = {choice.size['width']}" in choice.sentence()
