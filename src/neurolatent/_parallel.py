"""Independent fits in parallel processes, each worker with its share of the CPU threads."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["run_calls"]


def _call_with_threads(call: Callable[[], Any], threads: int | None) -> Any:
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    return call()


def run_calls(calls: Sequence[Callable[[], Any]], n_jobs: int = 1) -> list:
    """Results of the zero-argument ``calls``, in order, over ``n_jobs`` processes (joblib).

    With several workers each sets torch to ``cpu_count // workers`` threads, so the workers
    share the cores instead of oversubscribing them. Why run fits side by side at all: a
    CEBRA step is many small operators whose second thread gains little (on two cores one
    2-thread fit ran at 34 ms per step, two 1-thread fits side by side at ~50 ms each, i.e.
    ~25 ms per fit-step). A fit gives the same result for the same seed and thread count;
    a different thread count changes the order of float sums, so results agree only within
    rounding, amplified over a long fit.

    Examples
    --------
    >>> from functools import partial
    >>> run_calls([partial(pow, 2, 3), partial(pow, 3, 2)])
    [8, 9]
    """
    from joblib import Parallel, delayed, effective_n_jobs

    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero int (-1: all cores); got {n_jobs!r}.")
    calls = list(calls)
    workers = min(effective_n_jobs(int(n_jobs)), max(1, len(calls)))
    if workers == 1:
        return [call() for call in calls]
    threads = max(1, (os.cpu_count() or 1) // workers)
    return Parallel(n_jobs=workers)(delayed(_call_with_threads)(call, threads) for call in calls)
