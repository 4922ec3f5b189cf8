"""`scalinglab status [OUT]`: how far a sweep has got, read from its store alone."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from scalinglab.cli.app import app, stdout_console


@app.command()
def status(
    out: Annotated[str, typer.Argument(help="Output folder (or .sqlite file) of the sweep.")] = "scalinglab-out",
) -> None:
    """Counts of runs by status, runs being trained now, an ETA, and every failure with its error."""
    from scalinglab.api import sweep_status

    _print(sweep_status(out))  # read-only: works in a read-only folder


def _print(report: dict) -> None:
    console = stdout_console()
    counts = ", ".join(f"{count} {name}" for name, count in sorted(report["counts"].items())) or "nothing stored"
    other = report.get("other_stored", 0)
    others = f" ({other} more stored runs are of other settings)" if other else ""
    plan = report.get("plan")
    to_go = f"{report['remaining']} to go"
    if report["not_chosen"]:
        to_go += f" ({report['not_chosen']} runs of the grid the stopped plan did not choose; run without \\[plan] to train them)"
    console.print(
        f"{report['total']} runs {'in the grid' if plan else 'planned'}: {counts}{others}; "
        f"{len(report['running'])} running now; {to_go}"
    )
    eta = report["eta_seconds"]
    if report["remaining"] and not report["running"]:
        console.print("nothing is running: run the sweep's scalinglab run command again to train the rest")
    elif report["remaining"] or report["running"]:
        console.print(f"eta: {_duration(eta)}" if eta is not None else "eta: unknown until a run finishes")
    if report.get("plan"):
        _print_plan(console, report["plan"])
    for run_key, spec, run_status, error in report["failures"]:
        console.print(f"[red]{run_status}[/] {run_key} {_label(spec)}: {error}", soft_wrap=True, highlight=False)


def _label(spec: dict) -> str:
    """The run's own label (RunSpec.label: size, data size, seed), or its size and seed where a
    spec stored by an older scalinglab no longer validates."""
    from pydantic import ValidationError

    from scalinglab.run_spec import RunSpec

    try:
        return RunSpec.model_validate(spec).label()
    except ValidationError:
        size = " ".join(f"{axis}={value}" for axis, value in spec.get("size", {}).items())
        return f"{spec.get('family', '')} {size} seed={spec.get('seed')}"


def _print_plan(console: Console, plan: dict) -> None:
    """A planned sweep's lines (`plan_status`): spent and budget, the target's answer, the stop rule."""
    from scalinglab.analysis import format_count
    from scalinglab.sweeper.planned import measured_words

    budget = plan["budget_flops"]
    spent = f"{plan['spent_flops']:.3g} FLOPs spent" + (
        f" of {budget:.3g} ({plan['remaining_flops']:.3g} remaining)" if budget is not None else ""
    )
    if budget is not None and plan["spent_flops"] > budget:
        # The stored runs count whoever trained them: a grid trained without [plan] overspends it.
        spent = (
            f"the stored runs of the grid cost {plan['spent_flops']:.3g} FLOPs, more than the plan's budget of "
            f"{budget:.3g} (runs trained without \\[plan] count too; the report's 'How the answer converged' "
            "gives what the plan's own rounds spent)"
        )
    if plan.get("budget_seconds") is not None:
        spent += (
            f", {plan['spent_seconds']:.3g} training seconds of {plan['budget_seconds']:.3g} "
            f"({plan['remaining_seconds']:.3g} remaining)"
        )
    elif budget is None:
        spent += " (no budget)"
    target = plan["target"]
    where = f"n_params={format_count(target['n_params'])}, train_size={format_count(target['train_size'])}"
    if plan.get("target_compute") is not None:
        where = f"optimum at {plan['target_compute']:.3g} FLOPs" + (f", {where}" if plan["fitted"] else "")
        if plan["fitted"] and target["at_line_end"]:
            where += " (the lowest prediction lies at the end of the iso-FLOP line searched: a bound, not the optimum)"
    answer = f"val_loss {target['predicted']:.4g} ({_target_interval(target)})" if plan["fitted"] else "not fitted yet"
    if plan["fitted"] and "measured" in target:
        answer += f"; {measured_words(target)}"
    console.print(f"plan: {spent}; target {where}: {answer}")
    console.print(f"plan: {'stopped' if plan['stop'] else 'going on'}: {plan['reason']}")


def _target_interval(target: dict) -> str:
    """A fitted plan's 95% interval at its target, or why none is quoted."""
    from scalinglab.plan.planner import NO_INTERVAL

    if not target.get("within_reach", True):
        return NO_INTERVAL
    return f"95% interval {target['low']:.4g} to {target['high']:.4g}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"
