"""Each family's parameter formula against the built module, and its analytic FLOPs against
torch's own FLOP counter (forward, and forward + backward)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from scalinglab.families import TaskShape, family_names, get_family

IMAGE = TaskShape(kind="classification", input_shape=(1, 8, 8), n_outputs=10)
MNIST = TaskShape(kind="classification", input_shape=(1, 28, 28), n_outputs=10)
TABULAR = TaskShape(kind="classification", input_shape=(64,), n_outputs=10)
BYTES = TaskShape(kind="lm", input_shape=(32,), n_outputs=256)

CASES = [
    ("mlp", {"width": 16, "depth": 1}, TABULAR),
    ("mlp", {"width": 48, "depth": 3}, TABULAR),
    ("mlp", {"width": 32, "depth": 2}, IMAGE),
    ("cnn", {"channels": 8, "depth": 1}, IMAGE),
    ("cnn", {"channels": 16, "depth": 3}, IMAGE),
    ("cnn", {"channels": 8, "depth": 5}, MNIST),
    ("transformer", {"d_model": 16, "n_layer": 1, "n_head": 2, "context": 32}, BYTES),
    ("transformer", {"d_model": 48, "n_layer": 3, "n_head": 4, "context": 32}, BYTES),
]
IDS = [
    f"{name}-{'-'.join(map(str, size.values()))}-{'x'.join(map(str, task.input_shape))}" for name, size, task in CASES
]


def _batch(task: TaskShape, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    if task.kind == "lm":
        tokens = torch.randint(0, task.n_outputs, (n, task.input_shape[0] + 1))
        return tokens[:, :-1], tokens[:, 1:]
    return torch.randn(n, *task.input_shape), torch.randint(0, task.n_outputs, (n,))


def _loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def _samples(task: TaskShape, n: int) -> int:
    """Samples in a batch of n: examples, or tokens for a language model."""
    return n * task.input_shape[0] if task.kind == "lm" else n


def test_every_family_is_covered():
    assert {name for name, _, _ in CASES} == set(family_names())


@pytest.mark.parametrize(("name", "size", "task"), CASES, ids=IDS)
def test_parameter_formula_matches_built_module(name, size, task):
    family = get_family(name)
    model = family.build(size, task)
    assert family.n_params(size, task) == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(("name", "size", "task"), CASES, ids=IDS)
def test_forward_flops_match_torch_flop_counter(name, size, task):
    family = get_family(name)
    model = family.build(size, task).eval()
    x, _ = _batch(task, 3)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    expected = family.forward_flops_per_sample(size, task) * _samples(task, 3)
    assert counter.get_total_flops() == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize(("name", "size", "task"), CASES, ids=IDS)
def test_training_flops_match_torch_flop_counter(name, size, task):
    family = get_family(name)
    model = family.build(size, task)
    x, y = _batch(task, 3)
    with FlopCounterMode(display=False) as counter:
        _loss(model(x), y).backward()
    expected = family.train_flops_per_sample(size, task) * _samples(task, 3)
    assert counter.get_total_flops() == pytest.approx(expected, rel=0.02)


def test_transformer_nonembedding_parameters_exclude_both_embeddings():
    family = get_family("transformer")
    size = {"d_model": 32, "n_layer": 2, "n_head": 4, "context": 32}
    model = family.build(size, BYTES)
    embeddings = model.token_embedding.weight.numel() + model.position_embedding.weight.numel()
    total = sum(p.numel() for p in model.parameters())
    assert family.n_params_nonembedding(size, BYTES) == total - embeddings


def test_transformer_output_layer_is_tied_to_the_token_embedding():
    model = get_family("transformer").build({"d_model": 16, "n_layer": 1, "n_head": 2, "context": 8}, BYTES)
    tokens = torch.randint(0, 256, (1, 8))
    model(tokens).sum().backward()
    assert model.token_embedding.weight.grad is not None
    assert not any(p.shape == (256, 16) for name, p in model.named_parameters() if "token_embedding" not in name)


def test_transformer_is_causal():
    model = get_family("transformer").build({"d_model": 16, "n_layer": 2, "n_head": 2, "context": 8}, BYTES).eval()
    tokens = torch.randint(0, 256, (1, 8))
    changed = tokens.clone()
    changed[0, 5:] = (changed[0, 5:] + 1) % 256
    with torch.no_grad():
        assert torch.allclose(model(tokens)[0, :5], model(changed)[0, :5])
        assert not torch.allclose(model(tokens)[0, 5:], model(changed)[0, 5:])


def test_kaplan_estimate_is_close_to_counted_flops_when_d_model_dominates():
    family = get_family("transformer")
    size = {"d_model": 128, "n_layer": 4, "n_head": 4, "context": 64}
    counted, kaplan = family.forward_flops_per_sample(size, BYTES), family.kaplan_forward_flops_per_token(size, BYTES)
    # Kaplan counts the attention logits once and drops the output layer: a few percent here.
    assert 0.85 < kaplan / counted < 1.0


def test_transformer_refuses_heads_that_do_not_divide_width():
    with pytest.raises(ValueError, match="n_head=3 does not divide d_model=16"):
        get_family("transformer").check_size({"d_model": 16, "n_layer": 1, "n_head": 3, "context": 8})


def test_cnn_refuses_flat_features():
    with pytest.raises(ValueError, match=r"needs images"):
        get_family("cnn").build({"channels": 4, "depth": 1}, TABULAR)


def test_sweep_file_refuses_an_unbuildable_combination_of_axes(tmp_path):
    from scalinglab.config import load_config
    from scalinglab.errors import UserError

    path = tmp_path / "lm.toml"
    path.write_text('[model]\nfamily = "transformer"\nd_model = [16, 24]\nn_head = [2, 3]\n')
    with pytest.raises(UserError, match=r"lm.toml: model: n_head=3 does not divide d_model=16"):
        load_config(path)


def test_axes_left_out_take_the_family_default(tmp_path):
    from scalinglab.config import load_config

    path = tmp_path / "cnn.toml"
    path.write_text('[model]\nfamily = "cnn"\nchannels = [4, 8]\n')
    assert load_config(path).model.axes() == {"channels": [4, 8], "depth": [get_family("cnn").default_size["depth"]]}
