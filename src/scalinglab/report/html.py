"""One self-contained HTML report: figures embedded as base64 PNG, no network, user text escaped.

The report is organised by the questions people bring to a sweep; each section answers one in
plain words with the numbers, then shows the figures behind the answer.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from scalinglab.analysis import (
    FitOutcome,
    backtest_largest,
    data_effect_sentence,
    describe_cost,
    describe_fit,
    format_count,
    format_factor,
    generalization_sentence,
    scaling_effect,
    seed_warnings,
)
from scalinglab.errors import UserError
from scalinglab.metrics import label
from scalinglab.recommend import Budgets, Recommendation, recommend
from scalinglab.report import figures
from scalinglab.results import aggregate_over_seeds

TEMPLATES = Path(__file__).parent / "templates"

# (metric, title, log y): the figures of a measured column against parameters, one series per
# data size, with the fitted law where there is one. Append to add a figure.
_AGAINST_PARAMS = [
    ("val_loss", "Validation loss vs parameters", False),
    ("val_accuracy", "Validation accuracy vs parameters", False),
    ("train_seconds", "Training time vs parameters", True),
    ("latency_ms_p50", "Inference latency (batch 1) vs parameters", True),
    ("train_samples_per_second", "Training throughput vs parameters", True),
    ("bytes_fp32", "Bytes on disk (fp32) vs parameters", True),
    ("peak_memory_bytes", "Peak memory vs parameters", True),
    ("generalization_gap", "Generalization gap (val - train loss) vs parameters", False),
    ("val_bits_per_byte", "Validation bits per byte vs parameters", False),
    ("train_flops", "Training FLOPs vs parameters", True),
    ("achieved_flops_per_second", "Achieved training FLOP/s vs parameters", True),
    ("peak_flops_fraction", "Fraction of measured matmul peak vs parameters", False),
    ("latency_ms_p95", "Inference latency p95 (batch 1) vs parameters", True),
    ("train_tokens_per_second", "Training throughput (tokens) vs parameters", True),
    ("inference_samples_per_second", "Inference throughput (large batch) vs parameters", True),
    ("inference_tokens_per_second", "Inference throughput (tokens, large batch) vs parameters", True),
    ("bytes_int8", "Bytes on disk (int8 weights) vs parameters", True),
    ("grad_norm_mean", "Mean gradient norm vs parameters", True),
]
_QUALITY = {"val_loss", "val_accuracy", "val_f1_macro", "train_loss"}
_GENERALIZATION = {"generalization_gap"}
_HELD_OUT_ERROR_WARNING = 0.10  # a law that misses its own largest size by 10% cannot extrapolate


@dataclass
class Figure:
    title: str
    png_base64: str


@dataclass
class Section:
    """One question the report answers: the answer in sentences, then the evidence."""

    title: str
    sentences: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    tables: list[tuple[str, str]] = field(default_factory=list)  # (caption, HTML made by pandas, escaped)


def write_report(
    path: Path,
    *,
    title: str,
    frame: pd.DataFrame,
    fit: FitOutcome,
    config: dict | None,
    budgets: Budgets | None = None,
    compressions: pd.DataFrame | None = None,
) -> Path:
    """Render the report of `frame` (one row per run) and its fits to `path`.

    Parameters
    ----------
    path : Path
        The HTML file to write.
    title : str
        Shown as the heading (escaped).
    frame : DataFrame
        One row per run, as `scalinglab.results.results_frame` returns it.
    fit : FitOutcome
        Quality and cost laws from `scalinglab.analysis.fit_metric_vs_params`.
    config : dict or None
        The sweep configuration, shown verbatim.
    budgets : Budgets, optional
        For the recommendation; by default the training time of the slowest configuration.
    compressions : DataFrame, optional
        Stored compressions (`scalinglab.compress.verdict.compressions_frame`): adds the section
        "Compress or train small?" when it holds any.
    """
    import matplotlib

    matplotlib.use("Agg")
    choice, choice_note, budgets = _recommendation(fit, frame, budgets)
    sections = [
        _quality_section(frame, fit),
        _cost_section(frame, fit),
        _generalization_section(frame, fit),
        _compute_section(fit),
        _recommendation_section(frame, fit, choice, choice_note, budgets),
        _trust_section(frame, fit),
    ]
    if compressions is not None and not compressions.empty:  # hook: the compress branch's own section
        from scalinglab.report.compress_figures import compress_section

        sections.append(compress_section(compressions, metric=fit.fits[0].metric if fit.fits else "val_loss"))
    rendered = _environment().get_template("report.html").render(
        title=title,
        answer=choice.sentence() if choice else choice_note,
        warnings=_warnings(frame, fit, choice),
        sections=sections,
        table=_table_html(size_table(frame)),
        config=config,
    )
    path.write_text(rendered)
    return path


def _recommendation(fit: FitOutcome, frame: pd.DataFrame, budgets: Budgets | None):
    if budgets is None:
        budgets = _default_budgets(frame)
    if budgets is None:
        return None, "No recommendation: the runs recorded no training time to budget.", None
    try:
        # The report's own answer stays within the trained sizes: an unasked-for 10x extrapolation
        # of a law without a resolved floor is a guess, not a recommendation. `scalinglab recommend`
        # extrapolates on request, with its warnings.
        return recommend(fit, budgets, max_extrapolation=1.0), "", budgets
    except UserError as error:
        return None, f"No recommendation: {error}", budgets


def _default_budgets(frame: pd.DataFrame) -> Budgets | None:
    means = aggregate_over_seeds(frame)
    if means.empty or "train_seconds" not in means:
        return None
    return Budgets(train_seconds=float(means["train_seconds"].max()))


def _quality_section(frame: pd.DataFrame, fit: FitOutcome) -> Section:
    section = Section("How does quality change with size?")
    for group_fit in fit.fits:
        effect = scaling_effect(fit, group_fit.group)
        if effect is not None:
            section.sentences.append(effect.sentence())
    section.sentences += [describe_fit(group_fit) for group_fit in fit.fits]
    metric = fit.fits[0].metric if fit.fits else "val_loss"
    data_sentence = data_effect_sentence(frame, metric)
    section.sentences += [data_sentence] if data_sentence else []
    section.figures += _against_params_figures(frame, fit, _QUALITY)
    if metric in frame and frame["train_size"].nunique() > 1:
        data = figures.metric_vs_data_data(frame, metric)
        section.figures.append(_figure(f"{label(metric).capitalize()} vs training data, per model size",
                                       figures.draw_metric_vs_params, data))
    return section


def _cost_section(frame: pd.DataFrame, fit: FitOutcome) -> Section:
    section = Section("What does size cost?")
    section.sentences = [describe_cost(cost_fit) for laws in fit.costs.values() for cost_fit in laws[-1:]]
    if any(len(laws) > 1 for laws in fit.costs.values()):
        section.sentences.append("Costs that grow with data are fitted per data size; the sentences quote the largest.")
    section.figures = _against_params_figures(frame, fit, None)
    return section


def _generalization_section(frame: pd.DataFrame, fit: FitOutcome) -> Section:
    sentence = generalization_sentence(frame)
    section = Section("How does size relate to generalization?", [sentence] if sentence else [])
    section.figures = _against_params_figures(frame, fit, _GENERALIZATION)
    return section


def _compute_section(fit: FitOutcome) -> Section:
    section = Section("How should a compute budget be split between size and data?")
    data = figures.isoflop_data(fit) if fit.fits else None
    if data is None or not data.curves:
        section.sentences.append("IsoFLOP curves need quality laws at two or more data sizes and a FLOP law for each.")
        return section
    for budget, n_params, data_size in zip(data.budgets_flops, data.optimal_n, data.optimal_data):
        section.sentences.append(
            f"With {budget:.2g} training FLOPs, the best of the trained data sizes is {data_size:g}, "
            f"on a model of about {format_count(n_params)} parameters."
        )
    section.figures.append(_figure("IsoFLOP curves and the compute-optimal frontier", figures.draw_isoflop, data))
    return section


def _recommendation_section(
    frame: pd.DataFrame, fit: FitOutcome, choice: Recommendation | None, note: str, budgets: Budgets | None
) -> Section:
    section = Section("Which size should I train?")
    if budgets is not None:
        given = ", ".join(f"{name.replace('_', ' ')} {value:.3g}" for name, value in budgets.given().items())
        section.sentences.append(
            f"Budget: {given}. (By default, the training time of the slowest configuration trained, "
            "searching only the trained range of sizes; `scalinglab recommend OUT --train-seconds X ...` "
            "answers for any budget and extrapolates up to 10x.)"
        )
    if choice is None:
        section.sentences.append(note)
        return section
    section.sentences.append(choice.sentence())
    section.sentences += [warning[0].upper() + warning[1:] for warning in choice.warnings]
    for cost, frontier in choice.frontiers.items():
        section.tables.append((f"Pareto frontier: {label(choice.metric)} vs {label(cost)} (predicted by the laws)",
                               _table_html(_readable_frontier(frontier))))
    chosen = {cost: frontier[frontier["chosen"]] for cost, frontier in choice.frontiers.items()}
    for cost in choice.frontiers:
        point = chosen[cost]
        star = (float(point[cost].iloc[0]), float(point[choice.metric].iloc[0])) if len(point) else None
        data = figures.pareto_data(frame, choice.metric, cost, recommended=star)
        section.figures.append(_figure(f"Pareto: {label(choice.metric)} vs {label(cost)}", figures.draw_pareto, data))
    return section


def _trust_section(frame: pd.DataFrame, fit: FitOutcome) -> Section:
    section = Section("Can these laws be trusted?")
    if not fit.fits:
        section.sentences.append("No law was fitted, so there is nothing to check.")
        return section
    data = figures.backtest_data(frame, fit)
    for _, row in data.held_out.iterrows():
        section.sentences.append(
            f"With train_size = {row['group']:g}, the law fitted without the largest size predicted it "
            f"({format_count(row['n_params'])} parameters) {abs(row['relative_error']) * 100:.1f}% "
            f"{'high' if row['relative_error'] > 0 else 'low'}."
        )
    if data.held_out.empty:
        section.sentences.append("Too few sizes to hold the largest one out and still fit a law.")
    section.figures.append(_figure("Backtest: residuals, and the held-out largest size", figures.draw_backtest, data))
    spread = figures.seed_spread_data(frame, fit.fits[0].metric)
    section.sentences.append(
        f"Across seeds, the largest spread of {fit.fits[0].metric} is {spread.worst_relative_std * 100:.1f}% of its mean."
    )
    section.figures.append(_figure("Seed spread: every run", figures.draw_seed_spread, spread))
    return section


def _against_params_figures(frame: pd.DataFrame, fit: FitOutcome, wanted: set[str] | None) -> list[Figure]:
    """The `_AGAINST_PARAMS` figures whose metric is in `wanted` (None: those in no other section)."""
    others = _QUALITY | _GENERALIZATION
    result = []
    for metric, title, log_y in _AGAINST_PARAMS:
        belongs = metric in wanted if wanted is not None else metric not in others
        if not belongs or metric not in frame:
            continue
        laws = [*fit.fits, *fit.costs.get(metric, [])]
        data = figures.metric_vs_params_data(frame, metric, fits=laws, log_y=log_y)
        result.append(_figure(title, figures.draw_metric_vs_params, data))
    return result


def _figure(title: str, draw, data) -> Figure:
    return Figure(title, _render(lambda ax: draw(data, ax)))


def _render(draw) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    draw(ax)
    # Fixed margins fit every label we draw; tight_layout would double the time of a report.
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.12, top=0.97)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def size_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model size (and data size): seed-mean params, loss, accuracy, time, latency, bytes."""
    means = aggregate_over_seeds(frame)
    if means.empty:
        return means
    columns = ["n_params", "train_size", "val_loss", "val_accuracy", "train_seconds", "latency_ms_p50", "bytes_fp32", "n_seeds"]
    return means[[c for c in columns if c in means]].sort_values(["train_size", "n_params"])


