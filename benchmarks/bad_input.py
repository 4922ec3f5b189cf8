"""A broad sweep of bad input over every command of the CLI: how many are handled as promised?

Handled means (tests/cli/bad_input_helpers.py): exit status 2, exactly one line on stderr
that names where the bad value came from (the sweep file and key, `--set KEY`, the option, or the
file at fault), no traceback, and every file of the store's folder byte for byte unchanged.

Every sweep field gets several wrong values, each once in the sweep file and once through `--set`;
then bad data files (csv, npz, text), bad stores (missing, empty, not SQLite, foreign, newer,
negative or mislabelled schema), and bad options of fit, status, report, export and recommend.

    OMP_NUM_THREADS=1 python benchmarks/bad_input.py

prints one line "handled N of M bad inputs" and then each case that was not handled, with why.
It trains one tiny store first (8 runs of 1 epoch, about 10 s); the cases then run in this process.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests"), str(REPO / "tests" / "cli")]

from bad_input_helpers import (  # noqa: E402
    build_tiny_store,
    problems,
    run_in_process,
    snapshot,
    write_sweep,
)
from cli_helpers import sqlite_file  # noqa: E402

# Wrong values for every sweep field, as TOML literals. Each is tried in the file and with --set.
BAD_FIELD_VALUES: dict[str, list[str]] = {
    "name": ["3", "[]"],
    "output": ["3"],
    "seeds": ["[]", "true", "[1.5]", '"a"'],
    "model.family": ['"nope"', "3"],
    "model.width": ["[]", "0", "-1", "true", "1.5", '"8"', "[8, 0]", "[1_000_000_000]"],
    "model.depth": ["0", "true", "[]"],
    "model.height": ["3"],
    "data.source": ['"nope"', "3"],
    "data.path": ['"x.csv"'],
    "data.label_column": ['"y"'],
    "data.train_size": ["0", "-5", "true", "1.5", '"100"', "[]", "100000"],
    "data.val_fraction": ["0", "1", "1.5", "true", '"0.2"'],
    "data.val_size": ["0", "true", "100000"],
    "data.preprocessing": ['"whiten"', "[]", "3"],
    "data.split_seed": ["true", "1.5"],
    "data.cv_folds": ["1", "true", "50"],
    "data.teacher": ["{ width = 3 }"],
    "data.extra": ["1"],
    "training.epochs": ["0", "true", "5.0", '"5"', "[]"],
    "training.batch_size": ["0", "true", "[]"],
    "training.lr": ["0", "-1", "true", '"fast"', "[]"],
    "training.weight_decay": ["-1", "true"],
    "training.dropout": ["1", "-0.1", "true"],
    "training.precision": ['"fp8"'],
    "training.optimizer": ['"lion"', '["adam"]'],
    "training.schedule": ['"step"'],
    "training.warmup_fraction": ["1", "true"],
    "training.grad_clip": ["0", "true"],
    "training.max_seconds": ["0", "true"],
    "training.epochz": ["3"],
    "execution.executor": ['"gpu"'],
    "execution.workers": ["0", "true"],
    "execution.address": ['"auto"'],
    "execution.retries": ["-1", "true"],
    "execution.max_memory_mb": ["0", "true"],
    "execution.lease_seconds": ["0"],
    "lr_search.candidates": ["[0.1]", "[true, 0.1]"],
    "lr_search.reduction_factor": ["1", "true"],
    "measure.latency_repeats": ["0", "true"],
    "fit.metric": ['"nope"', '"val_bits_per_byte"'],
    "fit.x": ['"nope"'],
    "fit.group_by": ['"nope"'],
    "fit.extra": ['"x"'],
}

CSV_HEADER = "f1,f2,label\n"
CSV_ROWS = "".join(f"{i},{i * 2},{i % 2}\n" for i in range(20))


class Bench:
    """Runs cases against one store; collects (name, problems) for each."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "store").mkdir()
        self.store = build_tiny_store(root / "store")
        self.results: list[tuple[str, list[str]]] = []
        self._count = 0

    def folder(self) -> Path:
        self._count += 1
        path = self.root / f"case{self._count}"
        path.mkdir()
        return path

    def check(self, name: str, args: list[str], expected: str, watched: Path | None = None) -> None:
        watched = watched or self.store
        before = snapshot(watched)
        outcome = run_in_process(*args, cwd=self.root)
        self.results.append((name, problems(outcome, expected=expected, before=before, after=snapshot(watched))))

    def sweep(self, changes: dict[str, str | None] | None = None) -> str:
        return str(write_sweep(self.folder(), self.store, changes))

    def data_file(self, name: str, content: str | bytes) -> str:
        path = self.folder() / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return str(path)


