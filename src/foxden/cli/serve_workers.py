"""``foxden serve`` when the server shares its limits and fleet with other processes:
``--workers N``, ``--role api|fleet`` or ``--redis-url`` (docs/scaling.md).

Every API process opens its own store and serves the one listening socket; every process
with the fleet role takes part in the fleet lease (:mod:`foxden.server.fleet_lease`), and
the one holding it simulates. With ``--workers`` above 1 and role all the workers only
serve and the supervisor runs the fleet in one more process of its own, so no worker's
event loop waits for a fleet step; with one process the fleet is a thread of it. The fleet
backfills in its process after it takes the lease, so the API answers at once.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from types import FrameType

from rich.console import Console

from foxden.config import Settings
from foxden.server.chaos import RuleSpec
from foxden.sim.clock import SimClock

log = logging.getLogger("foxden.server")


def run_shared(
    settings: Settings,
    sock: socket.socket | None,
    clock: SimClock,
    token: str,
    chaos: list[RuleSpec],
    out: Console,
) -> int:
    """Serve (or, with role fleet, simulate) until stopped; the exit status."""
    if sock is None:
        out.print(
            f"foxden fleet on database {settings.database()} (fleet speed {settings.speed:g}x); "
            "simulating whenever this process holds the fleet lease"
        )
        return run_fleet_only(settings, clock)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    port = sock.getsockname()[1]
    out.print(
        f"foxden serving the Open API on http://{host}:{port} "
        f"(database {settings.database()}; {settings.workers} worker"
        f"{'s' if settings.workers > 1 else ''}, role {settings.role}; "
        f"fleet speed {settings.speed:g}x; limit profile {settings.limit_profile}; "
        f"limits in {'Redis' if settings.redis_url else 'this process'})"
    )

    if settings.workers == 1:
        serve_worker(settings, sock, clock, token, chaos, fleet_here=True)
        return 0
    from foxden.server.workers import Supervisor

    def work() -> None:
        serve_worker(settings, sock, clock, token, chaos, fleet_here=False)

    def fleet() -> None:
        # the fleet's steps in a process of their own: they never hold a worker's loop
        sock.close()
        run_fleet_only(settings, clock)

    def say(text: str) -> None:
        out.print(f"foxden: {text}")

    with_fleet = fleet if settings.role == "all" else None
    return Supervisor(settings.workers, work, say, with_fleet).run()


def serve_worker(
    settings: Settings,
    sock: socket.socket,
    clock: SimClock,
    token: str,
    chaos: list[RuleSpec],
    fleet_here: bool = True,
) -> None:
    """One API process: its own store, the app, uvicorn on the shared socket. With role all
    it runs the fleet when it holds the fleet lease, unless ``fleet_here`` is false (its
    supervisor runs the fleet in a process of its own: the admin API still reads the clock
    and says this process runs no fleet)."""
    import sys

    import uvicorn

    from foxden.clock import RealClock
    from foxden.server.app import FoxdenApp
    from foxden.server.fleet_lease import FleetDuty, Lease, NoLease, open_lease
    from foxden.server.heap import freeze_heap
    from foxden.server.http import raise_file_limit, uvicorn_config
    from foxden.sim.runner import FleetRunner
    from foxden.store import open_store

    store = open_store(settings.database())
    if hasattr(store, "exact_changes"):  # PostgreSQL: see other workers' writes at once
        store.exact_changes = True
    runner = None
    duty = None
    if settings.role == "all":
        runner = FleetRunner(store, clock, settings.seed, settings.random_faults)
        lease: Lease = (
            open_lease(settings.database(), settings.data_dir) if fleet_here else NoLease()
        )
        duty = FleetDuty(runner, clock, lease, settings.backfill_days)
    try:
        foxden = FoxdenApp(settings, store, clock, runner, token, duty)
        for rule in chaos:
            foxden.chaos.add(rule, RealClock().now_ms())
        if settings.access_log:
            from foxden.server.metrics import enable_access_log

            enable_access_log(sys.stdout)
        raise_file_limit(settings.max_connections)
        config = uvicorn_config(foxden.app, settings, log_level=settings.log_level, lifespan="on")
        freeze_heap()
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        store.close()


def run_fleet_only(settings: Settings, clock: SimClock) -> int:
    """Role fleet: no port; tick the fleet duty once a second (five times a second when the
    clock runs fast) until SIGTERM or SIGINT."""
    from foxden.server.fleet_lease import FleetDuty, open_lease
    from foxden.server.shared_changes import share_changes
    from foxden.sim.runner import FleetRunner
    from foxden.store import open_store

    stop = threading.Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s: %(name)s: %(message)s"
    )
    store = open_store(settings.database())
    share_changes(store, settings.redis_url)  # workers read the change counters there
    runner = FleetRunner(store, clock, settings.seed, settings.random_faults)
    duty = FleetDuty(
        runner, clock, open_lease(settings.database(), settings.data_dir), settings.backfill_days
    )
    try:
        while not stop.is_set():
            if not clock.frozen:
                try:
                    duty.tick()
                except Exception:  # the fleet goes on next tick
                    log.exception("fleet step failed")
            stop.wait(1.0 if clock.speed <= 1 else 0.2)
    finally:
        duty.close()
        store.close()
    return 0
