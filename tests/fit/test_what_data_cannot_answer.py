"""A fit says in words when its data cannot answer: a flat curve, data that rise where the law only
falls, a compute-optimal allocation below one parameter or one token, a budget far from the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalinglab.errors import UserError
from scalinglab.fit import ScalingLaw, compute_optimal
from scalinglab.fit.allocate import allocation_warnings
from scalinglab.fit.table_fit import fit_table

SIZES = np.array([1e6, 3e6, 1e7, 3e7, 1e8, 3e8, 1e9])


def _one_input(loss) -> pd.DataFrame:
    return pd.DataFrame({"N": SIZES, "loss": loss})


def _joint(loss_of) -> pd.DataFrame:
    n, d = (grid.ravel() for grid in np.meshgrid([1e7, 3e7, 1e8, 3e8, 1e9], [2e8, 1e9, 5e9, 2e10]))
    return pd.DataFrame({"N": n, "D": d, "loss": loss_of(n, d)})


def _warnings(table: pd.DataFrame, x, form: str = "power") -> list[str]:
    return ScalingLaw(form, n_bootstrap=0).fit(table, x=x, y="loss").warnings_


def test_a_flat_curve_is_said_to_be_flat():
    warnings = _warnings(_one_input(np.full(len(SIZES), 3.0)), "N")
    assert any("flat across the data" in warning and "wider range of N" in warning for warning in warnings)


def test_a_rising_metric_is_said_to_rise_and_its_complement_suggested():
    accuracy = 0.3 + 0.05 * np.log10(SIZES / 1e5)
    warnings = _warnings(_one_input(accuracy), "N")
    assert any("rise with N" in warning and "1 - accuracy" in warning for warning in warnings)


def test_a_clean_falling_law_gets_neither_warning():
    warnings = _warnings(_one_input(2.0 + 50 * SIZES**-0.3), "N")
    assert not [w for w in warnings if "flat across" in w or "rise with" in w]


def test_noise_without_a_trend_is_said_to_show_no_change_and_a_clear_law_is_not():
    """Seen: losses drawn at random for 6 sizes x 3 seeds fitted as "alpha 1.07 (0 to not bounded)"
    with no word that the data show no change with N."""
    rng = np.random.default_rng(1)  # seeds whose fit is flat are said to be flat instead
    sizes = np.repeat(SIZES, 3)
    noise = pd.DataFrame({"N": sizes, "loss": rng.uniform(1, 5, len(sizes))})
    said = [warning for warning in _warnings(noise, "N") if "do not clearly change with N" in warning]
    assert len(said) == 1 and "more seeds at each N" in said[0]
    law = pd.DataFrame({"N": sizes, "loss": (2 + 50 * sizes**-0.3) * np.exp(rng.normal(0, 0.01, len(sizes)))})
    assert not any("do not clearly change" in warning for warning in _warnings(law, "N"))
    joint = _joint(lambda n, d: 1.7 + 400 / n**0.34 + 3 / d**0.0)  # no data term: D does not matter
    joint["loss"] *= np.exp(rng.normal(0, 0.01, len(joint)))
    warned = _warnings(joint, ["N", "D"], "chinchilla")
    assert any("do not clearly change with D" in warning for warning in warned)
    assert not any("do not clearly change with N" in warning for warning in warned)


def test_a_cost_law_may_rise():
    seconds = 1e-6 * SIZES**0.9
    warnings = _warnings(_one_input(seconds), "N", form="powerlaw")
    assert not [w for w in warnings if "rise with" in w]


def test_inverse_scaling_gives_no_allocation_and_says_why():
    table = _joint(lambda n, d: 2 + 0.05 * np.log10(n) + 0.05 * np.log10(d))
    fitted = fit_table(table, x=["N", "D"], y="loss", form="chinchilla", n_bootstrap=50, compute=[1e22])
    row = fitted.allocation.iloc[0]
    # The law's optimum there is below one token (0.22 in the audit): no model can be that.
    assert np.isnan(row["N_opt"]) and np.isnan(row["D_opt"]) and np.isnan(row["loss_opt"])
    assert any("no compute-optimal allocation at 1e22" in warning for warning in fitted.warnings())
    assert any("rise with N" in warning for warning in fitted.warnings())
    assert fitted.to_dict()["compute_optimal"][0]["N_opt"] is None


def test_a_budget_far_outside_the_data_is_named_and_one_inside_is_not():
    table = _joint(lambda n, d: 1.7 + 400 / n**0.34 + 410 / d**0.28)
    law = ScalingLaw("chinchilla", n_bootstrap=20, random_state=0).fit(table, x=["N", "D"], y="loss")
    allocation, warnings = allocation_warnings(law, compute_optimal(law, [1e19, 1e3, 1e30]))
    assert len(warnings) == 1 and "1e3, 1e30 FLOPs lie more than 10x outside" in warnings[0]
    assert np.isfinite(allocation["N_opt"]).all()  # far is not impossible: the figures stay


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_bootstrap": 1}, "n_bootstrap must be 0 (no intervals) or a whole number >= 10"),
        ({"random_state": -1}, "random_state must be a whole number >= 0"),
        ({"huber_delta": np.inf}, "huber_delta must be a finite number > 0"),
    ],
)
def test_options_that_cannot_give_an_answer_are_refused_before_fitting(options, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ScalingLaw("power", **options).fit(_one_input(2.0 + 50 * SIZES**-0.3), x="N", y="loss")


def test_the_same_input_twice_is_refused():
    with pytest.raises(UserError, match="x lists 'N' twice"):
        ScalingLaw("chinchilla", n_bootstrap=0).fit(_joint(lambda n, d: 2 + 0 * n), x=["N", "N"], y="loss")


def _weak_data_term(seed: int, scale: float = 5.0) -> pd.DataFrame:
    """A data term (5 / D^0.3) that moves the loss by about its 3% noise over the data sizes trained."""
    n, d = np.repeat([1e3, 3e3, 1e4, 3e4, 1e5], 4), np.tile([1e4, 2e4, 4e4, 8e4], 5)
    loss = (2 + 50 / n**0.4 + scale / d**0.3) * np.exp(np.random.default_rng(seed).normal(0, 0.03, len(n)))
    return pd.DataFrame({"N": n, "D": d, "loss": loss})


def _chinchilla(table: pd.DataFrame) -> ScalingLaw:
    """Each row its own group: 5 sizes could not bound the form's 5 parameters (``has_intervals``)."""
    rows = table.assign(run=range(len(table)))
    return ScalingLaw("chinchilla", n_bootstrap=200, random_state=0).fit(rows, x=["N", "D"], y="loss", groups="run")


