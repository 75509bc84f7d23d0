"""Where an authenticated getAccessCount spends its time, measured in-process.

    python bench/auth_breakdown.py [--requests 20000]

No sockets and no profiler: each ASGI app is called directly with a prepared scope, and
each piece of the auth path is timed alone, so the microseconds are what the code
costs without cProfile's per-call overhead. The ASGI server's own cost (HTTP parsing,
transport writes, task creation) is not included; auth_throughput.py measures that.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bare_app import BODY
from bare_app import app as bare
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from foxden import accounts
from foxden.clock import RealClock
from foxden.config import Settings
from foxden.protocol import signing
from foxden.protocol import structs as s
from foxden.server import envelope
from foxden.server.app import FoxdenApp
from foxden.server.limits import utc_day
from foxden.store import open_store, url_for

PATH = "/op/v0/user/getAccessCount"
HUGE = 1_000_000_000


def scope_for(headers: dict[str, str]) -> dict[str, Any]:
    """The scope uvicorn builds for ``GET PATH`` with these headers."""
    raw = [(b"host", b"127.0.0.1:8080")]
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": PATH,
        "raw_path": PATH.encode("ascii"),
        "query_string": b"",
        "headers": raw,
        "state": {},
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def asgi_us(app: Any, scope: dict[str, Any], n: int) -> tuple[float, bytes]:
    """Microseconds per request calling ``app`` directly; the last body sent."""
    body = [b""]

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            body[0] = message.get("body", b"")

    async def run() -> float:
        for _ in range(min(n, 1000)):  # warm-up
            await app(dict(scope), _receive, send)
        start = time.perf_counter()
        for _ in range(n):
            await app(dict(scope), _receive, send)
        return (time.perf_counter() - start) / n * 1e6

    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if importlib.util.find_spec("uvloop"):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(run()), body[0]


def call_us(fn: Callable[[], object], n: int) -> float:
    for _ in range(min(n, 1000)):
        fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, help="calls per figure")
    n = parser.parse_args(argv).requests

    work = Path(tempfile.mkdtemp(prefix="foxden-breakdown-"))
    try:
        store = open_store(url_for(work))
        now = RealClock().now_ms()
        _, key = accounts.create_account(store, "bench", now)
        accounts.add_device(store, "bench", "BENCH0000001", "H1-5.0-E", now)
        settings = replace(
            Settings(data_dir=str(work)),
            limit_profile="off",
            rate_per_second=float(HUGE),
            rate_burst=HUGE,
            daily_quota_per_device=HUGE,
            timestamp_window_s=86400.0,
        )
        foxden = FoxdenApp(settings, store)
        headers = signing.headers(PATH, key, now, "en")
        scope = scope_for(headers)

        async def fixed(request: Request) -> Response:
            return Response(BODY, media_type="application/json")

        one_route = Starlette(routes=[Route(PATH, fixed, methods=["GET"])])
        same_routes = Starlette(
            routes=[
                Route(r.path, fixed, methods=["GET"])
                for r in foxden.starlette.routes
                if isinstance(r, Route) and r.path != PATH
            ]
            + [Route(PATH, fixed, methods=["GET"])]
        )

        rows: list[tuple[str, float]] = []
        full, body = asgi_us(foxden.app, scope, n)
        if b'"errno":0' not in body:
            print(f"foxden did not answer errno 0: {body!r}", file=sys.stderr)
            return 1
        rows.append(("ASGI: bare_app.app", asgi_us(bare, scope, n)[0]))
        rows.append(
            (
                "ASGI: Starlette, 1 route, fixed Response",
                asgi_us(one_route, scope, n)[0],
            )
        )
        rows.append(
            (
                f"ASGI: Starlette, {len(same_routes.routes)} routes (target last)",
                asgi_us(same_routes, scope, n)[0],
            )
        )
        rows.append(("ASGI: foxden create_app, full auth path", full))

        request = Request(scope)
        hdrs = Headers(scope=scope)
        token = headers["token"]
        account = foxden.store.account_by_key_hash(accounts.key_hash(token))
        assert account is not None
        rows += [
            (
                "  Headers(scope) + auth.check(counted=False)",
                call_us(lambda: foxden.auth.check(PATH, Headers(scope=scope), now, False), n),
            ),
            (
                "    store.account_by_key_hash (SQLite)",
                call_us(lambda: foxden.store.account_by_key_hash(accounts.key_hash(token)), n),
            ),
            ("    accounts.key_hash (sha256)", call_us(lambda: accounts.key_hash(token), n)),
            (
                "    signing.verify (md5)",
                call_us(
                    lambda: signing.verify(PATH, token, headers["timestamp"], headers["signature"]),
                    n,
                ),
            ),
            ("    4 x Headers.get", call_us(lambda: [hdrs.get(h) for h in headers], n)),
            ("    rate.allow", call_us(lambda: foxden.rate.allow(account.id, now), n)),
            ("  request.url.path (view)", call_us(lambda: Request(scope).url.path, n)),
            ("  scope['path'] (alternative)", call_us(lambda: request.scope["path"], n)),
            ("  utc_day (strftime, in quota.used)", call_us(lambda: utc_day(now), n)),
            (
                "  envelope.ok(AccessCount)",
                call_us(lambda: envelope.ok(s.AccessCount(total="1", remaining="1")), n),
            ),
        ]
        print(f"in-process cost per request, {n} calls each (lower is better)")
        for name, us in rows:
            print(f"{name:<48} {us:>8.1f} us")
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
