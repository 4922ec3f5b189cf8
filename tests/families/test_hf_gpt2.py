"""The Hugging Face GPT-2 example (examples/hf_gpt2): a plugin family with no formulas whose
measured parameters and FLOPs must equal scalinglab's own transformer formulas (the same
architecture), and a tiny sweep of it on the stdlib byte corpus."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from cli_helpers import REPO
from torch.utils.flop_counter import FlopCounterMode

import scalinglab
from scalinglab.families import TaskShape, get_family

EXAMPLE = REPO / "examples" / "hf_gpt2"
GPT2 = "gpt2_family:GPT2"


@pytest.fixture(autouse=True, scope="module")
def _example_on_path():
    sys.path.insert(0, str(EXAMPLE))
    yield
    sys.path.remove(str(EXAMPLE))


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("hf_gpt2")
    overrides = [
        "model.n_embd=[8, 16]",
        "model.n_layer=1",
        "model.context=16",
        "data.train_size=20000",
        "data.val_size=2048",
        "training.epochs=1",
        "measure.latency_repeats=2",
    ]
    return out, scalinglab.sweep(EXAMPLE / "sweep.toml", out=out, overrides=overrides)


@pytest.mark.slow
@pytest.mark.parametrize(("n_embd", "n_layer", "n_head", "context"), [(16, 1, 2, 16), (48, 3, 4, 32)])
def test_measured_costs_equal_the_builtin_transformer_formulas(n_embd, n_layer, n_head, context):
    task = TaskShape(kind="lm", input_shape=(context,), n_outputs=256)
    gpt2 = get_family(GPT2)
    size = {"n_embd": n_embd, "n_layer": n_layer, "n_head": n_head, "context": context}
    builtin = get_family("transformer")
    same_size = {"d_model": n_embd, "n_layer": n_layer, "n_head": n_head, "context": context}

    assert gpt2.n_params(size, task) == builtin.n_params(same_size, task)
    assert gpt2.n_params_nonembedding(size, task) == builtin.n_params_nonembedding(same_size, task)
    assert gpt2.forward_flops_per_sample(size, task) == builtin.forward_flops_per_sample(same_size, task)
    assert gpt2.n_params(size, task) == sum(p.numel() for p in gpt2.build(size, task).parameters())


@pytest.mark.slow
def test_a_tiny_gpt2_sweep_on_the_stdlib_bytes(tiny_sweep):
    _, frame = tiny_sweep

    assert len(frame) == 2 and set(frame["status"]) == {"ok"}, frame[["status", "error"]]
    assert (frame["val_bits_per_byte"] < 8).all()  # learned something: uniform bytes cost 8 bits
    task = TaskShape(kind="lm", input_shape=(16,), n_outputs=256)
    for run in frame.itertuples():
        module = get_family(GPT2).build({"n_embd": run.n_embd, "n_layer": 1, "n_head": 2, "context": 16}, task)
        assert run.n_params == sum(p.numel() for p in module.parameters())
        tokens = torch.randint(0, 256, (2, 17))
        with FlopCounterMode(display=False) as step:
            logits = module(tokens[:, :-1])
            F.cross_entropy(logits.reshape(-1, 256), tokens[:, 1:].reshape(-1)).backward()
        tokens_seen = (run.n_train - 1) // 16 * 16 * run.epochs  # whole windows of 16 bytes per epoch
        assert run.train_flops == pytest.approx(step.get_total_flops() / 32 * tokens_seen, rel=1e-12)
        assert math.isfinite(run.latency_ms_p50) and run.n_params_nonembedding < run.n_params


@pytest.mark.slow
def test_load_model_restores_gpt2_whose_tied_weights_were_saved_once(tiny_sweep):
    out, frame = tiny_sweep
    run_key = frame.loc[frame["n_embd"] == 8, "run_key"].item()
    task = TaskShape(kind="lm", input_shape=(16,), n_outputs=256)
    torch.manual_seed(7)
    saved = get_family(GPT2).build({"n_embd": 8, "n_layer": 1, "n_head": 2, "context": 16}, task).eval()
    _save_checkpoint(saved, out / "checkpoints" / f"{run_key}.safetensors")

    loaded = scalinglab.load_model(out, run_key)
    tokens = torch.randint(0, 256, (2, 16))
    assert torch.equal(loaded(tokens), saved(tokens))
    assert loaded.model.lm_head.weight is loaded.model.transformer.wte.weight


def _save_checkpoint(module: torch.nn.Module, path: Path) -> None:
    """Save as training does: the train branch's writer once merged (it records tied names as
    aliases), else safetensors' own, which also stores a tied tensor once."""
    try:
        from scalinglab.train.checkpoint import save_checkpoint
    except ImportError:
        import safetensors.torch

        path.parent.mkdir(parents=True, exist_ok=True)
        safetensors.torch.save_model(module, str(path))
    else:
        save_checkpoint(module, path)
