"""``foxden battery soc`` and ``foxden charge-times``: SoC limits and force-charge periods."""

from __future__ import annotations

from typing import Annotated

import typer

from foxden.cli.common import PANEL, Call, CliError, Sn, api, console, print_json, show
from foxden.protocol import structs as s

battery_app = typer.Typer(help="Battery settings.", no_args_is_help=True)
soc_app = typer.Typer(help="Minimum state of charge.", no_args_is_help=True)
charge_app = typer.Typer(help="The two force-charge periods.", no_args_is_help=True)
battery_app.add_typer(soc_app, name="soc")


@soc_app.command("get")
@api
def soc_get(call: Call, sn: Sn) -> None:
    """The minimum state of charge, off grid and on grid.

    Example: foxden battery soc get {SN}
    """
    with call.client() as client:
        soc = client.battery_soc(sn)
    if call.as_json:
        return print_json(soc)
    show(f"Battery of {sn}", ("minSoc (%)", "minSocOnGrid (%)"), [(soc.minSoc, soc.minSocOnGrid)])


@soc_app.command("set")
@api(json=False)
def soc_set(
    call: Call,
    sn: Sn,
    min_soc: Annotated[
        int | None,
        typer.Option("--min-soc", help="Minimum SoC off grid (%)", show_default="unchanged"),
    ] = None,
    min_soc_on_grid: Annotated[
        int | None,
        typer.Option("--min-soc-on-grid", help="Minimum SoC on grid (%)", show_default="unchanged"),
    ] = None,
) -> None:
    """Set the minimum state of charge; a value not given keeps its current setting.

    Example: foxden battery soc set {SN} --min-soc 15 --min-soc-on-grid 20
    """
    with call.client() as client:
        if min_soc is None and min_soc_on_grid is None:
            raise CliError("nothing to set", "give --min-soc and/or --min-soc-on-grid")
        if min_soc is None or min_soc_on_grid is None:
            current = client.battery_soc(sn)
            min_soc = current.minSoc if min_soc is None else min_soc
            if min_soc_on_grid is None:
                min_soc_on_grid = current.minSocOnGrid
        client.set_battery_soc(sn, min_soc, min_soc_on_grid)
    console().print(f"Set {sn}: minSoc {min_soc} %, minSocOnGrid {min_soc_on_grid} %")


def _period(text: str, option: str) -> tuple[bool, s.ClockTimeOut, s.ClockTimeOut]:
    if text.strip().lower() == "off":
        return False, s.ClockTimeOut(hour=0, minute=0), s.ClockTimeOut(hour=0, minute=0)
    try:
        a, b = text.split("-")
        (ah, am), (bh, bm) = (tuple(int(x) for x in part.split(":")) for part in (a, b))
    except ValueError:
        raise CliError(f"{option} {text!r} is not HH:MM-HH:MM or off", "e.g. 02:00-05:30") from None
    return True, s.ClockTimeOut(hour=ah, minute=am), s.ClockTimeOut(hour=bh, minute=bm)


def _clock(t: s.ClockTimeOut) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


@charge_app.command("get")
@api
def charge_get(call: Call, sn: Sn) -> None:
    """The two force-charge periods.

    Example: foxden charge-times get {SN}
    """
    with call.client() as client:
        t = client.charge_times(sn)
    if call.as_json:
        return print_json(t)
    rows = [
        (1, "on" if t.enable1 else "off", _clock(t.startTime1), _clock(t.endTime1)),
        (2, "on" if t.enable2 else "off", _clock(t.startTime2), _clock(t.endTime2)),
    ]
    show(f"Force charge of {sn}", ("period", "enabled", "start", "end"), rows)


Period = Annotated[
    str | None,
    typer.Option(help="HH:MM-HH:MM to charge then, or off", show_default="unchanged"),
]


@charge_app.command("set")
@api(json=False)
def charge_set(call: Call, sn: Sn, period1: Period = None, period2: Period = None) -> None:
    """Set the force-charge periods; a period not given keeps its current setting.

    Example: foxden charge-times set {SN} --period1 02:00-05:30 --period2 off
    """
    with call.client() as client:
        if period1 is None and period2 is None:
            raise CliError("nothing to set", "give --period1 and/or --period2")
        p1 = _period(period1, "--period1") if period1 is not None else None
        p2 = _period(period2, "--period2") if period2 is not None else None
        if p1 is None or p2 is None:
            t = client.charge_times(sn)
            p1 = p1 or (t.enable1, t.startTime1, t.endTime1)
            p2 = p2 or (t.enable2, t.startTime2, t.endTime2)
        times = s.ForceChargeTimes(
            enable1=p1[0], startTime1=p1[1], endTime1=p1[2],
            enable2=p2[0], startTime2=p2[1], endTime2=p2[2],
        )  # fmt: skip
        client.set_charge_times(sn, times)
    state = [f"{_clock(p[1])}-{_clock(p[2])}" if p[0] else "off" for p in (p1, p2)]
    console().print(f"Set {sn}: period 1 {state[0]}, period 2 {state[1]}")


def register(root: typer.Typer) -> None:
    root.add_typer(battery_app, name="battery", rich_help_panel=PANEL)
    root.add_typer(charge_app, name="charge-times", rich_help_panel=PANEL)
