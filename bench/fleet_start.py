"""A fleet's start: time and peak memory of building the simulated fleet of ``--inverters``
demo inverters, fresh (every inverter's lifetime counters seeded from typical days) and
again after a restart (every inverter goes on from its newest stored sample, as after a
``foxden serve`` restart or a fleet-lease takeover).

    python bench/fleet_start.py [--inverters 1000] [--postgres URL]

The demo account with ``--inverters`` inverters over its three plants (``seed_demo``) in a
fresh SQLite data dir (or a fresh database on the PostgreSQL server of ``--postgres``,
dropped afterwards). Each case runs in a process of its own, so its peak RSS is its own:

- **fresh**: ``FleetRunner.refresh`` on the store with no telemetry, then one step storing a
  sample of every inverter (untimed);
- **restart**: a new ``FleetRunner.refresh`` on that store.

Printed per case: seconds, the process's peak RSS and its RSS before the fleet was built
(imports and the store). Run it with another tree's ``src`` first on ``PYTHONPATH`` to
measure that tree (docs/scaling.md has both). No target of its own: issue 14 asks that a
fleet of 10,000 inverters starts in bounded memory and that a restart computes no typical
day; exit status 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

DAY_MS = 86_400_000
NOW_MS = 1_780_272_000_000 + 12 * 3_600_000
"""A fixed now (2026-06-01 12:00 UTC): every run builds the same fleet."""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(url: str, case: str) -> None:
    """One case, in this process; prints its figures as JSON."""
    from foxden.sim.clock import SimClock
    from foxden.sim.runner import FleetRunner
    from foxden.store import open_store

    store = open_store(url)
    clock = SimClock(start_ms=NOW_MS, speed=0)
    runner = FleetRunner(store, clock, 0)
    store.all_devices()
    before = rss_mb()
    started = time.perf_counter()
    fleet = runner.refresh(NOW_MS - 300_000)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if case == "fresh":
        runner.run_until(NOW_MS)
    store.close()
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "before_mb": before, "n": len(fleet)}))


@contextlib.contextmanager
def database(postgres: str | None, tmp: Path) -> Iterator[str]:
    if not postgres:
        from foxden.store import url_for

        yield url_for(tmp)
        return
    from foxden.store.postgres import scratch_database

    with scratch_database(postgres, "foxden_bench_start") as url:
        yield url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--inverters", type=int, default=1000)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server to use instead")
    parser.add_argument("--child", nargs=2, metavar=("URL", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    from foxden.demo import seed_demo
    from foxden.store import open_store

    print(f"bench/fleet_start.py: {args.inverters} demo inverters on three plants; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)  # fmt: skip
    with (
        tempfile.TemporaryDirectory(prefix="foxden-bench-start-") as tmp,
        database(args.postgres, Path(tmp)) as url,
    ):
        store = open_store(url)
        seed_demo(store, Path(tmp), NOW_MS - DAY_MS, args.inverters)
        store.close()
        print(f"{'case':<10}{'seconds':>10}{'peak RSS MB':>14}{'RSS before MB':>16}")
        for case in ("fresh", "restart"):
            done = subprocess.run(
                [sys.executable, __file__, "--child", url, case],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(done.stdout.strip().splitlines()[-1])
            assert r["n"] == args.inverters, r
            print(f"{case:<10}{r['seconds']:>10.1f}{r['peak_mb']:>14.0f}"
                  f"{r['before_mb']:>16.0f}", flush=True)  # fmt: skip
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
