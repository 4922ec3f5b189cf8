"""IsoFLOP (approach 2) on a sweep whose runs form compute groups, beside the joint law; and on a CSV."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from cli_helpers import run_cli
from synthetic_truth import ALPHA, BETA, FLOPS_PER_PARAM_EXAMPLE, analytic_optimum, true_loss

from scalinglab.analysis import analyze
from scalinglab.analysis.sentences import isoflop_sentences, isoflop_table, size_sentences

BUDGETS = (3e8, 3e9, 3e10)


def isoflop_sweep(noise=0.002, seed=0) -> pd.DataFrame:
    """For each budget, 7 sizes around the optimum, each trained on the data the budget leaves."""
    rng = np.random.default_rng(seed)
    rows = []
    for budget in BUDGETS:
        n_opt, _ = analytic_optimum(budget)
        for factor in np.geomspace(1 / 6, 6, 7):
            n = n_opt * factor
            d = budget / (FLOPS_PER_PARAM_EXAMPLE * n)
            rows.append(
                dict(
                    run_key=f"{budget}-{factor}",
                    status="ok",
                    family="mlp",
                    width=n,
                    train_size=d,
                    seed=0,
                    n_params=n,
                    val_loss=float(true_loss(n, d)) * np.exp(rng.normal(0, noise)),
                    train_flops=budget,
                )
            )
    return pd.DataFrame(rows)


def test_sweep_isoflop_agrees_with_the_joint_law_and_the_truth():
    analysis = analyze(isoflop_sweep(), n_bootstrap=200)
    groups = analysis.isoflop.groups
    assert len(groups) == len(BUDGETS) and (groups["note"] == "").all()
    for _, row in groups.iterrows():
        assert row["N_opt"] == pytest.approx(analytic_optimum(row["compute"])[0], rel=0.15)
    assert not groups["disagree"].any()
    sentences, warnings = isoflop_sentences(analysis.isoflop, analysis.isoflop_note)
    assert any("IsoFLOP's parabola puts N* at" in s and "the joint law says" in s for s in sentences)
    assert warnings == []


@pytest.mark.slow
def test_a_grid_sweep_says_why_isoflop_does_not_apply():
    from synthetic_truth import truth_frame

    analysis = analyze(truth_frame(seeds=(0,), data_sizes=(300, 1000, 3000)), n_bootstrap=0)
    assert analysis.isoflop is None and analysis.joint is not None
    assert "at least two compute groups" in analysis.isoflop_note
    assert isoflop_sentences(None, analysis.isoflop_note)[0][0].startswith("IsoFLOP (approach 2) does not apply")


def fit_isoflop_csv(tmp_path, *options: str, env=None):
    """`scalinglab fit --isoflop` on the noise-free IsoFLOP sweep written as a CSV of N, loss, C."""
    path = tmp_path / "runs.csv"
    isoflop_sweep(noise=0.0).rename(columns={"n_params": "N", "val_loss": "loss", "train_flops": "C"}).to_csv(
        path, index=False
    )
    flops = str(FLOPS_PER_PARAM_EXAMPLE)
    return run_cli(
        "fit",
        str(path),
        "--isoflop",
        "C",
        "--x",
        "N",
        "--y",
        "loss",
        "--flops-per-param-token",
        flops,
        *options,
        env=env,
    )


@pytest.mark.slow
def test_fit_isoflop_on_a_csv(tmp_path):
    result = fit_isoflop_csv(tmp_path, "--json", "--bootstrap", "100")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    a = next(row for row in data["exponents"] if row["name"] == "a")
    assert a["value"] == pytest.approx(BETA / (ALPHA + BETA), abs=0.03)
    assert len(data["groups"]) == len(BUDGETS)


@pytest.mark.slow
def test_fit_isoflop_prints_whole_numbers_in_80_columns(tmp_path):
    result = fit_isoflop_csv(tmp_path, "--bootstrap", "50", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    assert "…" not in result.stdout and "..." not in result.stdout  # no number cut short
    assert max(map(len, result.stdout.splitlines())) <= 80


def test_the_optimum_s_examples_per_parameter_with_its_interval_beside_the_joint_law_s():
    analysis = analyze(isoflop_sweep(), n_bootstrap=200)
    groups = analysis.isoflop.groups
    for _, row in groups.iterrows():
        assert row["examples_per_param"] == pytest.approx(row["D_opt"] / row["N_opt"], rel=1e-9)
        assert row["examples_per_param_low"] < row["examples_per_param"] < row["examples_per_param_high"]
        n_true, d_true = analytic_optimum(row["compute"])
        assert row["examples_per_param"] == pytest.approx(d_true / n_true, rel=0.35)
        assert row["joint_examples_per_param"] == pytest.approx(d_true / n_true, rel=0.35)
    sentences = isoflop_sentences(analysis.isoflop, "")[0]
    assert sum("examples per parameter (95% CI" in s and "the joint law says" in s for s in sentences) == len(BUDGETS)
    assert not any("Chinchilla" in s for s in sentences)  # the tokens-per-parameter comparison is for language models
    # Each data size holds one model size: the joint law alone sees size, and is quoted; one sentence says why.
    assert analysis.joint_size_problem == "" and not any("distinct n_params" in w for w in analysis.warnings)
    assert [s.split(" was trained")[0] for s in size_sentences(analysis)] == ["Each of the 21 values of train_size"]


def test_a_profile_still_falling_at_the_smallest_size_is_said_in_words_not_as_a_number():
    runs = isoflop_sweep()
    middle = runs["train_flops"] == BUDGETS[1]
    n_opt = analytic_optimum(BUDGETS[1])[0]
    runs = runs[~middle | (runs["n_params"] > 1.4 * n_opt)]  # only sizes above this budget's optimum
    analysis = analyze(runs, n_bootstrap=100)
    groups = analysis.isoflop.groups
    outside = groups[groups["compute"].round(-8) == BUDGETS[1]].iloc[0]
    assert not outside["vertex_inside"] and outside["vertex_below"] and np.isnan(outside["N_opt"])  # no number
    sentences = isoflop_sentences(analysis.isoflop, "")[0]
    said = next(s for s in sentences if s.startswith(f"At {BUDGETS[1]:.3g} FLOPs"))
    assert "toward the smallest size tried" in said and "not determined" in said
    assert "the joint law says N* =" in said and "parabola" not in said  # the joint law's answer, not the vertex
    assert any(s.startswith("IsoFLOP exponents are not quoted: 1 of the 3 profiles") for s in sentences)
    table = isoflop_table(analysis.isoflop)
    assert list(table["N* (95% CI)"]).count("not determined") == 1 and not table.isna().any().any()


def test_an_interval_reaching_past_the_sizes_tried_says_so_and_a_language_model_gets_chinchilla_beside():
    from scalinglab.analysis.joint import IsoFlopOnSweep

    row = dict(compute=1e10, n_runs=7, N_opt=4000.0, D_opt=320e3, vertex_inside=True, vertex_below=False, note="")
    row.update(N_opt_low=2.0, N_opt_high=5000.0, N_min=1800.0, N_max=36000.0, examples_per_param=80.0)
    groups = pd.DataFrame([row, {**row, "compute": 3e10, "N_opt": 9000.0, "N_opt_low": 8000.0, "N_opt_high": 4e4}])
    exponents = pd.DataFrame({"name": ["a", "b"], "value": [0.8, 0.2], "ci_low": [0.5, -0.1], "ci_high": [1.1, 0.5]})
    sentences = isoflop_sentences(IsoFlopOnSweep(groups, exponents, "tokens"), "")[0]
    assert "N* at 4k (95% CI below 1.8k to 5k)" in sentences[0]
    assert (
        f"80 tokens per parameter (95% CI {80 * (4000 / 5000) ** 2:.3g} to above {80 * (4000 / 1800) ** 2:.3g})"
        in (sentences[0])
    )
    assert "(95% CI 8k to above 36k)" in sentences[1] and "tokens per parameter (95% CI below 5 to 101)" in sentences[1]
    assert sentences[2].startswith("IsoFLOP exponents: N* grows as C^0.80 (95% CI 0.5 to 1.1)")
    assert "0.48 decades of compute" in sentences[2]
    assert sentences[3].startswith("For comparison, Chinchilla's compute-optimal models have about 20 tokens")
    table = isoflop_table(IsoFlopOnSweep(groups, exponents, "tokens"))  # the report's table: the same words
    assert list(table["N* (95% CI)"]) == ["4k (below 1.8k to 5k)", "9k (8k to above 36k)"]
    assert table["tokens per parameter (95% CI)"][1] == "80 (below 5 to 101)"
    unresolved = IsoFlopOnSweep(groups, exponents, "tokens", joint_note="alpha's 95% interval reaches the fit's bound")
    assert (
        "The joint law's compute-optimal N* is not given beside these: alpha's 95% interval reaches"
        in (isoflop_sentences(unresolved, "")[0][2])
    )


def test_the_joint_n_star_beside_a_profile_is_withheld_where_it_is_no_better_than_the_baseline():
    """The report's sentence withheld a budget's N* (no better than the trivial baseline) while
    the IsoFLOP table beside it still quoted the joint law's N* there."""
    runs = isoflop_sweep()
    quoted = analyze(runs, n_bootstrap=20).isoflop.groups
    assert quoted["joint_N_opt"].notna().all()
    baseline = float(runs.loc[runs["train_flops"] == BUDGETS[1], "val_loss"].min())  # the middle budget's best run
    bounded = analyze(runs.assign(baseline_val_loss=baseline), n_bootstrap=20)
    withheld = bounded.isoflop.groups["joint_N_opt"].isna()
    assert withheld.iloc[0] and not withheld.iloc[-1]  # the smallest budget's optimum cannot beat it
    sentences, _ = isoflop_sentences(bounded.isoflop, "")
    assert sum("the joint law says" in s for s in sentences) == int((~withheld).sum())
