"""Run one bench target under uvicorn, the way ``foxden serve`` runs the server.

    python bench/launcher.py bare   --port-file P --stats-file S [--loop L] [--http H]
    python bench/launcher.py foxden --port-file P --stats-file S [--profile OUT.prof]

Both targets get the same uvicorn options: 127.0.0.1, one worker (uvicorn's in-process
server, no supervisor), access log off, log level warning, the given loop and HTTP
implementation, lifespan on. ``foxden`` with httptools runs behind the HTTP limits of
``foxden.server.http``, as ``foxden serve`` runs it (``--http unguarded``: without them).
The socket is bound to ``--port`` (0: a free port) before uvicorn starts and the port is
written to ``--port-file``, so the caller never races for a port.

``foxden`` opens the store and builds ``create_app`` from settings read by
``foxden.config.load`` (so FOXDEN_* variables set by the caller apply, as for a user).
It counts, without touching the success path, every error envelope the app renders
(by errno) and every log record at ERROR or above; on exit (SIGTERM or SIGINT) it writes
those counts as JSON to ``--stats-file``. ``--profile`` runs the server under cProfile
and dumps the stats there on exit.
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


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=["bare", "foxden"])
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
    args = parser.parse_args(argv)

    errors = _CountingHandler()
    logging.getLogger().addHandler(logging.StreamHandler(sys.stderr))
    errno_counts: Counter[int] = Counter()
    app = _bare_app() if args.target == "bare" else _foxden_app(errno_counts)

    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": args.port,
        "loop": args.loop,
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
        "workers": 1,
    }
    if args.target == "foxden" and args.http in ("auto", "httptools"):
        # as ``foxden serve`` runs it: httptools behind the HTTP limits
        from foxden.server.http import uvicorn_config

        config = uvicorn_config(app, _foxden_settings[0], **options)
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
