"""Helpers of the fit tests (imported as `fit_helpers`; tests/ holds no packages)."""

from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
CHINCHILLA_CSV = REPO / "examples" / "chinchilla" / "chinchilla_svg_extracted_data.csv"


def chinchilla_runs() -> pd.DataFrame:
    """The paper's 240 rows: drop the 5 highest losses; tokens D = C / (6 N)."""
    raw = pd.read_csv(CHINCHILLA_CSV)
    kept = raw.sort_values("loss").iloc[:-5]
    return pd.DataFrame(
        {"N": kept["Model Size"], "D": kept["Training FLOP"] / (6 * kept["Model Size"]), "loss": kept["loss"]}
    )


def power_table(n=30, seed=0, sigma=0.01, params=(1.7, 400.0, 0.34)) -> pd.DataFrame:
    """Points of y = E + A x^-alpha with multiplicative log-normal noise."""
    energy, scale, alpha = params
    x = np.geomspace(1e6, 1e10, n)
    noise = np.exp(np.random.default_rng(seed).normal(0, sigma, n))
    return pd.DataFrame({"x": x, "y": (energy + scale * x**-alpha) * noise})


def reference_prediction(name, params, x):
    """The published formulas in the original (not log) space, from the papers."""
    p = params
    if name == "power":
        return p["E"] + p["A"] * x[:, 0] ** -p["alpha"]
    if name == "powerlaw":
        return p["A"] * x[:, 0] ** p["k"]
    if name == "chinchilla":
        return p["E"] + p["A"] / x[:, 0] ** p["alpha"] + p["B"] / x[:, 1] ** p["beta"]
    if name == "kaplan":
        n, d = x[:, 0], x[:, 1]
        return ((p["Nc"] / n) ** (p["alpha_N"] / p["alpha_D"]) + p["Dc"] / d) ** p["alpha_D"]
    if name == "bnsl":
        x0 = x[:, 0]
        return p["E"] + p["A"] * x0 ** -p["c0"] * (1 + (x0 / p["d1"]) ** (1 / p["f1"])) ** (-p["c1"] * p["f1"])
    if name == "shifted_power":
        return p["E"] + p["A"] * (x[:, 0] + p["x0"]) ** -p["alpha"]
    if name == "chinchilla_no_floor":
        return p["A"] / x[:, 0] ** p["alpha"] + p["B"] / x[:, 1] ** p["beta"]
    if name == "farseer_lite":
        exponent = p["beta"] * x[:, 0] ** p["gamma"]
        return p["E"] + p["A"] / x[:, 0] ** p["alpha"] + p["B"] / x[:, 1] ** exponent
    if name == "data_constrained":
        # Muennighoff et al. (2023), eq. 5 with N' = N: D' = U + U R* (1 - exp(-R / R*)).
        n, d, u = x[:, 0], x[:, 1], np.minimum(x[:, 2], x[:, 1])
        repetitions = d / u - 1
        effective = u + u * p["R_star"] * (1 - np.exp(-repetitions / p["R_star"]))
        return p["E"] + p["A"] / n ** p["alpha"] + p["B"] / effective ** p["beta"]
    raise AssertionError(name)


EXAMPLE_PARAMS = {
    "power": {"E": 1.7, "A": 400.0, "alpha": 0.34},
    "powerlaw": {"A": 3e-9, "k": 1.1},
    "chinchilla": {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28},
    "kaplan": {"Nc": 6.4e13, "Dc": 1.8e13, "alpha_N": 0.076, "alpha_D": 0.103},
    "bnsl": {"E": 0.2, "A": 8.0, "c0": 0.1, "c1": 0.4, "d1": 1e5, "f1": 0.5},
    "shifted_power": {"E": 0.3, "A": 50.0, "alpha": 0.4, "x0": 3e4},
    "chinchilla_no_floor": {"A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28},
    # beta * N^gamma: 0.28 at N = 1e8, falling by 10% per factor 10 of N (gamma = -0.046).
    "farseer_lite": {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28 * 1e8**0.0458, "gamma": -0.0458},
    # Muennighoff et al. (2023) fit R*_D = 15.4; E, A, B, alpha, beta as Chinchilla's.
    "data_constrained": {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28, "R_star": 15.4},
}


# A truth whose data exponent grows with model size (farseer_lite, gamma = 0.05: 0.25 at N = 1e7,
# 0.31 at N = 1e9, 0.36 at 1.6e10): Chinchilla's form, with one data exponent, is wrong for it.
# (A falling exponent with a fixed B would make larger models worse at small D: not a loss surface.)
MISSPECIFIED_TRUTH = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28 * 1e8**-0.05, "gamma": 0.05}
TRAIN_SIZES, TRAIN_TOKENS = np.geomspace(1e7, 1e9, 5), np.geomspace(1e8, 1e10, 5)
BEYOND = (4.0, 16.0)  # targets this factor past the largest trained size or token count


