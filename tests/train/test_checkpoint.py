"""Checkpoints: safetensors files written atomically, that rebuild the trained module (issue 9, item 5)."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from scalinglab.families import TaskShape, get_family
from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec
from scalinglab.train import train_one
from scalinglab.train.batched import train_batch
from scalinglab.train.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint

SRC = Path(__file__).resolve().parents[2] / "src"


def test_a_tied_transformer_round_trips_through_safetensors(tmp_path):
    family, shape = get_family("transformer"), TaskShape(kind="lm", input_shape=(8,), n_outputs=256)
    size = {"d_model": 16, "n_layer": 1, "n_head": 2, "context": 8}
    torch.manual_seed(0)
    trained = family.build(size, shape)
    path = save_checkpoint(trained, checkpoint_path(tmp_path, "abc"))
    assert path == tmp_path / "checkpoints" / "abc.safetensors"
    assert [p.name for p in path.parent.iterdir()] == ["abc.safetensors"], "no temporary file is left behind"
    assert path.read_bytes()[8:9] == b"{", "a safetensors header, not a pickle"
    torch.manual_seed(1)
    rebuilt = family.build(size, shape)
    rebuilt.load_state_dict(load_checkpoint(path))
    tokens = torch.randint(0, 256, (2, 8))
    assert torch.equal(rebuilt(tokens), trained(tokens))


def _spec(tmp_path, seed=0, **limits) -> RunSpec:
    return RunSpec(
        family="mlp",
        size={"width": 8, "depth": 1},
        data=DataSpec(source="digits", train_size=100),
        training=TrainingSpec(epochs=1, batch_size=50, lr=0.01),
        seed=seed,
        limits=RunLimits(latency_repeats=1, checkpoint_dir=str(tmp_path), **limits),
    )


def test_ok_runs_alone_and_batched_leave_their_final_weights(tmp_path):
    specs = [_spec(tmp_path, seed) for seed in (0, 1, 2)]
    results = [train_one(specs[0]), *train_batch(specs[1:])]
    for spec, result in zip(specs, results):
        path = tmp_path / f"{spec.run_key}.safetensors"
        model = get_family("mlp").build(spec.size, TaskShape("classification", (1, 8, 8), 10))
        model.load_state_dict(load_checkpoint(path))
        assert sum(p.numel() for p in model.parameters()) == result.metrics["n_params"]
    weights = [load_checkpoint(tmp_path / f"{s.run_key}.safetensors")["1.weight"] for s in specs]
    assert not torch.equal(weights[1], weights[2]), "each batched run keeps its own weights"


def test_a_model_over_the_size_limit_keeps_no_checkpoint(tmp_path):
    spec = _spec(tmp_path, checkpoint_max_bytes=100.0)
    assert train_one(spec).status == "ok"
    assert list(tmp_path.iterdir()) == []


def test_nothing_in_the_package_unpickles_with_torch_load():
    calls = [
        (path, line) for path in SRC.rglob("*.py") for line in path.read_text().splitlines() if "torch.load(" in line
    ]
    assert all(re.search(r"weights_only\s*=\s*True", line) for _, line in calls), calls


class _TiedPair(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = torch.nn.Linear(4, 4, bias=False)
        self.decoder = torch.nn.Linear(4, 4, bias=False)
        self.decoder.weight = self.encoder.weight


def test_shared_tensors_are_stored_once_and_restored_under_both_names(tmp_path):
    model = _TiedPair()
    state = load_checkpoint(save_checkpoint(model, tmp_path / "tied.safetensors"))
    assert torch.equal(state["encoder.weight"], state["decoder.weight"])
    fresh = _TiedPair()
    fresh.load_state_dict(state)
    assert torch.equal(fresh.encoder.weight, model.encoder.weight) and fresh.decoder.weight is fresh.encoder.weight
