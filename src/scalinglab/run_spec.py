"""What one run is (RunSpec) and what it produced (RunResult): the contract between the planner,
the executors, the training loop and the store.

A RunSpec is frozen and JSON-serialisable. Its `run_key` hashes everything that changes the result
(family, size, data, training settings, seed) and nothing about where or how fast it ran, so the
same run planned twice, on any machine, has the same key and is trained once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["ok", "failed", "diverged"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TeacherSpec(_Frozen):
    """The teacher of the teacher-student task: an MLP of known size and the data it labels."""

    n_features: int = Field(16, gt=0)
    n_classes: int = Field(4, ge=2)
    width: int = Field(32, gt=0)
    depth: int = Field(2, gt=0)
    n_samples: int = Field(6000, gt=0)
    label_noise: float = Field(0.0, ge=0, le=1)
    seed: int = 0


class DataSpec(_Frozen):
    """Where a run's data comes from and how much of it the run trains on: every data setting,
    declared here once, with its type, constraints and default. The sweep file's `[data]` table
    (config.DataConfig) derives from these fields; those in `sweepable` may be lists there."""

    # The settings a sweep file may list to sweep over; the others take one value per sweep.
    sweepable: ClassVar[tuple[str, ...]] = ("train_size", "preprocessing")

    # A data source (scalinglab.data.source_names), or "objective": the user's training function
    # loads its own data and is given only the size.
    source: str
    # The user's file or folder, for the sources that read one (csv, npz, text).
    path: str | None = None
    label_column: str = "label"
    # Number of training examples (classification) or training bytes (language model); the
    # smaller sizes are nested subsets of the larger. None: everything available.
    train_size: int | None = Field(None, gt=0)
    val_fraction: float = Field(0.2, gt=0, lt=1)
    # Validation examples (bytes for text) instead of a fraction; text sources keep 65,536 when omitted.
    val_size: int | None = Field(None, gt=0)
    preprocessing: Literal["none", "standardize", "minmax"] = "standardize"
    split_seed: int = 0
    # k-fold cross-validation inside each run's training subset: validation figures become the
    # mean over folds (spread in *_fold_std). For small classification data; costs k trainings.
    cv_folds: int | None = Field(None, ge=2)
    teacher: TeacherSpec | None = None


class TrainingSpec(_Frozen):
    """How a run trains: every training setting, declared here once, with its type, constraints
    and default. What else names the settings derives from these fields: the sweep file's
    `[training]` table (config.TrainingConfig: each may be given, a list sweeps those in
    `sweepable`), the planner, the columns of runs.csv (runs_table), the objective's
    `run.settings`, and the batched trainer's grouping (train.batched.batch_key: a setting it does
    not keep per run must be equal across a group)."""

    # The settings a sweep file may list to sweep over; the others take one value per sweep.
    sweepable: ClassVar[tuple[str, ...]] = (
        *("epochs", "batch_size", "lr", "weight_decay", "dropout", "precision"),
        "data_parallel",
    )
    # The settings that change how long a run takes, not what it learns (within float noise): the
    # analysis fits its laws to their value 1 and never compares their values as settings.
    time_only: ClassVar[tuple[str, ...]] = ("data_parallel",)

    epochs: int = Field(30, gt=0)
    batch_size: int = Field(64, gt=0)
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    dropout: float = Field(0.0, ge=0, lt=1)
    precision: Literal["fp32", "bf16"] = "fp32"
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    schedule: Literal["cosine", "linear", "constant", "wsd"] = "cosine"
    warmup_fraction: float = Field(0.05, ge=0, lt=1)
    grad_clip: float | None = Field(1.0, gt=0)
    # Worker processes that train the run together, each on its share of every batch (torch.distributed;
    # train.data_parallel). It changes the run's time, not its answer (within float noise), yet a run
    # of each W is a run of its own, so that sweeping W measures the speedup (analysis.batch_size).
    data_parallel: int = Field(1, ge=1)


# The loop stops a run at the first epoch end past training.max_seconds and keeps its curves;
# the deadline is the backstop for an epoch (or a measurement, or a user's objective) that never
# ends: a watched child is killed there, and an objective in this process interrupted. Its clock
# starts once the child has imported what it trains with: a fresh child's imports under load took
# longer than whole runs, and every run of a sweep limited to 3 s was killed "after 4.9 s". The
# grace covers a run's own setup: its data, the probes, the measurements after training.
DEADLINE_GRACE_FACTOR = 1.25
DEADLINE_GRACE_SECONDS = 10.0


class RunLimits(_Frozen):
    """Limits and measurement settings: they decide how a run is watched, not what it learns."""

    max_seconds: float | None = None
    latency_repeats: int = 50
    # The quality metric a user's objective must return (objective mode; built-in runs measure it).
    metric: str = "val_loss"
    # Where it runs and what it leaves behind: never part of run_key (RunSpec excludes limits).
    device: str = "cpu"  # a concrete device, resolved from training.device by the planner
    checkpoint_dir: str | None = None  # where the final weights go; None: not saved
    checkpoint_max_bytes: float | None = None  # keep weights only under this many fp32 bytes; None: always

    def deadline_seconds(self, runs_together: int = 1) -> float | None:
        """Seconds after its start at which a run (or `runs_together` runs that train together,
        each limited to its share of the wall time) that is still training is stopped from
        outside; None without max_seconds."""
        if self.max_seconds is None:
            return None
        return self.max_seconds * runs_together * DEADLINE_GRACE_FACTOR + DEADLINE_GRACE_SECONDS

    def over_time_limit(self) -> str:
        """Why a run stopped at its deadline was stopped."""
        return f"over the time limit (training.max_seconds = {self.max_seconds:g} s)"


class RunSpec(_Frozen):
    family: str
    size: dict[str, Any]
    data: DataSpec
    training: TrainingSpec
    seed: int
    limits: RunLimits = RunLimits()
    # Objective mode: "module:function", the user's training function that runs this spec, and
    # the hyperparameters of its own it is given beside the training fields (e.g. {"gamma": 0.1}).
    objective: str | None = None
    params: dict[str, Any] = {}
    # A cooldown branch (issue 25 item 3; train.cooldown): the data size (data.train_size) of the
    # "wsd" run it branches from, its parent, which is the run of this spec at that size with no
    # cooldown_of. None: a run trained from scratch.
    cooldown_of: int | None = None
    # Transfer ([transfer]): the run starts from its pretrained parent's weights (scalinglab.transfer).
    transfer: TransferSpec | None = None
    # A pretraining run whose source inputs are resized to the target's shape (the input adapter).
    input_shape: tuple[int, ...] | None = None
    # A pretraining run of `[transfer] source = "family"`: it loads the family's own pretrained
    # weights (Family.pretrained_state_dict) instead of training, and records no training cost.
    pretrained: Literal["family"] | None = None

    @property
    def run_key(self) -> str:
        """Stable 16-hex-digit hash of everything that changes the result.

        A field added after the first release is hashed only when it differs from its default,
        so the runs of older stores keep their keys.
        """
        at_default = {name for name in _ADDED_FIELDS if getattr(self, name) == type(self).model_fields[name].default}
        identity = self.model_dump(mode="json", exclude={"limits", "transfer", *at_default})
        for name in _ADDED_TRAINING_FIELDS:
            if getattr(self.training, name) == TrainingSpec.model_fields[name].default:
                del identity["training"][name]
        if "transfer" not in at_default:  # the parent by its key: where it ran is no part of it
            identity["transfer"] = {"mode": self.transfer.mode, "parent": self.transfer.parent.run_key}
        canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def cooldown_parent(self) -> RunSpec:
        """The run a cooldown branch branches from (itself for a run that is not a branch): the
        same run at data size `cooldown_of`, trained from scratch."""
        if self.cooldown_of is None:
            return self
        data = self.data.model_copy(update={"train_size": self.cooldown_of})
        return self.model_copy(update={"cooldown_of": None, "data": data})

    def label(self) -> str:
        """Short human-readable name, e.g. 'mlp width=64 depth=2 n=600 seed=1' (an objective's
        params follow its size)."""
        values = " ".join(f"{name}={value}" for named in (self.size, self.params) for name, value in named.items())
        n = f" n={self.data.train_size}" if self.data.train_size is not None else ""
        branch = f" (cooldown of n={self.cooldown_of})" if self.cooldown_of is not None else ""
        loaded = " (the family's pretrained weights)" if self.pretrained is not None else ""
        return f"{self.family} {values}{n} seed={self.seed}{branch}{loaded}"


class TransferSpec(_Frozen):
    """How a target run starts from a pretrained model (Hernandez et al. 2021, "Scaling Laws for
    Transfer"): `finetune` trains every weight, `features` freezes the body and trains a new head.
    `parent` is the pretraining run of the same family and size, stored as a run of its own."""

    mode: Literal["finetune", "features"]
    parent: RunSpec


_ADDED_FIELDS = ("objective", "params", "cooldown_of", "transfer", "input_shape", "pretrained")
_ADDED_TRAINING_FIELDS = ("data_parallel",)  # TrainingSpec's, hashed likewise only off their default
RunSpec.model_rebuild()


@dataclass
class RunResult:
    """What a run produced. Metrics carry their unit in the name (train_seconds, bytes_fp32)."""

    spec: RunSpec
    status: Status
    metrics: dict[str, float] = field(default_factory=dict)
    curves: list[dict[str, float]] = field(default_factory=list)
    error: str | None = None
    worker: str = ""

    @property
    def run_key(self) -> str:
        return self.spec.run_key
