"""Which parameter counts the family can build between and beyond the trained sizes, without torch.

A sweep usually varies one size axis (an MLP's width, a transformer's d_model) with the others
fixed. Along such an axis the built-in families' parameter counts are polynomials of degree at
most 2 (weights grow with width x width, biases and embeddings with width), so the trained sizes
pin that polynomial down exactly. `SizeAxis.from_runs` fits it and accepts it only when it
reproduces every trained parameter count to the parameter; a recommendation can then offer the
integer axis values and their real parameter counts, never a count no model has. When the runs
vary several axes, or the count is no such polynomial (a plugin's), there is no `SizeAxis` and
candidates stay whole numbers of parameters.

Axis values go in steps of the greatest common divisor of the trained ones. A family may refuse
some values (a transformer's n_head must divide d_model: with n_head = 2, d_model = 55 cannot be
built, and was recommended); a constraint "k divides the axis" that every trained value met is met
by every multiple of their gcd, and the analysis asks no family (it imports no torch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.analysis.runs import size_axes

MAX_DEGREE = 2
MIN_SIZES = MAX_DEGREE + 2  # one more trained size than the polynomial has coefficients: a check, not a fit


@dataclass(frozen=True)
class SizeAxis:
    """The swept size axis and the parameter count as a polynomial of it, exact on every trained size."""

    name: str
    coefficients: np.ndarray  # highest power first, as np.polyval takes them
    fixed: dict[str, object]  # the other size axes, at their one trained value
    step: int = 1  # the gcd of the trained axis values: only its multiples are offered

    @classmethod
    def from_runs(cls, runs: pd.DataFrame, x: str = "n_params") -> SizeAxis | None:
        """The axis `runs` vary and its exact parameter-count polynomial; None when there is none."""
        axes = [axis for axis in size_axes(runs) if axis in runs and axis != x]
        varied = [axis for axis in axes if runs[axis].nunique() > 1]
        if len(varied) != 1 or x not in runs:
            return None
        (name,) = varied
        pairs = runs[[name, x]].dropna().drop_duplicates()
        if len(pairs) < MIN_SIZES or pairs[name].duplicated().any() or not _whole(pairs[name]):
            return None  # one value of the axis with two counts: the count depends on something else
        values, counts = pairs[name].to_numpy(float), pairs[x].to_numpy(float)
        coefficients = np.polyfit(values, counts, MAX_DEGREE)
        if not np.all(np.abs(np.polyval(coefficients, values) - counts) < 0.5):
            return None
        fixed = {axis: _plain(runs[axis].iloc[0]) for axis in axes if axis != name}
        return cls(name, np.round(coefficients, 6), fixed, math.gcd(*values.astype(int).tolist()))

    def n_params(self, values) -> np.ndarray:
        """The parameter count at axis `values` (whole numbers)."""
        return np.round(np.polyval(self.coefficients, np.asarray(values, float)))

    def values_between(self, n_low: float, n_high: float, *, max_values: int) -> np.ndarray:
        """Integer axis values whose parameter counts lie in [n_low, n_high], at most `max_values`
        of them spread evenly in log count (every value when there are fewer)."""
        low = self._value_at_least(n_low)
        high = self._value_at_least(n_high)
        while self.n_params(high) > n_high and high > low:
            high -= self.step
        values = np.arange(low, high + 1, self.step)
        if len(values) > max_values:
            targets = np.geomspace(self.n_params(low), self.n_params(high), max_values)
            values = np.unique([self._value_at_least(target) for target in targets])
        return values

    def size_of(self, n_params: float) -> dict[str, object] | None:
        """The size (every axis) with exactly `n_params` parameters; None when no integer axis value has it."""
        value = self._value_at_least(n_params)
        return {self.name: value, **self.fixed} if self.n_params(value) == round(n_params) else None

    def _value_at_least(self, n: float) -> int:
        """The smallest positive multiple of `step` whose count is at least `n` (counts grow with the axis)."""
        low, high = 1, 2  # in multiples of step
        while self.n_params(high * self.step) < n:
            low, high = high, high * 2
        while low < high:
            middle = (low + high) // 2
            low, high = (middle + 1, high) if self.n_params(middle * self.step) < n else (low, middle)
        return int(low * self.step)


def _whole(values: pd.Series) -> bool:
    numbers = pd.to_numeric(values, errors="coerce")
    return bool(numbers.notna().all() and (numbers == np.round(numbers)).all() and (numbers > 0).all())


def _plain(value):
    """A stored axis value as the sweep file wrote it: 2, not 2.0 (a frame stores whole numbers as floats)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return value.item() if isinstance(value, np.generic) else value
