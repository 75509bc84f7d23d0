"""Telemetry at fleet scale: ingest rate, bytes on disk, and history / report latency over HTTP.

    python bench/telemetry.py [--devices 100] [--days 30] [--requests 200] [--profile]

1. Store. A temporary data dir with one account, one plant (Europe/London) and ``--devices``
   H3-10.0-E inverters bound to it. ``--days`` days of 5-minute samples of 100 variables each
   (the model's 73 plus nine more PV strings; bench/telemetry_data.py says how they are made)
   are generated with numpy first; then only ``store.ingest`` is timed, one call per day of
   the whole fleet. Baseline in the same run: a plain SQLite ``executemany`` of as many rows
   (one small blob each) in as many transactions, with the store's pragmas. Then the bytes
   on disk per sample after a WAL checkpoint, per table from SQLite's dbstat.

2. In-process. The history handler on its own: ``store.history``, the stock handler plus the
   envelope, and the plain struct rendering (history_reference), whose bytes must be identical.

3. HTTP. Separate processes (bench/telemetry_server.py, same uvicorn options): foxden with
   limits raised, the same with the plain reference history handler, and a fixed-body app. One
   keep-alive httpx client per server sends, round-robin so drift hits every kind alike,
   ``--requests`` signed requests (fresh timestamp each) of each kind after a warm-up:
   history of one device over 24 hours (all variables), a year report and a month report
   (all counters), the same history request against the fixed-body app (small body, the
   baseline) and against its ``/big`` path (the history answer's own bytes). Every answer
   must be errno 0; the first of each kind is decoded and checked (variables, points,
   values). Median and p90 in ms, and ratios to the fixed small body.

``--profile`` also runs one more foxden server under cProfile, sends it the history request
``--requests`` times and prints where its time went.

Targets (issue): ingest >= 25,000 samples/s; history, year and month report medians under
10 ms; under 300 bytes a sample on disk. Exit status 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib.metadata
import io
import os
import platform
import pstats
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import msgspec
import numpy as np
from auth_throughput import stop_process
from telemetry_data import DAY_MS, MODEL, PER_DAY, STEP_MS, Fleet

from foxden import accounts
from foxden.clock import RealClock
from foxden.protocol import signing, telemetry
from foxden.protocol import structs as s
from foxden.server import envelope
from foxden.server.areas import telemetry as area
from foxden.server.areas.telemetry import history_reference
from foxden.server.context import Ctx
from foxden.server.limits import QuotaKeeper
from foxden.store import DeviceSamples, Plant, Store, open_store, url_for

HERE = Path(__file__).resolve().parent
SERVER = HERE / "telemetry_server.py"
START = datetime(2025, 3, 10, tzinfo=UTC)  # 30 days from here cross London's clock change
ZONE = "Europe/London"
ACCOUNT = "bench"
PLANT = "benchplant1"
HISTORY = "/op/v0/device/history/query"
REPORT = "/op/v0/device/report/query"
WARMUP = 20
LIVE_SLOTS = 12

INGEST_TARGET = 25_000.0
LATENCY_TARGET_MS = 10.0
BYTES_TARGET = 300.0


def say(text: str = "") -> None:
    print(text, flush=True)


def ms_of(dt: datetime) -> int:
    return round(dt.timestamp() * 1000)


# ------------------------------------------------------------------ 1. store


@dataclass
class Built:
    store: Store
    key: str
    sns: list[str]
    samples: int
    ingest_s: float
    batch_s: list[float]
    generate_s: float
    fleet: Fleet


def build_store(data_dir: Path, devices: int, days: int) -> Built:
    store = open_store(url_for(data_dir))
    now = RealClock().now_ms()
    account, key = accounts.create_account(store, ACCOUNT, now)
    store.insert_plant(
        Plant(PLANT, account.id, "Bench plant", 1, "GB", "London", "1 Bench Road", "N1", ZONE, now)
    )
    sns = [f"BENCH{i:06d}" for i in range(devices)]
    for sn in sns:
        accounts.add_device(store, ACCOUNT, sn, MODEL, now)
        store.bind_device(sn, PLANT)

    fleet = Fleet(sns, ms_of(START))
    t0 = time.perf_counter()
    batches: list[list[DeviceSamples]] = [fleet.day() for _ in range(days)]
    generate_s = time.perf_counter() - t0

    batch_s = []
    written = 0
    for batch in batches:
        t0 = time.perf_counter()
        written += store.ingest(batch)
        batch_s.append(time.perf_counter() - t0)
    return Built(store, key, sns, written, sum(batch_s), batch_s, generate_s, fleet)


def executemany_baseline(path: Path, devices: int, days: int) -> float:
    """Seconds for a plain executemany of devices*days*PER_DAY rows, one transaction a day."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(
        "CREATE TABLE samples (sn TEXT NOT NULL, t INTEGER NOT NULL, data BLOB NOT NULL, "
        "PRIMARY KEY (sn, t)) WITHOUT ROWID"
    )
    blob = bytes(range(16))
    start = ms_of(START)
    sns = [f"BENCH{i:06d}" for i in range(devices)]
    day_rows = [
        [(sn, start + d * DAY_MS + i * STEP_MS, blob) for sn in sns for i in range(PER_DAY)]
        for d in range(days)
    ]
    elapsed = 0.0
    for rows in day_rows:
        t0 = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO samples(sn, t, data) VALUES (?, ?, ?)", rows)
        db.execute("COMMIT")
        elapsed += time.perf_counter() - t0
    db.close()
    return elapsed


