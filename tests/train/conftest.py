"""Training tests share two cores with everything else here: one torch thread avoids the
oversubscription that makes two-thread CPU kernels many times slower, and one matmul-peak cache
per session keeps the peak from being re-measured by every test (never the user's own cache)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _one_thread_and_a_session_cache(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield
    torch.set_num_threads(threads)
