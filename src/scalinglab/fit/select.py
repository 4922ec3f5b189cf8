"""form="auto": choose a form by how well it extrapolates on the data itself.

Joint laws (N, D or N, D, U) are chosen by :func:`choose_joint_form` (its docstring); what
follows is the one-input choice.

In-sample fit always favours the most flexible form; what a scaling law is for is the point
beyond the data. So each candidate is fitted on the rows below a cut and scored on the rows
above it (the last ones along x), for cuts that leave out the last factor 1.5, 2 and 3 of the
x range; its score is the root mean square of the log errors over all of them.

The choice. The broken power law (``bnsl``, Caballero et al. 2023) contains the others as
special cases or near them, and extrapolated best on the public learning curves of
Alabdulmohsin et al. (2022): it is the incumbent. A simpler candidate replaces it only when its
score is ``MARGIN`` (1.5) times lower: a held-out tail of a few points is a noisy judge, and
should overturn the general form only on clear evidence (a plain power law does win so on
plain power-law data, whose tail the broken law overfits). A form is scored only when every
cut leaves it more distinct x values than it has parameters (``bnsl``: 7 below max / 3); the
lowest score among those wins when ``bnsl`` cannot be scored, and with no form scored the one
with the fewest parameters is taken.

Ties. Among the simpler candidates, scores within ``TIE_TOLERANCE`` (5%) of the best are a tie:
the score of a few held-out points moves by more than that when one point moves, so the form
with the fewest parameters is taken, and the choice says so (``FormChoice.tie_note``). A
``shifted_power`` whose shift sits on its bound is a plain power law with one parameter more;
it scores within a hair of ``power`` and must not win by that hair. The incumbent keeps its own
rule (``MARGIN``). The cuts and the margin
were chosen on that public benchmark (benchmarks/extrapolation.py), so its figure is
optimistic by construction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from scalinglab.fit.backtest import predict_held_out
from scalinglab.fit.fitter import Problem, fit_multistart
from scalinglab.fit.forms import AUTO_CANDIDATES, get_form
from scalinglab.fit.intervals import enough_to_fit, extrapolation_cuts

logger = logging.getLogger("scalinglab.fit.select")

CUT_FACTORS = (1.5, 2.0, 3.0)  # hold out the last factor r of the x range
# Joint laws: each direction's cut holds out many rows (every size's last data, say), so fewer
# factors judge as well; each costs a multistart fit of every candidate.
JOINT_CUT_FACTORS = (2.0, 3.0)
INCUMBENT = "bnsl"
MARGIN = 1.5  # how much lower a simpler form's score must be to replace the incumbent
TIE_TOLERANCE = 0.05  # scores within 5% of the best are a tie: the form with fewer parameters wins
MIN_EXTRA_POINTS = 1  # training rows beyond the form's parameter count


@dataclass(frozen=True)
class FormChoice:
    """Outcome of :func:`choose_form`.

    Attributes
    ----------
    name : str
        The chosen form.
    scores : dict of str to float
        RMS log error of each candidate on the held-out last points (inf: could not be scored,
        too few points below the cuts), best first.
    tied : tuple of str
        Forms that scored as well as the chosen one (within ``TIE_TOLERANCE``) but have more
        parameters, so lost the tie; empty when there was no tie.
    by_direction : dict or None
        Joint forms only: each candidate's RMS log error along each direction held out
        ("size", "data", "compute"; see :func:`choose_joint_form`).
    """

    name: str
    scores: dict[str, float]
    tied: tuple[str, ...] = ()
    by_direction: dict[str, dict[str, float]] | None = None

    def tie_note(self) -> str:
        """Why the simpler form won, e.g. 'power tied shifted_power (scores within 5%) and has
        fewer parameters'; '' when there was no tie."""
        if not self.tied:
            return ""
        return (
            f"{self.name} tied {' and '.join(self.tied)} (scores within {TIE_TOLERANCE:.0%}) and has fewer parameters"
        )

    def reason(self) -> str:
        """Why the chosen form won where its score is not the lowest: a tie (``tie_note``), or the
        incumbent kept against a simpler form not ``MARGIN`` times better ('' otherwise). Seen:
        "form auto chose bnsl; ...: power 0.0128, shifted_power 0.0128, bnsl 0.0154", no reason given."""
        if self.tied:
            return self.tie_note()
        lower = {name: score for name, score in self.scores.items() if score < self.scores.get(self.name, np.inf)}
        if self.name != INCUMBENT or not lower:
            return ""
        best = min(lower, key=lower.get)
        return (
            f"{INCUMBENT} kept: {best} scored lower ({lower[best]:.3g} against {self.scores[self.name]:.3g}), but a "
            f"simpler form replaces {INCUMBENT}, which contains the others, only when its score is {MARGIN:g}x "
            "lower: a held-out tail of a few points is a noisy judge"
        )


def holdout_masks(log_x: np.ndarray, factors=CUT_FACTORS) -> list[np.ndarray]:
    """One boolean mask of training rows per cut: x <= max(x) / r, for each factor r.

    Cuts that would leave nothing to test are skipped; the list may be empty.
    """
    return [train for _, _, train in extrapolation_cuts(log_x[:, :1], factors)]


def extrapolation_score(form, log_x, log_y, delta: float) -> float:
    """RMS log error of ``form`` on the last points of each cut, fitted on the rows before it.

    inf when some cut leaves fewer distinct x than the form has parameters plus one: every
    candidate is judged on the same cuts, or not at all.
    """
    errors = []
    for train in holdout_masks(log_x):
        if len(np.unique(log_x[train, 0])) < form.n_params + MIN_EXTRA_POINTS:
            return float("inf")
        _, predicted = predict_held_out(
            train,
            lambda rows: _fitted_theta(form, log_x[rows], log_y[rows], delta),
            lambda theta, rows: form.log_predict(theta[None, :], log_x[rows])[0],
        )
        errors.append(predicted - log_y[~train])
    if not errors:
        return float("inf")
    score = float(np.sqrt(np.mean(np.concatenate(errors) ** 2)))
    return score if np.isfinite(score) else float("inf")


