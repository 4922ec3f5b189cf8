"""A session fixture the training-heavy test folders share (each conftest imports it, which
registers it there): one torch thread, so timings and results do not depend on what else runs on
the machine, and a private cache for the measured matmul peak."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def one_thread_and_a_session_cache(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield
    torch.set_num_threads(threads)
