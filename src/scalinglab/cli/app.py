"""The typer application every command module registers on."""

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Sweep model sizes x data sizes, measure every run, fit scaling laws, choose a size.",
)


@app.callback()
def _root() -> None:
    """Sweep model sizes x data sizes, measure every run, fit scaling laws, choose a size."""
