"""``foxden modules`` and ``foxden module``: the account's data loggers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from foxden.cli.common import PANEL, Call, api, pairs, print_json, show
from foxden.client import convenience as conv

MODULE_STATUS = {1: "online", 2: "offline"}
"""The module list's status codes, as the vendor document gives them."""


def _status(status: int) -> str:
    return f"{status} ({MODULE_STATUS.get(status, 'unknown')})"


module_app = typer.Typer(help="One data logger: details and signal.", no_args_is_help=True)
LoggerSn = Annotated[str, typer.Argument(help="Data logger serial number", show_default=False)]


@api
def modules(call: Call) -> None:
    """Every data logger (communication module) of the account (all pages).

    Example: foxden modules
    """
    with call.client() as client:
        found = list(conv.iter_modules(client))
    if call.as_json:
        return print_json(found)
    rows = [(m.moduleSN, m.plantName, _status(m.status), m.signal, m.softVersion) for m in found]
    columns = ("moduleSN", "plant", "status", "signal", "version")
    show(f"Modules ({len(found)})", columns, rows)


@module_app.command("show")
@api
def module_show(call: Call, sn: LoggerSn) -> None:
    """One data logger: its plant, status, signal (0-100) and firmware versions.

    Example: foxden module show 609W6EUF46MB519
    """
    with call.client() as client:
        m = client.module_detail(sn)
    if call.as_json:
        return print_json(m)
    pairs(
        f"Data logger {m.moduleSN}",
        [
            ("plant", f"{m.plantName} ({m.stationID})" if m.stationID else "(none)"),
            ("status", m.status),
            ("signal (%)", m.signal),
            ("web / soft version", f"{m.webVersion} / {m.softVersion}"),
        ],
    )


@module_app.command("signal")
@api
def module_signal(call: Call, sn: LoggerSn) -> None:
    """A data logger's signal strength in dBm and when it last reported (module/getSignal).

    Example: foxden module signal 609W6EUF46MB519
    """
    with call.client() as client:
        s = client.module_signal(sn)
    if call.as_json:
        return print_json(s)
    when = datetime.fromtimestamp(s.timestamp / 1000, UTC).isoformat(timespec="seconds")
    pairs(f"Signal of {sn}", [("signal (dBm)", s.signal), ("reported", when)])


def register(root: typer.Typer) -> None:
    root.command("modules", rich_help_panel=PANEL)(modules)
    root.add_typer(module_app, name="module", rich_help_panel=PANEL)
