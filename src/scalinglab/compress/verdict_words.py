"""The compression verdicts and measurements in words: sentences, the per-budget table and the
tally the report and the CLI print. Formatting only; what is decided is `verdict`'s."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from scalinglab.compress.registry import KNOBS, method_label
from scalinglab.compress.seed_statistics import MOST_SEEDS, PairedDifference, per_seed, seed_summary, sensitivity
from scalinglab.compress.verdict import Verdict, best_row, decide
from scalinglab.metrics import lower_is_better, short_label

COST_NAMES = {
    "bytes_deployed": "bytes on disk",
    "latency_ms_p50": "latency",
    "inference_peak_memory_bytes": "peak inference memory",
}
# What to advise when one seed leaves the spread unmeasured: with two, a 95% t-interval reaches
# 12.7 standard errors either side; with three, 4.3.
SEEDS_TO_START_WITH = 3


def difference_words(difference: PairedDifference) -> str:
    """E.g. 'seed by seed it is 0.21 lower on average (95% CI of the difference -0.23 to -0.19
    over 3 seeds)'."""
    # Equal values differ by rounding error (1e-17), which is no difference to report.
    shift = (
        "the same"
        if abs(difference.mean) < 1e-12
        else f"{abs(difference.mean):.3g} {'lower' if difference.mean < 0 else 'higher'}"
    )
    if difference.n_seeds < 2:
        return f"on the one seed both have it is {shift}"
    return (
        f"seed by seed it is {shift} on average (95% CI of the difference {difference.low:+.3g} to "
        f"{difference.high:+.3g} over {difference.n_seeds} seeds)"
    )


def verdict_sentence(verdict: Verdict) -> str:
    """The verdict in one sentence: both models, their metric with its interval, and the judgement."""
    metric_name = short_label(verdict.metric)
    trained = f"{_value(verdict.trained, verdict.metric)} for the best model trained within it ({_count(verdict.trained['n_params'])} parameters)"
    if verdict.compressed is None:
        return f"At {_cost(verdict.cost, verdict.budget)}, no compressed model fits; the trained one reaches {metric_name} {trained}."
    what = describe_configuration(verdict.compressed)
    judgement = _judgement(verdict.difference, verdict.decision, {"compress": "compress", "train small": "train small"})
    return (
        f"At {_cost(verdict.cost, verdict.budget)}, {what} reaches {metric_name} {_value(verdict.compressed, verdict.metric)} "
        f"against {trained}; {judgement}."
    )


def _judgement(difference: PairedDifference | None, decision: str, advice: dict[str, str]) -> str:
    """The end of a verdict's sentence: the paired difference and what it decides, or what would."""
    if difference is None:
        return "they share no seed, so they cannot be compared seed by seed; train both on the same seeds to decide"
    if decision in advice:
        return f"{difference_words(difference)}: {advice[decision]}"
    if decision == "tie":
        within = max(abs(difference.low), abs(difference.high))
        return (
            f"{difference_words(difference)}: the two are equal within {within:.3g}; no number of seeds under "
            f"{MOST_SEEDS} would separate them"
        )
    if difference.n_seeds < 2:
        return (
            f"{difference_words(difference)}, with no spread to judge it by: {SEEDS_TO_START_WITH} or more seeds would tell "
            "whether it is more than seed noise"
        )
    return (
        f"{difference_words(difference)}: not decided; about {difference.seeds_needed()} seeds would decide it, "
        f"were the mean and spread of the differences to stay as measured"
    )


def verdict_table(found: list[Verdict]) -> pd.DataFrame:
    """One row per budget of `found` (one cost): the budget, the best trained and the best
    compressed model within it (metric with its interval), their paired difference with its 95%
    interval, and the verdict in a few words: the report's table, one line a budget."""
    rows = []
    for verdict in found:
        difference = verdict.difference
        rows.append(
            {
                "budget": _cost(verdict.cost, verdict.budget),
                "best trained": f"{_count(verdict.trained['n_params'])} params: {_value(verdict.trained, verdict.metric)}",
                "best compressed": (
                    describe_configuration(verdict.compressed) + ": " + _value(verdict.compressed, verdict.metric)
                    if verdict.compressed is not None
                    else "none fits"
                ),
                "difference (compressed - trained)": _difference_cell(difference),
                "verdict": _verdict_words(verdict),
            }
        )
    return pd.DataFrame(rows)


def _difference_cell(difference: PairedDifference | None) -> str:
    if difference is None:
        return "no shared seed"
    if difference.n_seeds < 2:
        return f"{difference.mean:+.3g} (one seed)"
    return f"{difference.mean:+.3g} ({difference.low:+.3g} to {difference.high:+.3g}, {difference.n_seeds} seeds)"


