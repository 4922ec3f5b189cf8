"""`scalinglab compress`: rows of their own, resumable, failure-isolated; bad input refused."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import REPO, run_cli

from scalinglab.compress import compress_config, compress_store, plan, stored_compressions
from scalinglab.store import open_store

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess

FAST = ["--set", "prune.finetune_epochs=0", "--set", "structured.finetune_epochs=0"]


def _rows(out: Path) -> list[dict]:
    return stored_compressions(out)


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_every_method_is_a_stored_row_and_a_second_call_makes_nothing(trained_store):
    first = run_cli("compress", str(trained_store), *FAST, "--json")
    assert first.returncode == 0, first.stderr
    outcome = json.loads(first.stdout)
    rows = _rows(trained_store)
    assert outcome["made"] == outcome["planned"] == len(rows) == len({r["compression_key"] for r in rows})
    assert {r["spec"]["method"] for r in rows} == {
        "none",
        "prune",
        "structured",
        "quantize",
        "lowrank",
        "cluster",
        "distill",
    }
    assert all(r["status"] == "ok" for r in rows), [r["error"] for r in rows if r["status"] != "ok"]
    # Distillation: the width-4 student of the width-16 teacher, one row per (temperature, alpha).
    distilled = [r for r in rows if r["spec"]["method"] == "distill"]
    assert len(distilled) == 2 and all(r["spec"]["settings"]["student"] == {"width": 4, "depth": 2} for r in distilled)
    second = run_cli("compress", str(trained_store), *FAST, "--json")
    assert json.loads(second.stdout)["made"] == 0
    assert len(_rows(trained_store)) == len(rows)


def test_a_failing_compression_is_a_failed_row_and_the_others_are_made(trained_store, monkeypatch):
    from scalinglab.compress import methods

    def broken(parent, **settings):
        raise RuntimeError("no kernel for this")

    monkeypatch.setitem(methods.APPLY, "cluster", broken)
    outcome = compress_store(trained_store, methods=["none", "cluster"], overrides=["cluster.clusters=4"])
    assert outcome.by_status == {"ok": 2, "failed": 2}
    failed = [r for r in _rows(trained_store) if r["status"] == "failed"]
    assert len(failed) == 2 and all("no kernel for this" in r["error"] for r in failed)
    monkeypatch.undo()
    retried = compress_store(
        trained_store, methods=["none", "cluster"], overrides=["cluster.clusters=4"], retry_failed=True
    )
    assert retried.by_status == {"ok": 2}


@pytest.mark.slow
def test_kill_9_halfway_then_rerun_completes_the_rest_without_duplicates(trained_store):
    args = [
        sys.executable,
        "-m",
        "scalinglab",
        "compress",
        str(trained_store),
        "--methods",
        "none,prune,cluster,lowrank",
        "--set",
        "prune.finetune_epochs=[0]",
    ]
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(args, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(_rows(trained_store)) < 3:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    before = len(_rows(trained_store))
    config = compress_config(None, ["prune.finetune_epochs=[0]"], methods=["none", "prune", "cluster", "lowrank"])
    assert 0 < before
    rerun = compress_store(trained_store, methods=config.methods, overrides=["prune.finetune_epochs=[0]"])
    rows = _rows(trained_store)
    assert rerun.made == rerun.planned - before
    assert len(rows) == len({r["compression_key"] for r in rows}) == rerun.planned


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--set", "prune.sparsity=1.0"], "compress.prune.sparsity"),
        (["--set", "prune.sparsity=-0.1"], "compress.prune.sparsity"),
        (["--set", "lowrank.rank=0"], "compress.lowrank.rank"),
        (["--methods", "prune,magic"], "--methods: unknown method 'magic'"),
        (["--set", "quantize.bits=3"], "compress.quantize.bits"),
        (["--methods", ""], "--methods: at least one method"),
        (["--methods", "share"], "share applies to transformer runs only (these are mlp)"),
        (["--methods", "quantize", "--set", "quantize.bits=4", "--set", "quantize.mode=dynamic"], "quantize: none"),
    ],
)
def test_bad_settings_are_one_line_naming_the_field_and_change_nothing(trained_store, args, field):
    before = _fingerprint(trained_store)
    result = run_cli("compress", str(trained_store), *args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and field in result.stderr and "Traceback" not in result.stderr
    assert _fingerprint(trained_store) == before


def test_a_store_without_checkpoints_is_refused_and_left_alone(trained_store):
    for checkpoint in (trained_store / "checkpoints").iterdir():
        checkpoint.unlink()
    before = _fingerprint(trained_store)
    result = run_cli("compress", str(trained_store))
    assert result.returncode == 2 and "checkpoints" in result.stderr and result.stderr.count("\n") == 1
    assert _fingerprint(trained_store) == before


def test_where_chooses_the_parents(trained_store):
    store = open_store(trained_store)
    try:
        from scalinglab.runs_table import results_frame

        small = results_frame(store).query("width == 4")["run_key"].tolist()
    finally:
        store.close()
    outcome = compress_store(trained_store, methods=["none"], where="width == 4")
    assert outcome.planned == 1 and [r["parent_run_key"] for r in _rows(trained_store)] == small


def test_plan_keys_are_stable_and_distinct():
    from scalinglab.run_spec import DataSpec, RunSpec, TrainingSpec

    parents = [
        RunSpec(
            family="mlp",
            size={"width": w, "depth": 1},
            data=DataSpec(source="digits", train_size=300),
            training=TrainingSpec(epochs=1, batch_size=64, lr=0.01),
            seed=0,
        )
        for w in (4, 8)
    ]
    config = compress_config(None)
    first, again = plan(config, parents), plan(config, parents)
    assert [s.key for s in first] == [s.key for s in again]
    assert len({s.key for s in first}) == len(first)


@pytest.mark.slow
def test_a_compress_section_in_the_sweep_file_makes_run_compress_after_training(trained_store, tmp_path):
    from compress_helpers import TINY_COMPRESS_SWEEP

    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        TINY_COMPRESS_SWEEP.format(output=trained_store)
        + '\n[compress]\nmethods = ["none", "quantize"]\n[compress.quantize]\nbits = 8  # dynamic and weight-only: 3 rows per run with none\n'
    )
    result = run_cli("run", str(sweep), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "6 compressions planned, 0 already stored, 6 made, 6 ok" in " ".join(result.stderr.split())
    assert {r["spec"]["method"] for r in _rows(trained_store)} == {"none", "quantize"}
    assert "Compress or train small?" in (trained_store / "report.html").read_text()


def test_runs_without_a_checkpoint_are_left_out_and_counted(trained_store):
    checkpoints = sorted((trained_store / "checkpoints").iterdir())
    checkpoints[0].unlink()
    outcome = compress_store(trained_store, methods=["none"])
    assert (outcome.parents, outcome.without_checkpoint, outcome.made) == (1, 1, 1)


@pytest.mark.slow
def test_recommend_names_a_compressed_model_that_beats_training_small(tmp_path):
    from cli_helpers import TINY_SWEEP

    sweep = tmp_path / "tiny.toml"
    sweep.write_text(TINY_SWEEP.format(output=tmp_path / "out"))
    assert run_cli("run", str(sweep), "--quiet").returncode == 0
    out = tmp_path / "out"
    compress_store(out, methods=["none", "quantize", "cluster"])
    # Storage that only the smallest trained width fits, fp32: 8-bit and clustered wider models fit too.
    budget = ["--train-seconds", "1000", "--storage-mb", "0.0045", "--json"]
    with_compressed = json.loads(run_cli("recommend", str(out), *budget).stdout)
    without = json.loads(run_cli("recommend", str(out), *budget, "--no-compressed").stdout)
    assert without["compressed"] is None
    alternative = with_compressed["compressed"]
    assert alternative is not None and alternative["method"] in {"quantize", "cluster"}
    assert alternative["val_loss"] < with_compressed["predicted"]
    assert alternative["sentence"].startswith("Compress instead:")
    # Storage no trained size fits but a compressed one does: that model, not "raise the budget".
    from scalinglab.compress.compressions_table import stored_compressions_frame

    compressed = stored_compressions_frame(out)
    smallest_compressed = compressed.loc[compressed["method"] != "none", "bytes_deployed"].min() / 1e6
    smallest_trained = compressed.loc[compressed["method"] == "none", "bytes_deployed"].min() / 1e6
    assert smallest_compressed < smallest_trained
    storage = f"{(smallest_compressed + smallest_trained) / 2:.6f}"
    result = run_cli("recommend", str(out), "--train-seconds", "1000", "--storage-mb", storage)
    assert result.returncode == 2 and "no model size fits the budget" in result.stderr
    assert "a stored compressed model fits it:" in result.stderr and "raise the budget;" not in result.stderr


@pytest.mark.slow
def test_a_compress_section_makes_the_python_sweep_compress_too(trained_store, tmp_path):
    from compress_helpers import TINY_COMPRESS_SWEEP

    import scalinglab

    sweep = tmp_path / "sweep.toml"
    sweep.write_text(TINY_COMPRESS_SWEEP.format(output=trained_store) + '\n[compress]\nmethods = ["none"]\n')
    scalinglab.sweep(sweep)
    assert [r["spec"]["method"] for r in _rows(trained_store)] == ["none", "none"]  # one per trained run


def test_compress_prints_its_verdict_tally_and_rewrites_the_report(trained_store):
    result = run_cli("compress", str(trained_store), "--methods", "none,quantize")
    assert result.returncode == 0, result.stderr
    report = trained_store / "report.html"
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == f"wrote {report}"
    tally = next(line for line in lines if line.startswith("Of "))
    assert tally.startswith("Of 2 budgets of bytes on disk (one per trained size), compressing wins at ")
    html = report.read_text()
    assert "Compress or train small?" in html and tally.split(" (")[0] in html
