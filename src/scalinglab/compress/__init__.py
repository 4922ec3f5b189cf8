"""Compress trained models (prune, quantize, factorize, cluster, distill) and measure them against
the training frontier. Importing this package does not import torch; `compress_store` does.

    from scalinglab.compress import compress_store
    outcome = compress_store("scalinglab-out", methods=["prune", "quantize"])
"""

from scalinglab.compress.compression_spec import CompressionSpec
from scalinglab.compress.driver import CompressOutcome, compress_store, plan, stored_compressions
from scalinglab.compress.registry import METHODS
from scalinglab.compress.settings import CompressConfig, compress_config

__all__ = [
    "METHODS",
    "CompressConfig",
    "CompressOutcome",
    "CompressionSpec",
    "compress_config",
    "compress_store",
    "plan",
    "stored_compressions",
]
