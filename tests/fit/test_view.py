"""The rule every figure follows so that any finite data draw and stay readable (scalinglab.fit.view)."""

import numpy as np
import pytest

from scalinglab.fit.view import can_log, clip_to_view, cut_to_view, view_limits


def test_an_axis_is_log_only_when_every_finite_value_is_positive():
    assert can_log([1.0, 2.0, np.nan], [3.0])
    assert not can_log([0.0, 1.0])
    assert not can_log([-1.0, 1.0])
    assert not can_log([np.nan, np.inf])  # nothing to draw: no log axis to fail on
    assert not can_log()


@pytest.mark.parametrize(
    "values, log, limits",
    [
        ([1.0, 3.0, np.nan], False, (0.0, 4.0)),  # half the span on each side
        ([1.0, 100.0, np.inf], True, (0.1, 1000.0)),  # half the span in decades
        ([-5.0, 0.0, 10.0], True, (9.0, 11.0)),  # a log view ignores what it cannot show
        ([2.0, 2.0], False, (1.8, 2.2)),  # flat: within 10% of its value
        ([0.0, 0.0], False, (0.0, 1.0)),  # values >= 0 never get an axis below 0
        ([0.1, 3.0], False, (0.0, 4.45)),  # a loss: the margin stops at 0
        ([-1.0, 3.0], False, (-3.0, 5.0)),  # values of both signs: the full margin
    ],
)
def test_limits_are_the_data_widened_by_half_their_span(values, log, limits):
    assert view_limits(values, log=log) == pytest.approx(limits)


def test_nothing_finite_gives_no_limits():
    assert view_limits([np.nan, np.inf], log=False) is None
    assert view_limits([0.0, -1.0], log=True) is None


def test_a_curve_stops_where_it_leaves_the_view():
    cut = cut_to_view([0.5, 2.0, 10.0, np.inf], (1.0, 5.0))
    np.testing.assert_array_equal(cut, [np.nan, 2.0, np.nan, np.nan])


def test_a_band_is_clipped_to_the_view_and_dropped_where_it_leaves_it_or_is_not_finite():
    low, high = clip_to_view([-100.0, 2.0, 6.0, np.nan], [100.0, 3.0, 7.0, 1.0], (1.0, 5.0))
    np.testing.assert_array_equal(low, [1.0, 2.0, np.nan, np.nan])
    np.testing.assert_array_equal(high, [5.0, 3.0, np.nan, np.nan])
