"""The bad inputs of issue 14, one row each: every one exits 2 with one line naming where the bad
value came from (file and key, `--set KEY` or the option), no traceback, the store unchanged.

Each row runs the real CLI entry point in this process against one tiny trained store shared by
the module; all of them fail before any training, so the table takes seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from bad_input_helpers import build_tiny_store, problems, run_in_process, snapshot, write_sweep
from cli_helpers import REPO, sqlite_file

from scalinglab.store import open_store

pytestmark = pytest.mark.slow  # the shared store trains 8 runs once (about 10 s); each row then takes ~0.1 s


@dataclass
class Context:
    store: Path  # folder of a trained store, shared by every row
    work: Path  # this row's own folder

    def sweep(self, changes: dict[str, str | None] | None = None) -> str:
        return str(write_sweep(self.work, self.store, changes))

    def run(self, changes: dict[str, str | None] | None = None, *sets: str) -> list[str]:
        return ["run", self.sweep(changes), *(arg for value in sets for arg in ("--set", value)), "--quiet"]

    def file(self, name: str, text: str) -> str:
        path = self.work / name
        path.write_text(text)
        return str(path)

    def sqlite_file(self, name: str, *statements: str) -> Path:
        """A store-looking file in its own folder, made with `statements`."""
        folder = self.work / name
        folder.mkdir()
        return sqlite_file(folder / "runs.sqlite", *statements).parent


@dataclass
class Row:
    args: list[str]
    expected: str  # a part of the one line that names the source of the bad value
    watched: Path | None = None  # the folder that must stay unchanged; default the shared store's


SMALL_CSV = "N,L\n1e6,3.2\n1e7,2.9\n1e8,2.7\n1e9,2.6\n"
CURVES_CSV = "run,step,N,L\na,1,1e6,3.4\na,2,1e6,3.2\nb,1,1e7,3.0\nb,2,1e7,2.9\nc,1,1e8,2.8\nc,2,1e8,2.7\n"
PLAN_RUNS_CSV = "N,L,cost\n1e6,3.2,1\n1e7,2.9,10\n1e8,2.7,100\n1e9,2.6,1000\n3e9,2.55,3000\n"

# A store that says schema 1 but holds schema 2's claims table: migrating it would fail half-way.
MISLABELLED = (
    "CREATE TABLE runs (x)",
    "CREATE TABLE curves (x)",
    "CREATE TABLE meta (x)",
    "CREATE TABLE claims (x)",
    "PRAGMA user_version=1",
)
TEXT_CSV = "f1,f2,label\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(20))

ROWS: dict[str, Callable[[Context], Row]] = {
    # Checks that used to wait for training
    "cv-folds-above-class-count": lambda c: Row(c.run({"data.cv_folds": "15"}), "sweep.toml: data.cv_folds: 15 folds"),
    "model-too-big-for-memory": lambda c: Row(
        c.run({"model.width": "[1_000_000_000]"}), "sweep.toml: model.width: width=1000000000"
    ),
    "text-shorter-than-context": lambda c: Row(
        c.run(
            {
                "model.family": '"transformer"',
                "model.width": None,
                "model.depth": None,
                "model.context": "64",
                "data.source": '"text"',
                "data.path": f'"{c.file("short.txt", "tiny text " * 5)}"',
                "data.train_size": None,
            }
        ),
        "sweep.toml: model.context: 64 needs 65 bytes",
    ),
    "mlp-on-text": lambda c: Row(
        c.run({"data.source": '"stdlib"', "data.train_size": None}), "sweep.toml: model.family: 'mlp' is a classifier"
    ),
    "transformer-on-csv": lambda c: Row(
        c.run(
            {
                "model.family": '"transformer"',
                "model.width": None,
                "model.depth": None,
                "data.source": '"csv"',
                "data.path": f'"{c.file("d.csv", TEXT_CSV)}"',
                "data.train_size": "[10]",
            }
        ),
        "sweep.toml: model.family: 'transformer' is a language model",
    ),
    "fit-metric-not-recorded": lambda c: Row(
        c.run({"fit.metric": '"val_bits_per_byte"'}), "sweep.toml: fit.metric: 'val_bits_per_byte' is not recorded"
    ),
    # A column these runs never record (a classification sweep has no cooldown branch point).
    "fit-metric-not-recorded-here": lambda c: Row(
        c.run({"fit.metric": '"branch_tokens"'}), "sweep.toml: fit.metric: 'branch_tokens' is not recorded"
    ),
    # Wrong values accepted
    "bool-as-int-train-size": lambda c: Row(c.run({"data.train_size": "true"}), "sweep.toml: data.train_size"),
    "bool-as-int-epochs": lambda c: Row(c.run({"training.epochs": "true"}), "sweep.toml: training.epochs"),
    "float-as-int-epochs": lambda c: Row(c.run({"training.epochs": "5.0"}), "sweep.toml: training.epochs"),
    "string-as-float-lr": lambda c: Row(c.run({"training.lr": '"0.1"'}), "sweep.toml: training.lr"),
    "empty-axis": lambda c: Row(c.run({"model.width": "[]"}), "sweep.toml: model.width: empty list"),
    "empty-seeds": lambda c: Row(c.run({"seeds": "[]"}), "sweep.toml: seeds"),
    "path-for-built-in-source": lambda c: Row(c.run({"data.path": '"x.csv"'}), "sweep.toml: data.path: only used with"),
    "label-column-for-digits": lambda c: Row(c.run({"data.label_column": '"y"'}), "sweep.toml: data.label_column"),
    "recommend-cost-as-metric": lambda c: Row(
        ["recommend", str(c.store), "--train-seconds", "100", "--metric", "train_seconds"],
        "--metric train_seconds: not a quality metric",
    ),
    "fit-y-among-x": lambda c: Row(
        ["fit", c.file("t.csv", "N,L\n1,3\n10,2\n100,1.5\n"), "--x", "N", "--y", "N"], "--y N: also an input column"
    ),
    # Output paths
    "fit-out-unsupported-extension": lambda c: Row(
        ["fit", c.file("t.csv", "N,L\n1,3\n"), "--x", "N", "--y", "L", "--out", str(c.work / "f.txt")], "--out"
    ),
    "fit-out-missing-folder": lambda c: Row(
        ["fit", c.file("t.csv", "N,L\n1,3\n"), "--x", "N", "--y", "L", "--out", str(c.work / "no" / "f.png")],
        "does not exist",
    ),
    "export-to-missing-folder": lambda c: Row(["export", str(c.store), "--to", str(c.work / "no" / "r.csv")], "--to"),
    "export-to-a-folder": lambda c: Row(["export", str(c.store), "--to", str(c.work)], "is a folder"),
    "report-to-missing-folder": lambda c: Row(["report", str(c.store), "--to", str(c.work / "no" / "r.html")], "--to"),
    # Stores
    "status-no-store": lambda c: Row(["status", str(c.work / "nothing")], "no scalinglab store here", c.work),
    "status-empty-file": lambda c: Row(
        ["status", str(c.sqlite_file("empty"))], "no scalinglab store at", c.work / "empty"
    ),
    "status-negative-schema": lambda c: Row(
        ["status", str(c.sqlite_file("negative", "CREATE TABLE runs (x)", "PRAGMA user_version=-3"))],
        "schema version -3",
        c.work / "negative",
    ),
    "status-mislabelled-schema": lambda c: Row(
        ["status", str(c.sqlite_file("mislabelled", *MISLABELLED))], "does not match its tables", c.work / "mislabelled"
    ),
    "run-on-mislabelled-schema": lambda c: Row(
        ["run", c.sweep({"output": f'"{c.sqlite_file("mislabelled", *MISLABELLED)}"'}), "--quiet"],
        "does not match its tables",
        c.work / "mislabelled",
    ),
    # Paths and messages
    "set-value-blamed-on-set": lambda c: Row(c.run(None, "training.lr=abc"), "--set training.lr:"),
    "unknown-family-names-file-and-field": lambda c: Row(
        c.run({"model.family": '"nope"'}), "sweep.toml: model.family: unknown model family 'nope'"
    ),
    "relative-path-from-sweep-folder": lambda c: _relative_data_path(c),
    "fit-seed-negative-names-the-flag": lambda c: Row(
        ["fit", c.file("s.csv", SMALL_CSV), "--x", "N", "--y", "L", "--seed", "-1"], "--seed must be"
    ),
    "fit-level-names-the-flag": lambda c: Row(
        ["fit", c.file("s.csv", SMALL_CSV), "--x", "N", "--y", "L", "--level", "1.5"], "--level must"
    ),
    "fit-one-bootstrap-replicate": lambda c: Row(
        ["fit", c.file("s.csv", SMALL_CSV), "--x", "N", "--y", "L", "--bootstrap", "1"], "--bootstrap must be 0"
    ),
    "fit-same-x-twice": lambda c: Row(
        ["fit", c.file("s.csv", SMALL_CSV), "--x", "N,N", "--y", "L", "--form", "chinchilla"], "--x lists 'N' twice"
    ),
    "fit-compute-with-isoflop": lambda c: Row(
        ["fit", c.file("s.csv", SMALL_CSV), "--x", "N", "--y", "L", "--isoflop", "N", "--compute", "1e20"],
        "--compute: not with --isoflop",
    ),
    "fit-burn-in-without-step": lambda c: Row(
        ["fit", c.file("s.csv", SMALL_CSV), "--x", "N", "--y", "L", "--burn-in", "0.5"], "--burn-in 0.5: needs --step"
    ),
    "fit-step-not-numeric-names-the-flag": lambda c: Row(
        ["fit", c.file("c.csv", CURVES_CSV), "--x", "N", "--y", "L", "--groups", "run", "--step", "run"],
        "--step 'run': column 'run' is not numeric",
    ),
    "fit-burn-in-names-the-flag": lambda c: Row(
        [
            "fit",
            c.file("c.csv", CURVES_CSV),
            "--x",
            "N",
            "--y",
            "L",
            "--groups",
            "run",
            "--step",
            "step",
            "--burn-in",
            "1",
        ],
        "--burn-in must be a fraction",
    ),
    "fit-negative-compute-names-the-flag": lambda c: Row(
        ["fit", c.file("s.csv", SMALL_CSV), "--x", "N", "--y", "L", "--compute", "-1e9"], "--compute: budgets must be"
    ),
    "recommend-infinite-budget": lambda c: Row(
        ["recommend", str(c.store), "--train-seconds", "inf"], "--train-seconds inf: a budget must be a finite number"
    ),
    "recommend-extrapolation-beyond-any-law": lambda c: Row(
        ["recommend", str(c.store), "--train-seconds", "10", "--max-extrapolation", "1e300"],
        "--max-extrapolation 1e+300: at most 10000",
    ),
    "recommend-less-than-one-example": lambda c: Row(
        ["recommend", str(c.store), "--train-seconds", "10", "--data-available", "0.5"],
        "--data-available 0.5: must be a finite number >= 1",
    ),
    "set-infinite-learning-rate": lambda c: Row(c.run(None, "training.lr=inf"), "--set training.lr:"),
    "fit-a-folder": lambda c: Row(["fit", str(c.work), "--x", "N", "--y", "L"], "a folder, not a CSV file"),
    "plan-candidates-names-file-and-line": lambda c: Row(
        _plan_next(c, PLAN_RUNS_CSV, "N,cost\n1e9,1\nlots,2\n"),
        "--candidates " + str(c.work / "c.csv") + ": column 'N' is not numeric: row 3",
    ),
    "plan-runs-without-the-cost-column": lambda c: Row(
        _plan_next(c, SMALL_CSV, "N,cost\n1e9,1\n"), "RUNS " + str(c.work / "r.csv") + ": column 'cost' not found"
    ),
    "plan-seed-negative-names-the-flag": lambda c: Row(
        _plan_next(c, PLAN_RUNS_CSV, "N,cost\n1e9,1\n", "--seed", "-1"), "--seed must be"
    ),
    "fit-names-the-csv-line": lambda c: Row(
        ["fit", c.file("t.csv", "N,L\n1,3\n10,x\n100,1.5\n"), "--x", "N", "--y", "L"],
        "column 'L' is not numeric: row 3 ('x' first)",
    ),
}


def _plan_next(c: Context, runs: str, candidates: str, *more: str) -> list[str]:
    """`plan next` on r.csv and c.csv (written from `runs` and `candidates`), targeting N = 1e10."""
    files = [c.file("r.csv", runs), "--candidates", c.file("c.csv", candidates)]
    options = ["--x", "N", "--y", "L", "--target", "N=1e10", "--cost", "cost", "--form", "power"]
    return ["plan", "next", *files, *options, *more]


def _relative_data_path(c: Context) -> Row:
    """d.csv beside the sweep file, the CLI run from another folder: the file is still found (its
    20 rows are then too few for the data size, which is the error expected)."""
    c.file("d.csv", TEXT_CSV)
    args = c.run({"data.source": '"csv"', "data.path": '"d.csv"', "data.train_size": "[1000]"})
    return Row(args, "sweep.toml: data.train_size: 1000 is larger than the 16 training examples of 'd.csv'")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_tiny_store(tmp_path_factory.mktemp("store"))


@pytest.mark.parametrize("name", ROWS)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(name, store, tmp_path):
    context = Context(store=store, work=tmp_path)
    row = ROWS[name](context)
    watched = row.watched or store
    watched.mkdir(exist_ok=True)
    before = snapshot(watched)
    outcome = run_in_process(*row.args, cwd=tmp_path.parent)  # not the sweep's folder: relative paths are the file's
    assert problems(outcome, expected=row.expected, before=before, after=snapshot(watched)) == [], outcome.stderr


def _without_root_powers() -> list[str]:
    """The command prefix under which root obeys file permissions (none when not root): every
    capability dropped (CAP_DAC_OVERRIDE among them), so root is only the owner of its files. A
    different user would not do: it could not read a checkout kept in a private (0700) folder."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to test read-only folders as root"
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all"]


