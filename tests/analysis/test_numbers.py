"""Number formatting: what every sentence of the report is built from."""

from scalinglab.analysis.numbers import format_count, format_factor, format_interval, join_words


def test_counts_read_as_people_say_them():
    assert [format_count(n) for n in (850, 8_500, 85_000_000, 1.2e9)] == ["850", "8.5k", "85M", "1.2B"]
    assert [format_count(n) for n in (9.58e12, 3.2e17)] == ["9.58T", "3.2e+17"]  # not "9.58e+03B"


def test_factors_keep_two_digits_below_ten():
    assert [format_factor(f) for f in (1.83, 12.4, 340.0)] == ["1.8x", "12x", "340x"]


def test_intervals_are_empty_without_bounds():
    assert format_interval(None, None) == ""
    assert format_interval(1200, 45_000, count=True) == " (95% CI 1.2k to 45k)"
    assert format_interval(0.3456, 0.51) == " (95% CI 0.346 to 0.51)"


def test_lists_join_with_and():
    assert [join_words(p) for p in (["a"], ["a", "b"], ["a", "b", "c"])] == ["a", "a and b", "a, b and c"]
