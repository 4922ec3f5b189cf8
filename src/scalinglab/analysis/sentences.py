"""The analysis in plain sentences, each with its numbers and their 95% intervals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.analysis.groups import MIN_SIZES_TO_FIT, MIN_SIZES_TO_FIT_COST, CostLaw, FitOutcome, GroupFit
from scalinglab.analysis.joint import BEYOND_FOR_WIDTH, BEYOND_SWEEP, IsoFlopOnSweep, JointLaw, better_than_baseline
from scalinglab.analysis.numbers import (
    format_change,
    format_count,
    format_factor,
    format_interval,
    format_percent,
    format_value,
    join_words,
)
from scalinglab.analysis.runs import aggregate_over_seeds, no_better_than_baseline
from scalinglab.metrics import METRICS, label, short_label

BaselineAt = Callable[[float], "float | None"]  # the trivial baseline at a data size (Analysis.baseline)
UNSTABLE_SEED_CV = 0.10  # seed std above 10% of the mean: the fit is chasing noise
NEGLIGIBLE_OVERHEAD = 0.01  # a cost law's overhead below 1% of the smallest size's cost is not quoted


def describe_fit(fit: GroupFit) -> str:
    """One plain sentence about what the exponent means, with its 95% interval when there is one.

    "The exponent" is the law's local decay exponent at the largest size trained
    (`ScalingLaw.exponent_at`), so the sentence holds whatever form was fitted; for a form other
    than the plain power law it says that it is local, and which form it is.
    """
    n, exponent, ci = fit.exponent()
    ci = ci if ci is not None and np.all(np.isfinite(ci)) else None
    interval = f" (95% CI of the exponent {ci[0]:.2f} to {ci[1]:.2f})" if ci is not None else ""
    # For "power" the local exponent is alpha itself; another form's is bounded below its alpha.
    if ci is not None and fit.law.form_.name == "power" and not fit.law.ci_bounded()["alpha"][1]:
        # Seen: "n_params^-1.22 (95% CI 0.16 to 10.00)", the 10 being the fit's bound, not the data's.
        interval = f" (95% CI of the exponent {ci[0]:.2f} to not bounded by these sizes)"
    quantity = f"1 - {fit.metric}" if fit.complement else fit.metric
    # A floor far below everything measured is not resolved by these sizes: say so, not "0.000".
    floor_words = f"approaches a floor of {fit.floor:.3g}" if fit.has_floor else "shows no floor within these sizes"
    form = fit.law.form_.name
    pinned = _steepness_at_its_cap(fit.law)
    if pinned:
        values = " and ".join(f"{name} = {fit.law.params_[name]:.3g}" for name in pinned)
        return (
            f"With {fit.group_by} = {format_value(fit.group)}, {quantity} {floor_words}, but how fast the part "
            f"above it shrinks with {fit.x} is not resolved by these sizes: the {form} law's {values} "
            f"sit{'s' if len(pinned) == 1 else ''} on the fit's bound, so that bound, not the runs, sets its "
            "exponent; more sizes (or more seeds, where the sizes are noisy) would resolve it."
        )
    where = "" if form == "power" else f" at {format_count(n)} parameters (local exponent of the {form} law)"
    return (
        f"With {fit.group_by} = {format_value(fit.group)}, {quantity} {floor_words} and the part above it "
        f"shrinks as {fit.x}^-{exponent:.2f}{interval}{where}: each 10x more parameters multiplies the excess "
        f"by {10**-exponent:.2g}{'' if form == 'power' else ' there'}."
    )


def _steepness_at_its_cap(law) -> list[str]:
    """The law's parameters that sit on the upper end of their fixed range (alpha's 10, bnsl's
    c1's 10): a decay the runs say is steeper than the law can follow, so the cap, not the runs,
    sets the exponent. Seen: "shrinks as n_params^-11.11 (95% CI 2.07 to 11.34): each 10x more
    parameters multiplies the excess by 7.8e-12", with c1 = 10. A lower end is no such cap (a
    shifted_power's shift at its least is a plain power law, whose alpha the runs do measure)."""
    capped = []
    for param in law.form_.params:
        high = param.bounds[1]
        if param.public in law.diagnostics_.on_bound and not param.log_scale and np.isfinite(high):
            if law.params_[param.public] >= high - 1e-6 * (1.0 + abs(high)):
                capped.append(param.public)
    return capped


def form_choice_sentence(fit: GroupFit) -> str | None:
    """Which form form="auto" chose for this data size, with every candidate's extrapolation score
    (RMS log error on the held-out largest sizes, best first); None when the form was not chosen."""
    choice = fit.law.form_choice_
    if choice is None:
        return None
    if not any(np.isfinite(score) for score in choice.scores.values()):  # nothing measured to choose by
        return (
            f"With {fit.group_by} = {format_value(fit.group)}, the form is {choice.name}, the candidate with the "
            f"fewest parameters: too few sizes to hold the largest out and score {join_words(list(choice.scores))}."
        )
    scores = [
        f"{name} {score:.3g}" if np.isfinite(score) else f"{name} not scored (too few sizes)"
        for name, score in choice.scores.items()
    ]
    return (
        f"With {fit.group_by} = {format_value(fit.group)}, the form is {choice.name}, chosen by how well each "
        f"candidate predicts the largest sizes held out (RMS log error: {join_words(scores)})"
        + (f"; {choice.reason()}." if choice.reason() else ".")
    )


