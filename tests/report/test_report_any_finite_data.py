"""Every figure survives any finite data: the report of hostile results is written, whole, with no
`nan` or `inf` in its text, and every figure draws (issue 18: a sweep on a binary file died in the
report on a log axis of values <= 0)."""

from __future__ import annotations

import html as html_text
import json
import re

import numpy as np
import pandas as pd
import pytest
from synthetic_runs import synthetic_runs

from scalinglab.analysis import analyze
from scalinglab.report import figures
from scalinglab.report.browser_check import figure_problems
from scalinglab.report.compress_figures import (
    complexity_data,
    compress_pareto_data,
    draw_complexity,
    draw_compress_pareto,
)
from scalinglab.report.html import write_report
from scalinglab.report.parts import render_figure

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess

_COSTS = ["train_seconds", "latency_ms_p50", "latency_ms_p95", "peak_memory_bytes", "bytes_int8", "grad_norm_mean"]


def _runs() -> pd.DataFrame:
    frame = synthetic_runs(seeds=(0, 1), seed_noise=0.05)
    return frame.assign(
        grad_norm_mean=1.0 + frame["n_params"] ** 0.1,
        peak_memory_bytes=8 * frame["n_params"],
        latency_ms_p95=2 * frame["latency_ms_p50"],
        val_accuracy=0.5,
    )


def _zeros(frame):
    return frame.assign(**{column: 0.0 for column in _COSTS}, generalization_gap=0.0)


def _negatives(frame):
    mixed = np.where(frame.index % 2, -1.0, 1.0)
    return frame.assign(
        generalization_gap=-frame["generalization_gap"],
        grad_norm_mean=-1.0,
        latency_ms_p50=mixed * frame["latency_ms_p50"],
        train_seconds=mixed,
    )


def _constant_columns(frame):
    return frame.assign(**{column: 3.0 for column in _COSTS}, generalization_gap=0.1, val_accuracy=1.0)


def _missing_optional_columns(frame):
    partly = frame["latency_ms_p50"].where(frame.index % 3 > 0)
    return frame.assign(grad_norm_mean=np.nan, peak_memory_bytes=np.nan, val_accuracy=np.nan, latency_ms_p50=partly)


def _loss_on_zero(frame):
    return frame.assign(val_loss=0.0, train_loss=0.0, generalization_gap=0.0)


def _loss_flat_near_zero_and_noisy(frame):
    return frame.assign(val_loss=1e-3 * np.exp(np.random.default_rng(0).normal(0, 1.5, len(frame))))


def _single_row(frame):
    return frame.iloc[:1]


def _constant_loss(frame):
    return frame.assign(val_loss=2.0)


@pytest.mark.parametrize(
    "hostile",
    [
        _zeros,
        _negatives,
        _constant_columns,
        _missing_optional_columns,
        _loss_on_zero,
        _loss_flat_near_zero_and_noisy,
        _single_row,
        _constant_loss,
    ],
)
def test_the_report_of_hostile_results_is_written_without_nan_or_inf(tmp_path, hostile):
    analysis = analyze(hostile(_runs()), n_bootstrap=20)
    html = write_report(tmp_path / "report.html", analysis).read_text()
    assert "Which size should I train?" in html and html.rstrip().endswith("</html>")
    assert html.count("data:image/png;base64,") >= 3
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    shown = re.findall(r".{60}\b(?:nan|inf|infinity)\b.{20}", text, flags=re.IGNORECASE)
    assert shown == []
    assert figure_problems(_figures_as_written(html)) == []  # every axis readable (the browser test loads real sweeps)


def _figures_as_written(html: str) -> list[dict]:
    """Each figure's axes record as the report wrote it, as if its image decoded."""
    return [
        {
            "title": title,
            "complete": True,
            "natural_width": 1,
            "shown_width": 1,
            "axes_error": None,
            "axes": json.loads(html_text.unescape(axes)),
        }
        for title, axes in re.findall(r'alt="([^"]*)" data-axes="([^"]*)"', html)
    ]


def _compression(method, parent_size, seed, loss, bytes_deployed, **extra):
    return {
        "compression_key": f"{method}-{parent_size}-{seed}",
        "parent_run_key": f"p{parent_size}-{seed}",
        "method": method,
        "variant": method,
        "student": None,
        "parent_n_params": parent_size,
        "train_size": 1000,
        "seed": seed,
        "status": "ok",
        "error": None,
        "val_loss": loss,
        "bytes_deployed": bytes_deployed,
        "n_params": parent_size,
        **extra,
    }


def test_compress_figures_draw_zero_costs_zero_losses_and_missing_measures():
    rows = pd.DataFrame(
        [
            _compression("none", 1000, 0, 0.0, 0.0, effective_rank_fraction=np.nan),
            _compression("none", 1000, 1, 0.0, 0.0, effective_rank_fraction=np.inf),
            _compression("none", 10000, 0, 0.2, 400.0, effective_rank_fraction=0.8),
            _compression("none", 10000, 1, 900.0, 400.0, effective_rank_fraction=0.8),  # two seeds far apart
            _compression("prune", 10000, 0, 0.3, 39.0),
            _compression("prune", 10000, 1, 0.3, 39.0),
        ]
    )
    pareto = compress_pareto_data(rows, "bytes_deployed")
    assert not pareto.log_x and not pareto.log_y  # zero bytes, zero loss: linear axes
    low, high = pareto.training.low, pareto.training.high
    assert np.all(np.isnan(low) | (low >= pareto.y_limits[0])) and np.all(np.isnan(high) | (high <= pareto.y_limits[1]))
    complexity = complexity_data(rows)
    assert complexity.measures["effective_rank_fraction"][1].tolist() == [0.8, 0.8]
    assert render_figure("pareto", draw_compress_pareto, pareto).png_base64
    assert render_figure("complexity", draw_complexity, complexity).png_base64


def _labelled_ticks(axis) -> list[str]:
    """The tick labels a drawn axis shows inside its view."""
    low, high = sorted(axis.get_view_interval())
    pairs = [
        *zip(axis.get_majorticklocs(), axis.get_majorticklabels()),
        *zip(axis.get_minorticklocs(), axis.get_minorticklabels()),
    ]
    return [label.get_text() for location, label in pairs if low <= location <= high and label.get_text()]


@pytest.mark.parametrize("span_factor", [1.05, 3.0, 30.0, 1e4])
def test_every_log_axis_shows_at_least_two_labelled_ticks(span_factor):
    """Latency p50 and peak memory axes spanning less than a decade once showed no label at all."""
    from matplotlib.figure import Figure

    runs = synthetic_runs()
    fraction = (runs["n_params"] - runs["n_params"].min()) / np.ptp(runs["n_params"])
    runs["latency_ms_p50"] = 2.0 * span_factor**fraction
    data = figures.metric_vs_params_data(runs[runs["width"] <= 32], "latency_ms_p50", log_y=True)
    figure = Figure()
    ax = figure.add_subplot()
    figures.draw_metric_vs_params(data, ax)
    figure.canvas.draw()
    assert ax.get_yscale() == "log" and ax.get_xscale() == "log"
    assert len(_labelled_ticks(ax.yaxis)) >= 2 and len(_labelled_ticks(ax.xaxis)) >= 2