def test_read_only_commands_work_in_a_read_only_folder_and_change_no_byte(store):
    root = Path(tempfile.mkdtemp(prefix="scalinglab-read-only-"))
    read_only, written, home = root / "sweep", root / "written", root / "home"
    read_only.mkdir()
    try:
        shutil.copy2(store / "runs.sqlite", read_only / "runs.sqlite")
        for folder in (written, home):
            folder.mkdir()
        (read_only / "runs.sqlite").chmod(0o444)
        read_only.chmod(0o555)
        before = snapshot(read_only)
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO / "src"),
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home),
            "MPLCONFIGDIR": str(home),
            "COLUMNS": "200",
        }
        for args, code, said in (
            (["status", str(read_only)], 0, "8 runs planned: 8 ok"),
            (["report", str(read_only), "--to", str(written / "report.html")], 0, "wrote"),
            (["export", str(read_only), "--to", str(written / "runs.csv")], 0, "wrote 8 rows"),
            (["recommend", str(read_only), "--train-seconds", "1000"], 0, "Pareto frontier"),
            (
                ["run", str(write_sweep(home, read_only)), "--quiet"],
                2,
                f"scalinglab: error: {read_only}: output folder is not writable",
            ),
            (
                ["report", str(read_only)],
                2,  # its default, OUT/report.html, cannot be written: said before work
                f"scalinglab: error: default --to {read_only / 'report.html'}: not writable; write somewhere else",
            ),
        ):
            result = subprocess.run(
                [*_without_root_powers(), sys.executable, "-m", "scalinglab", *args],
                env=env,
                cwd=home,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == code, f"{args}: {result.stderr}"
            assert said in result.stdout + result.stderr if code == 0 else result.stderr.strip() == said
        assert snapshot(read_only) == before
        assert sorted(p.name for p in written.iterdir()) == ["report.html", "runs.csv"]
        assert len((written / "runs.csv").read_text().splitlines()) == 1 + _stored_runs(store)
    finally:
        read_only.chmod(0o755)
        shutil.rmtree(root)


def _stored_runs(folder: Path) -> int:
    stored = open_store(folder, read_only=True)
    try:
        return len(stored.runs())
    finally:
        stored.close()


def test_a_sweep_whose_every_run_failed_exits_1_with_its_distinct_errors(tmp_path):
    sweep = write_sweep(
        tmp_path, tmp_path / "out", {"training.lr": "1e30", "training.grad_clip": "1e30", "model.width": "[4, 8]"}
    )
    outcome = run_in_process("run", str(sweep), "--quiet")
    assert outcome.code == 1, outcome.stderr
    assert "2 runs planned, 0 already stored, 2 trained, 2 diverged" in outcome.stderr
    assert "every run failed: 2x non-finite training loss at epoch 1" in outcome.stderr


def test_every_run_failing_beside_stored_ok_runs_of_another_length_still_exits_1(tmp_path):
    """Seen: a diverging sweep run into a store of ok 2-epoch runs exited 0, printed an empty table
    of box characters, and said "no run recorded training time" (the ok runs were not this sweep's)."""
    good = write_sweep(tmp_path, tmp_path / "out", {"training.epochs": "2"}, name="good.toml")
    assert run_in_process("run", str(good), "--quiet").code == 0
    bad = write_sweep(tmp_path, tmp_path / "out", {"training.lr": "1e30", "training.grad_clip": "1e30"})
    outcome = run_in_process("run", str(bad), "--quiet")
    assert outcome.code == 1, outcome.stderr
    assert "every run failed: 1x non-finite training loss at epoch 1" in outcome.stderr
    assert "┏┳┳" not in outcome.stdout + outcome.stderr
    again = run_in_process("run", str(bad), "--quiet")  # nothing to train now; still nothing to fit
    assert again.code == 1 and "no run of this sweep finished ok" in again.stderr, again.stderr


def test_a_report_written_elsewhere_names_the_store_in_its_commands(store, tmp_path):
    """`report OUT --to elsewhere` told the reader to run `scalinglab recommend <elsewhere>`."""
    outcome = run_in_process("report", str(store), "--to", str(tmp_path / "r.html"))
    assert outcome.code == 0, outcome.err
    html = (tmp_path / "r.html").read_text()
    assert f"scalinglab recommend {store} --train-seconds" in html
    assert f"scalinglab recommend {tmp_path} " not in html
