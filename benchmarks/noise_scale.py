"""Accuracy of the gradient noise scale estimator on a case with a known answer (a script that
prints figures, not a test; tests/train/test_noise_scale.py asserts a looser bound on fewer seeds).

Linear regression with Gaussian inputs and noise: x ~ N(0, I_d), y = w*.x + eps, eps ~ N(0, s^2),
loss 0.5 (w.x - y)^2, evaluated at fixed weights w = w* + delta. The per-example gradient is
g = (delta.x - eps) x, so (Isserlis' theorem for the fourth moment)

    G = E[g] = delta,    E[g g^T] = (s^2 + |delta|^2) I + 2 delta delta^T,
    tr(Sigma) = d s^2 + (d + 1) |delta|^2,    B_simple = tr(Sigma) / |delta|^2.

The estimate goes through the training loop's own code path (train.noise_scale.StepMeter: the
small batch's gradient by autograd, the big batch's norm from clip_grad_norm_ as optimizer_step
computes it), with the weights held still; the exponential moving average is the one training
records (EMA_DECAY). It prints, per batch size and number of measurements, the median and worst
relative error over seeds. Then the cost: the training seconds of one run (digits, MLP width 64,
depth 2, batch 64, 10 epochs; and a tiny transformer on text) with the measurement and without it
(the small batch set too small to measure), median of --repeats alternating runs. With --sweep,
last, a batch-size sweep (MLP widths 16 and 128 on the digits, batch sizes 8-256, lr 1e-3, 20
epochs): the critical batch size analysis.batch_size fits from its curves, beside the median
gradient noise scale its runs measured.

    PYTHONPATH=src python benchmarks/noise_scale.py            # about 2 minutes on one core
"""

from __future__ import annotations

import argparse
import statistics

import torch
from torch import nn

from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec
from scalinglab.train import noise_scale, train_one
from scalinglab.train.noise_scale import StepMeter


