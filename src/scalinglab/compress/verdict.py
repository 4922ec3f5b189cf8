"""Compress big or train small? The stored compressions against the training frontier, in
numbers and sentences. pandas only: no torch.

The training frontier is the `none` rows: every trained model measured by the same function, in
the same process, as the compressed ones, so bytes and latencies compare like with like. Each
configuration (method, settings, parent size, data size) is summarised over seeds by its mean
and a 95% interval (none with one seed) that stays in the quantity's range: for losses, bytes and
times a t-interval of the mean log, exponentiated; for accuracy and F1 a t-interval clipped to
[0, 1].

A verdict compares a compressed model with the trained one it competes against seed by seed: the
same seed fixes both models' data order and initialisation stream, so the per-seed differences
cancel what a seed does to both (a paired comparison; Student, "The probable error of a mean",
Biometrika 6, 1908, who introduced the t distribution for exactly such paired differences).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from scalinglab.compress.registry import KNOBS, method_label
from scalinglab.metrics import QUALITY, lower_is_better, short_label
from scalinglab.runs_table import results_frame

# The costs of a model as deployed (not metrics.COSTS, the training-time costs a law is fitted to).
DEPLOYED_COSTS = ("bytes_deployed", "latency_ms_p50", "inference_peak_memory_bytes")
COST_NAMES = {"bytes_deployed": "bytes on disk", "latency_ms_p50": "latency", "inference_peak_memory_bytes": "peak inference memory"}
_SETTING_ORDER = ("sparsity", "fraction", "bits", "mode", "rank", "energy", "clusters", "temperature", "alpha", "finetune_epochs")


def compressions_frame(store) -> pd.DataFrame:
    """One row per stored compression: its key, method, settings (one column each; `variant` names
    them together), the parent's size, data size and seed, status, error and every measurement."""
    stored = store.compressions()
    if not stored:
        return pd.DataFrame()
    parents = results_frame(store).set_index("run_key")
    rows = []
    for row in stored:
        settings = dict(row["spec"]["settings"])
        student = settings.pop("student", None)
        parent = parents.loc[row["parent_run_key"]] if row["parent_run_key"] in parents.index else {}
        rows.append({
            "compression_key": row["compression_key"], "parent_run_key": row["parent_run_key"],
            "method": row["spec"]["method"], "variant": _variant(row["spec"]["method"], settings),
            **settings, "student": str(student) if student else None,
            "parent_n_params": parent.get("n_params", np.nan), "train_size": parent.get("train_size", np.nan),
            "parent_train_flops": parent.get("train_flops", np.nan),
            "total_train_seconds": parent.get("train_seconds", np.nan) + row["metrics"].get("compress_seconds", 0.0),
            "seed": parent.get("seed", np.nan), "status": row["status"], "error": row["error"], **row["metrics"],
        })
    return pd.DataFrame(rows)


def stored_compressions_frame(out) -> pd.DataFrame:
    """`compressions_frame` of the sweep at `out` (its folder or .sqlite file), read-only; an empty
    frame when nothing was compressed."""
    from scalinglab.store import open_store

    store = open_store(out, read_only=True)
    try:
        return compressions_frame(store)
    finally:
        store.close()


def _variant(method: str, settings: dict) -> str:
    shown = " ".join(f"{name}={settings[name]}" for name in _SETTING_ORDER if name in settings)
    return f"{method} {shown}".strip()


# What one configuration is: the columns seed_summary groups by (its rows differ only by seed).
CONFIGURATION = ["method", "variant", "parent_n_params", "student", "train_size"]
LEVEL = 0.95
# Where projecting the seeds a verdict needs stops: a difference this many seeds cannot resolve
# is called a tie.
MOST_SEEDS = 100
# What to advise when one seed leaves the spread unmeasured: with two, a 95% t-interval reaches
# 12.7 standard errors either side; with three, 4.3.
SEEDS_TO_START_WITH = 3