def _readable_frontier(frontier: pd.DataFrame) -> pd.DataFrame:
    table = frontier.copy()
    table["extrapolation_factor"] = [format_factor(f) if f > 1 else "inside" for f in table["extrapolation_factor"]]
    table["chosen"] = np.where(table["chosen"], "chosen", "")
    return table.rename(columns={"extrapolation_factor": "outside trained range", "within_budgets": "within budget"})


def _table_html(table: pd.DataFrame) -> str:
    """Pandas escapes every cell and header; headers become labels with units."""
    return table.rename(columns=label).to_html(index=False, float_format="%.4g", border=0, escape=True)


def _warnings(frame: pd.DataFrame, fit: FitOutcome, choice: Recommendation | None) -> list[str]:
    warnings = list(fit.warnings) + _failure_warnings(frame)
    if fit.fits:
        warnings += seed_warnings(frame, fit.fits[0].metric)
        held_out = backtest_largest(frame, fit)
        for _, row in held_out[held_out["relative_error"].abs() > _HELD_OUT_ERROR_WARNING].iterrows():
            warnings.append(
                f"train_size={row['group']:g}: the law misses its own largest size by "
                f"{abs(row['relative_error']) * 100:.0f}%, so do not trust it far beyond the trained sizes"
            )
    if choice is not None:
        warnings += choice.warnings
    return warnings


def _failure_warnings(frame: pd.DataFrame) -> list[str]:
    if frame.empty:
        return []
    failed = frame[frame["status"] != "ok"]
    return [f"{len(failed)} run(s) did not finish ok; see `scalinglab status`"] if len(failed) else []


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
