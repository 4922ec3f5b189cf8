"""`scalinglab recommend OUT --train-seconds X ...`: the size and data size to train under budgets."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from scalinglab.cli.app import app, flags_for, stdout_console
from scalinglab.metrics import BUDGETS

console = Console(stderr=True)


def _budget(name: str):
    return typer.Option(help=BUDGETS[name].help)


@app.command()
def recommend(
    out: Annotated[str, typer.Argument(help="Output folder of a sweep (holding runs.sqlite), or the .sqlite file.")],
    train_flops: Annotated[Optional[float], _budget("train_flops")] = None,
    train_seconds: Annotated[Optional[float], _budget("train_seconds")] = None,
    latency_ms: Annotated[Optional[float], _budget("latency_ms")] = None,
    memory_mb: Annotated[Optional[float], _budget("memory_mb")] = None,
    storage_mb: Annotated[Optional[float], _budget("storage_mb")] = None,
    metric: Annotated[Optional[str], typer.Option(help="Quality to optimise; default the sweep's fit.metric.")] = None,
    data_available: Annotated[
        Optional[float], typer.Option(help="Training examples available; default the largest data size trained.")
    ] = None,
    max_extrapolation: Annotated[
        Optional[float],
        typer.Option(
            help="Largest size searched, as a multiple of the largest trained; default 10, or 1 for a law with no floor."
        ),
    ] = None,
    compressed: Annotated[
        bool,
        typer.Option(
            help="Also consider the compressed models stored by `scalinglab compress` (measured, not predicted)."
        ),
    ] = True,
    pretrained: Annotated[
        str,
        typer.Option(
            help="available: also compare fine-tuning a pretrained size (\\[transfer] runs, measured) against training from scratch; none: do not."
        ),
    ] = "none",
    count_pretraining: Annotated[
        bool,
        typer.Option(help="With --pretrained available: count each pretraining run's cost in the training budgets."),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            help="Data-parallel workers to train with: --train-seconds counts the time with W workers, at the speedup this sweep measured (training.data_parallel) (the whole run's time; the report gives the time to a target loss)."
        ),
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the recommendation as JSON on stdout.")] = False,
) -> None:
    """Pick the parameter count and data size with the best predicted metric within the budgets."""
    from scalinglab import Budgets, UserError
    from scalinglab.api import recommend_for_sweep

    if train_flops is None and train_seconds is None:
        raise UserError("give a training budget: --train-flops X or --train-seconds X")
    with flags_for({"data_available": "--data-available"}):
        answer = recommend_for_sweep(
            out,
            Budgets(train_flops, train_seconds, latency_ms, memory_mb, storage_mb),
            metric=metric,
            data_available=data_available,
            max_extrapolation=max_extrapolation,
            compressed=compressed,
            pretrained=pretrained,
            count_pretraining=count_pretraining,
            workers=workers,
        )
    choice, alternative = answer.choice, answer.compressed_alternative
    if as_json:
        print(
            json.dumps(
                {
                    **choice.to_dict(),
                    "compressed": alternative,
                    **({"pretrained": answer.pretrained_alternative} if pretrained == "available" else {}),
                },
                indent=2,
                default=float,
            )
        )
        return
    _print(choice)
    if alternative is not None:
        stdout_console().print(alternative["sentence"], soft_wrap=True, markup=False)
    if pretrained == "available":
        found = answer.pretrained_alternative
        stdout_console().print(
            found["sentence"] if found else "Pretrained: no stored pretrained-start run fits these budgets.",
            soft_wrap=True,
            markup=False,
        )


def _print(choice) -> None:
    import numpy as np

    from scalinglab.analysis import format_factor
    from scalinglab.metrics import label
    from scalinglab.recommendation import frontier_source, no_interval_words

    stdout = stdout_console()
    for line in choice.lines():  # warnings first: an extrapolation is never missed
        stdout.print(line, soft_wrap=True, markup=False)
    for name, use in choice.usage.items():
        stdout.print(f"  {name.replace('_', ' ')}: {use['predicted']:.3g} of {use['limit']:.3g}")
    for cost, frontier in choice.frontiers.items():
        # Short headers, light rules, no empty column: the table fits an 80-column terminal (the title gives the units).
        table = Table(title=f"Pareto frontier: {label(choice.metric)} vs {label(cost)}", box=box.SIMPLE_HEAD)
        extrapolates = bool((frontier["extrapolation_factor"] > 1).any())
        headers = ("params", "data", cost, choice.metric, "95% CI", "source", "fits")
        for header in headers + (("extrap.",) if extrapolates else ()):
            # In a terminal too narrow for the table a number folds onto a second line, never cut.
            table.add_column(header, justify="right", no_wrap=True, overflow="fold")
        for _, row in frontier.iterrows():
            low, high = row[f"{choice.metric}_low"], row[f"{choice.metric}_high"]
            cells = [
                f"{row['n_params']:,.0f}",
                f"{row[choice.group_by]:,.0f}",
                f"{row[cost]:.3g}",
                f"{row[choice.metric]:.3g}",
                f"{low:.3g}-{high:.3g}" if np.isfinite(low) else no_interval_words(row["measured"]),
                frontier_source(row),
                "yes" if row["within_budgets"] else "no",
            ]
            if extrapolates:
                cells.append(format_factor(row["extrapolation_factor"]) if row["extrapolation_factor"] > 1 else "")
            table.add_row(*cells, style="bold green" if row["chosen"] else None)
        stdout.print(table)
