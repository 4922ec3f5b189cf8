"""`scalinglab recommend OUT --train-seconds X ...`: the size to train under budgets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from scalinglab.cli.app import app

console = Console(stderr=True)


def _budget(help_text: str):
    return typer.Option(help=help_text)


@app.command()
def recommend(
    out: Annotated[Path, typer.Argument(help="Output folder of a sweep (holding runs.sqlite), or the .sqlite file.")],
    train_flops: Annotated[Optional[float], _budget("Training compute budget, FLOPs.")] = None,
    train_seconds: Annotated[Optional[float], _budget("Training time budget, seconds (as measured here).")] = None,
    latency_ms: Annotated[Optional[float], _budget("Largest median latency at batch 1, milliseconds.")] = None,
    memory_mb: Annotated[Optional[float], _budget("Largest peak memory, MB (needs peak_memory_bytes measured).")] = None,
    storage_mb: Annotated[Optional[float], _budget("Largest fp32 checkpoint, MB.")] = None,
    metric: Annotated[Optional[str], typer.Option(help="Quality to optimise; default the sweep's fit.metric.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the recommendation as JSON on stdout.")] = False,
) -> None:
    """Pick the parameter count (and data size) with the best predicted metric within the budgets."""
    from scalinglab.analysis import fit_metric_vs_params
    from scalinglab.cli.report import load_stored_runs
    from scalinglab.errors import UserError
    from scalinglab.recommend import BUDGETED_COSTS, Budgets
    from scalinglab.recommend import recommend as choose

    if train_flops is None and train_seconds is None:
        raise UserError("give a training budget: --train-flops X or --train-seconds X")
    budgets = Budgets(train_flops, train_seconds, latency_ms, memory_mb, storage_mb)
    for name, value in budgets.given().items():
        if not value > 0:
            raise UserError(f"--{name.replace('_', '-')} {value:g}: a budget must be positive")
    frame, config = load_stored_runs(out)
    for name in budgets.given():
        column = BUDGETED_COSTS[name][0]
        if column not in frame:
            raise UserError(f"--{name.replace('_', '-')}: no law of {column} can be fitted: these runs did not measure it")
    fit_settings = (config or {}).get("fit", {})
    metric = metric or fit_settings.get("metric", "val_loss")
    quality = ("val_loss", "val_accuracy", "val_f1_macro", "val_bits_per_byte", "train_loss", "train_bits_per_byte")
    if metric not in quality or metric not in frame:
        known = ", ".join(c for c in quality if c in frame)
        what = "not a quality metric" if metric in frame else "not a recorded column"
        raise UserError(f"--metric {metric}: {what} (choose one of {known})")
    outcome = fit_metric_vs_params(frame, metric=metric, group_by=fit_settings.get("group_by", "train_size"))
    choice = choose(outcome, budgets)
    if as_json:
        print(json.dumps(choice.to_dict(), indent=2, default=float))
        return
    _print(choice, outcome)


def _print(choice, outcome) -> None:
    from scalinglab.analysis import format_factor
    from scalinglab.metrics import label

    stdout = Console()
    stdout.print(choice.sentence())
    for name, use in choice.usage.items():
        stdout.print(f"  {name.replace('_', ' ')}: {use['predicted']:.3g} of {use['limit']:.3g}")
    for warning in [*choice.warnings, *outcome.warnings]:
        stdout.print(f"[yellow]warning:[/] {warning}")
    for cost, frontier in choice.frontiers.items():
        table = Table(title=f"Pareto frontier: {label(choice.metric)} vs {label(cost)}")
        for column in ("n_params", choice.group_by, cost, choice.metric, "95% CI", "within budget", "extrapolated"):
            table.add_column(label(column), justify="right")
        for _, row in frontier.iterrows():
            table.add_row(
                f"{row['n_params']:.3g}", f"{row[choice.group_by]:g}", f"{row[cost]:.3g}", f"{row[choice.metric]:.4g}",
                f"{row[f'{choice.metric}_low']:.4g}-{row[f'{choice.metric}_high']:.4g}",
                "yes" if row["within_budgets"] else "no",
                format_factor(row["extrapolation_factor"]) if row["extrapolation_factor"] > 1 else "",
                style="bold green" if row["chosen"] else None,
            )
        stdout.print(table)