def cost_sentences(costs: dict[str, CostLaw], n_sizes: int) -> list[str]:
    """How each cost grows with parameters (`describe_cost`); with no cost law, why none was
    fitted and what would answer (a sweep of one size showed figure titles and no words)."""
    if costs:
        return [describe_cost(cost) for cost in costs.values()]
    return [
        f"No cost law is fitted: these runs trained {n_sizes} model size{'s' if n_sizes != 1 else ''}, and how a "
        f"cost grows with size needs at least {MIN_SIZES_TO_FIT_COST}; train more sizes to see what size costs."
    ]


def describe_cost(cost: CostLaw) -> str:
    """How a cost grows with parameters: the exponent, the overhead when there is one, and what
    the last 10x of trained sizes cost (with its bootstrap interval)."""
    k = cost.exponent
    ci = cost.exponent_ci
    exponent = f"{cost.x}^{k:.2f}" + (f" (95% CI {ci[0]:.2f} to {ci[1]:.2f})" if ci else "")
    per = f" per {cost.group_by} example" if cost.per_example else ""
    name = label(cost.metric)[0].upper() + label(cost.metric)[1:]
    # An overhead on its lower bound (1e-12) is no overhead: "= 1e-12 + c * N^k" says nothing true.
    smallest = float(cost.predict(cost.x_range[0], 1.0))
    overhead = cost.overhead and cost.overhead_value > NEGLIGIBLE_OVERHEAD * smallest
    capped = cost.growth_unresolved and cost.exponent > 0.5  # k on its cap: steeper than the law can follow
    if cost.growth_unresolved and not capped:  # k at 0: c N^k is a constant too, so quote the totals
        largest = float(cost.predict(cost.x_range[1], 1.0))
        form = (
            f"{name}{per} is mostly a fixed overhead (about {smallest:.3g} at the smallest size, {largest:.3g} at "
            "the largest) and its growth with size is not resolved here"
        )
    elif capped:
        form = (
            f"{name}{per} {'is mostly a fixed overhead at the smaller sizes and ' if overhead else ''}grows faster "
            f"with size than the law's steepest exponent ({cost.x}^{cost.exponent:.0f}) follows, so no exponent is "
            "quoted"
        )
    elif overhead:
        form = f"{name}{per} = {cost.overhead_value:.3g} + c * {exponent}"
    elif ci and ci[0] <= 0 <= ci[1]:  # "grows as n_params^-0.13 (95% CI -0.38 to 0.11)" said a growth nobody saw
        form = f"{name}{per} shows no clear growth with size (it scales as {exponent})"
    elif k < 0:  # "Training time falls as n_params^-0.34": more parameters cannot cost less
        return (
            f"{name}{per} was measured lower for larger models (it scales as {exponent}), which more parameters "
            "cannot cost: these measurements are noise, not a law"
            + (
                " (timings on a busy machine, or of runs timed in batches); measure it on an idle machine, or with "
                'execution.batch = "off".'
                if METRICS[cost.metric].fixed_overhead
                else "."
            )
        )
    else:
        form = f"{name}{per} {'grows' if k > 0 else 'falls'} as {exponent}"
    n_to = cost.x_range[1]
    n_from = max(cost.x_range[0], n_to / 10)
    ratio, ratio_ci = cost.ratio(n_from, n_to)
    interval = f" (95% CI {format_factor(ratio_ci[0])} to {format_factor(ratio_ci[1])})" if ratio_ci else ""
    # A capped law grows slower than the runs did: its ratio is a lower bound.
    at_least = "at least " if capped else ""
    return (
        f"{form}: going from {format_count(n_from)} to {format_count(n_to)} parameters "
        f"({format_factor(n_to / n_from)}) costs {at_least}{format_factor(ratio)}{interval}"
        + (", the fixed overhead included." if overhead else ".")
    )


