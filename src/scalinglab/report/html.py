"""One self-contained HTML report: figures embedded as base64 PNG, no network, user text escaped."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pandas as pd

from scalinglab.analysis import FitOutcome, describe_fit
from scalinglab.report import figures
from scalinglab.results import aggregate_over_seeds

TEMPLATES = Path(__file__).parent / "templates"

# (metric, title, log y): the figures of quality and cost against parameters.
_AGAINST_PARAMS = [
    ("val_loss", "Validation loss vs parameters", False),
    ("val_accuracy", "Validation accuracy vs parameters", False),
    ("train_seconds", "Training time vs parameters", True),
    ("latency_ms_p50", "Inference latency (batch 1) vs parameters", True),
    ("bytes_fp32", "Bytes on disk (fp32) vs parameters", True),
]


@dataclass
class Figure:
    title: str
    png_base64: str


def write_report(path: Path, *, title: str, frame: pd.DataFrame, fit: FitOutcome, config: dict | None) -> Path:
    """Render the report of `frame` (one row per run) and its fits to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    rendered = _environment().get_template("report.html").render(
        title=title,
        summary=[describe_fit(group_fit) for group_fit in fit.fits],
        warnings=fit.warnings + _failure_warnings(frame),
        figures=_figures(frame, fit),
        table=size_table(frame),
        config=config,
    )
    path.write_text(rendered)
    return path


def _figures(frame: pd.DataFrame, fit: FitOutcome) -> list[Figure]:
    result = []
    for metric, title, log_y in _AGAINST_PARAMS:
        if metric not in frame:
            continue
        data = figures.metric_vs_params_data(frame, metric, fits=fit.fits, log_y=log_y)
        result.append(Figure(title, _render(lambda ax, data=data: figures.draw_metric_vs_params(data, ax))))
    return result


def _render(draw) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    draw(ax)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def size_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model size (and data size): seed-mean params, loss, accuracy, time, latency, bytes."""
    means = aggregate_over_seeds(frame)
    if means.empty:
        return means
    columns = ["n_params", "train_size", "val_loss", "val_accuracy", "train_seconds", "latency_ms_p50", "bytes_fp32"]
    return means[[c for c in columns if c in means]].sort_values(["train_size", "n_params"])



def _failure_warnings(frame: pd.DataFrame) -> list[str]:
    if frame.empty:
        return []
    failed = frame[frame["status"] != "ok"]
    return [f"{len(failed)} run(s) did not finish ok; see `scalinglab status`"] if len(failed) else []


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
