"""[transfer]'s runs in the analysis (Hernandez et al. 2021, "Scaling Laws for Transfer").

The sweep's laws are fitted on its scratch runs, the runs a sweep without [transfer] would train;
the pretraining runs (on the source) and the runs that start from them are kept apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.analysis.least_squares import least_squares, t_half_widths
from scalinglab.analysis.numbers import format_percent
from scalinglab.metrics import label, lower_is_better


def split_transfer_runs(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the scratch runs, the pretraining and pretrained-start runs) of a sweep's runs table; the
    second is empty for a sweep without [transfer]."""
    if "transfer_mode" not in frame:
        return frame, frame.iloc[0:0]
    parents = set(frame["transfer_parent"].dropna())
    apart = frame["transfer_mode"].notna() | frame["run_key"].isin(parents)
    return frame[~apart], frame[apart]


# Effective data transferred (Hernandez et al. 2021, "Scaling Laws for Transfer", section 2): the
# extra target examples a from-scratch model of the same size would need to match a pretrained
# start, D_T = D_equivalent - D_F, read off the scratch runs' data law L(D) = E + A * D^-alpha of
# that size; then the fit D_T = k * D_F^alpha * N^beta (their eq. 1.1).
MIN_SCRATCH_SIZES = 3  # data sizes a size's scratch law needs: three parameters


def effective_data_transferred(
    runs: pd.DataFrame,
    metric: str = "val_loss",
    *,
    mode: str = "finetune",
    n_bootstrap: int = 200,
    random_state: int = 0,
) -> pd.DataFrame:
    """One row per (n_params, train_size) of the `mode` runs: their mean `metric`, D_equivalent and
    D_T with a 95 % interval (over the scratch law's bootstrap). D_T is NaN where the pretrained
    loss is at or below the scratch law's floor E (no amount of scratch data matches it) or a
    size has scratch runs at fewer than MIN_SCRATCH_SIZES data sizes. `attrs["d_transferred_draws"]`:
    D_T at every row (rows) under each of the scratch laws' bootstrap replicates (columns), for
    transfer_law's interval."""
    import numpy as np

    from scalinglab.fit import ScalingLaw

    ok = runs[runs["status"] == "ok"]
    scratch, _ = split_transfer_runs(ok)
    pretrained = ok[ok.get("transfer_mode", pd.Series(index=ok.index, dtype=object)) == mode]
    rows, draws = [], []
    for n_params, targets in pretrained.groupby("n_params"):
        own = scratch[scratch["n_params"] == n_params]
        law = None
        if own["train_size"].nunique() >= MIN_SCRATCH_SIZES:
            law = ScalingLaw("power", n_bootstrap=n_bootstrap, random_state=random_state).fit(
                own, x="train_size", y=metric, groups=np.arange(len(own))
            )
        for d_f, points in targets.groupby("train_size"):
            loss = float(points[metric].mean())
            d_eq, low, high, replicates = _equivalent_data(law, loss)
            draws.append(np.full(n_bootstrap, np.nan))
            draws[-1][: len(replicates)] = replicates[:n_bootstrap] - d_f
            rows.append(
                {
                    "n_params": float(n_params),
                    "train_size": float(d_f),
                    metric: loss,
                    "n_seeds": len(points),
                    "d_equivalent": d_eq,
                    "d_transferred": d_eq - d_f,
                    "d_transferred_low": low - d_f,
                    "d_transferred_high": high - d_f,
                    # The scratch law was fitted but never reaches this loss: better than any data from scratch.
                    "below_scratch_floor": law is not None and not np.isfinite(d_eq),
                }
            )
    points = pd.DataFrame(rows)
    points.attrs["d_transferred_draws"] = np.vstack(draws) if draws else np.empty((0, n_bootstrap))
    return points


def _equivalent_data(law, loss: float) -> tuple[float, float, float, np.ndarray]:
    """(D, low, high, replicates): the data at which the scratch `law` reaches `loss`, its 95 %
    interval over the law's bootstrap, and D under each bootstrap replicate (NaN where the loss is
    at or below the floor)."""
    import numpy as np

    nan = float("nan")
    if law is None:
        return nan, nan, nan, np.array([])

    def inverse(E, A, alpha):
        E, A, alpha = (np.asarray(value, dtype=float) for value in (E, A, alpha))
        with np.errstate(divide="ignore", invalid="ignore"):
            d = (A / (loss - E)) ** (1.0 / alpha)
        return np.where((loss > E) & np.isfinite(d), d, np.nan)

    point = float(inverse(law.params_["E"], law.params_["A"], law.params_["alpha"]))
    replicates = law.bootstrap_params_
    spread = (
        inverse(replicates["E"], replicates["A"], replicates["alpha"]) if replicates is not None else np.array([nan])
    )
    finite = spread[np.isfinite(spread)]
    if not np.isfinite(point) or len(finite) < 0.95 * len(spread):  # the interval reaches the floor: unbounded
        return point, nan, nan, spread
    return point, float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5)), spread


