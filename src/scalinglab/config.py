"""A sweep, as the user writes it: a TOML file validated by pydantic.

Every field of `[model]`, `[data]` and `[training]` whose type says `Sweep[...]` may be given as a
single value (fixed) or as a list (swept). The planner takes the cartesian product of every list
and of `seeds`. Unknown keys are errors, so a typo never silently falls back to a default.

    name = "quickstart"
    output = "scalinglab-out"
    seeds = [0, 1]

    [model]
    family = "mlp"
    width = [16, 32, 64, 128]     # a list sweeps
    depth = 2                     # a scalar is fixed

    [data]
    source = "digits"
    train_size = [300, 600, 1200]

    [training]
    epochs = 30
    lr = 3e-3

A sweep of the user's own training function (objective mode, `model.objective`) may also give it
hyperparameters of its own in `[params]` (any keys; a list sweeps), beside the `[training]` fields.

Command-line overrides use dotted paths: `--set training.epochs=5 --set model.width=[8,16]`.

Types are strict: an integer field takes an integer (not `true`, not `5.0`, not `"5"`), a number
field an integer or a float. A swept list may not be empty; a value listed twice runs once, with a
warning. A field that does not apply to the chosen source (`data.path` for a built-in source,
`label_column` for anything but csv, `cv_folds` for text) is an error, not silently ignored. A
relative `data.path` (or `transfer.source.path`) in a sweep file is read from the sweep file's folder.
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Annotated, Any, Literal

import tomllib
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from scalinglab.compress.settings import CompressConfig
from scalinglab.config_fields import (
    Strict,
    Sweep,
    apply_override,
    as_list,
    did_you_mean,
    distinct,
    first_problem,
    sweep_file_fields,
)
from scalinglab.errors import UserError
from scalinglab.run_spec import DataSpec, TeacherSpec, TrainingSpec

# Sources whose data is the user's file or folder at `data.path`; the others are built in.
PATH_SOURCES = ("csv", "npz", "text")
TEXT_SOURCES = ("stdlib", "text")


class TeacherConfig(TeacherSpec):
    """`[data.teacher]`, the fields of TeacherSpec with the sweep file's strict types."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ModelConfig(BaseModel):
    """Which family to train and its size axes (the axes are the family's own, e.g. width, depth;
    an axis left out takes the family's default). `family` is a built-in name or a plugin,
    "package.module:ClassName". Objective mode: `objective = "module:function"` names the user's
    training function instead, and every other key is one of its size axes."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    family: str = "mlp"
    objective: str | None = None

    @model_validator(mode="after")
    def _check_size_axes(self) -> ModelConfig:
        from scalinglab.families import get_family

        for axis, values in (self.model_extra or {}).items():
            if values == []:
                raise ValueError(f"{axis}: empty list; give at least one value")
            distinct(as_list(values), axis)  # the planner runs each size once
        if self.objective is not None:
            self._check_objective()
            return self
        try:
            family = get_family(self.family)
        except UserError as error:  # it names model.family; re-raised so that the file or --set is named too
            raise ValueError(f"family: {str(error).removeprefix('model.family: ')}") from None
        axes = self.axes()
        for axis in family.size_axes:
            if axis not in axes:
                raise ValueError(f"{axis}: required by family '{self.family}', which has no default for it")
        for axis, values in axes.items():
            if axis not in family.size_axes:
                known = ", ".join(family.size_axes)
                raise ValueError(
                    f"{axis}: not a size axis of family '{self.family}' (known: {known})"
                    f"{did_you_mean(axis, family.size_axes)}"
                )
            for value in values:
                try:
                    family.check_axis_value(axis, value)
                except ValueError as error:
                    raise ValueError(f"{axis}: {error}") from None
        for combination in itertools.product(*axes.values()):
            family.check_size(dict(zip(axes, combination)))
        return self

    def _check_objective(self) -> None:
        """Before any work: the objective can be had and its size axes hold plain values (the
        objective is given them as they are). Raises ValueError naming the field."""
        from scalinglab.families import resolve_objective

        if "family" in self.model_fields_set:
            raise ValueError("objective: a sweep has either a family or an objective, not both")
        try:
            resolve_objective(self.objective)
        except UserError as error:  # re-raised as the field's problem, so the file or --set is named too
            raise ValueError(f"objective: {str(error).removeprefix('model.objective: ')}") from None
        for axis, values in self.axes().items():
            for value in values:
                if not isinstance(value, (bool, int, float, str)):
                    raise ValueError(f"{axis}: must be a number or a string (got {value!r})")

    def axes(self) -> dict[str, list[Any]]:
        """Every size axis of the family as a list of values: the user's, else the family's default."""
        from scalinglab.families import get_family

        given = {key: as_list(value) for key, value in (self.model_extra or {}).items()}
        if self.objective is not None:
            return given
        defaults = {axis: [value] for axis, value in get_family(self.family).default_size.items()}
        return {**defaults, **given}


# Every data setting of a run (run_spec.DataSpec, where each is declared), as the sweep file's
# [data] table takes it: train_size and preprocessing may be lists, the source defaults to the
# digits, and the teacher's table is typed strictly.
_RunDataSettings = create_model(
    "_RunDataSettings",
    __base__=Strict,
    __module__=__name__,
    **{
        **sweep_file_fields(DataSpec, sweepable=DataSpec.sweepable),
        "source": (str, "digits"),
        "teacher": (TeacherConfig | None, None),
    },
)


class DataConfig(_RunDataSettings):
    """Where the data comes from and how much of it each run trains on: every DataSpec setting,
    and the compute budgets that may stand in for the data sizes.

    Sources: digits, mnist (MNIST-5k), teacher (teacher-student, see `[data.teacher]`), stdlib
    (the Python standard library's source as bytes, for the transformer), csv / npz (the user's
    classification data at `path`), text (the user's text file or folder at `path`).
    """

    # Training compute budgets (FLOPs) instead of data sizes: an IsoFLOP grid, each model size
    # trained on as many samples as each budget buys it (sweeper.budgets). Not with train_size.
    train_flops: Sweep[Annotated[float, Field(gt=0, strict=False)]] | None = None

    @model_validator(mode="before")
    @classmethod
    def _teacher_defaults(cls, data):
        """Source 'teacher' without a [data.teacher] table takes the default teacher (filled in
        before validation: an after-validator may not return a copy of a frozen model)."""
        if isinstance(data, dict) and data.get("source") == "teacher" and data.get("teacher") is None:
            return {**data, "teacher": {}}
        return data

    @model_validator(mode="after")
    def _fields_fit_the_source(self) -> DataConfig:
        from scalinglab.data import source_names

        if self.source not in source_names():
            raise ValueError(f"source: unknown source '{self.source}' (known: {', '.join(source_names())})")
        if self.path is not None and self.source not in PATH_SOURCES:
            raise ValueError(
                f"path: only used with source {', '.join(PATH_SOURCES)} (source '{self.source}' is built in)"
            )
        if self.label_column != "label" and self.source != "csv":
            raise ValueError(f"label_column: only used with source 'csv' (source is '{self.source}')")
        # Not "was it set": a stored sweep's full dump sets every field, at its default for text.
        if self.source in TEXT_SOURCES and as_list(self.preprocessing) != [
            DataSpec.model_fields["preprocessing"].default
        ]:
            raise ValueError(
                f"preprocessing: for classification features; source '{self.source}' is text, read as bytes "
                "(each value would train the same runs again)"
            )
        if self.cv_folds is not None and self.source in TEXT_SOURCES:
            raise ValueError(
                f"cv_folds: for classification data; source '{self.source}' is text, validated on held-out text"
            )
        if self.train_flops is not None and self.train_size is not None:
            raise ValueError("train_flops: give compute budgets or data sizes (train_size), not both")
        if self.source != "teacher" and self.teacher is not None:
            raise ValueError(f"teacher: only used with source = 'teacher' (source is '{self.source}')")
        return self


# Every setting of a run (run_spec.TrainingSpec, where each is declared), as the sweep file takes it:
# those TrainingSpec lists as sweepable may be lists, and lr may be "auto" (a per-size search).
_RunTrainingSettings = create_model(
    "_RunTrainingSettings",
    __base__=Strict,
    __module__=__name__,
    **sweep_file_fields(TrainingSpec, sweepable=TrainingSpec.sweepable, also={"lr": Literal["auto"]}),
)


class TrainingConfig(_RunTrainingSettings):
    """How each run trains: every TrainingSpec setting (each changes a run's key), and how the
    sweep watches and keeps its runs (these do not)."""

    max_seconds: float | None = Field(None, gt=0)
    # Where runs compute: "auto" (CUDA, then MPS, then CPU), "cpu", "cuda", "cuda:N", "mps". Not
    # part of a run's key (it is where a run ran, not what it is); stored with each run.
    device: str = "auto"
    # Keep every ok run's final weights in OUT/checkpoints/<run_key>.safetensors; left out: only
    # models under 100 MB of fp32 weights are kept.
    save_checkpoints: bool | None = None
    # Cooldown branches (schedule = "wsd", one pass): the data axis's smaller sizes are not trained
    # from scratch but branched from the largest size's run at its stable rate and cooled down,
    # each stored as a run of its own with its parent recorded (train.cooldown; Hägele et al. 2024).
    cooldowns: bool = False


class ExecutionConfig(Strict):
    """Where and how runs execute. Does not change results, so it is not part of a run's key.

    `workers` omitted: every CPU for the pool, every CPU of the cluster for Ray. `retries`: how
    many more times a run is trained when its worker process dies under it (not when the run
    itself fails). `max_memory_mb`: private resident memory one run may hold before it is
    killed and recorded as failed. `lease_seconds`: how long a claim on a run outlives its
    driver's last sign of life.
    """

    executor: Literal["serial", "pool", "ray"] = "serial"
    workers: int | None = Field(None, gt=0)
    address: str | None = None
    retries: int = Field(1, ge=0)
    max_memory_mb: float | None = Field(None, gt=0)
    lease_seconds: float = Field(120.0, gt=0)
    # Train compatible runs (one architecture; seeds, learning rates, data sizes... may differ)
    # together in one vectorised pass: "auto" (groups sized to keep every worker busy), "off",
    # or at most N runs per group.
    batch: Literal["auto", "off"] | Annotated[int, Field(gt=0)] = "auto"

    @model_validator(mode="after")
    def _address_needs_ray(self) -> ExecutionConfig:
        if self.address is not None and self.executor != "ray":
            raise ValueError(f"address: only used by the ray executor (executor is '{self.executor}')")
        return self


class LRSearchConfig(Strict):
    """The per-size learning-rate search that `training.lr = "auto"` runs: successive halving.

    Every candidate trains on the first seed for a short budget; the best 1/`reduction_factor`
    go on with `reduction_factor` times the epochs, until one is left; it then trains for the
    full `training.epochs` with every seed.
    """

    candidates: list[Annotated[float, Field(gt=0)]] = Field([3e-4, 1e-3, 3e-3, 1e-2, 3e-2], min_length=2)
    reduction_factor: int = Field(3, ge=2)


class MeasureConfig(Strict):
    """How costs are measured. Not part of a run's key: it does not change what is trained."""

    latency_repeats: int = Field(50, gt=0)


class FitConfig(Strict):
    """Which law the run command fits at the end."""

    metric: str = "val_loss"
    x: str = "n_params"
    group_by: str = "train_size"


class PlanConfig(Strict):
    """[plan]: train, round by round, only the runs of the grid that most shrink the prediction
    interval at the target per unit of their training FLOPs (docs/planning.md). The grid is the
    candidate pool; the sweep stops at the tolerance or the budget."""

    # Where the answer is wanted; each left out: the grid's largest. Or target_compute: the
    # compute-optimal point (size, data) at that many training FLOPs (sweeper.planned.target_rows).
    target_n_params: float | None = Field(None, ge=1, strict=False)  # a model of 1+ parameter
    target_train_size: float | None = Field(None, ge=1, strict=False)  # on 1+ example
    target_compute: float | None = Field(None, gt=0, strict=False)
    # At most one budget: estimated training FLOPs, a share of the whole grid's, or measured
    # training seconds (train_seconds of the runs trained).
    budget_flops: float | None = Field(None, gt=0, strict=False)
    budget_fraction: float | None = Field(None, gt=0, le=1, strict=False)
    budget_seconds: float | None = Field(None, gt=0, strict=False)
    # Stop once the target's 95 % interval is within +-tolerance of its prediction (0.02: 2 %).
    tolerance: float | None = Field(None, gt=0, strict=False)
    # Runs per round; None: the executor's workers.
    batch: int | None = Field(None, ge=1)
    form: str = "chinchilla"
    seed: int = Field(0, ge=0)

    @field_validator("form")
    @classmethod
    def _a_form_of_size_and_data(cls, form: str) -> str:
        """The planned sweep fits its law to two inputs, n_params and train_size: refuse any other
        form before a run is trained (seen: 'power' refused after 6 runs)."""
        from scalinglab.errors import UserError
        from scalinglab.fit.forms import AUTO, FORMS, get_form

        if form == AUTO:
            return form
        try:
            get_form(form)  # one message for an unknown form, with the nearest names
        except UserError as error:
            raise ValueError(str(error).removeprefix(f"form {form!r}: ")) from None
        if FORMS[form].n_inputs != 2:
            two = [name for name, known in FORMS.items() if known.n_inputs == 2]
            raise ValueError(
                f"{form!r} takes {FORMS[form].n_inputs} input(s); the planned sweep's law takes n_params and "
                f"train_size: choose one of {', '.join([*two, AUTO])}"
            )
        return form

    @model_validator(mode="after")
    def _one_budget(self) -> PlanConfig:
        given = [
            name for name in ("budget_flops", "budget_fraction", "budget_seconds") if getattr(self, name) is not None
        ]
        if len(given) > 1:
            raise ValueError(f"give one of budget_flops, budget_fraction or budget_seconds, not {' and '.join(given)}")
        if self.target_compute is not None and (self.target_n_params is not None or self.target_train_size is not None):
            raise ValueError(
                "target_compute asks for the optimum size and data size: not with target_n_params or target_train_size"
            )
        return self


class TransferConfig(Strict):
    """[transfer]: pretrained or from scratch as a sweep axis (Hernandez et al. 2021, "Scaling Laws
    for Transfer"; docs/sweep-file.md#transfer). Each model size is pretrained once on `[transfer.source]`, as
    a run of its own with its checkpoint; every `finetune` (all weights train) or `features` (body
    frozen, a new head trains) run of that size starts from it; `scratch` runs start fresh.
    `source = "family"`: no pretraining here; each size's pretraining run loads the family's own
    pretrained weights (`Family.pretrained_state_dict`, docs/plugins.md) instead, at a cost unknown."""

    mode: Sweep[Literal["scratch", "finetune", "features"]] = ["scratch", "finetune"]
    source: DataConfig | Literal["family"] = DataConfig(source="mnist")
    # Pretraining settings; each left out: the [training] value (the first, when swept).
    epochs: int | None = Field(None, gt=0)
    lr: float | None = Field(None, gt=0, strict=False)
    seed: int = 0

    @field_validator("source", mode="before")
    @classmethod
    def _family_or_a_data_table(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "family":  # one line, not the union's two
            raise ValueError("'family' (the family's own pretrained weights) or a table of [data] fields")
        return value


def _plain_value(value: Any) -> Any:
    if not isinstance(value, (bool, int, float, str)):
        raise ValueError("must be a number, a string or true/false")
    return value


# A value of an objective's own hyperparameter: what its runs can be told apart by in runs.csv.
ParamValue = Annotated[Any, AfterValidator(_plain_value)]


class SweepConfig(Strict):
    """A whole sweep: what to train, on what, how, where, and what to fit."""

    name: str = "sweep"
    output: Annotated[Path, Field(strict=False)] = Path("scalinglab-out")  # a TOML string is a path
    seeds: Sweep[int] = [0]
    model: ModelConfig = Field(default_factory=ModelConfig)  # a factory: validating it imports torch
    data: DataConfig = DataConfig()
    training: TrainingConfig = TrainingConfig()
    execution: ExecutionConfig = ExecutionConfig()
    lr_search: LRSearchConfig = LRSearchConfig()
    measure: MeasureConfig = MeasureConfig()
    fit: FitConfig = FitConfig()
    # Compress every trained model after the sweep (`scalinglab compress`); None: do not.
    compress: CompressConfig | None = None
    # Train only the runs a planner chooses (docs/planning.md); None: the whole grid.
    plan: PlanConfig | None = None
    # Pretrained or from scratch as an axis (scalinglab.transfer); None: every run from scratch.
    transfer: TransferConfig | None = None
    # Objective mode: the objective's own hyperparameters, each fixed or swept like a [training]
    # field; given to it in run.settings, stored as columns params.KEY, part of a run's key.
    params: dict[str, Sweep[ParamValue]] = {}
    # Where the values came from (set by load_config), so later checks can name the file or --set.
    _source: str | Path | None = PrivateAttr(None)
    _overridden: tuple[str, ...] = PrivateAttr(())

    def stored(self) -> dict:
        """The configuration as the store keeps it: JSON that validates again to the same runs.
        An objective's dump leaves out the default family, with which it would be refused
        ("either a family or an objective"; status and the report rebuild its grid from it), and
        the data settings left at their defaults but train_size, the one it is given."""
        dumped = self.model_dump(mode="json")
        if self.model.objective is not None:
            dumped["model"].pop("family", None)
            # It loads its own data and is given train_size alone: the report's copy of this
            # configuration showed data.source "digits" and a preprocessing it never had. What
            # was set stays (it keys the runs); defaults come back when it is validated again.
            defaults = DataConfig().model_dump(mode="json")
            dumped["data"] = {
                key: value for key, value in dumped["data"].items() if key == "train_size" or value != defaults[key]
            }
        if self.data.source in TEXT_SOURCES and dumped["data"].get("preprocessing") == DataConfig().model_dump(
            mode="json"
        ).get("preprocessing"):
            # Text is read as bytes: the default preprocessing never applies (the report showed "standardize").
            dumped["data"].pop("preprocessing")
        return dumped

    @model_validator(mode="after")
    def _cooldowns_fit_the_sweep(self) -> SweepConfig:
        if not self.training.cooldowns:
            return self
        training = self.training
        needs = [
            ("training.schedule", training.schedule == "wsd", "'wsd'"),
            ("training.epochs", training.epochs in (1, [1]), "1 (one pass: a branch sees what its parent saw)"),
            (
                "training.lr",
                training.lr != "auto" and "auto" not in (training.lr if isinstance(training.lr, list) else []),
                "a number (a search's shortened runs cannot branch)",
            ),
            ("model.objective", self.model.objective is None, "unset (built-in families only)"),
            (
                "data.train_size",
                len(set(self.data.train_size or self.data.train_flops or [])) >= 2,
                "a list of 2 or more sizes (or data.train_flops, 2 or more budgets)",
            ),
        ]
        for field_name, ok, wanted in needs:
            if not ok:
                raise ValueError(f"training.cooldowns: needs {field_name} = {wanted}")
        return self

    @model_validator(mode="after")
    def _budgets_need_a_family(self) -> SweepConfig:
        if self.data.train_flops is not None and self.model.objective is not None:
            raise ValueError(
                "data.train_flops: budgets need a model family's FLOPs per sample; an objective's are known only "
                "after it ran (give data.train_size)"
            )
        return self

    @model_validator(mode="after")
    def _params_are_an_objective_s_own(self) -> SweepConfig:
        if self.params and self.model.objective is None:
            raise ValueError(
                "params: only for an objective (model.objective); a family trains with the [training] fields"
            )
        for key in self.params:
            if key in TrainingConfig.model_fields:  # the objective would get two values under one name
                raise ValueError(f"params.{key}: a [training] field; set training.{key} instead")
        return self

    @model_validator(mode="after")
    def _compress_fits_the_sweep(self) -> SweepConfig:
        """A [compress] that could make nothing is refused before training (seen: all runs trained,
        then 'no checkpoints', for a sweep that saved none)."""
        if self.compress is None:
            return self
        if self.training.save_checkpoints is False:
            raise ValueError(
                "training.save_checkpoints: may not be false with [compress], which compresses the checkpoints"
            )
        from scalinglab.compress.registry import method_named
        from scalinglab.compress.settings import NO_COMPRESSION

        # Only when no method applies: the default list holds every method, `share` (transformers
        # only) included, and a method that does not apply to a family is skipped for it. The
        # trained models themselves ("none", always measured) are no compression.
        asked = [name for name in self.compress.methods if name != NO_COMPRESSION]
        family, methods = self.model.family, [method_named(name) for name in asked]
        if not methods:
            return self
        if family is not None and self.model.objective is None and not any(m.applies_to(family) for m in methods):
            only = "; ".join(f"{m.name} applies to {', '.join(m.families)} runs only" for m in methods)
            raise ValueError(f"compress.methods: none applies to model.family = {family!r} ({only})")
        return self

    @model_validator(mode="after")
    def _plan_fits_the_sweep(self) -> SweepConfig:
        problem = self.plan and _plan_problem(self)
        if problem:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _transfer_fits_the_sweep(self) -> SweepConfig:
        problem = self.transfer and _transfer_problem(self)
        if problem:
            raise ValueError(problem)
        return self

    def where(self, location: str) -> str:
        """Where the value at dotted `location` came from, to start an error message with:
        '--set KEY' when an override gave it, else 'FILE: location' (just `location` for a
        configuration not read by load_config)."""
        return _origin(location, source=self._source, overridden=self._overridden)


def _plan_problem(config: SweepConfig) -> str | None:
    """What keeps `config`'s [plan] from answering (a 'field: problem' line), else None. The
    planner fits one law of n_params and train_size, so every other swept setting would be read as
    seed noise of one point (seen: two learning rates gave 'val_loss 2.23 (0.44 to 11.2)')."""
    if "auto" in as_list(config.training.lr):
        return "plan: needs a fixed training.lr, not 'auto' (the planner fits one law; plan one lr at a time)"
    swept = [("training", config.training, TrainingSpec.sweepable), ("data", config.data, DataSpec.sweepable)]
    for section, settings, sweepable in swept:
        for name in sweepable:
            values = as_list(getattr(settings, name))
            if name != "train_size" and len(set(map(str, values))) > 1:
                return (
                    f"plan: {section}.{name} is swept ({', '.join(map(str, values))}); the planner fits one law of "
                    f"n_params and train_size, so plan one value at a time (--set {section}.{name}=...)"
                )
    if config.data.train_flops is None and len(set(as_list(config.data.train_size))) < 2:
        return (
            "plan: data.train_size needs 2 or more values: the planned sweep's law of n_params and train_size "
            "cannot be fitted at one data size"
        )
    return None


def _transfer_problem(config: SweepConfig) -> str | None:
    """What keeps `config`'s [transfer] from running (a 'field: problem' line), else None."""
    source, training = config.transfer.source, config.training
    if config.model.objective is not None:
        return "transfer: an objective's runs cannot start from a pretrained model"
    if config.plan is not None:
        return "transfer: not with [plan] (a planned sweep chooses runs of one kind)"
    if "auto" in as_list(training.lr):
        return "transfer: needs a fixed training.lr, not 'auto'"
    if training.save_checkpoints is False:
        return "transfer: the pretrained parents are kept as checkpoints; training.save_checkpoints may not be false"
    if source == "family":  # the family's own weights (sweeper.transfer checks it has them for each size)
        for name in ("epochs", "lr"):
            if getattr(config.transfer, name) is not None:
                return f"transfer.{name}: not with source = 'family' (the family's weights are loaded, not trained)"
    text_target = config.data.source in TEXT_SOURCES
    text_source = text_target if source == "family" else source.source in TEXT_SOURCES
    if text_target != text_source:
        return (
            f"transfer.source: {source.source!r} cannot be transferred to data.source {config.data.source!r}: "
            "a text source transfers to text only, classification data to classification data only"
        )
    if text_target and "features" in as_list(config.transfer.mode):
        return (
            "transfer.mode: 'features' needs classification data (a byte-level language model keeps its "
            "whole pretrained network, output layer included, so nothing new would train)"
        )
    if source == "family":  # nothing below applies to loaded weights
        return None
    if source.train_flops is not None:
        return "transfer.source.train_flops: pretraining takes a train_size (each model size is pretrained once)"
    for name in ("train_size", "preprocessing"):
        if len(as_list(getattr(source, name) or [None])) > 1:
            return f"transfer.source.{name}: one value (each model size is pretrained once)"
    return None


def _origin(location: str, *, source: str | Path | None, overridden: tuple[str, ...]) -> str:
    for key in reversed(overridden):  # the last --set of a key is the one that counts
        if location == key or location.startswith(f"{key}.") or key.startswith(f"{location}."):
            return f"--set {key}"
    return ": ".join(str(part) for part in (source, location) if part)


PRESETS_DIR = Path(__file__).parent / "presets"


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> SweepConfig:
    """Read a sweep file (or the built-in quick-start sweep), apply `--set` overrides, validate.

    A relative `data.path` or `transfer.source.path` in the file is taken from the file's folder (one given with `--set`
    from the working directory). Raises UserError with one line naming where the bad value came
    from: the file and field, or `--set KEY`.
    """
    source = Path(path) if path is not None else PRESETS_DIR / "quickstart.toml"
    raw = _read_toml(source)
    _resolve_data_path(raw, folder=source.parent)
    return config_from_dict(raw, overrides, source=source)


def config_from_dict(raw: dict[str, Any], overrides: list[str] = (), *, source: str | Path) -> SweepConfig:
    """Apply `--set` overrides to a sweep given as a dict (a TOML file's tables) and validate it.

    Raises UserError with one line naming where the bad value came from: `source` and the
    field, or `--set KEY`.
    """
    raw = copy.deepcopy(raw)
    overridden = tuple(apply_override(raw, override) for override in overrides)
    try:
        config = SweepConfig.model_validate(raw)
    except ValidationError as error:
        location, problem = first_problem(error, SweepConfig)
        raise UserError(f"{_origin(location, source=source, overridden=overridden)}: {problem}") from None
    config._source, config._overridden = source, overridden
    return config


def _resolve_data_path(raw: dict[str, Any], *, folder: Path) -> None:
    """Make a relative `data.path` (and `transfer.source.path`) relative to the sweep file's folder
    (unchanged when that is '.')."""
    transfer = raw.get("transfer")
    for data in (raw.get("data"), transfer.get("source") if isinstance(transfer, dict) else None):
        given = data.get("path") if isinstance(data, dict) else None
        if isinstance(given, str) and given and not given.startswith("~") and not Path(given).is_absolute():
            data["path"] = str(folder / given)


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if not path.is_file():
        raise UserError(f"{path}: not a file")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a text file") from None
