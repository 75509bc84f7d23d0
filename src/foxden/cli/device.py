"""``foxden devices``, ``variables`` and ``faults``: inverters and the catalogues."""

from __future__ import annotations

import typer

from foxden.cli.common import PANEL, Call, Sn, api, english, number, pairs, print_json, show
from foxden.client import convenience as conv

devices_app = typer.Typer(help="Inverters of the account.", no_args_is_help=True)

STATUS = {1: "online", 2: "fault", 3: "offline"}
"""The device list's status codes, as the vendor document gives them."""


def status_text(status: int) -> str:
    return f"{status} ({STATUS.get(status, 'unknown')})"


@devices_app.command("list")
@api
def devices_list(call: Call) -> None:
    """Every inverter of the account (all pages).

    Example: foxden devices list
    """
    with call.client() as client:
        devices = list(conv.iter_devices(client))
    if call.as_json:
        return print_json(devices)
    rows = [
        (
            d.deviceSN,
            d.deviceType,
            d.productType,
            d.stationName,
            d.moduleSN,
            status_text(d.status),
            "yes" if d.hasBattery else "no",
        )
        for d in devices
    ]
    columns = ("deviceSN", "type", "product", "plant", "module", "status", "battery")
    show(f"Inverters ({len(devices)})", columns, rows)


@devices_app.command("show")
@api
def devices_show(call: Call, sn: Sn) -> None:
    """Details of one inverter: model, plant, firmware, batteries.

    Example: foxden devices show {SN}
    """
    with call.client() as client:
        d = client.device_detail(sn)
    if call.as_json:
        return print_json(d)
    batteries = "; ".join(
        f"{b.model} {b.batterySN}" + (f" {b.capacity} Wh" if b.capacity else "")
        for b in d.batteryList
    )
    pairs(
        f"Inverter {d.deviceSN}",
        [
            ("type", d.deviceType),
            ("product", d.productType),
            ("plant", f"{d.stationName} ({d.stationID})" if d.stationID else "(none)"),
            ("module", d.moduleSN),
            ("status", status_text(d.status)),
            ("capacity (kW)", number(d.capacity)),
            ("battery", batteries or ("yes" if d.hasBattery else "no")),
            ("scheduler", "yes" if d.function.scheduler else "no"),
            (
                "manager / master / slave",
                f"{d.managerVersion} / {d.masterVersion} / {d.slaveVersion}",
            ),
            ("hardware", d.hardwareVersion),
        ],
    )


@api
def variables(call: Call) -> None:
    """The variable table: names, units, which inverters have them.

    Example: foxden variables --json > variables.json
    """
    with call.client() as client:
        table = client.variables()
    if call.as_json:
        return print_json(table)
    rows = []
    for item in table:
        for name, body in item.items():
            rows.append((name, english(body.get("name", "")), body.get("unit", "")))
    show(f"Variables ({len(rows)})", ("variable", "name", "unit"), rows)


@api
def faults(call: Call) -> None:
    """The fault code table.

    Example: foxden faults
    """
    with call.client() as client:
        table = client.faults()
    if call.as_json:
        return print_json(table)
    rows = [(code, english(text)) for item in table for code, text in item.items()]
    show(f"Fault codes ({len(rows)})", ("code", "text"), rows)


def register(root: typer.Typer) -> None:
    root.add_typer(devices_app, name="devices", rich_help_panel=PANEL)
    root.command("variables", rich_help_panel=PANEL)(variables)
    root.command("faults", rich_help_panel=PANEL)(faults)
