"""Shared data of the fit tests: the Chinchilla runs shipped in examples/chinchilla."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalinglab.fit import ScalingLaw

REPO = Path(__file__).resolve().parents[2]
CHINCHILLA_CSV = REPO / "examples" / "chinchilla" / "chinchilla_svg_extracted_data.csv"


def chinchilla_runs() -> pd.DataFrame:
    """The paper's 240 rows: drop the 5 highest losses; tokens D = C / (6 N)."""
    raw = pd.read_csv(CHINCHILLA_CSV)
    kept = raw.sort_values("loss").iloc[:-5]
    return pd.DataFrame(
        {"N": kept["Model Size"], "D": kept["Training FLOP"] / (6 * kept["Model Size"]),
         "loss": kept["loss"]}
    )


@pytest.fixture(scope="session")
def chinchilla_table() -> pd.DataFrame:
    return chinchilla_runs()


@pytest.fixture(scope="session")
def chinchilla_law(chinchilla_table) -> ScalingLaw:
    """The Chinchilla law with the default 1,000-replicate bootstrap, seed 0."""
    return ScalingLaw("chinchilla", random_state=0).fit(chinchilla_table, x=["N", "D"], y="loss")


def power_table(n=30, seed=0, sigma=0.01, params=(1.7, 400.0, 0.34)) -> pd.DataFrame:
    """Points of y = E + A x^-alpha with multiplicative log-normal noise."""
    energy, scale, alpha = params
    x = np.geomspace(1e6, 1e10, n)
    noise = np.exp(np.random.default_rng(seed).normal(0, sigma, n))
    return pd.DataFrame({"x": x, "y": (energy + scale * x**-alpha) * noise})