@dataclass
class ScalingEffect:
    """What moving from `n_from` to `n_to` parameters did, at one data size, with 95% intervals."""

    metric: str
    group_by: str
    group: float
    n_from: float
    n_to: float
    metric_from: float
    metric_to: float
    change: float  # relative change of the metric, e.g. -0.23 for a 23% cut
    change_ci: tuple[float, float] | None
    cost_ratios: dict[str, tuple[float, tuple[float, float] | None]]
    # Why change_ci is None: too few runs, or replicates that put the smaller size at 0 (a share).
    no_interval: str = "too few runs to resample for an interval"

    def sentence(self) -> str:
        """E.g. '... going from 8.5k to 85k parameters (10x) cut validation loss by 23% (95% CI 19% to 27%)'."""
        if not np.isfinite(self.change):  # from a share's 0: no relative change to state
            return (
                f"With {self.group_by} = {format_value(self.group)}, going from {format_count(self.n_from)} to "
                f"{format_count(self.n_to)} parameters moved {short_label(self.metric)} from "
                f"{format_change(self.metric_from, self.metric_to)} (the fitted curve; no relative change from 0)."
            )
        verb = "cut" if self.change < 0 else "raised"
        interval = f" ({self.no_interval})"
        if self.change_ci is not None:
            low, high = sorted(abs(bound) for bound in self.change_ci)
            if (self.change_ci[0] < 0) == (self.change_ci[1] < 0):
                interval = f" (95% CI of the fitted curve {format_percent(low)} to {format_percent(high)})"
            else:
                interval = (
                    f" (95% CI of the fitted curve {format_percent(self.change_ci[0], signed=True)} to "
                    f"{format_percent(self.change_ci[1], signed=True)}: not clearly any change)"
                )
        costs = [
            f"{format_factor(ratio)} the {short_label(cost)}"
            + (f" (95% CI {format_factor(ci[0])} to {format_factor(ci[1])})" if ci else "")
            for cost, (ratio, ci) in self.cost_ratios.items()
        ]
        cost_text = f", and cost {join_words(costs)}" if costs else ""
        return (
            f"With {self.group_by} = {format_value(self.group)}, going from {format_count(self.n_from)} to {format_count(self.n_to)} parameters "
            f"({format_factor(self.n_to / self.n_from)}) {verb} {short_label(self.metric)} by {format_percent(abs(self.change))}{interval}, "
            f"from {format_change(self.metric_from, self.metric_to)}{cost_text}."
        )


def scaling_effect(
    outcome: FitOutcome, group: float, *, costs: tuple[str, ...] = ("train_seconds",), decade: float = 10.0
) -> ScalingEffect | None:
    """The effect of the last `decade`-fold of parameters trained at data size `group`.

    The interval of the quality change is one of the fitted curve (a mean interval, no
    observation noise): the law's bootstrap, taken jointly at both ends so it keeps their
    correlation; a cost ratio's interval from its own law's bootstrap.
    """
    fit = outcome.quality_for(group)
    if fit is None:
        return None
    n_to = fit.x_range[1]
    n_from = max(fit.x_range[0], n_to / decade)
    metric_from, metric_to = fit.predict(np.array([n_from, n_to]))
    # Both ends lie in the trained range: the replicates that resampled sizes around both.
    draws = fit.bootstrap_predict(np.array([n_from, n_to]), interpolating=True)
    change_ci, no_interval = None, "too few runs to resample for an interval"
    if not fit.law.has_intervals:  # seen: "(95% CI of the fitted curve 10% to 10%)" from a stuck bootstrap
        draws, no_interval = None, f"no interval: {fit.law.no_interval_reason()}"
    draws = None if draws is None else draws[np.isfinite(draws).all(axis=1)]
    if draws is not None and len(draws) >= 20:
        if (draws[:, 0] > 0).all():
            change_ci = tuple(float(v) for v in np.quantile(draws[:, 1] / draws[:, 0] - 1, [0.025, 0.975]))
        else:  # a share's law at 0 for the smaller size in some replicates: no relative change there
            no_interval = (
                f"no interval: some of the law's replicates put {format_count(n_from)} parameters at "
                f"{short_label(fit.metric)} 0, from which no relative change can be taken"
            )
    cost_ratios = {cost: outcome.costs[cost].ratio(n_from, n_to) for cost in costs if cost in outcome.costs}
    return ScalingEffect(
        fit.metric,
        fit.group_by,
        group,
        n_from,
        n_to,
        float(metric_from),
        float(metric_to),
        float(metric_to / metric_from - 1) if metric_from > 0 else float("nan"),
        change_ci,
        cost_ratios,
        no_interval,
    )


def data_effect_sentence(frame: pd.DataFrame, metric: str, *, x: str, group_by: str) -> str | None:
    """What more data did for the largest model, from the measured seed means."""
    means = aggregate_over_seeds(frame)
    if means.empty or metric not in means or group_by not in means or means[group_by].nunique() < 2:
        return None
    # The largest size trained on 2+ data sizes (a planned sweep may train its largest on one only:
    # "1x more training data (360 to 360)").
    sizes = means.groupby(x)[group_by].nunique()
    if not (sizes >= 2).any():
        return None
    largest = means[means[x] == sizes[sizes >= 2].index.max()].sort_values(group_by)
    first, last = largest.iloc[0], largest.iloc[-1]
    if first[metric] <= 0:  # no relative change from zero
        return (
            f"At {format_count(first[x])} parameters, {last[group_by] / first[group_by]:.2g}x more training data "
            f"moved {short_label(metric)} from {format_change(first[metric], last[metric])} (measured)."
        )
    change = last[metric] / first[metric] - 1
    return (
        f"At {format_count(first[x])} parameters, {last[group_by] / first[group_by]:.2g}x more training data "
        f"({first[group_by]:g} to {last[group_by]:g}) {'cut' if change < 0 else 'raised'} {short_label(metric)} "
        f"by {format_percent(abs(change))} ({format_change(first[metric], last[metric])}, measured)."
    )