def _fitted_theta(form, log_x: np.ndarray, log_y: np.ndarray, delta: float) -> np.ndarray:
    """The internal parameters of `form` fitted to these rows from its own start grid."""
    return fit_multistart(Problem(form, log_x, log_y, delta), form.start_grid(log_x, log_y)).theta


def choose_form(log_x: np.ndarray, log_y: np.ndarray, delta: float, candidates=AUTO_CANDIDATES) -> FormChoice:
    """Choose among one-input ``candidates`` by extrapolation error (see the module docstring).

    Returns
    -------
    FormChoice
        When no candidate can be scored (too few points), the candidate with the fewest
        parameters, with every score inf.
    """
    forms = {name: get_form(name) for name in candidates}
    scores = {name: extrapolation_score(form, log_x, log_y, delta) for name, form in forms.items()}
    ranked = dict(sorted(scores.items(), key=lambda item: item[1]))
    challengers = [name for name in candidates if name != INCUMBENT]
    best_score = min(scores[name] for name in challengers)
    tied = [name for name in challengers if scores[name] <= best_score * (1 + TIE_TOLERANCE)]
    simplest = min(tied, key=lambda name: (forms[name].n_params, scores[name]))
    if not np.isfinite(min(scores.values())):
        chosen = min(candidates, key=lambda name: forms[name].n_params)
    elif INCUMBENT in scores and np.isfinite(scores[INCUMBENT]):
        beaten = best_score * MARGIN < scores[INCUMBENT]
        chosen = simplest if beaten else INCUMBENT
    else:
        chosen = simplest
    # Unscored forms (inf) do not tie: nothing was measured to compare.
    scored_tie = chosen == simplest and np.isfinite(best_score)
    lost_tie = tuple(name for name in tied if forms[name].n_params > forms[chosen].n_params) if scored_tie else ()
    logger.debug("form=auto: scores %s, chose %s", ranked, chosen)
    return FormChoice(chosen, ranked, lost_tie)


def choose_joint_form(log_x: np.ndarray, log_y: np.ndarray, delta: float, candidates) -> FormChoice:
    """Choose among joint ``candidates`` (L(N, D), or L(N, D, U)) by how each predicts rows it
    did not see, held out along each direction users extrapolate in.

    The cuts are those of :func:`scalinglab.fit.intervals.extrapolation_cuts` with factors
    ``JOINT_CUT_FACTORS``: the largest sizes ("size"), the largest data at each size ("data") and the
    largest compute N * D ("compute"), kept when they leave enough rows for the candidate with
    the most parameters, so that every candidate is judged on the same cuts. A candidate's score
    is the root of the mean over directions of its mean squared log error in that direction
    (each direction counts once, however many rows it holds out). The lowest score wins; scores
    within ``TIE_TOLERANCE`` of it are a tie, won by the form with the fewest parameters. With no
    cut possible (too few rows), every score is inf and the first candidate is taken.
    Two-input candidates are fitted on the first two columns (N, D).
    """
    forms = {name: get_form(name) for name in candidates}
    most = max(form.n_params for form in forms.values())
    cuts = [
        (direction, train)
        for direction, _, train in extrapolation_cuts(log_x, JOINT_CUT_FACTORS)
        if enough_to_fit(most, log_x, train)
    ]
    by_direction = {
        name: _direction_errors(form, log_x[:, : form.n_inputs], log_y, delta, cuts) for name, form in forms.items()
    }
    scores = {name: _mean_over_directions(errors) for name, errors in by_direction.items()}
    ranked = dict(sorted(scores.items(), key=lambda item: item[1]))
    best = min(scores.values())
    if not np.isfinite(best):
        logger.debug("form=auto: no cut leaves enough rows; took %s", candidates[0])
        return FormChoice(candidates[0], ranked, (), by_direction)
    tied = [name for name in candidates if scores[name] <= best * (1 + TIE_TOLERANCE)]
    chosen = min(tied, key=lambda name: (forms[name].n_params, scores[name]))
    lost_tie = tuple(name for name in tied if forms[name].n_params > forms[chosen].n_params)
    logger.debug("form=auto: scores %s, chose %s", ranked, chosen)
    return FormChoice(chosen, ranked, lost_tie, by_direction)


def _direction_errors(form, log_x, log_y, delta, cuts) -> dict[str, float]:
    """RMS log error of ``form`` at the held-out rows of each direction's cuts."""
    errors: dict[str, list[np.ndarray]] = {}
    for direction, train in cuts:
        _, predicted = predict_held_out(
            train,
            lambda rows: _fitted_theta(form, log_x[rows], log_y[rows], delta),
            lambda theta, rows: form.log_predict(theta[None, :], log_x[rows])[0],
        )
        errors.setdefault(direction, []).append(predicted - log_y[~train])
    rms = {direction: float(np.sqrt(np.mean(np.concatenate(parts) ** 2))) for direction, parts in errors.items()}
    return {direction: (value if np.isfinite(value) else float("inf")) for direction, value in rms.items()}


def _mean_over_directions(rms_by_direction: dict[str, float]) -> float:
    """Root of the mean over directions of the squared RMS errors; inf with no direction."""
    if not rms_by_direction:
        return float("inf")
    return float(np.sqrt(np.mean(np.square(list(rms_by_direction.values())))))
