"""The Python API behind `scalinglab run` and `import scalinglab`: run a sweep, read its results,
load a trained model. The CLI parses arguments and prints; everything else happens here.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scalinglab.config import SweepConfig, TrainingConfig, config_from_dict, load_config
from scalinglab.debug import debug_enabled
from scalinglab.errors import UserError
from scalinglab.runs_table import PARAMS_PREFIX
from scalinglab.sweeper.driver import SweepInterrupted  # noqa: F401  (callers catch it from here; no torch)

if TYPE_CHECKING:
    import pandas as pd
    from torch import nn

    from scalinglab.analysis import Analysis
    from scalinglab.compress.driver import CompressOutcome
    from scalinglab.recommendation import Budgets, Recommendation
    from scalinglab.store import Store
    from scalinglab.sweeper.driver import SweepOutcome, SweepProgress

# The farthest beyond the largest trained size `recommend` searches: 1e300 built a grid of 3,000
# decades and crashed; no law's extrapolation means anything that far.
MAX_EXTRAPOLATION_SEARCHED = 1e4
logger = logging.getLogger(__name__)

_OBJECTIVE_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def _user_error_raised_here(function: Callable) -> Callable:
    """`function`, whose UserError reaches its caller raised from here, without the frames of
    scalinglab's internals that found it: the message names the mistake; where scalinglab noticed
    it is noise to the user (debug mode keeps the whole traceback)."""

    @functools.wraps(function)
    def public(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except UserError as error:
            if debug_enabled():
                raise
            raise error.with_traceback(None) from None

    return public


@_user_error_raised_here
def sweep(
    objective_or_config: Callable | str | Path | SweepConfig | None = None,
    *,
    sizes: Mapping[str, Any] | None = None,
    train_sizes: Sequence[int] | None = None,
    seeds: Sequence[int] | None = None,
    settings: Mapping[str, Any] | None = None,
    metric: str | None = None,
    out: str | Path | None = None,
    executor: str | None = None,
    workers: int | None = None,
    overrides: Iterable[str] = (),
    retry_failed: bool = False,
    report: bool = True,
    progress: SweepProgress | None = None,
) -> pd.DataFrame:
    """Run every run of a sweep that is not stored yet; return all stored runs, one row each
    (the rows of OUTPUT/runs.csv). `run_sweep` does the work; this returns its `runs`.

    `objective_or_config` is one of:
    - a training function `objective(run) -> dict` or its import path "module:function"
      (objective mode, see `scalinglab.train.objective`): `sizes` maps each size axis to its
      values, `train_sizes` and `seeds` are swept too, `settings` are handed to the objective in
      `run.settings`: `[training]` fields and any keys of its own (its `[params]`, stored as columns
      params.KEY), each a value or a list to sweep; `metric` is the quality metric it returns (val_loss);
    - a sweep TOML file, a SweepConfig, or None (the built-in quick start), with `overrides` as
      `--set` strings ("training.epochs=5").
    `out`, `executor` and `workers` override the sweep's output folder and execution settings.
    Rerunning trains only what is missing (`retry_failed`: failed runs again too). A sweep with a
    `[compress]` section then compresses its trained models (`compress_trained`). `report=False`
    skips the analysis and report.html (for a caller that sweeps again at once).

    Raises UserError, before anything is stored, when any input is wrong.
    """
    config = sweep_config(
        objective_or_config,
        sizes=sizes,
        train_sizes=train_sizes,
        seeds=seeds,
        settings=settings,
        metric=metric,
        out=out,
        executor=executor,
        workers=workers,
        overrides=overrides,
    )
    return run_sweep(config, retry_failed=retry_failed, report=report, progress=progress).runs


@dataclass
class SweepReport:
    """The report written from a store, and what a terminal shows of it."""

    analysis: Analysis
    path: Path
    headline: str  # the recommendation the report opens with (`report.html.headline`)
    compress_verdict: str | None  # the report's tally of compress-or-train-small verdicts; None without compressions


@dataclass
class SweepResult:
    """Everything one end-to-end sweep did and wrote (`run_sweep`)."""

    runs: pd.DataFrame  # every stored run, one row each, as written to `runs_csv`
    runs_csv: Path
    training: SweepOutcome  # what this call planned, found stored and trained
    compression: CompressOutcome | None  # the `[compress]` section's outcome; None without one
    report: SweepReport | None  # None when asked for none, or when nothing_finished_ok (nothing to fit)

    def nothing_finished_ok(self) -> bool:
        """True when no stored run can be fitted: none ok at this sweep's own length and its
        size's best learning rate (`best_lr`; a store's ok runs of other epochs are not this
        sweep's), whether this call trained runs that all failed or found them stored."""
        return not _fittable(self.runs)