def generalization_sentence(frame: pd.DataFrame, *, x: str, group_by: str) -> str | None:
    """How the validation-minus-training loss moved with size and with data, measured."""
    means = aggregate_over_seeds(frame)
    if means.empty or "generalization_gap" not in means or group_by not in means:
        return None
    most_data = means[means[group_by] == means[group_by].max()].sort_values(x)
    small, large = most_data.iloc[0], most_data.iloc[-1]
    biggest = means[means[x] == means[x].max()].sort_values(group_by)
    gap = "the generalization gap (validation minus training loss)"
    by_data = (
        f"more data moved {{it}} from {biggest.iloc[0]['generalization_gap']:.3f} ({group_by} = "
        f"{biggest.iloc[0][group_by]:g}) to {biggest.iloc[-1]['generalization_gap']:.3f} "
        f"({group_by} = {biggest.iloc[-1][group_by]:g})"
    )
    if len(most_data) < 2:  # one size: only data moved it ("from 0.055 at 1.21k parameters to 0.055 at 1.21k")
        if len(biggest) < 2:
            return None
        return f"For {format_count(large[x])} parameters, {by_data.format(it=gap)}."
    sentence = (
        f"With {group_by} = {small[group_by]:g}, {gap} went from {small['generalization_gap']:.3f} at "
        f"{format_count(small[x])} parameters to {large['generalization_gap']:.3f} at {format_count(large[x])}"
    )
    if len(biggest) > 1:
        sentence += f"; for the largest model, {by_data.format(it='it')}"
    return sentence + "."


def seed_warnings(frame: pd.DataFrame, metric: str) -> list[str]:
    """Warnings about seeds, one line per kind: only one seed per configuration; configurations
    whose seeds are shown unstable (their std above `UNSTABLE_SEED_CV` of the mean with 95%
    confidence); configurations whose seeds disagree that much but are too few to tell."""
    means = aggregate_over_seeds(frame)
    if means.empty or metric not in means:
        return []
    if means["n_seeds"].max() < 2:
        return [
            "one seed per configuration: the seed-to-seed spread is unknown, so intervals cover only the spread across sizes"
        ]
    spread = (means[f"{metric}_std"] / means[metric].abs()).to_numpy(float)
    seeds = means["n_seeds"].to_numpy(int)
    measured = np.isfinite(spread) & (seeds >= 2)
    shown = measured & (spread * _std_lower_bound_factor(seeds) > UNSTABLE_SEED_CV)
    weak = measured & (spread > UNSTABLE_SEED_CV) & ~shown
    warnings = []
    if shown.any():
        warnings.append(
            f"unstable seeds at {_configurations(shown)} ({_spread_words(spread[shown], seeds[shown], metric)}, "
            f"above {UNSTABLE_SEED_CV:.0%} with 95% confidence): see the seed spread under "
            "'Can these laws be trusted?'"
        )
    if weak.any():
        warnings.append(
            f"seeds disagree at {_configurations(weak)} ({_spread_words(spread[weak], seeds[weak], metric)}), "
            "but so few seeds cannot tell a spread that large from chance: run more seeds to know "
            "whether training is unstable there"
        )
    return warnings


def _std_lower_bound_factor(n_seeds: np.ndarray) -> np.ndarray:
    """The one-sided 95% lower confidence bound of a normal population's std, as a fraction of the
    sample std of `n_seeds` draws: sqrt((n - 1) / chi2_0.95(n - 1)); 0.51 for 2 seeds, 0.73 for 10."""
    from scipy.stats import chi2

    degrees = np.maximum(n_seeds - 1, 1)
    return np.sqrt(degrees / chi2.ppf(0.95, degrees))


def _configurations(mask: np.ndarray) -> str:
    count = int(mask.sum())
    return f"{count} configuration{'' if count == 1 else 's'}"


def _spread_words(spread: np.ndarray, seeds: np.ndarray, metric: str) -> str:
    """E.g. 'std of val_loss over 2 seeds 11-16% of the mean'."""

    def span(low, high, unit=""):
        return f"{low:.0f}{unit}" if round(low) == round(high) else f"{low:.0f}-{high:.0f}{unit}"

    return (
        f"std of {metric} over {span(seeds.min(), seeds.max())} seeds "
        f"{span(spread.min() * 100, spread.max() * 100, '%')} of the mean"
    )


