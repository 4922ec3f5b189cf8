"""Data-parallel training of one run over W workers: `training.data_parallel = W` (train.dispatch
sends such a run here; sweeper.preflight.check_data_parallel says where it can run).

Every worker runs `train_worker`, however it was started: on one machine W processes
(`spawn_workers`, torch.multiprocessing), each with its share of the cores (torch threads =
cores // W) or its own CUDA device; on the Ray executor W Ray actors of one placement group, one
CPU (or GPU) each, on one node or spread over several (sweeper.ray_data_parallel). Rank 0's
address and a free port there are the rendezvous.

torch.distributed with gloo on CPU (NCCL on CUDA devices, one device per worker): every worker
builds the same model under the run's seed, draws the same epoch order, and takes its contiguous
share of each step's batch (`tensor_split`; the global batch stays the run's batch size). Its loss
is the SUM of its samples' losses over the step's whole batch size, so the all-reduced (summed)
gradient is exactly the batch mean gradient `train_one` computes, whatever the shares' sizes (a
short last batch included); clipping then sees the same global norm on every worker and every
worker takes the same optimizer step. Results equal single-worker training within float noise
(the sum is reassociated), but for dropout, whose masks each worker draws for its own share.
Worker 0 scores validation after every epoch and measures the run as `train_one` does (the
epoch's bookkeeping is train.loop.record_epoch); the gradient noise scale is not measured here.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import torch
from torch import nn

from scalinglab.run_spec import RunResult, RunSpec
from scalinglab.train.device import autocast, is_cuda
from scalinglab.train.outcome import Diverged, run_outcome

# How a run's W workers start: given the spec and W, run `train_worker` once per rank and return
# rank 0's outcome (what `train_worker` returns there). Here: W processes of this machine
# (`spawn_workers`); on the Ray executor: W Ray actors (sweeper.ray_data_parallel).
Launch = Callable[[RunSpec, int], dict]


def train_data_parallel(
    spec: RunSpec, world: int, *, threads_per_worker: int | None = None, launch: Launch | None = None
) -> RunResult:
    """Train `spec` with `world` workers (gloo on CPU, NCCL on CUDA) and measure it; the RunResult
    `train_one` would give, within float noise. `world` = 1 is `train_one` itself.
    `threads_per_worker`: torch threads of each CPU worker process; default a share of the cores,
    cores // W. `launch`: how the workers start, default W processes of this machine."""
    from scalinglab.train.loop import OverTimeLimit, train_one

    if world == 1:
        return train_one(spec)
    if spec.data.cv_folds:
        raise ValueError("data-parallel training of a cross-validated run is not supported")
    launch = launch or partial(spawn_workers, threads_per_worker=threads_per_worker)
    curves: list[dict[str, float]] = []
    placed: list[str] = []  # where the workers ran, when the launcher says (Ray: nodes and pids)

    def attempt() -> dict[str, float]:
        out = launch(spec, world)
        curves.extend(out["curves"])
        placed.append(out.get("worker", ""))
        if out["stop"] is not None:
            kind, message = out["stop"]
            raise (Diverged if kind == "Diverged" else OverTimeLimit)(message)
        return out["metrics"]

    result = run_outcome(spec, attempt, curves)
    result.worker = "".join(placed)
    return result


def spawn_workers(spec: RunSpec, world: int, *, threads_per_worker: int | None = None) -> dict:
    """Run `train_worker` in `world` processes of this machine (torch.multiprocessing.spawn),
    rendezvous on a free local port; rank 0's outcome."""
    import torch.multiprocessing as mp

    init_method = f"tcp://127.0.0.1:{free_port()}"
    with tempfile.TemporaryDirectory() as folder, _may_start_processes():
        mp.spawn(_spawned_worker, args=(world, spec, folder, init_method, threads_per_worker), nprocs=world, join=True)
        return torch.load(Path(folder) / "result.pt", weights_only=True)


