"""``foxden init``, ``account``, ``key``, ``device`` and ``sim``: the server's own data.

These commands work on the database directly, found the way ``foxden serve`` finds it:
``--database-url``, else ``--data-dir`` (``FOXDEN_DATA_DIR``, the config file, then
``./foxden-data``). All but ``init`` refuse, creating nothing, when no database is there.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from foxden import config
from foxden.cli.common import EXIT_API, EXIT_USAGE, Sn, examples, fail, need
from foxden.clock import RealClock
from foxden.protocol import models

if TYPE_CHECKING:
    from foxden.store import Store

PANEL = "This server's data"

account_app = typer.Typer(help="Accounts of this server.", no_args_is_help=True)
key_app = typer.Typer(help="API keys.", no_args_is_help=True)
device_app = typer.Typer(help="Inverters registered to accounts.", no_args_is_help=True)
sim_app = typer.Typer(help="The simulated fleet: faults.", no_args_is_help=True)

out = Console(soft_wrap=True)

DataDir = Annotated[
    str | None,
    typer.Option(
        "--data-dir",
        help="Directory of the embedded database (env FOXDEN_DATA_DIR)",
        show_default=config.DEFAULT_DATA_DIR,
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Database URL, e.g. sqlite:///foxden.db (env FOXDEN_DATABASE_URL)",
        show_default="SQLite in the data dir",
    ),
]
ConfigFile = Annotated[
    str | None,
    typer.Option("--config", help="TOML settings file (env FOXDEN_CONFIG)", show_default="none"),
]


def settings_from(
    data_dir: str | None, database_url: str | None, config_file: str | None, **extra: object
) -> config.Settings:
    """The settings as ``foxden serve`` reads them; a bad one is a one-line error."""
    try:
        return config.load(config_file, data_dir=data_dir, database_url=database_url, **extra)
    except config.ConfigError as exc:
        fail(str(exc), EXIT_USAGE)


def open_database(settings: config.Settings, *, create: bool = False) -> Store:
    """The server's store. Without ``create``, a database that does not exist yet is an
    error that says where it looked and how to make one, and nothing is created. With
    ``redis_url`` (PostgreSQL), its writes move the change counters the server's workers
    read there, so they see them at once."""
    need("server", "this command")
    from foxden.store import StoreError, database_exists, describe, open_store

    url = settings.database()
    try:
        if url.startswith(("postgresql://", "postgres://")):
            need("postgres", "a PostgreSQL database")
        if not create and not database_exists(url):
            fail(
                f"no foxden database at {describe(url)}",
                EXIT_USAGE,
                "start the server there once (foxden serve --data-dir DIR) or create one "
                "(foxden init --data-dir DIR); or give the server's --data-dir, "
                "FOXDEN_DATA_DIR or --database-url",
            )
        store = open_store(url)
    except StoreError as exc:
        fail(str(exc), EXIT_USAGE)
    if settings.redis_url:
        from foxden.server.shared_changes import share_changes

        share_changes(store, settings.redis_url)
    return store


def admin_token(data: Path) -> str:
    """The admin API's token: kept in DATA_DIR/admin-token (mode 0600), made on first use."""
    path = data / "admin-token"
    if path.exists():
        return path.read_text("utf-8").strip()
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    return token


def init(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
    no_demo: Annotated[
        bool, typer.Option("--no-demo", help="Do not create the demo account")
    ] = False,
    demo_devices: Annotated[
        int | None,
        typer.Option(help="Inverters in the demo fleet", min=1, show_default="6"),
    ] = None,
) -> None:
    """Create the database (and the demo account, printing its key once) without serving.

    `foxden serve` does the same on first start; init lets accounts and devices be added
    before the server first runs.

    Example: foxden init --data-dir ./foxden-data
    """
    settings = settings_from(data_dir, database_url, config_file, demo_devices=demo_devices)
    store = open_database(settings, create=True)
    from foxden.demo import seed_demo

    data = Path(settings.data_dir)
    out.print(f"Database ready: {settings.database()}")
    admin_token(data)
    if not no_demo:
        key = seed_demo(store, data, RealClock().now_ms(), settings.demo_devices)
        if key is not None:
            out.print(f"Created the demo account; its key is also in {data / 'demo-api-key'}")
            out.print("Demo API key (shown once):")
            print(key, flush=True)


