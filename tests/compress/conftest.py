"""Fixtures of the compression tests: a tiny trained store with its checkpoints (training keeps
them), one torch thread as in tests/train."""

from __future__ import annotations

from compress_helpers import _trained_store, trained_store  # noqa: F401  (imported: registered here)
from one_thread import one_thread_and_a_session_cache  # noqa: F401  (imported: registered here)
