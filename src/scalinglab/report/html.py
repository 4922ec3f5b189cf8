"""One self-contained HTML report: figures embedded as base64 PNG, no network, user text escaped.

The report is organised by the questions people bring to a sweep; each section answers one in
plain words with the numbers, then shows the figures behind the answer.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from scalinglab.analysis import Analysis, format_count, format_factor
from scalinglab.analysis.sentences import (
    anchor_sentence,
    cost_sentences,
    data_effect_sentence,
    form_choice_sentence,
    generalization_sentence,
    isoflop_sentences,
    isoflop_table,
    joint_law_sentences,
    optimum_beats_baseline,
    scaling_effect,
    size_sentences,
)
from scalinglab.analysis.speedup import benefit_sentences
from scalinglab.analysis.time_to_target import time_sentence
from scalinglab.errors import UserError
from scalinglab.metrics import QUALITY, label, short_label
from scalinglab.recommendation import (
    BUDGET_DIGITS,
    Budgets,
    Recommendation,
    default_budgets,
    frontier_source,
    no_interval_words,
    recommend,
)
from scalinglab.report import figures
from scalinglab.report.compress_figures import compress_section
from scalinglab.report.converged import planned_sweep_section
from scalinglab.report.parts import Figure, Section, render_figure, short_number, table_html
from scalinglab.runs_table import sweep_metric

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
_QUALITY = set(QUALITY)
FIRST_SCREEN_WARNINGS = 3  # the rest fold away below them: the first screen is the answer
MANY_SEEDS = 4  # fewer seeds per configuration than this, and the report suggests more
_GENERALIZATION = {"generalization_gap"}


def write_report(
    path,
    analysis: Analysis,
    *,
    budgets: Budgets | None = None,
    title: str | None = None,
    compressions: pd.DataFrame | None = None,
    store_folder: Path | None = None,
) -> Path:
    """Render the report of one `Analysis` to `path` and return `path`.

    Parameters
    ----------
    path : str or Path
        The HTML file to write.
    analysis : Analysis
        From `scalinglab.analyze`: every law the report shows, fitted once.
    budgets : Budgets, optional
        For the recommendation; by default the training time of the slowest configuration trained.
        `scalinglab recommend` with the same budgets gives the same answer.
    title : str, optional
        The heading (escaped); by default the sweep's name.
    compressions : DataFrame, optional
        Stored compressions (`scalinglab.compress.compressions_table.compressions_frame`): adds the section
        "Compress or train small?" when it holds any.
    store_folder : Path, optional
        The sweep's folder, which the next steps' commands name; by default the report's own folder
        (where `scalinglab run` writes it; a report written elsewhere with --to named that folder).
    """
    choice, choice_note, budgets = _recommendation(analysis, budgets)
    quality = _quality_section(analysis)
    sections = [
        quality,
        _joint_section(analysis),
        _cost_section(analysis),
        _generalization_section(analysis),
        *_settings_sections(analysis),
        *_parallelism_sections(analysis),
        _recommendation_section(analysis, choice, choice_note, budgets),
        _trust_section(analysis),
    ]
    if analysis.transfer is not None:  # [transfer]: pretrained or from scratch (report.transfer_section)
        from scalinglab.report.transfer_section import transfer_section

        sections.append(transfer_section(analysis.transfer))
    sections.append(planned_sweep_section(analysis))  # [plan]: "How the answer converged" (report.converged)
    if compressions is not None and not compressions.empty:
        sections.append(compress_section(compressions, metric=analysis.metric))
    rendered = (
        _environment()
        .get_template("report.html")
        .render(
            title=title or analysis.title,
            answer=_answer(choice, choice_note),
            law=_law_in_one_sentence(analysis),
            first_figure=quality.figures[0] if quality.figures else None,
            next_steps=next_steps(
                analysis,
                store_folder or Path(path).parent,
                compressed=compressions is not None and not compressions.empty,
            ),
            warnings=analysis.warnings[:FIRST_SCREEN_WARNINGS],
            more_warnings=analysis.warnings[FIRST_SCREEN_WARNINGS:],
            sections=[section for section in sections if section is not None],
            table=table_html(analysis.size_table()),
            table_title=analysis.size_table_title(),
            config=analysis.config,
        )
    )
    path = Path(path)
    path.write_text(rendered)
    return path


def headline(analysis: Analysis, budgets: Budgets | None = None) -> str:
    """The answer the report opens with: the recommendation under `budgets` (by default
    `default_budgets`), or why there is none. `scalinglab run` ends with it."""
    choice, note, _ = _recommendation(analysis, budgets)
    return _answer(choice, note)


def _law_in_one_sentence(analysis: Analysis) -> str | None:
    """How quality changes with size at the largest data size: the law where it is resolved, else the measurement."""
    sentences = size_sentences(analysis)
    return sentences[-1] if sentences else None  # size_verdicts run from the smallest data size up


def next_steps(analysis: Analysis, out: Path, *, compressed: bool) -> list[str]:
    """What to do after reading the answer: budgets of one's own, compression, and more seeds
    where the intervals are wide (fewer than MANY_SEEDS seeds per configuration)."""
    steps = [
        f"Choose under your own budgets: scalinglab recommend {out} --train-seconds S --latency-ms L --storage-mb M"
    ]
    if not compressed:
        steps.append(f"Compress or train small? scalinglab compress {out} (then this report compares both)")
    # dropna=False: an objective's runs may have no data size at all
    per_configuration = analysis.runs.groupby([analysis.x, analysis.group_by], dropna=False).size()
    seeds = int(per_configuration.min()) if len(per_configuration) else 0
    if 0 < seeds < MANY_SEEDS:
        few = "one seed per configuration leaves them" if seeds == 1 else f"{seeds} seeds per configuration leave them"
        steps.append(
            f"Narrow the intervals: {few} wide; "
            f"rerun with --set 'seeds=[{', '.join(map(str, range(MANY_SEEDS)))}]' (the runs already stored are kept)"
        )
    return steps


def _answer(choice: Recommendation | None, note: str) -> str:
    # An extrapolation of the recommendation is part of the answer's first line, never below it.
    if choice is None:
        return note
    return " ".join([f"Warning: {warning}." for warning in choice.warnings] + [choice.sentence()])


def _recommendation(analysis: Analysis, budgets: Budgets | None):
    if budgets is None:
        budgets = default_budgets(analysis)
    if budgets is None:
        return None, "No recommendation: the runs recorded no training time to budget.", None
    try:
        return recommend(analysis, budgets), "", budgets
    except UserError as error:
        return None, f"No recommendation: {error}", budgets


def _quality_section(analysis: Analysis) -> Section:
    section = Section("How does quality change with size?")
    fit = analysis.groups
    for verdict in analysis.size_verdicts:  # a fitted curve's change is quoted only where size is resolved
        effect = scaling_effect(fit, verdict.group) if verdict.resolved else None
        if effect is not None:
            section.sentences.append(effect.sentence())
    section.sentences += size_sentences(analysis)
    anchors = anchor_sentence(analysis.runs, analysis.metric, x=analysis.x)
    section.sentences += [anchors] if anchors else []
    section.sentences += [sentence for sentence in map(form_choice_sentence, fit.fits) if sentence]
    data_sentence = data_effect_sentence(analysis.runs, analysis.metric, x=analysis.x, group_by=analysis.group_by)
    section.sentences += [data_sentence] if data_sentence else []
    if analysis.reference:
        section.sentences.append(
            "These laws use the runs with "
            + ", ".join(f"{name} = {value}" for name, value in analysis.reference.items())
            + " (the best value of each swept setting)."
        )
    lr_sentence = best_lr_sentence(analysis)
    section.sentences += [lr_sentence] if lr_sentence else []
    section.figures += _against_params_figures(analysis, _QUALITY)
    if analysis.runs[analysis.group_by].nunique() > 1:
        data = figures.metric_vs_data_data(analysis.runs, analysis.metric, x=analysis.x, data=analysis.group_by)
        section.figures.append(
            render_figure(
                f"{label(analysis.metric).capitalize()} vs training data, per model size",
                figures.draw_metric_vs_params,
                data,
            )
        )
    return section


def _joint_section(analysis: Analysis) -> Section:
    section = Section("How should size and data grow together?")
    joint = analysis.joint
    if joint is None:
        section.sentences.append(f"No joint law of size and data: {analysis.joint_note}.")
    else:
        section.sentences += joint_law_sentences(
            joint, analysis.joint_size_problem, analysis.joint_data_problem, analysis.baseline
        )
        data = figures.metric_vs_params_data(
            analysis.runs, analysis.metric, x=analysis.x, group_by=analysis.group_by, joint=joint
        )
        section.figures.append(
            render_figure("The joint law L(N, D) against every configuration", figures.draw_metric_vs_params, data)
        )
        if joint.optimal is not None and analysis.compute_optimal_quoted:
            worth = joint.optimal[
                [optimum_beats_baseline(joint, row, analysis.baseline) for _, row in joint.optimal.iterrows()]
            ]
            if len(worth):  # the budgets whose sentence quotes an N*, and no other (table and figure)
                section.tables.append(
                    (
                        "Compute-optimal allocation (joint law; 95% intervals resample configurations)",
                        table_html(
                            with_intervals(worth, _OPTIMAL_COLUMNS).rename(columns={"compute": "training FLOPs"})
                        ),
                    )
                )
                section.figures.append(
                    render_figure(
                        "IsoFLOP curves of the joint law and the compute-optimal frontier",
                        figures.draw_isoflop,
                        figures.isoflop_data(joint, worth),
                    )
                )
    section.sentences += isoflop_sentences(analysis.isoflop, analysis.isoflop_note)[0]
    if analysis.isoflop is not None:
        section.tables.append(
            ("IsoFLOP (approach 2) beside the joint law", table_html(isoflop_table(analysis.isoflop)))
        )
    return section


def _cost_section(analysis: Analysis) -> Section:
    section = Section("What does size cost?")
    section.sentences = cost_sentences(analysis.groups.costs, int(analysis.runs[analysis.x].nunique()))
    section.figures = _against_params_figures(analysis, None)
    return section


def _generalization_section(analysis: Analysis) -> Section:
    sentence = generalization_sentence(analysis.runs, x=analysis.x, group_by=analysis.group_by)
    section = Section("How does size relate to generalization?", [sentence] if sentence else [])
    section.figures = _against_params_figures(analysis, _GENERALIZATION)
    if not section.sentences and not section.figures:  # seen: a heading over nothing, linked from the top
        section.sentences.append(
            "Not measured: these runs recorded no generalization gap (validation minus training loss); runs "
            "that also record train_loss (an objective returning it beside val_loss) would measure it."
        )
    return section


def _settings_sections(analysis: Analysis) -> list[Section]:
    sections = []
    for effect in analysis.settings:
        what = "wider or deeper" if effect.is_size_axis else f"which {effect.setting}"
        section = Section(f"Settings x size: {what}? ({effect.setting} against {analysis.x})", list(effect.sentences))
        section.tables.append(
            (
                f"Best {effect.setting} per size ({label(analysis.metric)}; measured seed means, "
                "law predictions where that size was not trained)",
                table_html(effect.best_per_size),
            )
        )
        data = figures.metric_vs_params_data(
            effect.runs, analysis.metric, x=analysis.x, group_by=effect.setting, fits=list(effect.laws.values())
        )
        section.figures.append(
            render_figure(
                f"{label(analysis.metric).capitalize()} vs parameters, per {effect.setting}",
                figures.draw_metric_vs_params,
                data,
            )
        )
        sections.append(section)
    return sections


def _parallelism_sections(analysis: Analysis) -> list[Section]:
    """'How far does each size parallelize?' when batch size (analysis.batch_size) or
    training.data_parallel (analysis.speedup) was swept."""
    if not analysis.critical_batch and not analysis.speedups:
        return []
    section = Section("How far does each size parallelize?", benefit_sentences(analysis.speedups))
    if analysis.speedups:
        section.tables.append(
            (
                "Measured data-parallel speedup per size (train seconds: medians over seeds and repeats)",
                table_html(pd.DataFrame([answer.row() for answer in analysis.speedups])),
            )
        )
    if analysis.critical_batch:
        _critical_batch_part(section, analysis)
    if analysis.time_to_target:  # built from both parts above
        section.sentences.append(time_sentence(analysis.time_to_target))
        section.tables.append(
            (
                "Predicted time to each size's target training loss with W workers (analysis.time_to_target: "
                "each range from the steps' 95% interval, where fitted, and the speedups measured, at their ends)",
                table_html(pd.DataFrame([row for answer in analysis.time_to_target for row in answer.rows()])),
            )
        )
    return [section]


def _critical_batch_part(section: Section, analysis: Analysis) -> None:
    """The critical batch size per size and its law across sizes (analysis.batch_size), added to `section`."""
    law, why_not = analysis.critical_batch_law
    section.sentences += [answer.sentence() for answer in analysis.critical_batch]
    section.sentences.append(law.sentence() if law is not None else why_not + ".")
    rows = [
        {
            **answer.configuration,
            "parameters": answer.n_params,
            "target train loss": answer.target_loss,
            "S_min (steps)": answer.s_min,
            "E_min (examples)": answer.e_min,
            "B_crit = E_min/S_min": answer.b_crit,
            "B_crit 95%": (
                f"{answer.b_crit_interval[0]:.3g} to {answer.b_crit_interval[1]:.3g}"
                if answer.b_crit_interval
                else "not determined"
            ),
            "gradient noise scale": answer.noise_scale,
        }
        for answer in analysis.critical_batch
    ]
    section.tables.append(
        (
            "Critical batch size per size (McCandlish et al. 2018; missing where it could not be fitted or measured)",
            table_html(pd.DataFrame(rows)),
        )
    )


def _recommendation_section(
    analysis: Analysis, choice: Recommendation | None, note: str, budgets: Budgets | None
) -> Section:
    section = Section("Which size should I train?")
    if budgets is not None:
        given = " ".join(
            f"--{name.replace('_', '-')} {value:.{BUDGET_DIGITS}g}" for name, value in budgets.given().items()
        )
        section.sentences.append(
            f"Budget: {given} (by default, the training time of the slowest configuration trained). "
            f"`scalinglab recommend OUT {given}` gives this same answer; change the budgets there."
        )
    if choice is None:
        section.sentences.append(note)
        return section
    section.sentences += [warning[0].upper() + warning[1:] for warning in choice.warnings]
    section.sentences.append(choice.sentence())
    for cost, frontier in choice.frontiers.items():
        section.tables.append(
            (
                f"Pareto frontier: {label(choice.metric)} vs {label(cost)} (measured where trained, else predicted by the laws)",
                table_html(_readable_frontier(frontier)),
            )
        )
    for cost, frontier in choice.frontiers.items():
        point = frontier[frontier["chosen"]]
        star = (float(point[cost].iloc[0]), float(point[choice.metric].iloc[0])) if len(point) else None
        data = figures.pareto_data(
            analysis.runs, choice.metric, cost, x=analysis.x, group_by=analysis.group_by, recommended=star
        )
        if len(data.cost_values):  # a cost no run measured (the frontier is of predictions) has no points to draw
            section.figures.append(
                render_figure(f"Pareto: {label(choice.metric)} vs {label(cost)}", figures.draw_pareto, data)
            )
    return section


def _trust_section(analysis: Analysis) -> Section:
    section = Section("Can these laws be trusted?")
    section.sentences += _backtest_sentences(analysis, section)
    # Whether or not a law was fitted: the terminal counts these diagnostics and points here.
    section.sentences += [f"Fit diagnostic: {diagnostic}." for diagnostic in analysis.fit_diagnostics]
    spread = figures.seed_spread_data(analysis.runs, analysis.metric, x=analysis.x, group_by=analysis.group_by)
    if spread.most_seeds < 2:
        section.sentences.append(
            f"Every configuration was trained once, so the spread of {analysis.metric} across seeds is unknown; "
            "rerun with --set 'seeds=[0, 1, 2]' to measure it (the runs already stored are kept)."
        )
    elif spread.worst_relative_std is not None:
        section.sentences.append(
            f"Across seeds, the largest spread of {analysis.metric} is "
            f"{spread.worst_relative_std * 100:.1f}% of its mean."
        )
    else:
        section.sentences.append(
            f"Every configuration's mean {analysis.metric} is zero, so no spread across seeds "
            "can be put as a fraction of it; the figure below shows every run."
        )
    section.figures.append(render_figure("Seed spread: every run", figures.draw_seed_spread, spread))
    return section


def _backtest_sentences(analysis: Analysis, section: Section) -> list[str]:
    """How the laws fitted without each data size's largest size predicted it (its figure added
    to ``section``), or why there is none."""
    fit = analysis.groups
    if not fit.fits:
        return ["No law per data size was fitted, so there is nothing to hold out."]
    data = figures.backtest_data(analysis.runs, fit, analysis.backtest)
    sentences = [
        f"With {analysis.group_by} = {row['group']:g}, the law fitted without the largest size predicted it "
        f"({format_count(row['n_params'])} parameters) {abs(row['relative_error']) * 100:.1f}% "
        f"{'high' if row['relative_error'] > 0 else 'low'}."
        for _, row in data.held_out.iterrows()
    ]
    if data.held_out.empty:
        sentences.append("Too few sizes to hold the largest one out and still fit a law.")
    section.figures.append(
        render_figure("Backtest: residuals, and the held-out largest size", figures.draw_backtest, data)
    )
    return sentences


def best_lr_sentence(analysis: Analysis) -> str | None:
    """Which learning rate each size's laws use, where several were trained (a swept training.lr,
    or "auto"): each configuration's best (`best_lr`), which a reader could not see before."""
    if "lr" not in analysis.frame or "lr" not in analysis.runs:
        return None
    tried = sorted(analysis.frame.loc[analysis.frame["status"] == "ok", "lr"].dropna().unique())
    if len(tried) < 2:
        return None
    used = analysis.runs.groupby(analysis.x)["lr"].unique()  # one per data size may differ
    ranked_by = sweep_metric(analysis.config)  # what runs_table.mark_best_lr ranked them by
    by_size = ", ".join(f"{format_count(n)}: {' or '.join(f'{lr:g}' for lr in sorted(lrs))}" for n, lrs in used.items())
    return (
        f"Learning rates {', '.join(f'{lr:g}' for lr in tried)} were trained; each configuration's laws use its "
        f"best (by the sweep's {short_label(ranked_by)}, mean over seeds, column best_lr), by parameters: {by_size}."
    )


