"""What a report section is made of: `Section`, `Figure` (drawn once, embedded as PNG with the
record of its axes), and tables as HTML. Shared by every module that builds sections (html.py,
compress_figures.py), so neither imports the other."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scalinglab.analysis import format_count
from scalinglab.metrics import label
from scalinglab.report.drawn_axes import axes_records


@dataclass
class Figure:
    title: str
    png_base64: str
    axes: list[dict] = field(default_factory=list)  # `drawn_axes.axes_records` of the figure as drawn

    @property
    def axes_json(self) -> str:
        """The axes records for the page (`data-axes`); a record holds finite numbers only."""
        return json.dumps(self.axes, allow_nan=False)


@dataclass
class Section:
    """One question the report answers: the answer in sentences, then the evidence."""

    title: str
    sentences: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    tables: list[tuple[str, str]] = field(default_factory=list)  # (caption, HTML made by pandas, escaped)


def render_figure(title: str, draw, data) -> Figure:
    """`draw(data, ax)` on a figure of the report's size, as PNG with the record of its axes."""
    # A bare Figure (no pyplot): nothing global to register or close.
    from matplotlib.figure import Figure as MatplotlibFigure

    drawn = MatplotlibFigure(figsize=(6.4, 4.2), dpi=100)
    draw(data, drawn.add_subplot())
    # Fixed margins fit every label we draw; tight_layout would double the time of a report.
    drawn.subplots_adjust(left=0.12, right=0.97, bottom=0.12, top=0.97)
    buffer = io.BytesIO()
    # Fastest zlib level: 15% less time per figure for PNGs about a quarter larger.
    drawn.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
    # Read after savefig: the tick labels exist only once the figure is drawn.
    return Figure(title, base64.b64encode(buffer.getvalue()).decode(), axes_records(drawn))


def table_html(table: pd.DataFrame) -> str:
    """Pandas escapes every cell and header; headers become labels with units, numbers the short
    form of the text (26.1k, 0.114), and a cell with no value (a size not trained at that setting) a dash."""
    return table.rename(columns=label).to_html(
        index=False, float_format=short_number, na_rep="–", border=0, escape=True
    )


def short_number(value: float) -> str:
    """A table's number as the text writes it: counts of 1,000 and up as 26.1k, others to 3 digits."""
    if not np.isfinite(value):
        return "none"
    return format_count(value) if abs(value) >= 1000 else f"{value:.3g}"
