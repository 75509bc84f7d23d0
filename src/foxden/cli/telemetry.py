"""``foxden real``, ``history``, ``report`` and ``generation``: the inverters' data."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from foxden.cli.common import (
    PANEL,
    Call,
    CliError,
    Sn,
    Vars,
    Zone,
    ZoneLookup,
    api,
    err_console,
    number,
    print_json,
    show,
    split_vars,
    time_range,
)
from foxden.cli.tidy import TidyRow, check_formats, write_csv, write_parquet
from foxden.client import convenience as conv
from foxden.client.generated import Client
from foxden.protocol import structs as s

POWER_VARIABLES = [
    "pvPower",
    "loadsPower",
    "feedinPower",
    "gridConsumptionPower",
    "batChargePower",
    "batDischargePower",
    "SoC",
]
ENERGY_VARIABLES = list(conv.REPORT_VARIABLES)
SHORT_NAMES = {
    "generation": "generation",
    "feedin": "feed-in",
    "gridConsumption": "grid import",
    "chargeEnergyToTal": "charge",
    "dischargeEnergyToTal": "discharge",
}

Csv = Annotated[bool, typer.Option("--csv", help="Print tidy rows as CSV")]
Parquet = Annotated[
    Path | None,
    typer.Option("--parquet", help="Write tidy rows to this Parquet file", dir_okay=False),
]
Year = Annotated[int, typer.Option("--year", help="Year, e.g. 2024")]


@api
def real(
    call: Call,
    sns: Annotated[
        list[str] | None,
        typer.Argument(
            help="Serial numbers, any number (none: every inverter)", show_default=False
        ),
    ] = None,
    variables: Vars = None,
) -> None:
    """Latest real-time data of any number of inverters (asked 50 at a time).

    Example: foxden real 60H15000000001 60H31000000002 --vars pvPower,SoC,loadsPower
    """
    with call.client() as client:
        names = split_vars(variables)
        devices = conv.real_time_many(client, sns, names) if sns else client.real_time(None, names)
    if call.as_json:
        return print_json(devices)
    rows = [
        (d.deviceSN, d.time, v.variable, v.name, number(v.value), v.unit or "")
        for d in devices
        for v in d.datas
    ]
    show("Real-time data", ("device", "time", "variable", "name", "value", "unit"), rows)


def _history_rows(device: s.HistoryDevice) -> list[TidyRow]:
    return [
        (r.device, r.variable, r.time.isoformat(), r.value, r.unit or "")
        for r in conv.history_to_rows(device)
    ]


def _history_table(device: s.HistoryDevice) -> None:
    by_time: dict[str, dict[str, float | str]] = {}
    instants: dict[str, float] = {}
    for var in device.datas:
        for p in var.data:
            by_time.setdefault(p.time, {})[var.variable] = p.value
            if p.time not in instants:
                instants[p.time] = conv.parse_time(p.time).timestamp()
    columns = ["time"] + [
        f"{v.variable} ({v.unit})" if v.unit else v.variable for v in device.datas
    ]
    rows = [
        [t]
        + [number(by_time[t][v.variable]) if v.variable in by_time[t] else "" for v in device.datas]
        for t in sorted(by_time, key=instants.__getitem__)
    ]
    show(f"History of {device.deviceSN} ({len(rows)} times)", columns, rows)


def pull_history(
    client: Client,
    sn: str,
    begin: datetime,
    end: datetime,
    names: list[str] | None,
    show_progress: bool | None,
) -> s.HistoryDevice:
    """History over any range in 24-hour windows, with a progress bar on a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    last_ms = conv.to_ms(end) - 1  # --to is excluded
    windows = conv.history_windows(begin, last_ms)
    console = err_console()
    visible = show_progress if show_progress is not None else console.is_terminal
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not visible or len(windows) < 2,
    ) as bar:
        task = bar.add_task(f"history {sn}", total=len(windows))

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done)

        return conv.history_range(client, sn, begin, last_ms, names, progress=progress)


