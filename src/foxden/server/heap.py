"""The server process's heap and its garbage collector: the start-up heap frozen out of the
collector's sight, and every collection's pause timed (``foxden.server.metrics`` exposes
them on ``/metrics``).

Python's full collections (generation 2) walk every object the collector tracks, with the
event loop stopped: in a worker under load one took 50-75 ms of CPU and set every
endpoint's p99 (docs/scaling.md). Freezing what start-up built (modules, the app, its
caches) leaves the collections only what requests allocated since.
"""

from __future__ import annotations

import gc
import threading
import time
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

PAUSE_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)
"""Upper bounds (seconds) of the collection pauses' histogram."""


def freeze_heap() -> None:
    """Put every object alive once the server is built (modules, the app, its caches, the
    fleet) out of the garbage collector's sight: its full collections then walk what
    requests allocate, not the whole start-up heap, which they would never free anyway.
    Called by every process that serves, just before it serves (a forked worker too: it
    inherits its parent's heap unfrozen)."""
    gc.collect()
    gc.freeze()


class PauseWatch:
    """The collector's pauses in this process, by generation: counts by bucket, their sum,
    and the longest. One per process (``watch()``): the collector's callbacks are the
    process's, whichever app asks."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.bounds = [float(b) for b in PAUSE_BUCKETS]
        self.counts = [[0] * (len(self.bounds) + 1) for _ in range(3)]
        """Per generation: pauses by bucket (the last is +Inf)."""
        self.sums = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = self.clock()
            return
        seconds = self.clock() - self._started
        generation = min(2, int(info.get("generation", 2)))
        self.counts[generation][bisect_left(self.bounds, seconds)] += 1
        self.sums[generation] += seconds
        if seconds > self.longest[generation]:
            self.longest[generation] = seconds


_watch: PauseWatch | None = None
_watch_lock = threading.Lock()


def watch() -> PauseWatch:
    """This process's pause watch, installed in the collector's callbacks the first time."""
    global _watch
    with _watch_lock:
        if _watch is None:
            _watch = PauseWatch()
            gc.callbacks.append(_watch)
        return _watch