def seed_summary(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per configuration (variant, parent size, student, data size): mean of `columns`, their 95%
    interval over seeds (<col>_low, <col>_high; `column_interval`, NaN with one seed) and n_seeds.
    ok rows only."""
    ok = frame[frame["status"] == "ok"]
    summaries = []
    for key, group in ok.groupby(CONFIGURATION, dropna=False, sort=True):
        summary = dict(zip(CONFIGURATION, key))
        summary["n_seeds"] = len(group)
        for column in [c for c in (*columns, "n_params") if c in group]:
            values = group[column].to_numpy(float)
            low, high = column_interval(column, values)
            summary.update({column: float(values.mean()), f"{column}_low": low, f"{column}_high": high})
        summaries.append(summary)
    return pd.DataFrame(summaries)


def column_interval(column: str, values: np.ndarray) -> tuple[float, float]:
    """The 95% interval of the mean of `values` of `column`, inside the range the column can take:
    accuracy and F1 (the quality metrics where higher is better) clipped to [0, 1]; a column whose
    values are all positive (losses, bytes, times, counts) on the log scale; anything else plain."""
    values = np.asarray(values, float)
    if column in QUALITY and not lower_is_better(column):
        low, high = mean_interval(values)
        return (low, high) if math.isnan(low) else (max(low, 0.0), min(high, 1.0))
    if len(values) and np.all(values > 0):
        return positive_mean_interval(values)
    return mean_interval(values)


def mean_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Student-t interval of the mean of `values` (NaN, NaN for fewer than two), for quantities that
    may take either sign, such as differences."""
    values = np.asarray(values, float)
    if len(values) < 2:
        return math.nan, math.nan
    half = t_factor(len(values), level) * values.std(ddof=1) / math.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def positive_mean_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The t-interval of the mean log of positive `values`, exponentiated: an interval of the
    geometric mean that never reaches zero (NaN, NaN for fewer than two). For seed spreads of a few
    percent the geometric and arithmetic means agree to three digits."""
    low, high = mean_interval(np.log(np.asarray(values, float)), level)
    return (low, high) if math.isnan(low) else (math.exp(low), math.exp(high))


def t_factor(n: int | np.ndarray, level: float = LEVEL):
    """Half-width of a `level` t-interval in standard errors, for n values (12.7 for two at 95%)."""
    return stats.t.ppf(0.5 + level / 2, np.asarray(n) - 1)


def seeds_to_decide(mean_difference: float, sd: float, level: float = LEVEL) -> int | None:
    """The fewest seeds n (at least 2) whose `level` t-interval, t_{n-1} * sd / sqrt(n), would be
    narrower than |mean_difference|, were the mean and the spread `sd` of the paired differences
    to stay as measured; None when not even MOST_SEEDS would."""
    n = np.arange(2, MOST_SEEDS + 1)
    enough = t_factor(n, level) * sd / np.sqrt(n) < abs(mean_difference)
    return int(n[enough][0]) if enough.any() else None


@dataclass(frozen=True)
class PairedDifference:
    """A compressed model's metric minus the trained one's, seed by seed over the seeds both have:
    their mean, the 95% t-interval (NaN with one seed) and the standard deviation (NaN with one)."""

    mean: float
    low: float
    high: float
    sd: float
    n_seeds: int

    @classmethod
    def of(cls, compressed: pd.Series, trained: pd.Series) -> PairedDifference | None:
        """From two Series of one metric indexed by seed; None when they share no seed."""
        seeds = compressed.index.intersection(trained.index)
        if seeds.empty:
            return None
        differences = (compressed[seeds] - trained[seeds]).to_numpy(float)
        low, high = mean_interval(differences)
        sd = float(differences.std(ddof=1)) if len(differences) > 1 else math.nan
        return cls(float(differences.mean()), low, high, sd, len(differences))

    def decided(self) -> bool:
        """Whether the interval leaves out zero (never with one seed: no spread to judge by)."""
        return self.n_seeds > 1 and (self.low > 0 or self.high < 0)

    def seeds_needed(self) -> int | None:
        """`seeds_to_decide` at the measured mean and spread (None with one seed)."""
        return None if self.n_seeds < 2 else seeds_to_decide(self.mean, self.sd)

    def words(self) -> str:
        """E.g. 'seed by seed it is 0.21 lower on average (95% CI of the difference -0.23 to -0.19
        over 3 seeds)'."""
        # Equal values differ by rounding error (1e-17), which is no difference to report.
        shift = "the same" if abs(self.mean) < 1e-12 else f"{abs(self.mean):.3g} {'lower' if self.mean < 0 else 'higher'}"
        if self.n_seeds < 2:
            return f"on the one seed both have it is {shift}"
        return (f"seed by seed it is {shift} on average (95% CI of the difference {self.low:+.3g} to "
                f"{self.high:+.3g} over {self.n_seeds} seeds)")


def _per_seed(frame: pd.DataFrame, configuration: pd.Series, metric: str) -> pd.Series:
    """`metric` of the ok rows of one configuration (a `seed_summary` row), one value per seed."""
    rows = frame[frame["status"] == "ok"]
    same = np.ones(len(rows), dtype=bool)
    for column in CONFIGURATION:
        value = configuration[column]
        same &= rows[column].isna().to_numpy() if pd.isna(value) else (rows[column] == value).to_numpy()
    return rows[same].groupby("seed")[metric].mean()


