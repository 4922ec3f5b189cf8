"""One compressed model: which stored run it starts from, the method and its settings.

The key hashes exactly those, so the same compression planned twice is made once, and a rerun
after a crash makes only what is missing (as `RunSpec.run_key` does for training).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict


class CompressionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    parent_run_key: str
    method: str
    settings: dict[str, Any] = {}

    @property
    def key(self) -> str:
        """Stable 16-hex-digit hash of parent, method and settings."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def label(self) -> str:
        """Short name, e.g. 'prune sparsity=0.9 finetune_epochs=0 of 3f2a...'."""
        settings = " ".join(f"{name}={value}" for name, value in self.settings.items())
        return f"{self.method} {settings} of {self.parent_run_key}".replace("  ", " ")