def transfer_law(points: pd.DataFrame) -> dict[str, tuple[float, float, float]] | None:
    """The fit log D_T = log k + alpha log D_F + beta log N over the `points` with D_T > 0 (least
    squares), each parameter as (value, 95 % low, high); None with fewer than 4 such points or
    fewer than 2 model sizes or data sizes among them.

    The interval adds two variances: least squares' own (the points' scatter about the law) and,
    where `points.attrs` holds the D_T of every scratch-law bootstrap replicate, the spread of the
    fit over those replicates. The points of one size share its scratch law, so its error moves
    them together, which the scatter alone does not show (in benchmarks/transfer_truth.py least
    squares' interval alone covered the true beta 79 times in 100, the sum 99)."""
    import numpy as np

    usable = _fittable(points["train_size"], points["n_params"], points["d_transferred"])
    if usable is None:
        return None
    theta, covariance, dof = _log_linear_fit(points[usable], points["d_transferred"][usable])
    draws = points.attrs.get("d_transferred_draws")
    if draws is not None and len(draws) == len(points) and np.isfinite(draws).any():  # none: no bootstrap
        replicated = [
            _log_linear_fit(points[kept], draw[kept])[0]
            for draw in np.asarray(draws, float).T
            if (kept := _fittable(points["train_size"], points["n_params"], draw)) is not None
        ]
        if len(replicated) >= 0.5 * draws.shape[1] >= 10:  # too few replicates fit: no honest interval
            covariance = covariance + np.cov(np.array(replicated).T)
        else:
            return None
    errors = t_half_widths(covariance, dof)
    if not np.isfinite(errors).all():
        return None
    fitted = {
        name: (float(value), float(value - error), float(value + error))
        for name, value, error in zip(("log_k", "alpha", "beta"), theta, errors)
    }
    k = fitted.pop("log_k")
    return {"k": tuple(float(np.exp(value)) for value in k), **fitted}


def _fittable(d_f: pd.Series, n: pd.Series, d_t) -> np.ndarray | None:
    """The mask of the points with a finite D_T > 0, None with fewer than 4 of them or fewer than 2
    model sizes or data sizes among them."""
    import numpy as np

    d_t = np.asarray(d_t, float)
    with np.errstate(invalid="ignore"):
        mask = np.isfinite(d_t) & (d_t > 0)
    if mask.sum() < 4 or n[mask].nunique() < 2 or d_f[mask].nunique() < 2:
        return None
    return mask


def _log_linear_fit(points: pd.DataFrame, d_t) -> tuple[np.ndarray, np.ndarray, int]:
    """Least squares of log D_T on (1, log D_F, log N): the parameters, their covariance, the
    residual degrees of freedom."""
    import numpy as np

    design = np.column_stack([np.ones(len(points)), np.log(points["train_size"]), np.log(points["n_params"])])
    return least_squares(design, np.log(np.asarray(d_t, float)))


def transfer_sentence(points: pd.DataFrame, unit: str = "examples", largest_scratch: float | None = None) -> str | None:
    """In words, at the smallest data size and largest model of `points` with a finite D_T: 'at N
    parameters and D_F examples, pretraining is worth about D_T examples (x times your data)'.
    A D_equivalent beyond `largest_scratch` (the most data a scratch run of any size trained on)
    is said to be the scratch law's extrapolation (seen: 6.43k examples from scratch runs of at
    most 400, more than the data set holds)."""
    import numpy as np

    finite = points[np.isfinite(points["d_transferred"])]
    if finite.empty:
        return None
    at = finite.sort_values(["train_size", "n_params"], ascending=[True, False]).iloc[0]
    d_t, d_f = at["d_transferred"], at["train_size"]
    interval = (
        f" (95 %: {at['d_transferred_low']:,.0f} to {at['d_transferred_high']:,.0f})"
        if np.isfinite(at["d_transferred_low"])
        else " (its interval reaches the scratch law's floor)"
    )
    where = f"At {at['n_params']:,.0f} parameters and {d_f:,.0f} {unit}"
    if d_t <= 0:
        return (
            f"{where}, pretraining is worth no more than training from scratch: effective data transferred "
            f"{d_t:,.0f} {unit}{interval} (Hernandez et al. 2021)."
        )
    beyond = ""
    if largest_scratch is not None and at["d_equivalent"] > largest_scratch:
        beyond = (
            f"; a scratch model would match it at {at['d_equivalent']:,.0f} {unit}, "
            f"{at['d_equivalent'] / largest_scratch:.2g}x the most any scratch run trained on, so that is "
            "the scratch law's extrapolation"
        )
    return (
        f"{where}, pretraining is worth about {d_t:,.0f} {unit}{interval}, {d_t / d_f:.1f} times your "
        f"data (effective data transferred, Hernandez et al. 2021){beyond}."
    )