def live_ingest(store: Store, fleet: Fleet, slots: int) -> tuple[float, float]:
    """Samples/s of ingest shaped like a live fleet: one call per 5-minute slot holding one
    sample of every device, appended to a day that is (early) nearly empty and (late) nearly
    full, since appending re-packs the device-day. Writes one more day to the store."""
    day = fleet.day()

    def part(a: int, b: int) -> list[DeviceSamples]:
        return [DeviceSamples(x.sn, x.variables, x.times_ms[a:b], x.values[a:b]) for x in day]

    def timed(first: int) -> float:
        took = 0.0
        for i in range(first, first + slots):
            batch = part(i, i + 1)
            t0 = time.perf_counter()
            store.ingest(batch)
            took += time.perf_counter() - t0
        return slots * len(day) / took

    early = timed(0)
    store.ingest(part(slots, PER_DAY - slots))
    late = timed(PER_DAY - slots)
    return early, late


def disk_report(db_path: Path, samples: int, width: int) -> float:
    """Print the size on disk after a checkpoint (and per table); bytes per sample."""
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = db_path.with_name(db_path.name + "-wal")
    size = db_path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    per_sample = size / samples
    say(f"  database on disk      {size:>14,} bytes (.db + -wal after checkpoint)")
    say(f"  per sample            {per_sample:>14.1f} bytes")
    try:
        rows = db.execute(
            "SELECT name, COUNT(*), SUM(pgsize), SUM(payload) FROM dbstat "
            "GROUP BY name ORDER BY SUM(pgsize) DESC"
        ).fetchall()
    except sqlite3.OperationalError:  # dbstat not compiled in
        page = db.execute("PRAGMA page_size").fetchone()[0]
        count = db.execute("PRAGMA page_count").fetchone()[0]
        say(f"  (no dbstat: {count:,} pages of {page} bytes)")
    else:
        say(f"  {'table or index':<36}{'pages':>8}{'bytes':>14}{'per sample':>12}")
        for name, pages, nbytes, _ in rows:
            if nbytes >= 0.001 * size:
                say(f"  {name:<36}{pages:>8,}{nbytes:>14,}{nbytes / samples:>12.1f}")
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        say(f"  (tables under 0.1 % not listed; {free} free pages)")
    n, tb, vb, chunks = db.execute(
        "SELECT SUM(n), SUM(length(times)), SUM(length(data)), COUNT(*) FROM telemetry_chunks"
    ).fetchone()
    say(
        f"  chunk blobs           {chunks:,} device-days: times {tb / n:.1f} + values "
        f"{vb / n:.1f} bytes a sample (compressed from 8 + {4 * width} bytes)"
    )
    db.close()
    return per_sample


