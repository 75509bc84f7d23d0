"""``foxden gateway``: a foxden server mirroring an upstream account (the vendor cloud by
default), and its operator commands ``restrict`` and ``status``."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from foxden.cli.admin import (
    ConfigFile,
    DatabaseUrl,
    DataDir,
    admin_token,
    open_database,
    settings_from,
)
from foxden.cli.common import EXIT_API, EXIT_USAGE, Host, Port, fail, need
from foxden.cli.serve import listen, private_dir
from foxden.client.core import VENDOR_BASE_URL

PANEL = "This server's data"
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

gateway_app = typer.Typer(
    help="Mirror an upstream account and share its quota among local keys.",
    invoke_without_command=True,
)


@gateway_app.callback()
def gateway(
    ctx: typer.Context,
    upstream_url: Annotated[
        str,
        typer.Option(
            "--upstream-url",
            envvar="FOXDEN_UPSTREAM_URL",
            help="Open API base URL of the upstream (env FOXDEN_UPSTREAM_URL)",
        ),
    ] = VENDOR_BASE_URL,
    upstream_key: Annotated[
        str | None,
        typer.Option(
            "--upstream-key",
            envvar="FOXDEN_UPSTREAM_KEY",
            help="API key of the upstream account (env FOXDEN_UPSTREAM_KEY)",
            show_default="none: required",
        ),
    ] = None,
    host: Host = None,
    port: Port = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
    refresh_s: Annotated[
        float,
        typer.Option(
            "--refresh",
            min=10.0,
            help="Seconds between real-time refreshes (one v1 call per 50 inverters each)",
        ),
    ] = 300.0,
    backfill_days: Annotated[
        float,
        typer.Option(help="Days of upstream history to fetch when the store lacks them", min=0),
    ] = 7.0,
    record: Annotated[
        str | None,
        typer.Option(
            "--record",
            help="Keep every upstream exchange in DIR as JSON-lines cassettes (keys redacted); "
            "replay them with foxden serve --replay DIR",
            show_default="none: nothing kept",
        ),
    ] = None,
    limit_profile: Annotated[
        str | None,
        typer.Option(
            "--limit-profile",
            help="Limits on local keys: cloud, lenient or off (as foxden serve)",
            show_default="cloud",
        ),
    ] = None,
) -> None:
    """Serve the Open API from a mirror of an upstream account.

    The gateway reads the upstream's plants and inverters, refreshes real-time data of all
    of them in one v1 call per 50 inverters every --refresh seconds, backfills history the
    store lacks, and keeps everything in its own store. Local integrations use local keys
    (foxden account create NAME --data-dir DIR); their reads are answered from the store;
    their writes go to the upstream. The day's upstream budget is planned and shown at
    GET /admin/gateway (foxden gateway status), in /metrics and in the log.

    Example: foxden gateway --upstream-key KEY --data-dir ./gateway-data --port 8081
    """
    if ctx.invoked_subcommand is not None:
        return
    if not upstream_key:
        fail(
            "no upstream key",
            EXIT_USAGE,
            "give --upstream-key or FOXDEN_UPSTREAM_KEY (the key of the account to mirror)",
        )
    need("server", "foxden gateway")
    import uvicorn

    from foxden.gateway import create_gateway
    from foxden.server.http import raise_file_limit, uvicorn_config

    settings = settings_from(
        data_dir,
        database_url,
        config_file,
        host=host,
        port=port,
        limit_profile=limit_profile,
    )
    sock = listen(settings.host, settings.port)
    bound_port = sock.getsockname()[1]
    data = Path(settings.data_dir)
    private_dir(data)
    store = open_database(settings, create=True)
    token = settings.admin_token or admin_token(data)
    record_dir = Path(record) if record else None
    app = create_gateway(
        settings,
        store,
        upstream_url,
        upstream_key,
        refresh_s=refresh_s,
        backfill_days=backfill_days,
        record_dir=record_dir,
        admin_token=token,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    logging.getLogger("foxden.gateway").addHandler(handler)
    logging.getLogger("foxden.gateway").setLevel(logging.INFO)
    shown_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    out.print(
        f"foxden gateway serving the Open API on http://{shown_host}:{bound_port} "
        f"mirroring {upstream_url} (database {settings.database()}; real-time every "
        f"{refresh_s:g} s; backfill {backfill_days:g} days"
        + (f"; recording to {record_dir}" if record_dir else "")
        + f"; admin token in {data / 'admin-token'})"
    )
    out.print(
        "local keys: foxden account create NAME --data-dir "
        f"{data}; status: foxden gateway status --data-dir {data} --url "
        f"http://{shown_host}:{bound_port}"
    )
    raise_file_limit(settings.max_connections)
    config = uvicorn_config(app.app, settings, log_level=settings.log_level, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


@gateway_app.command("restrict")
def restrict(
    account: Annotated[str, typer.Argument(help="Local account name", show_default=False)],
    sns: Annotated[
        list[str] | None,
        typer.Argument(help="Serial numbers it may see; none: all again", show_default=False),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """Let a local key see only some mirrored inverters (and their plants and loggers).

    A running gateway applies it at its next call. Without serial numbers the account
    sees every mirrored inverter again.

    Example: foxden gateway restrict optimiser 66BH502404ED555 --data-dir ./gateway-data
    """
    settings = settings_from(data_dir, database_url, config_file)
    store = open_database(settings)
    from foxden.gateway.access import AccessError, access_path
    from foxden.gateway.access import restrict as write_rule

    if store.account_by_name(account) is None:
        fail(f"no account named {account!r}", EXIT_API)
    unknown = [sn for sn in sns or [] if store.device(sn) is None]
    if unknown:
        fail(f"no mirrored inverter {', '.join(unknown)}", EXIT_API)
    try:
        rules = write_rule(access_path(settings.data_dir), account, sns or [])
    except AccessError as exc:
        fail(str(exc), EXIT_USAGE)
    if account in rules:
        out.print(f"{account} sees {len(rules[account])} inverter(s): {', '.join(rules[account])}")
    else:
        out.print(f"{account} sees every mirrored inverter")


@gateway_app.command("status")
def status(
    url: Annotated[
        str, typer.Option("--url", help="The gateway's base URL")
    ] = "http://127.0.0.1:8080",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config_file: ConfigFile = None,
    as_json: Annotated[bool, typer.Option("--json", help="The status view as JSON")] = False,
) -> None:
    """The gateway's upstream health, today's budget plan and the mirror's progress
    (GET /admin/gateway with the admin token of the data dir).

    Example: foxden gateway status --url http://127.0.0.1:8081 --data-dir ./gateway-data
    """
    import httpx

    settings = settings_from(data_dir, database_url, config_file)
    token = settings.admin_token or admin_token(Path(settings.data_dir))
    try:
        response = httpx.get(
            url.rstrip("/") + "/admin/gateway", headers={"X-Admin-Token": token}, timeout=10
        )
    except httpx.HTTPError as exc:
        fail(f"{url}: {exc}", EXIT_API)
    if response.status_code != 200:
        fail(f"{url}/admin/gateway: HTTP {response.status_code} {response.text[:200]}", EXIT_API)
    view: dict[str, Any] = response.json()
    if as_json:
        print(json.dumps(view, indent=2))
        return
    out.print(render_status(view))


def render_status(view: dict[str, Any]) -> str:
    """The status view as a few lines of text."""
    up, budget, mirror = view["upstream"], view["budget"], view["mirror"]
    state = "up" if up["up"] else f"DOWN ({up['last_error']})"
    stale = mirror["stale_s"]
    lines = [
        f"upstream  {up['url']}: {state}; {up['calls']} calls since start "
        f"({up['failed']} failed, {up['refused_by_budget']} held back by the budget)",
        f"mirror    {mirror['plants']} plants, {mirror['inverters']} inverters; "
        f"{mirror['refreshes']} real-time refreshes every {mirror['refresh_s']:g} s"
        + (f"; real-time data STALE for {stale:.0f} s" if stale > 0 else ""),
        f"backfill  {mirror['backfill_days_done']} of {mirror['backfill_days_wanted']} "
        f"inverter-days checked; {mirror['backfill_samples']} samples fetched",
        f"budget    {budget['used']} of {budget['quota']} calls used today (UTC), "
        f"{budget['remaining']} left",
        f"  per day real-time {budget['realtime_per_day']} ({budget['batches']} batch(es) "
        f"every {budget['refresh_s']:g} s), inventory {budget['inventory_per_day']}, "
        f"writes reserve {budget['write_reserve']}, backfill up to "
        f"{budget['backfill_per_day']}, margin {budget['margin']}",
        f"  rest of today: real-time {budget['realtime_left']}, writes {budget['writes_left']},"
        f" backfill {budget['backfill_left']}",
    ]
    return "\n".join(lines)


def register(root: typer.Typer) -> None:
    root.add_typer(gateway_app, name="gateway", rich_help_panel=PANEL)