def _against_params_figures(analysis: Analysis, wanted: set[str] | None) -> list[Figure]:
    """The `_AGAINST_PARAMS` figures whose metric is in `wanted` (None: those in no other section)."""
    others = _QUALITY | _GENERALIZATION
    result = []
    for metric, title, log_y in _AGAINST_PARAMS:
        belongs = metric in wanted if wanted is not None else metric not in others
        if not belongs or metric not in analysis.runs:
            continue
        data = figures.metric_vs_params_data(
            analysis.runs,
            metric,
            x=analysis.x,
            group_by=analysis.group_by,
            fits=analysis.groups.fits,
            cost=analysis.groups.costs.get(metric),
            log_y=log_y,
        )
        if data.series:  # a column no run measured (all missing) has nothing to draw
            result.append(render_figure(title, figures.draw_metric_vs_params, data))
    return result


def _readable_frontier(frontier: pd.DataFrame) -> pd.DataFrame:
    table = frontier.copy()
    table["extrapolation_factor"] = [format_factor(f) if f > 1 else "inside" for f in table["extrapolation_factor"]]
    metric = next(column[: -len("_low")] for column in table if column.endswith("_low"))
    table["95% interval"] = [
        f"{low:.4g} to {high:.4g}" if np.isfinite(low) else no_interval_words(measured)
        for low, high, measured in zip(table.pop(f"{metric}_low"), table.pop(f"{metric}_high"), table["measured"])
    ]
    table["source"] = [frontier_source(row) for _, row in table.iterrows()]
    table = table.drop(columns=["measured", "clipped", "held"])
    table["chosen"] = np.where(table["chosen"], "chosen", "")
    table["within_budgets"] = np.where(table["within_budgets"], "yes", "no")
    return table.rename(columns={"extrapolation_factor": "outside trained range", "within_budgets": "within budget"})


_OPTIMAL_COLUMNS = {
    "N_opt": "parameters N*",
    "D_opt": "examples D*",
    "examples_per_param": "examples per parameter",
    "metric_opt": "predicted metric",
}


def with_intervals(table: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """`table` with each of `columns` and its `_low`/`_high` ends as one text column, "26.1k
    (6.54k-65.6k)", named as `columns` says: a third of the columns, so the table fits a screen."""
    readable = table.copy()
    for column in columns:
        ends = [readable.pop(f"{column}_{end}") for end in ("low", "high")]
        readable[column] = [
            f"{short_number(value)} ({short_number(low)}-{short_number(high)})"
            if np.isfinite(low) and np.isfinite(high)
            else short_number(value)
            for value, low, high in zip(readable[column], *ends)
        ]
    return readable.rename(columns=columns)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
