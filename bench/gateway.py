"""Upstream calls per local call: integrations polling the cloud directly, against the same
integrations polling ``foxden gateway``.

    python bench/gateway.py [--clients 5] [--interval 2] [--duration 30] [--refresh 10]

An upstream foxden stands in for the vendor cloud: the demo fleet (six inverters) with a
day of history, under the ``cloud`` limit profile (1 s per query path and key, the daily
quota of 1440 calls per inverter). Both servers run in their own process through
``bench/launcher.py`` (``foxden`` and ``gateway`` targets).

1. **direct** (the baseline, measured in the same run): ``--clients`` integrations share the
   account's key, as apps on one key do, each polling v1 real-time data of every inverter
   every ``--interval`` seconds for ``--duration`` seconds.
2. **gateway**: the same integrations, each with its own local key, poll a gateway that
   mirrors the upstream account and refreshes every ``--refresh`` seconds; the gateway's
   start (inventory, backfill of one day) is counted apart.

Upstream calls are read from the upstream's own ``/metrics`` (answered calls by path and
errno). Printed: local calls answered, upstream calls, upstream calls per local call, the
upstream's 40400 refusals, and real-time upstream calls against refresh intervals elapsed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
from auth_throughput import Server, pick_implementations, server_env

from foxden import accounts
from foxden.client import ApiError, Client, RetryPolicy
from foxden.clock import RealClock
from foxden.demo import seed_demo
from foxden.protocol import signing
from foxden.store import open_store, url_for

REAL_V1 = "/op/v1/device/real/query"
ADMIN = "bench-gateway-admin-token"
_METRIC = re.compile(r'^foxden_requests_total\{errno="(\w+)",path="([^"]+)"\} ([0-9.e+]+)$')


def upstream_counts(port: int) -> Counter[tuple[str, str]]:
    """Calls the upstream has answered, by (path, errno), from its /metrics."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    counts: Counter[tuple[str, str]] = Counter()
    for line in text.splitlines():
        match = _METRIC.match(line)
        if match:
            counts[(match[2], match[1])] = int(float(match[3]))
    return counts


@dataclass
class Polled:
    answered: int = 0
    refused: Counter[int] | None = None