@_user_error_raised_here
def run_sweep(
    config: SweepConfig | str | Path | None = None,
    *,
    retry_failed: bool = False,
    report: bool = True,
    progress: SweepProgress | None = None,
) -> SweepResult:
    """The one sweep pipeline, behind `sweep` and `scalinglab run`: train every run of `config`
    (a SweepConfig, a sweep file, or None for the quick start) missing from its store, compress
    as its `[compress]` section asks, write OUTPUT/runs.csv and (with `report`, once some run
    finished ok) analyse the runs and write OUTPUT/report.html.

    Raises UserError before anything is stored when `config` cannot run; SweepInterrupted (a
    KeyboardInterrupt) on Ctrl-C during training, once every finished run is stored;
    ReportInterrupted (one too) on Ctrl-C after it, while exporting, fitting or reporting.
    """
    from scalinglab.runs_table import results_frame

    if not isinstance(config, SweepConfig):
        config = sweep_config(config)
    store = open_sweep_store(config)
    try:
        training = run_config(config, store, retry_failed=retry_failed, progress=progress)
        compression = compress_trained(config, store)
        try:
            runs = results_frame(store)
            runs_csv = config.output / "runs.csv"
            runs.to_csv(runs_csv, index=False)
            written = (
                write_sweep_report(store, config.output / "report.html", runs=runs)
                if report and _fittable(runs)
                else None
            )
        except KeyboardInterrupt:
            raise ReportInterrupted(config.output) from None
        return SweepResult(runs, runs_csv, training, compression, written)
    finally:
        store.close()


class ReportInterrupted(KeyboardInterrupt):
    """Ctrl-C once training (and compression) finished, while the runs were exported, the laws
    fitted or the report written: every run is stored, and `scalinglab report` writes the rest."""

    def __init__(self, output: Path) -> None:
        super().__init__(output)
        self.output = output

    def __str__(self) -> str:
        return (
            "interrupted after training, while fitting or writing the report; every finished run is stored. "
            f"The report: scalinglab report {self.output}"
        )


def _fittable(runs: pd.DataFrame) -> bool:
    """Whether any stored run is one the laws are fitted to (ok, at the sweep's own length and
    its size's best learning rate: `runs_table.mark_best_lr`)."""
    return "best_lr" in runs and bool(runs["best_lr"].any())


def open_sweep_store(config: SweepConfig) -> Store:
    """The store `config` writes to, opened (created when new) only after every check that can be
    made before training passed, so a bad sweep leaves no file behind. Raises UserError."""
    from scalinglab.store import open_store
    from scalinglab.sweeper.driver import check_sweep

    check_sweep(config)
    return open_store(config.output)


def sweep_config(
    objective_or_config: Callable | str | Path | SweepConfig | None,
    *,
    overrides: Iterable[str] = (),
    out: str | Path | None = None,
    executor: str | None = None,
    workers: int | None = None,
    address: str | None = None,
    **objective_options: Any,
) -> SweepConfig:
    """The validated SweepConfig `sweep` runs (same arguments; `objective_options` are sizes,
    train_sizes, seeds, settings, metric; `address`: a Ray cluster, implies the ray executor).
    Raises UserError, one line naming the field, when anything is wrong."""
    overrides = [*overrides, *option_overrides(out=out, executor=executor, workers=workers, address=address)]
    if _is_objective(objective_or_config):
        raw = _objective_sweep(objective_or_config, **objective_options)
        return _check_workers_can_import(config_from_dict(raw, overrides, source="sweep()"))
    if given := [name for name, value in objective_options.items() if value is not None]:
        raise UserError(f"sweep(): {', '.join(given)} only apply to an objective; use overrides for a sweep file")
    if isinstance(objective_or_config, SweepConfig):
        raw = objective_or_config.model_dump(mode="json", exclude_unset=True)
        return _check_workers_can_import(config_from_dict(raw, overrides, source="sweep()"))
    return _check_workers_can_import(load_config(objective_or_config, overrides))


