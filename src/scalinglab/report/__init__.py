"""The report: figure data computed apart from drawing (figures.py, compress_figures.py), drawn
into the parts of a section (parts.py, each figure with the record of its axes, drawn_axes.py),
assembled into one self-contained HTML file (html.py), and checked in a browser (browser_check.py)."""

from scalinglab.report.html import write_report

__all__ = ["write_report"]
