"""The typer application every command module registers on, and the console it logs to."""

import logging
import re
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.logging import RichHandler

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Sweep model sizes x data sizes, measure every run, fit scaling laws, choose a size.",
)

# stderr, so stdout carries only what a command outputs; progress bars share it with the log.
console = Console(stderr=True)

# Without a terminal (`scalinglab recommend OUT > answer.txt`) rich lays tables out in 80 columns
# and cuts the cells that do not fit ("10,364,3…"); a file has no width to keep to.
PIPED_WIDTH = 200


def stdout_console() -> Console:
    """The console for a command's output on stdout: the terminal's width, or `PIPED_WIDTH` where
    stdout is no terminal."""
    console = Console()
    return console if console.is_terminal else Console(width=PIPED_WIDTH)


_handler = RichHandler(console=console, show_path=False, show_time=False, rich_tracebacks=False)


@app.callback()
def _root() -> None:
    """Sweep model sizes x data sizes, measure every run, fit scaling laws, choose a size."""
    show_logs()


def show_logs(level: int = logging.INFO) -> None:
    """Render the `scalinglab` logger's records at `level` and above on the console (through rich)."""
    logger = logging.getLogger("scalinglab")
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
    logger.setLevel(level)


def check_form_option(form: str) -> None:
    """An unknown --form, refused under that flag with the nearest names (before any file is read);
    other messages about a form ("form 'power' takes 1 x column(s)") are about the data, not the flag."""
    from scalinglab.fit.forms import AUTO, get_form

    if form != AUTO:
        with flags_for({"form": "--form"}):
            get_form(form)


@contextmanager
def flags_for(parameters: dict[str, str]):
    """Re-raise a UserError whose message starts with an API parameter's name (``ci_level must
    ...``) under the command-line flag the user typed (``--level must ...``)."""
    from scalinglab.errors import UserError

    try:
        yield
    except UserError as error:
        message = str(error)
        # A whole word: "compute-optimal allocation needs ..." is about no parameter "compute".
        match = re.match(r"(\w+)\b(?!-)", message)
        if match and match[1] in parameters:
            raise UserError(parameters[match[1]] + message[match.end() :]) from None
        raise