def _decide(difference: PairedDifference | None, lower_is_better: bool) -> str:
    """compress / train small when the paired interval leaves out zero; "tie" when not even
    MOST_SEEDS seeds would separate them; else "undecided" (one seed, or too few to tell)."""
    if difference is None:
        return "undecided"
    if difference.decided():
        return "compress" if (difference.mean < 0) == lower_is_better else "train small"
    if difference.n_seeds > 1 and difference.seeds_needed() is None:
        return "tie"
    return "undecided"


def _judgement(difference: PairedDifference | None, decision: str, advice: dict[str, str]) -> str:
    """The end of a verdict's sentence: the paired difference and what it decides, or what would."""
    if difference is None:
        return "they share no seed, so they cannot be compared seed by seed; train both on the same seeds to decide"
    if decision in advice:
        return f"{difference.words()}: {advice[decision]}"
    if decision == "tie":
        within = max(abs(difference.low), abs(difference.high))
        return (f"{difference.words()}: the two are equal within {within:.3g}; no number of seeds under "
                f"{MOST_SEEDS} would separate them")
    if difference.n_seeds < 2:
        return (f"{difference.words()}, with no spread to judge it by: {SEEDS_TO_START_WITH} or more seeds would tell "
                "whether it is more than seed noise")
    return (f"{difference.words()}: not decided; about {difference.seeds_needed()} seeds would decide it, "
            f"were the mean and spread of the differences to stay as measured")


@dataclass
class Verdict:
    """At one budget of `cost`: the best trained model and the best compressed one within it, and
    the compressed one's metric minus the trained one's, seed by seed (None when nothing
    compressed fits or they share no seed)."""

    cost: str
    budget: float
    trained: pd.Series
    compressed: pd.Series | None
    metric: str
    difference: PairedDifference | None
    decision: str  # "compress", "train small", "tie" (MOST_SEEDS would not separate them) or "undecided"

    def sentence(self) -> str:
        metric_name = short_label(self.metric)
        trained = f"{_value(self.trained, self.metric)} for the best model trained within it ({_count(self.trained['n_params'])} parameters)"
        if self.compressed is None:
            return f"At {_cost(self.cost, self.budget)}, no compressed model fits; the trained one reaches {metric_name} {trained}."
        what = describe_configuration(self.compressed)
        judgement = _judgement(self.difference, self.decision, {"compress": "compress", "train small": "train small"})
        return (f"At {_cost(self.cost, self.budget)}, {what} reaches {metric_name} {_value(self.compressed, self.metric)} "
                f"against {trained}; {judgement}.")


def verdict_table(found: list[Verdict]) -> pd.DataFrame:
    """One row per budget of `found` (one cost): the budget, the best trained and the best
    compressed model within it (metric with its interval), their paired difference with its 95%
    interval, and the verdict in a few words: the report's table, one line a budget."""
    rows = []
    for verdict in found:
        difference = verdict.difference
        rows.append({
            "budget": _cost(verdict.cost, verdict.budget),
            "best trained": f"{_count(verdict.trained['n_params'])} params: {_value(verdict.trained, verdict.metric)}",
            "best compressed": (describe_configuration(verdict.compressed) + ": " + _value(verdict.compressed, verdict.metric)
                                if verdict.compressed is not None else "none fits"),
            "difference (compressed - trained)": _difference_cell(difference),
            "verdict": _verdict_words(verdict),
        })
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


def verdicts(frame: pd.DataFrame, *, cost: str = "bytes_deployed", metric: str = "val_loss",
             train_size: float | None = None) -> list[Verdict]:
    """One verdict per trained size: the budget is that size's own cost (mean over seeds), at the
    largest data size unless `train_size` is given. The best of each kind within the budget is
    chosen by its seed mean, then the two are compared seed by seed."""
    summary = seed_summary(frame, [metric, cost])
    if summary.empty or cost not in summary or metric not in summary:
        return []
    train_size = summary["train_size"].max() if train_size is None else train_size
    summary = summary[(summary["train_size"] == train_size) & summary[cost].notna() & summary[metric].notna()]
    trained, compressed = summary[summary["method"] == "none"], summary[summary["method"] != "none"]
    lower = lower_is_better(metric)
    result = []
    for budget in sorted(trained[cost]):
        best_trained = _best(trained[trained[cost] <= budget], metric, lower)
        best_compressed = _best(compressed[compressed[cost] <= budget], metric, lower)
        if best_compressed is None:
            result.append(Verdict(cost, float(budget), best_trained, None, metric, None, "train small"))
            continue
        difference = PairedDifference.of(_per_seed(frame, best_compressed, metric), _per_seed(frame, best_trained, metric))
        result.append(Verdict(cost, float(budget), best_trained, best_compressed, metric, difference,
                              _decide(difference, lower)))
    return result


