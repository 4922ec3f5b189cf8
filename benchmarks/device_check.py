"""Every CUDA path of scalinglab, exercised once, with its figures (a script that prints, not a test).

The CUDA paths have only been tested on CPU machines; run this whenever a GPU machine is at hand
and quote its output. Each check prints OK or FAILED with its figures, and the script exits 1 when
any failed:
  1. single run: `train_one` of an MLP on the digits and of a tiny transformer on text, on cuda:0
     (status, train seconds, validation loss, peak memory, gradient noise scale);
  2. batched training: 3 seeds trained together on cuda:0 against the same runs alone (largest
     relative difference of the validation loss; should be ~1e-5 or less);
  3. bf16 autocast: the MLP run with training.precision = "bf16" (status, loss against fp32);
  4. peak memory: the run's recorded `peak_memory_bytes` against torch.cuda.max_memory_allocated
     around one plain training step of the same model;
  5. the matmul peak: `matmul_peak_flops_per_second` at fp32 and bf16 (measured, not the cache);
  6. NCCL data parallelism, with 2 or more GPUs: W = all GPUs, one process each, a DDP step of a
     small MLP on W shards of one batch, whose all-reduced gradient must equal one GPU's gradient
     on the whole batch (float noise), and the all-reduce bandwidth of a 64 MiB tensor.
Without a CUDA device it says so and exits 0 at once.

    PYTHONPATH=src python benchmarks/device_check.py        # about a minute on one GPU
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

CHECKS: list[tuple[str, bool, str]] = []


def check(name: str):
    """Run the decorated function as the check `name`: OK with its figures, or FAILED with the error."""

    def run(function):
        started = time.perf_counter()
        try:
            figures = function()
            CHECKS.append((name, True, figures))
        except Exception as error:  # a failed check is reported, and the others still run
            traceback.print_exc()
            CHECKS.append((name, False, f"{type(error).__name__}: {error}"))
        seconds = time.perf_counter() - started
        passed, text = CHECKS[-1][1:]
        print(f"[{'OK' if passed else 'FAILED'}] {name} ({seconds:.1f} s): {text}", flush=True)
        return function

    return run


def _spec(family="mlp", *, precision="fp32", seed=0, device="cuda:0"):
    from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec

    if family == "mlp":
        size, data, batch = {"width": 256, "depth": 2}, DataSpec(source="digits"), 64
    else:
        size = {"d_model": 64, "n_layer": 2, "n_head": 4, "context": 64}
        data, batch = DataSpec(source="stdlib", train_size=200_000, val_size=8192), 32
    return RunSpec(
        family=family,
        size=size,
        data=data,
        seed=seed,
        training=TrainingSpec(epochs=3, batch_size=batch, lr=3e-3, precision=precision),
        limits=RunLimits(latency_repeats=5, device=device),
    )


def _describe(result) -> str:
    if result.status != "ok":
        raise RuntimeError(f"run {result.status}: {result.error}")
    m = result.metrics
    noise = m.get("gradient_noise_scale")
    return (
        f"train {m['train_seconds']:.2f} s, val_loss {m['val_loss']:.4f}, peak memory {m['peak_memory_bytes'] / 2**20:.1f} MiB, "
        f"{m['achieved_flops_per_second'] / 1e9:.2f} GFLOP/s ({m['peak_flops_fraction']:.1%} of matmul peak), "
        f"gradient noise scale {'undefined' if noise is None else f'{noise:.3g}'}"
    )


def main() -> int:
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to check (torch.cuda.is_available() is False)")
        return 0
    from scalinglab.train import train_one
    from scalinglab.train.batched import train_batch
    from scalinglab.train.measure import matmul_peak_flops_per_second

    count = torch.cuda.device_count()
    print(
        f"torch {torch.__version__}, CUDA {torch.version.cuda}, {count} device(s): "
        + ", ".join(torch.cuda.get_device_name(i) for i in range(count)),
        flush=True,
    )
    results = {}

    @check("1. single run, MLP (cuda:0)")
    def _():
        results["mlp"] = train_one(_spec())
        return _describe(results["mlp"])

    @check("1. single run, transformer (cuda:0)")
    def _():
        return _describe(train_one(_spec("transformer")))

    @check("2. batched training, 3 seeds (cuda:0) against alone")
    def _():
        specs = [_spec(seed=seed) for seed in range(3)]
        together = train_batch(specs)
        alone = [results["mlp"]] + [train_one(spec) for spec in specs[1:]]
        worst = max(abs(a.metrics["val_loss"] / b.metrics["val_loss"] - 1) for a, b in zip(together, alone))
        if worst > 1e-3:
            raise RuntimeError(f"batched runs differ from alone by {worst:.2e} in val_loss")
        return f"largest relative difference of val_loss {worst:.1e}; group wall {together[0].metrics['batch_wall_seconds']:.2f} s"

    @check("3. bf16 autocast, MLP (cuda:0)")
    def _():
        result = train_one(_spec(precision="bf16"))
        text = _describe(result)
        return f"{text}; fp32 val_loss {results['mlp'].metrics['val_loss']:.4f}"

    @check("4. peak memory: recorded against torch.cuda.max_memory_allocated")
    def _():
        from scalinglab.data import training_subset
        from scalinglab.train.loop import prepare_run
        from scalinglab.train.optim import make_optimizer, optimizer_step

        spec = _spec()
        run = prepare_run(spec, training_subset(spec.data))
        optimizer = make_optimizer(list(run.model.parameters()), spec.training, spec.limits.device)
        x, y = next(run.task.train_batches(spec.training.batch_size, torch.Generator().manual_seed(0)))
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        optimizer_step(run.model, optimizer, run.task.loss, x, y, spec.training, spec.limits.device)
        torch.cuda.synchronize()
        measured = torch.cuda.max_memory_allocated()
        recorded = results["mlp"].metrics["peak_memory_bytes"]
        return f"recorded {recorded / 2**20:.2f} MiB, max_memory_allocated around one step {measured / 2**20:.2f} MiB"

    @check("5. matmul peak (measured now)")
    def _():
        with tempfile.TemporaryDirectory() as cache:
            fp32 = matmul_peak_flops_per_second("fp32", cache_dir=Path(cache), device="cuda:0")
            bf16 = matmul_peak_flops_per_second("bf16", cache_dir=Path(cache), device="cuda:0")
        return f"fp32 {fp32 / 1e12:.1f} TFLOP/s, bf16 {bf16 / 1e12:.1f} TFLOP/s"

    if count >= 2:

        @check(f"6. NCCL data parallelism, W = {count}")
        def _():
            import torch.multiprocessing as mp

            with tempfile.TemporaryDirectory() as folder:
                mp.spawn(_ddp_worker, args=(count, folder), nprocs=count, join=True)
                return (Path(folder) / "result.txt").read_text()
    else:
        print("[SKIPPED] 6. NCCL data parallelism: one GPU (needs 2 or more)")
    failed = [name for name, passed, _ in CHECKS if not passed]
    print(
        f"{len(CHECKS) - len(failed)} of {len(CHECKS)} checks OK" + (f"; FAILED: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


def _ddp_worker(rank: int, world: int, folder: str) -> None:
    """One DDP process: a step on its shard must give the whole batch's gradient; then bandwidth."""
    import torch.distributed as dist
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel

    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29517")
    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10)).cuda(rank)
        reference = [p.detach().clone() for p in model.parameters()]
        data = torch.Generator().manual_seed(1)
        x, y = (
            torch.randn(128 * world, 64, generator=data).cuda(rank),
            torch.randint(0, 10, (128 * world,), generator=data).cuda(rank),
        )
        ddp = DistributedDataParallel(model, device_ids=[rank])
        shard = slice(rank * 128, (rank + 1) * 128)
        nn.functional.cross_entropy(ddp(x[shard]), y[shard]).backward()
        if rank == 0:
            alone = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10)).cuda(0)
            with torch.no_grad():
                for p, r in zip(alone.parameters(), reference):
                    p.copy_(r)
            nn.functional.cross_entropy(alone(x), y).backward()
            worst = max(
                float((p.grad - q.grad).abs().max() / q.grad.abs().max())
                for p, q in zip(model.parameters(), alone.parameters())
            )
        tensor = torch.ones(16 * 2**20, device=f"cuda:{rank}")  # 64 MiB of fp32
        dist.all_reduce(tensor)
        torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(5):
            dist.all_reduce(tensor)
        torch.cuda.synchronize()
        seconds = (time.perf_counter() - started) / 5
        if rank == 0:
            if worst > 1e-4:
                raise RuntimeError(f"DDP gradient differs from the whole batch's by {worst:.2e} (relative)")
            bus = 2 * (world - 1) / world * tensor.nbytes / seconds  # NCCL's bus bandwidth of a ring all-reduce
            (Path(folder) / "result.txt").write_text(
                f"DDP gradient = whole-batch gradient within {worst:.1e} (relative); all-reduce of 64 MiB "
                f"{seconds * 1e3:.2f} ms, bus bandwidth {bus / 1e9:.1f} GB/s"
            )
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
