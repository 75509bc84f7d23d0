"""The start-up heap frozen out of the collector's walks, and the collector's pauses timed."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.exposition import generate_latest

from foxden.server import heap
from foxden.server.areas.telemetry import _Day
from foxden.server.journal import Exchange, Journal, Query
from foxden.server.metrics import HeapMetrics
from foxden.store import DayChunk


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Whatever a test freezes is given back to the collector afterwards."""
    yield
    gc.unfreeze()


def _exposed() -> str:
    registry = CollectorRegistry()
    registry.register(HeapMetrics())
    return generate_latest(registry).decode()


def _sample(text: str, name: str, generation: int | None = None) -> float:
    labels = "" if generation is None else f'\\{{generation="{generation}"\\}}'
    found = re.search(rf"^{name}{labels} (\S+)$", text, re.M)
    assert found is not None, f"{name} {generation} not in\n{text}"
    return float(found.group(1))


def test_freezing_leaves_full_collections_nothing_of_the_start_up_heap(unfrozen: None) -> None:
    gc.unfreeze()
    kept = [[i] for i in range(1000)]  # tracked objects alive for the whole "run"
    assert len(gc.get_objects()) > len(kept)
    heap.freeze_heap()
    assert gc.get_freeze_count() > len(kept)
    assert not any(o is kept[0] for o in gc.get_objects())  # out of every generation
    made_after = [[i] for i in range(10)]
    walked = gc.get_objects()
    assert any(o is made_after[0] for o in walked)
    assert len(walked) < len(kept)
    before = gc.get_freeze_count()
    exposed = _sample(_exposed(), "foxden_gc_frozen_objects")
    # frozen objects freed meanwhile leave the count (nothing is frozen meanwhile)
    assert gc.get_freeze_count() <= exposed <= before


def test_the_watch_is_installed_once_per_process() -> None:
    first = heap.watch()
    assert heap.watch() is first
    assert sum(1 for c in gc.callbacks if c is first) == 1
    HeapMetrics()
    assert sum(1 for c in gc.callbacks if isinstance(c, heap.PauseWatch)) == 1


def test_every_collection_is_timed_in_its_generation() -> None:
    before = _exposed()
    full = _sample(before, "foxden_gc_pause_seconds_count", 2)
    spent = _sample(before, "foxden_gc_pause_seconds_sum", 2)
    gc.collect(2)
    gc.collect(2)
    after = _exposed()
    assert _sample(after, "foxden_gc_pause_seconds_count", 2) == full + 2
    assert _sample(after, "foxden_gc_pause_seconds_sum", 2) > spent
    assert _sample(after, "foxden_gc_pause_longest_seconds", 2) > 0
    inf = re.search(
        r'^foxden_gc_pause_seconds_bucket\{generation="2",le="\+Inf"\} (\S+)$', after, re.M
    )
    assert inf is not None and float(inf.group(1)) == full + 2


def test_a_pause_falls_in_the_first_bucket_that_holds_it() -> None:
    ticks = iter([10.0, 10.003, 20.0, 20.0000001, 30.0, 32.0])
    w = heap.PauseWatch(lambda: next(ticks))
    for generation in (1, 0, 2):
        w("start", {"generation": generation})
        w("stop", {"generation": generation})
    bounds = list(heap.PAUSE_BUCKETS)
    assert w.counts[1][bounds.index(0.005)] == 1  # 3 ms
    assert w.counts[0][0] == 1  # 0.1 us
    assert w.counts[2][-1] == 1  # 2 s: past every bound
    assert w.longest == pytest.approx([1e-7, 0.003, 2.0])
    assert w.sums == pytest.approx([1e-7, 0.003, 2.0])


def test_the_pauses_read_as_prometheus_clients_own_histogram() -> None:
    pauses = [(0, 0.00002), (0, 0.0004), (1, 0.003), (2, 0.07), (2, 3.0), (0, 0.0001)]
    ticks = iter(t for _, seconds in pauses for t in (100.0, 100.0 + seconds))
    w = heap.PauseWatch(lambda: next(ticks))
    theirs = CollectorRegistry()
    histogram = Histogram(
        HeapMetrics.PAUSE,
        "Time the garbage collector stopped this process, by generation (2: full)",
        ["generation"],
        buckets=heap.PAUSE_BUCKETS,
        registry=theirs,
    )
    for generation in range(3):
        histogram.labels(str(generation))
    for generation, seconds in pauses:
        w("start", {"generation": generation})
        w("stop", {"generation": generation})
        histogram.labels(str(generation)).observe(100.0 + seconds - 100.0)
    ours = CollectorRegistry()
    ours.register(HeapMetrics(w))

    def pause_lines(registry: CollectorRegistry) -> list[str]:
        text = generate_latest(registry).decode()
        return [
            line
            for line in text.splitlines()
            if line.startswith(HeapMetrics.PAUSE) and "_created" not in line
        ]

    assert pause_lines(ours) == pause_lines(theirs)
    assert len(pause_lines(ours)) == 3 * (len(heap.PAUSE_BUCKETS) + 3)


def test_what_requests_keep_for_long_is_never_walked_by_the_collector() -> None:
    journal = Journal(size=3)
    for i in range(5):
        journal.record(Exchange(i, "GET", "/op/v0/x", "sn=A", 0.0, body=b"{}", msg="ok"))
    assert [row["id"] for row in journal.query(Query())] == [3, 4, 5]
    assert not any(gc.is_tracked(e) for e in journal._ring)

    times = np.array([1_700_000_000_000 + 300_000 * i for i in range(4)], dtype=np.int64)
    values = np.array([[1.0, 2.0], [np.nan, 3.0], [4.0, 5.0], [6.0, np.nan]])
    chunk = DayChunk(int(times[0]) // 86_400_000, ("pvPower", "SoC"), (4, b"t", b"v"),
                     lambda: (times, values))  # fmt: skip
    day = _Day(chunk, ZoneInfo("Europe/London"))
    items = day.items("pvPower", 0, 4)
    assert items is not None and bytes(items).count(b'"value":') == 3
    assert list(day.counts["pvPower"]) == [0, 1, 1, 2, 3]
    assert day.starts["pvPower"][0] == 0 and len(day.starts["pvPower"]) == 4
    for kept in (day.starts["pvPower"], day.counts["pvPower"]):  # no int object to visit
        assert not any(isinstance(r, int) for r in gc.get_referents(kept))