def test_a_scale_the_runs_do_not_bound_is_said_so_and_a_bounded_one_is_not():
    """Seen: 'B = 8.57 (2.88 to 1.03e+20)': replicates that traded B against beta printed a band to infinity."""
    weak = _chinchilla(_weak_data_term(seed=0))
    low, high = weak.ci_["B"]
    assert low < weak.params_["B"] / 1e6 and high > 1e6 * weak.params_["B"]  # the band this test is about
    assert weak.ci_bounded()["B"] == (False, False)
    assert weak.ci_bounded()["beta"] == (True, False)  # its 10 is the fit's bound
    assert weak.ci_bounded()["A"] == (True, True)
    assert not weak.summary().set_index("name").loc["B", "ci_bounded"]
    clean = _chinchilla(_weak_data_term(seed=1, scale=100.0))  # a data term 20x stronger
    assert all(all(ends) for ends in clean.ci_bounded().values())


def test_a_term_the_fit_dropped_has_no_interval_and_says_why():
    """Seen: 'B = 1e-12 (1e-12 to 1e-12), beta = 1.5 (1.5 to 1.5)', no warning: a dropped data term's
    replicates never moved, and its exponent's interval of no width read as a precise 1.5."""
    dropped = _chinchilla(_weak_data_term(seed=4))
    assert dropped.params_["B"] < 1e-6
    assert dropped.diagnostics_.no_effect == ["B", "beta"]
    assert dropped.ci_bounded()["beta"] == (False, False)
    assert any("B and beta change no prediction on these rows" in warning for warning in dropped.warnings_)
    assert _chinchilla(_weak_data_term(seed=1)).diagnostics_.no_effect == []


