"""``foxden setting`` and ``foxden time``: device settings by key and the inverter's clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from foxden.cli.common import (
    PANEL,
    Call,
    Sn,
    Zone,
    ZoneLookup,
    api,
    console,
    number,
    parse_iso,
    print_json,
    show,
    zone,
)
from foxden.protocol import structs as s

setting_app = typer.Typer(help="Device settings by key.", no_args_is_help=True)
time_app = typer.Typer(help="The inverter's clock.", no_args_is_help=True)

Key = Annotated[str, typer.Argument(help="Setting key, e.g. ExportLimit, MinSoc, WorkMode")]


@setting_app.command("get")
@api
def setting_get(call: Call, sn: Sn, key: Key) -> None:
    """One setting's value, unit and allowed values.

    Example: foxden setting get {SN} ExportLimit
    """
    with call.client() as client:
        v = client.setting(sn, key)
    if call.as_json:
        return print_json(v)
    if v.range is not None:
        allowed = f"{number(v.range.min)} to {number(v.range.max)}"
    else:
        allowed = ", ".join(v.enumList or [])
    rows = [(key, v.value, v.unit, allowed, number(v.precision))]
    show(f"Setting of {sn}", ("key", "value", "unit", "allowed", "precision"), rows)


@setting_app.command("set")
@api(json=False)
def setting_set(
    call: Call, sn: Sn, key: Key, value: Annotated[str, typer.Argument(help="New value")]
) -> None:
    """Change one setting.

    Example: foxden setting set {SN} ExportLimit 3000
    """
    with call.client() as client:
        client.set_setting(sn, key, value)
    console().print(f"Set {sn}: {key} = {value}")


@time_app.command("get")
@api
def time_get(call: Call, sn: Sn) -> None:
    """The inverter's clock (its local wall time).

    Example: foxden time get {SN}
    """
    with call.client() as client:
        t = client.device_time(sn)
    if call.as_json:
        return print_json(t)
    text = f"{t.year}-{t.month:0>2}-{t.day:0>2} {t.hour:0>2}:{t.minute:0>2}:{t.second:0>2}"
    show(f"Clock of {sn}", ("device time",), [(text,)])


@time_app.command("set")
@api(json=False)
def time_set(
    call: Call,
    sn: Sn,
    when: Annotated[
        str | None,
        typer.Argument(help="ISO 8601 time (default: now); without offset: plant wall time"),
    ] = None,
    plant_zone: Zone = None,
) -> None:
    """Set the inverter's clock, to now (in the plant's zone) or to a given time.

    Example: foxden time set {SN} 2024-05-13T17:23:00+01:00
    """
    with call.client() as client:
        lookup = ZoneLookup(client, sn, plant_zone)
        given = parse_iso(when, "time") if when else None
        if given is not None and given.tzinfo is None:
            local = given  # already the plant's wall time
        else:
            local = (given or datetime.now(UTC)).astimezone(zone(lookup()))
        client.set_device_time(
            sn,
            s.DeviceTime(
                year=str(local.year), month=str(local.month), day=str(local.day),
                hour=str(local.hour), minute=str(local.minute), second=str(local.second),
            ),
        )  # fmt: skip
    console().print(f"Set the clock of {sn} to {local:%Y-%m-%d %H:%M:%S}")


def register(root: typer.Typer) -> None:
    root.add_typer(setting_app, name="setting", rich_help_panel=PANEL)
    root.add_typer(time_app, name="time", rich_help_panel=PANEL)
