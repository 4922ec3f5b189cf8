"""`scalinglab status [OUT]`: how far a sweep has got, read from its store alone."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from scalinglab.cli.app import app


@app.command()
def status(
    out: Annotated[str, typer.Argument(help="Output folder (or .sqlite file) of the sweep.")] = "scalinglab-out",
) -> None:
    """Counts of runs by status, runs being trained now, an ETA, and every failure with its error."""
    from scalinglab.api import sweep_status

    _print(sweep_status(out))  # read-only: works in a read-only folder


def _print(report: dict) -> None:
    console = Console()
    counts = ", ".join(f"{count} {name}" for name, count in sorted(report["counts"].items())) or "nothing stored"
    other = report.get("other_stored", 0)
    others = f" ({other} more stored runs are of other settings)" if other else ""
    console.print(
        f"{report['total']} runs planned: {counts}{others}; {len(report['running'])} running now; "
        f"{report['remaining']} to go"
    )
    eta = report["eta_seconds"]
    if report["remaining"]:
        console.print(f"eta: {_duration(eta)}" if eta is not None else "eta: unknown until a run finishes")
    if report.get("plan"):
        _print_plan(console, report["plan"])
    for run_key, spec, run_status, error in report["failures"]:
        size = " ".join(f"{axis}={value}" for axis, value in spec.get("size", {}).items())
        console.print(
            f"[red]{run_status}[/] {run_key} {spec.get('family', '')} {size} seed={spec.get('seed')}: {error}",
            soft_wrap=True,
        )


def _print_plan(console: Console, plan: dict) -> None:
    budget = plan["budget_flops"]
    spent = f"{plan['spent_flops']:.3g} FLOPs spent" + (
        f" of {budget:.3g} ({plan['remaining_flops']:.3g} remaining)" if budget is not None else ""
    )
    if plan.get("budget_seconds") is not None:
        spent += (
            f", {plan['spent_seconds']:.3g} training seconds of {plan['budget_seconds']:.3g} "
            f"({plan['remaining_seconds']:.3g} remaining)"
        )
    elif budget is None:
        spent += " (no budget)"
    target = plan["target"]
    where = f"n_params={target['n_params']:.3g}, train_size={target['train_size']:.3g}"
    if plan.get("target_compute") is not None:
        where = f"optimum at {plan['target_compute']:.3g} FLOPs" + (f", {where}" if plan["fitted"] else "")
    answer = (
        f"val_loss {target['predicted']:.4g} (95% interval {target['low']:.4g} to {target['high']:.4g})"
        if plan["fitted"]
        else "not fitted yet"
    )
    console.print(f"plan: {spent}; target {where}: {answer}")
    console.print(f"plan: {'stopped' if plan['stop'] else 'going on'}: {plan['reason']}")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"
