"""[transfer]'s runs in the analysis (Hernandez et al. 2021, "Scaling Laws for Transfer").

The sweep's laws are fitted on its scratch runs, the runs a sweep without [transfer] would train;
the pretraining runs (on the source) and the runs that start from them are kept apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


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
    size has scratch runs at fewer than MIN_SCRATCH_SIZES data sizes."""
    import numpy as np

    from scalinglab.fit import ScalingLaw

    ok = runs[runs["status"] == "ok"]
    scratch, _ = split_transfer_runs(ok)
    pretrained = ok[ok.get("transfer_mode", pd.Series(index=ok.index, dtype=object)) == mode]
    rows = []
    for n_params, targets in pretrained.groupby("n_params"):
        own = scratch[scratch["n_params"] == n_params]
        law = None
        if own["train_size"].nunique() >= MIN_SCRATCH_SIZES:
            law = ScalingLaw("power", n_bootstrap=n_bootstrap, random_state=random_state).fit(
                own, x="train_size", y=metric, groups=np.arange(len(own))
            )
        for d_f, points in targets.groupby("train_size"):
            loss = float(points[metric].mean())
            d_eq, low, high = _equivalent_data(law, loss)
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
                }
            )
    return pd.DataFrame(rows)


def _equivalent_data(law, loss: float) -> tuple[float, float, float]:
    """(D, low, high): the data at which the scratch `law` reaches `loss`, and its 95 % interval
    over the law's bootstrap (NaN where the loss is at or below the floor)."""
    import numpy as np

    nan = float("nan")
    if law is None:
        return nan, nan, nan

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
        return point, nan, nan
    return point, float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5))


def transfer_law(points: pd.DataFrame) -> dict[str, tuple[float, float, float]] | None:
    """The fit log D_T = log k + alpha log D_F + beta log N over the `points` with D_T > 0 (least
    squares), each parameter as (value, 95 % low, high); None with fewer than 4 such points or
    fewer than 2 model sizes or data sizes among them."""
    import numpy as np
    from scipy import stats

    usable = points[np.isfinite(points["d_transferred"]) & (points["d_transferred"] > 0)]
    if len(usable) < 4 or usable["n_params"].nunique() < 2 or usable["train_size"].nunique() < 2:
        return None
    design = np.column_stack([np.ones(len(usable)), np.log(usable["train_size"]), np.log(usable["n_params"])])
    target = np.log(usable["d_transferred"].to_numpy())
    theta, *_ = np.linalg.lstsq(design, target, rcond=None)
    dof = len(usable) - 3
    residual = target - design @ theta
    sigma2 = float(residual @ residual) / dof if dof > 0 else float("nan")
    errors = np.sqrt(np.diag(sigma2 * np.linalg.inv(design.T @ design))) * stats.t.ppf(0.975, max(dof, 1))
    if not np.isfinite(errors).all():
        return None
    fitted = {
        name: (float(value), float(value - error), float(value + error))
        for name, value, error in zip(("log_k", "alpha", "beta"), theta, errors)
    }
    k = fitted.pop("log_k")
    return {"k": tuple(float(np.exp(value)) for value in k), **fitted}


def transfer_sentence(points: pd.DataFrame) -> str | None:
    """In words, at the smallest data size and largest model of `points` with a finite D_T: 'at N
    parameters and D_F examples, pretraining is worth about D_T examples (x times your data)'."""
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
    where = f"At {at['n_params']:,.0f} parameters and {d_f:,.0f} examples"
    if d_t <= 0:
        return (
            f"{where}, pretraining is worth no more than training from scratch: effective data transferred "
            f"{d_t:,.0f} examples{interval} (Hernandez et al. 2021)."
        )
    return (
        f"{where}, pretraining is worth about {d_t:,.0f} examples{interval}, {d_t / d_f:.1f} times your "
        "data (effective data transferred, Hernandez et al. 2021)."
    )


@dataclass
class TransferAnswer:
    """ "Pretrained or from scratch?": per pretrained mode, the effective data transferred at every
    (size, data size) and the fitted D_T = k D_F^alpha N^beta (None where it cannot be fitted);
    the quality of every mode per size and data size (seed means and spreads); the sentences."""

    quality: pd.DataFrame
    points: dict[str, pd.DataFrame]
    laws: dict[str, dict[str, tuple[float, float, float]] | None]
    sentences: list[str]


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
    for mode in modes:
        sentence = transfer_sentence(points[mode])
        sentences += [f"{mode.capitalize()}: {sentence}"] if sentence else []
        law = laws[mode]
        if law is not None:
            sentences.append(
                f"{mode.capitalize()}: fitted D_T = k D_F^alpha N^beta with alpha = {law['alpha'][0]:.2f} "
                f"(95 %: {law['alpha'][1]:.2f} to {law['alpha'][2]:.2f}), beta = {law['beta'][0]:.2f} "
                f"({law['beta'][1]:.2f} to {law['beta'][2]:.2f})."
            )
    return TransferAnswer(quality.reset_index(), points, laws, sentences)


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
