"""The `scalinglab` command line: a thin layer over the Python API.

Each command lives in its own module of this package and registers itself on the shared `app`;
every module here but `app` is imported, so adding a command is adding a file.
"""

import importlib
import pkgutil
import sys

import typer

from scalinglab.cli.app import app
from scalinglab.errors import UserError


def _register_commands() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name != "app":
            importlib.import_module(f"{__name__}.{module.name}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: bad input becomes one line on stderr and exit 2."""
    _register_commands()
    try:
        code = app(args=argv, standalone_mode=False, prog_name="scalinglab")
    except UserError as error:
        _fail(str(error))
    except typer.Abort:
        _fail("aborted", code=1)
    except typer.TyperException as error:  # usage errors: unknown option, missing value
        if type(error).__name__ == "NoArgsIsHelpError":  # typer's private class; it tests the name too
            _help_instead(error.format_message(), code=error.exit_code)
        _fail(error.format_message(), code=error.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _help_instead(help_text: str, code: int) -> None:
    """No command given: the help is the whole answer, with no error line. Typer's rich help has
    printed itself already and left the message empty; plain click's help is the message."""
    if help_text:
        print(help_text, file=sys.stderr)
    sys.exit(code)


def _fail(message: str, code: int = 2) -> None:
    one_line = " ".join(message.split())
    print(f"scalinglab: error: {one_line}", file=sys.stderr)
    sys.exit(code)


__all__ = ["app", "main"]