@dataclass
class TransferAnswer:
    """ "Pretrained or from scratch?": per pretrained mode, the effective data transferred at every
    (size, data size) and the fitted D_T = k D_F^alpha N^beta (None where it cannot be fitted);
    the quality of every mode per size and data size (seed means and spreads); the training FLOPs
    of every start with and without its pretraining (`compute_comparison`); the sentences."""

    quality: pd.DataFrame
    points: dict[str, pd.DataFrame]
    laws: dict[str, dict[str, tuple[float, float, float]] | None]
    sentences: list[str]
    compute: pd.DataFrame | None = None


def transfer_answer(runs: pd.DataFrame, metric: str = "val_loss", **options) -> TransferAnswer | None:
    """The transfer answer of a sweep's runs table; None for a sweep without [transfer]."""
    if "transfer_mode" not in runs or runs["transfer_mode"].isna().all():
        return None
    ok = runs[runs["status"] == "ok"]
    scratch, _ = split_transfer_runs(ok)
    targets = pd.concat([scratch.assign(transfer_mode="scratch"), ok[ok["transfer_mode"].notna()]])
    quality = (
        targets.groupby(["n_params", "train_size", "transfer_mode"])[metric]
        .agg(["mean", "std", "count"])
        .unstack("transfer_mode")
    )
    quality.columns = [f"{mode} {stat}" for stat, mode in quality.columns]
    modes = sorted(set(ok["transfer_mode"].dropna()))
    points = {mode: effective_data_transferred(runs, metric, mode=mode, **options) for mode in modes}
    laws = {mode: transfer_law(table) for mode, table in points.items()}
    sentences = []
    scratch_sizes = int(scratch.groupby("n_params")["train_size"].nunique().max()) if len(scratch) else 0
    for mode in modes:
        sentence = transfer_sentence(points[mode], _data_unit(ok), float(scratch["train_size"].max()))
        if sentence is None and scratch_sizes < MIN_SCRATCH_SIZES:
            sentence = (
                f"the effective data transferred (D_T) needs a data law of the scratch runs at each size, fitted "
                f"to {MIN_SCRATCH_SIZES}+ data sizes; these have at most {scratch_sizes}: train "
                f"{MIN_SCRATCH_SIZES}+ data sizes to measure it."
            )
        measured = measured_sentence(quality, mode, metric)  # the answer first, then what it is worth in data
        sentences += [f"{mode.capitalize()}: {measured}"] if measured else []
        sentences += [f"{mode.capitalize()}: {sentence}"] if sentence else []
        floor = floor_sentence(points[mode], _data_unit(ok))
        sentences += [f"{mode.capitalize()}: {floor}"] if floor else []
        law = laws[mode]
        if law is not None:
            sentences.append(
                f"{mode.capitalize()}: fitted D_T = k D_F^alpha N^beta with alpha = {law['alpha'][0]:.2f} "
                f"(95 %: {law['alpha'][1]:.2f} to {law['alpha'][2]:.2f}), beta = {law['beta'][0]:.2f} "
                f"({law['beta'][1]:.2f} to {law['beta'][2]:.2f})."
            )
    starts = pretrained_options(runs, count_pretraining=False)
    compute = compute_comparison(scratch, starts)
    sentences += [
        sentence
        for sentence in (pretraining_cost_sentence(starts), features_sentence(quality, starts, metric, _data_unit(ok)))
        if sentence
    ]
    return TransferAnswer(quality.reset_index(), points, laws, sentences, compute)