def poll(url: str, keys: list[str], sns: list[str], interval: float, duration: float) -> Polled:
    """Each key polls v1 real-time data of ``sns`` every ``interval`` s for ``duration`` s."""
    result = Polled(0, Counter())
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def one(key: str) -> None:
        with Client(key, url, retry=RetryPolicy(max_retries=0)) as client:
            while time.monotonic() < stop_at:
                started = time.monotonic()
                try:
                    client.real_time_v1(sns)
                    with lock:
                        result.answered += 1
                except ApiError as exc:
                    with lock:
                        assert result.refused is not None
                        result.refused[exc.errno] += 1
                time.sleep(max(0.0, interval - (time.monotonic() - started)))

    threads = [threading.Thread(target=one, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result


def seed_upstream(data_dir: Path) -> str:
    from foxden.sim.clock import SimClock
    from foxden.sim.runner import FleetRunner

    store = open_store(url_for(data_dir))
    try:
        key = seed_demo(store, data_dir, RealClock().now_ms())
        assert key is not None
        FleetRunner(store, SimClock(speed=0.0), 0).backfill(1.0)
    finally:
        store.close()
    return key


def local_keys(data_dir: Path, n: int) -> list[str]:
    store = open_store(url_for(data_dir))
    try:
        now = RealClock().now_ms()
        return [accounts.create_account(store, f"integration{i}", now)[1] for i in range(n)]
    finally:
        store.close()


def headers_for(key: str) -> dict[str, str]:
    return signing.headers("/op/v0/user/getAccessCount", key, time.time_ns() // 1_000_000)


def delta(after: Counter[tuple[str, str]], before: Counter[tuple[str, str]]) -> Counter[str]:
    """Calls by path between two readings (every errno)."""
    out: Counter[str] = Counter()
    for (path, _), n in (after - before).items():
        out[path] += n
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--refresh", type=float, default=10.0)
    args = parser.parse_args(argv)
    loop, http = pick_implementations(None, None)
    work = Path(tempfile.mkdtemp(prefix="foxden-bench-gateway-"))
    try:
        return run(args, work, loop, http)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path, loop: str, http: str) -> int:
    up_dir, gw_dir = work / "cloud", work / "gateway"
    key = seed_upstream(up_dir)
    env = server_env(up_dir)
    env.update(
        FOXDEN_LIMIT_PROFILE="cloud",
        FOXDEN_DAILY_QUOTA_PER_DEVICE="1440",
        FOXDEN_TIMESTAMP_WINDOW_S="300",
        FOXDEN_ACCESS_LOG="false",
    )
    print(f"servers: uvicorn {loop} + {http}; upstream: demo fleet, 6 inverters, cloud limits")
    with Server("foxden", work, loop, http, env, tag="upstream") as upstream:
        upstream.wait_ready(headers_for(key))
        with Client(key, upstream.url_of(""), retry=RetryPolicy(max_retries=0)) as c:
            sns = [d.deviceSN for d in c.device_list().data]

        # 1. the baseline: every integration on the cloud key, straight to the cloud
        before = upstream_counts(upstream.port)
        direct = poll(upstream.url_of(""), [key] * args.clients, sns, args.interval, args.duration)
        spent = delta(upstream_counts(upstream.port), before)
        direct_calls = direct.answered + sum((direct.refused or Counter()).values())
        print(
            f"direct : {args.clients} clients every {args.interval:g} s for {args.duration:g} s: "
            f"{direct_calls} calls, {direct.answered} answered, refused "
            f"{dict(direct.refused or {})}; upstream calls {sum(spent.values())}; "
            f"upstream calls per local call {sum(spent.values()) / max(1, direct_calls):.3f}"
        )

        # 2. the same integrations through the gateway
        keys = local_keys(gw_dir, args.clients)
        gw_env = server_env(gw_dir)
        gw_env.update(
            FOXDEN_LIMIT_PROFILE="cloud",
            FOXDEN_DAILY_QUOTA_PER_DEVICE="1440",
            FOXDEN_TIMESTAMP_WINDOW_S="300",
            FOXDEN_ACCESS_LOG="false",
            FOXDEN_ADMIN_TOKEN=ADMIN,
            FOXDEN_UPSTREAM_URL=upstream.url_of(""),
            FOXDEN_UPSTREAM_KEY=key,
            FOXDEN_GATEWAY_REFRESH_S=str(args.refresh),
            FOXDEN_GATEWAY_BACKFILL_DAYS="1",
        )
        start = upstream_counts(upstream.port)
        started = time.monotonic()
        with Server("gateway", work, loop, http, gw_env, tag="gateway") as gateway:
            gateway.wait_ready(headers_for(keys[0]))
            status_url = gateway.url_of("/admin/gateway")

            def status() -> dict[str, object]:
                view: dict[str, object] = httpx.get(
                    status_url, headers={"X-Admin-Token": ADMIN}, timeout=10
                ).json()
                return view

            while True:
                mirror = status()["mirror"]
                assert isinstance(mirror, dict)
                wanted = mirror["backfill_days_wanted"]
                if mirror["refreshes"] and wanted and mirror["backfill_days_done"] >= wanted:
                    break
                if time.monotonic() - started > 300:
                    print("the gateway did not finish its start within 300 s", file=sys.stderr)
                    return 1
                time.sleep(0.2)
            ready = upstream_counts(upstream.port)
            startup = delta(ready, start)
            print(
                f"gateway start: inventory and one day of backfill for {len(sns)} inverters: "
                f"{sum(startup.values())} upstream calls "
                f"({', '.join(f'{p} {n}' for p, n in sorted(startup.items()))})"
            )
            window = time.monotonic()
            via = poll(gateway.url_of(""), keys, sns, args.interval, args.duration)
            elapsed = time.monotonic() - window
            spent = delta(upstream_counts(upstream.port), ready)
            local_calls = via.answered + sum((via.refused or Counter()).values())
            realtime = spent.get(REAL_V1, 0)
            intervals = elapsed / args.refresh
            print(
                f"gateway: {args.clients} clients every {args.interval:g} s for "
                f"{args.duration:g} s: {local_calls} calls, {via.answered} answered, refused "
                f"{dict(via.refused or {})}; upstream calls {sum(spent.values())} "
                f"(real-time {realtime} in {intervals:.1f} refresh intervals of "
                f"{args.refresh:g} s); upstream calls per local call "
                f"{sum(spent.values()) / max(1, local_calls):.3f}"
            )
            refusals = sum(
                n for (p, e), n in upstream_counts(upstream.port).items() if e == "40400"
            )
            print(f"upstream 40400 refusals over the whole run: {refusals} (direct phase included)")
            gateway_refusals = sum(delta_errno(upstream_counts(upstream.port), start).values())
            print(f"upstream 40400 refusals of the gateway's calls: {gateway_refusals}")
    return 0


def delta_errno(
    after: Counter[tuple[str, str]], before: Counter[tuple[str, str]], errno: str = "40400"
) -> Counter[str]:
    out: Counter[str] = Counter()
    for (path, e), n in (after - before).items():
        if e == errno:
            out[path] += n
    return out


if __name__ == "__main__":
    sys.exit(main())
