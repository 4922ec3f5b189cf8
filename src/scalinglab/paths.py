"""Checks of the paths a command will write, made before any work starts, so that a typo in an
output path costs one line of error instead of a finished computation and a traceback.

Every message starts with the option (or field) that named the path, e.g. `--out fig.txt: ...`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from scalinglab.errors import UserError

# Figure formats matplotlib writes without extra packages (what `fit --out` accepts).
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def check_output_file(path: Path, *, option: str, suffixes: Iterable[str] | None = None) -> Path:
    """Return `path` when a file can be written there; raise UserError naming `option` otherwise.

    Checked: the extension is one of `suffixes` (any when None), `path` is not a folder, its
    folder exists and is writable, and an existing file there is writable.
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{option} {path}: is a folder; give a file name")
    allowed = tuple(suffixes) if suffixes is not None else None
    if allowed is not None and path.suffix.lower() not in allowed:
        got = f"'{path.suffix}'" if path.suffix else "none"
        raise UserError(f"{option} {path}: unsupported extension {got} (choose one of {', '.join(allowed)})")
    folder = path.parent
    if not folder.exists():
        raise UserError(f"{option} {path}: folder {folder} does not exist")
    if not folder.is_dir():
        raise UserError(f"{option} {path}: {folder} is a file, not a folder")
    if not _writable(folder) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserError(f"{option} {path}: not writable; write somewhere else")
    return path


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)