class LinearRegression:
    """The known-answer case: dimension d, noise std `noise`, offset delta = (offset, 0, ..., 0)."""

    def __init__(self, d: int = 10, noise: float = 1.0, offset: float = 1.0) -> None:
        self.d, self.noise, self.offset = d, noise, offset

    def closed_form(self) -> float:
        """B_simple = tr(Sigma) / |G|^2 in closed form."""
        delta_sq = self.offset**2
        return (self.d * self.noise**2 + (self.d + 1) * delta_sq) / delta_sq

    def measured(self, batch_size: int, measurements: int, seed: int) -> float | None:
        """The noise scale StepMeter records after `measurements` measured steps at fixed weights."""
        generator = torch.Generator().manual_seed(seed)
        model = nn.Linear(self.d, 1, bias=False)
        with torch.no_grad():
            model.weight.zero_()
            model.weight[0, 0] = self.offset  # the true weights w* are 0: delta = the weights
        loss_of = lambda output, target: 0.5 * (output.squeeze(-1) - target).pow(2).mean()
        meter = StepMeter(batch_size, forks_rng=False)
        for _ in range(measurements):
            x = torch.randn(batch_size, self.d, generator=generator)
            y = self.noise * torch.randn(batch_size, generator=generator)
            small = meter.small_sq(model, loss_of, x, y, step=0, precision="fp32", device="cpu")
            model.zero_grad(set_to_none=True)
            loss_of(model(x), y).backward()
            meter.record(small, nn.utils.clip_grad_norm_(model.parameters(), float("inf")))
        meter.close_epoch()
        return meter.noise.value()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cost-only", action="store_true", help="skip the accuracy table")
    parser.add_argument("--sweep", action="store_true", help="only the batch-size sweep")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.sweep:
        return batch_size_sweep()
    case = LinearRegression()
    truth = case.closed_form()
    print(
        f"linear regression, d={case.d}, noise std {case.noise}, |delta| {case.offset}: B_simple = {truth:g} (closed form)"
    )
    print(
        f"{'batch':>6} {'measurements':>13} {'median |error|':>15} {'worst |error|':>14} {'mean error':>11} {'undefined':>10}"
    )
    for batch_size in () if args.cost_only else (16, 64, 256):
        for measurements in (100, 300, 1000):
            values = [case.measured(batch_size, measurements, seed) for seed in range(args.seeds)]
            errors = [value / truth - 1 for value in values if value is not None]
            undefined = sum(value is None for value in values)
            print(
                f"{batch_size:>6} {measurements:>13} {statistics.median(map(abs, errors)):>14.1%} "
                f"{max(map(abs, errors)):>13.1%} {statistics.mean(errors):>+10.1%} {undefined:>10}"
            )

    print("\ncost of the measurement (train_seconds, median of", args.repeats, "alternating runs)")
    runs = {
        "mlp width 64, digits, batch 64": RunSpec(
            family="mlp",
            size={"width": 64, "depth": 2},
            data=DataSpec(source="digits"),
            training=TrainingSpec(epochs=10, batch_size=64, lr=3e-3),
            seed=0,
        ),
        "transformer d16 L1, text, batch 32": RunSpec(
            family="transformer",
            size={"d_model": 16, "n_layer": 1, "n_head": 2, "context": 32},
            data=DataSpec(source="stdlib", train_size=20000, val_size=2048),
            training=TrainingSpec(epochs=2, batch_size=32, lr=3e-3),
            seed=0,
        ),
    }
    divisor = noise_scale.SMALL_BATCH_DIVISOR
    for name, spec in runs.items():
        spec = spec.model_copy(update={"limits": RunLimits(latency_repeats=1)})
        seconds = {"measured": [], "not measured": []}
        noise = None
        for _ in range(args.repeats):
            for label, small in (("measured", divisor), ("not measured", 10**9)):
                noise_scale.SMALL_BATCH_DIVISOR = small
                result = train_one(spec)
                seconds[label].append(result.metrics["train_seconds"])
                noise = result.metrics.get("gradient_noise_scale", noise)
        noise_scale.SMALL_BATCH_DIVISOR = divisor
        on, off = statistics.median(seconds["measured"]), statistics.median(seconds["not measured"])
        value = "undefined (the |G|^2 average not positive)" if noise is None else f"{noise:.3g}"
        print(f"  {name}: {on:.3f} s measured, {off:.3f} s not: {on / off - 1:+.1%}; gradient_noise_scale {value}")


def batch_size_sweep() -> None:
    import pandas as pd

    from scalinglab.analysis.batch_size import critical_batch_sizes

    runs, curves = [], []
    for width in (16, 128):
        for batch in (8, 16, 32, 64, 128, 256):
            spec = RunSpec(
                family="mlp",
                size={"width": width, "depth": 2},
                data=DataSpec(source="digits"),
                seed=0,
                training=TrainingSpec(epochs=20, batch_size=batch, lr=1e-3),
                limits=RunLimits(latency_repeats=1),
            )
            result = train_one(spec)
            runs.append(
                {
                    "run_key": result.run_key,
                    "status": result.status,
                    "seed": 0,
                    "family": "mlp",
                    "width": width,
                    "batch_size": batch,
                    "lr": 1e-3,
                    **result.metrics,
                }
            )
            curves += [{"run_key": result.run_key, **point} for point in result.curves]
            print(
                f"  width {width}, batch {batch}: gradient_noise_scale {result.metrics.get('gradient_noise_scale')}",
                flush=True,
            )
    for answer in critical_batch_sizes(pd.DataFrame(runs), pd.DataFrame(curves)):
        print(answer.sentence())
        print(
            "   steps to the target per batch size:",
            [f"{b}: {s:.0f}" for b, s in zip(answer.batch_sizes, answer.steps)],
        )


if __name__ == "__main__":
    main()
