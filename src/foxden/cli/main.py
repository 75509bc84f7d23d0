"""``foxden``: run the server, manage accounts, keys and devices.

Examples:

    foxden serve --port 8080
    foxden account create alice
    foxden device add --account alice --sn 60H15000000001 --model H1-5.0-E
    foxden key rotate alice
    foxden account list
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from foxden import accounts, config
from foxden.clock import RealClock
from foxden.protocol import models
from foxden.server.limits import utc_day
from foxden.store import Store, StoreError, open_store

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

err = Console(stderr=True)
out = Console()

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
) -> None:
    """Run the Open API server.

    On an empty database it creates a demo account with three plants and six inverters,
    prints the demo API key once and writes it to DATA_DIR/demo-api-key (mode 0600).

    Example: foxden serve --port 8080 --data-dir ./foxden-data
    """
    import uvicorn

    from foxden.demo import seed_demo
    from foxden.server.app import create_app

    settings = _settings(data_dir, database_url, config_file, host=host, port=port)
    store = _store(settings)
    if not no_demo:
        key = seed_demo(store, Path(settings.data_dir), RealClock().now_ms())
        if key is not None:
            key_file = Path(settings.data_dir) / "demo-api-key"
            out.print(f"Created the demo account; its key is also in {key_file}")
            out.print("Demo API key (shown once):")
            print(key, flush=True)
    out.print(
        f"foxden serving the Open API on http://{settings.host}:{settings.port} "
        f"(database {settings.database()})"
    )
    uvicorn.run(
        create_app(settings, store),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
    )


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


def main() -> None:
    app(prog_name="foxden")


if __name__ == "__main__":  # pragma: no cover
    main()
