"""Bad input: one UserError line naming the column and the problem."""

import numpy as np
import pandas as pd
import pytest

from scalinglab.errors import UserError
from scalinglab.fit import ScalingLaw, derive_columns, filter_rows


def fit(table, form="power", x="x", y="y"):
    return ScalingLaw(form, n_bootstrap=0).fit(table, x=x, y=y)


def good_table(n=8):
    x = np.geomspace(10, 1e4, n)
    return pd.DataFrame({"x": x, "y": 1.0 + 5 * x**-0.5})


def single_line(error):
    message = str(error.value)
    assert "\n" not in message
    return message


def test_missing_column_names_it_and_lists_the_others():
    with pytest.raises(UserError) as error:
        fit(good_table(), x="size")
    message = single_line(error)
    assert "'size'" in message and "'x'" in message


def test_non_numeric_column_names_the_row_and_value():
    table = good_table()
    table["y"] = table["y"].astype(object)
    table.loc[3, "y"] = "n/a"
    with pytest.raises(UserError) as error:
        fit(table)
    message = single_line(error)
    assert "'y'" in message and "not numeric" in message and "n/a" in message


def test_numeric_text_is_accepted():
    table = good_table().astype(str)
    assert fit(table).params_["alpha"] == pytest.approx(0.5, rel=1e-6)


@pytest.mark.parametrize("value", [0.0, -1.0])
def test_values_not_above_zero_are_refused_because_logs_are_taken(value):
    table = good_table()
    table.loc[2, "x"] = value
    with pytest.raises(UserError) as error:
        fit(table)
    assert "'x'" in single_line(error) and "> 0" in single_line(error)


def test_nan_rows_are_refused_with_their_labels():
    table = good_table()
    table.loc[[1, 4], "y"] = np.nan
    with pytest.raises(UserError) as error:
        fit(table)
    message = single_line(error)
    assert "'y'" in message and "2 missing" in message and "1, 4" in message


def test_infinite_values_are_refused():
    table = good_table()
    table.loc[0, "x"] = np.inf
    with pytest.raises(UserError, match="infinite"):
        fit(table)


def test_fewer_rows_than_parameters_is_refused():
    with pytest.raises(UserError, match="5 parameters but the table has only 4 rows"):
        fit(
            pd.DataFrame({"N": [1e6, 1e7, 1e8, 1e9], "D": [1e9] * 4, "loss": [3, 2.8, 2.6, 2.5]}),
            form="chinchilla",
            x=["N", "D"],
            y="loss",
        )


def test_wrong_number_of_x_columns_is_refused():
    with pytest.raises(UserError, match="takes 2 x column"):
        fit(good_table(), form="chinchilla", x="x")


def test_an_empty_table_is_refused():
    with pytest.raises(UserError, match="no rows"):
        fit(good_table().iloc[:0])


def test_derive_adds_columns_in_order_and_accepts_names_with_spaces():
    raw = pd.DataFrame({"Model Size": [1e6, 2e6], "Training FLOP": [6e12, 2.4e13]})
    table = derive_columns(raw, ["N=Model Size", "D=Training FLOP/(6*N)"])
    np.testing.assert_allclose(table["D"], [1e6, 2e6])
    assert "N" not in raw.columns  # the input is left alone


def test_derive_accepts_backticks_and_the_log_function():
    raw = pd.DataFrame({"Model Size": [np.e, np.e**2]})
    table = derive_columns(raw, ["u=log(`Model Size`)"])
    np.testing.assert_allclose(table["u"], [1.0, 2.0])


@pytest.mark.parametrize("definition", ["D", "D=", "D=nonexistent*2", "D=Model Size +"])
def test_bad_definitions_are_user_errors(definition):
    with pytest.raises(UserError, match="--derive"):
        derive_columns(pd.DataFrame({"Model Size": [1.0]}), [definition])


def test_filter_keeps_rows_where_the_condition_holds():
    table = good_table()
    assert len(filter_rows(table, "x < 100", what="--where")) == (table["x"] < 100).sum()


def test_a_filter_that_is_not_a_condition_is_a_user_error():
    with pytest.raises(UserError, match="not a condition"):
        filter_rows(good_table(), "x * 2", what="--where")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"where": "y > 100"}, "--where 'y > 100': holds for none of the table's 8 rows"),
        ({"holdout": "x < 0"}, "holdout 'x < 0' leaves no row to fit on"),
        ({"unique_data": 1e9}, "--unique-data: only with --compute"),
        ({"isoflop": "C", "figure": "fit.png"}, "--out: not with --isoflop C"),
        ({"isoflop": "C", "holdout": 1}, "--holdout: not with --isoflop C"),
        ({"isoflop": "C", "form": "chinchilla"}, "--form: not with --isoflop C"),
        ({"isoflop": "C", "groups": "run"}, "--groups: not with --isoflop C"),
        ({"isoflop": "C", "huber_delta": 0.1}, "--huber-delta: not with --isoflop C"),
    ],
)
def test_options_that_would_be_ignored_or_leave_no_rows_are_refused(options, message, tmp_path):
    """Seen: --where that kept no row said only "the table has no rows"; --isoflop with --out
    exited 0 and wrote no figure; --unique-data without --compute was ignored."""
    from scalinglab.fit.table_fit import fit_table

    table = good_table().assign(C=1e6, run=range(8))
    if "figure" in options:
        options = {**options, "figure": tmp_path / options["figure"]}
    with pytest.raises(UserError) as error:
        fit_table(table, x=["x"], y="y", n_bootstrap=0, **options)
    assert message in single_line(error)
    assert not (tmp_path / "fit.png").exists()
