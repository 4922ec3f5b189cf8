"""Each compression method does what it claims, on really trained models."""

from __future__ import annotations

import math
import statistics
import time

import numpy as np
import pytest
import torch
from compress_helpers import mlp_spec, trained_parent
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from scalinglab.compress.measure_compressed import measure_model, saved_bytes
from scalinglab.compress.methods import APPLY
from scalinglab.compress.methods.base import weight_layers
from scalinglab.compress.methods.lowrank import factorize, rank_for_energy
from scalinglab.compress.methods.packing import from_sparse_bitmask, pack_codes, sparse_bitmask, unpack_codes
from scalinglab.families import get_family


@pytest.fixture(scope="module")
def parent64():
    return trained_parent(mlp_spec(64))


@pytest.mark.parametrize("sparsity", [0.5, 0.9])
def test_pruning_leaves_exactly_the_fraction_of_zeros_and_bytes_shrink(parent64, sparsity):
    dense_bytes = saved_bytes(dict(parent64.model.state_dict()))
    pruned = APPLY["prune"](parent64, sparsity=sparsity, finetune_epochs=1)
    weights = [layer.weight for _, layer in weight_layers(pruned.model)]
    total = sum(w.numel() for w in weights)
    zeros = sum(int((w == 0).sum()) for w in weights)
    assert zeros == round(sparsity * total)
    assert pruned.metrics["sparsity_achieved"] == pytest.approx(sparsity, abs=1 / total)
    # Bitmask format: 4 bytes per kept weight and 1 bit per weight (per layer, rounded up to bytes).
    payload = sum(t.numel() * t.element_size() for t in pruned.deployed.values() if isinstance(t, torch.Tensor))
    biases = sum(layer.bias.numel() for _, layer in weight_layers(pruned.model))
    assert payload == 4 * (total - zeros) + sum(math.ceil(w.numel() / 8) for w in weights) + 4 * biases
    assert saved_bytes(pruned.deployed) < dense_bytes - 0.8 * (4 * zeros - total / 8)


def test_sparse_bitmask_round_trips():
    weight = torch.randn(7, 13) * (torch.rand(7, 13) > 0.6)
    assert torch.equal(from_sparse_bitmask(sparse_bitmask(weight)), weight)


@pytest.fixture(scope="module")
def parent256():
    return trained_parent(mlp_spec(256, epochs=1))


@pytest.mark.parametrize(
    ("bits", "mode", "low", "high"),
    [
        (8, "dynamic", 0.24, 0.30),
        (8, "weight_only", 0.24, 0.30),
        (4, "weight_only", 0.12, 0.18),
    ],
)
@pytest.mark.slow
def test_quantized_weight_bytes_scale_with_bits(parent256, bits, mode, low, high):
    fp32 = saved_bytes(dict(parent256.model.state_dict()))
    quantized = APPLY["quantize"](parent256, bits=bits, mode=mode)
    assert low <= saved_bytes(quantized.deployed) / fp32 <= high
    assert quantized.parameter_count() == sum(p.numel() for p in parent256.model.parameters())
    # The quantized model still classifies like its parent.
    x = parent256.task.inference_batch()[0]
    agree = (quantized.model(x).argmax(1) == parent256.model(x).argmax(1)).float().mean()
    assert agree > 0.9


def test_int4_codes_round_trip():
    codes = np.random.default_rng(0).integers(0, 16, size=101)
    assert np.array_equal(unpack_codes(pack_codes(codes, 4), 4, len(codes)), codes)
    assert pack_codes(codes, 4).numel() == math.ceil(101 * 4 / 8)


def test_rank_r_factorization_has_r_times_m_plus_n_weights_and_is_the_best_rank_r_approximation():
    torch.manual_seed(0)
    layer = nn.Linear(40, 30)
    factored = factorize(layer, 5)
    weights = factored[0].weight.numel() + factored[1].weight.numel()
    assert weights == 5 * (30 + 40)
    singular = torch.linalg.svdvals(layer.weight.detach())
    error = torch.linalg.matrix_norm(factored[1].weight @ factored[0].weight - layer.weight).detach()
    assert float(error) == pytest.approx(float(singular[5:].square().sum().sqrt()), rel=1e-4)  # Eckart-Young
    x = torch.randn(3, 40)
    assert torch.allclose(factored(x), x @ (factored[1].weight @ factored[0].weight).T + layer.bias, atol=1e-5)


def test_low_rank_model_factors_every_layer_it_shrinks(parent64):
    compressed = APPLY["lowrank"](parent64, rank=4, finetune_epochs=0)
    # digits: 64 -> 64 -> 64 -> 10; rank 4 shrinks all three layers.
    expected = sum(4 * (m + n) + m for n, m in [(64, 64), (64, 64), (64, 10)])
    assert compressed.parameter_count() == expected
    assert compressed.metrics["layers_factored"] == 3


def test_rank_for_energy_keeps_the_smallest_rank_reaching_the_fraction():
    singular = torch.tensor([3.0, 2.0, 1.0, 0.5])  # squares 9, 4, 1, 0.25 of 14.25
    assert rank_for_energy(singular, 9 / 14.25) == 1
    assert rank_for_energy(singular, 0.7) == 2
    assert rank_for_energy(singular, 1.0) == 4


def _flops(model, sample) -> int:
    with FlopCounterMode(display=False) as counter:
        model(sample)
    return counter.get_total_flops()


def _median_latency_ms(model, sample, repeats=200) -> float:
    with torch.no_grad():
        for _ in range(10):
            model(sample)
        timings = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(sample)
            timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1e3


