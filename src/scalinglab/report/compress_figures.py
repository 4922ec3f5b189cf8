"""The report's section "Compress or train small?": figure data (`*_data`, plain numbers that
tests check), `draw_*` functions, and the section itself. Rows come from
`scalinglab.compress.compressions_table.compressions_frame`; nothing here imports torch. Scales, limits and
intervals follow the rule of `scalinglab.fit.view`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scalinglab.analysis import format_count
from scalinglab.compress.registry import KNOBS, method_label
from scalinglab.compress.seed_statistics import seed_summary, sensitivity, t_factor
from scalinglab.compress.verdict import DEPLOYED_COSTS, verdicts
from scalinglab.compress.verdict_words import (
    COMPLEXITY,
    COST_NAMES,
    complexity_sentences,
    distillation_sentences,
    size_sensitivity_sentence,
    verdict_table,
    verdict_tally,
)
from scalinglab.fit.view import can_log, clip_to_view, plain_log_ticks, view_limits
from scalinglab.metrics import label, lower_is_better
from scalinglab.pareto import pareto_mask
from scalinglab.report.drawn_axes import mark_data
from scalinglab.report.parts import Section, render_figure, table_html

_COST_LABELS = {
    "bytes_deployed": "bytes on disk, as deployed",
    "latency_ms_p50": "latency p50 at batch 1 (ms)",
    "inference_peak_memory_bytes": "peak inference memory (bytes)",
}


@dataclass
class Points:
    """Seed means of configurations in (cost, metric), with the metric's 95% interval."""

    name: str
    cost: np.ndarray
    metric: np.ndarray
    low: np.ndarray
    high: np.ndarray
    on_frontier: np.ndarray


@dataclass
class CompressPareto:
    """The training frontier (the trained sizes) and every method's configurations."""

    cost: str
    metric: str
    train_size: float
    training: Points | None = None
    methods: list[Points] = field(default_factory=list)
    log_x: bool = True
    log_y: bool = False
    y_limits: tuple[float, float] | None = None


def compress_pareto_data(
    frame: pd.DataFrame, cost: str, *, metric: str = "val_loss", train_size: float | None = None
) -> CompressPareto:
    """Per method (and the trained models), the seed-mean configurations at one data size (the
    largest by default), each with its own Pareto frontier marked. The y-limits come from the
    seed means; the seed intervals are clipped to them (with few seeds a t-interval can be many
    times wider than everything measured)."""
    summary = seed_summary(frame, [metric, cost])
    if summary.empty or cost not in summary or metric not in summary:
        return CompressPareto(cost, metric, float("nan"))
    train_size = float(summary["train_size"].max() if train_size is None else train_size)
    summary = summary[(summary["train_size"] == train_size) & np.isfinite(summary[cost]) & np.isfinite(summary[metric])]
    lower = lower_is_better(metric)
    data = CompressPareto(cost, metric, train_size)
    for method, rows in summary.groupby("method", sort=False):
        rows = rows.sort_values(cost)
        cost_values, metric_values = rows[cost].to_numpy(float), rows[metric].to_numpy(float)
        points = Points(
            method_label(method),
            cost_values,
            metric_values,
            rows[f"{metric}_low"].to_numpy(float),
            rows[f"{metric}_high"].to_numpy(float),
            pareto_mask(cost_values, metric_values, lower),
        )
        if method == "none":
            data.training = points
        else:
            data.methods.append(points)
    _frame_the_points(data)
    return data


def _frame_the_points(data: CompressPareto) -> None:
    everything = ([data.training] if data.training is not None else []) + data.methods
    data.log_x = can_log(*[points.cost for points in everything])
    data.log_y = data.metric in ("val_loss", "train_loss") and can_log(*[points.metric for points in everything])
    data.y_limits = view_limits(*[points.metric for points in everything], log=data.log_y)
    for points in everything:
        points.low, points.high = clip_to_view(points.low, points.high, data.y_limits)


def draw_compress_pareto(data: CompressPareto, ax) -> None:
    """The training frontier in black with seed intervals, each method's frontier in colour,
    all its configurations as faint dots."""
    for index, points in enumerate(data.methods):
        color = f"C{index % 10}"
        mark_data(*ax.plot(points.cost, points.metric, ".", color=color, alpha=0.25))
        front = points.on_frontier
        ax.step(
            points.cost[front], points.metric[front], "o-", where="post", color=color, label=points.name, markersize=4
        )
    if data.training is not None:
        t = data.training
        mark_data(
            ax.errorbar(t.cost, t.metric, yerr=_bar(t), fmt="s-", color="k", label="trained sizes", capsize=2, zorder=5)
        )
    if data.log_x:
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis, format_count)
    if data.log_y:
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis, format_count)
    if data.y_limits is not None:
        ax.set_ylim(*data.y_limits)
    ax.set_xlabel(_COST_LABELS.get(data.cost, label(data.cost)))
    ax.set_ylabel(label(data.metric))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")


def _bar(points: Points) -> np.ndarray | None:
    """Error bars from the interval; none where it was dropped (NaN: matplotlib draws no bar)."""
    if np.all(np.isnan(points.low)):
        return None
    return np.vstack([np.maximum(points.metric - points.low, 0), np.maximum(points.high - points.metric, 0)])


