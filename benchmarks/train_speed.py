"""Speed of the training engine (a script that prints figures, not a test).

In one run, on one sweep (MLP widths 8-512, depth 2, 2 seeds, 30 epochs, batch 64, Adam 3e-3 with
a cosine schedule, on the digits, standardised, 1,437 training examples), it trains:
  1. scalinglab, batched (the runs grouped as `execution.batch = "auto"` groups them),
  2. scalinglab, one run at a time (`execution.batch = "off"`),
  3. a plain hand-written per-model PyTorch loop (the same data, model, optimizer and schedule),
  4. scikit-learn's MLPClassifier (adam, the same widths, batch size, epochs and learning rate),
  5. 1 and 3 again under bf16 autocast (`training.precision = "bf16"`; fp32 weights),
and prints, per width and in total: seconds of training, ratios, achieved FLOP/s, fraction of
the measured fp32 matmul peak, and validation accuracy; the ceiling (the sweep's FLOPs at 100% of
that peak, and the largest ratio to the plain loop and sklearn any fp32 engine could reach); and
the bf16 variants against the fp32 plain loop. Then: many seeds of a tiny MLP (all overhead, where
batching pays most), the achieved FLOP/s of a model of 1.1M parameters (width 1024), batched and
alone, and the quick-start grid (src/scalinglab/presets/quickstart.toml) batched and one at a
time; `--baseline-src PATH` adds the same grid trained by another checkout's train_one ("today").

    python benchmarks/train_speed.py                       # about 8 minutes on one core
    python benchmarks/train_speed.py --threads=2 --baseline-src /path/to/old/checkout/src

Training seconds: scalinglab's are the wall time of its training passes (per-epoch validation
included; a batched group's wall time, `batch_wall_seconds`, shared by its runs); the other two
time their training loops alone. End to end: the whole call per group, every measurement and a
checkpoint per run included, with the architecture probes forgotten before each call (as in a new
process). Last, the quick start swept with batching on and off: each cost law's exponent with its
interval, what the probes cost, and `recommend` on both at the report's default budget (issue 18). Every method uses `--threads` torch/BLAS threads (default 1). The machine may be
shared: the methods take turns group by group, `--repeats` times, and each run keeps its fastest
time; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THREADS = next((arg.split("=", 1)[1] for arg in sys.argv if arg.startswith("--threads=")), "1")
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, THREADS)  # before numpy or torch load their BLAS
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from scalinglab.config import load_config  # noqa: E402
from scalinglab.data import load_source, prepare  # noqa: E402
from scalinglab.families import get_family  # noqa: E402
from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec  # noqa: E402
from scalinglab.sweeper.grouping import AUTO_MAX_RUNS, plan_batches  # noqa: E402
from scalinglab.sweeper.plan import plan_runs  # noqa: E402
from scalinglab.train import probe, train_one  # noqa: E402
from scalinglab.train.batched import train_batch  # noqa: E402
from scalinglab.train.measure import matmul_peak_flops_per_second  # noqa: E402
from scalinglab.train.optim import lr_multiplier  # noqa: E402
from scalinglab.train.tasks import make_task  # noqa: E402

WIDTHS = (8, 16, 32, 64, 128, 256, 512)
SEEDS = (0, 1)
EPOCHS, BATCH, LR = 30, 64, 3e-3
LARGE_WIDTH, LARGE_EPOCHS = 1024, 5  # 1.1M parameters
TINY_RUNS, TINY_WIDTH, TINY_EPOCHS = 32, 16, 10
DATA = DataSpec(source="digits")
# Every run is measured and saved as a sweep does it (its default latency repeats, a checkpoint).
LIMITS = RunLimits(checkpoint_dir=tempfile.mkdtemp(prefix="scalinglab-bench-"))


def sweep_specs() -> list[RunSpec]:
    training = TrainingSpec(epochs=EPOCHS, batch_size=BATCH, lr=LR)
    return [
        RunSpec(family="mlp", size={"width": w, "depth": 2}, data=DATA, training=training, seed=seed, limits=LIMITS)
        for w in WIDTHS
        for seed in SEEDS
    ]


def scalinglab_batched(specs: list[RunSpec]) -> dict[str, dict]:
    results = {}
    for group in plan_batches(specs, max_runs=min(AUTO_MAX_RUNS, len(specs))):
        for result in train_batch(group):
            results[result.run_key] = _row(result)
    return results


def scalinglab_alone(specs: list[RunSpec]) -> dict[str, dict]:
    return {spec.run_key: _row(train_one(spec)) for spec in specs}


def _row(result) -> dict:
    """A scalinglab run's row; its training seconds are its share of the wall time of the pass it
    trained in (its own `train_seconds` under batching is the time it would take alone)."""
    assert result.status == "ok", result.error
    return {
        "seconds": result.metrics["batch_wall_seconds"] / result.metrics["batch_runs"],
        "accuracy": result.metrics.get("val_accuracy", float("nan")),
        "val_loss": result.metrics["val_loss"],
        "batch_runs": result.metrics["batch_runs"],
    }


def standardised_digits():
    dataset = prepare(load_source(DATA), train_size=None, preprocessing="standardize")
    flat = lambda x: x.reshape(len(x), -1).astype(np.float32)
    return flat(dataset.x_train), dataset.y_train, flat(dataset.x_val), dataset.y_val


def plain_torch(spec: RunSpec, data) -> dict:
    """The loop a user would write: one model, Adam, a cosine schedule, shuffled batches (under
    bf16 autocast when the spec's precision is bf16)."""
    x_train, y_train, x_val, y_val = (torch.from_numpy(a) for a in data)
    torch.manual_seed(spec.seed)
    width, settings = spec.size["width"], spec.training
    model = nn.Sequential(
        nn.Linear(x_train.shape[1], width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 10)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    steps = settings.epochs * -(-len(x_train) // settings.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_multiplier(settings, total_steps=steps))
    bf16 = settings.precision == "bf16"
    started = time.perf_counter()
    for _ in range(settings.epochs):
        for batch in torch.randperm(len(x_train)).split(settings.batch_size):
            optimizer.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = nn.functional.cross_entropy(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
            schedule.step()
    seconds = time.perf_counter() - started
    with torch.no_grad():
        accuracy = (model(x_val).argmax(1) == y_val).float().mean().item()
    return {"seconds": seconds, "accuracy": accuracy}


def sklearn_mlp(spec: RunSpec, data) -> dict:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x_train, y_train, x_val, y_val = data
    width, settings = spec.size["width"], spec.training
    model = MLPClassifier(
        hidden_layer_sizes=(width, width),
        solver="adam",
        batch_size=settings.batch_size,
        learning_rate_init=settings.lr,
        max_iter=settings.epochs,
        n_iter_no_change=settings.epochs + 1,
        tol=0.0,
        alpha=0.0,
        random_state=spec.seed,
    )
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "accuracy": float((model.predict(x_val) == y_val).mean())}


def train_flops(spec: RunSpec) -> float:
    dataset = prepare(load_source(spec.data), train_size=spec.data.train_size, preprocessing="none")
    task = make_task(dataset, spec.size)
    return (
        get_family(spec.family).train_flops_per_sample(spec.size, task.shape)
        * task.samples_per_epoch
        * spec.training.epochs
    )


def method_rounds(data) -> dict[str, object]:
    """Each method as a function training a group of specs: {run_key: row}. A "bf16" method trains
    the same specs with `training.precision = "bf16"` (bf16 autocast, fp32 weights)."""
    bf16 = lambda group: [
        spec.model_copy(update={"training": spec.training.model_copy(update={"precision": "bf16"})}) for spec in group
    ]
    return {  # rows keyed by the fp32 spec's run_key, whatever precision trained it
        "batched": lambda group: {spec.run_key: _row(r) for spec, r in zip(group, train_batch(group))},
        "alone": scalinglab_alone,
        "plain torch": lambda group: {spec.run_key: plain_torch(spec, data) for spec in group},
        "sklearn": lambda group: {spec.run_key: sklearn_mlp(spec, data) for spec in group},
        "batched bf16": lambda group: {spec.run_key: _row(r) for spec, r in zip(group, train_batch(bf16(group)))},
        "plain torch bf16": lambda group: {
            spec.run_key: plain_torch(b16, data) for spec, b16 in zip(group, bf16(group))
        },
    }


def time_methods(specs: list[RunSpec], methods: list[str], repeats: int) -> dict[str, dict[str, dict]]:
    """{method: {run_key: row}}, each run's fastest of `repeats`. A row's "seconds" is its training
    time, its "end_to_end" its share of the whole call (measurements and checkpoint included, and
    the probes of its architecture: they are forgotten before every call, as a new process would).
    Methods take turns group by group: on a shared machine the load drifts, and a method timed
    minutes after another is not comparable."""
    rounds = method_rounds(standardised_digits())
    timed: dict[str, dict[str, dict]] = {m: {} for m in methods}
    for _ in range(repeats):
        for group in plan_batches(specs, max_runs=min(AUTO_MAX_RUNS, len(specs))):
            for method in methods:
                probe.forget_architectures()
                started = time.perf_counter()
                rows = rounds[method](group)
                for row in rows.values():
                    row["end_to_end"] = (time.perf_counter() - started) / len(group)
                for key, row in rows.items():
                    if key not in timed[method] or row["seconds"] < timed[method][key]["seconds"]:
                        timed[method][key] = row
    return timed


def sweep_table(specs: list[RunSpec], peak: float, repeats: int) -> None:
    scalinglab_alone(specs[:1])  # the process warm-up happens once, whichever method comes first
    methods = ["batched", "alone", "plain torch", "sklearn"]
    timed = time_methods(specs, methods + ["batched bf16", "plain torch bf16"], repeats)
    print(
        f"\nSweep: MLP widths {WIDTHS[0]}-{WIDTHS[-1]}, depth 2, {len(SEEDS)} seeds, {EPOCHS} epochs on digits "
        f"({len(specs)} runs), {THREADS} thread(s), fastest of {repeats}; fp32 matmul peak {peak / 1e9:.1f} GFLOP/s"
    )
    print(
        f"{'width':>6} {'params':>8} "
        + " ".join(f"{m + ' s':>13}" for m in methods)
        + f" {'plain/batch':>11} {'sk/batch':>9} {'batch GFLOP/s':>13} {'of peak':>7} "
        + " ".join(f"{'acc ' + m:>17}" for m in methods)
    )
    totals = dict.fromkeys(methods, 0.0)
    for width in WIDTHS:
        runs = [spec for spec in specs if spec.size["width"] == width]
        seconds = {m: sum(timed[m][s.run_key]["seconds"] for s in runs) for m in methods}
        accuracy = {m: statistics.mean(timed[m][s.run_key]["accuracy"] for s in runs) for m in methods}
        flops = sum(train_flops(s) for s in runs)
        for m in methods:
            totals[m] += seconds[m]
        n_params = get_family("mlp").n_params(runs[0].size, _digits_shape(runs[0]))
        achieved = flops / seconds["batched"]
        print(
            f"{width:>6} {n_params:>8} "
            + " ".join(f"{seconds[m]:>13.2f}" for m in methods)
            + f" {seconds['plain torch'] / seconds['batched']:>11.1f} {seconds['sklearn'] / seconds['batched']:>9.1f}"
            + f" {achieved / 1e9:>13.2f} {achieved / peak:>7.1%} "
            + " ".join(f"{accuracy[m]:>17.3f}" for m in methods)
        )
    all_flops = sum(train_flops(s) for s in specs)
    print(
        f"{'total':>6} {'':>8} "
        + " ".join(f"{totals[m]:>13.2f}" for m in methods)
        + f" {totals['plain torch'] / totals['batched']:>11.1f} {totals['sklearn'] / totals['batched']:>9.1f}"
        + f" {all_flops / totals['batched'] / 1e9:>13.2f} {all_flops / totals['batched'] / peak:>7.1%}"
    )
    print("ratios: " + ", ".join(f"{m} / batched = {totals[m] / totals['batched']:.1f}x" for m in methods[1:]))
    end_to_end_line(timed, methods)
    for m in methods:
        print(
            f"  {m:>12}: achieved {all_flops / totals[m] / 1e9:.2f} GFLOP/s = {all_flops / totals[m] / peak:.1%} of peak"
        )
    at_peak = all_flops / peak
    print(
        f"ceiling: the sweep's {all_flops / 1e9:.0f} GFLOP take {at_peak:.2f} s at 100% of the fp32 matmul peak, so no fp32 "
        f"engine can beat the plain loop by more than {totals['plain torch'] / at_peak:.1f}x or sklearn by more than "
        f"{totals['sklearn'] / at_peak:.1f}x here"
    )
    precision_table(specs, timed)


def precision_table(specs: list[RunSpec], timed: dict[str, dict[str, dict]]) -> None:
    """The same sweep under bf16 autocast (fp32 weights and optimizer), against the fp32 runs."""
    largest = [spec.run_key for spec in specs if spec.size["width"] == WIDTHS[-1]]
    print(
        f"\nPrecision (same sweep, same turns): seconds, ratio to the fp32 plain loop, accuracy at width {WIDTHS[-1]}"
    )
    plain_fp32 = sum(row["seconds"] for row in timed["plain torch"].values())
    for method in ("batched", "batched bf16", "plain torch", "plain torch bf16"):
        seconds = sum(row["seconds"] for row in timed[method].values())
        accuracy = statistics.mean(timed[method][key]["accuracy"] for key in largest)
        print(f"{method:>18}: {seconds:6.2f} s  {plain_fp32 / seconds:4.1f}x  accuracy {accuracy:.3f}")


def tiny_models_table(repeats: int) -> None:
    """Where every step is overhead: many seeds of a tiny MLP, as a seed or learning-rate study has."""
    training = TrainingSpec(epochs=TINY_EPOCHS, batch_size=BATCH, lr=LR)
    specs = [
        RunSpec(
            family="mlp", size={"width": TINY_WIDTH, "depth": 2}, data=DATA, training=training, seed=seed, limits=LIMITS
        )
        for seed in range(TINY_RUNS)
    ]
    methods = ["batched", "alone", "plain torch", "sklearn"]
    timed = time_methods(specs, methods, repeats)
    print(
        f"\nTiny models: {TINY_RUNS} seeds of an MLP of width {TINY_WIDTH}, depth 2, {TINY_EPOCHS} epochs, "
        f"{THREADS} thread(s), fastest of {repeats}"
    )
    batched = sum(row["seconds"] for row in timed["batched"].values())
    for method in methods:
        seconds = sum(row["seconds"] for row in timed[method].values())
        accuracy = statistics.mean(row["accuracy"] for row in timed[method].values())
        print(
            f"{method:>12}: {seconds:6.2f} s  {seconds / batched:5.1f}x the batched time  mean accuracy {accuracy:.3f}"
        )
    end_to_end_line(timed, methods)


def end_to_end_line(timed: dict[str, dict[str, dict]], methods: list[str]) -> None:
    """Training and measuring, as a sweep spends its wall time: every method against the plain loop."""
    totals = {m: sum(row["end_to_end"] for row in timed[m].values()) for m in methods}
    print(
        "end to end (training, every measurement, checkpoints): "
        + ", ".join(f"{m} {totals[m]:.2f} s" for m in methods)
        + "; plain torch / batched = "
        f"{totals['plain torch'] / totals['batched']:.2f}x (training only: "
        f"{sum(r['seconds'] for r in timed['plain torch'].values()) / sum(r['seconds'] for r in timed['batched'].values()):.2f}x)"
    )


BASELINE = """
import sys, time, json, torch
torch.set_num_threads({threads})
from scalinglab.config import load_config
from scalinglab.sweeper.plan import plan_runs
from scalinglab.train import train_one
specs = plan_runs(load_config(None, ["measure.latency_repeats=5"]))
train_one(specs[0])
started = time.perf_counter()
seconds = sum(train_one(spec).metrics["train_seconds"] for spec in specs)
print(json.dumps([seconds, time.perf_counter() - started]))
"""


def quickstart_table(baseline_src: str | None, repeats: int) -> None:
    specs = plan_runs(load_config(None, ["measure.latency_repeats=5"]))
    methods = {
        "batched": lambda: _timed_grid(scalinglab_batched, specs),
        "alone": lambda: _timed_grid(scalinglab_alone, specs),
    }
    if baseline_src:
        methods[f"today ({baseline_src})"] = lambda: _baseline_grid(baseline_src)
    rows: dict[str, tuple[float, float]] = {}
    for _ in range(repeats):  # methods take turns; each keeps its fastest repeat
        for name, measure in methods.items():
            train_seconds, wall = measure()
            if name not in rows or train_seconds < rows[name][0]:
                rows[name] = (train_seconds, wall)
    print(f"\nQuick-start grid ({len(specs)} runs), {THREADS} thread(s), fastest of {repeats}")
    print(f"{'method':>40} {'train s':>9} {'wall s (with measuring)':>24} {'train speed-up vs alone':>24}")
    for name, (train_seconds, wall) in rows.items():
        print(f"{name:>40} {train_seconds:>9.2f} {wall:>24.2f} {rows['alone'][0] / train_seconds:>24.2f}")


def _timed_grid(train, specs: list[RunSpec]) -> tuple[float, float]:
    started = time.perf_counter()
    results = train(specs)
    return sum(r["seconds"] for r in results.values()), time.perf_counter() - started


def _baseline_grid(baseline_src: str) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": baseline_src}
    done = subprocess.run(
        [sys.executable, "-c", BASELINE.format(threads=THREADS)], env=env, capture_output=True, text=True, check=True
    )
    train_seconds, wall = json.loads(done.stdout.strip().splitlines()[-1])
    return train_seconds, wall


def batched_against_alone_table() -> None:
    """Issue 18's check that batching changes no answer: the quick start swept with
    `execution.batch = "auto"` and `"off"`, each cost law's exponent with its 95% interval, the
    share of batched training the probes cost, and `recommend` at the report's default budget."""
    import tempfile

    import scalinglab
    from scalinglab.recommendation import default_budgets

    analyses, probe_seconds, wall = {}, 0.0, {}
    probe.forget_architectures()  # as a new process: every architecture of the quick start is probed
    with tempfile.TemporaryDirectory() as folder:
        for batch in ("auto", "off"):
            probed_before = probe.probe_seconds_spent()
            started = time.perf_counter()
            frame = scalinglab.sweep(
                None, out=f"{folder}/{batch}", overrides=[f"execution.batch={batch}", "measure.latency_repeats=5"]
            )
            wall[batch] = time.perf_counter() - started
            analyses[batch] = scalinglab.analyze(f"{folder}/{batch}", n_bootstrap=300)
            if batch == "auto":
                batched_train = frame.drop_duplicates("batch_wall_seconds")["batch_wall_seconds"].sum()
                probe_seconds = probe.probe_seconds_spent() - probed_before
    print(
        f"\nQuick start, execution.batch = auto against off (one process each, same machine): sweep wall "
        f"{wall['auto']:.1f} s against {wall['off']:.1f} s; the probes of each architecture cost {probe_seconds:.2f} s, "
        f"{probe_seconds / batched_train:.1%} of batched training ({batched_train:.2f} s)"
    )
    print(f"{'cost':>22} {'exponent, batched (95% CI)':>30} {'exponent, alone (95% CI)':>30} {'each in the other':>18}")
    for cost in analyses["off"].groups.costs:
        laws = [analyses[batch].groups.costs.get(cost) for batch in ("auto", "off")]
        if None in laws:
            continue
        shown = [f"{law.exponent:.3f} ({_interval(law.exponent_ci)})" for law in laws]
        inside = all(
            ci is not None and ci[0] <= other.exponent <= ci[1]
            for ci, other in ((laws[0].exponent_ci, laws[1]), (laws[1].exponent_ci, laws[0]))
        )
        print(f"{cost:>22} {shown[0]:>30} {shown[1]:>30} {'yes' if inside else 'NO':>18}")
    for batch in ("auto", "off"):  # each at the report's default budget: its own slowest configuration's time
        budgets = default_budgets(analyses[batch])
        print(f"recommend ({batch}, {budgets.given()}): {scalinglab.recommend(analyses[batch], budgets).sentence()}")


def _interval(ci: tuple[float, float] | None) -> str:
    return "none" if ci is None else f"{ci[0]:.3f} to {ci[1]:.3f}"


def large_model_table(peak: float) -> None:
    """The goal for models of 1M parameters or more: achieved FLOP/s against the matmul peak."""
    training = TrainingSpec(epochs=LARGE_EPOCHS, batch_size=BATCH, lr=LR)
    specs = [
        RunSpec(
            family="mlp",
            size={"width": LARGE_WIDTH, "depth": 2},
            data=DATA,
            training=training,
            seed=seed,
            limits=RunLimits(latency_repeats=5),
        )
        for seed in SEEDS
    ]
    print(
        f"\nLarge model: MLP width {LARGE_WIDTH}, depth 2 ({get_family('mlp').n_params(specs[0].size, _digits_shape(specs[0])):,} "
        f"parameters), {len(SEEDS)} seeds, {LARGE_EPOCHS} epochs"
    )
    for name, results in (("batched", train_batch(specs)), ("alone", [train_one(spec) for spec in specs])):
        achieved = statistics.mean(r.metrics["achieved_flops_per_second"] for r in results)
        print(
            f"{name:>10}: {achieved / 1e9:.1f} GFLOP/s in optimizer steps = {achieved / peak:.0%} of the fp32 matmul peak"
        )


def _digits_shape(spec: RunSpec):
    return make_task(prepare(load_source(DATA), train_size=None, preprocessing="none"), spec.size).shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--threads", default=THREADS, help="torch and BLAS threads for every method, as --threads=N (default 1)"
    )
    parser.add_argument("--baseline-src", help="a checkout's src folder whose train_one times the quick start too")
    parser.add_argument("--skip-sweep", action="store_true", help="only the quick-start table")
    parser.add_argument(
        "--repeats", type=int, default=2, help="turns each method takes; its fastest is kept (default 2)"
    )
    args = parser.parse_args()
    torch.set_num_threads(int(args.threads))
    peak = matmul_peak_flops_per_second("fp32")
    if not args.skip_sweep:
        sweep_table(sweep_specs(), peak, args.repeats)
        tiny_models_table(args.repeats)
        large_model_table(peak)
    quickstart_table(args.baseline_src, args.repeats)
    batched_against_alone_table()


if __name__ == "__main__":
    main()
