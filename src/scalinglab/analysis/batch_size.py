"""How far each size parallelizes: the critical batch size from a batch-size sweep.

McCandlish et al., "An Empirical Model of Large-Batch Training" (2018, arXiv:1812.06162): the
optimizer steps S and training examples E that reach a given loss trade off as

    (S / S_min - 1) (E / E_min - 1) = 1,   that is   S = S_min (1 + B_crit / B),  E = E_min (1 + B / B_crit)

with E = B S and the critical batch size B_crit = E_min / S_min: below it a larger batch (more
data-parallel workers) cuts the steps almost in proportion; beyond it the steps hardly fall and the
examples (compute) grow. The paper predicts B_crit ~ B_simple, the gradient noise scale every run
measures (`gradient_noise_scale`, train.noise_scale), which this compares it with.

When `batch_size` is swept, per configuration (the size axes and every setting but batch size,
learning rate and seed), from the stored per-epoch curves:
- the curve is the seed mean, per batch size, of the epoch-mean training loss (`train_loss` of the
  curves: the loss the optimizer saw, as in the paper);
- the target rule (`target_loss`, the one home of it): the target loss is the highest of the compared
  curves' lowest values, the lowest loss that every one of them reached (so each has a first epoch at
  or below it); here the curves compared are the configuration's batch sizes (analysis.time_to_target
  applies the same rule to a configuration trained at one batch size: its own lowest value);
- steps to the target: the steps at the end of the first epoch at or below it, linearly
  interpolated in loss from the epoch before (steps per epoch: ceil(samples per epoch / batch),
  samples a classification task's examples, a language model's windows (n_train - 1) // context);
  examples: the steps' share of epochs times the samples per epoch;
- the fit: S = S_min + E_min / B, linear in 1/B, by least squares weighted by 1/S (relative error)
  over at least MIN_BATCH_SIZES batch sizes; S_min and E_min must be positive, else no answer. Its
  covariance gives 95 % intervals (t with n - 2 degrees of freedom) of S(B), linear in S_min and
  E_min, and of B_crit by the delta method; none where the low end is not positive.

Across sizes, Kaplan et al., "Scaling Laws for Neural Language Models" (2020, arXiv:2001.08361,
eq. 5.2): the critical batch size grows as the loss falls, roughly whatever the size,

    B_crit(L) = B* / L^(1 / alpha_B)      (their B* ~ 2e8 tokens, alpha_B ~ 0.21)

fitted here (`critical_batch_law`) to the configurations with a B_crit, each at its target loss, by
least squares in log B_crit against log L over at least MIN_LAW_SIZES of them, with 95 % intervals
from the fit's t-distribution; B* is in this sweep's samples (examples, or a language model's windows).
Runs that differ only in `training.data_parallel` train the same curve: they count as one configuration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scalinglab.analysis.least_squares import least_squares, t_half_widths
from scalinglab.analysis.numbers import format_count, format_value
from scalinglab.analysis.runs import ok_runs_at_best_lr, size_axes
from scalinglab.metrics import METRICS, RUN_IDENTITY
from scalinglab.run_spec import TrainingSpec

MIN_BATCH_SIZES = 3  # two batch sizes determine S_min and E_min exactly: no check of the model
MIN_LAW_SIZES = 3  # two sizes determine B* and alpha_B exactly: no check of the law, no interval
CURVE_LOSS = "train_loss"


@dataclass
class CriticalBatch:
    """The steps-examples trade-off of one configuration over its batch sizes."""

    configuration: dict  # the size axes (and any other swept setting) of the configuration
    n_params: float
    target_loss: float
    batch_sizes: list[int] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)  # to the target, per batch size
    examples: list[float] = field(default_factory=list)
    s_min: float | None = None
    e_min: float | None = None
    noise_scale: float | None = None  # median measured gradient_noise_scale of its runs
    note: str = ""  # why there is no fit ('' when there is one)
    # the fit's covariance of (S_min, E_min) and residual degrees of freedom (None, 0: no interval)
    covariance: np.ndarray | None = None
    dof: int = 0

    @property
    def b_crit(self) -> float | None:
        """E_min / S_min, in examples; None without a fit."""
        return None if self.s_min is None or self.e_min is None else self.e_min / self.s_min

    def steps_at(self, batch: float) -> float | None:
        """S(B) = S_min (1 + B_crit / B) = S_min + E_min / B (McCandlish et al. 2018); None without a fit."""
        return None if self.b_crit is None else self.s_min + self.e_min / batch

    def steps_interval(self, batch: float) -> tuple[float, float] | None:
        """95 % interval of S(B) from the fit's covariance (t with its degrees of freedom; S(B) is
        linear in S_min and E_min); None without a residual degree of freedom or where its low end
        is not a positive number of steps. A low end between 0 and 1 is 1: no run takes fewer than
        one optimizer step (seen: "0.876 to 61")."""
        interval = self._interval(self.steps_at(batch), np.array([1.0, 1.0 / batch]))
        if interval is None or interval[1] < 1.0:  # wholly below one step: no interval of steps at all
            return None
        return max(interval[0], 1.0), interval[1]

    @property
    def b_crit_interval(self) -> tuple[float, float] | None:
        """95 % interval of B_crit = E_min / S_min by the delta method (gradient (-E_min / S_min^2,
        1 / S_min)); None as for `steps_interval`."""
        if self.b_crit is None:
            return None
        return self._interval(self.b_crit, np.array([-self.e_min / self.s_min**2, 1.0 / self.s_min]))

    def _interval(self, value: float | None, gradient: np.ndarray) -> tuple[float, float] | None:
        if value is None or self.covariance is None or self.dof < 1:
            return None
        (half,) = t_half_widths(np.atleast_2d(gradient @ self.covariance @ gradient), self.dof)
        low, high = value - half, value + half
        return (float(low), float(high)) if np.isfinite([low, high]).all() and low > 0 else None

    def sentence(self) -> str:
        """'At this size, batches beyond about B examples buy little', with the measured noise scale."""
        where = ", ".join(f"{name} = {format_value(value)}" for name, value in self.configuration.items())
        where = f"At {where} ({format_count(self.n_params)} parameters)"
        tried = ", ".join(str(b) for b in self.batch_sizes)
        noise = (
            f"; the gradient noise scale measured during its training is about {self.noise_scale:.3g} examples"
            + (f" ({self.noise_scale / self.b_crit:.2g} times B_crit)" if self.b_crit else "")
            if self.noise_scale is not None
            else "; no gradient noise scale was measured for it"
        )
        if self.b_crit is None:
            return f"{where}, the critical batch size is not known: {self.note}{noise}."
        return (
            f"{where}, batches beyond about {self.b_crit:.3g} examples{self._b_crit_interval_words()} buy little"
            f"{self._beyond_tried_words()}: to a training loss of {self.target_loss:.3g} it took at least "
            f"S_min = {format_count(self.s_min)} steps and E_min = {format_count(self.e_min)} examples (fitted to "
            f"(S/S_min - 1)(E/E_min - 1) = 1, McCandlish et al. 2018, over batch sizes {tried}){noise}."
        )

    def _b_crit_interval_words(self) -> str:
        interval = self.b_crit_interval
        return f" (95% CI {interval[0]:.3g} to {interval[1]:.3g})" if interval else " (its interval not determined)"

    def _beyond_tried_words(self) -> str:
        """Where B_crit lies outside the batch sizes tried, said with what would measure it."""
        if self.b_crit < min(self.batch_sizes):
            return (
                f", though that is below the smallest batch tried ({min(self.batch_sizes)}): every batch tried is "
                "already at or beyond it, and only smaller batches would place it"
            )
        if self.b_crit > max(self.batch_sizes):
            return (
                f", though that is beyond the largest batch tried ({max(self.batch_sizes)}): larger batches "
                "would place it"
            )
        return ""


def critical_batch_sizes(frame: pd.DataFrame, curves: pd.DataFrame | None) -> list[CriticalBatch]:
    """One CriticalBatch per configuration trained at MIN_BATCH_SIZES or more batch sizes (none
    when batch size is not swept, or without curves), in increasing order of parameters."""
    runs = ok_runs_at_best_lr(frame)
    if (
        curves is None
        or curves.empty
        or runs.empty
        or "batch_size" not in runs
        or runs["batch_size"].nunique() < 2
        or CURVE_LOSS not in curves
    ):
        return []
    alike = [
        c
        for c in runs.columns
        if c not in METRICS
        and c not in RUN_IDENTITY
        and c not in ("lr", "best_lr", "batch_size", *TrainingSpec.time_only)
        and runs[c].nunique(dropna=False) > 1
    ]
    groups = runs.groupby(alike, dropna=False, sort=False) if alike else [((), runs)]
    answers = [_configuration(group, curves, alike) for _, group in groups]
    return sorted((answer for answer in answers if answer is not None), key=lambda answer: answer.n_params)


def _configuration(runs: pd.DataFrame, curves: pd.DataFrame, alike: list[str]) -> CriticalBatch | None:
    if runs["batch_size"].nunique() < 2:
        return None
    shown = dict.fromkeys([*size_axes(runs), *alike])  # the size, and whatever else tells configurations apart
    configuration = {c: runs[c].iloc[0] for c in shown if runs[c].nunique(dropna=False) == 1}
    noise = runs["gradient_noise_scale"].dropna() if "gradient_noise_scale" in runs else pd.Series(dtype=float)
    mean_curves = {}
    for batch, group in runs.groupby("batch_size"):
        curve = mean_curve(curves, group["run_key"])
        if curve is not None:
            mean_curves[int(batch)] = (curve, samples_per_epoch(group.iloc[0]))
    answer = CriticalBatch(
        configuration,
        float(runs["n_params"].mean()) if "n_params" in runs else math.nan,
        math.nan,
        noise_scale=float(noise.median()) if len(noise) else None,
    )
    if len(mean_curves) < MIN_BATCH_SIZES:
        answer.note = f"{len(mean_curves)} batch sizes with curves, fewer than the {MIN_BATCH_SIZES} a fit needs"
        return answer
    answer.target_loss = target_loss([curve for curve, _ in mean_curves.values()])
    for batch, (curve, samples) in sorted(mean_curves.items()):
        steps = steps_to(curve, answer.target_loss, math.ceil(samples / batch))
        answer.batch_sizes.append(batch)
        answer.steps.append(steps)
        answer.examples.append(steps / math.ceil(samples / batch) * samples)
    answer.s_min, answer.e_min, answer.note = fit_steps_examples(answer.batch_sizes, answer.steps)
    if answer.s_min is not None:
        _, answer.covariance, answer.dof = _steps_fit(answer.batch_sizes, answer.steps)
    return answer


def mean_curve(curves: pd.DataFrame, run_keys) -> pd.Series | None:
    """The seed mean of the runs' per-epoch training loss (index: epoch); None without points."""
    points = curves[curves["run_key"].isin(run_keys)]
    return None if points.empty else points.groupby("epoch")[CURVE_LOSS].mean().sort_index()