def _check_workers_can_import(config: SweepConfig) -> SweepConfig:
    """`config`, unless its objective is a function other processes cannot import (UserError)."""
    from scalinglab.families import importable_by_workers

    objective, executor = config.model.objective, config.execution.executor
    if objective is not None and executor != "serial" and not debug_enabled() and not importable_by_workers(objective):
        raise UserError(
            f"model.objective: '{objective}' cannot be imported by {executor} workers; "
            "define it in a module they can import, or use the serial executor"
        )
    return config


def option_overrides(*, out=None, executor=None, workers=None, address=None) -> list[str]:
    """Output and execution options as `--set` overrides, so one validator checks them all."""
    if address is not None and executor is None:
        executor = "ray"
    given = {"output": out, "execution.executor": executor, "execution.workers": workers, "execution.address": address}
    return [f"{name}={_toml_value(value)}" for name, value in given.items() if value is not None]


def _toml_value(value: Any) -> str:
    """A number as it is; anything else as a TOML basic string (JSON's quoting is valid TOML)."""
    return str(value) if isinstance(value, (int, float)) else json.dumps(str(value))


def run_config(
    config: SweepConfig, store: Store, *, retry_failed: bool = False, progress: SweepProgress | None = None
) -> SweepOutcome:
    """Train every run of `config` missing from `store` (the one implementation behind both
    `sweep` and `scalinglab run`). In debug mode runs train serially in this process, so a
    run's exception escapes with its traceback instead of becoming a failed row."""
    from scalinglab.sweeper import run_sweep

    if debug_enabled() and (config.execution.executor != "serial" or config.execution.max_memory_mb is not None):
        logger.info("debug mode: training serially in this process, so a run's exception is raised")
        config = config.model_copy(
            update={"execution": config.execution.model_copy(update={"executor": "serial", "max_memory_mb": None})}
        )
    return run_sweep(config, store, retry_failed=retry_failed, progress=progress)


def compress_trained(config: SweepConfig, store: Store) -> CompressOutcome | None:
    """Compress the sweep's trained models as its `[compress]` section asks (`compress_store`);
    None when it has no such section or no run finished ok (then there is nothing to compress)."""
    if config.compress is None or not store.keys(("ok",)):
        return None
    from scalinglab.compress import compress_store

    return compress_store(config.output)


def write_sweep_report(
    store: Store, path: str | Path, *, runs: pd.DataFrame | None = None, store_folder: Path | None = None
) -> SweepReport:
    """Analyse the runs in `store` (`runs`: its `results_frame`, when the caller has it) and write
    the report to `path` (with its compressions section when any compression is stored);
    `store_folder` is the sweep's folder its commands name (default `path`'s folder).
    Raises UserError when the store holds no runs."""
    from scalinglab.analysis import analyze
    from scalinglab.compress.compressions_table import compressions_frame
    from scalinglab.compress.verdict import DEPLOYED_COSTS, verdicts
    from scalinglab.compress.verdict_words import verdict_tally
    from scalinglab.report import write_report
    from scalinglab.report.html import headline
    from scalinglab.runs_table import curves_frame, results_frame

    frame = results_frame(store) if runs is None else runs
    if frame.empty:
        raise UserError(f"{Path(path).parent}: the store holds no runs yet")
    analysis = analyze(frame, config=store.config(), curves=curves_frame(store))
    compressions = compressions_frame(store)
    path = write_report(Path(path), analysis, compressions=compressions, store_folder=store_folder)
    tally = (
        verdict_tally(verdicts(compressions, cost=DEPLOYED_COSTS[0], metric=analysis.metric))
        if not compressions.empty
        else None
    )
    return SweepReport(analysis, path, headline(analysis), tally)