def _verdict_words(verdict: Verdict) -> str:
    if verdict.compressed is None:
        return "train small (nothing compressed fits)"
    if verdict.decision in ("compress", "train small", "tie"):
        return {"tie": "equal (no seed count under 100 would separate them)"}.get(verdict.decision, verdict.decision)
    needed = verdict.difference.seeds_needed() if verdict.difference is not None else None
    if needed is None:
        return f"undecided: {SEEDS_TO_START_WITH}+ seeds would tell"
    return f"undecided: about {needed} seeds would decide"


def verdict_tally(found: list[Verdict]) -> str | None:
    """'Of 7 budgets of bytes on disk (one per trained size), compressing wins at 2, training small
    at 1 (...); more seeds are needed at 3 (about 5 would decide all of them, ...); the two are
    equal at 1 (...)': each outcome counted once, not a sentence per budget."""
    if not found:
        return None
    count = {decision: sum(v.decision == decision for v in found) for decision in ("compress", "train small", "tie")}
    parts = [
        f"compressing wins at {count['compress']}, training small at {count['train small']} (where the 95% "
        "interval of the seed-by-seed difference leaves out zero, or nothing compressed fits)"
    ]
    undecided = [v for v in found if v.decision == "undecided"]
    projected = [n for n in (v.difference.seeds_needed() for v in undecided if v.difference) if n is not None]
    if projected:
        parts.append(
            f"more seeds are needed at {len(projected)} (about {max(projected)} would decide "
            f"{'it' if len(projected) == 1 else 'all of them'}, were the means and spreads of the "
            "differences to stay as measured)"
        )
    unjudged = len(undecided) - len(projected)
    if unjudged:
        parts.append(
            f"too few seeds to judge at {unjudged} (one seed in common, or none: rerun with "
            f"{SEEDS_TO_START_WITH} or more seeds)"
        )
    if count["tie"]:
        parts.append(f"the two are equal at {count['tie']} (no number of seeds under {MOST_SEEDS} would separate them)")
    return f"Of {len(found)} budgets of {COST_NAMES.get(found[0].cost, found[0].cost)} (one per trained size), {'; '.join(parts)}."


def describe_configuration(row: pd.Series) -> str:
    """E.g. 'magnitude pruning (sparsity=0.9 finetune_epochs=2) of the 26.1k-parameter model'."""
    settings = row["variant"].partition(" ")[2]
    detail = f" ({settings})" if settings else ""
    if row["method"] == "distill":
        return f"distillation{detail} of the {_count(row['parent_n_params'])}-parameter model into {_count(row['n_params'])} parameters"
    return f"{method_label(row['method'])}{detail} of the {_count(row['parent_n_params'])}-parameter model"


EXACT_SPEARMAN_MAX_N = 8  # up to 8! = 40320 pairings the p-value is counted exactly


def spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Spearman's rho and its two-sided p-value; exact (every pairing counted) for a few points,
    where scipy's t approximation gave "rho +1.00, p = 0" for 4 sizes (the exact p is 2/24 = 0.083).
    (nan, nan) where either input is constant: there is no order to correlate (a permutation test
    over a nan statistic would say p = 0)."""
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    rho = float(stats.spearmanr(x, y).statistic)
    if len(x) > EXACT_SPEARMAN_MAX_N:
        return rho, float(stats.spearmanr(x, y).pvalue)
    test = stats.permutation_test(
        (x,), lambda permuted: stats.spearmanr(permuted, y).statistic, permutation_type="pairings", n_resamples=np.inf
    )
    return rho, float(test.pvalue)


def size_sensitivity_sentence(frame: pd.DataFrame, method: str, *, metric: str = "val_loss") -> str | None:
    """Do bigger models compress better? The change of `metric` at the method's harshest setting
    (most sparsity, fewest clusters, fewest bits, least energy), by parent size."""
    curve = sensitivity(frame, method, metric=metric)
    if curve.empty or curve["parent_n_params"].nunique() < 3:
        return None
    knob = KNOBS[method]
    harsh = curve[knob].max() if knob in ("sparsity", "fraction") else curve[knob].min()
    at = curve[curve[knob] == harsh].groupby("parent_n_params")[f"{metric}_change"].mean()
    rho, p_value = spearman(at.index.to_numpy(float), at.to_numpy(float))
    name = method_label(method)
    trend = (
        f"bigger models lose {'less' if rho < 0 else 'more'} (Spearman rho {rho:+.2f}, p = {p_value:.2g})"
        if np.isfinite(rho)
        else "every size loses the same"
    )
    return (
        f"{name[0].upper()}{name[1:]} at {knob} {harsh:g} changes {metric} by {at.iloc[0]:+.3g} on the "
        f"smallest model ({_count(at.index[0])} parameters) and by {at.iloc[-1]:+.3g} on the largest "
        f"({_count(at.index[-1])}); across {len(at)} sizes {trend}."
    )


COMPLEXITY = {
    "effective_rank_fraction": "mean effective rank / full rank",
    "dead_relu_fraction": "fraction of dead ReLU units",
    "weight_rms": "RMS weight",
}


def complexity_sentences(frame: pd.DataFrame, *, metric: str = "val_loss", sparsity: float | None = None) -> list[str]:
    """How each complexity measure changes with size, and whether the loss added by magnitude
    pruning (at `sparsity`, default the highest swept, no fine-tuning) tracks it across runs."""
    trained = frame[(frame["method"] == "none") & (frame["status"] == "ok")].set_index("parent_run_key")
    pruned = frame[(frame["method"] == "prune") & (frame["status"] == "ok")]
    if "finetune_epochs" in pruned:
        pruned = pruned[pruned["finetune_epochs"].fillna(0) == 0]
    sentences = []
    for measure, name in COMPLEXITY.items():
        values = trained[measure].dropna() if measure in trained else pd.Series(dtype=float)
        if values.nunique() < 3:
            continue
        sizes = trained.loc[values.index, "n_params"]
        by_size = values.groupby(sizes).mean()
        rho_size, _ = stats.spearmanr(sizes, values)
        sentence = (
            f"The {name} goes from {by_size.iloc[0]:.3g} at the smallest size to {by_size.iloc[-1]:.3g} at the "
            f"largest (mean over runs; Spearman rho with parameters {rho_size:+.2f} over {len(values)} runs)."
        )
        if not pruned.empty:
            level = pruned["sparsity"].max() if sparsity is None else sparsity
            at = pruned[pruned["sparsity"] == level].set_index("parent_run_key")[metric]
            damage = (at - trained[metric].reindex(at.index)).dropna()
            common = damage.index.intersection(values.index)
            rho, p_value = (
                spearman(values.loc[common].to_numpy(float), damage.loc[common].to_numpy(float))
                if len(common) >= 3
                else (float("nan"), float("nan"))
            )
            if np.isfinite(rho):  # a constant column or damage: no order to track
                tracks = "tracks it" if p_value < 0.05 else "does not clearly track it"
                sentence += (
                    f" The loss added by pruning {level:g} of the weights {tracks} across {len(common)} runs "
                    f"(Spearman rho {rho:+.2f}, p = {p_value:.2g})."
                )
        sentences.append(sentence)
    return sentences


def distillation_sentences(frame: pd.DataFrame, *, metric: str = "val_loss") -> list[str]:
    """Per student size (largest data size): the best distilled setting against the same size
    trained from labels alone, compared seed by seed (each student is distilled from the teacher
    of its own seed)."""
    summary = seed_summary(frame, [metric])
    if summary.empty or metric not in summary or "distill" not in set(summary["method"]):
        return []
    summary = summary[summary["train_size"] == summary["train_size"].max()]
    trained = summary[summary["method"] == "none"].set_index("parent_n_params", drop=False)
    lower = lower_is_better(metric)
    advice = {"compress": "distillation helps", "train small": "labels alone do better"}
    sentences = []
    for n_params, rows in summary[summary["method"] == "distill"].groupby("n_params", sort=True):
        if n_params not in trained.index:
            continue
        best, labels = best_row(rows, metric, lower), trained.loc[n_params]
        difference = PairedDifference.of(per_seed(frame, best, metric), per_seed(frame, labels, metric))
        judgement = _judgement(difference, decide(difference, lower), advice)
        sentences.append(
            f"Distilled from the {_count(best['parent_n_params'])}-parameter model ({best['variant'].partition(' ')[2]}), "
            f"the {_count(n_params)}-parameter model reaches {metric} {_value(best, metric)} against "
            f"{_value(labels, metric)} trained from labels; {judgement}."
        )
    return sentences


def _value(row: pd.Series, metric: str) -> str:
    low, high = row[f"{metric}_low"], row[f"{metric}_high"]
    interval = f" (95% CI {low:.3g}-{high:.3g})" if not math.isnan(low) else " (one seed, no interval)"
    return f"{row[metric]:.3g}{interval}"


def _cost(cost: str, value: float) -> str:
    if cost.endswith("bytes") or cost.startswith("bytes"):
        return f"{value / 1e3:.3g} kB" if value < 1e6 else f"{value / 1e6:.3g} MB"
    if cost.startswith("latency_ms"):
        return f"{value:.3g} ms"
    return f"{cost} {value:.3g}"


def _count(value: float) -> str:
    from scalinglab.analysis import format_count

    return format_count(float(value))
