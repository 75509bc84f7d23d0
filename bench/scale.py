"""foxden on several workers, PostgreSQL and Redis, with a large fleet live, over loopback.

    python bench/scale.py [--inverters 10000] [--days 1] [--duration 10] [--warmup 2]
                          [--connections 50] [--rounds 3] [--postgres URL] [--redis URL]

Set-up: a fresh PostgreSQL database (on the server of ``--postgres`` or
``FOXDEN_TEST_POSTGRES_URL``, dropped afterwards) with the demo account holding
``--inverters`` inverters over its three plants and ``--days`` of 5-minute history
(``FleetRunner.backfill``), then vacuumed and analysed (so the runs do not meet
autovacuum's first pass over the rows just written); a Redis (``--redis``, else a
redis-server of the bench's own on a free loopback port, stopped afterwards). Servers are
started through ``bench/launcher.py workers``, which runs ``foxden serve``'s supervisor
and workers (role api) on the bound socket, with every limit off (load test) and limits
counted in Redis. The fleet is live at speed 1 (every inverter gets a sample each 5
minutes) in one process of its own (``foxden serve --role fleet``), started once and
running beside every PostgreSQL server measured, 1 worker or 2, so both serve the same box
with the same live fleet.

Runs, each a wrk run of ``--duration`` seconds after ``--warmup`` seconds:

1. the authenticated call (getAccessCount, the auth bench's call) at ``--connections``
   connections with 1 worker, then with 2: the ratio of 2 workers to 1, each run's CPU by
   group and the change-counter readings a call (``foxden_change_readings_total``);
2. with 2 workers, ``--connections`` clients split over three wrk processes at once:
   real-time (real/query, all variables), history (24 h, five variables) and report (month,
   every counter), each rotating over 100 inverters: throughput and p50/p99 per endpoint;
3. the authenticated call with 1 worker on SQLite (the same account and inverters, no
   history, no live fleet: the fleet process is stopped, SIGSTOP, during this run) against
   PostgreSQL's.

The authenticated call's three servers are measured ``--rounds`` times in turn (1, 2
workers, SQLite; each started afresh), the mixed load once, on the last round's 2 workers:
the machine's speed drifts from minute to minute (the CPU a call of one run moved by 1.8x
between two runs of one day), so each ratio is taken within a round and the median of the
rounds is judged.

Then the memory (RSS) of each worker and of the supervisor, and the database size per
inverter-day (growth of the database during the backfill over inverters x days).

Targets (issue 14): 2 workers >= 1.6x one for the authenticated call; p99 < 50 ms for every
endpoint of the mixed load; PostgreSQL's authenticated call within 1.5x SQLite's (req/s of
SQLite <= 1.5x PostgreSQL's). Exit status 0 when all are met and no request failed, 1
otherwise, 2 when wrk is missing. Needs the machine to itself for figures: the CPU use
before the runs is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from auth_throughput import (
    HUGE,
    INSTALL_WRK,
    PATH,
    Server,
    WrkResult,
    cpu_busy,
    get,
    pick_implementations,
    rss_mb,
    run_wrk,
    stop_process,
)
from handlers import cpu_seconds, fresh_postgres

from foxden.clock import RealClock
from foxden.demo import DEMO_PLANTS, seed_demo
from foxden.protocol import signing, telemetry, timefmt
from foxden.store import open_store, url_for

RATIO_TARGET = 1.6
P99_TARGET_MS = 50.0
POSTGRES_TARGET = 1.5
DAY_MS = 86_400_000
HISTORY_VARIABLES = ["pvPower", "loadsPower", "gridConsumptionPower", "feedinPower", "SoC"]
ROTATE = 100
"""Inverters each endpoint's requests rotate over."""
SPLIT = {"real-time": 0.4, "history": 0.3, "report": 0.3}
"""Share of the connections of each endpoint in the mixed load."""


def signed(key: str, path: str) -> dict[str, str]:
    return signing.headers(path, key, RealClock().now_ms(), "en")