@_user_error_raised_here
def rewrite_report(out: str | Path, *, to: str | Path | None = None) -> SweepReport:
    """Fit the runs of the sweep stored at `out` (its folder or .sqlite file) again and write its
    report to `to` (default OUT/report.html), read-only on the store. Raises UserError, before
    any work, when there is no store there or `to` cannot be written."""
    from scalinglab.paths import check_output_file
    from scalinglab.store import open_store, output_folder, stored_database

    database = stored_database(out)  # a missing store is named before the output path
    target = Path(to) if to is not None else output_folder(out) / "report.html"
    check_output_file(target, option="--to" if to is not None else "default --to", suffixes=(".html", ".htm"))
    store = open_store(database, read_only=True)
    try:
        return write_sweep_report(store, target, store_folder=output_folder(out))
    finally:
        store.close()


@dataclass
class SweepRecommendation:
    """`recommend_for_sweep`'s answer: the trained size to choose, and the stored compressed
    model that does better within the same budgets, when there is one."""

    choice: Recommendation
    compressed_alternative: dict[str, Any] | None
    # `pretrained="available"`: the best stored run that starts from a pretrained parent ([transfer]).
    pretrained_alternative: dict[str, Any] | None = None


@_user_error_raised_here
def recommend_for_sweep(
    out: str | Path,
    budgets: Budgets,
    *,
    metric: str | None = None,
    data_available: float | None = None,
    max_extrapolation: float | None = None,
    compressed: bool = True,
    pretrained: str = "none",
    count_pretraining: bool = True,
    workers: int = 1,
) -> SweepRecommendation:
    """The size and data size to train under `budgets`, from the sweep stored at `out` (see
    `scalinglab.recommend`); with `compressed`, also the stored compressions that beat it.
    With `pretrained="available"`, also the best stored [transfer] run that starts from a pretrained
    model within the budgets (its pretraining cost counted in them when `count_pretraining`).
    `workers`: training times with that many data-parallel workers (`recommend`'s).
    Raises UserError, before fitting, for a budget, metric or option that cannot be used."""
    from scalinglab.analysis import analyze
    from scalinglab.analysis.pipeline import check_some_run_finished
    from scalinglab.compress.compressions_table import stored_compressions_frame
    from scalinglab.metrics import QUALITY
    from scalinglab.recommendation import (
        NOTHING_FITS,
        compressed_alternative,
        compressed_that_fits,
        pretrained_alternative,
        recommend,
    )
    from scalinglab.runs_table import load_results, stored_curves

    budgets.check()
    # At least one example, and at least the trained range (1x): less would be ignored, not obeyed.
    for option, value in (("--data-available", data_available), ("--max-extrapolation", max_extrapolation)):
        if value is not None and not (math.isfinite(value) and value >= 1):
            raise UserError(f"{option} {value:g}: must be a finite number >= 1")
    if max_extrapolation is not None and max_extrapolation > MAX_EXTRAPOLATION_SEARCHED:
        raise UserError(
            f"--max-extrapolation {max_extrapolation:g}: at most {MAX_EXTRAPOLATION_SEARCHED:g} (the largest trained "
            "size times that; a law says nothing so far beyond its data)"
        )
    if not (isinstance(workers, int) and workers >= 1):
        raise UserError(f"--workers {workers}: a whole number of data-parallel workers, at least 1")
    if pretrained not in ("available", "none"):
        raise UserError(f"--pretrained {pretrained}: choose available or none")
    frame, config = load_results(out)
    check_some_run_finished(frame)  # before the options checked against the runs' columns
    if pretrained == "available" and "transfer_mode" not in frame:
        raise UserError("--pretrained available: this sweep has no [transfer] runs (add a [transfer] section)")
    if metric is not None and (metric not in QUALITY or metric not in frame):
        known = ", ".join(c for c in QUALITY if c in frame)
        what = "not a quality metric" if metric in frame else "not a recorded column"
        raise UserError(f"--metric {metric}: {what} (choose one of {known})")
    analysis = analyze(frame, config=config, metric=metric, data_available=data_available, curves=stored_curves(out))
    try:
        choice = recommend(analysis, budgets, max_extrapolation=max_extrapolation, workers=workers)
    except UserError as nothing_fits:
        fitting = compressed_that_fits(stored_compressions_frame(out), budgets, analysis.metric) if compressed else None
        if fitting is None or not str(nothing_fits).startswith(NOTHING_FITS):
            raise
        raise UserError(f"{str(nothing_fits).removesuffix('; raise the budget')}; {fitting}") from None
    alternative = compressed_alternative(stored_compressions_frame(out), budgets, choice) if compressed else None
    from_pretrained = (
        pretrained_alternative(frame, budgets, choice, count_pretraining=count_pretraining)
        if pretrained == "available"
        else None
    )
    return SweepRecommendation(choice, alternative, from_pretrained)


