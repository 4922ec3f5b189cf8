"""A data-parallel run on the Ray executor: its W workers are W Ray actors in one placement group,
so one run can span several Ray nodes. Each actor runs train.data_parallel.train_worker, the one
worker body the one-machine path also runs; rank 0's node IP and a port free there are the
rendezvous (gloo over TCP on CPUs, NCCL on GPUs).

The placement group has one bundle per worker, {"CPU": 1} (on CUDA {"GPU": 1}), placed with the
PACK strategy: all on one node when one has W free, spread over as many nodes as needed otherwise.
Ray is imported lazily, as in sweeper.executors.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from scalinglab.run_spec import RunSpec
from scalinglab.sweeper.isolation import kill_deadline_seconds, over_memory_limit, over_time_limit, private_memory_mb
from scalinglab.train.data_parallel import free_port, train_worker
from scalinglab.train.device import is_cuda

# Actors of a placed group start at once, but each imports torch and scalinglab first: a bound on
# that, so an actor that never comes up fails the run instead of hanging it.
ACTOR_START_SECONDS = 300.0
_POLL_SECONDS = 0.5  # how often the memory limit is checked while the workers train


class DataParallelWorker:
    """One worker of a data-parallel run, a Ray actor on its bundle of the run's placement group.
    Two threads (max_concurrency=2): `memory_mb` answers while `train` runs."""

    def place(self) -> tuple[str, str, int]:
        """(this node's IP, this node's Ray id, this process's id)."""
        import ray

        return ray.util.get_node_ip_address(), ray.get_runtime_context().get_node_id(), os.getpid()

    def free_port(self) -> int:
        return free_port()

    def memory_mb(self) -> float | None:
        return private_memory_mb(os.getpid())

    def train(self, rank: int, world: int, spec: RunSpec, init_method: str) -> dict | None:
        return train_worker(rank, world, spec, init_method, threads=1)  # one CPU each: its bundle


def launch_on_ray_actors(spec: RunSpec, world: int, *, max_memory_mb: float | None = None) -> dict:
    """Train `spec` with `world` Ray actors of one placement group (a train.data_parallel.Launch):
    rank 0's outcome, with "worker" saying where every rank ran. Call it inside a Ray task or
    driver. Waits for the group's resources like any Ray task; raises RuntimeError when an actor
    dies or raises, when the run outlives its time limit (isolation.kill_deadline_seconds) or
    when an actor's process holds more than `max_memory_mb` MiB of its own, and then kills every
    actor, so a worker waiting on a dead peer never hangs the run."""
    import ray
    from ray.util.placement_group import placement_group, remove_placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    on_gpu = is_cuda(spec.limits.device)
    name = f"scalinglab-data-parallel-{spec.run_key}"
    _remove_left_over(ray, name)
    group = placement_group([{"GPU": 1} if on_gpu else {"CPU": 1}] * world, strategy="PACK", name=name)
    actors = []
    try:
        ray.get(group.ready())  # queued until W CPUs (GPUs) are free; preflight checked the cluster has them
        worker_class = ray.remote(DataParallelWorker)
        actors = [
            worker_class.options(
                num_cpus=0 if on_gpu else 1,
                num_gpus=1 if on_gpu else 0,
                max_concurrency=2,
                scheduling_strategy=PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=rank),
            ).remote()
            for rank in range(world)
        ]
        places = _gather(ray, [actor.place.remote() for actor in actors], ACTOR_START_SECONDS)
        port = _gather(ray, [actors[0].free_port.remote()], ACTOR_START_SECONDS)[0]
        init_method = f"tcp://{places[0][0]}:{port}"
        # A CUDA actor sees only its own GPU (Ray sets CUDA_VISIBLE_DEVICES): device cuda:0.
        spec = (
            spec.model_copy(update={"limits": spec.limits.model_copy(update={"device": "cuda:0"})}) if on_gpu else spec
        )
        refs = [actor.train.remote(rank, world, spec, init_method) for rank, actor in enumerate(actors)]
        out = _gather(
            ray,
            refs,
            kill_deadline_seconds([spec]),
            over=lambda: over_time_limit([spec]),
            check=None if max_memory_mb is None else lambda: _check_memory(ray, actors, max_memory_mb),
        )[0]
        out["worker"] = " ".join(f"ray:{ip}:{node[:12]}:{pid}" for ip, node, pid in places)
        return out
    finally:
        for actor in actors:
            ray.kill(actor)
        remove_placement_group(group)


def _remove_left_over(ray, name: str) -> None:
    """Remove the placement group `name` a killed earlier attempt of this run left behind (Ray
    retried its task): it would hold the CPUs this attempt waits for until the sweep ends."""
    from ray.util.placement_group import get_placement_group, remove_placement_group

    try:
        remove_placement_group(get_placement_group(name))
    except ValueError:  # none: the usual case
        pass


def _check_memory(ray, actors: list, max_memory_mb: float) -> None:
    """RuntimeError when an actor's process holds more than `max_memory_mb` MiB of its own."""
    for used in ray.get([actor.memory_mb.remote() for actor in actors], timeout=ACTOR_START_SECONDS):
        if used is not None and used > max_memory_mb:
            raise RuntimeError(f"killed at {used:.0f} MiB: {over_memory_limit(max_memory_mb)}")


def _gather(
    ray,
    refs: list,
    timeout_seconds: float | None,
    *,
    over: Callable[[], str] = lambda: f"the data-parallel workers did not start within {ACTOR_START_SECONDS:g} s",
    check: Callable[[], None] | None = None,
) -> list:
    """Every ref's value in order, or RuntimeError as soon as one fails (an actor died or raised),
    `timeout_seconds` passed (the error then says `over()`) or `check` raises (called every
    _POLL_SECONDS): ray.get on the whole list would wait on the live ranks, which wait forever on
    a dead peer's collective."""
    started = time.monotonic()
    pending = list(refs)
    while pending:
        left = None if timeout_seconds is None else timeout_seconds - (time.monotonic() - started)
        if left is not None and left <= 0:
            raise RuntimeError(f"killed after {time.monotonic() - started:.1f} s: {over()}")
        done, pending = ray.wait(
            pending, num_returns=1, timeout=_POLL_SECONDS if left is None else min(left, _POLL_SECONDS)
        )
        for ref in done:
            try:
                ray.get(ref)
            except ray.exceptions.RayError as error:
                message = " ".join(str(error).split())[:500]
                raise RuntimeError(
                    f"data-parallel worker {refs.index(ref)} failed: {type(error).__name__}: {message}"
                ) from None
        if pending and check is not None:
            check()
    return ray.get(refs)
