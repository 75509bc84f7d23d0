"""``foxden real``, ``history``, ``report`` and ``generation``: the inverters' data."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from foxden.cli.common import (
    EXIT_API,
    PANEL,
    Call,
    CliError,
    From,
    Sn,
    To,
    Vars,
    Zone,
    ZoneLookup,
    api,
    err_console,
    fail,
    number,
    print_json,
    show,
    split_vars,
    time_range,
    vars_option,
)
from foxden.cli.tidy import (
    OutFile,
    TidyRow,
    check_formats,
    out_suffix,
    write_csv,
    write_out,
    write_parquet,
)
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
    typer.Option(
        "--parquet",
        help="Write tidy rows to this Parquet file",
        dir_okay=False,
        show_default="none",
    ),
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

    Example: foxden real {SN} {SN2} --vars pvPower,SoC,loadsPower
    """
    with call.client() as client:
        names = split_vars(variables)
        devices = conv.real_time_many(client, sns, names) if sns else client.real_time(None, names)
    # the cloud leaves out serials that are not the account's: say which, and fail
    unknown = [sn for sn in dict.fromkeys(sns or []) if sn not in {d.deviceSN for d in devices}]
    if call.as_json:
        print_json(devices)
    else:
        rows = [
            (d.deviceSN, d.time, v.variable, v.name, number(v.value), v.unit or "")
            for d in devices
            for v in d.datas
        ]
        if rows or not unknown:
            show("Real-time data", ("device", "time", "variable", "name", "value", "unit"), rows)
    for d in devices:
        if not d.datas:
            err_console().print(f"no real-time data for {d.deviceSN} yet")
    if unknown:
        fail(
            f"no inverter {', '.join(unknown)} on this account (no real-time data returned)",
            EXIT_API,
            "check the serial number (foxden devices list lists this account's)",
        )


