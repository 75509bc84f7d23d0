"""The servers bench/telemetry.py starts, each in its own process, with the same uvicorn options.

    python bench/telemetry_server.py foxden --data-dir D --port-file P [--history reference]
                                            [--profile OUT.prof]
    python bench/telemetry_server.py fixed --port-file P [--big-body FILE]

Both run uvicorn as ``foxden serve`` does (one worker in this process, loop and HTTP
implementation "auto", access log off) on a socket bound to a free port of 127.0.0.1; the
port is written to ``--port-file`` once the socket is bound.

``foxden`` serves ``create_app`` on the data dir with every limit raised (rate, burst, daily
quota, timestamp window), so no request of the bench is refused. ``--history reference`` swaps
the history handler for the plain struct rendering (same bytes, slower).
``--profile`` runs the server under cProfile and dumps the stats on exit.

``fixed`` is a raw ASGI app that reads the request and answers a fixed JSON body: the small
body of the auth bench's baseline, or on path ``/big`` the bytes of ``--big-body`` (the
history answer itself, to see what moving 1 MB over loopback costs).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from bare_app import lifespan

HUGE = 1_000_000_000
SMALL_BODY = (
    b'{"errno":0,"msg":"Operation successful","result":{"total":"1440","remaining":"1440"}}'
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


def fixed_app(big_body: bytes) -> Asgi:
    """Answer every HTTP request with a fixed body once its body is read."""

    def start(body: bytes) -> Message:
        return {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }

    small_start, big_start = start(SMALL_BODY), start(big_body)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            while (await receive()).get("more_body", False):
                pass
            big = scope["path"] == "/big"
            await send(dict(big_start if big else small_start))
            await send({"type": "http.response.body", "body": big_body if big else SMALL_BODY})
        elif scope["type"] == "lifespan":
            await lifespan(receive, send)

    return app


def foxden_app(data_dir: str, history: str) -> Any:
    from foxden.config import Settings
    from foxden.server.app import create_app
    from foxden.store import open_store

    if history == "reference":
        from foxden.server.areas import HANDLERS
        from foxden.server.areas.telemetry import history_reference

        HANDLERS["device.history"] = history_reference
    settings = replace(
        Settings(data_dir=data_dir),
        limit_profile="off",
        rate_per_second=float(HUGE),
        rate_burst=HUGE,
        daily_quota_per_device=HUGE,
        timestamp_window_s=float(HUGE),
        log_level="warning",
    )
    return create_app(settings, open_store(settings.database()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("target", choices=["foxden", "fixed"])
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--data-dir", help="foxden: the data dir holding foxden.db")
    parser.add_argument("--history", choices=["stock", "reference"], default="stock")
    parser.add_argument("--big-body", type=Path, help="fixed: the body answered on /big")
    parser.add_argument("--profile", type=Path, help="run under cProfile, dump stats here")
    args = parser.parse_args(argv)

    if args.target == "foxden":
        if not args.data_dir:
            parser.error("foxden needs --data-dir")
        app = foxden_app(args.data_dir, args.history)
    else:
        app = fixed_app(args.big_body.read_bytes() if args.big_body else SMALL_BODY)

    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        loop="auto",
        http="auto",
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))

    # uvicorn re-raises the signal that stopped it after shutting down; a no-op handler
    # lets this process end normally (and write its profile).
    def ignore(signum: int, frame: FrameType | None) -> None:
        pass

    signal.signal(signal.SIGTERM, ignore)
    signal.signal(signal.SIGINT, ignore)

    tmp = args.port_file.with_name(args.port_file.name + ".tmp")
    tmp.write_text(str(sock.getsockname()[1]), "utf-8")
    os.replace(tmp, args.port_file)
    profiler = cProfile.Profile() if args.profile else None
    try:
        if profiler is not None:
            profiler.runcall(server.run, sockets=[sock])
        else:
            server.run(sockets=[sock])
    finally:
        if profiler is not None:
            profiler.dump_stats(str(args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
