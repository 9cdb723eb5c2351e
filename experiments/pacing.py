"""Pace bookkeeping (checkpoints, metric writes) so that it costs a bounded share of training.

A checkpoint or an MLflow write costs about the same whatever the epoch's length, so after every
short epoch it can be a large share of the run (docs/benchmarks.md has the figures). `Pacer` runs
such work on the first call and then only once the time since its last run is at least (what it
cost) / `share`. Two kinds are paced (checkpoints, metric writes), each to half a percent:
together they cost at most 1% of a run.
"""
from __future__ import annotations

import time
from typing import Callable

DEFAULT_SHARE = 0.005  # each kind of bookkeeping may take at most 0.5% of the wall time


class Pacer:
    """Runs costly periodic work at most `share` of the time (the first call always runs)."""

    def __init__(self, share: float | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self.share, self.clock = DEFAULT_SHARE if share is None else share, clock
        self.last_end: float | None = None
        self.last_cost = 0.0

    def due(self) -> bool:
        """Whether the work should run now."""
        return self.last_end is None or (self.clock() - self.last_end) * self.share >= self.last_cost

    def run(self, work: Callable[[], None]) -> None:
        """Run `work` now and remember what it cost."""
        start = self.clock()
        work()
        self.last_end = self.clock()
        self.last_cost = self.last_end - start
