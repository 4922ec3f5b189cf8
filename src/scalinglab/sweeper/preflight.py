"""Every check of a sweep that can be made before training, made before the first run is claimed.

A run that fails for a reason known in advance (a data size larger than the data, more folds
than examples of a class, a text shorter than one context window, a family that cannot read the
source, a model too large for memory, a fitted metric no run records) would otherwise be found
out run by run, each failure stored, and the sweep end with nothing to fit. `preflight` raises
one UserError naming the sweep field instead, and touches no store.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from contextlib import contextmanager

import numpy as np

from scalinglab.config import SweepConfig
from scalinglab.data import Dataset, training_subset
from scalinglab.errors import UserError
from scalinglab.families import Family, TaskShape, family_names, get_family
from scalinglab.families.base import takes_dropout
from scalinglab.metrics import METRICS
from scalinglab.run_spec import DataSpec, RunSpec, TrainingSpec
from scalinglab.sweeper.budgets import task_shape
from scalinglab.sweeper.plan import plan_runs

logger = logging.getLogger(__name__)

# Metrics only one kind of task records (metrics.py describes each); the rest every run records.
_LANGUAGE_MODEL_ONLY = frozenset(
    {
        "n_params_nonembedding",
        "train_bits_per_byte",
        "val_bits_per_byte",
        "train_tokens_per_second",
        "inference_tokens_per_second",
    }
)
_CLASSIFICATION_ONLY = frozenset(
    {
        "val_accuracy",
        "val_f1_macro",
        "baseline_val_accuracy",
        "baseline_val_f1_macro",
        "train_samples_per_second",
        "inference_samples_per_second",
    }
)
_COOLDOWN_ONLY = frozenset({"branch_tokens", "cooldown_steps", "cooldown_train_flops"})
_CROSS_VALIDATION_ONLY = frozenset({"cv_folds", "val_loss_fold_std", "val_accuracy_fold_std", "val_f1_macro_fold_std"})

# Bytes per parameter while training in fp32: weights and gradients, plus the optimizer's state
# (Adam keeps two moments per parameter, SGD with momentum one). Activations come on top.
_TRAINING_BYTES_PER_PARAM = {"adam": 16, "adamw": 16, "sgd": 12}


def preflight(config: SweepConfig) -> None:
    """Check `config` against its data, its family and this machine; return None when every run can start.

    Raises UserError naming the field (data.train_size, data.cv_folds, model.context,
    model.family, model, training.dropout, fit.metric, fit.x, fit.group_by, plan.target_*) and what is wrong.
    Loads each data source once (cached for the runs that follow) and writes nothing; a family
    without formulas is built once per size to count it and check its output shape. An
    objective sweep is the user's own training: only its configuration is checked (config.py).
    """
    if config.model.objective is not None:
        return
    family = get_family(config.model.family)
    with _where_data_was_set(config):  # planning loads data too: a [transfer] parent's shape
        specs = plan_runs(config)
    _check_dropout(family, specs, config)
    kinds = set()
    for data, sizes in _sizes_by_data(specs).items():
        dataset = _load(data, config, "transfer.source" if data in _pretraining_data(specs) else "data")
        kinds.add(dataset.kind)
        _check_family_reads(family, dataset, data, config)
        _check_folds(dataset, data, config)
        for size in sizes:
            _check_size_fits(family, size, dataset, config)
    _check_fit_columns(config, family, kinds)
    if config.plan is not None:  # a [plan] target no run could be, refused before a store exists
        from scalinglab.sweeper.planned import available_train_size, candidate_table, check_target

        check_target(config.plan, candidate_table(specs), available_train_size(specs))


def _check_dropout(family: Family, specs: list[RunSpec], config: SweepConfig) -> None:
    """A family whose build takes no `dropout` refuses any above 0: before any run, not in each."""
    asked = sorted({spec.training.dropout for spec in specs if spec.training.dropout})
    if asked and not takes_dropout(family):
        raise UserError(
            f"{config.where('training.dropout')}: {', '.join(map(str, asked))}, but family {type(family).__name__}'s "
            "build takes no `dropout` argument; leave training.dropout at 0, or give build a dropout argument"
        )


def check_data_parallel(config: SweepConfig, device: str, ray_resources: Mapping[str, float] | None = None) -> None:
    """Whether every `training.data_parallel` W can train here (train.data_parallel): each worker
    with at least one sample of every batch and its own core (or CUDA device) of this machine; on
    the Ray executor, its own CPU (or GPU) of the cluster, on any of its nodes
    (sweeper.ray_data_parallel), which only `ray_resources` (ray.cluster_resources(), once Ray
    started) tells: without them that count is not checked. Raises UserError naming the field."""
    widest = max(config.training.data_parallel)
    if widest == 1:
        return
    field = config.where("training.data_parallel")
    unsupported = {
        "model.objective": config.model.objective is not None,
        "data.cv_folds": config.data.cv_folds is not None,
        "training.cooldowns": config.training.cooldowns,
        "[transfer]": config.transfer is not None,
    }
    for name, present in unsupported.items():
        if present:
            raise UserError(f"{field} = {widest}: data-parallel training does not support {name}; use 1")
    if device == "mps":
        raise UserError(f"{field} = {widest}: data-parallel training runs on the CPU or CUDA devices, not on MPS")
    if min(config.training.batch_size) < widest:
        raise UserError(
            f"{field} = {widest}: each worker takes a share of every batch, so training.batch_size must be "
            f"at least {widest} (got {min(config.training.batch_size)})"
        )
    on_gpu = device.startswith("cuda")
    if config.execution.executor == "ray":
        if ray_resources is None:
            return  # known once Ray started: the driver asks again then, before any run
        have = int(ray_resources.get("GPU" if on_gpu else "CPU", 0))
        where, what = "the Ray cluster has", "GPU(s) in all" if on_gpu else "CPU(s) in all"
    elif on_gpu:
        from scalinglab.train.device import cuda_device_count

        have, where, what = cuda_device_count(), "this machine has", "CUDA device(s)"
    else:
        have, where, what = os.cpu_count() or 1, "this machine has", "CPU core(s)"
    if widest > have:
        raise UserError(f"{field} = {widest}: one worker per core or device, and {where} {have} {what}")


def _pretraining_data(specs: list[RunSpec]) -> set[DataSpec]:
    """The data of the [transfer] pretraining runs (the parents of target runs) that no target trains on."""
    parents = {spec.transfer.parent.run_key for spec in specs if spec.transfer is not None}
    targets = {spec.data for spec in specs if spec.run_key not in parents}
    return {spec.data for spec in specs if spec.run_key in parents} - targets


def _load(data: DataSpec, config: SweepConfig, section: str = "data") -> Dataset:
    """The training subset a run of `data` trains on (before preprocessing); an error names the
    field under `section`, where the data was set ([transfer.source] for a pretraining run's:
    its size was blamed on data.train_size)."""
    with _where_data_was_set(config, section):
        return training_subset(data)


@contextmanager
def _where_data_was_set(config: SweepConfig, section: str = "data"):
    """Re-raise the data layer's UserError ("data.path: ...") naming the file and section where the
    field was set ("sweep.toml: data.path: ...")."""
    try:
        yield
    except UserError as error:
        field, separator, problem = str(error).partition(": ")
        if separator and field.startswith("data."):
            raise UserError(f"{config.where(section + field.removeprefix('data'))}: {problem}") from None
        raise


def _sizes_by_data(specs: list[RunSpec]) -> dict[DataSpec, list[dict]]:
    """Each distinct data setting with the distinct model sizes trained on it."""
    grouped: dict[DataSpec, list[dict]] = {}
    for spec in specs:
        sizes = grouped.setdefault(spec.data, [])
        if spec.size not in sizes:
            sizes.append(spec.size)
    return grouped


def _is_language_model(family: Family) -> bool:
    # The training loop's own rule (train/tasks.py): a family with a context window reads text.
    return "context" in family.size_axes


def _check_family_reads(family: Family, dataset: Dataset, data: DataSpec, config: SweepConfig) -> None:
    wants_text = _is_language_model(family)
    if wants_text == (dataset.kind == "lm"):
        return
    suitable = [name for name in family_names() if _is_language_model(get_family(name)) == (dataset.kind == "lm")]
    what = "text" if dataset.kind == "lm" else "classification data"
    reads = "a language model (it reads text)" if wants_text else "a classifier"
    raise UserError(
        f"{config.where('model.family')}: '{family.name}' is {reads}, but data.source '{data.source}' is {what} "
        f"(families for it: {', '.join(suitable)})"
    )


def _check_folds(dataset: Dataset, data: DataSpec, config: SweepConfig) -> None:
    if data.cv_folds is None:
        return
    classes, counts = np.unique(dataset.y_train, return_counts=True)
    if counts.min() < data.cv_folds:
        size = f"data.train_size = {data.train_size}" if data.train_size is not None else "all the training data"
        raise UserError(
            f"{config.where('data.cv_folds')}: {data.cv_folds} folds need {data.cv_folds} training examples of "
            f"every class, but with {size} class '{classes[counts.argmin()]}' has {counts.min()}"
        )


def _check_size_fits(family: Family, size: dict, dataset: Dataset, config: SweepConfig) -> None:
    if dataset.kind == "lm":
        context = size["context"]
        for split, stream in (("training", dataset.x_train), ("validation", dataset.x_val)):
            if len(stream) < context + 1:
                raise UserError(
                    f"{config.where('model.context')}: {context} needs {context + 1} bytes of {split} text, "
                    f"but '{dataset.name}' has {len(stream)} (data.train_size {dataset.n_train})"
                )
    shape = task_shape(dataset, size)
    try:
        n_params = family.n_params(size, shape)
    except ValueError as error:  # e.g. a cnn given flat feature vectors
        raise UserError(f"{config.where('model.family')}: {error} (data.source '{dataset.name}')") from None
    except Exception as error:  # noqa: BLE001 - a plugin counted by building it: a failed build is its run's failure
        logger.debug("preflight: %s could not be counted (%s); its run will record why", size, error)
        return
    _check_memory(family, size, shape, n_params, config)


def _check_memory(family: Family, size: dict, shape: TaskShape, n_params: int, config: SweepConfig) -> None:
    if config.execution.executor == "ray":
        return  # runs on the cluster's machines, whose memory this one cannot see
    available = _available_bytes(config.execution.max_memory_mb)
    optimizer = config.training.optimizer
    needed = n_params * _TRAINING_BYTES_PER_PARAM.get(optimizer, 16)
    if needed <= available:
        return
    halved = _halved_counts(family, size, shape, n_params)
    described = ", ".join(f"{axis}={value}" for axis, value in size.items())
    blamed = ", ".join(f"{axis}={value} has {count:,}" for axis, value, count in halved)
    raise UserError(
        f"{_origins(config, [f'model.{axis}' for axis, _, _ in halved] or ['model'])}: {described} has "
        f"{n_params:,} parameters; training it needs at least {needed / 1e9:.3g} GB (weights, gradients, {optimizer} "
        f"state), more than the {available / 1e9:.3g} GB available" + (f" (halved, {blamed})" if halved else "")
    )


def _halved_counts(family: Family, size: dict, shape: TaskShape, n_params: int) -> list[tuple[str, int, int]]:
    """(axis, its value halved, the parameters then) for each axis that makes the model large: the
    ones whose halving alone cuts its parameters by at least a quarter (so an axis that hardly
    counts, such as a transformer's context or its number of heads, is not blamed), largest cut first."""
    halved = []
    for axis, value in size.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            continue
        smaller = {**size, axis: value // 2}
        try:
            family.check_size(smaller)
            count = family.n_params(smaller, shape)
        except Exception:  # noqa: BLE001 - a size the family cannot build says nothing about blame
            continue
        if count <= 0.75 * n_params:
            halved.append((axis, value // 2, count))
    return sorted(halved, key=lambda blamed: blamed[2])


def _origins(config: SweepConfig, locations: list[str]) -> str:
    """Where the values at `locations` came from, the file named once: 'sweep.toml: model.width,
    model.depth', '--set model.width, --set model.depth'."""
    origins = [config.where(location) for location in locations]
    source, separator, _ = origins[0].rpartition(": ")
    if separator and all(origin.startswith(f"{source}: ") for origin in origins):
        return f"{source}: {', '.join(origin.removeprefix(f'{source}: ') for origin in origins)}"
    return ", ".join(origins)


def _available_bytes(max_memory_mb: float | None) -> float:
    """Memory a run may use: the machine's available memory, or execution.max_memory_mb when smaller."""
    available = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = float(line.split()[1]) * 1024
    except OSError:
        pass  # not Linux: the physical memory is the bound
    return min(available, max_memory_mb * 1e6) if max_memory_mb is not None else available


def recorded_metrics(kinds: Iterable[str], *, cross_validated: bool, cooldowns: bool = False) -> set[str]:
    """Metrics every run of a sweep over data of these kinds ("classification", "lm") records."""
    recorded = set(METRICS)
    for kind in kinds:
        recorded -= _CLASSIFICATION_ONLY if kind == "lm" else _LANGUAGE_MODEL_ONLY
    if not cooldowns:
        recorded -= _COOLDOWN_ONLY
    return recorded if cross_validated else recorded - _CROSS_VALIDATION_ONLY


def _check_fit_columns(config: SweepConfig, family: Family, kinds: set[str]) -> None:
    metrics = recorded_metrics(
        kinds, cross_validated=config.data.cv_folds is not None, cooldowns=bool(config.training.cooldowns)
    )
    settings = {*family.size_axes, *DataSpec.model_fields, *TrainingSpec.model_fields, "seed"}
    for field, value, allowed in (
        ("fit.metric", config.fit.metric, metrics),
        ("fit.x", config.fit.x, metrics),
        ("fit.group_by", config.fit.group_by, metrics | settings),
    ):
        if value not in allowed:
            choices = ", ".join(sorted(allowed))
            raise UserError(f"{config.where(field)}: '{value}' is not recorded by these runs (choose one of {choices})")
