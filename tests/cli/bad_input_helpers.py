"""What "bad input handled" means, checked the same way by the tests and by benchmarks/bad_input.py.

A case is handled when the real CLI entry point (`scalinglab.cli.main`, run in this process so a
hundred cases take seconds, not minutes of interpreter start-ups) exits with status 2, prints
exactly one line on stderr that names the source of the bad value, prints no traceback, and
leaves every file of the store's folder byte for byte as it was.
"""

from __future__ import annotations

import contextlib
import io
import traceback
from dataclasses import dataclass
from pathlib import Path

from cli_helpers import TINY_SWEEP

# A valid one-run sweep, as TOML literals per table ("" is the top level); cases change single keys.
BASE_SWEEP: dict[str, dict[str, str]] = {
    "": {"name": '"bad"', "seeds": "[0]"},
    "model": {"family": '"mlp"', "width": "[4]", "depth": "1"},
    "data": {"source": '"digits"', "train_size": "[100]"},
    "training": {"epochs": "1"},
    "measure": {"latency_repeats": "2"},
}


@dataclass(frozen=True)
class Outcome:
    code: int | str  # the exit status, or "traceback" when an exception escaped main()
    stdout: str
    stderr: str


def run_in_process(*args: str, cwd: Path | None = None) -> Outcome:
    """`scalinglab ARGS` through the console script's own entry point, output captured."""
    from scalinglab.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), contextlib.chdir(cwd or Path.cwd()):
        try:
            main(list(args))
            code: int | str = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
        except BaseException:  # noqa: BLE001 - an escaped exception is exactly what is being looked for
            traceback.print_exc()
            code = "traceback"
    return Outcome(code, out.getvalue(), err.getvalue())


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file directly in `folder` with its bytes."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def problems(outcome: Outcome, *, expected: str, before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """What is wrong with how a bad input was handled; empty when it was handled as promised."""
    lines = outcome.stderr.strip().splitlines()
    found = []
    if outcome.code != 2:
        found.append(f"exit status {outcome.code}, not 2")
    if "Traceback" in outcome.stderr:
        found.append("a traceback")
    if len(lines) != 1:
        found.append(f"{len(lines)} lines on stderr, not 1")
    if expected not in outcome.stderr:
        found.append(f"message lacks {expected!r}")
    if before != after:
        changed = sorted(set(before) ^ set(after) | {name for name in before if before[name] != after.get(name)})
        found.append(f"files changed: {', '.join(changed)}")
    return found


def build_tiny_store(folder: Path) -> Path:
    """Train TINY_SWEEP (4 widths x 2 data sizes, 1 epoch) into `folder`/out and return that folder.

    Through the Python API, not `scalinglab run`: the fit and the report the command adds would
    triple the time and are not what these tests look at.
    """
    from scalinglab.config import load_config
    from scalinglab.store import open_store
    from scalinglab.sweeper import run_sweep

    sweep = folder / "tiny.toml"
    sweep.write_text(TINY_SWEEP.format(output=folder / "out"))
    config = load_config(sweep, ["training.epochs=1", "measure.latency_repeats=2"])
    store = open_store(config.output)
    try:
        outcome = run_sweep(config, store)
    finally:
        store.close()
    assert outcome.by_status == {"ok": outcome.planned}, outcome
    return config.output


def write_sweep(
    folder: Path, output: Path, changes: dict[str, str | None] | None = None, name: str = "sweep.toml"
) -> Path:
    """BASE_SWEEP writing to `output`, with `changes` ({"data.path": '"x.csv"'}; None removes a key)."""
    tables = {table: dict(keys) for table, keys in BASE_SWEEP.items()}
    tables[""]["output"] = f'"{output}"'
    for dotted, literal in (changes or {}).items():
        table, _, key = dotted.rpartition(".")
        keys = tables.setdefault(table, {})
        if literal is None:
            keys.pop(key, None)
        else:
            keys[key] = literal
    text = "".join(f"{key} = {literal}\n" for key, literal in tables.pop("").items())
    for table, keys in tables.items():
        text += f"\n[{table}]\n" + "".join(f"{key} = {literal}\n" for key, literal in keys.items())
    path = folder / name
    path.write_text(text)
    return path
