"""``foxden quota``: the key's daily call quota."""

from __future__ import annotations

import typer

from foxden.cli.common import PANEL, Call, api, print_json, show


@api
def quota(call: Call) -> None:
    """Today's call quota of this key: total and remaining (checking it is free).

    Example: foxden quota
    """
    with call.client() as client:
        count = client.access_count()
    if call.as_json:
        return print_json(count)
    total, left = int(float(count.total)), int(float(count.remaining))
    show("API calls today", ("total", "used", "remaining"), [(total, total - left, left)])


def register(root: typer.Typer) -> None:
    root.command("quota", rich_help_panel=PANEL)(quota)