EXPORT_FORMATS = ("csv", "parquet", "json")


@_user_error_raised_here
def export_runs(
    out: str | Path, *, format: str = "csv", to: str | Path | None = None, curves: bool = False
) -> tuple[Path, int]:
    """Write the stored runs of the sweep at `out` (one row per run, or with `curves` one per run
    and evaluation) as csv, parquet (needs pyarrow) or json records to `to` (default
    OUT/runs.FORMAT or OUT/curves.FORMAT); return the path and the number of rows. Raises
    UserError, before writing, for an unknown format, a missing store or a bad path."""
    from scalinglab.paths import check_output_file
    from scalinglab.runs_table import curves_frame, load_results
    from scalinglab.store import open_store, output_folder, stored_database

    if format not in EXPORT_FORMATS:
        raise UserError(f"--format {format}: choose one of {', '.join(EXPORT_FORMATS)}")
    frame, _ = load_results(out)
    target = Path(to) if to is not None else output_folder(out) / f"{'curves' if curves else 'runs'}.{format}"
    check_output_file(target, option="--to" if to is not None else "default --to", suffixes=(f".{format}",))
    if curves:
        store = open_store(stored_database(out), read_only=True)
        try:
            frame = _with_run_columns(curves_frame(store), frame)
        finally:
            store.close()
    _write_frame(frame, target, format)
    return target, len(frame)


# What a curve point takes from its run, so the exported curves can be fitted as they are
# (`scalinglab fit curves.csv --x n_params,tokens_seen --groups run_key --step tokens_seen`).
CURVE_RUN_COLUMNS = ("n_params", "train_size", "epochs", "seed", "status")


