"""``foxden modules``: the account's data loggers."""

from __future__ import annotations

import typer

from foxden.cli.common import PANEL, Call, api, print_json, show
from foxden.client import convenience as conv

MODULE_STATUS = {1: "online", 2: "offline"}
"""The module list's status codes, as the vendor document gives them."""


def _status(status: int) -> str:
    return f"{status} ({MODULE_STATUS.get(status, 'unknown')})"


@api
def modules(call: Call) -> None:
    """Every data logger (communication module) of the account (all pages).

    Example: foxden modules
    """
    with call.client() as client:
        found = list(conv.iter_modules(client))
    if call.as_json:
        return print_json(found)
    rows = [(m.moduleSN, m.stationID, _status(m.status), m.signal) for m in found]
    show(f"Modules ({len(found)})", ("moduleSN", "stationID", "status", "signal"), rows)


def register(root: typer.Typer) -> None:
    root.command("modules", rich_help_panel=PANEL)(modules)
