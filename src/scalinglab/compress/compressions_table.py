"""Stored compressions as a pandas DataFrame: one row per compression, next to its parent's
size, data size and seed. Reading only: no statistics, no torch."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scalinglab.runs_table import results_frame

# The order in which a variant names its settings.
_SETTING_ORDER = (
    "sparsity",
    "fraction",
    "bits",
    "mode",
    "rank",
    "energy",
    "clusters",
    "temperature",
    "alpha",
    "finetune_epochs",
)


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
        rows.append(
            {
                "compression_key": row["compression_key"],
                "parent_run_key": row["parent_run_key"],
                "method": row["spec"]["method"],
                "variant": _variant(row["spec"]["method"], settings),
                **settings,
                "student": str(student) if student else None,
                "parent_n_params": parent.get("n_params", np.nan),
                "train_size": parent.get("train_size", np.nan),
                "parent_train_flops": parent.get("train_flops", np.nan),
                "total_train_seconds": parent.get("train_seconds", np.nan)
                + row["metrics"].get("compress_seconds", 0.0),
                "seed": parent.get("seed", np.nan),
                "status": row["status"],
                "error": row["error"],
                **row["metrics"],
            }
        )
    return pd.DataFrame(rows)


def stored_compressions_frame(out) -> pd.DataFrame:
    """`compressions_frame` of the sweep at `out` (its folder, .sqlite file or sqlite:///PATH),
    read-only; an empty frame when nothing was compressed. UserError when there is no store there."""
    from scalinglab.store import open_store

    store = open_store(out, read_only=True)
    try:
        return compressions_frame(store)
    finally:
        store.close()


def _variant(method: str, settings: dict) -> str:
    shown = " ".join(f"{name}={settings[name]}" for name in _SETTING_ORDER if name in settings)
    return f"{method} {shown}".strip()
