"""`scalinglab compress OUT`: compress the sweep's trained models and measure each one."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.console import Console

from scalinglab.cli.app import app
from scalinglab.compress.registry import METHODS

console = Console(stderr=True)


@app.command()
def compress(
    out: Annotated[str, typer.Argument(help="Output folder of a sweep whose runs saved checkpoints.")],
    methods: Annotated[
        Optional[str], typer.Option(help=f"Comma-separated: {', '.join(METHODS)} (default: all).")
    ] = None,
    set_: Annotated[
        list[str], typer.Option("--set", help="A method's swept setting: --set prune.sparsity=[0.5,0.9]")
    ] = [],
    where: Annotated[Optional[str], typer.Option(help="Only runs where this holds, e.g. 'n_params > 1000'.")] = None,
    retry_failed: Annotated[bool, typer.Option(help="Make again the compressions that failed.")] = False,
    threads: Annotated[
        int, typer.Option(min=1, help="Torch threads the models run on (latency is measured with them).")
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was done as JSON on stdout.")] = False,
) -> None:
    """Make every planned compression not stored yet (rerun = resume), measure it, store it as a
    row, and write the report again with its section "Compress or train small?"."""
    from scalinglab.api import rewrite_report
    from scalinglab.compress import compress_store
    from scalinglab.errors import UserError

    chosen = [name.strip() for name in methods.split(",") if name.strip()] if methods is not None else None
    try:
        outcome = compress_store(
            out, methods=chosen, overrides=set_, where=where, retry_failed=retry_failed, torch_threads=threads
        )
    except UserError as error:  # methods given here are --methods, not the sweep file's compress.methods
        message = str(error)
        if chosen is not None and message.startswith("compress.methods:"):
            raise UserError("--methods:" + message[len("compress.methods:") :]) from None
        raise
    written = rewrite_report(out)
    if as_json:
        print(
            json.dumps(
                {**outcome.to_dict(), "verdict": written.compress_verdict, "report": str(written.path)}, indent=2
            )
        )
        return
    console.print(outcome.summary())
    if outcome.without_checkpoint:
        console.print(f"{outcome.without_checkpoint} ok runs have no checkpoint and were left out")
    if written.compress_verdict:
        console.print(written.compress_verdict, markup=False, highlight=False)
    console.print(f"wrote {written.path}")
