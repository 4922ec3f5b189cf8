"""The section "How the answer converged", drawn from recomputed rounds of a planned sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scalinglab.plan import Planner, recompute_rounds
from scalinglab.report.browser_check import figure_problems
from scalinglab.report.converged import TITLE, converged_section


def replayed(target_x, fraction, *, k=3, noise=0.01, answer="first"):
    """Rounds of a planner of the law 1.5 + 30 x^-0.4 (10 sizes x 2 seeds, cost x) over
    `fraction` of the grid's cost, with target rows at `target_x`; and the grid's whole cost."""
    x = np.tile(np.geomspace(1e3, 1e6, 10), 2)
    grid = pd.DataFrame({"x": x, "cost": x}, index=[f"run{i}" for i in range(len(x))])
    multiplier = np.exp(np.random.default_rng(1).normal(0, noise, len(x))) if noise else 1.0
    truth = pd.Series((1.5 + 30 * x**-0.4) * multiplier, index=grid.index)
    target = pd.DataFrame({"x": target_x})
    planner = Planner("x", "loss", "power", target=target, cost="cost", random_state=3, n_bootstrap=20, answer=answer)
    return recompute_rounds(planner, grid, truth, k, budget=fraction * grid.cost.sum()), grid.cost.sum()


def history(fraction):
    return replayed([1e7], fraction)


def test_the_section_shows_each_round_against_compute_and_the_whole_grid_beside_it():
    rounds, full_cost = history(0.3)
    section = converged_section(rounds, "val_loss", full_cost=full_cost, full_answer=(1.62, 1.6, 1.64))
    assert section.title == TITLE
    spent = rounds.rounds["spent"].iloc[-1]
    assert f"{spent / full_cost:.1%} of the" in section.sentences[0]
    last = rounds.rounds.dropna(subset=["predicted"]).iloc[-1]
    inside = "inside" if last["low"] <= 1.62 <= last["high"] else "outside"
    assert f"{inside} the planned sweep's interval" in section.sentences[-1]
    record = {
        "title": "t",
        "complete": True,
        "natural_width": 640,
        "shown_width": 440,
        "axes": section.figures[0].axes,
        "axes_error": None,
    }
    assert figure_problems([record]) == []
    assert section.tables[0][1].count("<tr") == len(rounds.chosen) + 1  # header + one per run


def test_where_the_plan_trained_its_target_the_measurement_stands_beside_the_law():
    """Seen: status said "measured there 0.405" beside the law's 1.146, the report only the law."""
    rounds, _ = history(0.3)
    asked = []

    def measured(at):
        asked.append(float(at["x"]))
        return "measured there 1.61 (mean of 2 runs)"

    said = converged_section(rounds, "val_loss", measured=measured).sentences[1]
    assert asked == [1e7]
    assert said.startswith("After the last round its prediction at the target is ")
    assert said.endswith("; measured there 1.61 (mean of 2 runs).")
    untrained = converged_section(rounds, "val_loss", measured=lambda at: "").sentences[1]
    assert "measured" not in untrained and untrained.endswith(").")


def test_no_section_before_the_law_could_be_fitted():
    rounds, _ = history(0.0001)
    assert rounds.rounds.empty or rounds.rounds["predicted"].isna().all()
    assert converged_section(rounds, "val_loss") is None


def test_a_compute_target_names_the_optimum_each_round():
    """With answer "lowest" the rounds carry the inputs of the lowest prediction among the target
    rows, and the section names them (a decreasing law: the largest target x)."""
    rounds, _ = replayed([1e6, 1e7, 3e6], 0.3, k=4, noise=0.0, answer="lowest")
    fitted = rounds.rounds.dropna(subset=["predicted"])
    assert not fitted.empty and (fitted["x"] == 1e7).all()
    section = converged_section(rounds, "val_loss", optimum=True)
    assert "compute-optimal point of the target budget is x 10M" in section.sentences[1]
    assert "<th>x</th>" in section.tables[1][1]


def test_an_optimum_at_the_end_of_the_line_searched_is_called_a_bound():
    """The law keeps falling along the target rows (ordered along the line): the lowest prediction
    is the last row, which bounds the optimum; it is not stated as the compute-optimal point."""
    rounds, _ = replayed([1e6, 3e6, 1e7], 0.3, k=4, noise=0.0, answer="lowest")
    fitted = rounds.rounds.dropna(subset=["predicted"])
    assert fitted["at_line_end"].all()
    said = converged_section(rounds, "val_loss", optimum=True).sentences[1]
    assert "lies at its end (x 10M" in said and "a bound on it, not the optimum" in said
    assert "compute-optimal point of the target budget is" not in said


def test_a_target_beyond_the_laws_reach_gets_no_interval_in_the_sentence_table_or_figure():
    rounds, _ = replayed([1e15], 0.5, k=4)
    fitted = rounds.rounds.dropna(subset=["predicted"])
    assert not fitted.empty and not fitted["within_reach"].any()
    last_low = fitted["low"].iloc[-1]
    section = converged_section(rounds, "val_loss", full_answer=(1.6, 1.5, 1.7))
    assert "no interval: the law's error there is not measured" in section.sentences[1]
    assert "the planned sweep's interval" not in section.sentences[-1]  # no interval to be inside of
    assert f"{last_low:.4g}" not in section.tables[1][1]
    drawn = section.figures[0].axes
    assert drawn  # the points are still drawn, without error bars
