"""What a figure shows of its numbers, so that any finite data draw and the data stay readable.

Every figure (the report's and `scalinglab fit --out`) follows one rule, computed with its data:

* An axis is logarithmic only when every value drawn on it is finite and positive; else linear.
* Non-finite values are never drawn.
* The y-limits come from the measured points (with their seed error bars where a figure has
  them), widened on each side by `VIEW_MARGIN` times their span (in decades on a log axis); a
  flat set of points is shown within 10% of its value (within 1 of it when it is zero).
* Fitted curves are cut where they leave those limits. Intervals (bands, error bars) are clipped
  to them, and dropped where an end is not finite or both ends lie beyond the same limit.

So an exploding extrapolation or an interval thousands of times wider than the data never
decides what the reader can see of the data.
"""

from __future__ import annotations

import math

import numpy as np

VIEW_MARGIN = 0.5  # beyond the data, curves and bands get at most half the data's span on each side
_FLAT_MARGIN = 0.1  # a flat set of points is shown within 10% of its value


def can_log(*values) -> bool:
    """True when there is at least one finite value and every finite one is positive."""
    finite = _finite(values)
    return finite.size > 0 and bool(np.all(finite > 0))


def view_limits(*values, log: bool) -> tuple[float, float] | None:
    """The y-limits of a figure whose measured points are `values` (None when none is finite)."""
    finite = _finite(values)
    if log:
        finite = finite[finite > 0]
    if finite.size == 0:
        return None
    low, high = float(finite.min()), float(finite.max())
    # Values that are all >= 0 (a loss, a time, a count) keep the axis at 0 or above: a margin
    # must not show a region no value can reach.
    floor = 0.0 if low >= 0 else -np.inf
    if high - low <= 1e-12 * max(abs(low), abs(high)):
        margin = _FLAT_MARGIN * abs(high) if high != 0 else 1.0
        return max(low - margin, floor), high + margin
    if log:
        low, high = np.log10(low), np.log10(high)
    margin = VIEW_MARGIN * (high - low)
    low, high = low - margin, high + margin
    return (float(10**low), float(10**high)) if log else (max(low, floor), high)


def cut_to_view(y, limits: tuple[float, float] | None) -> np.ndarray:
    """`y` with NaN where it is not finite or lies outside `limits`: a curve stops at the view's edge."""
    y = np.array(y, float)
    outside = ~np.isfinite(y)
    if limits is not None:
        outside |= (y < limits[0]) | (y > limits[1])
    y[outside] = np.nan
    return y


def clip_to_view(low, high, limits: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray]:
    """An interval clipped to `limits`; NaN where an end is not finite or it lies wholly beyond them."""
    low, high = np.array(low, float), np.array(high, float)
    dropped = ~np.isfinite(low) | ~np.isfinite(high)
    if limits is not None:
        dropped |= (high < limits[0]) | (low > limits[1])
        low, high = np.clip(low, *limits), np.clip(high, *limits)
    low[dropped] = high[dropped] = np.nan
    return low, high


def _finite(values) -> np.ndarray:
    flat = np.concatenate([np.ravel(np.asarray(v, float)) for v in values]) if values else np.array([])
    return flat[np.isfinite(flat)]


def plain_log_ticks(axis, text) -> None:
    """Label a log `axis` (a matplotlib x or y axis, its data already drawn) with `text(value)`:
    plain text (8.5k, 2.3), since matplotlib's default 10^x labels go through mathtext, which takes
    a third of the time of drawing a figure. The powers of ten get a label; where fewer than two of
    them are in view, ticks between them do too (at 2, 3, 4 and 6 times a power of ten up to two
    decades, every one below 0.6 of a decade), so every log axis shows two labelled ticks."""
    from matplotlib.ticker import LogFormatter

    class PlainLogFormatter(LogFormatter):
        def __call__(self, value, pos=None):
            return text(value) if super().__call__(value, pos) else ""

    low, high = sorted(axis.get_view_interval())
    powers_of_ten_in_view = math.floor(math.log10(high)) - math.ceil(math.log10(low)) + 1 if low > 0 else 2
    # matplotlib's defaults, (1, 0.4), label ticks between powers of ten only below one decade and
    # then only at 2, 3, 4, 6: views of 0.15 to 2.5 or 0.61 to 1.63 showed the single label "1".
    label_between_up_to_decades = 2 if powers_of_ten_in_view < 2 else 1
    axis.set_major_formatter(PlainLogFormatter())
    axis.set_minor_formatter(
        PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(label_between_up_to_decades, 0.6))
    )