def test_an_exponent_at_the_fits_own_bound_is_not_bounded_but_one_at_zero_is():
    law = ScalingLaw("power", n_bootstrap=20).fit(_one_input(3 * SIZES**-0.2), x="N", y="loss")
    law.ci_ = {"A": (2.0, 4.0), "alpha": (0.0, 9.95)}  # the rule alone, on the ends a bootstrap could give
    assert law.ci_bounded() == {"A": (True, True), "alpha": (True, False)}


def test_a_scale_at_its_own_bound_is_not_bounded_there():
    """R_star (data-constrained form) is fitted in log between 0.1 and 1e4: where repeated data is
    as good as fresh, it runs to 1e4, which is the fit's bound, not a measurement."""
    rows = [(n, d, u) for n in np.geomspace(1e4, 1e6, 5) for d in np.geomspace(1e5, 1e7, 5) for u in (d, d / 4)]
    table = pd.DataFrame(rows, columns=["N", "D", "U"])
    noise = np.exp(np.random.default_rng(1).normal(0, 0.005, len(table)))
    table["loss"] = (1.7 + 400 * table.N**-0.34 + 900 * table.D**-0.28) * noise
    law = ScalingLaw("data_constrained", n_bootstrap=20, random_state=0).fit(
        table.assign(run=range(len(table))), x=["N", "D", "U"], y="loss", groups="run"
    )
    assert "R_star" in law.diagnostics_.on_bound
    assert law.ci_bounded()["R_star"] == (True, False)


def test_a_bootstrap_over_no_more_groups_than_parameters_quotes_no_interval_anywhere():
    """Seen: one size and 3 seeds: the table said "no 95% CI", yet the JSON gave "alpha": [0.0495,
    0.0495] marked bounded, the allocation table printed N_opt intervals, and the figure a band."""
    from scalinglab.fit.plot import fit_plot_data

    rng = np.random.default_rng(0)
    joint = _joint(lambda n, d: 1.7 + 400 / n**0.34 + 400 / d**0.28)  # 5 sizes: 5 groups, 5 parameters
    joint["loss"] *= np.exp(rng.normal(0, 0.01, len(joint)))
    law = ScalingLaw("chinchilla", n_bootstrap=50, random_state=0).fit(joint, x=["N", "D"], y="loss")
    assert not law.has_intervals and law.ci_ is not None
    assert all(ends == (False, False) for ends in law.ci_bounded().values())
    allocation = compute_optimal(law, [1e19])
    assert "N_opt_low" not in allocation and np.isfinite(allocation["N_opt"]).all()
    assert fit_plot_data(law, joint).series[0].band_low is None
    more = ScalingLaw("chinchilla", n_bootstrap=50, random_state=0).fit(joint, x=["N", "D"], y="loss", groups="D")
    assert not more.has_intervals  # 4 data sizes as groups: fewer still
    one_row_per_group = joint.assign(run=range(len(joint)))
    bounded = ScalingLaw("chinchilla", n_bootstrap=50, random_state=0).fit(
        one_row_per_group, x=["N", "D"], y="loss", groups="run"
    )
    assert bounded.has_intervals and "N_opt_low" in compute_optimal(bounded, [1e19])


def test_a_bootstrap_whose_every_replicate_lands_on_the_fit_quotes_no_interval():
    """4 sizes x 2 seeds of a digits sweep: with the near-L1 default loss any curve between each
    size's seeds fits as well, no replicate moves, and `fit` printed "E 0.10443 (0.10443 to
    0.10443)" as bounded."""
    runs = pd.DataFrame(
        {
            "n_params": [330, 330, 1482, 1482, 8970, 8970, 26122, 26122],
            "val_loss": [1.51723, 1.808867, 0.394607, 0.509714, 0.159724, 0.160423, 0.124602, 0.123141],
        }
    )
    law = ScalingLaw("power", n_bootstrap=200).fit(runs, x="n_params", y="val_loss")
    assert law.bootstrap_stuck_ and not law.has_intervals
    assert all(ends == (False, False) for ends in law.ci_bounded().values())
    assert any("every bootstrap replicate refitted to the fit itself" in w for w in law.warnings_)
    for closer_to_least_squares in (
        ScalingLaw("power", n_bootstrap=200, huber_delta=0.3).fit(runs, x="n_params", y="val_loss"),
        ScalingLaw("power", n_bootstrap=200).fit(
            runs.groupby("n_params", as_index=False).mean(), "n_params", "val_loss"
        ),
    ):  # the two ways out the warning gives
        assert not closer_to_least_squares.bootstrap_stuck_ and closer_to_least_squares.has_intervals


