"""The report section "How the answer converged": a planned sweep's target prediction and interval
against the compute spent, round by round, from ``scalinglab.plan.recompute_rounds``.

``planned_sweep_section`` is what ``write_report`` calls: for a sweep whose stored configuration
has ``[plan]`` it rebuilds the candidate grid from that configuration and recomputes the rounds
(``scalinglab.sweeper.planned.sweep_history``); for any other sweep it gives None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.analysis import format_count
from scalinglab.metrics import label, short_label
from scalinglab.plan.history import ANSWER_FLAGS, History
from scalinglab.plan.planner import NO_INTERVAL, REASON_COLUMN, SCORE_COLUMN
from scalinglab.report.drawn_axes import mark_data
from scalinglab.report.parts import Section, render_figure, table_html

TITLE = "How the answer converged"
ROUND_COLUMNS = ("round", "n_runs", "spent", "predicted", "low", "high", "level", *ANSWER_FLAGS)


@dataclass
class Convergence:
    """What the figure draws: per fitted round, compute spent and the prediction with its interval;
    the full grid's answer (predicted, low, high; low and high NaN beyond the law's reach) when
    the whole grid was also trained."""

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
        if np.isfinite(low):  # NaN: beyond the law's reach, no interval
            # The whole grid's interval is an answer the figure shows, as the rounds' are: drawn
            # in data units over the rounds' spending, so the axes are set to show it.
            spent = [float(np.min(data.spent)), float(np.max(data.spent))]
            mark_data(ax.fill_between(spent, low, high, color="k", alpha=0.08, linewidth=0))
    ax.set_xscale("log")
    ax.set_xlabel("compute spent (training FLOPs)")
    ax.set_ylabel(f"predicted {label(data.metric)} at the target")
    ax.legend(loc="best", fontsize=8)


def planned_sweep_section(analysis) -> Section | None:
    """The section for the report of ``analysis`` (an ``Analysis``), or None when its sweep is not
    planned, its stored configuration no longer validates, or no round could be fitted yet."""
    config = analysis.config or {}
    if not config.get("plan"):
        return None
    from pydantic import ValidationError

    from scalinglab.config import SweepConfig
    from scalinglab.errors import UserError
    from scalinglab.sweeper.planned import measured_at, measured_words, sweep_history

    try:
        found = sweep_history(SweepConfig.model_validate(config), analysis.frame)
    except (ValidationError, UserError):  # written by an older scalinglab, or its data now missing
        return None
    full = found.full
    return converged_section(
        found.history,
        "val_loss",
        full_cost=found.grid_flops,
        full_answer=None if full is None else _quoted_answer(full),
        full_size=None if full is None or not found.optimum else (float(full["n_params"]), float(full["train_size"])),
        batch=found.batch,
        optimum=found.optimum,
        measured=lambda at: measured_words(measured_at(found.told, at["n_params"], at["train_size"])),
    )


def converged_section(
    history: History,
    metric: str,
    *,
    full_cost: float | None = None,
    full_answer: tuple[float, float, float] | None = None,
    full_size: tuple[float, float] | None = None,
    batch: int | None = None,
    optimum: bool = False,
    measured=None,
) -> Section | None:
    """The section, or None when no round could be fitted (nothing to show yet).

    full_cost: the compute the whole grid would cost; full_answer: (predicted, low, high) of the
    law fitted to the whole grid, when it was trained; full_size: its optimum's (n_params,
    train_size) for a compute target. batch: the runs per round. optimum: the answer is the
    compute-optimal point of an iso-FLOP line (history rounds carry its n_params, train_size).
    measured: the last answer's inputs (a Series) -> the words for what the plan measured there
    ("" where it trained nothing there), said beside that answer.
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
    per_round = f" of up to {batch} runs" if batch else ""  # the last round may buy fewer (the budget left)
    section.sentences.append(
        f"The planned sweep trained {int(history.rounds['n_runs'].iloc[-1])} runs in {len(history.rounds)} rounds"
        f"{per_round} {state}, spending {format_count(spent)} estimated training FLOPs{share}."
    )
    inputs = [name for name in history.rounds if name not in ROUND_COLUMNS]
    said = _last_answer(last, inputs, metric, optimum)
    there = measured(last[inputs]) if measured is not None and inputs else ""
    if there:  # the plan trained its answer: the law's word and the measurement side by side
        said = f"{said[:-1]}; {there}."
    section.sentences.append(said)
    if full_answer is not None:
        predicted, low, high = full_answer
        size = (
            f" at {format_count(full_size[0])} parameters and {format_count(full_size[1])} examples"
            if full_size
            else ""
        )
        own = f"{low:.4g} to {high:.4g}" if np.isfinite(low) else NO_INTERVAL
        compared = (
            f", {'inside' if last['low'] <= predicted <= last['high'] else 'outside'} the planned sweep's interval"
            if last["within_reach"]
            else ""
        )
        section.sentences.append(f"The whole grid gives {predicted:.4g} ({own}){size}{compared}.")
    # A round whose target lay beyond the law's reach has no interval to draw or tabulate.
    quoted = fitted["within_reach"].astype(bool).to_numpy()
    data = Convergence(
        fitted["spent"].to_numpy(float),
        fitted["predicted"].to_numpy(float),
        np.where(quoted, fitted["low"], fitted["predicted"]).astype(float),
        np.where(quoted, fitted["high"], fitted["predicted"]).astype(float),
        metric,
        full_answer,
    )
    section.figures.append(render_figure("The target's prediction against compute spent", draw_convergence, data))
    chosen = history.chosen.reset_index(names="run").rename(columns={SCORE_COLUMN: "score", REASON_COLUMN: "why"})
    columns = ["round", "run", *[name for name in ("n_params", "train_size") if name in chosen], "cost", "score", "why"]
    section.tables.append(
        (
            "Runs chosen, round by round (cost: estimated training FLOPs; score: drop of the target's "
            "log-variance per cost^p, given the earlier picks, with p the cost power of the round's plan: 1, 0.5, or "
            "0 where the budget is best spent by gain alone, so scores compare within a round, not across; 0 in the "
            "starting design)",
            table_html(pd.DataFrame(chosen[columns])),
        )
    )
    # A round not yet fitted shows dashes (table_html); the inputs of the answer only where they
    # move (the optimum of a compute target), not a point target's repeated each round.
    rounds = history.rounds.drop(columns=["level", *ANSWER_FLAGS, *([] if optimum else inputs)])
    beyond = history.rounds["within_reach"].eq(False)
    rounds.loc[beyond, ["low", "high"]] = np.nan
    caption = (
        "The answer after each round (95 % interval; none where the target lay beyond the law's reach; a dash "
        "throughout for a round before enough runs to fit the law)"
    )
    section.tables.append((caption, table_html(rounds)))
    return section