def size_sentences(analysis) -> list[str]:
    """How quality changes with size, one sentence per data size: the law's exponent where the
    runs resolve it (`describe_fit`), else what the measurements say (`SizeVerdict.sentence`)."""
    verdicts = analysis.size_verdicts
    sizes = {float(size) for verdict in verdicts for size in verdict.sizes}
    if len(verdicts) > 1 and sizes == {float(verdicts[0].sizes[0])}:
        # Seen: "size is seen only across data sizes: through the joint law and the IsoFLOP profiles",
        # of a sweep that trained one size, where there was neither.
        name = short_label(analysis.metric)
        return [
            f"Only {format_count(verdicts[0].sizes[0])} parameters were trained, at every {verdicts[0].group_by}, so "
            f"how {name} depends on size is not measured; train at least {MIN_SIZES_TO_FIT} sizes to fit a law."
        ]
    if len(verdicts) > 2 and all(verdict.kind == "one size" for verdict in verdicts):  # an IsoFLOP grid
        return [
            f"Each of the {len(verdicts)} values of {verdicts[0].group_by} was trained at one model size (as in an "
            "IsoFLOP sweep, where each size trains on the data its compute budget buys), so size is seen only "
            "across data sizes: through the joint law and the IsoFLOP profiles."
        ]
    sentences = []
    for verdict in verdicts:
        fit = analysis.groups.quality_for(verdict.group)
        sentences.append(describe_fit(fit) if verdict.resolved and fit is not None else verdict.sentence())
    return sentences


def joint_law_sentences(
    joint: JointLaw, size_problem: str = "", data_problem: str = "", baseline: BaselineAt | None = None
) -> list[str]:
    """The joint law with every parameter's interval, the compute-optimal split, the data limit.

    The formula and parameters are those of the form the joint law uses (chosen by form="auto").
    With `size_problem` (`Analysis.joint_size_problem`) the size term (A / N^alpha) is not resolved:
    its scale and exponent are named as such, and the answers that rest on them (N*, the data limit) are left out.
    With `data_problem` (`Analysis.joint_data_problem`) the data term is not resolved: no compute-optimal
    split is quoted, and the data limit does not promise that more data helps.
    `baseline`: the trivial baseline at a data size (`Analysis.baseline`), which no quoted optimum
    may fail to beat.
    """
    params, ci, bounded = joint.law.params_, joint.law.ci_ or {}, joint.law.ci_bounded()

    def value(name: str) -> str:
        if name == "E" and not joint.has_floor:
            return "E ~ 0 (not resolved)"
        if name not in ci:
            return f"{name} = {params[name]:.3g}"
        ends = [
            f"{end:.3g}" if end_bounded else "not bounded by these runs"
            for end, end_bounded in zip(ci[name], bounded[name])
        ]
        return f"{name} = {params[name]:.3g} ({ends[0]} to {ends[1]})"

    quantity = f"1 - {joint.metric}" if joint.complement else joint.metric
    form = joint.law.form_
    size_scale, size_exponent = joint.size_term_params
    names = [name for name in form.public_names if not (size_problem and name in (size_scale, size_exponent))]
    formula = form.formula.split(" = ", 1)[1]
    chosen = ""
    if joint.law.form_choice_ is not None:
        scores = ", ".join(
            f"{name} {score:.3g}" for name, score in joint.law.form_choice_.scores.items() if np.isfinite(score)
        )
        chosen = (
            f" (form {form.name}, chosen by its error on held-out configurations: {scores})"
            if scores
            else f" (form {form.name}: too few configurations to compare forms)"
        )
    evidence = (
        f"every evaluation of {joint.n_configs} configurations' training curves after the first "
        f"{joint.curves.burn_in:.0%} of their {joint.data} ({joint.curves.n_points} points, seed means"
        if joint.curves is not None
        else f"{joint.n_configs} configurations (seed means"
    )
    sentences = [
        f"Joint law of size and data, fitted to {evidence}; intervals resample "
        f"whole configurations): {quantity} = {formula} with N = {joint.x}, D = {joint.data}{chosen}; "
        + ", ".join(value(name) for name in names)
        + " (95% CIs in brackets)"
        + (
            f"; {size_scale} and {size_exponent} are not resolved ({size_problem}), so no size exponent is quoted."
            if size_problem
            else "."
        )
    ]
    if joint.curves is not None and None not in (joint.curves.width_ratio, joint.curves.mean_width_ratio):
        sentences.append(
            f"The curves make its 95% prediction intervals {joint.curves.width_ratio:.2f}x as wide as the final "
            f"points alone give, and the band of the fitted law {joint.curves.mean_width_ratio:.2f}x (medians over "
            f"the configurations and {BEYOND_FOR_WIDTH:g}x beyond them in size and data)."
        )
    if not joint.has_floor:
        sentences.append(
            "Its floor E is not resolved by these sizes (below 1% of the smallest fitted value): "
            "do not trust it far beyond the trained range."
        )
    if size_problem:
        return sentences
    if data_problem:
        sentences.append(
            f"Its data term is not resolved ({data_problem}): more data did not measurably change {quantity} "
            "between the data sizes trained, so no compute-optimal split of size and data is quoted."
        )
    elif joint.optimal is not None:
        sentences += [optimal_sentence(joint, row, baseline) for _, row in joint.optimal.iterrows()]
    if joint.data_limit is not None and np.isfinite(joint.data_limit.n_params):
        sentences.append(data_limit_sentence(joint, quantity, data_problem))
    return sentences


