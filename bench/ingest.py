"""Live ingest: samples/s into empty and full days, before (re-pack) and after (tail), and the
worst wait of a reader meanwhile.

    python bench/ingest.py [--devices 500] [--slots 6] [--postgres URL]

A live fleet sends one sample of every device every five minutes. The store is fed exactly
that: ``--slots`` calls of ``store.ingest``, each holding one sample of each of ``--devices``
H3-10.0-E inverters (100 variables a sample, bench/telemetry_data.py), first into an empty
UTC day (slots 0..), then, after the rest of the day was written in one untimed call, into
the same day when it is full (the last slots of the day).

Each case runs twice in the same process on fresh stores, so the ratio is a ratio of the same
run on the same machine:

- **re-pack**: the store as it was before the tail (``tail_max = 0``: every append decodes
  and re-packs the device's whole day; ``INGEST_PART`` unbounded: one transaction a call);
- **tail**: the store as shipped (appends go to the day's tail in short transactions; on
  PostgreSQL, whose reads here have connections of their own and wait for no part, in
  parts of at least ``APART_PART_MIN`` samples: a live call is one transaction).

While each timed ingest runs, a reader thread on the same store (as the server's requests
share it with the fleet thread; on PostgreSQL on the read connections ``foxden serve`` gives
its read threads, ``db_readers``) calls ``history`` of one device over the day and ``latest``
of ten devices in a loop; the bench prints the worst and the 99th percentile of its waits,
and (``alone``) the median of the same read with no ingest running, just before: what a
read itself costs, so that the rest of a wait is the wait.
After the full-day case it packs the tail (``merge_tail``) and checks that the day reads the
same before and after.

Target (issue 14): the tail ingests >= 5,000 samples/s into full days. The exit status is 0
when it does and the day read the same after packing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from telemetry_data import DAY_MS, MODEL, PER_DAY, Fleet

from foxden import accounts
from foxden.config import Settings
from foxden.store import DeviceSamples, Plant, Store, open_store, url_for

START = datetime(2025, 6, 2, tzinfo=UTC)
TARGET = 5_000.0
BLOCKED_TARGET_MS = 5.0
"""'A few milliseconds': the longest a read may wait for the store behind the ingest."""


def say(text: str = "") -> None:
    print(text, flush=True)


@dataclass
class Case:
    rate: float
    """samples/s of the timed calls"""
    calls_ms: list[float]
    reads_ms: list[float]
    blocked_ms: list[float]
    """of each read, the time it waited for the store (held by an ingest part)"""
    alone_ms: list[float]
    """the same reads with no ingest running, just before: what a read itself costs"""


class Reader(threading.Thread):
    """Reads like an API client while the ingest runs; records each read's wall time."""

    def __init__(self, store: Store, sns: list[str], day_ms: int) -> None:
        super().__init__(daemon=True)
        self.store, self.sns, self.day_ms = store, sns, day_ms
        self.waits: list[float] = []
        self.blocked: list[float] = []
        self.stop = threading.Event()

    def read(self, k: int) -> float:
        """One read (ms): a device's day, then the newest samples of ten devices."""
        t0 = time.perf_counter()
        with self.store.request_view():  # as the server reads for one API call
            self.store.history(self.sns[k % len(self.sns)], self.day_ms, self.day_ms + DAY_MS - 1)
            self.store.latest(self.sns[:10])
        return (time.perf_counter() - t0) * 1000

    def run(self) -> None:
        k = 0
        waited = getattr(self.store, "lock_waited_s", lambda: 0.0)
        while not self.stop.is_set():
            before = waited()
            self.waits.append(self.read(k))
            self.blocked.append((waited() - before) * 1000)
            k += 1
            time.sleep(0.002)  # a client's think time: the ingest gets the CPU too


def open_fleet(url: str, devices: int) -> tuple[Store, list[str]]:
    store = open_store(url)
    open_readers = getattr(store, "open_readers", None)
    if open_readers is not None:  # PostgreSQL: reads on connections of their own, as served
        open_readers(Settings().db_readers)
    now = int(time.time() * 1000)
    account, _ = accounts.create_account(store, "bench", now)
    store.insert_plant(
        Plant("benchplant1", account.id, "Bench", 1, "GB", "London", "1 Road", "N1", "UTC", now)
    )
    sns = [f"BENCH{i:06d}" for i in range(devices)]
    for sn in sns:
        accounts.add_device(store, "bench", sn, MODEL, now)
        store.bind_device(sn, "benchplant1")
    return store, sns


def slots(day: list[DeviceSamples], a: int, b: int) -> list[DeviceSamples]:
    return [DeviceSamples(x.sn, x.variables, x.times_ms[a:b], x.values[a:b]) for x in day]


def timed(store: Store, day: list[DeviceSamples], first: int, count: int, sns: list[str]) -> Case:
    day_ms = int(day[0].times_ms[0]) // DAY_MS * DAY_MS
    reader = Reader(store, sns, day_ms)
    alone = [reader.read(k) for k in range(20)]
    reader.start()
    calls = []
    try:
        for i in range(first, first + count):
            batch = slots(day, i, i + 1)
            t0 = time.perf_counter()
            store.ingest(batch)
            calls.append(time.perf_counter() - t0)
    finally:
        reader.stop.set()
        reader.join()
    samples = count * len(day)
    calls_ms = [c * 1000 for c in calls]
    return Case(samples / sum(calls), calls_ms, reader.waits, reader.blocked, alone)