def _with_run_columns(curves: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """The curves with each point's run's size axes (an objective's own params) and
    CURVE_RUN_COLUMNS after `run_key`. An objective's runs have no size axes: what `size_axes`
    finds there are the numbers it returned, measured once per run, not at each point."""
    from scalinglab.analysis.runs import size_axes

    family_runs = "family" in runs and bool(runs["family"].notna().all())
    own = size_axes(runs) if family_runs else [c for c in runs if c.startswith(PARAMS_PREFIX)]
    columns = [c for c in (*own, *CURVE_RUN_COLUMNS) if c in runs and c not in curves]
    if curves.empty or not columns:
        return curves
    merged = curves.merge(runs[["run_key", *columns]], on="run_key", how="left")
    order = ["run_key", *columns, *(c for c in curves.columns if c != "run_key")]
    return merged[order]


def _write_frame(frame: pd.DataFrame, path: Path, format: str) -> None:
    if format == "csv":
        frame.to_csv(path, index=False)
    elif format == "json":
        frame.to_json(path, orient="records", indent=1)
    else:
        try:
            frame.to_parquet(path, index=False)
        except ImportError:
            raise UserError("--format parquet needs pyarrow: pip install pyarrow") from None


@_user_error_raised_here
def sweep_status(out: str | Path) -> dict[str, Any]:
    """How far the sweep stored at `out` has got (`sweeper.status.sweep_status`), read-only:
    never creates or changes a store."""
    from scalinglab.store import open_store
    from scalinglab.sweeper.status import sweep_status as status_of

    store = open_store(out, read_only=True)
    try:
        return status_of(store)
    finally:
        store.close()


@_user_error_raised_here
def results(out: str | Path) -> pd.DataFrame:
    """One row per stored run of the sweep at `out` (its folder or its .sqlite file), with the
    columns of runs.csv. Raises UserError when there is no store there; creates nothing."""
    from scalinglab.runs_table import stored_results

    return stored_results(out)[0]


@_user_error_raised_here
def load_model(out: str | Path, run_key: str) -> nn.Module:
    """The trained module of the run `run_key` of the sweep at `out`, in eval mode: rebuilt from
    the stored spec by its family and filled with OUT/checkpoints/<run_key>.safetensors.

    Raises UserError when there is no such store, run or checkpoint, or the run was trained by
    an objective (whose model is the objective's own).
    """
    from scalinglab.run_spec import RunSpec
    from scalinglab.store import stored_database
    from scalinglab.train.checkpoint import checkpoint_path, load_run_module
    from scalinglab.train.loop import run_task

    database = stored_database(out)
    spec = RunSpec.model_validate(_stored_spec(database, run_key))
    if spec.objective is not None:
        raise UserError(f"run {run_key}: trained by the objective {spec.objective}, which keeps its own model")
    path = checkpoint_path(database.parent, run_key)
    if not path.is_file():
        raise UserError(
            f"run {run_key}: no checkpoint at {path} (training.save_checkpoints was off, or the run did not finish ok)"
        )
    return load_run_module(spec, database.parent, run_task(spec.data, spec.size).shape)


def _stored_spec(database: Path, run_key: str) -> dict[str, Any]:
    from scalinglab.store import open_store

    store = open_store(database, read_only=True)
    try:
        runs = {run.run_key: run for run in store.runs()}
    finally:
        store.close()
    if run_key not in runs:
        raise UserError(f"run {run_key}: not in {database}")
    if runs[run_key].status != "ok":
        raise UserError(f"run {run_key}: status {runs[run_key].status}, it has no trained model")
    return runs[run_key].spec


def _is_objective(candidate: Any) -> bool:
    if callable(candidate) and not isinstance(candidate, type):
        return True
    return isinstance(candidate, str) and bool(_OBJECTIVE_PATH.match(candidate)) and not Path(candidate).exists()


def _objective_sweep(
    objective, *, sizes=None, train_sizes=None, seeds=None, settings=None, metric=None
) -> dict[str, Any]:
    """The sweep, as TOML tables, of an objective-mode call of `sweep`."""
    from scalinglab.families import objective_path

    path = objective_path(objective)
    settings = {name: _plain(values) for name, values in (settings or {}).items()}
    _warn_of_near_training_settings(settings)
    raw = {
        "name": path,
        "seeds": _plain(seeds) if seeds is not None else [0],
        "model": {"objective": path, **{axis: _plain(values) for axis, values in (sizes or {}).items()}},
        "training": {name: values for name, values in settings.items() if name in TrainingConfig.model_fields},
        "params": {name: values for name, values in settings.items() if name not in TrainingConfig.model_fields},
        "fit": {"metric": metric or "val_loss"},
    }
    if train_sizes is not None:
        raw["data"] = {"train_size": _plain(train_sizes)}
    return raw


def _warn_of_near_training_settings(settings: Mapping[str, Any]) -> None:
    """A key of `settings` that is not a training setting goes to the objective as its own
    hyperparameter (params.KEY), by design; one spelled like a training setting ("epoch") is
    most likely a typo of it, so say so (a warning: the objective may really want that key)."""
    from scalinglab.config_fields import did_you_mean

    for name in settings:
        if name not in TrainingConfig.model_fields and (hint := did_you_mean(name, TrainingConfig.model_fields)):
            logger.warning(
                "settings: %r is not a training setting, so it goes to the objective as params.%s%s", name, name, hint
            )


def _plain(values: Any) -> Any:
    """A sequence (tuple, range, numpy array) as a list; numpy scalars as Python numbers."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        return values.item() if hasattr(values, "item") else values
    return [value.item() if hasattr(value, "item") else value for value in values]
