"""Throughput of foxden's data calls against baselines served the same way, over loopback.

    python bench/handlers.py [--duration 5] [--connections 32] [--threads 1] [--warmup 1]
                             [--rounds 1] [--only NAME ...] [--no-rss] [--postgres URL]

Set-up: a temporary data dir with the demo account (three plants, six inverters) and
``--days`` of simulated history (``FleetRunner.backfill``). Servers run in their own
processes through ``bench/launcher.py`` (the auth bench's launcher and helpers), with the
same uvicorn options and every limit off: foxden on that data dir, the bare ASGI app (a
small fixed body), and for the history a fixed-body app answering the very bytes foxden
answered. Every foxden request is signed and goes through the whole auth path.

For each call, wrk runs the baseline, then foxden (``--rounds N``: N such pairs), at
``--connections`` connections; the table gives req/s, p50 and p99 and the ratio to the
baseline of the same run. The calls: real/query with all variables and with 28 (the first
28 of a real H1 capture, tests' sample ``v0_device_real_query__foxessprom_h1_full.json``),
battery/soc/get, scheduler/get, device/list, a 24-hour all-variable history, a month
report.

Then: getAccessCount on PostgreSQL against SQLite (a fresh database on the server of
``--postgres`` or ``FOXDEN_TEST_POSTGRES_URL``, dropped afterwards), the RSS of
``foxden serve`` with the demo fleet (default settings, a fresh data dir) once it answers,
and the RSS of a process that only imports ``foxden.client``.

Targets (issue 17): every small call >= 0.6 of the bare app's req/s; the history's cost
(1/req/s) <= 2x the fixed-body app's; PostgreSQL >= 0.8 of SQLite; ``foxden serve`` <= 110
MB; ``import foxden.client`` <= 40 MB. Exit status 0 when all are met and no request
failed, 1 otherwise, 2 when wrk is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from auth_throughput import (
    PATH,
    Server,
    WrkResult,
    cpu_busy,
    get,
    launch,
    rss_mb,
    run_wrk,
    server_env,
    stop_process,
    versions,
)

from foxden import accounts
from foxden.clock import RealClock
from foxden.demo import DEMO_PLANTS, seed_demo
from foxden.protocol import signing, telemetry, timefmt
from foxden.store import open_store, url_for

SMALL_TARGET = 0.6
HISTORY_TARGET = 2.0
POSTGRES_TARGET = 0.8
SERVE_RSS_TARGET = 110.0
CLIENT_RSS_TARGET = 40.0
DAY_MS = 86_400_000

REAL_28 = [
    "pvPower",
    "pv1Volt",
    "pv1Current",
    "pv1Power",
    "pv2Volt",
    "pv2Current",
    "pv2Power",
    "epsPower",
    "epsCurrentR",
    "epsVoltR",
    "epsPowerR",
    "RCurrent",
    "RVolt",
    "RFreq",
    "RPower",
    "ambientTemperation",
    "invTemperation",
    "chargeTemperature",
    "batTemperature",
    "loadsPower",
    "generationPower",
    "feedinPower",
    "gridConsumptionPower",
    "invBatVolt",
    "invBatCurrent",
    "invBatPower",
    "batChargePower",
    "batDischargePower",
]
"""The first 28 variables of a real H1 capture (foxessprom's real/query test fixture)."""


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    method: str
    path: str
    body: bytes | None
    small: bool
    """A small answer: compared with the bare app; else with a fixed app sending its bytes."""

    def query_path(self) -> str:
        return self.path.split("?", 1)[0]


def calls(sn: str, now_ms: int, zone: str) -> list[Call]:
    local = datetime.fromtimestamp(now_ms / 1000, timefmt.zone(zone))

    def post(name: str, path: str, body: object, small: bool = True) -> Call:
        return Call(name, "POST", path, json.dumps(body).encode(), small)

    return [
        post("real/query all", "/op/v0/device/real/query", {"sn": sn, "variables": []}),
        post("real/query 28", "/op/v0/device/real/query", {"sn": sn, "variables": REAL_28}),
        Call("soc/get", "GET", f"/op/v0/device/battery/soc/get?sn={sn}", None, True),
        post("scheduler/get", "/op/v0/device/scheduler/get", {"deviceSN": sn}),
        post("device/list", "/op/v0/device/list", {"currentPage": 1, "pageSize": 10}),
        post(
            "history 24 h",
            "/op/v0/device/history/query",
            {"sn": sn, "variables": [], "begin": now_ms - DAY_MS, "end": now_ms},
            small=False,
        ),
        post(
            "report month",
            "/op/v0/device/report/query",
            {
                "sn": sn,
                "year": local.year,
                "month": local.month,
                "dimension": "month",
                "variables": list(telemetry.COUNTERS),
            },
        ),
    ]


def wrk_script(work: Path, call: Call) -> Path | None:
    """A wrk Lua script sending the call's method and body (None for a plain GET)."""
    if call.body is None:
        return None
    body = call.body.decode().replace("\\", "\\\\").replace("'", "\\'")
    path = work / f"{call.name.replace('/', '_').replace(' ', '_')}.lua"
    path.write_text(
        f"wrk.method = '{call.method}'\n"
        f"wrk.body = '{body}'\n"
        "wrk.headers['Content-Type'] = 'application/json'\n",
        "utf-8",
    )
    return path


def seed(data_dir: Path, days: float) -> tuple[str, str, str]:
    """The demo account with ``days`` of history; (API key, first inverter, its zone)."""
    from foxden.sim.clock import SimClock
    from foxden.sim.runner import FleetRunner

    store = open_store(url_for(data_dir))
    try:
        key = seed_demo(store, data_dir, RealClock().now_ms())
        assert key is not None
        FleetRunner(store, SimClock(speed=0.0), 0).backfill(days)
    finally:
        store.close()
    return key, DEMO_PLANTS[0].devices[0][0], DEMO_PLANTS[0].timezone


@dataclass(frozen=True, slots=True)
class Pair:
    call: str
    baseline: str
    base: WrkResult
    foxden: WrkResult
    base_cpu_us: float
    foxden_cpu_us: float
    """CPU time the server processes used per answered request during the measured runs."""

    @property
    def ratio(self) -> float:
        return self.foxden.rps / self.base.rps

    @property
    def cpu_ratio(self) -> float:
        """The req/s ratio if the server had a CPU to itself: baseline CPU per request over
        foxden's (what wrk's ratio tends to on an idle machine)."""
        return self.base_cpu_us / self.foxden_cpu_us


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process and all its descendants (granian's workers)."""
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text("ascii").rsplit(")", 1)[1].split()
            children = Path(f"/proc/{p}/task/{p}/children").read_text("ascii").split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        todo += [int(c) for c in children]
    return total


def measure(
    server: Server,
    path: str,
    headers: dict[str, str],
    script: Path | None,
    args: argparse.Namespace,
) -> tuple[WrkResult, float]:
    """One wrk run after a warm-up; its figures and the server's CPU microseconds a request."""
    url = server.url_of(path)
    if args.warmup > 0:
        run_wrk(url, headers, args.warmup, args.connections, args.threads, script)
    before = cpu_seconds(server.proc.pid)
    result = run_wrk(url, headers, args.duration, args.connections, args.threads, script)
    used = cpu_seconds(server.proc.pid) - before
    return result, used / max(1, result.requests) * 1e6


def mean(results: list[WrkResult]) -> WrkResult:
    n = len(results)
    return WrkResult(
        sum(r.requests for r in results),
        sum(r.rps for r in results) / n,
        sum(r.p50_ms for r in results) / n,
        sum(r.p99_ms for r in results) / n,
        sum(r.non_2xx for r in results),
        sum(r.socket_errors for r in results),
        "",
    )


def check(status: int, body: bytes, what: str) -> None:
    answer = json.loads(body)
    if status != 200 or not isinstance(answer, dict) or answer.get("errno") != 0:
        raise RuntimeError(f"{what} answered HTTP {status}: {body[:300]!r}")


def bench_calls(
    args: argparse.Namespace, work: Path, loop: str, http: str, servers: list[Server]
) -> list[Pair]:
    data_dir = work / "data"
    started = time.monotonic()
    key, sn, zone = seed(data_dir, args.days)
    print(f"seeded the demo fleet with {args.days:g} days in {time.monotonic() - started:.1f}s")
    env = server_env(data_dir)
    now = RealClock().now_ms()
    ping = signing.headers(PATH, key, now, "en")
    kind = ("--server", args.server, "--guarded")
    bare = Server("bare", work, loop, http, env, extra=kind)
    foxden = Server("foxden", work, loop, http, env, extra=kind)
    servers += [bare, foxden]
    bare.wait_ready(ping)
    foxden.wait_ready(ping)
    pairs = []
    for call in calls(sn, now, zone):
        if args.only and call.name not in args.only:
            continue
        headers = signing.headers(call.query_path(), key, now, "en")
        status, body = get(foxden.port, headers, call.path, call.method, call.body)
        check(status, body, f"foxden {call.name}")
        script = wrk_script(work, call)
        if call.small:
            base, base_name = bare, "bare app"
        else:
            answer = work / f"{call.name.replace(' ', '_').replace('/', '_')}.json"
            answer.write_bytes(body)
            base = Server("fixed", work, loop, http, env, extra=("--body", str(answer), *kind))
            servers.append(base)
            base.wait_ready(ping)
            base_name = f"fixed {len(body) // 1024} KB"
        bases, runs = [], []
        for _ in range(args.rounds):
            bases.append(measure(base, call.path, headers, script, args))
            runs.append(measure(foxden, call.path, headers, script, args))
        pair = Pair(
            call.name,
            base_name,
            mean([r for r, _ in bases]),
            mean([r for r, _ in runs]),
            sum(c for _, c in bases) / len(bases),
            sum(c for _, c in runs) / len(runs),
        )
        print(
            f"  {call.name:<16} {pair.foxden.rps:>8.0f} req/s vs {base_name} "
            f"{pair.base.rps:>8.0f}: {pair.ratio:.2f}; CPU a request {pair.foxden_cpu_us:.0f} "
            f"vs {pair.base_cpu_us:.0f} us: {pair.cpu_ratio:.2f}",
            flush=True,
        )
        pairs.append(pair)
        if base is not bare:
            base.stop()
    stats = foxden.stop()
    if stats.get("logged_errors") or stats.get("errno_errors"):
        raise RuntimeError(f"foxden server errors: {stats}\n{foxden.log()[-2000:]}")
    return pairs


def fresh_postgres(server_url: str) -> contextlib.AbstractContextManager[str]:
    """A new, empty database on the server of ``server_url``, dropped afterwards."""
    from foxden.store.postgres import scratch_database

    return scratch_database(server_url, "foxden_bench")


def bench_postgres(
    args: argparse.Namespace, work: Path, loop: str, http: str, servers: list[Server]
) -> Pair:
    """getAccessCount on PostgreSQL against SQLite, each with one account and device."""
    with fresh_postgres(args.postgres) as url:
        started: dict[str, tuple[Server, dict[str, str]]] = {}
        for backend, db_url in (("sqlite", url_for(work / "auth")), ("postgresql", url)):
            store = open_store(db_url)
            try:
                now = RealClock().now_ms()
                _, key = accounts.create_account(store, "bench", now)
                accounts.add_device(store, "bench", "BENCH0000001", "H1-5.0-E", now)
            finally:
                store.close()
            env = server_env(work / "auth")
            env["FOXDEN_DATABASE_URL"] = db_url
            headers = signing.headers(PATH, key, now, "en")
            server = Server(
                "foxden",
                work,
                loop,
                http,
                env,
                tag=f"auth-{backend}",
                extra=("--server", args.server),
            )
            servers.append(server)
            server.wait_ready(headers)
            check(*get(server.port, headers), f"{backend} getAccessCount")
            started[backend] = (server, headers)
        results: dict[str, list[tuple[WrkResult, float]]] = {"sqlite": [], "postgresql": []}
        for _ in range(args.rounds):
            for backend, (server, headers) in started.items():
                results[backend].append(measure(server, PATH, headers, None, args))
        sqlite, postgresql = results["sqlite"], results["postgresql"]
        pair = Pair(
            "auth postgresql",
            "sqlite",
            mean([r for r, _ in sqlite]),
            mean([r for r, _ in postgresql]),
            sum(c for _, c in sqlite) / len(sqlite),
            sum(c for _, c in postgresql) / len(postgresql),
        )
        for backend, (server, _) in started.items():
            stats = server.stop()
            if stats.get("logged_errors") or stats.get("errno_errors"):
                raise RuntimeError(f"{backend} server errors: {stats}\n{server.log()[-2000:]}")
    print(
        f"  getAccessCount   {pair.foxden.rps:>8.0f} req/s on PostgreSQL vs SQLite "
        f"{pair.base.rps:>8.0f}: {pair.ratio:.2f}",
        flush=True,
    )
    return pair


def serve_rss(work: Path) -> float:
    """RSS of ``foxden serve`` (default settings, demo fleet) once it answers, MB."""
    data = work / "serve"
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOXDEN_")}
    command = [
        sys.executable,
        "-c",
        "import sys; from foxden.cli.main import main; sys.argv[0] = 'foxden'; main()",
        "serve",
        "--data-dir",
        str(data),
        "--port",
        str(port),
    ]
    log = (work / "serve.log").open("wb")
    proc = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"foxden serve exited:\n{(work / 'serve.log').read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError("foxden serve did not answer within 300 s")
            try:
                get(port, {}, "/health")
                break
            except OSError:
                time.sleep(0.2)
        time.sleep(3)  # the fleet's first live steps
        return rss_mb(proc.pid)
    finally:
        stop_process(proc, timeout_s=20)
        log.close()


def client_rss() -> float:
    """RSS of a process that imports ``foxden.client`` and nothing else of foxden, MB."""
    code = (
        "import foxden.client\n"
        "for line in open('/proc/self/status'):\n"
        "    if line.startswith('VmRSS:'): print(int(line.split()[1]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return int(done.stdout.strip()) / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--warmup", type=int, default=1, help="seconds before each run")
    parser.add_argument("--rounds", type=int, default=1, help="baseline+foxden pairs per call")
    parser.add_argument("--days", type=float, default=2.0, help="days of history to seed")
    parser.add_argument("--only", nargs="*", help="only these calls (names as printed)")
    parser.add_argument("--no-rss", action="store_true", help="skip the memory figures")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("FOXDEN_TEST_POSTGRES_URL", ""),
        help="a PostgreSQL server URL the bench may create a database on "
        "(default FOXDEN_TEST_POSTGRES_URL; empty: skip)",
    )
    parser.add_argument(
        "--server",
        choices=["uvicorn", "granian"],
        default="uvicorn",
        help="the ASGI server of every target (granian: pip install 'foxden[bench]')",
    )
    parser.add_argument(
        "--judge",
        choices=["rps", "cpu"],
        default="rps",
        help="which ratio the targets are judged on: wrk's req/s (an idle machine) or the "
        "server's CPU time a request (a busy one: other processes do not move it)",
    )
    parser.add_argument("--loop", help="uvicorn loop (default: uvloop if installed)")
    parser.add_argument("--http", help="uvicorn http (default: httptools if installed)")
    return launch(parser.parse_args(argv), run)


def run(args: argparse.Namespace, work: Path, loop: str, http: str, servers: list[Server]) -> int:
    print(
        f"handlers bench: {args.duration}s per run, {args.connections} connections, "
        f"{args.threads} wrk thread(s), {args.warmup}s warm-up, {args.rounds} round(s), "
        f"server {args.server}"
    )
    print(
        f"uvicorn: loop={loop} http={http}, 1 worker; versions: {versions()}; {os.cpu_count()} CPUs"
    )
    busy = cpu_busy()
    if busy is not None:
        print(f"CPU busy before the runs (other processes): {busy:.0%}")
    pairs = bench_calls(args, work, loop, http, servers)
    if args.postgres and (not args.only or "auth postgresql" in args.only):
        pairs.append(bench_postgres(args, work, loop, http, servers))
    print()
    print(
        f"{'call':<18} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}  {'baseline':<16} "
        f"{'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6} {'CPU us':>7} {'base':>5} "
        f"{'CPU ratio':>9}  target"
    )
    ok = True
    for p in pairs:
        ratio = p.cpu_ratio if args.judge == "cpu" else p.ratio
        if p.call == "auth postgresql":
            target, met = f">= {POSTGRES_TARGET}", ratio >= POSTGRES_TARGET
        elif p.baseline.startswith("fixed"):
            cost = 1 / ratio
            target, met = f"cost {cost:.2f}x <= {HISTORY_TARGET}", cost <= HISTORY_TARGET
        else:
            target, met = f">= {SMALL_TARGET}", ratio >= SMALL_TARGET
        ok = ok and met and not (p.foxden.non_2xx or p.foxden.socket_errors)
        print(
            f"{p.call:<18} {p.foxden.rps:>8.0f} {p.foxden.p50_ms:>7.2f} {p.foxden.p99_ms:>7.2f}  "
            f"{p.baseline:<16} {p.base.rps:>8.0f} {p.base.p50_ms:>7.2f} {p.base.p99_ms:>7.2f} "
            f"{p.ratio:>6.2f} {p.foxden_cpu_us:>7.0f} {p.base_cpu_us:>5.0f} {p.cpu_ratio:>9.2f}  "
            f"{target}: {'ok' if met else 'MISSED'}"
        )
    failures = sum(p.foxden.non_2xx + p.foxden.socket_errors for p in pairs)
    print(f"non-2xx responses and socket errors of foxden runs: {failures}")
    if not args.no_rss:
        serve = serve_rss(work)
        client = client_rss()
        print(
            f"RSS of foxden serve with the demo fleet: {serve:.0f} MB (target <= "
            f"{SERVE_RSS_TARGET:.0f}): {'ok' if serve <= SERVE_RSS_TARGET else 'MISSED'}"
        )
        print(
            f"RSS of import foxden.client: {client:.0f} MB (target <= {CLIENT_RSS_TARGET:.0f}): "
            f"{'ok' if client <= CLIENT_RSS_TARGET else 'MISSED'}"
        )
        ok = ok and serve <= SERVE_RSS_TARGET and client <= CLIENT_RSS_TARGET
    after = cpu_busy()
    if after is not None:
        print(f"CPU busy after the runs (other processes): {after:.0%}")
    print("PASS" if ok and not failures else "FAIL")
    return 0 if ok and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
