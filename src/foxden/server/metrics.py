"""``GET /metrics`` in the Prometheus text format, and the access log.

Each app has its own registry (several servers can share a process, as in tests):
Open API calls by path and errno, their latency by path, each account's quota use today,
the fleet's step duration and the samples it stored, and the garbage collector's pauses
(``foxden.server.heap``). The access log is one JSON object a line on the
``foxden.access`` logger for every Open API call.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from foxden.server.heap import PauseWatch, watch
from foxden.server.journal import Exchange

access_log = logging.getLogger("foxden.access")

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
STEP_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

QuotaView = Callable[[], Iterable[tuple[str, int, int]]]
"""(account, calls used today, daily quota) of every account."""


def enable_access_log(stream: TextIO) -> None:
    """Write the access log's lines, alone, to ``stream`` (``foxden serve`` does)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


def _edges(bounds: list[float]) -> list[str]:
    """A histogram's ``le`` labels: its bounds, then +Inf."""
    return [floatToGoString(b) for b in (*bounds, float("inf"))]  # type: ignore[no-untyped-call]


def _histogram(
    metric: Metric, labels: dict[str, str], edges: list[str], counts: list[float], total: float
) -> None:
    """One labelled series of a histogram, from its count in each bucket (the last +Inf)."""
    acc = 0.0
    for edge, n in zip(edges, counts, strict=True):
        acc += n
        metric.add_sample(metric.name + "_bucket", {**labels, "le": edge}, acc)
    metric.add_sample(metric.name + "_count", labels, acc)
    metric.add_sample(metric.name + "_sum", labels, total)


class _Quota(Collector):
    def __init__(self, view: QuotaView) -> None:
        self.view = view

    def collect(self) -> Iterator[Metric]:
        used = GaugeMetricFamily(
            "foxden_quota_used",
            "Calls counted against the daily quota today (UTC)",
            labels=["account"],
        )
        total = GaugeMetricFamily(
            "foxden_quota_total", "Daily call quota of the account", labels=["account"]
        )
        for account, n, quota in self.view():
            used.add_metric([account], n)
            total.add_metric([account], quota)
        yield used
        yield total


class _Calls(Collector):
    """The Open API calls counted by path and errno and their latency by path, as
    prometheus_client's labelled Counter and Histogram expose them, but counted in plain
    integers on the event loop: a call costs a dict look-up and two additions, not the
    library's locked updates of a counter, a sum and a bucket."""

    REQUESTS = "foxden_requests"
    LATENCY = "foxden_request_duration_seconds"

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int | None], list[float]] = {}
        """(path, errno) -> [calls, created]."""
        self.latency: dict[str, list[float]] = {}
        """path -> [count of each bucket (the last is +Inf)..., sum, created]."""
        self.bounds = [float(b) for b in LATENCY_BUCKETS]
        self.edges = _edges(self.bounds)

    def observe(self, path: str, errno: int | None, seconds: float) -> None:
        counts = self.counts.get((path, errno))
        if counts is None:
            counts = self.counts[(path, errno)] = [0, time.time()]
        counts[0] += 1
        latency = self.latency.get(path)
        if latency is None:
            latency = self.latency[path] = [0] * (len(self.bounds) + 2) + [time.time()]
        latency[bisect_left(self.bounds, seconds)] += 1
        latency[-2] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = Metric(
            self.REQUESTS,
            "Open API calls by path and errno (errno none: no envelope was sent)",
            "counter",
        )
        for (path, errno), (n, created) in list(self.counts.items()):
            labels = {"path": path, "errno": "none" if errno is None else str(errno)}
            requests.add_sample(self.REQUESTS + "_total", labels, float(n))
            requests.add_sample(self.REQUESTS + "_created", labels, created)
        yield requests
        latency = Metric(
            self.LATENCY, "Time from a call's arrival to its answer, by path", "histogram"
        )
        for path, row in list(self.latency.items()):
            labels = {"path": path}
            _histogram(latency, labels, self.edges, row[: len(self.edges)], row[-2])
            latency.add_sample(self.LATENCY + "_created", labels, row[-1])
        yield latency


class HeapMetrics(Collector):
    """``foxden_gc_pause_seconds`` (a histogram by generation), the longest pause of each
    generation, and ``foxden_gc_frozen_objects``: what the collector no longer walks
    (``foxden.server.heap``)."""

    PAUSE = "foxden_gc_pause_seconds"

    def __init__(self, pauses: PauseWatch | None = None) -> None:
        self.watch = pauses or watch()
        self.edges = _edges(self.watch.bounds)

    def collect(self) -> Iterator[Metric]:
        w = self.watch
        pauses = Metric(
            self.PAUSE,
            "Time the garbage collector stopped this process, by generation (2: full)",
            "histogram",
        )
        longest = GaugeMetricFamily(
            "foxden_gc_pause_longest_seconds",
            "Longest garbage-collector pause of this process since it started, by generation",
            labels=["generation"],
        )
        for generation in range(3):
            counts = [float(n) for n in w.counts[generation]]
            _histogram(pauses, {"generation": str(generation)}, self.edges, counts,
                       w.sums[generation])  # fmt: skip
            longest.add_metric([str(generation)], w.longest[generation])
        yield pauses
        yield longest
        yield GaugeMetricFamily(
            "foxden_gc_frozen_objects",
            "Objects of the start-up heap frozen out of the garbage collector's walks",
            value=gc.get_freeze_count(),
        )


class _ChangeReadings(Collector):
    """``foxden_change_readings_total``: readings of the change counters this worker's
    event loop took (several workers on PostgreSQL: each answers every call that arrived
    before it began), so that readings a call can be seen."""

    def __init__(self, taken: Callable[[], int]) -> None:
        self.taken = taken

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "foxden_change_readings",
            "Readings of the change counters taken on this worker's event loop",
            value=self.taken(),
        )


class Metrics:
    def __init__(self, quota: QuotaView, log_calls: bool = True) -> None:
        self.registry = CollectorRegistry()
        self.log_calls = log_calls
        self.calls = _Calls()
        self.registry.register(self.calls)
        self.fleet_step = Histogram(
            "foxden_fleet_step_duration_seconds",
            "Time the fleet took to simulate and store one step",
            buckets=STEP_BUCKETS,
            registry=self.registry,
        )
        self.samples = Counter(
            "foxden_samples_stored",
            "Telemetry samples the fleet stored since the server started",
            registry=self.registry,
        )
        self.registry.register(_Quota(quota))
        self.registry.register(HeapMetrics())

    def observe(self, call: Exchange) -> None:
        """Count an answered Open API call (the event loop's thread only)."""
        self.calls.observe(call.path, call.errno, call.latency_ms / 1000)
        if self.log_calls and access_log.isEnabledFor(logging.INFO):
            access_log.info(
                json.dumps(
                    {
                        "time_ms": call.time_ms,
                        "account": call.account,
                        "method": call.method,
                        "path": call.path,
                        "query": call.query,
                        "status": call.status,
                        "errno": call.errno,
                        "latency_ms": round(call.latency_ms, 3),
                        "chaos": call.chaos,
                        "detail": call.detail,
                    },
                    separators=(",", ":"),
                )
            )

    def count_readings(self, taken: Callable[[], int]) -> None:
        """Report ``taken()`` as ``foxden_change_readings_total``."""
        self.registry.register(_ChangeReadings(taken))

    def step(self, seconds: float, samples: int) -> None:
        self.fleet_step.observe(seconds)
        self.samples.inc(samples)

    def render(self) -> bytes:
        return generate_latest(self.registry)
