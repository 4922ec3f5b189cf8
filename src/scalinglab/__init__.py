"""scalinglab: sweep model sizes x data sizes, measure every run, fit scaling laws, choose a size.

    import scalinglab
    frame = scalinglab.sweep("sweep.toml")                  # or sweep(objective, sizes={...}, ...)
    result = scalinglab.run_sweep("sweep.toml")             # the same, with its analysis, report and outcomes
    frame = scalinglab.results("scalinglab-out")            # one row per stored run, as runs.csv
    model = scalinglab.load_model("scalinglab-out", run_key)
    analysis = scalinglab.analyze("scalinglab-out")         # every law, fitted once
    choice = scalinglab.recommend(analysis, scalinglab.Budgets(train_seconds=60))
    scalinglab.write_report("report.html", analysis)
    outcome = scalinglab.compress_store("scalinglab-out", methods=["prune", "quantize"])

Heavy dependencies (torch, pandas, ray) are imported lazily, on first use of a name that needs
them, so `import scalinglab` and `scalinglab.fit` work on a CSV alone.
"""

from __future__ import annotations

import importlib

from scalinglab.errors import UserError
from scalinglab.families.base import Family

__version__ = "0.1.0"

# Public name -> the module that defines it, imported when the name is first used.
_LAZY = {
    # the steps, in the order a study runs them
    "sweep": "scalinglab.api",
    "run_sweep": "scalinglab.api",
    "results": "scalinglab.api",
    "load_model": "scalinglab.api",
    "ScalingLaw": "scalinglab.fit",
    "fit_table": "scalinglab.fit",
    "analyze": "scalinglab.analysis",
    "recommend": "scalinglab.recommendation",
    "Budgets": "scalinglab.recommendation",
    "write_report": "scalinglab.report",
    "compress_store": "scalinglab.compress",
    # what they return
    "SweepResult": "scalinglab.api",
    "SweepReport": "scalinglab.api",
    "TableFit": "scalinglab.fit",
    "Analysis": "scalinglab.analysis",
    "Recommendation": "scalinglab.recommendation",
    "CompressOutcome": "scalinglab.compress.driver",
}

__all__ = sorted({"Family", "UserError", "__version__", *_LAZY})


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'scalinglab' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