def test_a_summary_quotes_no_interval_the_law_does_not_have():
    """The README's example printed "E 0.089087 ci_low 0.089087 ci_high 0.089087" from a stuck bootstrap."""
    runs = pd.DataFrame(
        {
            "n_params": [330, 330, 1482, 1482, 8970, 8970, 26122, 26122],
            "val_loss": [1.51723, 1.808867, 0.394607, 0.509714, 0.159724, 0.160423, 0.124602, 0.123141],
        }
    )
    stuck = ScalingLaw("power", n_bootstrap=100).fit(runs, x="n_params", y="val_loss").summary()
    assert stuck[["ci_low", "ci_high"]].isna().all().all() and not stuck["ci_bounded"].any()
    means = ScalingLaw("power", n_bootstrap=100).fit(
        runs.groupby("n_params", as_index=False).mean(), "n_params", "val_loss"
    )
    assert means.summary()[["ci_low", "ci_high"]].notna().all().all()


def test_the_json_quotes_no_interval_the_terminal_withholds():
    """Seen: --json gave alpha [0.328, 0.464] for a 5 x 4 grid of N and D, where the terminal said
    "no 95% CI: 5 resampled groups cannot bound 5 parameters"."""
    grid = _joint(lambda n, d: 1.7 + 400 * n**-0.34 + 410 * d**-0.28)
    few_groups = fit_table(grid, x=["N", "D"], y="loss", form="chinchilla", n_bootstrap=50).to_dict()
    assert few_groups["ci"] is None and not any(any(ends) for ends in few_groups["ci_bounded"].values())
    rng = np.random.default_rng(0)
    table = _one_input((1.7 + 400 * SIZES**-0.34) * np.exp(rng.normal(0, 0.01, len(SIZES))))
    fitted = fit_table(table, x=["N"], y="loss", n_bootstrap=50)
    quoted, bounded = fitted.to_dict()["ci"], fitted.law.ci_bounded()
    assert set(quoted) == set(fitted.law.ci_)
    for name, ends in quoted.items():  # each end a number exactly where the runs bound it
        assert [end is not None for end in ends] == list(bounded[name])
        assert all(end is None or end == value for end, value in zip(ends, fitted.law.ci_[name]))


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_file_separated_by_semicolons_or_tabs_is_read_by_its_separator(tmp_path, separator):
    """Seen: a ';'-separated file read as one column, and the answer was "did you mean n_params;val_loss?"."""
    from scalinglab.fit.table_fit import read_table

    path = tmp_path / "runs.csv"
    _one_input(1.7 + 400 * SIZES**-0.34).to_csv(path, sep=separator, index=False)
    table = read_table(path)
    assert list(table.columns) == ["N", "loss"] and len(table) == len(SIZES)
    assert fit_table(path, x=["N"], y="loss", n_bootstrap=0).law.params_["alpha"] == pytest.approx(0.34, rel=0.05)


def test_decimal_commas_are_read_and_a_one_column_file_stays_one_column(tmp_path):
    from scalinglab.fit.table_fit import read_table

    path = tmp_path / "runs.csv"
    path.write_text("N;loss\n1000;2,5\n10000;2,25\n")  # a spreadsheet of a decimal-comma locale
    assert read_table(path)["loss"].tolist() == [2.5, 2.25]
    path.write_text("loss;note\n2.5\n2.25\n")  # one column whose name holds a ";"
    assert list(read_table(path).columns) == ["loss;note"]