@dataclass
class Sensitivity:
    """Quality against one method's setting, one series per parent size (no fine-tuning)."""

    method: str
    knob: str
    metric: str
    series: list[Points] = field(default_factory=list)  # cost holds the knob's values


def sensitivity_data(frame: pd.DataFrame, method: str, *, metric: str = "val_loss") -> Sensitivity:
    """The method's sensitivity curve per parent size at the largest data size."""
    knob = KNOBS[method]
    curve = sensitivity(frame, method, metric=metric)
    data = Sensitivity(method, knob, metric)
    if curve.empty:
        return data
    if method == "quantize":
        curve = curve[curve["mode"] == "weight_only"]  # the only mode with every bit width
    curve = curve[np.isfinite(curve[knob]) & np.isfinite(curve[metric])]
    for size, rows in curve.groupby("parent_n_params", sort=True):
        rows = rows.sort_values(knob)
        values = rows[metric].to_numpy(float)
        data.series.append(
            Points(
                f"{format_count(size)} parameters",
                rows[knob].to_numpy(float),
                values,
                rows[f"{metric}_low"].to_numpy(float),
                rows[f"{metric}_high"].to_numpy(float),
                np.ones(len(rows), bool),
            )
        )
    return data


def draw_sensitivity(data: Sensitivity, ax) -> None:
    """One line per model size: quality as the setting gets harsher."""
    for index, series in enumerate(data.series):
        mark_data(*ax.plot(series.cost, series.metric, "o-", color=f"C{index % 10}", label=series.name))
    ax.set_xlabel(data.knob)
    ax.set_ylabel(label(data.metric))
    if data.knob == "clusters" and can_log(*[series.cost for series in data.series]):
        ax.set_xscale("log", base=2)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")


@dataclass
class Complexity:
    """Each complexity measure of every trained run against its parameters."""

    measures: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # name -> (n_params, values)


def complexity_data(frame: pd.DataFrame) -> Complexity:
    """Effective-rank fraction, dead-ReLU fraction and RMS weight of every trained run."""
    trained = frame[(frame["method"] == "none") & (frame["status"] == "ok")] if len(frame) else frame
    data = Complexity()
    for measure in COMPLEXITY:
        if measure not in trained:
            continue
        n_params, values = trained["n_params"].to_numpy(float), trained[measure].to_numpy(float)
        kept = np.isfinite(n_params) & np.isfinite(values)
        if kept.any():
            data.measures[measure] = (n_params[kept], values[kept])
    return data


def draw_complexity(data: Complexity, ax) -> None:
    for index, (measure, (n_params, values)) in enumerate(data.measures.items()):
        mark_data(*ax.plot(n_params, values, "o", color=f"C{index}", alpha=0.7, label=COMPLEXITY[measure]))
    ax.set_xscale("log")  # parameter counts are positive
    plain_log_ticks(ax.xaxis, format_count)
    ax.set_xlabel(label("n_params"))
    ax.set_ylabel("value")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")


def compress_section(frame: pd.DataFrame, *, metric: str = "val_loss") -> Section:
    """The report section "Compress or train small?": verdict sentences per budget of bytes,
    latency and memory, sensitivity and complexity sentences, and figures."""
    section = Section("Compress or train small?")
    section.sentences.append(
        "Every trained model (at the largest data size) was compressed by each method and measured by the same "
        "function as the trained models themselves. Intervals of losses and costs are 95% t-intervals of the mean "
        "log over seeds (never below zero). Each verdict compares the compressed model with the trained one seed by "
        "seed (a seed fixes both models' initialisation and data order, so the differences cancel its noise); with "
        f"two seeds a 95% t-interval reaches {t_factor(2):.3g} standard errors either side of the mean, so many "
        "budgets stay undecided and the sentence says about how many seeds would decide them. The best of many "
        "compressed variants is picked by its mean, which flatters it when seeds are few."
    )
    for cost in DEPLOYED_COSTS:
        found = verdicts(frame, cost=cost, metric=metric)
        tally = verdict_tally(found)
        section.sentences += [tally] if tally else []
        if found:  # one line a budget: the sentences of every budget read as a wall of near-identical text
            section.tables.append(
                (f"Compress or train small, per budget of {COST_NAMES[cost]}", table_html(verdict_table(found)))
            )
        data = compress_pareto_data(frame, cost, metric=metric)
        if data.training is not None:
            section.figures.append(
                render_figure(
                    f"Compressed vs trained: {label(metric)} vs {_COST_LABELS[cost]}", draw_compress_pareto, data
                )
            )
    section.sentences += distillation_sentences(frame, metric=metric)
    for method in KNOBS:
        sentence = size_sensitivity_sentence(frame, method, metric=metric)
        section.sentences += [sentence] if sentence else []
        data = sensitivity_data(frame, method, metric=metric)
        if data.series:
            section.figures.append(
                render_figure(
                    f"Sensitivity: {method_label(method)}, {label(metric)} vs {data.knob}", draw_sensitivity, data
                )
            )
    section.sentences += complexity_sentences(frame, metric=metric)
    complexity = complexity_data(frame)
    if complexity.measures:
        section.figures.append(render_figure("Complexity measures vs parameters", draw_complexity, complexity))
    return section