@api
def history(
    call: Call,
    sn: Sn,
    start: Annotated[
        str | None, typer.Option("--from", help="Start, ISO 8601 (default: 24 h before --to)")
    ] = None,
    stop: Annotated[
        str | None, typer.Option("--to", help="End, ISO 8601, excluded (default: now)")
    ] = None,
    variables: Vars = None,
    zone: Zone = None,
    as_csv: Csv = False,
    parquet: Parquet = None,
    show_progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Progress bar on stderr (default: when stderr is a terminal)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """History of one inverter over any range, fetched in 24-hour windows and merged.

    Times without an offset are in the plant's zone (--tz, or read from the plant).

    Example: foxden history 60H15000000001 --from 2024-03-29 --to 2024-04-01
    --vars pvPower,SoC --csv > h.csv
    """
    check_formats(call.as_json, as_csv, parquet)
    with call.client() as client:
        lookup = ZoneLookup(client, sn, zone)
        begin, end = time_range(start, stop, lookup)
        device = pull_history(client, sn, begin, end, split_vars(variables), show_progress)
        rows = _history_rows(device)
        if parquet is not None:
            write_parquet(parquet, rows)
    if call.as_json:
        return print_json(device)
    if as_csv:
        return write_csv(rows)
    if parquet is None:
        _history_table(device)


def _report_label(start: datetime, dimension: str) -> str:
    if dimension == "day":
        return start.strftime("%H:%M %Z")
    return start.strftime("%Y-%m-%d" if dimension == "month" else "%Y-%m")


def report_dimension(month: int | None, day: int | None) -> str:
    try:
        return conv.dimension_of(month, day)
    except ValueError as exc:
        raise CliError(str(exc), "give --month with --day") from None


@api
def report(
    call: Call,
    sn: Sn,
    year: Year,
    month: Annotated[
        int | None, typer.Option("--month", help="Month 1-12 (month or day report)")
    ] = None,
    day: Annotated[int | None, typer.Option("--day", help="Day of the month (day report)")] = None,
    variables: Vars = None,
    zone: Zone = None,
    as_csv: Csv = False,
    parquet: Parquet = None,
) -> None:
    """Energy report by hour of a day, day of a month or month of a year.

    --year, --month and --day choose the dimension; each bucket starts at local time in the
    plant's zone.

    Example: foxden report 60H15000000001 --year 2024 --month 3 --day 31 --csv
    """
    check_formats(call.as_json, as_csv, parquet)
    with call.client() as client:
        dimension = report_dimension(month, day)
        names = split_vars(variables) or ENERGY_VARIABLES
        answer = client.report(sn, dimension, year, month, day, names)
        if call.as_json:
            return print_json(answer)
        tz = ZoneLookup(client, sn, zone)()
        rows = conv.report_to_rows(answer, tz, dimension, year, month, day)
        tidy: list[TidyRow] = [(sn, r.variable, r.start.isoformat(), r.value, r.unit) for r in rows]
        if parquet is not None:
            write_parquet(parquet, tidy)
    if as_csv:
        return write_csv(tidy)
    if parquet is not None:
        return
    starts = conv.bucket_starts(tz, dimension, year, month, day)
    table_rows = []
    for i, start in enumerate(starts):
        table_rows.append(
            [_report_label(start, dimension)]
            + [number(round(v.values[i], 3)) if i < len(v.values) else "" for v in answer]
        )
    table_rows.append(["total"] + [number(round(math.fsum(v.values), 3)) for v in answer])
    columns = ["start"] + [f"{SHORT_NAMES.get(v.variable, v.variable)} ({v.unit})" for v in answer]
    when = f"{year}" + (f"-{month:02d}" if month else "") + (f"-{day:02d}" if day else "")
    show(f"{dimension.capitalize()} report of {sn}, {when} ({tz})", columns, table_rows)


@api
def generation(call: Call, sn: Sn) -> None:
    """Energy generated today, this month and in all (kWh).

    Example: foxden generation 60H15000000001
    """
    with call.client() as client:
        g = client.generation(sn)
    if call.as_json:
        return print_json(g)
    periods = (("today", g.today), ("month", g.month), ("cumulative", g.cumulative))
    rows = [(name, number(round(value, 3))) for name, value in periods]
    show(f"Generation of {sn} (kWh)", ("period", "kWh"), rows)


def register(root: typer.Typer) -> None:
    root.command("real", rich_help_panel=PANEL)(real)
    root.command("history", rich_help_panel=PANEL)(history)
    root.command("report", rich_help_panel=PANEL)(report)
    root.command("generation", rich_help_panel=PANEL)(generation)
