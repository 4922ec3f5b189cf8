"""Training tests share two cores with everything else here: one torch thread avoids the
oversubscription that makes two-thread CPU kernels many times slower, and one matmul-peak cache
per session keeps the peak from being re-measured by every test (never the user's own cache)."""

from one_thread import one_thread_and_a_session_cache  # noqa: F401  (imported: registered here)
