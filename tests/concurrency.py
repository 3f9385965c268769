"""One call from many threads at once, each on its own database connection (for concurrency tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def run_at_once(call: Callable[[], object], *, threads: int, timeout_s: float = 120) -> list:
    """Starts `threads` threads that meet at a barrier and then call `call()` together.

    Returns what each call returned, or the exception it raised, in finishing order.
    """
    barrier = threading.Barrier(threads)
    results: list = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait()
            try:
                outcome = call()
            except Exception as error:  # noqa: BLE001 - handed back to the test
                outcome = error
            with lock:
                results.append(outcome)
        finally:
            connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=timeout_s)
    return results
