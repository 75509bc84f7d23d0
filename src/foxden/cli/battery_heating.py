"""``foxden battery-heating``: warming the battery in the cold, by temperature and time."""

from __future__ import annotations

from typing import Annotated

import typer

from foxden.cli.common import PANEL, Call, CliError, Sn, api, console, print_json, show

heating_app = typer.Typer(
    help="Battery heating: switch, start/end temperature, three time windows.",
    no_args_is_help=True,
)
WINDOWS = (1, 2, 3)
PARTS = ("StartHour", "StartMinute", "EndHour", "EndMinute")


@heating_app.command("get")
@api
def heating_get(call: Call, sn: Sn) -> None:
    """Every battery heating item: value, unit and allowed values.

    Example: foxden battery-heating get {SN:H3-10.0-E}
    """
    with call.client() as client:
        got = client.battery_heating(sn)
    if call.as_json:
        return print_json(got)
    values = {i.name: i.value for i in got.dataList}
    rows: list[tuple[str, str]] = [
        ("heating", values.get("batteryWarmUpEnable", "")),
        ("state", values.get("batteryWarmUpState", "")),
        ("start temperature", f"{values.get('startTemperature', '')} ℃"),
        ("end temperature", f"{values.get('endTemperature', '')} ℃"),
    ]
    for n in WINDOWS:
        clock = [values.get(f"time{n}{p}", "0").zfill(2) for p in PARTS]
        span = f"{clock[0]}:{clock[1]}-{clock[2]}:{clock[3]}"
        rows.append((f"window {n}", f"{values.get(f'time{n}Enable', '')} {span}"))
    show(f"Battery heating of {sn}", ("item", "value"), rows)


def _window(text: str, option: str) -> dict[str, str]:
    if text == "off":
        return {"Enable": "disable"}
    try:
        start, end = text.split("-")
        (sh, sm), (eh, em) = (part.split(":") for part in (start, end))
        clock = [str(int(v)) for v in (sh, sm, eh, em)]
    except ValueError:
        raise CliError(f"{option}: expected HH:MM-HH:MM or off, got {text!r}") from None
    return {"Enable": "enable", **dict(zip(PARTS, clock, strict=True))}


Window = Annotated[
    str | None,
    typer.Option(help="HH:MM-HH:MM to allow heating then, or off", show_default="unchanged"),
]


@heating_app.command("set")
@api(json=False)
def heating_set(
    call: Call,
    sn: Sn,
    on: Annotated[
        bool | None,
        typer.Option("--on/--off", help="Switch heating on or off", show_default="unchanged"),
    ] = None,
    start: Annotated[
        int | None, typer.Option("--start", help="Start below this ℃", show_default="unchanged")
    ] = None,
    end: Annotated[
        int | None, typer.Option("--end", help="Stop at this ℃", show_default="unchanged")
    ] = None,
    window1: Window = None,
    window2: Window = None,
    window3: Window = None,
) -> None:
    """Set battery heating; what is not given keeps its current setting.

    Example: foxden battery-heating set {SN:H3-10.0-E} --on --start 5 --end 12 --window1 02:00-06:00
    """
    with call.client() as client:
        current = {i.name: i.value for i in client.battery_heating(sn).dataList}
        body = {
            name: current[name]
            for name in ("batteryWarmUpEnable", "startTemperature", "endTemperature")
        }
        for n in WINDOWS:
            for part in ("Enable", *PARTS):
                body[f"time{n}{part}"] = current[f"time{n}{part}"]
        if on is not None:
            body["batteryWarmUpEnable"] = "enable" if on else "disable"
        if start is not None:
            body["startTemperature"] = str(start)
        if end is not None:
            body["endTemperature"] = str(end)
        for n, given in zip(WINDOWS, (window1, window2, window3), strict=True):
            if given is not None:
                for part, value in _window(given, f"--window{n}").items():
                    body[f"time{n}{part}"] = value
        client.set_battery_heating(sn, body)
    console().print(f"Set battery heating of {sn}: {body['batteryWarmUpEnable']}")


def register(root: typer.Typer) -> None:
    root.add_typer(heating_app, name="battery-heating", rich_help_panel=PANEL)
