"""The CLI tests drive every layer through the real command line, so they reuse those layers'
test helpers and fixtures: the fit tests' tables and the compression tests' trained store."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "fit"), str(TESTS / "compress")]

from compress_helpers import _trained_store, trained_store  # noqa: E402, F401  (imported: registered here)
from one_thread import one_thread_and_a_session_cache  # noqa: E402, F401  (imported: registered here)
