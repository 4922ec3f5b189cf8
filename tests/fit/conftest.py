"""Fixtures of the fit tests: the Chinchilla runs shipped in examples/chinchilla."""

import pandas as pd
import pytest
from fit_helpers import chinchilla_runs

from scalinglab.fit import ScalingLaw


@pytest.fixture(scope="session")
def chinchilla_table() -> pd.DataFrame:
    return chinchilla_runs()


@pytest.fixture(scope="session")
def chinchilla_law(chinchilla_table) -> ScalingLaw:
    """The Chinchilla law with the default 1,000-replicate bootstrap, seed 0."""
    return ScalingLaw("chinchilla", random_state=0).fit(chinchilla_table, x=["N", "D"], y="loss")