@contextlib.contextmanager
def redis_server(url: str | None, work: Path) -> Iterator[str]:
    """``url``, or a redis-server of the bench's own on a free loopback port."""
    if url:
        yield url
        return
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("no redis-server: apt-get install -y redis-server, or give --redis")
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(work), "--save", ""],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    own = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(own).ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield own
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def seed(url: str, data_dir: Path, inverters: int, days: float) -> tuple[str, list[str], str]:
    """The demo account with ``inverters`` inverters and ``days`` of history; (key, serials,
    the first plant's zone)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from foxden.sim.clock import SimClock
    from foxden.sim.runner import FleetRunner

    store = open_store(url)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, transient=True, disable=not sys.stdout.isatty()) as bar:
            bar.add_task(f"the demo account's {inverters} inverters", total=None)
            key = seed_demo(store, data_dir, RealClock().now_ms(), inverters)
        assert key is not None
        if days > 0:
            runner = FleetRunner(store, SimClock(speed=0.0), 0)
            with Progress(*columns, transient=True, disable=not sys.stdout.isatty()) as bar:
                # the fleet's start (typical days of every inverter), then each day in parts
                task = bar.add_task(f"{days:g} days of history", total=None)
                now = runner.clock.now_ms()
                days_in_run = now // DAY_MS - (now - int(days * DAY_MS)) // DAY_MS + 1
                day = [0]

                def on_part(done: int, parts: int) -> None:
                    bar.update(task, completed=day[0] * parts + done, total=days_in_run * parts)

                def on_day(done: int, days_in_all: int) -> None:
                    day[0] = done

                runner.on_part = on_part
                runner.backfill(days, progress=on_day)
        serials = [d.sn for d, _ in store.all_devices()]
    finally:
        store.close()
    return key, serials, DEMO_PLANTS[0].timezone


def database_bytes(url: str) -> int:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute("SELECT pg_database_size(current_database())").fetchone()
    assert row is not None
    return int(row[0])


def settle(url: str) -> float:
    """``VACUUM (ANALYZE)`` the freshly seeded PostgreSQL database, as one would after a bulk
    load, so the runs measure it settled rather than beside autovacuum's first pass over the
    rows just written (it starts within a minute of a load and takes a CPU while it runs);
    seconds taken."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - started


def server_env(
    data_dir: Path, database_url: str, redis_url: str, workers: int, role: str = "all"
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOXDEN_")}
    here = str(Path(__file__).resolve().parent)
    env.update(
        PYTHONPATH=os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p),
        FOXDEN_DATA_DIR=str(data_dir),
        FOXDEN_DATABASE_URL=database_url,
        FOXDEN_REDIS_URL=redis_url,
        FOXDEN_WORKERS=str(workers),
        FOXDEN_ROLE=role,
        FOXDEN_BACKFILL_DAYS="0",
        FOXDEN_LIMIT_PROFILE="off",
        FOXDEN_DAILY_QUOTA_PER_DEVICE=str(HUGE),
        FOXDEN_TIMESTAMP_WINDOW_S="86400",
        FOXDEN_ACCESS_LOG="false",
        FOXDEN_LOG_LEVEL="info",  # the fleet process says when it caught up
        PYTHONUNBUFFERED="1",
    )
    return env