def field_cases(bench: Bench) -> None:
    for field, literals in BAD_FIELD_VALUES.items():
        for literal in literals:
            bench.check(
                f"file {field} = {literal}", ["run", bench.sweep({field: literal}), "--quiet"], f"sweep.toml: {field}"
            )
            bench.check(
                f"--set {field}={literal}",
                ["run", bench.sweep(), "--set", f"{field}={literal}", "--quiet"],
                f"--set {field}",
            )


def data_cases(bench: Bench) -> None:
    def csv_run(text: str, expected: str, extra: dict[str, str] | None = None) -> tuple[list[str], str]:
        path = bench.data_file("d.csv", text)
        changes = {"data.source": '"csv"', "data.path": f'"{path}"', "data.train_size": "[10]", **(extra or {})}
        return ["run", bench.sweep(changes), "--quiet"], expected

    def npz_run(arrays: dict[str, np.ndarray] | bytes, expected: str) -> tuple[list[str], str]:
        path = bench.folder() / "d.npz"
        if isinstance(arrays, bytes):
            path.write_bytes(arrays)
        else:
            np.savez(path, **arrays)
        changes = {"data.source": '"npz"', "data.path": f'"{path}"', "data.train_size": None}
        return ["run", bench.sweep(changes), "--quiet"], expected

    def text_run(
        content: str | None, expected: str, context: int = 16, family: str = "transformer"
    ) -> tuple[list[str], str]:
        path = bench.data_file("t.txt", content) if content is not None else str(bench.root / "absent.txt")
        model = {
            "model.family": '"transformer"',
            "model.width": None,
            "model.depth": None,
            "model.context": str(context),
            "model.d_model": "16",
            "model.n_head": "2",
        }
        changes = {
            **(model if family == "transformer" else {}),
            "data.source": '"text"',
            "data.path": f'"{path}"',
            "data.train_size": None,
        }
        return ["run", bench.sweep(changes), "--quiet"], expected

    cases: dict[str, Callable[[], tuple[list[str], str]]] = {
        "csv without label column": lambda: csv_run("f1,f2,y\n" + CSV_ROWS, "no label column 'label'"),
        "csv ragged row": lambda: csv_run(CSV_HEADER + CSV_ROWS + "1,2\n", "line 22"),
        "csv non-numeric cell": lambda: csv_run(CSV_HEADER + "1,two,0\n" + CSV_ROWS, "line 2, column 'f2'"),
        "csv infinite cell": lambda: csv_run(CSV_HEADER + "1,inf,0\n" + CSV_ROWS, "line 2, column 'f2'"),
        "csv one class": lambda: csv_run(CSV_HEADER + "1,2,0\n" * 20, "single class"),
        "csv class of one example": lambda: csv_run(CSV_HEADER + CSV_ROWS + "1,2,7\n", "class '7'"),
        "csv header only": lambda: csv_run(CSV_HEADER, "header only"),
        "csv empty": lambda: csv_run("", "empty file"),
        "csv only the label": lambda: csv_run("label\n" + "0\n1\n" * 10, "no feature columns"),
        "csv size too large": lambda: csv_run(
            CSV_HEADER + CSV_ROWS, "data.train_size: 100 is larger", {"data.train_size": "[100]"}
        ),
        "csv folds above class count": lambda: csv_run(CSV_HEADER + CSV_ROWS, "data.cv_folds", {"data.cv_folds": "9"}),
        "csv given to a transformer": lambda: csv_run(
            CSV_HEADER + CSV_ROWS,
            "model.family",
            {"model.family": '"transformer"', "model.width": None, "model.depth": None},
        ),
        "csv given to a cnn": lambda: csv_run(
            CSV_HEADER + CSV_ROWS,
            "model.family: the cnn family needs images",
            {"model.family": '"cnn"', "model.width": None},
        ),
        "csv missing file": lambda: (
            ["run", bench.sweep({"data.source": '"csv"', "data.path": '"absent.csv"'}), "--quiet"],
            "data.path",
        ),
        "csv source without path": lambda: (["run", bench.sweep({"data.source": '"csv"'}), "--quiet"], "data.path"),
        "npz not a zip": lambda: npz_run(b"not a zip", "not a readable .npz"),
        "npz without y": lambda: npz_run({"x": np.zeros((10, 2))}, "no array named 'y'"),
        "npz mismatched lengths": lambda: npz_run({"x": np.zeros((10, 2)), "y": np.zeros(9)}, "expected x of shape"),
        "npz text features": lambda: npz_run({"x": np.array([["a"]] * 10), "y": np.arange(10) % 2}, "not numeric"),
        "text missing": lambda: text_run(None, "no such file or folder"),
        "text empty": lambda: text_run("", "empty text file"),
        "text shorter than context": lambda: text_run("short text " * 3, "model.context: 64", context=64),
        "text given to an mlp": lambda: text_run("x" * 1000, "model.family: 'mlp' is a classifier", family="mlp"),
    }
    for name, make in cases.items():
        args, expected = make()
        bench.check(name, args, expected)