def misspecified_split(direction: str, seed: int, noise: float = 0.005) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training grid, targets) drawn from ``MISSPECIFIED_TRUTH`` with log-normal noise.

    direction "D": the targets are every trained size at 4x and 16x the largest token count;
    "N": every trained token count at 4x and 16x the largest size.
    """
    rng = np.random.default_rng(seed)
    beyond = np.asarray(BEYOND)
    if direction == "D":
        targets = [(n, d) for n in TRAIN_SIZES for d in TRAIN_TOKENS[-1] * beyond]
    else:
        targets = [(n, d) for n in TRAIN_SIZES[-1] * beyond for d in TRAIN_TOKENS]
    grid = [(n, d) for n in TRAIN_SIZES for d in TRAIN_TOKENS]

    def draw(points):
        x = np.array(points, dtype=float)
        y = reference_prediction("farseer_lite", MISSPECIFIED_TRUTH, x) * np.exp(rng.normal(0, noise, len(x)))
        return pd.DataFrame({"N": x[:, 0], "D": x[:, 1], "loss": y})

    return draw(grid), draw(targets)


def curve_table(seed: int, run_noise: float = 0.01, point_noise: float = 0.003) -> pd.DataFrame:
    """Training curves of 6 sizes x 3 token budgets drawn from Chinchilla's law (EXAMPLE_PARAMS),
    10 evaluations each (10%, 20%, ..., 100% of the budget): one row per evaluation, with the
    run's own offset (shared by its points: they are not independent) and a little noise per point."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in np.geomspace(1e7, 1e9, 6):
        for budget in (2e9, 8e9, 3.2e10):
            offset = rng.normal(0, run_noise)
            for fraction in np.arange(1, 11) / 10:
                d = budget * fraction
                loss = reference_prediction("chinchilla", EXAMPLE_PARAMS["chinchilla"], np.array([[n, d]]))[0]
                rows.append(
                    {
                        "run": f"{n:.3g}-{budget:.3g}",
                        "N": n,
                        "D": d,
                        "step": fraction * 1000,
                        "loss": loss * np.exp(offset + rng.normal(0, point_noise)),
                    }
                )
    return pd.DataFrame(rows)


def misspecified_draw(seed: int):
    """A shifted power law (the truth) measured at 8 sizes x 2 seeds, and 3 sizes beyond (2, 4
    and 8x the largest): (table, sizes beyond, their measured values). Fitted with the plain power
    law, the wrong form, by the one-input coverage check."""
    rng = np.random.default_rng(seed)

    def truth(x):
        return 1.5 + 60.0 * (x + 2e6) ** -0.3

    x = np.repeat(np.geomspace(1e6, 1e8, 8), 2)
    table = pd.DataFrame({"x": x, "y": truth(x) * np.exp(rng.normal(0, 0.01, len(x)))})
    beyond = np.array([2e8, 4e8, 8e8])
    return table, beyond, truth(beyond) * np.exp(rng.normal(0, 0.01, len(beyond)))


def bending_at_few_tokens_per_parameter(n, d):
    """Chinchilla's law, bent down by 5% per e-fold of tokens per parameter below 1 (as real
    losses bend below the law where models see less than a token per parameter)."""
    law = 1.69 + 406.4 / n**0.34 + 410.7 / d**0.28
    return law * np.exp(-0.05 * np.maximum(np.log(n / d), 0.0))


def bending_split(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, targets) of the bending truth on a 5 x 7 grid with 0.5% noise: training on
    the sizes up to 1e8, targets the two larger sizes at every token count."""
    rng = np.random.default_rng(seed)
    grid = np.array([(n, d) for n in np.geomspace(1e7, 1e9, 5) for d in np.geomspace(1e7, 1e10, 7)])
    table = pd.DataFrame({"N": grid[:, 0], "D": grid[:, 1]})
    table["loss"] = bending_at_few_tokens_per_parameter(grid[:, 0], grid[:, 1]) * np.exp(
        rng.normal(0, 0.005, len(grid))
    )
    return table[table["N"] <= 2.5e8], table[table["N"] > 2.5e8]
