"""Weight clustering (weight sharing within a layer, as in Deep Compression): each Linear and
Conv2d weight tensor is replaced by a k-entry codebook (scikit-learn's KMeans on its values) and
one index per weight. Stored as the fp32 codebook plus the indices packed at ceil(log2 k) bits;
runs as the dense tensor the codebook decodes to."""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.cluster import KMeans

from scalinglab.compress.methods.base import Compressed, Parent, nonzero_count, weight_layers
from scalinglab.compress.methods.packing import pack_codes


def cluster(parent: Parent, *, clusters: int) -> Compressed:
    """Share each layer's weights among at most `clusters` values."""
    model = parent.copy_model()
    coded: dict[str, dict] = {}
    for name, layer in weight_layers(model):
        codebook, codes = codebook_of(layer.weight.detach().numpy().reshape(-1), clusters)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(codebook[codes]).view_as(layer.weight))
        bits = max(1, math.ceil(math.log2(len(codebook))))
        coded[f"{name}.weight"] = {"codebook": torch.from_numpy(codebook), "codes": pack_codes(codes, bits)}
    state: dict = {}
    for key, tensor in model.state_dict().items():
        parts = coded.get(key)
        state.update({f"{key}.{part}": value for part, value in parts.items()} if parts else {key: tensor})
    return Compressed(model, state, nonzero_count(model), {"clusters_max": float(clusters)})


def codebook_of(values: np.ndarray, clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """(codebook float32, code per value) from 1-D k-means with at most `clusters` entries."""
    distinct = np.unique(values)
    if len(distinct) <= clusters:
        return distinct.astype(np.float32), np.searchsorted(distinct, values)
    kmeans = KMeans(n_clusters=clusters, n_init=1, random_state=0).fit(values.reshape(-1, 1).astype(np.float64))
    return kmeans.cluster_centers_.reshape(-1).astype(np.float32), kmeans.labels_.astype(np.int64)