def test_structured_pruning_gives_fewer_params_fewer_flops_and_lower_latency():
    parent = trained_parent(mlp_spec(1024, epochs=1))
    pruned = APPLY["structured"](parent, fraction=0.9, finetune_epochs=0).model.eval()
    sample = parent.task.single_input().clone()
    assert sum(p.numel() for p in pruned.parameters()) < sum(p.numel() for p in parent.model.parameters()) / 5
    assert _flops(pruned, sample) < _flops(parent.model, sample) / 5
    # 1024 -> 102 hidden units: a 60x smaller matmul, measured in one process (not a timing race).
    assert _median_latency_ms(pruned, sample) < _median_latency_ms(parent.model, sample)
    assert pruned(sample).shape == parent.model(sample).shape


def test_structured_pruning_slices_convolution_channels_through_the_classifier():
    from scalinglab.compress.measure_compressed import task_for
    from scalinglab.compress.methods import Parent
    from scalinglab.run_spec import DataSpec, RunSpec, TrainingSpec

    spec = RunSpec(
        family="cnn",
        size={"channels": 8, "depth": 2},
        data=DataSpec(source="digits", train_size=200),
        training=TrainingSpec(epochs=1, batch_size=64, lr=0.01),
        seed=0,
    )
    task = task_for(spec)
    model = get_family("cnn").build(spec.size, task.shape).eval()
    pruned = APPLY["structured"](Parent(spec, model, task), fraction=0.5, finetune_epochs=0).model.eval()
    convs = [m for m in pruned if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 4]
    classifier = [m for m in pruned if isinstance(m, nn.Linear)][0]
    original = [m for m in model if isinstance(m, nn.Linear)][0]
    assert classifier.in_features == original.in_features // 2  # each channel's pooled pixels go with it
    x = task.single_input()
    assert pruned(x).shape == model(x).shape


def test_structured_pruning_of_the_transformer_mlp():
    from scalinglab.families.base import TaskShape

    model = get_family("transformer").build(
        {"d_model": 16, "n_layer": 1, "n_head": 2, "context": 8}, TaskShape("lm", (8,), 256)
    )
    from scalinglab.compress.methods import Parent

    pruned = APPLY["structured"](Parent(None, model, None), fraction=0.5, finetune_epochs=0).model
    assert pruned.blocks[0].mlp.fc.out_features == 32
    tokens = torch.randint(0, 256, (1, 8))
    assert pruned(tokens).shape == model(tokens).shape


def test_distilled_student_has_exactly_its_sizes_parameter_count(parent64):
    student = APPLY["distill"](parent64, student={"width": 8, "depth": 2}, temperature=4.0, alpha=0.7)
    expected = get_family("mlp").n_params({"width": 8, "depth": 2}, parent64.task.shape)
    assert sum(p.numel() for p in student.model.parameters()) == expected == student.parameter_count()
    assert student.model(parent64.task.single_input()).shape == (1, 10)


@pytest.mark.parametrize("clusters", [4, 16])
def test_clustering_leaves_at_most_k_distinct_values_per_layer_and_packs_the_codes(parent64, clusters):
    compressed = APPLY["cluster"](parent64, clusters=clusters)
    for name, layer in weight_layers(compressed.model):
        assert len(torch.unique(layer.weight)) <= clusters
        codebook = compressed.deployed[f"{name}.weight.codebook"]
        codes = unpack_codes(
            compressed.deployed[f"{name}.weight.codes"], int(math.log2(clusters)), layer.weight.numel()
        )
        assert torch.equal(codebook[torch.from_numpy(codes.astype(np.int64))].view_as(layer.weight), layer.weight)
    assert saved_bytes(compressed.deployed) < saved_bytes(dict(parent64.model.state_dict())) / 2


def test_measurement_reports_quality_and_costs(parent64):
    compressed = APPLY["none"](parent64)
    metrics = measure_model(compressed.model, parent64.task, deployed=compressed.deployed, latency_repeats=3)
    assert 0 < metrics["val_loss"] < 3 and 0 <= metrics["val_accuracy"] <= 1
    assert metrics["latency_ms_p50"] <= metrics["latency_ms_p95"]
    n_params = sum(p.numel() for p in parent64.model.parameters())
    assert metrics["stored_values"] == n_params
    assert metrics["inference_peak_memory_bytes"] >= 4 * n_params


def test_cross_layer_sharing_stores_one_block_and_keeps_the_depth():
    from scalinglab.compress.measure_compressed import task_for
    from scalinglab.compress.methods import Parent
    from scalinglab.run_spec import DataSpec, RunSpec, TrainingSpec

    spec = RunSpec(
        family="transformer",
        size={"d_model": 16, "n_layer": 3, "n_head": 2, "context": 16},
        data=DataSpec(source="stdlib", train_size=4000, val_size=1024),
        training=TrainingSpec(epochs=1, batch_size=8, lr=0.003),
        seed=0,
    )
    task = task_for(spec)
    model = get_family("transformer").build(spec.size, task.shape).eval()
    shared = APPLY["share"](Parent(spec, model, task), finetune_epochs=1)
    block = sum(p.numel() for p in model.blocks[0].parameters())
    assert shared.parameter_count() == sum(p.numel() for p in model.parameters()) - 2 * block
    assert len(shared.model.blocks) == 3 and shared.model.blocks[0] is shared.model.blocks[2]
    # torch.save writes the shared block once: the bytes drop by about two blocks' fp32 weights.
    saved = saved_bytes(shared.deployed)
    assert saved < saved_bytes(dict(model.state_dict())) - 2 * 4 * block * 0.9
    tokens = task.single_input()
    assert shared.model(tokens).shape == model(tokens).shape
