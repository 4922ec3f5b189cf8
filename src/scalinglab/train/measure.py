"""Measurements of a model apart from training: `measure_module` scores any module on a task and
measures its costs (latency, throughput, tensor memory, bytes on disk); and this machine's matmul
peak, the yardstick for achieved FLOP/s. Every timing synchronises the device around it."""

from __future__ import annotations

import io
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import nn
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from scalinglab.train.device import autocast, cuda_peak_memory_bytes, is_cuda, reset_peak_memory, synchronize

PEAK_MATMUL_SIZE = 1024  # big enough to reach the BLAS peak on a CPU
GPU_PEAK_MATMUL_SIZE = 8192  # a GPU needs far larger matmuls to fill its cores
MIN_TIMED_SECONDS = 0.05  # a matmul this long is timed accurately; no need to grow it further


def measure_module(
    module: nn.Module, task, *, device: str = "cpu", latency_repeats: int = 50, precision: str = "fp32"
) -> dict[str, float]:
    """Quality and cost of `module` (already on `device`) on `task` (a train.tasks.Task whose
    tensors are on `device`), in eval mode under the precision's autocast: `validation_scores`
    and `inference_costs`. Raises whatever the module raises on the task's inputs."""
    return {
        **validation_scores(module, task, device=device, precision=precision),
        **inference_costs(module, task, device=device, latency_repeats=latency_repeats, precision=precision),
    }


def validation_scores(module: nn.Module, task, *, device: str = "cpu", precision: str = "fp32") -> dict[str, float]:
    """`val_<score>` for every score the task gives (loss, accuracy, bits per byte, ...)."""
    with autocast(precision, device):
        return {f"val_{name}": value for name, value in task.evaluate(module, split="val").items()}


def inference_costs(
    module: nn.Module, task, *, device: str = "cpu", latency_repeats: int = 50, precision: str = "fp32"
) -> dict[str, float]:
    """What `module` costs to deploy, which depends on its architecture and not its weights:
    `speed` (latency, throughput), `inference_peak_memory_bytes` (weights plus the largest live
    tensors of a large-batch forward; on CUDA the allocator's peak) and `bytes_fp32`/`bytes_bf16`/
    `bytes_int8` on disk."""
    big_batch, _ = task.inference_batch()
    with autocast(precision, device):
        peak = {"inference_peak_memory_bytes": inference_peak_bytes(module, big_batch, device=device)}
    return {
        **speed(module, task, device=device, latency_repeats=latency_repeats, precision=precision),
        **peak,
        **storage_bytes(module),
    }


def measure_quality_and_speed(
    module: nn.Module, task, *, device: str = "cpu", latency_repeats: int = 50, precision: str = "fp32"
) -> dict[str, float]:
    """The part of `measure_module` that holds for any module, also one whose weights are not plain
    fp32 tensors (quantized, packed): `validation_scores` and `speed`. Compression measures its
    models with this and adds the bytes and memory of their deployed format."""
    return {
        **validation_scores(module, task, device=device, precision=precision),
        **speed(module, task, device=device, latency_repeats=latency_repeats, precision=precision),
    }


def speed(
    module: nn.Module, task, *, device: str = "cpu", latency_repeats: int = 50, precision: str = "fp32"
) -> dict[str, float]:
    """`latency_ms_p50`/`_p95` (batch 1) and `inference_<unit>_per_second` (one large batch)."""
    big_batch, samples_in_big_batch = task.inference_batch()
    with autocast(precision, device):
        return {
            **latency_ms(module, task.single_input(), repeats=latency_repeats, device=device),
            f"inference_{task.sample_unit}_per_second": throughput_per_second(
                module, big_batch, samples_per_batch=samples_in_big_batch, device=device
            ),
        }


@torch.no_grad()
def inference_peak_bytes(model: nn.Module, batch: torch.Tensor, *, device: str = "cpu") -> float:
    """Peak tensor bytes of one eval-mode forward pass on `batch`, weights included."""
    model.eval()
    peak, _ = step_peak_memory(model, lambda: model(batch), device)
    return peak