# ------------------------------------------------------------------ 2. in-process


def ctx_for(store: Store) -> Ctx:
    """A handler context as the server builds one (by field name, as Ctx has grown fields)."""
    account = store.account_by_name(ACCOUNT)
    assert account is not None
    clock = RealClock()
    known: dict[str, Any] = {
        "store": store,
        "clock": clock,
        "wall": clock,
        "account": account,
        "quota": QuotaKeeper(store, 10**9),
        "lang": "en",
    }
    return Ctx(**{f.name: known[f.name] for f in fields(Ctx) if f.name in known})


def time_ms(fn: Callable[[], object], count: int) -> tuple[float, float]:
    """(median, p90) ms of ``count`` calls after a few warm-up calls."""
    for _ in range(3):
        fn()
    took = []
    for _ in range(count):
        t0 = time.perf_counter_ns()
        fn()
        took.append((time.perf_counter_ns() - t0) / 1e6)
    return statistics.median(took), p90(took)


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[8] if len(values) > 1 else values[0]


def in_process(store: Store, req: s.HistoryQuery, dst_req: s.HistoryQuery | None, n: int) -> bytes:
    """Time the history handler's parts in this process; the stock answer's bytes."""
    ctx = ctx_for(store)
    assert req.begin is not None and req.end is not None
    begin, end = req.begin, req.end
    stock = envelope.body_ok(area.history(ctx, req))
    checks = [req] + ([dst_req] if dst_req else [])
    for r in checks:
        same = envelope.body_ok(area.history(ctx, r)) == envelope.body_ok(history_reference(ctx, r))
        label = "bench window" if r is req else "window across the clock change"
        say(f"  plain reference answer byte-identical to stock ({label}): {same}")
        if not same:
            raise SystemExit("the two renderings differ; the timings mean nothing")
    rows = [
        ("store.history (2 day chunks decoded)", lambda: store.history(req.sn, begin, end)),
        ("stock handler, no encoding", lambda: area.history(ctx, req)),
        ("stock handler + envelope encoding", lambda: envelope.body_ok(area.history(ctx, req))),
        (
            "plain reference handler + envelope",
            lambda: envelope.body_ok(history_reference(ctx, req)),
        ),
    ]
    for label, fn in rows:
        med, high = time_ms(fn, n)
        say(f"  {label:<40}{med:>8.2f} ms median {high:>8.2f} ms p90")
    return stock


def profile_in_process(store: Store, req: s.HistoryQuery, n: int) -> None:
    ctx = ctx_for(store)
    for label, handler in (("stock", area.history), ("plain reference", history_reference)):
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(n):
            envelope.body_ok(handler(ctx, req))
        profiler.disable()
        print_profile(profiler, f"{label} history handler + envelope, in process", n)


def print_profile(profile: cProfile.Profile | str, title: str, calls: int) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(18)
    say(f"  cProfile: {title}: tottime of {calls} calls (divide by {calls} for one)")
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    for line in lines[start:]:
        if line.strip():
            say("    " + line.replace(str(Path(sys.prefix)), "<py>").replace(str(HERE.parent), "."))


# ------------------------------------------------------------------ 3. HTTP


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    url: str


