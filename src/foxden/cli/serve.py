"""``foxden serve``: the Open API server with its simulated fleet."""

from __future__ import annotations

import socket
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from foxden import config
from foxden.cli.admin import (
    PANEL,
    ConfigFile,
    DatabaseUrl,
    DataDir,
    admin_token,
    open_database,
    settings_from,
)
from foxden.cli.common import EXIT_USAGE, SERVER_DEFAULTS, Host, Port, fail, need
from foxden.clock import RealClock

if TYPE_CHECKING:
    from foxden.sim.runner import FleetRunner

DEFAULTS = SERVER_DEFAULTS
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, before anything else happens; a taken port or a
    bad address is a one-line error."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", EXIT_USAGE)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        hint = "another server (foxden serve?) is using it; choose another with --port"
        fail(f"cannot listen on {host}:{port}: {reason}", EXIT_USAGE, hint)
    return sock


def serve(
    host: Host = None,
    port: Port = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
    no_demo: Annotated[
        bool, typer.Option("--no-demo", help="Do not create the demo account")
    ] = False,
    demo_devices: Annotated[
        int | None,
        typer.Option(
            help="Inverters in the demo fleet", min=1, show_default=str(DEFAULTS.demo_devices)
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of all the fleet's randomness", show_default=str(DEFAULTS.seed)),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(
            help="Simulated seconds per real second; 0 freezes the clock",
            min=0,
            show_default=f"{DEFAULTS.speed:g}",
        ),
    ] = None,
    backfill_days: Annotated[
        float | None,
        typer.Option(
            help="Days of history to simulate on start",
            min=0,
            show_default=f"{DEFAULTS.backfill_days:g}",
        ),
    ] = None,
    random_faults: Annotated[
        bool, typer.Option("--random-faults", help="Let rare random faults happen")
    ] = False,
    limit_profile: Annotated[
        str | None,
        typer.Option(
            "--limit-profile",
            help="Call limits: cloud (the real cloud's pacing: one call a second per key and "
            "query interface, one setting write per inverter every 2 s, daily quota), "
            "lenient (per-key burst and rate, daily quota) or off (nothing refused), for load "
            "tests "
            "(env FOXDEN_LIMIT_PROFILE)",
            show_default=DEFAULTS.limit_profile,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="Server processes answering the Open API on the port; a killed one is "
            "replaced. More than one needs --redis-url; with role all they then only serve "
            "and the fleet runs in one more process of its own, replaced too if killed "
            "(env FOXDEN_WORKERS)",
            min=1,
            show_default=str(DEFAULTS.workers),
        ),
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            help="api (the Open API only), fleet (the simulated fleet only, no port) or all; "
            "with several workers or machines the fleet runs in exactly one process of all "
            "that share the database (env FOXDEN_ROLE)",
            show_default=DEFAULTS.role,
        ),
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(
            "--redis-url",
            help="Redis (redis://HOST:PORT/DB) for call limits and quota counts shared by "
            "every worker and machine (env FOXDEN_REDIS_URL)",
            show_default="none: kept in this process",
        ),
    ] = None,
    scenario_file: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            help="Start from this scenario file (TOML: clock, seed, accounts with keys, "
            "plants, inverters, faults, chaos rules) instead of the demo fleet",
            show_default="none: the demo fleet",
        ),
    ] = None,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="With --scenario: empty the database and start from the scenario again "
            "(without it, a database the same scenario was applied to is kept as clients "
            "left it)",
        ),
    ] = False,
    replay: Annotated[
        str | None,
        typer.Option(
            "--replay",
            help="Answer from the cassettes in DIR (recorded by foxden gateway --record) "
            "instead of a fleet: each request gets its recorded answer, byte for byte",
            show_default="none: the fleet",
        ),
    ] = None,
) -> None:
    """Run the Open API server with its simulated fleet.

    On an empty database it creates a demo account with three plants (UK, Germany,
    Australia) and six inverters, writes the demo API key to DATA_DIR/demo-api-key (mode
    0600) and prints it once when the output is a terminal. It then backfills the fleet's
    history and keeps it live, one sample per inverter about every five simulated minutes.
    The admin API (/admin/clock, /admin/step, /admin/faults, /admin/reset, /admin/seed)
    takes the token in DATA_DIR/admin-token. Open the printed URL in a browser for the
    dashboard: the fleet live, each inverter's charts, and the admin controls.

    With --scenario FILE it applies the scenario instead (see docs/testing.md): its start,
    speed, seed and backfill_days win over the flags (no backfill unless the file or
    --backfill-days asks, so the inverters start as the file says), and each account whose
    key the file does not fix gets a new one, kept in DATA_DIR/NAME-api-key. Started again
    on a database the same scenario was applied to, it keeps what clients changed and the
    clock goes on from the newest sample; --reset empties the database and starts again.
    One JSON access-log line per Open API call goes to standard output (setting access_log).

    With --workers N (and --redis-url) N processes answer on the port and one more runs the
    fleet (a killed one of either is replaced); across machines exactly one process of all
    that share the database runs the fleet, backfilling after it takes it over; --role api
    or fleet splits the two (docs/scaling.md).

    Example: foxden serve --port 8080 --data-dir ./foxden-data --speed 60 --backfill-days 3
    """
    need("server", "foxden serve")
    import uvicorn

    if replay is not None:
        _serve_replay(Path(replay), host, port)
        return

    from foxden import scenario
    from foxden.demo import seed_demo, write_private
    from foxden.seeding import resume_ms
    from foxden.seeding import seed as seeding_of
    from foxden.server.app import FoxdenApp
    from foxden.server.heap import freeze_heap
    from foxden.server.http import raise_file_limit, uvicorn_config
    from foxden.sim.clock import SimClock
    from foxden.sim.engine import STEP_MS
    from foxden.sim.runner import FleetRunner

    settings = settings_from(
        data_dir,
        database_url,
        config_file,
        host=host,
        port=port,
        seed=seed,
        speed=speed,
        backfill_days=backfill_days,
        demo_devices=demo_devices,
        random_faults=random_faults or None,
        limit_profile=limit_profile,
        workers=workers,
        role=role,
        redis_url=redis_url,
    )
    shared = check_shared(settings)
    if reset and scenario_file is None:
        fail("--reset starts again from a scenario: give --scenario FILE", EXIT_USAGE)
    sc = None
    if scenario_file is not None:
        try:
            sc = scenario.validate(scenario_file)
        except scenario.ScenarioError as exc:
            sys.stderr.write(f"{exc}\n")
            raise typer.Exit(EXIT_USAGE) from None
        f = sc.file
        settings = replace(
            settings,
            speed=settings.speed if f.speed is None else f.speed,
            seed=settings.seed if f.seed is None else f.seed,
            # the scenario's inverters are as it says at its start: no history before it
            # unless the file or the command line asks for some
            backfill_days=f.backfill_days
            if f.backfill_days is not None
            else (0.0 if backfill_days is None else backfill_days),
        )
    sock = listen(settings.host, settings.port) if settings.role != "fleet" else None
    bound_port = sock.getsockname()[1] if sock is not None else 0
    data = Path(settings.data_dir)
    private_dir(data)
    store = open_database(settings, create=True)
    start_ms = sc.start_ms if sc else None
    if sc is not None:
        try:
            seeding = seeding_of(sc, store, RealClock().now_ms(), reset)
        except scenario.ScenarioError as exc:
            sys.stderr.write(f"{exc}\n")
            raise typer.Exit(EXIT_USAGE) from None
        if seeding.outcome == "kept":
            start_ms = resume_ms(store, start_ms)
            earlier = seeding.earlier or {}
            when = datetime.fromtimestamp(int(earlier.get("applied_ms", 0)) / 1000, UTC)
            out.print(
                f"Scenario {sc.source} was applied to this database on {when:%Y-%m-%d %H:%M} "
                "UTC: kept as clients left it (--reset starts again)"
            )
        applied = seeding.applied
        for name, made in applied.keys.items():
            if any(a.name == name and a.key for a in sc.file.account):
                continue
            path = data / f"{name}-api-key"
            write_private(path, made + "\n")
            if sys.stdout.isatty():
                out.print(f"API key of {name!r} (shown once; also in {path}):")
                print(made, flush=True)
            else:  # a log file or a pipe: keep the key out of it
                out.print(f"API key of {name!r} is in {path}")
    elif not no_demo:
        key = seed_demo(store, data, RealClock().now_ms(), settings.demo_devices)
        if key is not None and sys.stdout.isatty():
            out.print(f"Created the demo account; its key is also in {data / 'demo-api-key'}")
            out.print("Demo API key (shown once):")
            print(key, flush=True)
        elif key is not None:  # a log file or a pipe: keep the key out of it
            out.print(f"Created the demo account; its API key is in {data / 'demo-api-key'}")
    token = settings.admin_token or admin_token(data)
    clock = SimClock(start_ms=start_ms, speed=settings.speed)
    if shared:
        from foxden.cli.serve_workers import run_shared

        store.close()
        raise typer.Exit(
            run_shared(settings, sock, clock, token, list(sc.chaos) if sc else [], out)
        )
    assert sock is not None
    runner = FleetRunner(store, clock, settings.seed, settings.random_faults)
    days = settings.backfill_days
    if sc is not None:  # at least the step that ends at the start: real-time data at once
        days = max(days, STEP_MS / 86_400_000)
    _backfill(runner, days)
    shown_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    out.print(
        f"foxden serving the Open API on http://{shown_host}:{bound_port} "
        f"(database {settings.database()}; fleet speed {settings.speed:g}x; "
        f"limit profile {settings.limit_profile}; "
        f"admin token in {data / 'admin-token'})"
    )
    foxden = FoxdenApp(settings, store, clock, runner, token)
    for rule in sc.chaos if sc else []:
        foxden.chaos.add(rule, RealClock().now_ms())
    if settings.access_log:
        from foxden.server.metrics import enable_access_log

        enable_access_log(sys.stdout)
    raise_file_limit(settings.max_connections)
    config = uvicorn_config(foxden.app, settings, log_level=settings.log_level, lifespan="on")
    freeze_heap()
    uvicorn.Server(config).run(sockets=[sock])


