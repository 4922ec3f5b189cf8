"""The report section "How the answer converged": a planned sweep's target prediction and interval
against the compute spent, round by round, from ``scalinglab.plan.recompute_rounds``.

Not wired into ``write_report`` yet: the caller needs the planned sweep's candidate grid (its
``[plan]`` section and the grid's estimated costs) to recompute the rounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.analysis import format_count
from scalinglab.metrics import label
from scalinglab.plan.history import History
from scalinglab.plan.planner import REASON_COLUMN, SCORE_COLUMN
from scalinglab.report.drawn_axes import mark_data
from scalinglab.report.parts import Section, render_figure, table_html

TITLE = "How the answer converged"


@dataclass
class Convergence:
    """What the figure draws: per fitted round, compute spent and the prediction with its interval;
    the full grid's answer (predicted, low, high) when the whole grid was also trained."""

    spent: np.ndarray
    predicted: np.ndarray
    low: np.ndarray
    high: np.ndarray
    metric: str
    full: tuple[float, float, float] | None = None


def draw_convergence(data: Convergence, ax) -> None:
    """Prediction at the target against compute spent, 95 % interval as error bars."""
    mark_data(
        ax.errorbar(
            data.spent,
            data.predicted,
            yerr=[data.predicted - data.low, data.high - data.predicted],
            fmt="o-",
            color="C0",
            capsize=2,
            label="planned sweep, after each round",
        )
    )
    if data.full is not None:
        predicted, low, high = data.full
        ax.axhline(predicted, color="k", linestyle="--", label="whole grid")
        ax.axhspan(low, high, color="k", alpha=0.08, linewidth=0)
    ax.set_xscale("log")
    ax.set_xlabel("compute spent (training FLOPs)")
    ax.set_ylabel(f"predicted {label(data.metric)} at the target")
    ax.legend(loc="best", fontsize=8)


def converged_section(
    history: History,
    metric: str,
    *,
    full_cost: float | None = None,
    full_answer: tuple[float, float, float] | None = None,
) -> Section | None:
    """The section, or None when no round could be fitted (nothing to show yet).

    full_cost: the compute the whole grid would cost; full_answer: (predicted, low, high) of the
    law fitted to the whole grid, when it was trained.
    """
    fitted = history.rounds.dropna(subset=["predicted"])
    if fitted.empty:
        return None
    last = fitted.iloc[-1]
    section = Section(TITLE)
    spent = float(history.rounds["spent"].iloc[-1])
    share = (
        f" ({spent / full_cost:.1%} of the {format_count(full_cost)} FLOPs the whole grid would cost)"
        if full_cost
        else ""
    )
    state = "and stopped" if history.complete else "so far"
    section.sentences.append(
        f"The planned sweep trained {int(history.rounds['n_runs'].iloc[-1])} runs in {len(history.rounds)} rounds "
        f"{state}, spending {format_count(spent)} FLOPs{share}."
    )
    section.sentences.append(
        f"Its prediction at the target is {last['predicted']:.4g} ({last['level']:.0%} interval "
        f"{last['low']:.4g} to {last['high']:.4g})."
    )
    if full_answer is not None:
        predicted, low, high = full_answer
        inside = "inside" if last["low"] <= predicted <= last["high"] else "outside"
        section.sentences.append(
            f"The whole grid gives {predicted:.4g} ({low:.4g} to {high:.4g}), {inside} the planned sweep's interval."
        )
    data = Convergence(
        fitted["spent"].to_numpy(float),
        fitted["predicted"].to_numpy(float),
        fitted["low"].to_numpy(float),
        fitted["high"].to_numpy(float),
        metric,
        full_answer,
    )
    section.figures.append(render_figure("The target's prediction against compute spent", draw_convergence, data))
    chosen = history.chosen.reset_index(names="run").rename(columns={SCORE_COLUMN: "score", REASON_COLUMN: "why"})
    columns = ["round", "run", "cost", "score", "why"]
    section.tables.append(
        (
            "Runs chosen, round by round (score: drop of the target's log-variance per unit cost, "
            "given the earlier picks; 0 in the starting design)",
            table_html(pd.DataFrame(chosen[columns])),
        )
    )
    return section
