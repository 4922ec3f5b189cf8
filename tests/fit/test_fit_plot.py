"""Figure data of a fit (checked as numbers) and its drawing (checked to run and write a file)."""

import numpy as np
import pytest
from fit_helpers import power_table

from scalinglab.fit import ScalingLaw, draw_fit, fit_plot_data, save_fit_figure, split_holdout


@pytest.fixture(scope="module")
def power_law_and_table():
    table = power_table(n=20, seed=2)
    return ScalingLaw("power", n_bootstrap=200, random_state=0).fit(table, x="x", y="y"), table


def test_one_input_law_gives_one_series_of_data_curve_and_band(power_law_and_table):
    law, table = power_law_and_table
    data = fit_plot_data(law, table, n_curve=50)
    (series,) = data.series
    np.testing.assert_array_equal(series.x, table["x"])
    np.testing.assert_allclose(series.curve_y, law.predict(series.curve_x), rtol=1e-12)
    assert series.curve_x.min() < table["x"].min() and series.curve_x.max() > table["x"].max()
    assert (series.band_low <= series.curve_y).all() and (series.curve_y <= series.band_high).all()
    assert (data.x_label, data.y_label, data.level) == ("x", "y", 0.95)


def test_held_out_rows_are_marked_and_covered_by_the_curve(power_law_and_table):
    law, table = power_law_and_table
    train, test = split_holdout(table, "x", 3)
    (series,) = fit_plot_data(law, train, held_out=test).series
    assert series.held_out.sum() == 3 and series.held_out[-3:].all()
    assert series.curve_x.max() > test["x"].max()


def test_joint_law_is_drawn_along_isoflop_lines(chinchilla_law, chinchilla_table):
    data = fit_plot_data(chinchilla_law, chinchilla_table, max_groups=4, n_curve=30)
    assert len(data.series) == 4
    assert sum(len(s.x) for s in data.series) == len(chinchilla_table)
    budgets = [s.compute for s in data.series]
    assert budgets == sorted(budgets)
    for series in data.series:
        tokens = series.compute / (6 * series.curve_x)
        expected = chinchilla_law.predict(np.column_stack([series.curve_x, tokens]))
        np.testing.assert_allclose(series.curve_y, expected, rtol=1e-12)
        # The curve spans the sizes of the group's runs.
        assert series.curve_x.min() < series.x.min() and series.curve_x.max() > series.x.max()


def test_without_bootstrap_the_band_is_absent(power_law_and_table):
    _, table = power_law_and_table
    law = ScalingLaw("power", n_bootstrap=0).fit(table, x="x", y="y")
    (series,) = fit_plot_data(law, table).series
    assert series.band_low is None and series.band_high is None


def test_draw_fit_draws_on_the_given_axes(power_law_and_table):
    from matplotlib.figure import Figure

    law, table = power_law_and_table
    ax = Figure().add_subplot()
    assert draw_fit(fit_plot_data(law, table), ax=ax) is ax
    assert len(ax.lines) == 1 and len(ax.collections) == 2  # points + band
    assert ax.get_xscale() == "log"


def test_save_writes_a_png(tmp_path, power_law_and_table):
    law, table = power_law_and_table
    path = tmp_path / "fit.png"
    save_fit_figure(fit_plot_data(law, table), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