def _quoted_answer(row: pd.Series) -> tuple[float, float, float]:
    """(predicted, low, high) of an answer row; low and high NaN where it is beyond the law's reach."""
    if not row["within_reach"]:
        return float(row["predicted"]), np.nan, np.nan
    return float(row["predicted"]), float(row["low"]), float(row["high"])


def _last_answer(last: pd.Series, inputs: list[str], metric: str, optimum: bool) -> str:
    """The sentence giving the last round's answer: a point target's prediction, or the compute
    target's optimum (a bound where the lowest prediction lies at the end of the line searched)."""
    interval = (
        f"{last['level']:.0%} interval {last['low']:.4g} to {last['high']:.4g}" if last["within_reach"] else NO_INTERVAL
    )
    where = ", ".join(f"{short_label(name)} {format_count(last[name])}" for name in inputs)
    if not optimum:
        return f"After the last round its prediction at the target is {last['predicted']:.4g} ({interval})."
    if last["at_line_end"]:
        return (
            f"After the last round the lowest prediction on the target budget's line lies at its end ({where}, "
            f"{short_label(metric)} {last['predicted']:.4g}, {interval}): the law puts the compute-optimal point "
            "at or beyond the sizes searched, so this is a bound on it, not the optimum; runs nearer that end "
            "of the line would place it."
        )
    return (
        f"After the last round the compute-optimal point of the target budget is {where}, with "
        f"{short_label(metric)} {last['predicted']:.4g} ({interval})."
    )
