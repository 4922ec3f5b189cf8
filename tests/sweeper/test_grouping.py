"""Which runs of a sweep train together (sweeper.grouping)."""

from __future__ import annotations

from sweep_helpers import tiny_spec

from scalinglab.run_spec import RunSpec, TrainingSpec
from scalinglab.sweeper.grouping import plan_batches
from scalinglab.train.batched import batch_key


def _run(width: int, *, seed: int = 0, epochs: int = 3, **training) -> RunSpec:
    spec = tiny_spec(width, epochs=epochs, depth=2)
    return spec.model_copy(
        update={"seed": seed, "training": TrainingSpec(**{**spec.training.model_dump(), **training})}
    )


def test_plan_batches_groups_compatible_runs_only():
    same_arch = [_run(64, seed=s, lr=lr) for s in (0, 1) for lr in (1e-3, 1e-2)]
    wide = [_run(512, seed=0), _run(512, seed=1)]
    wider = _run(1024)  # compute-bound widths are not padded: it trains apart
    other_epochs = _run(64, epochs=5)
    with_dropout = [_run(64, dropout=0.1), _run(64, dropout=0.1, seed=1)]
    groups = plan_batches([*same_arch, *wide, wider, other_epochs, *with_dropout], max_runs=64)
    as_keys = sorted(sorted(s.run_key for s in group) for group in groups)
    assert sorted(s.run_key for s in same_arch) in as_keys
    assert sorted(s.run_key for s in wide) in as_keys
    assert [other_epochs.run_key] in as_keys and [wider.run_key] in as_keys
    assert all([s.run_key] in as_keys for s in with_dropout), "dropout masks could not match a lone run's"
    assert batch_key(with_dropout[0]) is None


def test_plan_batches_keeps_distant_widths_apart_and_respects_the_cap():
    runs = [_run(width, seed=seed) for width in (8, 32, 128, 256, 1024) for seed in (0, 1)]
    groups = plan_batches(runs, max_runs=64)
    widths = sorted(sorted({s.size["width"] for s in group}) for group in groups)
    assert widths == [[8, 32], [128], [256], [1024]]  # small widths share a padded group; wide ones do not
    capped = plan_batches(runs, max_runs=3)
    assert max(len(group) for group in capped) <= 3
    assert sorted(s.run_key for group in capped for s in group) == sorted(s.run_key for s in runs)
    assert all(len(group) == 1 for group in plan_batches(runs, max_runs=1))