def data_limit_sentence(joint: JointLaw, quantity: str, data_problem: str) -> str:
    """'With your 1,437 examples, models beyond ~263k parameters (95% CI 64.1k to above 2.61M)
    gain less than 1% ...': a size past BEYOND_SWEEP[1] x the largest trained, where the law speaks
    for nothing measured, is said as 'above' that size, not as a bootstrap replicate's number."""
    limit = joint.data_limit
    reach = BEYOND_SWEEP[1] * joint.n_range[1]
    if limit.n_params > reach:
        return (
            f"With your {limit.data_size:,.0f} examples, the law predicts that every 10x more parameters still gains at "
            f"least {limit.gain:.0%} in {quantity} up to {format_count(reach)} parameters ({BEYOND_SWEEP[1]:g}x the "
            "largest size trained), as far as it is quoted."
        )
    interval = ""
    if limit.interval is not None:
        low, high = limit.interval
        high_text = f"above {format_count(reach)}" if high > reach else format_count(high)
        interval = f" (95% CI {format_count(low)} to {high_text})"
    return (
        f"With your {limit.data_size:,.0f} examples, models beyond ~{format_count(limit.n_params)} parameters{interval} "
        f"gain less than {limit.gain:.0%} in {quantity} from another 10x parameters"
        + (": past that, more data helps, not size." if not data_problem else ".")
    )


def optimum_beats_baseline(joint: JointLaw, row: pd.Series, baseline: BaselineAt | None) -> bool:
    """Whether the best split of a budget (a row of `joint.optimal`) is predicted better than the
    trivial baseline at its data size D* (`baseline`, `Analysis.baseline`; True without one):
    where it is not, no model is worth training on that budget, and neither the sentence nor the
    report's table quotes its N* and D*."""
    return baseline is None or bool(better_than_baseline(joint.metric, row["metric_opt"], baseline(row["D_opt"])))


def optimal_sentence(joint: JointLaw, row: pd.Series, baseline: BaselineAt | None = None) -> str:
    """E.g. 'At 1e9 FLOPs (largest trained): N* = 12k (95% CI ...), D* = 1.4k examples (...), 117 examples per parameter (...)'.

    Where the best split's predicted metric is no better than the trivial `baseline` (the
    analysis's), no N* is quoted: seen, 'N* = 776 parameters ... predicted 6.16' bits per byte
    against a unigram model's 5.7, at a budget where no run learned anything."""
    if not optimum_beats_baseline(joint, row, baseline):
        return (
            f"At {row['compute']:.3g} training FLOPs ({row['budget']}), the joint law's best split of size and data "
            f"predicts {short_label(joint.metric)} {row['metric_opt']:.3g}, no better than the trivial baseline "
            f"({baseline(row['D_opt']):.3g} at D* = {format_count(row['D_opt'])} {joint.unit}): no model is worth training on that budget, so no N* or D* is quoted; a larger "
            "budget would answer."
        )

    def interval(name: str, count: bool) -> str:
        return format_interval(row.get(f"{name}_low"), row.get(f"{name}_high"), count=count)

    sentence = (
        f"At {row['compute']:.3g} training FLOPs ({row['budget']}), the compute-optimal model has "
        f"N* = {format_count(row['N_opt'])} parameters{interval('N_opt', True)} trained on D* = {format_count(row['D_opt'])} "
        f"{joint.unit}{interval('D_opt', True)}: {row['examples_per_param']:.3g} {joint.unit} per parameter"
        f"{interval('examples_per_param', False)}, predicted {short_label(joint.metric)} {row['metric_opt']:.3g}."
    )
    available = joint.data_limit.data_size if joint.data_limit is not None else None
    if available is not None and row["D_opt"] > available:  # an answer the user cannot train as stated
        sentence += (
            f" That D* is more than the {available:,.0f} examples available (--data-available; default the "
            "largest data size trained): with these examples, the data-limited answer ('With your ... examples') applies instead."
        )
    return sentence