@torch.no_grad()
def latency_ms(
    model: nn.Module, sample: torch.Tensor, *, repeats: int, warmup: int = 5, device: str = "cpu"
) -> dict[str, float]:
    """Median and 95th-percentile wall milliseconds of one forward pass on `sample` (batch 1)."""
    model.eval()
    for _ in range(warmup):
        model(sample)
    timings = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        model(sample)
        synchronize(device)
        timings.append((time.perf_counter() - start) * 1e3)
    timings.sort()
    return {
        "latency_ms_p50": statistics.median(timings),
        "latency_ms_p95": timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))],
    }


@torch.no_grad()
def throughput_per_second(
    model: nn.Module, batch: torch.Tensor, *, samples_per_batch: int, repeats: int = 5, device: str = "cpu"
) -> float:
    """Samples (or tokens) per second of eval-mode forward passes on one large `batch` (median of repeats)."""
    model.eval()
    model(batch)  # warm-up: first-call allocations are not throughput
    timings = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        model(batch)
        synchronize(device)
        timings.append(time.perf_counter() - start)
    return samples_per_batch / statistics.median(timings)


def state_dict_bytes(model: nn.Module) -> int:
    """Bytes of the serialized fp32 state_dict, as `torch.save` would write it to disk."""
    return saved_bytes(model.state_dict())


def storage_bytes(model: nn.Module) -> dict[str, float]:
    """Bytes on disk of the state_dict stored at fp32, at bf16, and with int8 weights.

    int8: every weight matrix / kernel (2 or more dimensions) is stored as int8 with one fp32
    scale per tensor (symmetric, max-abs); biases and norms stay fp32, as int8 schemes keep them.
    For models of a few thousand parameters torch.save's per-tensor overhead dominates all three.
    """
    state = {name: tensor.detach().float().cpu() for name, tensor in model.state_dict().items()}
    bf16 = {name: tensor.to(torch.bfloat16) for name, tensor in state.items()}
    int8: dict[str, torch.Tensor] = {}
    scales = []
    for name, tensor in state.items():
        if tensor.ndim >= 2:
            scales.append(tensor.abs().max().clamp(min=1e-12) / 127)
            int8[name] = torch.round(tensor / scales[-1]).to(torch.int8)
        else:
            int8[name] = tensor
    if scales:  # one tensor of scales: torch.save costs a few hundred bytes per tensor it stores
        int8["int8_scales"] = torch.stack(scales)
    return {
        "bytes_fp32": float(saved_bytes(state)),
        "bytes_bf16": float(saved_bytes(bf16)),
        "bytes_int8": float(saved_bytes(int8)),
    }