def _sqlite_folder(bench: Bench, *statements: str) -> Path:
    return sqlite_file(bench.folder() / "runs.sqlite", *statements).parent


def store_cases(bench: Bench) -> None:
    from scalinglab.store.sqlite import MIGRATIONS, SCHEMA_VERSION

    def missing() -> Path:
        return bench.folder()

    def empty() -> Path:
        folder = bench.folder()
        (folder / "runs.sqlite").touch()
        return folder

    def not_sqlite() -> Path:
        folder = bench.folder()
        (folder / "runs.sqlite").write_text("precious notes\n")
        return folder

    bad_stores: dict[str, tuple[Callable[[], Path], str]] = {
        "missing store": (missing, "no scalinglab store"),
        "0-byte store": (empty, "no scalinglab store at"),
        "not an SQLite file": (not_sqlite, "not an SQLite file"),
        "foreign SQLite file": (
            lambda: _sqlite_folder(bench, "CREATE TABLE customers (name)"),
            "not a scalinglab store",
        ),
        "newer schema": (
            lambda: _sqlite_folder(bench, "CREATE TABLE future (x)", f"PRAGMA user_version={SCHEMA_VERSION + 1}"),
            "newer scalinglab",
        ),
        "negative schema": (
            lambda: _sqlite_folder(bench, "CREATE TABLE runs (x)", "PRAGMA user_version=-1"),
            "schema version -1",
        ),
        "mislabelled older schema": (
            lambda: _sqlite_folder(bench, *MIGRATIONS[1], *MIGRATIONS[2], "PRAGMA user_version=1"),
            "does not match its tables",
        ),
    }
    commands = {
        "status": lambda folder: ["status", str(folder)],
        "report": lambda folder: ["report", str(folder)],
        "export": lambda folder: ["export", str(folder)],
        "recommend": lambda folder: ["recommend", str(folder), "--train-seconds", "10"],
    }
    for store_name, (make, expected) in bad_stores.items():
        for command, args in commands.items():
            folder = make()
            bench.check(f"{command} on {store_name}", args(folder), expected, watched=folder)
        folder = make()
        if store_name not in ("missing store", "0-byte store"):  # run makes a new store there: that is its job
            bench.check(
                f"run on {store_name}",
                ["run", bench.sweep({"output": f'"{folder}"'}), "--quiet"],
                expected,
                watched=folder,
            )


