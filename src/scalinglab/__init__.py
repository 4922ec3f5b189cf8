"""scalinglab: sweep model sizes x data sizes, measure every run, fit scaling laws, choose a size.

Heavy dependencies (torch, ray) are imported lazily, so `scalinglab.fit` works on a CSV alone.
"""

from scalinglab.errors import UserError

__version__ = "0.1.0"

__all__ = ["UserError", "__version__"]
