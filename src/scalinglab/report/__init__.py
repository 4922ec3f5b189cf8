"""The report: figure data computed apart from drawing (figures.py), assembled into one
self-contained HTML file (html.py)."""

from scalinglab.report.html import write_report

__all__ = ["write_report"]