def _best(rows: pd.DataFrame, metric: str, lower_is_better: bool) -> pd.Series | None:
    if rows.empty:
        return None
    return rows.loc[rows[metric].idxmin() if lower_is_better else rows[metric].idxmax()]


def verdict_tally(found: list[Verdict]) -> str | None:
    """'Of 7 budgets of bytes on disk (one per trained size), compressing wins at 2, training small
    at 1 (...); more seeds are needed at 3 (about 5 would decide all of them, ...); the two are
    equal at 1 (...)': each outcome counted once, not a sentence per budget."""
    if not found:
        return None
    count = {decision: sum(v.decision == decision for v in found) for decision in ("compress", "train small", "tie")}
    parts = [f"compressing wins at {count['compress']}, training small at {count['train small']} (where the 95% "
             "interval of the seed-by-seed difference leaves out zero, or nothing compressed fits)"]
    undecided = [v for v in found if v.decision == "undecided"]
    projected = [n for n in (v.difference.seeds_needed() for v in undecided if v.difference) if n is not None]
    if projected:
        parts.append(f"more seeds are needed at {len(projected)} (about {max(projected)} would decide "
                     f"{'it' if len(projected) == 1 else 'all of them'}, were the means and spreads of the "
                     "differences to stay as measured)")
    unjudged = len(undecided) - len(projected)
    if unjudged:
        parts.append(f"too few seeds to judge at {unjudged} (one seed in common, or none: rerun with "
                     f"{SEEDS_TO_START_WITH} or more seeds)")
    if count["tie"]:
        parts.append(f"the two are equal at {count['tie']} (no number of seeds under {MOST_SEEDS} "
                     "would separate them)")
    return f"Of {len(found)} budgets of {COST_NAMES.get(found[0].cost, found[0].cost)} (one per trained size), {'; '.join(parts)}."


def describe_configuration(row: pd.Series) -> str:
    """E.g. 'magnitude pruning (sparsity=0.9 finetune_epochs=2) of the 26.1k-parameter model'."""
    settings = row["variant"].partition(" ")[2]
    detail = f" ({settings})" if settings else ""
    if row["method"] == "distill":
        return f"distillation{detail} of the {_count(row['parent_n_params'])}-parameter model into {_count(row['n_params'])} parameters"
    return f"{method_label(row['method'])}{detail} of the {_count(row['parent_n_params'])}-parameter model"


def sensitivity(frame: pd.DataFrame, method: str, *, metric: str = "val_loss", train_size: float | None = None) -> pd.DataFrame:
    """Quality against the method's knob, per parent size: parent_n_params, the knob, metric
    (mean over seeds), its interval, and `<metric>_change`, the change from the parent itself.
    Without fine-tuning where that is a setting, so the curve shows the compression alone."""
    knob = KNOBS[method]
    rows = frame[(frame["method"] == method) & (frame["status"] == "ok")]
    if "finetune_epochs" in rows:
        rows = rows[rows["finetune_epochs"].fillna(0) == 0]
    if rows.empty or knob not in rows:
        return pd.DataFrame()
    train_size = frame["train_size"].max() if train_size is None else train_size
    rows = rows[rows["train_size"] == train_size]
    parents = frame[(frame["method"] == "none") & (frame["status"] == "ok")].set_index("parent_run_key")[metric]
    rows = rows.assign(change=rows[metric].to_numpy() - parents.reindex(rows["parent_run_key"]).to_numpy())
    extra = ["mode"] if method == "quantize" else []
    result = []
    for key, group in rows.groupby(["parent_n_params", knob, *extra], sort=True):
        low, high = column_interval(metric, group[metric].to_numpy())
        result.append({"parent_n_params": key[0], knob: key[1], **dict(zip(extra, key[2:])), metric: group[metric].mean(),
                       f"{metric}_low": low, f"{metric}_high": high, f"{metric}_change": group["change"].mean()})
    return pd.DataFrame(result)


