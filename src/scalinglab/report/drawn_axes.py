"""What a drawn figure's axes show, read back from matplotlib after drawing (never restated).

A browser cannot read the axes of a PNG, so the report records each one beside its image:
scale, limits, the range of the data the figure shows, and the tick labels visible inside the
limits. `scalinglab.report.browser_check` then checks every figure of a report as a browser
loaded it.

"The data the figure shows" are the artists a draw function marks with `mark_data`: the
measured points with their error bars, a reference line such as zero error, the optima of an
IsoFLOP figure. Fitted curves, bands and extrapolations are not marked: they must fit the view
of the data, never set it. An axis with nothing marked records no data range, which the check
reports, so a new figure cannot pass by forgetting to mark its data.
"""

from __future__ import annotations

import numpy as np

DATA_GID = "scalinglab-data"  # matplotlib's group id of the artists that are the figure's data


def mark_data(*artists) -> None:
    """Mark `artists` (or containers of them, such as errorbar's) as the data the figure shows."""
    for artist in artists:
        children = artist.get_children() if isinstance(artist, tuple) else [artist]  # a Container is a tuple
        for child in children:
            child.set_gid(DATA_GID)


def axes_records(figure) -> list[dict]:
    """Per Axes of a drawn matplotlib `figure`: {"x": axis record, "y": axis record}."""
    return [{"x": _axis_record(ax, ax.xaxis, 0), "y": _axis_record(ax, ax.yaxis, 1)} for ax in figure.axes]


def _axis_record(ax, axis, dimension: int) -> dict:
    low, high = sorted(float(limit) for limit in axis.get_view_interval())
    scale = axis.get_scale()
    values = _data_values(ax, dimension)
    if scale == "log":
        values = values[values > 0]  # what a log axis cannot draw is not on it
    return {
        "label": axis.get_label_text(),
        "scale": "log" if scale == "log" else "linear",
        "limits": [low, high],
        "data": [float(values.min()), float(values.max())] if values.size else None,
        "ticks": _visible_tick_labels(axis, dimension, low, high),
    }


def _data_values(ax, dimension: int) -> np.ndarray:
    """Finite coordinates along `dimension` of the marked artists whose coordinates there are
    data (a horizontal line's x is in axes units, its y in data units)."""
    arrays = []
    for artist in ax.get_children():
        if artist.get_gid() != DATA_GID or not artist.get_visible():
            continue
        if not artist.get_transform().contains_branch_seperately(ax.transData)[dimension]:
            continue
        if hasattr(artist, "get_xydata"):  # a line or markers
            arrays.append(np.asarray(artist.get_xydata(), float)[:, dimension])
        elif hasattr(artist, "get_paths"):  # error bars, bands
            arrays += [np.asarray(path.vertices, float)[:, dimension] for path in artist.get_paths()]
    values = np.concatenate(arrays) if arrays else np.array([])
    return values[np.isfinite(values)]


def _visible_tick_labels(axis, dimension: int, low: float, high: float) -> list[str]:
    """The non-empty tick labels drawn inside the limits (with a hair of tolerance for rounding)."""
    tolerance = 1e-9 * max(abs(low), abs(high), 1e-300)
    labels = axis.get_ticklabels(which="both")
    return [
        label.get_text()
        for label in labels
        if label.get_visible()
        and label.get_text().strip()
        and low - tolerance <= label.get_position()[dimension] <= high + tolerance
    ]
