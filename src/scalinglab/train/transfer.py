"""A transfer run's start (Hernandez et al. 2021, "Scaling Laws for Transfer"): the body of its
pretrained parent's stored checkpoint, a new head (its outputs are the target's classes; a
byte-level language model keeps its parent's, the same 256 bytes), and in `features` mode the
body frozen so only the head trains. The input adapter: a pretraining run with `input_shape`
trains on its source's images resized to the target's shape. The pretraining run of
`[transfer] source = "family"`, which loads its family's own weights instead of training. And the
training FLOPs of a run whose body is frozen.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from scalinglab.data.base import Dataset
from scalinglab.families import Family, TaskShape, get_family
from scalinglab.families.base import _one_input
from scalinglab.run_spec import RunSpec
from scalinglab.train.checkpoint import checkpoint_file, load_checkpoint, save_run_checkpoint
from scalinglab.train.measure import validation_scores
from scalinglab.train.probe import shared_inference_costs


class MissingParent(Exception):
    """The pretrained parent of a transfer run has no stored checkpoint."""


def adapted_inputs(dataset: Dataset, spec: RunSpec) -> Dataset:
    """`dataset` with its images resized to `spec.input_shape` (unchanged when that is None or equal)."""
    if spec.input_shape is None or dataset.input_shape == tuple(spec.input_shape):
        return dataset
    return replace(
        dataset, x_train=_resized(dataset.x_train, spec.input_shape), x_val=_resized(dataset.x_val, spec.input_shape)
    )


def _resized(images: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    channels, height, width = shape
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    x = F.interpolate(x, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    return x.expand(-1, channels, -1, -1).contiguous().numpy()


def head_names(model: nn.Module) -> set[str]:
    """The parameter names of the model's head: those of its last module that holds parameters."""
    last = [name for name, module in model.named_modules() if any(True for _ in module.parameters(recurse=False))][-1]
    return {f"{last}.{name}" if last else name for name, _ in model.get_submodule(last).named_parameters(recurse=False)}


def start_from_parent(model: nn.Module, spec: RunSpec, *, keep_head: bool = False) -> nn.Module:
    """Fill `model`'s body from the checkpoint of `spec.transfer.parent` (in the run's checkpoint
    folder), keep its freshly built head, and freeze the body in `features` mode. `keep_head`: load
    the head too (a byte-level language model: source and target share the 256-byte vocabulary and
    the model's own context, so the whole pretrained network carries over). Raises MissingParent
    without that checkpoint, ValueError when a body tensor's shape differs."""
    parent_key = spec.transfer.parent.run_key
    folder = spec.limits.checkpoint_dir
    path = checkpoint_file(folder, parent_key) if folder is not None else None
    if path is None or not path.exists():
        raise MissingParent(f"the pretrained parent {parent_key} has no stored checkpoint (did it train ok?)")
    pretrained = load_checkpoint(path)
    head = set() if keep_head else head_names(model)
    body = {name: tensor for name, tensor in model.state_dict().items() if name not in head}
    for name, tensor in body.items():
        if pretrained[name].shape != tensor.shape:
            raise ValueError(
                f"pretrained {name} has shape {tuple(pretrained[name].shape)}, this run's {tuple(tensor.shape)}"
            )
    model.load_state_dict({name: pretrained[name] for name in body}, strict=False)
    if spec.transfer.mode == "features":
        for name, parameter in model.named_parameters():
            parameter.requires_grad_(name in head)
    return model


def with_family_weights(model: nn.Module, spec: RunSpec, shape: TaskShape) -> nn.Module:
    """`model` (built by `spec`'s family) filled with the family's own pretrained weights for its size
    and `shape` (Family.pretrained_state_dict); a weight they leave out keeps its built value. Raises
    ValueError when the family gives none, or a weight the model does not have or of another shape."""
    weights = get_family(spec.family).pretrained_state_dict(spec.size, shape)
    if weights is None:
        raise ValueError(f"family {spec.family!r} gives no pretrained weights for size {spec.size}")
    own = model.state_dict()
    for name, tensor in weights.items():
        if name not in own:
            raise ValueError(f"pretrained weight {name!r} is not one of the model's (it has {', '.join(own)})")
        if tuple(tensor.shape) != tuple(own[name].shape):
            raise ValueError(f"pretrained {name} has shape {tuple(tensor.shape)}, the model's {tuple(own[name].shape)}")
    model.load_state_dict(weights, strict=False)
    return model


def family_weights_metrics(run) -> dict[str, float]:
    """The metrics of a prepared run (train.loop.Prepared) whose model holds its family's pretrained
    weights, and its checkpoint saved: parameters, validation scores on its data and inference costs.
    No training cost: train_flops and train_seconds stay missing, since these weights' pretraining
    cost is unknown (not zero), and no n_train (it trained on no example here)."""
    spec, model, task = run.spec, run.model, run.task
    metrics = {
        "n_params": float(sum(p.numel() for p in model.parameters())),
        "n_trainable_params": float(sum(p.numel() for p in model.parameters() if p.requires_grad)),
        **validation_scores(model, task, device=spec.limits.device, precision=spec.training.precision),
        **shared_inference_costs(model, task, spec),
        **{f"baseline_val_{name}": value for name, value in task.baseline_scores().items()},
    }
    save_run_checkpoint(model, spec)
    return metrics


def train_flops_per_sample(family: Family, model: nn.Module, spec: RunSpec, shape: TaskShape) -> float:
    """FLOPs of one sample's training step of `spec`: the family's forward + backward, but in
    `features` mode the backward stops at the head (the frozen body needs no gradient), so it
    is the whole forward plus the head's backward, counted on the model (frozen_body_train_flops_per_sample)."""
    if spec.transfer is not None and spec.transfer.mode == "features":
        return frozen_body_train_flops_per_sample(model, shape)
    return family.train_flops_per_sample(spec.size, shape)


def frozen_body_train_flops_per_sample(model: nn.Module, shape: TaskShape) -> float:
    """FLOPs of a forward and a backward pass of one sample (a token for a language model) through
    `model` as it trains: autograd computes only the gradients its trainable parameters need (for a
    linear head, its weight gradient, 2 x its inputs x its outputs). Counted by torch's FlopCounterMode,
    which counts a multiply-add as 2 as the families' formulas do; in eval mode and by
    autograd.grad, so neither the random stream nor any parameter's .grad changes."""
    from torch.utils.flop_counter import FlopCounterMode

    sample, samples = _one_input(shape)
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counted:
            logits = model(sample.to(next(model.parameters()).device))
            torch.autograd.grad(logits.float().sum(), trainable)
    finally:
        model.train(was_training)
    return counted.get_total_flops() / samples