def isoflop_sentences(iso: IsoFlopOnSweep | None, note: str) -> tuple[list[str], list[str]]:
    """(sentences, warnings) comparing approach 2 with the joint law at each compute group. A
    profile whose lowest point lies outside the sizes tried is said in words, not as a number:
    the parabola's vertex there is an extrapolation, not a measured optimum."""
    if iso is None:
        return [f"IsoFLOP (approach 2) does not apply to this sweep: {note}."], []
    sentences, warnings = [], []
    unit = iso.unit
    for _, row in iso.groups.iterrows():
        if row["note"]:
            sentences.append(
                f"Compute group {row['compute']:.3g} FLOPs ({row['n_runs']} configurations): not used, {row['note']}."
            )
            continue
        if not row["vertex_inside"]:
            sentences.append(_outside_sentence(row) + _joint_words(row, unit) + ".")
            continue
        text = (
            f"At {row['compute']:.3g} FLOPs, IsoFLOP's parabola puts N* at {format_count(row['N_opt'])}"
            f"{_vertex_interval(row)}, trained on D* = {format_count(row['D_opt'])} {unit}: "
            f"{row['examples_per_param']:.3g} {unit} per parameter{_vertex_ratio_interval(row)}"
        )
        text += _joint_words(row, unit)
        if np.isfinite(row.get("joint_N_opt", np.nan)):
            if row["disagree"]:
                warnings.append(
                    f"at {row['compute']:.3g} FLOPs the IsoFLOP optimum and the joint law's N* disagree "
                    "beyond their intervals: the joint form may not fit these runs"
                )
        sentences.append(text + ".")
    if iso.joint_note:
        sentences.append(f"The joint law's compute-optimal N* is not given beside these: {iso.joint_note}.")
    outside = int((iso.groups["note"].eq("") & ~iso.groups["vertex_inside"].astype(bool)).sum())
    exponent = iso.exponents.set_index("name")
    if outside:
        sentences.append(
            f"IsoFLOP exponents are not quoted: {outside} of the {len(iso.groups)} profiles have their lowest point "
            "outside the sizes tried."
        )
    elif "a" in exponent.index and np.isfinite(exponent.loc["a", "value"]):
        a, b = exponent.loc["a"], exponent.loc["b"]
        sentences.append(
            f"IsoFLOP exponents: N* grows as C^{a['value']:.2f}{_interval(a, 'ci', digits=2)}, "
            f"D* as C^{b['value']:.2f}{_interval(b, 'ci', digits=2)}, fitted over "
            f"{np.log10(iso.groups['compute'].max() / iso.groups['compute'].min()):.2g} decades of compute."
        )
    if unit == "tokens" and (iso.groups["vertex_inside"].astype(bool) & iso.groups["note"].eq("")).any():
        sentences.append(CHINCHILLA_RATIO_SENTENCE)
    return sentences, warnings


# What the measured ratio is beside (each claim checked against the paper's abstract).
CHINCHILLA_RATIO_SENTENCE = (
    "For comparison, Chinchilla's compute-optimal models have about 20 tokens per parameter (Hoffmann et al. 2022, "
    "isoFLOP profiles from 6e18 to 3e21 FLOPs). At small scale the measured ratio depends on how it is measured: "
    "Kaplan et al. (2020) found N* growing as C^0.73 (fewer tokens per parameter as compute grows), which Pearce & "
    "Song (2024) trace mostly to counting non-embedding parameters at small scale and Porian et al. (2024) to the "
    "output layer's FLOPs, warmup and optimizer tuning, recovering Chinchilla's allocation once corrected; and it "
    "depends on the data: the better the data, the more of a growing budget goes to model size (DeepSeek-AI 2024)."
)


def _interval(row: pd.Series, name: str, *, count: bool = False, digits: int = 3) -> str:
    """' (95% CI a-b)' of `name` from its _low / _high columns; '' where either is missing."""
    low, high = row.get(f"{name}_low", np.nan), row.get(f"{name}_high", np.nan)
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""
    return format_interval(low, high, count=count, digits=digits)


def _vertex_interval(row: pd.Series, opening: str = " (95% CI ") -> str:
    """The bootstrap interval of a profile's N*, an end past the sizes tried said as such: a
    replicate's parabola can put its vertex anywhere, but the runs measured only these sizes."""
    low, high = row.get("N_opt_low", np.nan), row.get("N_opt_high", np.nan)
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""
    low_text = f"below {format_count(row['N_min'])}" if low < row["N_min"] else format_count(low)
    high_text = f"above {format_count(row['N_max'])}" if high > row["N_max"] else format_count(high)
    return f"{opening}{low_text} to {high_text})"


def _vertex_ratio_interval(row: pd.Series, opening: str = " (95% CI ") -> str:
    """The interval of examples per parameter at a profile's optimum (C / (k N*^2): its low end
    from N*'s high end), an end past the sizes tried said as such."""
    low, high = row.get("N_opt_low", np.nan), row.get("N_opt_high", np.nan)
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""

    def ratio_at(n: float) -> float:
        return row["examples_per_param"] * (row["N_opt"] / n) ** 2

    low_text = f"below {ratio_at(row['N_max']):.3g}" if high > row["N_max"] else f"{ratio_at(high):.3g}"
    high_text = f"above {ratio_at(row['N_min']):.3g}" if low < row["N_min"] else f"{ratio_at(low):.3g}"
    return f"{opening}{low_text} to {high_text})"