def _serve_replay(directory: Path, host: str | None, port: int | None) -> None:
    """``foxden serve --replay DIR``: the cassettes' answers, no database, no fleet."""
    import uvicorn

    from foxden.gateway.cassette import CassetteError, Replay
    from foxden.server.http import uvicorn_config

    try:
        replay = Replay.load(directory)
    except CassetteError as exc:
        fail(str(exc), EXIT_USAGE)
    settings = replace(
        DEFAULTS, host=host or DEFAULTS.host, port=DEFAULTS.port if port is None else port
    )
    sock = listen(settings.host, settings.port)
    shown_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    out.print(
        f"foxden replaying {replay.count} recorded exchanges from {directory} on "
        f"http://{shown_host}:{sock.getsockname()[1]}"
    )
    config = uvicorn_config(replay, settings, log_level=settings.log_level, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


def check_shared(settings: config.Settings) -> bool:
    """Whether this server shares its limits and fleet with other processes (several
    workers, a role, or Redis); a combination that cannot keep limits exact is refused."""
    if settings.role == "fleet" and settings.workers > 1:
        fail(
            "--role fleet runs the fleet in one process; --workers is for --role api or all",
            EXIT_USAGE,
        )
    if settings.workers > 1 and not settings.redis_url:
        fail(
            f"--workers {settings.workers} needs --redis-url (or FOXDEN_REDIS_URL)",
            EXIT_USAGE,
            "each worker would keep its own call counts, so the daily quota and the cloud's "
            "pacing would allow up to N times the calls; give a Redis so every worker counts "
            "in one place (docs/scaling.md)",
        )
    if settings.redis_url and settings.role != "fleet":
        from foxden.server.shared_limits import connect

        try:
            connect(settings.redis_url).close()
        except ValueError as exc:
            fail(str(exc), EXIT_USAGE)
    return settings.workers > 1 or settings.role != "all" or bool(settings.redis_url)


def private_dir(data: Path) -> None:
    """The data dir, created 0700 (an existing one is left as its owner set it)."""
    if not data.exists():
        data.mkdir(mode=0o700, parents=True)
        data.chmod(0o700)


def _backfill(runner: FleetRunner, days: float) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("backfilling the fleet"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task("backfill", total=max(1, round(days)))

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        stored = runner.backfill(days, progress)
    inverters = len(runner.fleet or [])
    if stored:
        err.print(f"fleet: {stored} new samples stored for {inverters} inverters")
    else:
        err.print(f"fleet: history already up to date for {inverters} inverters")


def register(root: typer.Typer) -> None:
    root.command("serve", rich_help_panel=PANEL)(serve)
