"""`scalinglab plan next`: the runs worth training next, from a CSV of finished runs."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from scalinglab.cli.app import app, check_form_option, flags_for
from scalinglab.errors import UserError

ACTIONS = ("next",)
# The parameters of the planner that messages name, as this command's flags.
PLAN_FLAGS = {"random_state": "--seed", "strategy": "--strategy", "k": "--k", "x": "--x"}


@app.command("plan")
def plan_command(
    action: str = typer.Argument(..., help="next: print the batch of candidates to run next."),
    runs: Path = typer.Argument(..., help="CSV of finished runs (x and y columns; seeds as separate rows)."),
    candidates: Path = typer.Option(..., help="CSV of runs that could be launched (x and cost columns)."),
    x: str = typer.Option(..., help="Input column(s), comma-separated, e.g. N,D."),
    y: str = typer.Option(..., help="Measured column, e.g. loss."),
    target: str = typer.Option(
        ..., help="Where the answer is wanted: 'N=1e10,D=2e11' (rows separated by ';') or a CSV of target rows."
    ),
    cost: str = typer.Option(..., help="Column of each run's cost, e.g. flops."),
    k: int = typer.Option(4, help="Runs in the batch."),
    form: str = typer.Option("chinchilla", help="Law to fit (any form of `scalinglab fit`)."),
    strategy: str = typer.Option("planner", help="planner, v_optimal or d_optimal."),
    seed: int = typer.Option(0, help="Seed of the starting design and the bootstrap."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
) -> None:
    """Print the K candidate runs that most shrink the target's prediction interval per unit cost."""
    from scalinglab.plan.tables import next_batch

    if action not in ACTIONS:
        raise UserError(f"plan {action!r}: expected one of {', '.join(ACTIONS)}")
    check_form_option(form)
    names = [name.strip() for name in x.split(",") if name.strip()]
    with flags_for(PLAN_FLAGS):
        result = next_batch(
            runs, candidates, x=names, y=y, target=target, k=k, form=form, cost=cost, seed=seed, strategy=strategy
        )
    if json_output:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        _print_next_batch(result)
    # On stderr, so that --json's stdout stays one JSON object (which carries them too).
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)


def _print_next_batch(result) -> None:
    print(f"spent so far: {result.spent:.4g}")
    batch = result.batch.rename_axis("line")  # the candidates file's line numbers
    print(
        f"next batch ({len(batch)} run{'s' if len(batch) != 1 else ''}, best first):"
        if len(batch)
        else "next batch: none (every candidate was run)"
    )
    print(batch.to_string())
    if result.prediction is not None:
        print(f"target now, by the {result.form} law of the runs so far (95% prediction interval):")
        print(result.prediction.rename_axis("target").to_string(na_rep="-"))  # "-": no interval quoted (warning)
