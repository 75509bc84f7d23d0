"""``foxden schedule``: the scheduler's groups and its flag."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from foxden.cli.common import (
    PANEL,
    Call,
    CliError,
    FileArg,
    Sn,
    api,
    console,
    number,
    print_json,
    read_json_file,
    show,
)
from foxden.client import schedule

schedule_app = typer.Typer(help="The scheduler (time-of-use groups).", no_args_is_help=True)

PARAM_UNITS = {"importLimit": "W", "exportLimit": "W", "pvLimit": "W", "reactivePower": "Var"}
ApiVersion = Annotated[
    int,
    typer.Option(
        "--api",
        min=1,
        max=3,
        help="Scheduler API version: 1 (flat fields, 8 slots), 2 or 3 (extraParam; v3 lists "
        "active periods only). EVO models answer 2 and 3 only",
    ),
]


@schedule_app.command("show")
@api
def schedule_show(
    call: Call,
    sn: Sn,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list unused (Invalid) groups")
    ] = False,
    version: ApiVersion = 1,
) -> None:
    """The scheduler's groups.

    --json prints every field, unknown ones too, in a form that `foxden schedule set` takes
    back after editing.

    Example: foxden schedule show {SN} --json > schedule.json

    Example: foxden schedule show 60EVO100000001 --api 3
    """
    with call.client() as client:
        sched = schedule.get_schedule(client, sn, version)
    if call.as_json:
        return print_json(sched.to_wire())
    shown = [
        (i, g)
        for i, g in enumerate(sched.groups)
        if show_all or g.work_mode != schedule.INVALID_MODE
    ]
    extras = any(g.extra for _, g in shown)  # fields this client does not know
    params = sorted({name for _, g in shown for name in g.params})  # v2/v3 extraParam fields
    remain = any(g.remain for _, g in shown)
    flags = version != 3  # v3 lists active periods only: no per-group enable
    rows = [
        [i]
        + (["yes" if g.enable else "no"] if flags else [])
        + [g.start, g.end, g.work_mode, g.min_soc_on_grid, g.fd_soc, g.fd_pwr]
        + ["" if g.max_soc is None else g.max_soc]
        + [number(g.params[name]) if name in g.params else "" for name in params]
        + (["yes" if g.remain else ""] if remain else [])
        + ([", ".join(f"{k}={v}" for k, v in g.extra.items())] if extras else [])
        for i, g in shown
    ]
    columns = (
        ["#"]
        + (["enabled"] if flags else [])
        + ["start", "end", "workMode", "minSocOnGrid (%)", "fdSoc (%)", "fdPwr (W)", "maxSoc (%)"]
        + [f"{name} ({PARAM_UNITS.get(name, '')})".replace(" ()", "") for name in params]
        + (["remaining time"] if remain else [])
        + (["other fields"] if extras else [])
    )
    used = sum(g.work_mode != schedule.INVALID_MODE for g in sched.groups)
    slots = sched.max_group_count or len(sched.groups)
    title = f"Scheduler of {sn}: {'on' if sched.enable else 'off'}, {used} of {slots} groups used"
    show(title, columns, rows)


@schedule_app.command("set")
@api(json=False)
def schedule_set(call: Call, sn: Sn, file: FileArg, version: ApiVersion = 1) -> None:
    """Write the scheduler's groups from a JSON file, checked before sending.

    The file holds what `schedule show --json` prints (edited), or a plain list of groups,
    in the shape of the --api version (2 and 3: SoC and power fields in "extraParam", e.g.
    "extraParam": {"fdSoc": 100, "fdPwr": 3000, "exportLimit": 8000}). Writing a group that
    takes effect turns the scheduler on.

    Example: foxden schedule set {SN} schedule.json, with schedule.json holding
    [{"enable": 1, "startHour": 2, "startMinute": 0, "endHour": 5, "endMinute": 0,
    "workMode": "ForceCharge", "minSocOnGrid": 10, "fdSoc": 100, "fdPwr": 3000}]
    """
    with call.client() as client:
        try:
            data = json.loads(read_json_file(file))
        except ValueError as exc:
            raise CliError(f"{file}: not JSON: {exc}") from None
        if isinstance(data, list):
            data = {"groups": data}
        if not isinstance(data, dict):
            raise CliError(f"{file}: expected a list of groups or an object with groups")
        sched = schedule.Schedule.from_wire(data, version)
        if not sched.properties:  # the model's modes and ranges, to check against
            current = schedule.get_schedule(client, sn, version)
            sched.properties = current.properties
            sched.max_group_count = sched.max_group_count or current.max_group_count
        schedule.set_schedule(client, sn, sched)
    active = len(sched.active_groups)
    state = "on" if active else "off"
    console().print(
        f"Wrote {len(sched.groups)} groups ({active} active) to {sn}; scheduler {state}"
    )


def _flag(call: Call, sn: str, on: bool) -> None:
    with call.client() as client:
        client.set_scheduler_flag(sn, on)
    console().print(f"Scheduler of {sn} {'on' if on else 'off'}")


@schedule_app.command("enable")
@api(json=False)
def schedule_enable(call: Call, sn: Sn) -> None:
    """Turn the scheduler on (its groups take effect).

    Example: foxden schedule enable {SN}
    """
    _flag(call, sn, True)


@schedule_app.command("disable")
@api(json=False)
def schedule_disable(call: Call, sn: Sn) -> None:
    """Turn the scheduler off (the work mode setting applies again).

    Example: foxden schedule disable {SN}
    """
    _flag(call, sn, False)


def register(root: typer.Typer) -> None:
    root.add_typer(schedule_app, name="schedule", rich_help_panel=PANEL)
