"""Shared timing helper of the benchmarks (run them as `python benchmarks/bench_x.py`)."""
from __future__ import annotations

import time


def best_time(fn, repeat: int, warmup: bool = True):
    """(minimum wall time over `repeat` calls, result of the last call).

    The machine is shared, so the minimum is the least noisy estimate. `warmup` makes one
    untimed call first (imports, caches, lazy initialisation).
    """
    if warmup:
        fn()
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result
