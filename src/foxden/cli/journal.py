"""``foxden journal``: the Open API calls a running server received (its request journal).

Examples:

    foxden journal
    foxden journal --path /op/v0/device/real/query --errno 41200 --limit 20
    foxden journal --sn 60H1600000000X1 --json
    foxden journal --follow
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from foxden.cli.admin_options import AdminToken, BaseUrl, DataDir, admin_client, refused
from foxden.client.admin import AdminError

COLUMNS = ("time", "account", "method", "path", "sn", "errno", "msg", "ms", "chaos", "detail")


def register(app: typer.Typer) -> None:
    app.command("journal")(journal)


def _row(call: dict[str, Any]) -> tuple[str, ...]:
    when = datetime.fromtimestamp(call["time_ms"] / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]
    errno = call.get("errno")
    return (
        when,
        call.get("account") or "",
        call["method"],
        call["path"],
        ",".join(call.get("sns") or []),
        "" if errno is None else str(errno),
        call.get("msg") or (f"HTTP {call['status']}" if call.get("status") else "no answer"),
        f"{call['latency_ms']:.1f}",
        "" if call.get("chaos") is None else str(call["chaos"]),
        (call.get("detail") or "") if errno else "",
    )


def journal(
    path: Annotated[str | None, typer.Option(help="Only calls of this Open API path")] = None,
    sn: Annotated[str | None, typer.Option(help="Only calls naming this inverter")] = None,
    errno: Annotated[int | None, typer.Option(help="Only calls answered with this errno")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only calls from then on (ms or ISO 8601 with offset)")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many (the newest)", min=1)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print the calls as JSON")] = False,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing calls as they come")
    ] = False,
    base_url: BaseUrl = None,
    admin_token: AdminToken = None,
    data_dir: DataDir = None,
) -> None:
    """The Open API calls the server received, oldest first: time (UTC), account, method,
    path, inverters, errno, msg, latency, the chaos rule that answered and the detail
    that explains an error. Times are UTC."""
    filters: dict[str, Any] = {"path": path, "sn": sn, "errno": errno, "since": since}
    with admin_client(base_url, admin_token, data_dir) as admin:
        try:
            calls = admin.requests(**filters, limit=limit)
            if not follow:
                if as_json:
                    print(json.dumps(calls))
                    return
                table = Table(title=f"Open API calls ({len(calls)})")
                for column in COLUMNS:
                    table.add_column(column, no_wrap=column in ("path", "sn"))
                for call in calls:
                    table.add_row(*_row(call))
                Console(soft_wrap=True).print(table)
                return
            last = 0
            while True:
                for call in calls:
                    if call["id"] <= last:
                        continue
                    last = call["id"]
                    print(json.dumps(call) if as_json else "  ".join(_row(call)), flush=True)
                time.sleep(1.0)
                newest = {"since": calls[-1]["time_ms"]} if calls else {}
                calls = admin.requests(**{**filters, **newest}, limit=10_000)
        except AdminError as exc:
            refused(exc)
        except KeyboardInterrupt:
            return