def measured_sentence(quality: pd.DataFrame, mode: str, metric: str) -> str | None:
    """How the `mode` runs measured against scratch at every size and data size trained both ways
    (seed means), in words: the answer itself, whatever law can or cannot be fitted to it (seen: a
    report that gave one D_T of six and never said fine-tuning won in all six)."""
    if f"{mode} mean" not in quality or "scratch mean" not in quality:
        return None
    both = quality[[f"{mode} mean", "scratch mean"]].dropna()
    if both.empty:
        return None
    change = (both[f"{mode} mean"] - both["scratch mean"]) / both["scratch mean"].abs()
    better = change < 0 if lower_is_better(metric) else change > 0
    pairs = f"{len(both)} size{'s' if len(both) != 1 else ''} and data size{'s' if len(both) != 1 else ''}"
    if better.all():
        verdict = "better than from scratch at all"
    elif not better.any():
        verdict = "no better than from scratch at any of the"
    else:
        verdict = f"better than from scratch at {int(better.sum())} of the"
    spread = np.abs(change[better])
    return (
        f"measured {verdict} {pairs} trained both ways ({label(metric)} "
        f"{'lower' if lower_is_better(metric) else 'higher'} by {format_percent(spread.min())} to "
        f"{format_percent(spread.max())} where better, seed means)."
        if better.any()
        else f"measured {verdict} {pairs} trained both ways (seed means)."
    )


def floor_sentence(points: pd.DataFrame, unit: str) -> str | None:
    """Where the pretrained runs measured below the scratch law's floor: no D_T, said as what it means."""
    if points.empty or "below_scratch_floor" not in points or not points["below_scratch_floor"].any():
        return None
    below = points[points["below_scratch_floor"]]
    return (
        f"at {len(below)} of {len(points)} sizes and data sizes the pretrained model measured better than the "
        f"scratch runs' data law reaches with any amount of data (its floor), so no effective data transferred is "
        f"quoted there: more than any number of {unit} from scratch, as far as these scratch runs can tell."
    )


def _data_unit(runs: pd.DataFrame) -> str:
    """What train_size counts: bytes for a language model's runs (they record the tokens they saw), else examples."""
    return "bytes" if "train_tokens_seen" in runs and runs["train_tokens_seen"].notna().any() else "examples"


def compute_comparison(scratch: pd.DataFrame, options: pd.DataFrame) -> pd.DataFrame | None:
    """Per (n_params, train_size): the seed-mean training FLOPs of the scratch runs and of each
    pretrained mode of `options` (pretrained_options), alone and with its parent's pretraining FLOPs
    added (as if pretraining were paid for that target alone; it is paid once per size and shared),
    the pretraining FLOPs beside. None without pretrained runs."""
    if options.empty or "train_flops" not in scratch or "train_flops" not in options:
        return None
    keys = ["n_params", "train_size"]
    table = scratch.groupby(keys)["train_flops"].mean().rename("scratch FLOPs").reset_index()
    pretraining = options.groupby(keys)["pretraining_flops"].first().rename("pretraining FLOPs").reset_index()
    table = table.merge(pretraining, on=keys, how="outer")
    for mode, runs in options.groupby("transfer_mode"):
        costs = runs[keys].assign(
            **{
                f"{mode} FLOPs": runs["train_flops"],
                f"{mode} + pretraining FLOPs": runs["train_flops"] + runs["pretraining_flops"],
            }
        )
        table = table.merge(costs, on=keys, how="outer")
    return table.sort_values(keys).reset_index(drop=True)


def pretraining_cost_sentence(options: pd.DataFrame) -> str | None:
    """How much the pretraining runs cost, and that the compute table counts it against each target."""
    if options.empty or "pretraining_seconds" not in options:
        return None
    per_size = options.groupby("n_params")[["pretraining_flops", "pretraining_seconds"]].first().dropna()
    if per_size.empty:  # parents that recorded no training: the family's own weights ([transfer] source = "family")
        return (
            "The pretrained starts are the model family's own weights, loaded and not trained here: their "
            "pretraining cost is unknown (not zero), so the compute table leaves it blank."
        )
    flops, seconds = per_size["pretraining_flops"], per_size["pretraining_seconds"]
    return (
        f"Pretraining is paid once per model size ({flops.min():.3g} to {flops.max():.3g} FLOPs, "
        f"{seconds.min():.3g} to {seconds.max():.3g} s) and shared by every target run of that size; the "
        "compute table gives each start's training FLOPs alone and with its pretraining counted in full."
    )