def isoflop_table(iso: IsoFlopOnSweep) -> pd.DataFrame:
    """The IsoFLOP profiles as a reader's table, with the words of `isoflop_sentences`: one row per
    compute group, each interval in one cell with an end past the sizes tried said as such (never a
    bootstrap replicate's vertex far outside them), a profile without an optimum said in words."""
    unit = iso.unit
    rows = []
    for _, row in iso.groups.iterrows():
        determined = not row["note"] and bool(row["vertex_inside"])
        why = row["note"] or ("" if determined else "lowest point outside the sizes tried")
        joint = row.get("joint_N_opt", np.nan)
        rows.append(
            {
                "training FLOPs": f"{row['compute']:.3g}",
                "runs": int(row["n_runs"]),
                "sizes tried": f"{format_count(row['N_min'])} to {format_count(row['N_max'])}",
                "N* (95% CI)": format_count(row["N_opt"]) + _vertex_interval(row, opening=" (")
                if determined
                else "not determined",
                f"D* ({unit})": format_count(row["D_opt"]) if determined else "",
                f"{unit} per parameter (95% CI)": f"{row['examples_per_param']:.3g}"
                + _vertex_ratio_interval(row, opening=" (")
                if determined
                else "",
                "joint law's N*": format_count(joint) if np.isfinite(joint) else "",
                "note": why,
            }
        )
    return pd.DataFrame(rows)


def _joint_words(row: pd.Series, unit: str) -> str:
    """'; the joint law says N* = 12k (95% CI ...), 101 tokens per parameter (...)', or '' without one."""
    if not np.isfinite(row.get("joint_N_opt", np.nan)):
        return ""
    text = f"; the joint law says N* = {format_count(row['joint_N_opt'])}{_interval(row, 'joint_N_opt', count=True)}"
    if np.isfinite(row.get("joint_examples_per_param", np.nan)):
        text += (
            f", {row['joint_examples_per_param']:.3g} {unit} per parameter{_interval(row, 'joint_examples_per_param')}"
        )
    return text


def _outside_sentence(row: pd.Series) -> str:
    """A profile still falling at an end of the sizes tried: no optimum, and which sizes would give one."""
    below = row["vertex_below"]
    end, more = ("smallest", "smaller") if below else ("largest", "larger")
    edge = row["N_min"] if below else row["N_max"]
    return (
        f"At {row['compute']:.3g} FLOPs the loss still falls toward the {end} size tried ({format_count(edge)} "
        f"parameters): the optimum lies outside the sizes and is not determined here; {more} sizes at this budget "
        "would place it"
    )


WARNING_PREFIX = "[yellow]warning:[/]"  # a summary line that is a warning (rich markup): the CLI prints it on stderr


def summary_lines(analysis) -> list[str]:
    """The terminal summary after a sweep: the law per data size, the joint law's headline
    answers, then every warning (each line prefixed for the console) and how many fit
    diagnostics the report holds."""
    lines = size_sentences(analysis)
    if analysis.joint is not None:
        joint = joint_law_sentences(
            analysis.joint, analysis.joint_size_problem, analysis.joint_data_problem, analysis.baseline
        )
        lines.append(joint[0])
        lines += [s for s in joint if s.startswith(("With your", "Its floor"))]
        if analysis.joint.optimal is not None and analysis.compute_optimal_quoted:
            largest = analysis.joint.optimal[analysis.joint.optimal["budget"] == "largest trained"]
            lines += [optimal_sentence(analysis.joint, row, analysis.baseline) for _, row in largest.iterrows()]
    if analysis.transfer is not None:  # pretrained or from scratch: measured, then what it is worth in data
        lines += analysis.transfer.sentences
    lines += [f"{WARNING_PREFIX} {warning}" for warning in analysis.warnings]
    if analysis.fit_diagnostics:
        lines.append(
            f"{len(analysis.fit_diagnostics)} fit diagnostics (parameters on a bound or not separately "
            "identified, laws too short to backtest): see the report's 'Can these laws be trusted?'"
        )
    return lines


# The references a language model's bits per byte is placed against, in the order they are quoted.
_BITS_PER_BYTE_ANCHORS = (
    ("baseline_val_bits_per_byte", "a unigram byte model of the training text"),
    ("zlib_val_bits_per_byte", "zlib (level 9)"),
    ("lzma_val_bits_per_byte", "lzma (preset 9)"),
)


def anchor_sentence(frame: pd.DataFrame, metric: str, *, x: str) -> str | None:
    """Where a language model's measured bits per byte stand against references a reader knows:
    the byte-frequency (unigram) baseline and standard compressors on the same held-out text."""
    means = aggregate_over_seeds(frame)
    anchors = [(column, words) for column, words in _BITS_PER_BYTE_ANCHORS if column in means]
    if metric != "val_bits_per_byte" or means.empty or metric not in means or not anchors:
        return None
    best = means.loc[means[metric].idxmin()]
    quoted = join_words([f"{words} {means[column].mean():.2f}" for column, words in anchors])
    sentence = (
        f"On the same held-out text the best model scores {best[metric]:.2f} bits per byte "
        f"({format_count(best[x])} parameters); {quoted}."
    )
    if "baseline_val_bits_per_byte" in means:
        worse = int(no_better_than_baseline(means, metric).sum())
        sentence += (
            " Every configuration beats the byte-frequency baseline."
            if worse == 0
            else f" {worse} of {len(means)} configurations do not beat the byte-frequency baseline: "
            "they have not learned past byte statistics."
        )
    return sentence