def worker_pids(pid: int) -> list[int]:
    """The supervisor's children: its API workers and its fleet process."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def wait_fleet_live(log: Callable[[], str], timeout_s: float = 900) -> float:
    """Wait until the fleet process took the lease and caught the seeded fleet up to the
    clock (its log, read through ``log``, says so); the seconds that took, as it says."""
    started = time.monotonic()
    while True:
        text = log()
        found = re.search(r"caught the fleet up to its clock: \d+ samples in ([\d.]+) s", text)
        if found:
            return float(found.group(1))
        if time.monotonic() - started > timeout_s:
            raise RuntimeError(f"the fleet did not catch up in {timeout_s:.0f} s:\n{text}")
        time.sleep(0.5)


@contextlib.contextmanager
def fleet_process(work: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """``foxden serve`` on ``env`` (role fleet: ``server_env(..., role="fleet")``), once it
    took the fleet lease and caught the fleet up to the clock; stopped (SIGTERM, then
    SIGKILL) after."""
    log_file = work / "fleet.log"
    with log_file.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "foxden", "serve"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
        )
        try:

            def text() -> str:
                if proc.poll() is not None:
                    raise RuntimeError(f"the fleet process ended:\n{log_file.read_text()}")
                return log_file.read_text("utf-8", errors="replace")

            caught_up_s = wait_fleet_live(text)
            print(f"the live fleet (process {proc.pid}) caught up to the clock in "
                  f"{caught_up_s:.1f} s")  # fmt: skip
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)  # in case it was paused
            stop_process(proc)


@contextlib.contextmanager
def paused(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    """``proc`` stopped (SIGSTOP) while the block runs, then continued."""
    proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGCONT)


def live_step_seconds(url: str, ticks: int = 30) -> tuple[float, float, float]:
    """The live fleet on the seeded database, in this process once the servers are gone:
    (seconds to build the fleet and catch up to now; the mean seconds of a tick, which the
    fleet process makes every second, each stepping the inverters whose 5-minute sample
    fell due in it; seconds to step all the inverters through 5 minutes at once). The
    steps write samples ahead of the real clock: the database is dropped after."""
    from foxden.sim.clock import SimClock
    from foxden.sim.engine import STEP_MS
    from foxden.sim.runner import FleetRunner

    store = open_store(url)
    try:
        clock = SimClock(speed=0.0)
        runner = FleetRunner(store, clock, 0)
        started = time.perf_counter()
        runner.run_until(clock.now_ms())
        first = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(ticks):
            clock.set(clock.now_ms() + 1000)
            runner.run_until(clock.now_ms())
        tick = (time.perf_counter() - started) / ticks
        clock.set(clock.now_ms() + STEP_MS)
        started = time.perf_counter()
        runner.run_until(clock.now_ms())
        whole = time.perf_counter() - started
    finally:
        store.close()
    return first, tick, whole


@contextlib.contextmanager
def serving(
    work: Path, tag: str, env: dict[str, str], key: str, loop: str, http: str, workers: int
) -> Iterator[Server]:
    server = Server("workers", work, loop, http, env, tag=tag)
    try:
        server.wait_ready(signed(key, PATH), timeout=120)
        deadline = time.monotonic() + 60
        while len(worker_pids(server.proc.pid)) < workers and workers > 1:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{workers} workers did not start:\n{server.log()}")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


def lua_rotation(work: Path, name: str, bodies: list[bytes]) -> Path:
    """A wrk script POSTing the bodies in turn."""
    quoted = ",\n".join("'" + b.decode().replace("\\", "\\\\").replace("'", "\\'") + "'"
                        for b in bodies)  # fmt: skip
    path = work / f"{name}.lua"
    path.write_text(
        "wrk.method = 'POST'\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
        f"local bodies = {{\n{quoted}\n}}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #bodies + 1\n"
        "  return wrk.format(nil, nil, nil, bodies[i])\n"
        "end\n",
        "utf-8",
    )
    return path


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    path: str
    bodies: list[bytes]


def endpoints(serials: list[str], now_ms: int, zone: str) -> list[Endpoint]:
    step = max(1, len(serials) // ROTATE)
    chosen = serials[::step][:ROTATE]
    local = datetime.fromtimestamp(now_ms / 1000, timefmt.zone(zone))

    def bodies(make: object) -> list[bytes]:
        return [json.dumps(make(sn)).encode() for sn in chosen]  # type: ignore[operator]

    return [
        Endpoint(
            "real-time",
            "/op/v0/device/real/query",
            bodies(lambda sn: {"sn": sn, "variables": []}),
        ),
        Endpoint(
            "history",
            "/op/v0/device/history/query",
            bodies(
                lambda sn: {
                    "sn": sn,
                    "variables": HISTORY_VARIABLES,
                    "begin": now_ms - DAY_MS,
                    "end": now_ms,
                }
            ),
        ),
        Endpoint(
            "report",
            "/op/v0/device/report/query",
            bodies(
                lambda sn: {
                    "sn": sn,
                    "year": local.year,
                    "month": local.month,
                    "dimension": "month",
                    "variables": list(telemetry.COUNTERS),
                }
            ),
        ),
    ]


def check_answers(port: int, key: str, calls: list[Endpoint]) -> None:
    """Every endpoint answers errno 0 before it is measured (never an error path)."""
    status, body = get(port, signed(key, PATH))
    answer = json.loads(body)
    if status != 200 or answer.get("errno") != 0:
        raise RuntimeError(f"getAccessCount answered {status}: {body[:300]!r}")
    for call in calls:
        status, body = get(port, signed(key, call.path), call.path, "POST", call.bodies[0])
        answer = json.loads(body)
        if status != 200 or answer.get("errno") != 0:
            raise RuntimeError(f"{call.name} answered {status}: {body[:300]!r}")


CPU_GROUPS = ("foxden", "redis", "postgres", "wrk")
"""Where a run's CPU time goes: foxden's processes (supervisor, workers, fleet), every
redis-server and postgres process on the machine, and the load generator."""


def named_pids(name: str) -> list[int]:
    """The processes whose command name is ``name``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text("ascii").strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def cpu_by_group(server: Server, fleet: int | None = None) -> dict[str, float]:
    """CPU seconds used so far by foxden's processes (the server's, and the fleet process
    ``fleet``), Redis's and PostgreSQL's, and this process's finished children (the wrk
    runs)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "foxden": cpu_seconds(server.proc.pid) + (cpu_seconds(fleet) if fleet else 0.0),
        "redis": sum(cpu_seconds(p) for p in named_pids("redis-server")),
        "postgres": sum(cpu_seconds(p) for p in named_pids("postgres")),
        "wrk": children.ru_utime + children.ru_stime,
    }


READINGS = re.compile(rb"^foxden_change_readings_total (\S+)$", re.M)


def change_readings(port: int, workers: int) -> float | None:
    """The change-counter readings every worker has taken so far (``/metrics``, asked on a
    new connection until each worker has answered: the kernel picks the worker); None when
    the server reports none (SQLite, or one process without several workers)."""
    seen: dict[str, float] = {}
    for _ in range(200):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", "/metrics")
            response = conn.getresponse()
            body, worker = response.read(), response.getheader("x-foxden-worker", "")
        finally:
            conn.close()
        found = READINGS.search(body)
        if found is None:
            return None
        seen[worker] = float(found.group(1))
        if len(seen) >= workers:
            return sum(seen.values())
    raise RuntimeError(f"only {len(seen)} of {workers} workers answered /metrics")


@dataclass(frozen=True, slots=True)
class AuthRun:
    result: WrkResult
    cpu: dict[str, float]
    """Each group's share of one CPU during the measured run (1.0: a whole CPU)."""
    readings: float | None = None
    """Change-counter readings a call during the measured run (None: not reported)."""


