"""``foxden plants``: list, show, create, update, delete."""

from __future__ import annotations

from typing import Annotated

import typer

from foxden.cli.common import (
    PANEL,
    Call,
    FileArg,
    api,
    console,
    decode_file,
    number,
    pairs,
    print_json,
    show,
)
from foxden.client import convenience as conv
from foxden.protocol import structs as s

plants_app = typer.Typer(help="Power stations (plants).", no_args_is_help=True)
StationId = Annotated[str, typer.Argument(help="Plant id (stationID)")]


@plants_app.command("list")
@api
def plants_list(call: Call) -> None:
    """Every plant of the account (all pages).

    Example: foxden plants list --base-url http://127.0.0.1:8080
    """
    with call.client() as client:
        plants = list(conv.iter_plants(client))
    if call.as_json:
        return print_json(plants)
    rows = [(p.stationID, p.name, p.ianaTimezone) for p in plants]
    show(f"Plants ({len(plants)})", ("stationID", "name", "timezone"), rows)


@plants_app.command("show")
@api
def plants_show(call: Call, station_id: StationId) -> None:
    """Details of one plant.

    Example: foxden plants show 0b7c6f2e-0d43-4b8e-9f2a-1f1c2d3e4f50
    """
    with call.client() as client:
        d = client.plant_detail(station_id)
    if call.as_json:
        return print_json(d)
    modules = ", ".join(f"{m.deviceSN} ({m.moduleSN})" for m in d.modules)
    pairs(
        f"Plant {station_id}",
        [
            ("name", d.stationName),
            ("country", d.country),
            ("city", d.city),
            ("address", d.address),
            ("postcode", d.postcode),
            ("capacity (kW)", number(d.capacity)),
            ("timezone", d.timezone),
            ("created", d.createDate),
            ("user", d.user.name),
            ("devices", modules),
        ],
    )


def _write_result(result: s.PlantWriteResult, verb: str, as_json: bool) -> None:
    if as_json:
        return print_json(result)
    console().print(f"{verb} plant {result.stationID}")
    if result.devices:
        rows = [
            (d.device.sn, d.errno, "bound" if d.errno == 0 else "not bound") for d in result.devices
        ]
        show(None, ("device", "errno", "result"), rows)


@plants_app.command("create")
@api
def plants_create(call: Call, file: FileArg) -> None:
    """Create a plant from a JSON file shaped like the API's request body.

    Example: foxden plants create home.json, with home.json holding
    {"details": {"name": "Home", "type": 2, "countryCode": "GB", "city": "Leeds",
    "address": "1 Lane", "postcode": "LS1"}, "timezone": "Europe/London",
    "devices": [{"sn": "60H15000000001"}]}
    """
    with call.client() as client:
        request = decode_file(file, s.PlantCreate)
        result = client.plant_create(request)
    _write_result(result, "Created", call.as_json)


@plants_app.command("update")
@api
def plants_update(call: Call, file: FileArg) -> None:
    """Update a plant from a JSON file (as for create, with details.stationID).

    Example: foxden plants update home.json
    """
    with call.client() as client:
        request = decode_file(file, s.PlantUpdate)
        result = client.plant_update(request)
    _write_result(result, "Updated", call.as_json)


@plants_app.command("delete")
@api(json=False)
def plants_delete(call: Call, station_id: StationId) -> None:
    """Delete a plant; its inverters stay registered to the account.

    Example: foxden plants delete 0b7c6f2e-0d43-4b8e-9f2a-1f1c2d3e4f50
    """
    with call.client() as client:
        client.plant_delete(station_id)
    console().print(f"Deleted plant {station_id}")


def register(root: typer.Typer) -> None:
    root.add_typer(plants_app, name="plants", rich_help_panel=PANEL)
