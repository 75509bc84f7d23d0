"""``foxden``: run the server, manage accounts, keys and devices.

Examples:

    foxden serve --port 8080
    foxden account create alice
    foxden device add --account alice --sn 60H15000000001 --model H1-5.0-E
    foxden key rotate alice
    foxden account list
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from foxden import accounts, config
from foxden.cli import api, chaos, journal, scenario
from foxden.clock import RealClock
from foxden.protocol import models
from foxden.server.limits import utc_day
from foxden.store import Store, StoreError, open_store

if TYPE_CHECKING:
    from foxden.sim.runner import FleetRunner

app = typer.Typer(
    help="foxden: a self-hostable Fox ESS Cloud Open API server, fleet and client.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
account_app = typer.Typer(help="Accounts of this server.", no_args_is_help=True)
key_app = typer.Typer(help="API keys.", no_args_is_help=True)
device_app = typer.Typer(help="Inverters registered to accounts.", no_args_is_help=True)
app.add_typer(account_app, name="account")
app.add_typer(key_app, name="key")
app.add_typer(device_app, name="device")
sim_app = typer.Typer(help="The simulated fleet: faults.", no_args_is_help=True)
app.add_typer(sim_app, name="sim")

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

DataDir = Annotated[
    str | None,
    typer.Option("--data-dir", help="Directory of the embedded database [env FOXDEN_DATA_DIR]"),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="Database URL, e.g. sqlite:///foxden.db [env FOXDEN_DATABASE_URL]"
    ),
]
ConfigFile = Annotated[
    str | None, typer.Option("--config", help="TOML settings file [env FOXDEN_CONFIG]")
]


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _settings(
    data_dir: str | None, database_url: str | None, config_file: str | None, **extra: object
) -> config.Settings:
    try:
        return config.load(config_file, data_dir=data_dir, database_url=database_url, **extra)
    except config.ConfigError as exc:
        fail(str(exc), 2)


def _store(settings: config.Settings) -> Store:
    try:
        return open_store(settings.database())
    except StoreError as exc:
        fail(str(exc), 2)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [default 127.0.0.1]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default 8080]")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
    no_demo: Annotated[
        bool, typer.Option("--no-demo", help="Do not create the demo account")
    ] = False,
    demo_devices: Annotated[
        int | None, typer.Option(help="Inverters in the demo fleet [default 6]", min=1)
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of all the fleet's randomness [default 0]")
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(
            help="Simulated seconds per real second; 0 freezes the clock [default 1]", min=0
        ),
    ] = None,
    backfill_days: Annotated[
        float | None, typer.Option(help="Days of history to simulate on start [default 7]", min=0)
    ] = None,
    random_faults: Annotated[
        bool, typer.Option("--random-faults", help="Let rare random faults happen")
    ] = False,
    limit_profile: Annotated[
        str | None,
        typer.Option(
            "--limit-profile",
            help="Call limits: cloud (the real cloud's pacing: one call a second per key and "
            "path, one setting write per inverter every 2 s, daily quota), lenient (per-key "
            "burst and rate, daily quota) or off (nothing refused), for load tests "
            "[env FOXDEN_LIMIT_PROFILE; default cloud]",
        ),
    ] = None,
    scenario_file: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            help="Start from this scenario file (TOML: clock, seed, accounts with keys, "
            "plants, inverters, faults, chaos rules) instead of the demo fleet",
        ),
    ] = None,
) -> None:
    """Run the Open API server with its simulated fleet.

    On an empty database it creates a demo account with three plants (UK, Germany,
    Australia) and six inverters, prints the demo API key once and writes it to
    DATA_DIR/demo-api-key (mode 0600). It then backfills the fleet's history and keeps it
    live, one sample per inverter about every five simulated minutes. The admin API
    (/admin/clock, /admin/step, /admin/faults, /admin/reset, /admin/seed) takes the token in
    DATA_DIR/admin-token.

    With --scenario FILE it applies the scenario instead (see docs/testing.md): its start,
    speed, seed and backfill_days win over the flags, and each account whose key the file
    does not fix gets a new one, printed once and kept in DATA_DIR/NAME-api-key.

    Example: foxden serve --port 8080 --data-dir ./foxden-data --speed 60 --backfill-days 3
    """
    import uvicorn

    from foxden import scenario
    from foxden.demo import seed_demo, write_key
    from foxden.server.app import FoxdenApp
    from foxden.sim.clock import SimClock
    from foxden.sim.runner import FleetRunner

    settings = _settings(
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
    )
    sc = None
    if scenario_file is not None:
        try:
            sc = scenario.validate(scenario_file)
        except scenario.ScenarioError as exc:
            fail(str(exc), 2)
        f = sc.file
        settings = replace(
            settings,
            speed=settings.speed if f.speed is None else f.speed,
            seed=settings.seed if f.seed is None else f.seed,
            backfill_days=settings.backfill_days if f.backfill_days is None else f.backfill_days,
        )
    store = _store(settings)
    data = Path(settings.data_dir)
    if sc is not None:
        applied = scenario.apply(sc, store, RealClock().now_ms())
        for name, made in applied.keys.items():
            if any(a.name == name and a.key for a in sc.file.account):
                continue
            write_key(data / f"{name}-api-key", made)
            out.print(f"API key of {name!r} (shown once; also in {data / f'{name}-api-key'}):")
            print(made, flush=True)
    elif not no_demo:
        key = seed_demo(store, data, RealClock().now_ms(), settings.demo_devices)
        if key is not None:
            out.print(f"Created the demo account; its key is also in {data / 'demo-api-key'}")
            out.print("Demo API key (shown once):")
            print(key, flush=True)
    token = settings.admin_token or _admin_token(data)
    clock = SimClock(start_ms=sc.start_ms if sc else None, speed=settings.speed)
    runner = FleetRunner(store, clock, settings.seed, settings.random_faults)
    _backfill(runner, settings.backfill_days)
    out.print(
        f"foxden serving the Open API on http://{settings.host}:{settings.port} "
        f"(database {settings.database()}; fleet speed {settings.speed:g}x; "
        f"limit profile {settings.limit_profile}; "
        f"admin token in {data / 'admin-token'})"
    )
    if settings.access_log:
        from foxden.server.metrics import enable_access_log

        enable_access_log(sys.stdout)
    foxden = FoxdenApp(settings, store, clock, runner, token)
    for rule in sc.chaos if sc else []:
        foxden.chaos.add(rule, RealClock().now_ms())
    uvicorn.run(
        foxden.app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
    )


def _admin_token(data: Path) -> str:
    import os
    import secrets

    path = data / "admin-token"
    if path.exists():
        return path.read_text("utf-8").strip()
    data.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    return token


def _backfill(runner: FleetRunner, days: float) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("backfilling the fleet"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} days"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task("backfill", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        stored = runner.backfill(days, progress)
    err.print(f"fleet: {stored} samples stored for {len(runner.fleet or [])} inverters")


@account_app.command("create")
def account_create(
    name: str,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """Create an account and print its API key once, alone on the last line.

    Example: foxden account create alice
    """
    store = _store(_settings(data_dir, database_url, config_file))
    try:
        account, key = accounts.create_account(store, name, RealClock().now_ms())
    except accounts.AccountError as exc:
        fail(str(exc))
    out.print(
        f"Created account {account.name!r}. Its API key is shown once; it is stored only as a hash:"
    )
    print(key, flush=True)


@account_app.command("list")
def account_list(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """Accounts with their inverters and today's quota use (UTC day).

    Example: foxden account list
    """
    settings = _settings(data_dir, database_url, config_file)
    store = _store(settings)
    day = utc_day(RealClock().now_ms())
    table = Table(title=f"Accounts (quota day {day} UTC)")
    for column in ("account", "inverters", "calls today", "daily quota", "remaining"):
        table.add_column(column, justify="left" if column == "account" else "right")
    for row in accounts.list_accounts(store, day, settings.daily_quota_per_device):
        table.add_row(
            row.name,
            str(row.devices),
            str(row.used_today),
            str(row.quota),
            str(max(0, row.quota - row.used_today)),
        )
    out.print(table)


@key_app.command("rotate")
def key_rotate(
    name: str,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """Give an account a new API key; the old key stops working at once.

    Example: foxden key rotate alice
    """
    store = _store(_settings(data_dir, database_url, config_file))
    try:
        key = accounts.rotate_key(store, name)
    except accounts.AccountError as exc:
        fail(str(exc))
    out.print(f"New API key for {name!r} (the old one no longer works):")
    print(key, flush=True)


@device_app.command("add")
def device_add(
    account: Annotated[str, typer.Option(help="Account that owns the inverter")],
    sn: Annotated[str, typer.Option(help="Inverter serial number")],
    model: Annotated[str, typer.Option(help=f"Model: {', '.join(models.MODELS)}")],
    logger: Annotated[str | None, typer.Option(help="Data logger serial number")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """Register an inverter and its data logger to an account, so plant/create can bind it.

    Example: foxden device add --account alice --sn 60H15000000001 --model H1-5.0-E
    """
    store = _store(_settings(data_dir, database_url, config_file))
    try:
        device = accounts.add_device(store, account, sn, model, RealClock().now_ms(), logger)
    except accounts.AccountError as exc:
        fail(str(exc))
    out.print(f"Registered {device.sn} ({device.model}, logger {device.logger_sn}) to {account!r}")


@sim_app.command("fault")
def sim_fault(
    sn: str,
    code: int,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """Put an inverter in fault with a code from the fault table (runningState 165, no
    output, status 2 in device/list) until cleared. It takes effect at once: the inverter
    gets a fresh sample (1 ms after its newest) that shows the fault.

    Example: foxden sim fault 60DEMOH1500001 26
    """
    from foxden.protocol import catalogue
    from foxden.sim.runner import inject_fault

    settings = _settings(data_dir, database_url, config_file)
    store = _store(settings)
    if store.device(sn) is None:
        fail(f"no inverter {sn}")
    if code not in catalogue.faults():
        fail(f"unknown fault code {code}; see GET /op/v0/device/fault/get")
    inject_fault(store, sn, code)
    _fresh_sample(store, settings, sn)
    out.print(f"{sn} is in fault {code}: {catalogue.fault_text(code)}")


@sim_app.command("clear")
def sim_clear(
    sn: str,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """Clear an inverter's fault, at once (a fresh sample, as for a fault).

    Example: foxden sim clear 60DEMOH1500001
    """
    from foxden.sim.runner import clear_fault

    settings = _settings(data_dir, database_url, config_file)
    store = _store(settings)
    if store.device(sn) is None:
        fail(f"no inverter {sn}")
    clear_fault(store, sn)
    _fresh_sample(store, settings, sn)
    out.print(f"{sn} has no fault")


def _fresh_sample(store: Store, settings: config.Settings, sn: str) -> None:
    """A sample of ``sn`` 1 ms after its newest one, so its new state shows at once
    (nothing when it has no samples yet: the fleet starts it in that state)."""
    from foxden.sim.clock import SimClock
    from foxden.sim.runner import FleetRunner

    latest = store.latest([sn]).get(sn)
    if latest is None:
        return
    runner = FleetRunner(store, SimClock(latest.time_ms + 1, speed=0), settings.seed)
    runner.sample_now([sn], latest.time_ms + 1)


api.register(app)
chaos.register(app)
journal.register(app)
scenario.register(app)


def main() -> None:
    app(prog_name="foxden")


if __name__ == "__main__":  # pragma: no cover
    main()