def features_sentence(quality: pd.DataFrame, options: pd.DataFrame, metric: str, unit: str = "examples") -> str | None:
    """Where feature extraction is as good as fine-tuning: its seed mean `metric` no worse than the
    end of the fine-tuned runs' 95 % t-interval over seeds (their mean with one seed), and at what
    fraction of fine-tuning's trainable parameters and training time; None without both modes."""
    from scipy import stats

    needed = ["features mean", "finetune mean", "finetune std", "finetune count"]
    if not set(needed) <= set(quality.columns):
        return None
    both = quality[needed].dropna(subset=["features mean", "finetune mean"])
    if both.empty:
        return None
    count = both["finetune count"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = np.where(
            count > 1, stats.t.ppf(0.975, np.maximum(count - 1, 1)) * both["finetune std"] / np.sqrt(count), 0.0
        )
    sign = 1.0 if lower_is_better(metric) else -1.0
    as_good = sign * both["features mean"] <= sign * both["finetune mean"] + half
    where = both.index[as_good.to_numpy()]
    if count.max() == 1:  # one run per start: no interval to judge noise by
        worse = (
            "never measured as good as"
            if len(where) == 0
            else f"measured as good as at {len(where)} of {len(both)} model and data sizes"
        )
        return (
            f"Feature extraction {worse} fine-tuning ({metric}, one run each: whether by more than noise, "
            "2+ seeds would tell)."
        )
    if len(where) == 0:
        return (
            f"Feature extraction is never as good as fine-tuning here: at every model size and data size its {metric} "
            f"is worse than the fine-tuned runs' 95 % interval over {_seeds(count)}."
        )
    modes = options.set_index(["transfer_mode", "n_params", "train_size"])
    points = (
        f"at all {len(both)} model and data sizes"
        if len(where) == len(both)
        else f"at {len(where)} of {len(both)} model and data sizes ("
        + ", ".join(f"{n:,.0f} parameters and {d:,.0f} {unit}" for n, d in where)
        + ")"
    )
    cheaper = [
        f"{_median_ratio(modes, where, column):.0%} of {what}"
        for column, what in (("n_trainable_params", "the trainable parameters"), ("train_seconds", "the training time"))
        if column in modes
    ]
    return (
        f"Feature extraction is as good as fine-tuning (its {metric} within the fine-tuned runs' 95 % interval over "
        f"{_seeds(count)}) {points}"
        + (f", with {' and '.join(cheaper)} of fine-tuning (medians over those points)." if cheaper else ".")
    )


def _seeds(count: np.ndarray) -> str:
    """'3 seeds', '2 to 3 seeds', or 'one seed: their mean' (no interval), for the fine-tuned runs' counts."""
    low, high = int(count.min()), int(count.max())
    if high == 1:
        return "one seed: no interval, their mean"
    return f"{low} seeds" if low == high else f"{low} to {high} seeds"


def _median_ratio(modes: pd.DataFrame, where, column: str) -> float:
    """The median over the (n_params, train_size) points `where` of features' `column` over finetune's."""
    import numpy as np

    return float(
        np.median([modes.loc[("features", *at), column] / modes.loc[("finetune", *at), column] for at in where])
    )


def pretrained_options(runs: pd.DataFrame, *, count_pretraining: bool) -> pd.DataFrame:
    """Per (mode, n_params, train_size) of the ok runs that start from a pretrained parent: the
    seed means of every measured column, the parent's train_flops and train_seconds
    added to the run's when `count_pretraining` (pretraining paid for this target alone), and
    `pretraining_flops` / `pretraining_seconds` beside them either way."""
    ok = runs[runs["status"] == "ok"]
    if "transfer_mode" not in ok:
        return pd.DataFrame()
    parents = ok.set_index("run_key")
    targets = ok[ok["transfer_mode"].notna()].copy()
    for cost, column in (("train_flops", "pretraining_flops"), ("train_seconds", "pretraining_seconds")):
        targets[column] = targets["transfer_parent"].map(parents[cost]) if cost in parents else float("nan")
        if count_pretraining and cost in targets:
            targets[cost] = targets[cost] + targets[column]
    keys = ["transfer_mode", "n_params", "train_size"]
    numbers = [column for column in targets.select_dtypes("number").columns if column not in keys and column != "seed"]
    return targets.groupby(keys)[numbers].mean().reset_index()