def auth_run(
    server: Server,
    key: str,
    args: argparse.Namespace,
    fleet: int | None = None,
    workers: int = 1,
) -> AuthRun:
    headers = signed(key, PATH)
    url = server.url_of(PATH)
    if args.warmup:
        run_wrk(url, headers, args.warmup, args.connections, 1)
    taken = change_readings(server.port, workers)
    before, started = cpu_by_group(server, fleet), time.monotonic()
    result = run_wrk(url, headers, args.duration, args.connections, 1)
    after, elapsed = cpu_by_group(server, fleet), time.monotonic() - started
    now_taken = change_readings(server.port, workers)
    readings = (
        (now_taken - taken) / max(result.requests, 1)
        if taken is not None and now_taken is not None
        else None
    )
    return AuthRun(result, {g: (after[g] - before[g]) / elapsed for g in CPU_GROUPS}, readings)


def statements_run(url: str) -> int:
    """Transactions committed on the database so far (``pg_stat_database``): in autocommit
    every statement a worker sends outside a transaction is one."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def mixed_run(
    server: Server,
    key: str,
    calls: list[Endpoint],
    work: Path,
    args: argparse.Namespace,
    statements: Callable[[], int] | None = None,
) -> tuple[dict[str, WrkResult], int]:
    """The three endpoints' wrk processes at once; each one's figures, and how far
    ``statements()`` moved during the measured run (0 without it)."""
    scripts = {c.name: lua_rotation(work, c.name, c.bodies) for c in calls}
    shares = {c.name: max(1, round(args.connections * SPLIT[c.name])) for c in calls}
    results: dict[str, WrkResult] = {}
    errors: list[BaseException] = []

    def one(call: Endpoint, seconds: int) -> None:
        try:
            results[call.name] = run_wrk(
                server.url_of(call.path),
                signed(key, call.path),
                seconds,
                shares[call.name],
                1,
                scripts[call.name],
            )
        except BaseException as exc:
            errors.append(exc)

    moved = 0
    for seconds in ([args.warmup] if args.warmup else []) + [args.duration]:
        before = statements() if statements is not None else 0
        threads = [threading.Thread(target=one, args=(c, seconds)) for c in calls]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        moved = statements() - before if statements is not None else 0
    return results, moved


def failed(result: WrkResult) -> int:
    return result.non_2xx + result.socket_errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inverters", type=int, default=10_000)
    parser.add_argument("--days", type=float, default=1.0, help="days of history to seed")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds before each run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of the authenticated call's three servers"
    )
    parser.add_argument("--postgres", default=os.environ.get("FOXDEN_TEST_POSTGRES_URL", ""))
    parser.add_argument("--redis", default=os.environ.get("FOXDEN_TEST_REDIS_URL", ""))
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if shutil.which("wrk") is None:
        print(f"wrk is missing; install it with: {INSTALL_WRK}", file=sys.stderr)
        return 2
    if not args.postgres:
        parser.error("give --postgres URL (or set FOXDEN_TEST_POSTGRES_URL)")
    loop, http = pick_implementations(None, None)
    with (
        tempfile.TemporaryDirectory(prefix="foxden-scale-") as tmp,
        fresh_postgres(args.postgres) as pg_url,
    ):
        work = Path(tmp)
        with redis_server(args.redis, work) as redis_url:
            return run(args, work, pg_url, redis_url, loop, http)


def run(
    args: argparse.Namespace, work: Path, pg_url: str, redis_url: str, loop: str, http: str
) -> int:
    print(f"{args.inverters} inverters, {args.days:g} days of history; {loop} + {http}; "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    pg_dir = work / "pg"
    pg_dir.mkdir()
    open_store(pg_url).close()  # the schema, so the growth below is the data
    empty = database_bytes(pg_url)
    started = time.perf_counter()
    key, serials, zone = seed(pg_url, pg_dir, args.inverters, args.days)
    seeded_s = time.perf_counter() - started
    grown = database_bytes(pg_url) - empty
    inverter_days = args.inverters * max(args.days, 1e-9)
    print(f"seeded PostgreSQL in {seeded_s:.1f} s; {grown / inverter_days / 1024:.1f} KiB "
          f"per inverter-day ({grown / 2**20:.1f} MiB)")  # fmt: skip
    print(f"vacuumed and analysed it in {settle(pg_url):.1f} s")
    sqlite_dir = work / "sqlite"
    sqlite_dir.mkdir()
    sqlite_url = url_for(sqlite_dir)
    sqlite_key, _, _ = seed(sqlite_url, sqlite_dir, args.inverters, 0)
    calls = endpoints(serials, RealClock().now_ms(), zone)
    busy = cpu_busy()
    print(f"CPU in use before the runs: {busy:.0%}" if busy is not None else "CPU use unknown")

    auth: list[dict[str, AuthRun]] = []
    memory: list[float] = []
    supervisor_mb = 0.0
    fleet_mb = 0.0
    mixed: dict[str, WrkResult] = {}
    statements = 0
    with fleet_process(work, server_env(pg_dir, pg_url, redis_url, 1, "fleet")) as fleet:
        for round_ in range(1, args.rounds + 1):
            # each round measures the three servers in turn, so a ratio is taken within a
            # round (the machine's speed drifts between minutes): the median is judged
            runs: dict[str, AuthRun] = {}
            for workers in (1, 2):
                # both serve beside the one live fleet process, as on several machines
                env = server_env(pg_dir, pg_url, redis_url, workers, "api")
                with serving(
                    work, f"pg{workers}-{round_}", env, key, loop, http, workers
                ) as server:
                    check_answers(server.port, key, calls)
                    name = f"postgresql, {workers} worker{'s' if workers > 1 else ''}"
                    runs[name] = auth_run(server, key, args, fleet.pid, workers)
                    if workers == 2 and round_ == args.rounds:
                        mixed, statements = mixed_run(
                            server, key, calls, work, args, lambda: statements_run(pg_url)
                        )
                        memory = [rss_mb(p) for p in worker_pids(server.proc.pid)]
                        fleet_mb = rss_mb(fleet.pid)
                        supervisor_mb = rss_mb(server.proc.pid)
            env = server_env(sqlite_dir, sqlite_url, redis_url, 1, "api")
            with (
                paused(fleet),
                serving(work, f"sqlite1-{round_}", env, sqlite_key, loop, http, 1) as server,
            ):
                runs["sqlite, 1 worker"] = auth_run(server, sqlite_key, args)
            auth.append(runs)
    first_step_s, tick_s, window_s = live_step_seconds(pg_url)

    print(f"\nthe authenticated call (getAccessCount), {args.connections} connections:")
    print(f"{'server':<35}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}"
          f"   CPU % of one: {' / '.join(CPU_GROUPS)} (us a call)   readings a call")  # fmt: skip
    for round_, runs in enumerate(auth, 1):
        for name, run_ in runs.items():
            r = run_.result
            shares = " / ".join(
                f"{run_.cpu[g] * 100:.0f} ({run_.cpu[g] / max(r.rps, 1e-9) * 1e6:.0f})"
                for g in CPU_GROUPS
            )
            label = f"{name}, round {round_}" if len(auth) > 1 else name
            readings = "-" if run_.readings is None else f"{run_.readings:.3f}"
            print(f"{label:<35}{r.rps:>10.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}{failed(r):>8}"
                  f"   {shares}   {readings}")  # fmt: skip
    print(f"\nmixed load, 2 workers on PostgreSQL, {args.connections} clients at once:")
    print(f"{'endpoint':<26}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}")
    for name, r in mixed.items():
        print(f"{name:<26}{r.rps:>10.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}{failed(r):>8}")
    total = sum(r.rps for r in mixed.values())
    print(f"{'all':<26}{total:>10.0f}")
    answered = sum(r.requests for r in mixed.values())
    print(f"database statements a call (the workers' and the live fleet's, over the calls "
          f"answered): {statements / max(answered, 1):.2f}")  # fmt: skip
    print(f"\nmemory: workers {', '.join(f'{m:.0f}' for m in memory)} MB; "
          f"fleet process {fleet_mb:.0f} MB; supervisor {supervisor_mb:.0f} MB")  # fmt: skip
    print(f"live fleet of {len(serials)} inverters, in this process: built and caught up in "
          f"{first_step_s:.1f} s; a tick (every second) {tick_s * 1000:.0f} ms; five minutes "
          f"of every inverter at once {window_s:.1f} s")  # fmt: skip

    def rps(runs: dict[str, AuthRun], name: str) -> float:
        return max(runs[name].result.rps, 1e-9)

    scaling = [rps(r, "postgresql, 2 workers") / rps(r, "postgresql, 1 worker") for r in auth]
    backend = [rps(r, "sqlite, 1 worker") / rps(r, "postgresql, 1 worker") for r in auth]
    two_by_one, lite_by_pg = statistics.median(scaling), statistics.median(backend)
    worst_p99 = max(r.p99_ms for r in mixed.values())

    def rounds(ratios: list[float]) -> str:
        return f" (rounds: {', '.join(f'{x:.2f}' for x in ratios)})" if len(ratios) > 1 else ""

    checks = [
        (f"2 workers / 1 worker, authenticated call: {two_by_one:.2f}{rounds(scaling)}",
         two_by_one >= RATIO_TARGET, f">= {RATIO_TARGET}"),
        (f"worst p99 of the mixed load: {worst_p99:.1f} ms", worst_p99 < P99_TARGET_MS,
         f"< {P99_TARGET_MS:g} ms"),
        (f"SQLite / PostgreSQL, authenticated call: {lite_by_pg:.2f}{rounds(backend)}",
         lite_by_pg <= POSTGRES_TARGET, f"<= {POSTGRES_TARGET}"),
    ]  # fmt: skip
    print()
    for text, held, target in checks:
        print(f"{'met ' if held else 'MISSED'} {text} (target {target})")
    measured = [a.result for runs in auth for a in runs.values()]
    errors = sum(failed(r) for r in [*measured, *mixed.values()])
    if errors:
        print(f"{errors} requests failed")
    return 0 if all(held for _, held, _ in checks) and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