def data_span(client: Client, sn: str) -> str:
    """Which times have data for ``sn``, for the note on an empty range: the newest sample
    (real-time data) and the first day with energy (year, then month reports)."""
    latest = client.real_time_v1([sn], None)
    if not latest or not latest[0].datas:
        return f"{sn} has no data yet"
    newest = latest[0].time
    year = conv.parse_time(newest).year
    first: tuple[int, int] | None = None
    for y in range(year, year - 5, -1):
        answer = client.report(sn, "year", y, None, None, ENERGY_VARIABLES)
        months = sorted({i for v in answer for i, value in enumerate(v.values[:12]) if value})
        if not months:
            break
        first = (y, months[0] + 1)
    if first is None:
        return f"{sn} has data up to {newest}"
    answer = client.report(sn, "month", first[0], first[1], None, ENERGY_VARIABLES)
    days = [i for v in answer for i, value in enumerate(v.values) if value]
    start = f"{first[0]}-{first[1]:02d}-{min(days) + 1 if days else 1:02d}"
    return f"{sn} has data from about {start} to {newest}"


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
    start: From = None,
    stop: To = None,
    variables: Annotated[
        str | None, vars_option("power flows and SoC: " + ",".join(POWER_VARIABLES))
    ] = None,
    zone: Zone = None,
    as_csv: Csv = False,
    parquet: Parquet = None,
    out: OutFile = None,
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

    Example: foxden history {SN} --from yesterday --to today --vars pvPower,SoC
    --out yesterday.csv
    """
    check_formats(call.as_json, as_csv, parquet)
    suffix = out_suffix(out)
    with call.client() as client:
        lookup = ZoneLookup(client, sn, zone)
        begin, end = time_range(start, stop, lookup)
        names = split_vars(variables) or POWER_VARIABLES
        device = pull_history(client, sn, begin, end, names, show_progress)
        rows = _history_rows(device)
        if parquet is not None:
            write_parquet(parquet, rows)
        if out is not None and suffix is not None:
            write_out(out, suffix, rows, device)
        empty = not any(v.data for v in device.datas)
        span = data_span(client, sn) if empty else ""
    if call.as_json:
        print_json(device)
    elif as_csv:
        write_csv(rows)
    elif parquet is None and out is None:
        _history_table(device)
    if empty:
        err_console().print(
            f"no data for {sn} from {begin.isoformat()} to {end.isoformat()}; {span}"
        )


def _report_label(start: datetime, dimension: str) -> str:
    return start.strftime("%Y-%m-%d" if dimension == "month" else "%Y-%m")


def hour_row_label(hour: int, start: datetime, end: datetime) -> str:
    """A day report's bucket as the table shows it: its wall-clock hour and zone name, and
    on a DST day what the clock change did to it (``01:00 (skipped)``, ``01:00 BST and GMT
    (2 h)``)."""
    length = (end.timestamp() - start.timestamp()) / 3600  # real hours, not wall-clock ones
    if length == 0:
        return f"{hour:02d}:00 (skipped)"
    last = (end.astimezone(UTC) - timedelta(microseconds=1)).astimezone(end.tzinfo)
    names = dict.fromkeys([start.strftime("%Z"), last.strftime("%Z")])
    label = f"{hour:02d}:00 {' and '.join(names)}"
    return label if length == 1 else f"{label} ({length:g} h)"


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
        int | None,
        typer.Option("--month", help="Month 1-12 (month or day report)", show_default="none"),
    ] = None,
    day: Annotated[
        int | None,
        typer.Option("--day", help="Day of the month (day report)", show_default="none"),
    ] = None,
    variables: Annotated[str | None, vars_option(",".join(ENERGY_VARIABLES))] = None,
    zone: Zone = None,
    as_csv: Csv = False,
    parquet: Parquet = None,
    out: OutFile = None,
) -> None:
    """Energy report by hour of a day, day of a month or month of a year.

    --year, --month and --day choose the dimension; each bucket starts at local time in the
    plant's zone.

    Example: foxden report {SN} --year 2024 --month 3 --day 31 --csv
    """
    check_formats(call.as_json, as_csv, parquet)
    suffix = out_suffix(out)
    with call.client() as client:
        dimension = report_dimension(month, day)
        names = split_vars(variables) or ENERGY_VARIABLES
        answer = client.report(sn, dimension, year, month, day, names)
        when = f"{year}" + (f"-{month:02d}" if month else "") + (f"-{day:02d}" if day else "")
        empty = not any(value for v in answer for value in v.values)
        if empty:
            err_console().print(f"no energy for {sn} in {when}; {data_span(client, sn)}")
        if call.as_json:
            return print_json(answer)
        tz = ZoneLookup(client, sn, zone)()
        rows = conv.report_to_rows(answer, tz, dimension, year, month, day)
        tidy: list[TidyRow] = [(sn, r.variable, r.start.isoformat(), r.value, r.unit) for r in rows]
        if parquet is not None:
            write_parquet(parquet, tidy)
        if out is not None and suffix is not None:
            write_out(out, suffix, tidy, answer)
    if as_csv:
        return write_csv(tidy)
    if parquet is not None or out is not None:
        return
    if dimension == "day":
        buckets = conv.day_buckets(tz, year, month or 0, day or 0)
        labels = [hour_row_label(h, a, b) for h, (a, b) in enumerate(buckets)]
    else:
        starts = conv.bucket_starts(tz, dimension, year, month, day)
        labels = [_report_label(start, dimension) for start in starts]
    table_rows = []
    for i, label in enumerate(labels):
        table_rows.append(
            [label] + [number(round(v.values[i], 3)) if i < len(v.values) else "" for v in answer]
        )
    table_rows.append(["total"] + [number(round(math.fsum(v.values), 3)) for v in answer])
    columns = ["start"] + [f"{SHORT_NAMES.get(v.variable, v.variable)} ({v.unit})" for v in answer]
    show(f"{dimension.capitalize()} report of {sn}, {when} ({tz})", columns, table_rows)


@api
def generation(call: Call, sn: Sn) -> None:
    """Energy generated today, this month and in all (kWh).

    Example: foxden generation {SN}
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