def option_cases(bench: Bench) -> None:
    table = bench.data_file(
        "t.csv", "N,D,L\n" + "".join(f"{10**i},{10 ** (i % 3 + 1)},{1 + 5 / (i + 1)}\n" for i in range(1, 9))
    )
    work = bench.folder()
    store = str(bench.store)
    cases: dict[str, tuple[list[str], str]] = {
        "fit missing file": (["fit", str(work / "absent.csv"), "--x", "N", "--y", "L"], "no such file"),
        "fit --out unsupported": (["fit", table, "--x", "N", "--y", "L", "--out", str(work / "f.txt")], "--out"),
        "fit --out missing folder": (
            ["fit", table, "--x", "N", "--y", "L", "--out", str(work / "no" / "f.png")],
            "--out",
        ),
        "fit --out a folder": (["fit", table, "--x", "N", "--y", "L", "--out", str(work)], "--out"),
        "fit --y among --x": (["fit", table, "--x", "N", "--y", "N"], "--y N"),
        "fit unknown column": (["fit", table, "--x", "Q", "--y", "L"], "'Q'"),
        "fit unknown form": (["fit", table, "--form", "cubic", "--x", "N", "--y", "L"], "cubic"),
        "fit --where not a condition": (["fit", table, "--x", "N", "--y", "L", "--where", "N <<< 3"], "--where"),
        "fit --compute not numbers": (
            ["fit", table, "--x", "N,D", "--y", "L", "--form", "chinchilla", "--compute", "lots"],
            "--compute",
        ),
        "fit --bootstrap not a number": (["fit", table, "--x", "N", "--y", "L", "--bootstrap", "many"], "--bootstrap"),
        "fit binary file": (["fit", bench.data_file("b.csv", bytes(range(256)) * 4), "--x", "N", "--y", "L"], "b.csv"),
        "export --format xml": (["export", store, "--format", "xml"], "--format xml"),
        "export --to missing folder": (["export", store, "--to", str(work / "no" / "r.csv")], "--to"),
        "export --to a folder": (["export", store, "--to", str(work)], "--to"),
        "export --to wrong extension": (["export", store, "--to", str(work / "r.json")], "--to"),
        "report --to missing folder": (["report", store, "--to", str(work / "no" / "r.html")], "--to"),
        "report --to wrong extension": (["report", store, "--to", str(work / "r.txt")], "--to"),
        "report --to a folder": (["report", store, "--to", str(work)], "--to"),
        "recommend no budget": (["recommend", store], "--train-flops X or --train-seconds X"),
        "recommend negative budget": (["recommend", store, "--train-seconds", "-1"], "--train-seconds"),
        "recommend zero budget": (["recommend", store, "--train-flops", "0"], "--train-flops"),
        "recommend budget not a number": (["recommend", store, "--train-seconds", "soon"], "--train-seconds"),
        "recommend unknown metric": (["recommend", store, "--train-seconds", "9", "--metric", "nope"], "--metric nope"),
        "recommend cost as metric": (
            ["recommend", store, "--train-seconds", "9", "--metric", "train_seconds"],
            "--metric train_seconds",
        ),
        "recommend negative latency": (
            ["recommend", store, "--train-seconds", "9", "--latency-ms", "-1"],
            "--latency-ms",
        ),
        "run missing sweep file": (["run", str(work / "absent.toml")], "no such file"),
        "run sweep file is a folder": (["run", str(work)], "not a file"),
        "run sweep not TOML": (["run", bench.data_file("s.toml", "this is = = not toml")], "not valid TOML"),
        "run sweep binary": (["run", bench.data_file("s.toml", b"\xff\xfe\x00")], "s.toml"),
        "run --set without =": (["run", bench.sweep(), "--set", "training.epochs"], "--set training.epochs"),
        "run --set into a value": (["run", bench.sweep(), "--set", "name.x=3"], "--set name.x"),
        "run --workers 0": (["run", bench.sweep(), "--workers", "0", "--executor", "pool"], "execution.workers"),
        "run --workers not a number": (["run", bench.sweep(), "--workers", "many"], "--workers"),
        "run --executor unknown": (["run", bench.sweep(), "--executor", "gpu"], "execution.executor"),
        "run --address with serial": (["run", bench.sweep(), "--executor", "serial", "--address", "auto"], "execution"),
        "run --out is a file": (["run", bench.sweep(), "--out", bench.data_file("file", "keep")], "is a file"),
        "unknown command": (["train"], "train"),
        "unknown option": (["status", "--colour"], "--colour"),
    }
    for name, (args, expected) in cases.items():
        bench.check(name, args, expected)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="scalinglab-bad-input-") as root:
        bench = Bench(Path(root))
        for family in (field_cases, data_cases, store_cases, option_cases):
            family(bench)
    failures = [(name, found) for name, found in bench.results if found]
    print(f"handled {len(bench.results) - len(failures)} of {len(bench.results)} bad inputs")
    for name, found in failures:
        print(f"  NOT HANDLED {name}: {'; '.join(found)}")


if __name__ == "__main__":
    main()
