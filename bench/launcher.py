"""Run one bench target under uvicorn, the way ``foxden serve`` runs the server.

    python bench/launcher.py bare   --port-file P --stats-file S [--loop L] [--http H]
    python bench/launcher.py foxden --port-file P --stats-file S [--profile OUT.prof]
    python bench/launcher.py fixed  --port-file P --stats-file S --body FILE
    python bench/launcher.py gateway --port-file P --stats-file S
    python bench/launcher.py workers --port-file P --stats-file S

Both targets get the same uvicorn options: 127.0.0.1, one worker (uvicorn's in-process
server, no supervisor), access log off, log level warning, the given loop and HTTP
implementation, lifespan on. ``foxden`` with httptools runs behind the HTTP limits of
``foxden.server.http``, as ``foxden serve`` runs it (``--http unguarded``: without them);
``--guarded`` puts ``bare`` and ``fixed`` behind them too, so every target runs on the same
server. ``--server granian`` serves the target under granian instead (one worker, uvloop).
``fixed`` answers every request with the bytes of ``--body`` (what sending a recorded
answer costs, e.g. a history). The socket is bound to ``--port`` (0: a free port) before
uvicorn starts and the port is written to ``--port-file``, so the caller never races for a
port.

``gateway`` is ``foxden gateway`` on the settings' data dir, mirroring
``FOXDEN_UPSTREAM_URL`` with ``FOXDEN_UPSTREAM_KEY``, refreshing real-time data every
``FOXDEN_GATEWAY_REFRESH_S`` seconds (default 300) and backfilling
``FOXDEN_GATEWAY_BACKFILL_DAYS`` days (default 7).

``foxden`` opens the store and builds ``create_app`` from settings read by
``foxden.config.load`` (so FOXDEN_* variables set by the caller apply, as for a user).
It counts, without touching the success path, every error envelope the app renders
(by errno) and every log record at ERROR or above; on exit (SIGTERM or SIGINT) it writes
those counts as JSON to ``--stats-file``. ``--profile`` runs the server under cProfile
and dumps the stats there on exit.

``workers`` runs ``foxden serve``'s shared server (``foxden.cli.serve_workers``) on the
bound socket, with settings from ``foxden.config.load`` (``FOXDEN_WORKERS``, ``FOXDEN_ROLE``,
``FOXDEN_REDIS_URL``, ...): the supervisor and its workers, as ``foxden serve --workers N``
runs them. Its stats file says only that it started (the counts are the workers').
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import signal
import socket
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn


class _CountingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def _bare_app() -> Any:
    from bare_app import app

    return app


def _foxden_app(errno_counts: Counter[int]) -> Any:
    from foxden import config
    from foxden.server import envelope
    from foxden.server.app import create_app
    from foxden.store import open_store

    settings = config.load()
    _foxden_settings.append(settings)
    store = open_store(settings.database())
    app = create_app(settings, store)

    # Count error envelopes: the view calls ``envelope.body_error`` through the module, so
    # wrapping it here costs nothing on the errno 0 path the bench measures.
    render_error: Callable[..., Any] = envelope.body_error

    def counted_error(errno: int, msg: str) -> Any:
        errno_counts[int(errno)] += 1
        return render_error(errno, msg)

    envelope.body_error = counted_error
    return app


_foxden_settings: list[Any] = []


def _gateway_app() -> Any:
    from foxden import config
    from foxden.gateway import create_gateway
    from foxden.store import open_store

    settings = config.load()
    _foxden_settings.append(settings)
    gateway = create_gateway(
        settings,
        open_store(settings.database()),
        os.environ["FOXDEN_UPSTREAM_URL"],
        os.environ["FOXDEN_UPSTREAM_KEY"],
        refresh_s=float(os.environ.get("FOXDEN_GATEWAY_REFRESH_S", "300")),
        backfill_days=float(os.environ.get("FOXDEN_GATEWAY_BACKFILL_DAYS", "7")),
        admin_token=settings.admin_token,
    )
    return gateway.app


def foxden_factory() -> Any:
    """``foxden`` for granian, which imports its target in its worker process."""
    from foxden.server.heap import freeze_heap

    app = _foxden_app(Counter())
    freeze_heap()
    return app


def fixed_factory() -> Any:
    """``fixed`` for granian: the body file comes from FOXDEN_BENCH_BODY."""
    from bare_app import fixed_body_app

    return fixed_body_app(Path(os.environ["FOXDEN_BENCH_BODY"]).read_bytes())


def _granian(args: argparse.Namespace) -> int:
    """Serve the target under granian (no error counts: the app runs in granian's worker
    process). A free port is found, written to the port file, then granian binds it."""
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels
    from granian.server import Server as Granian

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", args.port))
    port: int = sock.getsockname()[1]
    sock.close()
    here = str(Path(__file__).resolve().parent)
    os.environ["PYTHONPATH"] = os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])
    target, factory = {
        "bare": ("bare_app:app", False),
        "foxden": ("launcher:foxden_factory", True),
        "fixed": ("launcher:fixed_factory", True),
    }[args.target]
    if args.target == "fixed":
        os.environ["FOXDEN_BENCH_BODY"] = str(args.body)
    server = Granian(
        target,
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        loop=Loops.uvloop,
        log_level=LogLevels.warning,
        log_access=False,
        factory=factory,
    )
    _write_atomically(args.port_file, str(port))
    _write_atomically(args.stats_file, json.dumps({"started": True}))
    server.serve()
    return 0


def _workers(args: argparse.Namespace) -> int:
    """``foxden serve --workers N`` on a socket bound here (see the module's text)."""
    from rich.console import Console

    from foxden import config
    from foxden.cli.admin import admin_token
    from foxden.cli.serve_workers import run_shared
    from foxden.sim.clock import SimClock

    settings = config.load()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(2048)
    token = settings.admin_token or admin_token(Path(settings.data_dir))
    _write_atomically(args.port_file, str(sock.getsockname()[1]))
    _write_atomically(args.stats_file, json.dumps({"started": True}))
    clock = SimClock(speed=settings.speed)
    return run_shared(settings, sock, clock, token, [], Console(stderr=True))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=["bare", "foxden", "fixed", "gateway", "workers"])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--stats-file", type=Path, required=True)
    parser.add_argument("--loop", default="auto", help="uvicorn --loop (auto, asyncio, uvloop)")
    parser.add_argument(
        "--http",
        default="auto",
        help="uvicorn --http (auto, h11, httptools); foxden gets the HTTP limits of "
        "foxden.server.http with auto or httptools, uvicorn's bare httptools with unguarded",
    )
    parser.add_argument("--profile", type=Path, help="run under cProfile, dump stats here")
    parser.add_argument("--body", type=Path, help="fixed: the file whose bytes every answer is")
    parser.add_argument(
        "--guarded",
        action="store_true",
        help="bare and fixed too behind foxden's HTTP limits (with auto or httptools), so "
        "every target runs on the same server",
    )
    parser.add_argument(
        "--server",
        choices=["uvicorn", "granian"],
        default="uvicorn",
        help="granian: the same target under granian (ASGI, one worker, uvloop), to compare",
    )
    args = parser.parse_args(argv)
    if args.server == "granian":
        return _granian(args)
    if args.target == "workers":
        return _workers(args)

    errors = _CountingHandler()
    logging.getLogger().addHandler(logging.StreamHandler(sys.stderr))
    errno_counts: Counter[int] = Counter()
    if args.target == "foxden":
        app = _foxden_app(errno_counts)
    elif args.target == "gateway":
        app = _gateway_app()
    elif args.target == "fixed":
        if args.body is None:
            parser.error("fixed needs --body")
        from bare_app import fixed_body_app

        app = fixed_body_app(args.body.read_bytes())
    else:
        app = _bare_app()

    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": args.port,
        "loop": args.loop,
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
        "workers": 1,
    }
    guarded = args.target in ("foxden", "gateway") or args.guarded
    if guarded and args.http in ("auto", "httptools"):
        # as ``foxden serve`` runs it: httptools behind the HTTP limits
        from foxden import config as foxden_config
        from foxden.server.http import uvicorn_config

        settings = _foxden_settings[0] if _foxden_settings else foxden_config.load()
        config = uvicorn_config(app, settings, **options)
    else:  # "unguarded": uvicorn's own httptools protocol, for comparison
        http = "httptools" if args.http == "unguarded" else args.http
        config = uvicorn.Config(app, http=http, **options)
    server = uvicorn.Server(config)
    # uvicorn's log config is applied in Config(); its "uvicorn" logger does not
    # propagate to the root, so count ERROR records on both.
    for name in ("", "uvicorn"):
        logging.getLogger(name).addHandler(errors)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port: int = sock.getsockname()[1]

    # uvicorn re-raises the signal that stopped it once it has shut down; a Python
    # handler here makes that a no-op so the counts below are still written.
    def ignore(signum: int, frame: FrameType | None) -> None:
        pass

    signal.signal(signal.SIGTERM, ignore)
    signal.signal(signal.SIGINT, ignore)

    if args.target == "foxden":  # as ``foxden serve`` does before it serves
        from foxden.server.heap import freeze_heap

        freeze_heap()
    _write_atomically(args.port_file, str(port))
    profiler = cProfile.Profile() if args.profile else None
    try:
        if profiler is not None:
            profiler.runcall(server.run, sockets=[sock])
        else:
            server.run(sockets=[sock])
    finally:
        if profiler is not None and args.profile is not None:
            profiler.dump_stats(str(args.profile))
        stats = {
            "logged_errors": errors.count,
            "errno_errors": {str(k): v for k, v in sorted(errno_counts.items())},
            "started": bool(server.started),
        }
        _write_atomically(args.stats_file, json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