def target_loss(curves: list[pd.Series]) -> float:
    """The target rule: the lowest loss every one of `curves` reached (the highest of their minima),
    so that each has a first epoch at or below it."""
    return max(float(curve.min()) for curve in curves)


def samples_per_epoch(run: pd.Series) -> float:
    """A run's training samples per epoch, in batch units: examples, or a language model's windows."""
    context = run.get("context")
    if context is not None and not pd.isna(context):
        return float((run["n_train"] - 1) // context)
    return float(run["n_train"])


def steps_to(curve: pd.Series, target: float, steps_per_epoch: int) -> float:
    """Steps until the per-epoch `curve` (index: epoch) first reaches `target`: the end of that
    epoch, interpolated linearly in loss from the end of the epoch before (not before the first)."""
    epochs, losses = curve.index.to_numpy(dtype=float), curve.to_numpy(dtype=float)
    first = int(np.argmax(losses <= target))
    if first == 0:
        return epochs[0] * steps_per_epoch
    before, after = losses[first - 1], losses[first]
    fraction = (before - target) / (before - after) if before > after else 1.0
    return (epochs[first - 1] + fraction * (epochs[first] - epochs[first - 1])) * steps_per_epoch


def fit_steps_examples(batch_sizes: list[int], steps: list[float]) -> tuple[float | None, float | None, str]:
    """(S_min, E_min, note) of S = S_min + E_min / B by least squares weighted by 1/S; None and
    the reason when either comes out not positive."""
    (s_min, e_min), _, _ = _steps_fit(batch_sizes, steps)
    if not (s_min > 0 and e_min > 0 and math.isfinite(s_min) and math.isfinite(e_min)):
        return (
            None,
            None,
            (
                "the steps to the target loss did not fall with batch size as (S/S_min - 1)(E/E_min - 1) = 1 "
                f"has them fall (fitted S_min = {s_min:.3g}, E_min = {e_min:.3g})"
            ),
        )
    return float(s_min), float(e_min), ""


def _steps_fit(batch_sizes: list[int], steps: list[float]) -> tuple[np.ndarray, np.ndarray, int]:
    """Least squares of S = S_min + E_min / B weighted by 1/S (relative errors): (S_min, E_min),
    their covariance and the residual degrees of freedom (`least_squares`)."""
    b, s = np.asarray(batch_sizes, dtype=float), np.asarray(steps, dtype=float)
    return least_squares(np.column_stack([np.ones_like(b), 1.0 / b]) / s[:, None], np.ones_like(s))


@dataclass
class CriticalBatchLaw:
    """B_crit(L) = B* / L^(1/alpha_B) fitted across sizes (Kaplan et al. 2020, eq. 5.2): each of
    B* and alpha_B as (value, 95 % low, high); alpha_B's interval None where the fit does not bound
    it (the slope's interval reaches 0: B_crit may not grow as the loss falls at all)."""

    b_star: tuple[float, float, float]
    alpha_b: float
    alpha_b_interval: tuple[float, float] | None
    losses: list[float]
    b_crits: list[float]

    def predict(self, loss: float) -> float:
        return self.b_star[0] / loss ** (1 / self.alpha_b)

    def sentence(self) -> str:
        law = f"Across {len(self.losses)} sizes, B_crit(L) = B* / L^(1/alpha_B) (Kaplan et al. 2020)"
        if self.alpha_b_interval is None:  # B*'s interval moves with alpha_B's: neither is determined
            return (
                f"{law} fits alpha_B = {self.alpha_b:.2g} and B* = {self.b_star[0]:.3g} samples, but these sizes do not "
                "bound alpha_B's 95% interval (the critical batch size may not grow as the loss falls at all), so "
                "neither is determined: sizes whose target losses lie further apart would determine them."
            )
        grows = "grows" if self.alpha_b > 0 else "does not grow"
        return (
            f"{law}: the critical batch size {grows} as the loss falls, with B* = {self.b_star[0]:.3g} samples (95% "
            f"from {self.b_star[1]:.3g} to {self.b_star[2]:.3g}) and alpha_B = {self.alpha_b:.2g} (95% from "
            f"{self.alpha_b_interval[0]:.3g} to {self.alpha_b_interval[1]:.3g}); at a training loss of "
            f"{min(self.losses):.3g}, about {self.predict(min(self.losses)):.3g} samples per batch."
        )


def critical_batch_law(answers: list[CriticalBatch]) -> tuple[CriticalBatchLaw | None, str]:
    """(the law, '') fitted to the configurations with a B_crit at a positive target loss; (None,
    why) in words with fewer than MIN_LAW_SIZES of them, equal losses, or a flat fit."""
    points = [(a.target_loss, a.b_crit) for a in answers if a.b_crit is not None and a.target_loss > 0]
    if len(points) < MIN_LAW_SIZES:
        return None, (
            f"B_crit(L) = B* / L^(1/alpha_B) (Kaplan et al. 2020) is not fitted: {len(points)} size(s) have a "
            f"critical batch size, fewer than the {MIN_LAW_SIZES} it needs"
        )
    losses, b_crits = (np.array(values, dtype=float) for values in zip(*points))
    if np.ptp(np.log(losses)) == 0:
        return None, "B_crit(L) is not fitted: every size reached its target at the same loss"
    (intercept, slope), covariance, dof = least_squares(
        np.column_stack([np.ones_like(losses), np.log(losses)]), np.log(b_crits)
    )
    half = t_half_widths(covariance, dof)
    if slope == 0 or not np.isfinite(half).all():
        return None, "B_crit(L) is not fitted: the critical batch size does not change with the loss here"
    alpha = -1 / slope  # log B = log B* - (1/alpha_B) log L
    low, high = slope - half[1], slope + half[1]
    bounded = (-1 / low, -1 / high) if high < 0 else None  # alpha_B > 0 throughout the slope's interval
    b_star = tuple(float(np.exp(value)) for value in (intercept, intercept - half[0], intercept + half[0]))
    return CriticalBatchLaw(b_star, float(alpha), bounded, losses.tolist(), b_crits.tolist()), ""
