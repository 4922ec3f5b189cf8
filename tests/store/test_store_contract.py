"""The storage contract of scalinglab.store.base, checked against every backend."""

from __future__ import annotations

import multiprocessing
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scalinglab.errors import UserError
from scalinglab.run_spec import DataSpec, RunResult, RunSpec, TrainingSpec
from scalinglab.store import open_store
from scalinglab.store.base import new_owner_id
from scalinglab.store.sqlite import MIGRATIONS, SCHEMA_VERSION

BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runs.sqlite'}"


@pytest.fixture
def store(store_url):
    opened = open_store(store_url)
    yield opened
    opened.close()


def make_spec(width: int = 8, seed: int = 0) -> RunSpec:
    return RunSpec(
        family="mlp",
        size={"width": width, "depth": 1},
        data=DataSpec(source="digits", train_size=100),
        training=TrainingSpec(epochs=1, batch_size=32, lr=0.01),
        seed=seed,
    )


def make_result(spec: RunSpec, status: str = "ok", val_loss: float = 1.0) -> RunResult:
    metrics = {"val_loss": val_loss} if status == "ok" else {}
    curves = [{"epoch": 1, "val_loss": val_loss}] if status == "ok" else []
    return RunResult(spec=spec, status=status, metrics=metrics, curves=curves, error=None if status == "ok" else "boom")


def test_an_ok_row_is_immutable(store):
    spec = make_spec()
    assert store.put(make_result(spec, val_loss=1.0)) is True
    assert store.put(make_result(spec, val_loss=2.0)) is False
    [run] = store.runs()
    assert run.metrics["val_loss"] == 1.0
    assert [c["val_loss"] for c in store.curves()] == [1.0]


def test_a_failed_row_is_replaced_by_a_retry(store):
    spec = make_spec()
    store.put(make_result(spec, status="failed"))
    assert store.keys(("failed",)) == {spec.run_key}
    assert store.put(make_result(spec, val_loss=0.5)) is True
    assert store.keys(("ok",)) == {spec.run_key} and len(store.runs()) == 1


def test_a_claim_excludes_other_owners_until_it_ends(store):
    spec, me, other = make_spec(), new_owner_id(), new_owner_id()
    assert store.claim(spec.run_key, me, lease_seconds=60)
    assert not store.claim(spec.run_key, other, lease_seconds=60)
    assert [c.owner for c in store.claims()] == [me]
    store.put(make_result(spec))
    assert store.claims() == []
    assert not store.claim(spec.run_key, other, lease_seconds=60), "an ok run is never claimed again"


def test_a_failed_run_is_claimable_only_when_retrying(store):
    spec = make_spec()
    store.put(make_result(spec, status="failed"))
    assert not store.claim(spec.run_key, new_owner_id(), lease_seconds=60)
    assert store.claim(spec.run_key, new_owner_id(), lease_seconds=60, retry_failed=True)


def test_an_expired_lease_is_free_and_renewing_keeps_it(store):
    first, second, third = make_spec(4), new_owner_id(), new_owner_id()
    holder = new_owner_id()
    assert store.claim(first.run_key, holder, lease_seconds=0.3)
    assert store.renew(holder, lease_seconds=60) == 1
    time.sleep(0.4)
    assert not store.claim(first.run_key, second, lease_seconds=60), "renewed lease still holds"
    store.release(first.run_key, holder)
    assert store.claim(first.run_key, second, lease_seconds=0.2)
    time.sleep(0.3)
    assert store.claims() == []
    assert store.claim(first.run_key, third, lease_seconds=60), "expired lease is free"
    assert [owner for _, owner, _ in store.attempts()] == [holder, second, third]


def test_a_claim_of_a_dead_process_on_this_host_is_free_at_once(store):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host, _, _ = new_owner_id().partition(":")
    dead_owner = f"{host}:{dead.stdout.strip()}:deadbeef"
    spec = make_spec()
    assert store.claim(spec.run_key, dead_owner, lease_seconds=3600)
    assert store.claims() == []
    assert store.claim(spec.run_key, new_owner_id(), lease_seconds=60)


def _claim_all(url: str, keys: list[str], queue) -> None:
    store = open_store(url)
    owner = new_owner_id()
    queue.put([key for key in keys if store.claim(key, owner, lease_seconds=60)])
    store.close()


@pytest.mark.slow
def test_concurrent_claimers_in_separate_processes_split_the_runs(store_url, store):
    keys = [make_spec(width).run_key for width in range(1, 41)]
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_claim_all, args=(store_url, keys, queue)) for _ in range(3)]
    for worker in workers:
        worker.start()
    won = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join()
    claimed = [key for part in won for key in part]
    assert sorted(claimed) == sorted(keys), "each run claimed exactly once, none lost"


def test_an_older_store_is_migrated_in_place(tmp_path: Path):
    path = tmp_path / "runs.sqlite"
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[1]:
        db.execute(statement)
    db.execute("INSERT INTO runs VALUES ('k', '{}', 'ok', NULL, '{\"val_loss\": 3.0}', 'old', 1.0)")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    store = open_store(path)
    assert [run.metrics["val_loss"] for run in store.runs()] == [3.0]
    assert store.claim("other", new_owner_id(), lease_seconds=60)
    store.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_newer_store_is_refused_and_left_untouched(tmp_path: Path):
    path = tmp_path / "runs.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE future (x)")
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(UserError, match="newer scalinglab"):
        open_store(path)
    assert path.read_bytes() == before


def test_a_file_that_is_not_sqlite_is_refused_and_left_untouched(tmp_path: Path):
    path = tmp_path / "runs.sqlite"
    path.write_text("precious notes\n")
    with pytest.raises(UserError, match="not an SQLite file"):
        open_store(path)
    assert path.read_text() == "precious notes\n"


def test_a_foreign_sqlite_database_is_refused(tmp_path: Path):
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE customers (name)")
    db.commit()
    db.close()
    with pytest.raises(UserError, match="not a scalinglab store"):
        open_store(path)
    assert sqlite3.connect(path).execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 1


def test_an_output_folder_that_is_a_file_is_refused(tmp_path: Path):
    folder = tmp_path / "out"
    folder.write_text("keep me")
    with pytest.raises(UserError, match="is a file"):
        open_store(folder)
    assert folder.read_text() == "keep me"


def test_the_store_uses_wal_and_a_busy_timeout(store_url, store):
    db = sqlite3.connect(store_url.removeprefix("sqlite:///"))
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
