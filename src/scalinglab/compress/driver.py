"""Compress the stored runs: plan one CompressionSpec per (ok run with a checkpoint, method,
settings), make and measure each one that is not stored yet, store each the moment it is done.

Like training: an ok row is never made again (a rerun, or a rerun after kill -9, makes only what
is missing), and a method that raises is stored as a failed row with its error, so one bad
compression never stops the others.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from scalinglab.compress.compression_spec import CompressionSpec
from scalinglab.compress.registry import method_named
from scalinglab.compress.settings import NO_COMPRESSION, CompressConfig, compress_config
from scalinglab.debug import recorded_error
from scalinglab.errors import UserError
from scalinglab.run_spec import RunSpec

log = logging.getLogger("scalinglab.compress")


@dataclass
class CompressOutcome:
    """What one call did: compressions planned, already stored, made now, by status, and time."""

    planned: int
    already_stored: int
    made: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    parents: int = 0
    without_checkpoint: int = 0  # ok runs matching `where` that have no checkpoint: skipped
    seconds: float = 0.0

    def to_dict(self) -> dict:
        names = ("planned", "already_stored", "made", "by_status", "parents", "without_checkpoint", "seconds")
        return {name: getattr(self, name) for name in names}

    def summary(self) -> str:
        """One line for a terminal: what was planned, found and made, by status."""
        statuses = "".join(f", {count} {status}" for status, count in sorted(self.by_status.items()))
        return (
            f"{self.planned} compressions planned, {self.already_stored} already stored, {self.made} made"
            f"{statuses} in {self.seconds:.1f} s (from {self.parents} trained runs)"
        )


def compress_store(
    out: str | Path,
    *,
    methods: list[str] | None = None,
    overrides: list[str] = (),
    where: str | None = None,
    retry_failed: bool = False,
    torch_threads: int = 1,
    on_done: Callable[[CompressionSpec, str], None] | None = None,
) -> CompressOutcome:
    """Make and store every planned compression of the ok runs of the sweep at `out` (its folder,
    .sqlite file or sqlite:///PATH, see `scalinglab.store.store_location`) that has a
    checkpoint and matches `where` (a condition on the columns of runs.csv, e.g. 'n_params > 1000').

    `methods` (default: the stored `[compress]` section's, else all) and `overrides`
    (`METHOD.KEY=VALUE`) choose what is planned. Models run on `torch_threads` intra-op threads
    (one by default: batch-1 inference of small models is fastest on one, and extra threads
    spin-wait on a shared machine); parents and compressed models alike, so latencies compare.
    Raises UserError, before anything is written,
    for an unknown method, an invalid setting, a store without checkpoints, or a `where` that
    matches no run.
    """
    from scalinglab.store import open_store, output_folder, stored_database

    started = time.perf_counter()
    database = stored_database(out)
    out = output_folder(out)
    compress_config(None, overrides, methods=methods)  # refuse bad settings before opening anything
    _require_checkpoints(out)
    store = open_store(database)
    try:
        config = compress_config((store.config() or {}).get("compress"), overrides, methods=methods)
        parents, without_checkpoint = _parents(store, out, where)
        planned = plan(config, parents)
        asked = [name for name in config.methods if name != NO_COMPRESSION]  # "none" only measures the parents
        if not planned or (asked and not any(spec.method in asked for spec in planned)):
            raise UserError(f"nothing to compress: {_why_nothing_applies(config, parents, asked)}")
        done = _stored_keys(store, retry_failed)
        todo = [spec for spec in planned if spec.key not in done]
        outcome = CompressOutcome(
            planned=len(planned),
            already_stored=len(planned) - len(todo),
            parents=len(parents),
            without_checkpoint=without_checkpoint,
        )
        latency_repeats = int(((store.config() or {}).get("measure") or {}).get("latency_repeats", 50))
        with _torch_threads(torch_threads):
            _make_all(todo, {spec.run_key: spec for spec in parents}, out, store, outcome, latency_repeats, on_done)
    finally:
        store.close()
    outcome.seconds = time.perf_counter() - started
    return outcome


def stored_compressions(out: str | Path) -> list[dict]:
    """The compression rows of the store at `out`, oldest first (see SQLiteStore.compressions)."""
    from scalinglab.store import open_store

    store = open_store(out, read_only=True)
    try:
        return store.compressions()
    finally:
        store.close()


def plan(config: CompressConfig, parents: list[RunSpec]) -> list[CompressionSpec]:
    """Every compression of `parents` that `config` asks for, parent by parent.

    A method is planned only for the families it applies to (`Method.families`: cross-layer
    sharing only for the transformer, built of identical blocks).
    Distillation is planned only from a teacher, the largest size among the parents alike in
    everything but size, with every other size of them as a student.
    """
    planned = []
    teachers = _teachers_and_students(parents)
    for parent in parents:
        for method in config.methods:
            for settings in config.settings_of(method):
                if not method_named(method).applies_to(parent.family):
                    continue
                if method != "distill":
                    planned.append(CompressionSpec(parent_run_key=parent.run_key, method=method, settings=settings))
                    continue
                for student in teachers.get(parent.run_key, []):
                    planned.append(
                        CompressionSpec(
                            parent_run_key=parent.run_key, method=method, settings={**settings, "student": student}
                        )
                    )
    return planned


def _teachers_and_students(parents: list[RunSpec]) -> dict[str, list[dict]]:
    """teacher run_key -> the sizes of its students (the smaller sizes alike in all else)."""
    groups: dict[str, list[RunSpec]] = {}
    for spec in parents:
        groups.setdefault(spec.model_copy(update={"size": {}}).run_key, []).append(spec)
    result = {}
    for alike in groups.values():
        ranked = sorted(alike, key=_n_params)
        teacher = ranked[-1]
        students = [spec.size for spec in ranked if _n_params(spec) < _n_params(teacher)]
        if students:
            result[teacher.run_key] = students
    return result


def _n_params(spec: RunSpec) -> int:
    from scalinglab.compress.measure_compressed import task_for
    from scalinglab.families import get_family

    return get_family(spec.family).n_params(spec.size, task_for(spec).shape)


@contextlib.contextmanager
def _torch_threads(threads: int):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _require_checkpoints(out: Path) -> None:
    from scalinglab.train.checkpoint import CHECKPOINT_FOLDER

    folder = out / CHECKPOINT_FOLDER
    if not any(folder.glob("*.safetensors")):
        raise UserError(
            f"{folder}: no checkpoints, so there is nothing to compress (these runs were trained before "
            "checkpoints were saved; train them again with checkpoints on)"
        )


def _why_nothing_applies(config: CompressConfig, parents: list[RunSpec], methods: list[str]) -> str:
    """Why `plan` planned none of `methods`, method by method (seen: '--methods share' on MLP runs
    and int4 dynamic quantization each printed '0 compressions planned' and exit 0)."""
    families = sorted({parent.family for parent in parents})
    reasons = []
    for name in methods:
        method = method_named(name)
        if not any(method.applies_to(family) for family in families):
            reasons.append(
                f"{name} applies to {', '.join(method.families)} runs only (these are {', '.join(families)})"
            )
        elif not config.settings_of(name):
            reasons.append(
                f"{name}: none of the combinations of compress.{name}'s settings can be made (docs/compression.md)"
            )
        else:
            reasons.append(f"{name}: no parent alike in all but size to distill from (it needs 2+ sizes)")
    return "; ".join(reasons)


def _parents(store, out: Path, where: str | None) -> tuple[list[RunSpec], int]:
    """The ok runs with a checkpoint that satisfy `where`, and how many more satisfy it without one.

    Of a [transfer] sweep, its scratch runs only, the runs its laws are fitted on: a pretraining
    run is a model of other data (its checkpoint does not even load into the target's shape), and
    fine-tuned and scratch models of one size were averaged as if two seeds of one model."""
    from scalinglab.analysis.runs import ok_runs
    from scalinglab.analysis.transfer import split_transfer_runs
    from scalinglab.fit.table import filter_rows
    from scalinglab.runs_table import results_frame
    from scalinglab.train.checkpoint import CHECKPOINT_FOLDER, checkpoint_path

    every = results_frame(store)  # a pretraining run is known by its children, failed ones included
    scratch, _ = split_transfer_runs(every)
    frame = ok_runs(scratch)
    if where:
        frame = filter_rows(frame, where, what="--where")
    matching = list(frame.get("run_key", []))
    keys = [key for key in matching if checkpoint_path(out, key).is_file()]
    if not keys:
        raise UserError(
            f"--where {where}: no ok run with a checkpoint matches"
            if where
            else f"{out}: no ok run has a checkpoint in {out / CHECKPOINT_FOLDER}"
        )
    if len(keys) < len(matching):
        log.warning("%d of %d runs have no checkpoint and are not compressed", len(matching) - len(keys), len(matching))
    specs = {run.run_key: RunSpec.model_validate(run.spec) for run in store.runs()}
    return [specs[key] for key in keys], len(matching) - len(keys)


def _stored_keys(store, retry_failed: bool) -> set[str]:
    return {row["compression_key"] for row in store.compressions() if row["status"] == "ok" or not retry_failed}


def _make_all(
    todo, parents: dict[str, RunSpec], out: Path, store, outcome: CompressOutcome, latency_repeats: int, on_done
) -> None:
    """Make, measure and store each compression; parents are loaded once for all theirs."""
    loaded: dict[str, object] = {}
    for spec in todo:
        parent_spec = parents[spec.parent_run_key]
        try:
            if spec.parent_run_key not in loaded:
                loaded = {spec.parent_run_key: load_parent(parent_spec, out)}  # one parent in memory at a time
            metrics = make_and_measure(spec, loaded[spec.parent_run_key], latency_repeats)
            status, error = "ok", None
        except Exception as exc:  # a failed compression is data, not a crashed command
            status, error, metrics = "failed", recorded_error(exc), {}
            log.warning("%s failed: %s", spec.label(), error)
        store.put_compression(spec.key, spec.parent_run_key, spec.model_dump(mode="json"), status, error, metrics)
        outcome.made += 1
        outcome.by_status[status] = outcome.by_status.get(status, 0) + 1
        if on_done is not None:
            on_done(spec, status)


def load_parent(spec: RunSpec, out: Path):
    """The trained model of `spec`, rebuilt from its checkpoint, with its task."""
    from scalinglab.compress.measure_compressed import task_for
    from scalinglab.compress.methods import Parent
    from scalinglab.train.checkpoint import load_run_module

    task = task_for(spec)
    return Parent(spec=spec, model=load_run_module(spec, out, task.shape), task=task)


def make_and_measure(spec: CompressionSpec, parent, latency_repeats: int) -> dict[str, float]:
    """Apply the method, measure the result; the `none` row also records the complexity measures."""
    from scalinglab.compress.complexity import complexity
    from scalinglab.compress.measure_compressed import measure_model
    from scalinglab.compress.methods import APPLY

    started = time.perf_counter()
    compressed = APPLY[spec.method](parent, **spec.settings)
    seconds = time.perf_counter() - started
    metrics = {
        **measure_model(compressed.model, parent.task, deployed=compressed.deployed, latency_repeats=latency_repeats),
        "nonzero_params": float(compressed.nonzero_params),
        "n_params": float(compressed.parameter_count()),
        "compress_seconds": seconds,
        **compressed.metrics,
    }
    if spec.method == "none":
        metrics.update(complexity(parent.model, parent.task))
    return metrics
