"""Fixtures of the compression tests: a tiny trained store with its checkpoints (training keeps
them), one torch thread as in tests/train."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from compress_helpers import TINY_COMPRESS_SWEEP
from one_thread import one_thread_and_a_session_cache  # noqa: F401  (imported: registered here)


@pytest.fixture(scope="session")
def _trained_store(tmp_path_factory) -> Path:
    from scalinglab.config import load_config
    from scalinglab.store import open_store
    from scalinglab.sweeper import run_sweep

    folder = tmp_path_factory.mktemp("trained")
    sweep = folder / "sweep.toml"
    sweep.write_text(TINY_COMPRESS_SWEEP.format(output=folder / "out"))
    config = load_config(sweep)
    store = open_store(config.output)
    try:
        run_sweep(config, store)  # training keeps every run's checkpoint
    finally:
        store.close()
    return config.output


@pytest.fixture
def trained_store(_trained_store: Path, tmp_path: Path) -> Path:
    """A fresh copy of a 2-run store (MLP widths 4 and 16) with checkpoints and no compressions."""
    copy = tmp_path / "out"
    shutil.copytree(_trained_store, copy)
    return copy