@account_app.command("create")
def account_create(
    name: Annotated[str, typer.Argument(help="Account name", show_default=False)],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """Create an account and print its API key once, alone on the last line.

    Example: foxden account create alice
    """
    store = open_database(settings_from(data_dir, database_url, config_file))
    from foxden import accounts

    try:
        account, key = accounts.create_account(store, name, RealClock().now_ms())
    except accounts.AccountError as exc:
        fail(str(exc), EXIT_API)
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
    settings = settings_from(data_dir, database_url, config_file)
    store = open_database(settings)
    from foxden import accounts
    from foxden.server.limits import utc_day

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
    name: Annotated[str, typer.Argument(help="Account name", show_default=False)],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """Give an account a new API key; the old key stops working at once.

    Example: foxden key rotate alice
    """
    store = open_database(settings_from(data_dir, database_url, config_file))
    from foxden import accounts

    try:
        key = accounts.rotate_key(store, name)
    except accounts.AccountError as exc:
        fail(str(exc), EXIT_API)
    out.print(f"New API key for {name!r} (the old one no longer works):")
    print(key, flush=True)


@device_app.command("add")
def device_add(
    account: Annotated[str, typer.Option(help="Account that owns the inverter")],
    model: Annotated[str, typer.Option(help=f"Model: {', '.join(models.MODELS)}")],
    sn: Annotated[
        str | None,
        typer.Option(
            help="Inverter serial number", show_default="the next free one of the model's form"
        ),
    ] = None,
    logger: Annotated[
        str | None,
        typer.Option(help="Data logger serial number", show_default="made from the serial"),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """Register an inverter and its data logger to an account, so plant/create can bind it.

    Without --sn the inverter gets a serial in the real form of its model (15 characters,
    e.g. 60KE8... for a KH8), its logger one of the real logger form, and a hybrid the
    battery list of its family (bcu, bmu modules with their capacity, ivu).

    Example: foxden device add --account alice --model KH8
    """
    store = open_database(settings_from(data_dir, database_url, config_file))
    from foxden import accounts

    try:
        device = accounts.add_device(store, account, sn, model, RealClock().now_ms(), logger)
    except accounts.AccountError as exc:
        fail(str(exc), EXIT_API)
    out.print(f"Registered {device.sn} ({device.model}, logger {device.logger_sn}) to {account!r}")


def _known_device(store: Store, sn: str, settings: config.Settings) -> None:
    if store.device(sn) is None:
        from foxden.store import describe

        fail(
            f"no inverter {sn} in the database at {describe(settings.database())}",
            EXIT_API,
            "check the serial number (foxden devices list) and --data-dir",
        )


@sim_app.command("fault")
@examples
def sim_fault(
    sn: Sn,
    code: Annotated[int, typer.Argument(help="Fault code from the fault table")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """Put an inverter in fault with a code from the fault table (runningState 165, no
    output, status 2 in device/list) until cleared. It takes effect at once: the inverter
    gets a fresh sample (1 ms after its newest) that shows the fault.

    Example: foxden sim fault {SN} 26
    """
    settings = settings_from(data_dir, database_url, config_file)
    store = open_database(settings)
    from foxden.protocol import catalogue
    from foxden.sim.runner import inject_fault

    _known_device(store, sn, settings)
    if code not in catalogue.faults():
        fail(f"unknown fault code {code}", EXIT_API, "see foxden faults")
    inject_fault(store, sn, code)
    _fresh_sample(store, settings, sn)
    out.print(f"{sn} is in fault {code}: {catalogue.fault_text(code)}")


@sim_app.command("clear")
@examples
def sim_clear(
    sn: Sn,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """Clear an inverter's fault, at once (a fresh sample, as for a fault).

    Example: foxden sim clear {SN}
    """
    settings = settings_from(data_dir, database_url, config_file)
    store = open_database(settings)
    from foxden.sim.runner import clear_fault

    _known_device(store, sn, settings)
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


def register(root: typer.Typer) -> None:
    root.command("init", rich_help_panel=PANEL)(init)
    root.add_typer(account_app, name="account", rich_help_panel=PANEL)
    root.add_typer(key_app, name="key", rich_help_panel=PANEL)
    root.add_typer(device_app, name="device", rich_help_panel=PANEL)
    root.add_typer(sim_app, name="sim", rich_help_panel=PANEL)