def size_sensitivity_sentence(frame: pd.DataFrame, method: str, *, metric: str = "val_loss") -> str | None:
    """Do bigger models compress better? The change of `metric` at the method's harshest setting
    (most sparsity, fewest clusters, fewest bits, least energy), by parent size."""
    curve = sensitivity(frame, method, metric=metric)
    if curve.empty or curve["parent_n_params"].nunique() < 3:
        return None
    knob = KNOBS[method]
    harsh = curve[knob].max() if knob in ("sparsity", "fraction") else curve[knob].min()
    at = curve[curve[knob] == harsh].groupby("parent_n_params")[f"{metric}_change"].mean()
    rho, p_value = stats.spearmanr(at.index, at.to_numpy())
    trend = "less" if rho < 0 else "more"
    name = method_label(method)
    return (f"{name[0].upper()}{name[1:]} at {knob} {harsh:g} changes {metric} by {at.iloc[0]:+.3g} on the "
            f"smallest model ({_count(at.index[0])} parameters) and by {at.iloc[-1]:+.3g} on the largest "
            f"({_count(at.index[-1])}); across {len(at)} sizes bigger models lose {trend} "
            f"(Spearman rho {rho:+.2f}, p = {p_value:.2g}).")


COMPLEXITY = {"effective_rank_fraction": "mean effective rank / full rank", "dead_relu_fraction": "fraction of dead ReLU units",
              "weight_rms": "RMS weight"}


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
        sentence = (f"The {name} goes from {by_size.iloc[0]:.3g} at the smallest size to {by_size.iloc[-1]:.3g} at the "
                    f"largest (mean over runs; Spearman rho with parameters {rho_size:+.2f} over {len(values)} runs).")
        if not pruned.empty:
            level = pruned["sparsity"].max() if sparsity is None else sparsity
            at = pruned[pruned["sparsity"] == level].set_index("parent_run_key")[metric]
            damage = (at - trained[metric].reindex(at.index)).dropna()
            common = damage.index.intersection(values.index)
            if len(common) >= 3:
                rho, p_value = stats.spearmanr(values.loc[common], damage.loc[common])
                tracks = "tracks it" if p_value < 0.05 else "does not clearly track it"
                sentence += (f" The loss added by pruning {level:g} of the weights {tracks} across {len(common)} runs "
                             f"(Spearman rho {rho:+.2f}, p = {p_value:.2g}).")
        sentences.append(sentence)
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


# recommend's budgets -> (measured column of a compressed model, budget units per unit). Training
# cost is the parent's (its training seconds plus the compression's own; FLOPs: the parent's only).
DEPLOYMENT_BUDGETS = {
    "train_flops": ("parent_train_flops", 1.0),
    "train_seconds": ("total_train_seconds", 1.0),
    "storage_mb": ("bytes_deployed", 1e-6),
    "latency_ms": ("latency_ms_p50", 1.0),
    "memory_mb": ("inference_peak_memory_bytes", 1e-6),
}


def best_within_budgets(frame: pd.DataFrame, budgets: dict[str, float], *, metric: str = "val_loss",
                        include_compressed: bool = True) -> pd.Series | None:
    """The measured configuration (a trained size, or a compressed model when `include_compressed`)
    with the best seed-mean `metric` whose seed-mean costs fit every budget in `budgets`
    (names of DEPLOYMENT_BUDGETS; others are ignored). None when nothing fits.

    For `scalinglab recommend`: its laws choose what to train; this says whether, under the same
    storage / latency / memory budgets, a compressed model measured here does better, and which
    kind (`row["method"]`, `describe_configuration(row)`)."""
    limits = {DEPLOYMENT_BUDGETS[name]: limit for name, limit in budgets.items() if name in DEPLOYMENT_BUDGETS}
    summary = seed_summary(frame, [metric, *(column for column, _ in limits)])
    if summary.empty or metric not in summary:
        return None
    if not include_compressed:
        summary = summary[summary["method"] == "none"]
    within = np.ones(len(summary), dtype=bool)
    for (column, scale), limit in limits.items():
        within &= (summary[column].to_numpy(float) * scale) <= limit if column in summary else False
    lower = lower_is_better(metric)
    return _best(summary[within & summary[metric].notna().to_numpy()], metric, lower)


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
        best, labels = _best(rows, metric, lower), trained.loc[n_params]
        difference = PairedDifference.of(_per_seed(frame, best, metric), _per_seed(frame, labels, metric))
        judgement = _judgement(difference, _decide(difference, lower), advice)
        sentences.append(f"Distilled from the {_count(best['parent_n_params'])}-parameter model ({best['variant'].partition(' ')[2]}), "
                         f"the {_count(n_params)}-parameter model reaches {metric} {_value(best, metric)} against "
                         f"{_value(labels, metric)} trained from labels; {judgement}.")
    return sentences