def start_server(name: str, tmp: Path, args: list[str]) -> Proc:
    port_file = tmp / f"{name}.port"
    log = (tmp / f"{name}.log").open("wb")
    popen = subprocess.Popen(
        [sys.executable, str(SERVER), *args, "--port-file", str(port_file)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not port_file.exists():
        if popen.poll() is not None or time.monotonic() > deadline:
            popen.kill()
            text = (tmp / f"{name}.log").read_text("utf-8", "replace")
            raise RuntimeError(f"server {name} did not start:\n{text}")
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port_file.read_text('utf-8').strip()}"
    with httpx.Client(base_url=url, timeout=5) as probe:
        for _ in range(500):
            with contextlib.suppress(httpx.TransportError):
                probe.get("/")
                break
            time.sleep(0.02)
    return Proc(name, popen, url)


def stop_server(proc: Proc) -> None:
    stop_process(proc.popen, killed_timeout_s=5)


@dataclass
class Kind:
    label: str
    client: httpx.Client
    path: str
    sign_path: str
    body: bytes
    took: list[float]
    first: bytes = b""


def send(kind: Kind, key: str) -> bytes:
    headers = signing.headers(kind.sign_path, key, RealClock().now_ms())
    headers["content-type"] = "application/json"
    t0 = time.perf_counter_ns()
    response = kind.client.post(kind.path, content=kind.body, headers=headers)
    took = (time.perf_counter_ns() - t0) / 1e6
    content = response.content
    if response.status_code != 200 or not content.startswith(b'{"errno":0,'):
        raise SystemExit(f"{kind.label}: HTTP {response.status_code} {content[:200]!r}")
    kind.took.append(took)
    return content


def run_kinds(kinds: list[Kind], key: str, count: int) -> None:
    for kind in kinds:
        kind.first = send(kind, key)
        for _ in range(WARMUP - 1):
            send(kind, key)
        kind.took.clear()
    for _ in range(count):
        for kind in kinds:
            send(kind, key)


def check_history(body: bytes, expected_vars: int, label: str) -> tuple[int, int]:
    answer = msgspec.json.decode(body)
    datas = answer["result"][0]["datas"]
    points = [len(v["data"]) for v in datas]
    if len(datas) != expected_vars or min(points) < PER_DAY - 2 or max(points) > PER_DAY + 1:
        raise SystemExit(
            f"{label}: {len(datas)} variables (expected {expected_vars}), "
            f"points per variable {min(points)}..{max(points)} (expected ~{PER_DAY})"
        )
    return len(datas), min(points)


def check_report(body: bytes, buckets: int, label: str) -> float:
    answer = msgspec.json.decode(body)
    result = {v["variable"]: v["values"] for v in answer["result"]}
    if set(result) != set(telemetry.COUNTERS) or any(len(v) != buckets for v in result.values()):
        raise SystemExit(f"{label}: unexpected answer {body[:300]!r}")
    total = float(sum(result["generation"]))
    if total <= 0 or min(min(v) for v in result.values()) < 0:
        raise SystemExit(f"{label}: generation {total} kWh, values {result}")
    return total


# ------------------------------------------------------------------ main


def version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=200, help="timed requests of each kind")
    parser.add_argument("--profile", action="store_true", help="profile the history path")
    parser.add_argument("--keep", type=Path, help="copy the data dir here before cleaning up")
    args = parser.parse_args(argv)
    if args.days < 2 or args.devices < 1 or args.requests < 2:
        parser.error("need --days >= 2, --devices >= 1, --requests >= 2")

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    tmp = Path(tempfile.mkdtemp(prefix="foxden-bench-telemetry-"))
    procs: list[Proc] = []
    try:
        return run(args, tmp, procs)
    finally:
        for proc in procs:
            stop_server(proc)
        if args.keep and (tmp / "data").is_dir():
            shutil.copytree(tmp / "data", args.keep, dirs_exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, tmp: Path, procs: list[Proc]) -> int:
    say(
        f"bench/telemetry.py: {args.devices} devices x {args.days} days of 5-minute samples, "
        f"{args.requests} requests of each kind"
    )
    say(
        f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"numpy {np.__version__}; load average {load()}"
    )
    names = ("uvicorn", "uvloop", "httptools", "starlette", "msgspec", "httpx")
    say("versions: " + ", ".join(f"{n} {version(n)}" for n in names))
    data_dir = tmp / "data"
    width = len(Fleet([], ms_of(START)).variables)

    say()
    say(f"1. store: ingest of {width} variables a sample, then bytes on disk")
    built = build_store(data_dir, args.devices, args.days)
    samples = built.samples
    rate = samples / built.ingest_s
    per_batch = samples / len(built.batch_s)
    say(
        f"  generated             {samples:>14,} samples in {built.generate_s:.2f} s "
        f"({samples / built.generate_s:,.0f} samples/s, numpy; not timed below)"
    )
    say(
        f"  store.ingest          {rate:>14,.0f} samples/s  ({samples:,} samples in "
        f"{built.ingest_s:.2f} s; {len(built.batch_s)} calls of {per_batch:,.0f}, "
        f"median call {statistics.median(built.batch_s) * 1000:.0f} ms)"
    )
    base_s = executemany_baseline(tmp / "baseline.db", args.devices, args.days)
    base_rate = samples / base_s
    say(
        f"  baseline executemany  {base_rate:>14,.0f} rows/s     (plain SQLite, one 16-byte blob "
        f"a row, same transactions and pragmas)"
    )
    say(f"  ratio store.ingest / executemany: {rate / base_rate:.2f}")
    built.store.close()
    per_sample = disk_report(data_dir / "foxden.db", samples, width)

    # the requests
    store = open_store(url_for(data_dir))
    sn = built.sns[0]
    mid = ms_of(START) + (args.days // 2) * DAY_MS
    begin, end = mid + DAY_MS // 2, mid + DAY_MS // 2 + DAY_MS - 1
    history_req = s.HistoryQuery(sn=sn, begin=begin, end=end)
    clock_change = ms_of(datetime(2025, 3, 30, tzinfo=UTC))
    dst_req = None
    if clock_change + DAY_MS <= ms_of(START) + args.days * DAY_MS:
        dst_req = s.HistoryQuery(sn=sn, begin=clock_change, end=clock_change + DAY_MS - 1)
    month_dt = datetime.fromtimestamp(begin / 1000, UTC)
    counters = list(telemetry.COUNTERS)
    bodies = {
        "history": msgspec.json.encode(history_req),
        "year": msgspec.json.encode(
            s.ReportQuery(sn=sn, year=month_dt.year, dimension="year", variables=counters)
        ),
        "month": msgspec.json.encode(
            s.ReportQuery(
                sn=sn,
                year=month_dt.year,
                month=month_dt.month,
                dimension="month",
                variables=counters,
            )
        ),
    }
    stored_vars = telemetry.variables_for(MODEL)
    say()
    window = datetime.fromtimestamp(begin / 1000, UTC)
    say(
        f"2. in process: history of {sn}, {window:%Y-%m-%d %H:%M} UTC + 24 h "
        f"({len(stored_vars)} variables answered: the model's; {width} stored)"
    )
    stock_body = in_process(store, history_req, dst_req, max(20, args.requests // 4))
    if args.profile:
        profile_in_process(store, history_req, max(20, args.requests // 4))

    say()
    say("3. HTTP: sequential requests, one keep-alive httpx connection per server")
    big = tmp / "history-answer.json"
    big.write_bytes(stock_body)
    stock = start_server("foxden", tmp, ["foxden", "--data-dir", str(data_dir)])
    procs.append(stock)
    fast = start_server(
        "foxden-reference", tmp, ["foxden", "--data-dir", str(data_dir), "--history", "reference"]
    )
    procs.append(fast)
    fixed = start_server("fixed", tmp, ["fixed", "--big-body", str(big)])
    procs.append(fixed)
    clients = {p.name: httpx.Client(base_url=p.url, timeout=30) for p in procs}
    try:
        post = bodies["history"]
        kinds = [
            Kind("history", clients["foxden"], HISTORY, HISTORY, post, []),
            Kind("year report", clients["foxden"], REPORT, REPORT, bodies["year"], []),
            Kind("month report", clients["foxden"], REPORT, REPORT, bodies["month"], []),
            Kind("fixed body (baseline)", clients["fixed"], HISTORY, HISTORY, post, []),
            Kind("fixed body, history's bytes", clients["fixed"], "/big", "/big", post, []),
            Kind(
                "history, plain reference", clients["foxden-reference"], HISTORY, HISTORY, post, []
            ),
        ]
        run_kinds(kinds, built.key, args.requests)
        history, year, month, baseline, _, prototype = kinds
        nvars, npoints = check_history(history.first, len(stored_vars), "history")
        check_history(prototype.first, len(stored_vars), "history, plain reference")
        if history.first != stock_body or prototype.first != stock_body:
            raise SystemExit("history over HTTP differs from the in-process answer")
        year_total = check_report(year.first, 12, "year report")
        days_in_month = (
            datetime(month_dt.year + month_dt.month // 12, month_dt.month % 12 + 1, 1)
            - datetime(month_dt.year, month_dt.month, 1)
        ).days
        month_total = check_report(month.first, days_in_month, "month report")
        say(
            f"  checked: every answer errno 0; history {nvars} variables x >= {npoints} points "
            f"({len(history.first):,} bytes, identical from both foxden servers); year report 12 "
            f"months, generation {year_total:,.1f} kWh; month report {days_in_month} days, "
            f"{month_total:,.1f} kWh"
        )
        base_med = statistics.median(baseline.took)
        say(f"  {'request':<32}{'median ms':>10}{'p90 ms':>10}{'/ fixed body':>14}")
        for kind in kinds:
            med = statistics.median(kind.took)
            say(f"  {kind.label:<32}{med:>10.2f}{p90(kind.took):>10.2f}{med / base_med:>13.1f}x")
        if args.profile:
            profile_server(tmp, data_dir, built.key, bodies["history"], args.requests)
    finally:
        for c in clients.values():
            c.close()

    say()
    say("4. live-shaped ingest (info): one call per 5-minute slot, one sample of every device")
    early, late = live_ingest(store, built.fleet, LIVE_SLOTS)
    store.close()
    say(
        f"  {early:,.0f} samples/s appending to a nearly empty day, {late:,.0f} samples/s to "
        f"a nearly full one ({LIVE_SLOTS} calls of {args.devices} samples each; every call "
        f"re-packs each device's day)"
    )

    results = [
        (f"ingest >= {INGEST_TARGET:,.0f} samples/s", rate >= INGEST_TARGET, f"{rate:,.0f}"),
        (
            f"history 24 h median < {LATENCY_TARGET_MS:.0f} ms",
            statistics.median(history.took) < LATENCY_TARGET_MS,
            f"{statistics.median(history.took):.2f} ms",
        ),
        (
            f"year report median < {LATENCY_TARGET_MS:.0f} ms",
            statistics.median(year.took) < LATENCY_TARGET_MS,
            f"{statistics.median(year.took):.2f} ms",
        ),
        (
            f"month report median < {LATENCY_TARGET_MS:.0f} ms",
            statistics.median(month.took) < LATENCY_TARGET_MS,
            f"{statistics.median(month.took):.2f} ms",
        ),
        (
            f"disk < {BYTES_TARGET:.0f} bytes a sample",
            per_sample < BYTES_TARGET,
            f"{per_sample:.1f}",
        ),
    ]
    say()
    for label, ok, figure in results:
        say(f"{verdict(ok)}  {label:<36} {figure}")
    proto_med = statistics.median(prototype.took)
    say(
        f"info  history with the plain reference handler: {proto_med:.2f} ms median "
        f"({verdict(proto_med < LATENCY_TARGET_MS)} against the same target)"
    )
    say(f"load average at the end: {load()} (other work on the machine skews every figure)")
    return 0 if all(ok for _, ok, _ in results) else 1


def profile_server(tmp: Path, data_dir: Path, key: str, body: bytes, count: int) -> None:
    out = tmp / "server.prof"
    proc = start_server(
        "foxden-profiled", tmp, ["foxden", "--data-dir", str(data_dir), "--profile", str(out)]
    )
    try:
        with httpx.Client(base_url=proc.url, timeout=30) as client:
            kind = Kind("history, profiled", client, HISTORY, HISTORY, body, [])
            for _ in range(count):
                send(kind, key)
    finally:
        stop_server(proc)
    say()
    print_profile(str(out), f"foxden server process, {count} history requests", count)


if __name__ == "__main__":
    sys.exit(main())