def _spawned_worker(rank: int, world: int, spec: RunSpec, folder: str, init_method: str, threads: int | None) -> None:
    if is_cuda(spec.limits.device):  # one device per worker process
        spec = spec.model_copy(update={"limits": spec.limits.model_copy(update={"device": f"cuda:{rank}"})})
    out = train_worker(rank, world, spec, init_method, threads=threads or max(1, (os.cpu_count() or 1) // world))
    if out is not None:
        torch.save(out, Path(folder) / "result.pt")
    # The group is destroyed and the outcome written: leave without the interpreter's teardown, in
    # which a worker was aborted ("terminate called without an active exception", SIGABRT) in
    # about 1 of 40 runs, failing a run that had finished (mp.spawn reads only the exit code).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _worker_share(spec: RunSpec, world: int) -> RunSpec:
    """`spec` at one worker's share of the batch (the first, largest, of `tensor_split`'s shares)."""
    share = -(-spec.training.batch_size // world)
    return spec.model_copy(update={"training": spec.training.model_copy(update={"batch_size": share})})


@contextmanager
def _may_start_processes():
    """Let this process start the workers even when it is a sweep's watched child, a daemonic
    process, which multiprocessing forbids to have children: `mp.spawn` joins them before it
    returns, and a worker whose peer dies stops (its collective raises), so none outlives the run."""
    import multiprocessing

    config = multiprocessing.current_process()._config
    daemon = config.get("daemon", False)
    config["daemon"] = False
    try:
        yield
    finally:
        config["daemon"] = daemon


def free_port() -> int:
    """A TCP port free on every interface of this machine now (for rank 0's rendezvous)."""
    with socket.socket() as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def _any_worker(flag: bool, device: str) -> bool:
    """Whether `flag` holds on any worker (one all-reduce of one number on `device`)."""
    import torch.distributed as dist

    total = torch.tensor([float(flag)], device=device)
    dist.all_reduce(total)
    return bool(total.item() > 0)


def train_worker(rank: int, world: int, spec: RunSpec, init_method: str, *, threads: int) -> dict | None:
    """The one body of every data-parallel worker, however it was started: join the process group
    at `init_method` (tcp://HOST:PORT of rank 0) as `rank` of `world`, train the share of `spec`'s
    run, and on rank 0 return the outcome {"metrics", "curves", "stop"} (None on the other ranks).
    `spec.limits.device`: this worker's own device; `threads`: its torch threads on the CPU."""
    import torch.distributed as dist

    from scalinglab.data import training_subset
    from scalinglab.train.checkpoint import save_run_checkpoint
    from scalinglab.train.loop import OverTimeLimit, Trace, measured_metrics, prepare_run, record_epoch
    from scalinglab.train.optim import make_optimizer, make_scheduler
    from scalinglab.train.probe import step_costs

    device = spec.limits.device
    if is_cuda(device):
        torch.cuda.set_device(device)
    else:
        torch.set_num_threads(threads)
    dist.init_process_group("nccl" if is_cuda(device) else "gloo", init_method=init_method, rank=rank, world_size=world)
    try:
        run = prepare_run(spec, training_subset(spec.data))
        model, task, settings = run.model, run.task, spec.training
        params = list(model.parameters())
        optimizer = make_optimizer(params, settings, device)
        steps_per_epoch = task.steps_per_epoch(settings.batch_size)
        scheduler = make_scheduler(optimizer, settings, total_steps=settings.epochs * steps_per_epoch)
        shuffle = torch.Generator().manual_seed(spec.seed)
        trace, curves, error = Trace(), [], None
        # One worker's peak, at its share of the batch; before the clock, as a run alone measures it.
        trace.peak_memory_bytes = step_costs(model, task, _worker_share(spec, world)).peak_memory_bytes
        max_norm = settings.grad_clip if settings.grad_clip is not None else float("inf")
        started = time.perf_counter()
        for epoch in range(1, settings.epochs + 1):
            model.train()
            epoch_started = time.perf_counter()
            losses, norms = [], []
            for x, y in task.train_batches(settings.batch_size, shuffle):
                optimizer.zero_grad(set_to_none=True)
                share_x, share_y = x.tensor_split(world)[rank], y.tensor_split(world)[rank]
                with autocast(settings.precision, device):
                    loss = task.sample_losses(model(share_x), share_y).sum() / len(x)  # this share of the batch mean
                loss.backward()
                grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
                flat = torch.cat([g.reshape(-1) for g in grads] + [loss.detach().float().reshape(1)])
                dist.all_reduce(flat)  # one call: every gradient and the batch's mean loss
                offset = 0
                for param, grad in zip(params, grads):
                    param.grad = flat[offset : offset + grad.numel()].view_as(grad).to(grad.dtype)
                    offset += grad.numel()
                norms.append(nn.utils.clip_grad_norm_(params, max_norm, foreach=True))
                losses.append(flat[-1])
                optimizer.step()
                scheduler.step()
            epoch_losses, epoch_norms = torch.stack(losses).cpu(), torch.stack(norms).cpu()
            trace.step_seconds += time.perf_counter() - epoch_started
            try:
                record_epoch(
                    trace,
                    curves,
                    model,
                    task,
                    spec,
                    epoch,
                    epoch_losses,
                    epoch_norms,
                    scheduler,
                    started,
                    validate=rank == 0,
                )
            except (Diverged, OverTimeLimit) as stopped:
                error = stopped
            if _any_worker(error is not None, device):  # every worker stops together, or one would wait forever
                error = error or OverTimeLimit(
                    f"over the time limit of {spec.limits.max_seconds:g} s after epoch {epoch}"
                )
                break
        if rank != 0:
            return None
        seconds = time.perf_counter() - started
        metrics = (
            None
            if error
            else measured_metrics(run, trace, curves, train_seconds=seconds, batch_wall_seconds=seconds, batch_runs=1)
        )
        if error is None:  # every rank holds the same weights: rank 0 keeps them, once measured, as a run alone does
            save_run_checkpoint(model, spec)
        return {
            "metrics": metrics,
            "curves": curves,
            "stop": None if error is None else (type(error).__name__, str(error)),
        }
    finally:
        # Every rank tears the group down together: a rank that left while rank 0 still measured the
        # run was once aborted ("terminate called without an active exception") in gloo's teardown.
        dist.barrier()
        dist.destroy_process_group()