def run_mode(url: str, devices: int, count: int, tail: bool) -> tuple[Case, Case, bool]:
    store, sns = open_fleet(url, devices)
    try:
        if not tail:
            store.tail_max = 0  # type: ignore[attr-defined]
            store.INGEST_PART = 10**12  # type: ignore[attr-defined]
            store.pack_run = 1  # type: ignore[attr-defined]
            if hasattr(store, "APART_PART_S"):  # PostgreSQL's parts with read connections
                store.APART_PART_S = store.PART_S  # type: ignore[attr-defined]
                store.APART_PART_MIN = store.PART_MIN  # type: ignore[attr-defined]
                store.APART_INGEST_PART = store.INGEST_PART  # type: ignore[attr-defined]
        fleet = Fleet(sns, round(START.timestamp() * 1000))
        day = fleet.day()
        empty = timed(store, day, 0, count, sns)
        store.ingest(slots(day, count, PER_DAY - count))
        full = timed(store, day, PER_DAY - count, count, sns)
        day_ms = int(day[0].times_ms[0]) // DAY_MS * DAY_MS
        before = [store.history(sn, day_ms, day_ms + DAY_MS - 1) for sn in sns[:20]]
        store.merge_tail(day_ms + DAY_MS)
        after = [store.history(sn, day_ms, day_ms + DAY_MS - 1) for sn in sns[:20]]
        same = all(
            a.variables == b.variables
            and np.array_equal(a.times_ms, b.times_ms)
            and np.array_equal(a.values, b.values, equal_nan=True)
            and len(a.times_ms) == PER_DAY
            for a, b in zip(before, after, strict=True)
        )
        return empty, full, same
    finally:
        store.close()


def p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[98]


@contextlib.contextmanager
def database(kind: str, tmp: Path, postgres: str | None, name: str) -> Iterator[str]:
    if kind == "sqlite":
        yield url_for(tmp / name)
        return
    from foxden.store.postgres import scratch_database

    assert postgres is not None
    with scratch_database(postgres, f"foxden_bench_ingest_{name}") as url:
        yield url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--slots", type=int, default=6, help="timed calls in each case")
    parser.add_argument(
        "--postgres",
        default=None,
        help="also run on a fresh database made on this PostgreSQL server (dropped after)",
    )
    args = parser.parse_args(argv)
    if args.devices < 10 or not 1 <= args.slots <= PER_DAY // 3:
        parser.error(f"need --devices >= 10 and 1 <= --slots <= {PER_DAY // 3}")
    say(
        f"bench/ingest.py: {args.devices} devices x 100 variables, {args.slots} live calls "
        "(one sample of every device each) per case"
    )
    say(
        f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
    tmp = Path(tempfile.mkdtemp(prefix="foxden-bench-ingest-"))
    ok = True
    try:
        for kind in backends:
            results = {}
            for mode in ("re-pack", "tail"):
                with database(kind, tmp, args.postgres, mode.replace("-", "")) as url:
                    results[mode] = run_mode(url, args.devices, args.slots, mode == "tail")
            say()
            say(f"{kind}:")
            say(
                f"  {'store':<9}{'day':<7}{'samples/s':>11}{'call ms':>9}"
                f"{'read worst ms':>15}{'read p99 ms':>13}{'blocked worst ms':>18}"
                f"{'reads':>7}{'alone ms':>10}"
            )
            for mode, (empty, full, _) in results.items():
                for label, case in (("empty", empty), ("full", full)):
                    say(
                        f"  {mode:<9}{label:<7}{case.rate:>11,.0f}"
                        f"{statistics.median(case.calls_ms):>9.1f}"
                        f"{max(case.reads_ms, default=float('nan')):>15.1f}"
                        f"{p99(case.reads_ms):>13.1f}"
                        f"{max(case.blocked_ms, default=float('nan')):>18.1f}"
                        f"{len(case.reads_ms):>7}"
                        f"{statistics.median(case.alone_ms):>10.1f}"
                    )
            (e0, f0, _), (e1, f1, same) = results["re-pack"], results["tail"]
            say(
                f"  tail / re-pack: empty day {e1.rate / e0.rate:.1f}x, "
                f"full day {f1.rate / f0.rate:.1f}x; worst read during the full-day ingest "
                f"{max(f1.reads_ms, default=0):.1f} ms vs "
                f"{max(f0.reads_ms, default=0):.1f} ms"
            )
            held = f1.rate >= TARGET
            say(
                f"  tail into full days {f1.rate:,.0f} samples/s (target >= {TARGET:,.0f}): "
                f"{'PASS' if held else 'FAIL'}; the day read the same after packing: {same}"
            )
            blocked = max(e1.blocked_ms + f1.blocked_ms, default=0.0)
            brief = blocked <= BLOCKED_TARGET_MS
            say(
                f"  a read blocked by the tail's ingest at most {blocked:.1f} ms (waiting for "
                f"the store; target <= {BLOCKED_TARGET_MS:g}): {'PASS' if brief else 'FAIL'}"
            )
            ok = ok and held and same and brief
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
