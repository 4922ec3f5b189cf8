"""[transfer]'s runs in the analysis (Hernandez et al. 2021, "Scaling Laws for Transfer").

The sweep's laws are fitted on its scratch runs, the runs a sweep without [transfer] would train;
the pretraining runs (on the source) and the runs that start from them are kept apart.
"""

from __future__ import annotations

import pandas as pd


def split_transfer_runs(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the scratch runs, the pretraining and pretrained-start runs) of a sweep's runs table; the
    second is empty for a sweep without [transfer]."""
    if "transfer_mode" not in frame:
        return frame, frame.iloc[0:0]
    parents = set(frame["transfer_parent"].dropna())
    apart = frame["transfer_mode"].notna() | frame["run_key"].isin(parents)
    return frame[~apart], frame[apart]