def saved_bytes(state: dict[str, torch.Tensor]) -> int:
    """Bytes of `state` written with torch.save: every stored size of a model is measured in this container."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getbuffer().nbytes


class TensorMemoryTracker(TorchDispatchMode):
    """Counts the bytes of tensor storage created while active and still alive; keeps the peak.
    Storages that existed before (the weights, the data a batch is a view of) are never counted.

    CPU PyTorch has no allocator statistics (torch.cuda.max_memory_allocated has no CPU twin), and
    process RSS mixes in the interpreter and freed-but-cached pages, so the tensors themselves are
    counted: every operator's outputs are recorded by storage, and forgotten once freed.
    """

    def __init__(self) -> None:
        super().__init__()
        self._alive: dict[int, tuple[StorageWeakRef, int]] = {}
        self._from_outside: dict[int, StorageWeakRef] = {}  # by address, while alive (an address is reused once freed)
        self.current_bytes = 0
        self.peak_bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        for leaf in tree_leaves((args, kwargs)):
            if isinstance(leaf, torch.Tensor) and not _alive_in(self._alive, leaf.untyped_storage().data_ptr()):
                self._from_outside[leaf.untyped_storage().data_ptr()] = StorageWeakRef(leaf.untyped_storage())
        outputs = func(*args, **(kwargs or {}))
        self._forget_freed()
        for leaf in tree_leaves(outputs):
            if isinstance(leaf, torch.Tensor):
                self._remember(leaf.untyped_storage())
        return outputs

    def _remember(self, storage: torch.UntypedStorage) -> None:
        key = storage.data_ptr()
        # A view or an in-place result of a storage already counted, or of one made before tracking
        # began (weights updated in place, a batch sliced from the whole epoch's data): not new bytes.
        if key in self._alive or _alive_in(self._from_outside, key) or storage.nbytes() == 0:
            return
        self._alive[key] = (StorageWeakRef(storage), storage.nbytes())
        self.current_bytes += storage.nbytes()
        self.peak_bytes = max(self.peak_bytes, self.current_bytes)

    def _forget_freed(self) -> None:
        for key, (ref, nbytes) in list(self._alive.items()):
            if ref.expired():
                del self._alive[key]
                self.current_bytes -= nbytes
        for key, ref in list(self._from_outside.items()):
            if ref.expired():
                del self._from_outside[key]


def _alive_in(storages: dict, key: int) -> bool:
    """Whether `storages` holds a live storage at address `key` (a freed one's address may be reused)."""
    entry = storages.get(key)
    if entry is None:
        return False
    return not (entry[0] if isinstance(entry, tuple) else entry).expired()


def step_peak_memory(model: nn.Module | list[torch.Tensor], step, device: str) -> tuple[float, object]:
    """(Peak tensor bytes while `step()` runs, what it returned): the CUDA allocator's peak on a GPU,
    else the tracked live tensors plus the model's weights (or the given resident tensors)."""
    if not is_cuda(device):
        return peak_tensor_bytes(model, step)
    synchronize(device)
    reset_peak_memory(device)
    returned = step()
    synchronize(device)
    return cuda_peak_memory_bytes(device), returned


def peak_tensor_bytes(model: nn.Module | Iterable[torch.Tensor], step: Callable[[], object]) -> tuple[float, object]:
    """Peak bytes of live tensors while `step()` runs: the model's parameters and buffers (or the
    given resident tensors) plus the largest amount of gradients, optimizer state, activations and
    temporaries alive at once. Returns (peak bytes, what `step` returned)."""
    tensors = [*model.parameters(), *model.buffers()] if isinstance(model, nn.Module) else list(model)
    resident = sum(t.untyped_storage().nbytes() for t in tensors)
    with TensorMemoryTracker() as tracker:
        returned = step()
    return float(resident + tracker.peak_bytes), returned


def matmul_peak_flops_per_second(precision: str, *, cache_dir: Path | None = None, device: str = "cpu") -> float:
    """The measured matmul FLOP/s of `device` at `precision` ("fp32" or "bf16"), with torch's
    current thread count on a CPU. Measured once and cached in the user's cache folder, keyed by
    machine, device, torch version and thread count, because it takes about a second and does not change."""
    path = (cache_dir or _cache_dir()) / "matmul_peak.json"
    key = f"{platform.node()}|{platform.machine()}|torch-{torch.__version__}|threads-{torch.get_num_threads()}|{precision}"
    if device != "cpu":
        name = torch.cuda.get_device_name(device) if is_cuda(device) else device
        key += f"|{device}|{name}"
    cached = _read_json(path)
    if key not in cached:
        cached[key] = _measure_matmul_peak(precision, device)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(cached, indent=1, sort_keys=True))
        temporary.replace(path)  # atomic: parallel workers never read half a file
    return float(cached[key])


def _measure_matmul_peak(precision: str, device: str = "cpu", repeats: int = 5) -> float:
    """Best FLOP/s of square matmuls, grown from 256 until one takes MIN_TIMED_SECONDS or reaches
    the largest size (bf16 without hardware support is ~50x slower: it stops early)."""
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    largest = PEAK_MATMUL_SIZE if device == "cpu" else GPU_PEAK_MATMUL_SIZE
    generator = torch.Generator().manual_seed(0)
    n, best = 256, 0.0
    while True:
        a = torch.randn(n, n, generator=generator).to(device=device, dtype=dtype)
        b = torch.randn(n, n, generator=generator).to(device=device, dtype=dtype)
        a @ b  # warm-up
        timings = []
        for _ in range(repeats):
            synchronize(device)
            start = time.perf_counter()
            a @ b
            synchronize(device)
            timings.append(time.perf_counter() - start)
        best = max(best, 2.0 * n**3 / min(timings))  # the fastest repeat is closest to the hardware
        if n >= largest or min(timings) >= MIN_TIMED_SECONDS:
            return best
        n *= 2


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "scalinglab"


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
