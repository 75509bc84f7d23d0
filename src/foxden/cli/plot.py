"""``foxden plot``: charts of history and reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from foxden.cli.common import (
    EXIT_USAGE,
    PANEL,
    Call,
    CliError,
    From,
    Sn,
    To,
    Zone,
    ZoneLookup,
    api,
    err_console,
    fail,
    need,
    split_vars,
    time_range,
    vars_option,
)
from foxden.cli.telemetry import (
    ENERGY_VARIABLES,
    POWER_VARIABLES,
    Year,
    pull_history,
    report_dimension,
)
from foxden.client import convenience as conv
from foxden.protocol import structs as s
from foxden.protocol import timefmt

plot_app = typer.Typer(
    help="Charts of history and reports (PNG, SVG, PDF, JPEG ...).", no_args_is_help=True
)

FORMATS = ("png", "svg", "pdf", "jpg", "jpeg", "webp", "tif", "tiff", "eps", "ps")
"""What matplotlib writes (JPEG, WebP and TIFF through Pillow, which it requires)."""
Out = Annotated[
    Path,
    typer.Option(
        "--out",
        help="File to write; its extension gives the format: " + ", ".join(FORMATS),
        dir_okay=False,
        show_default=False,
    ),
]
Width = Annotated[int, typer.Option("--width", help="Width in pixels", min=200, max=8000)]
Height = Annotated[int, typer.Option("--height", help="Height in pixels", min=150, max=8000)]
DPI = 100


def _figure(width: int, height: int) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")


def chart_format(out: Path) -> str:
    """The format ``--out`` names by its extension, checked before any call."""
    need("plot", "foxden plot")
    suffix = out.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        fail(
            f"--out {out}: cannot tell the chart format from "
            f"{'.' + suffix if suffix else 'a name without extension'}",
            EXIT_USAGE,
            "end the name in " + ", ".join(f".{f}" for f in FORMATS),
        )
    return suffix


def _save(fig: Any, out: Path) -> None:
    try:
        fig.savefig(str(out), dpi=DPI, format=chart_format(out))
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc}", "check the directory exists") from None
    err_console().print(f"Wrote {out}")


def plot_history_png(
    device: s.HistoryDevice, zone: str, out: Path, width: int = 1200, height: int = 600
) -> None:
    """Draw :func:`history_figure` to ``out``."""
    _save(history_figure(device, zone, width, height), out)


def history_figure(device: s.HistoryDevice, zone: str, width: int = 1200, height: int = 600) -> Any:
    """Power flows over time (left axis) with state of charge (right axis)."""
    import importlib

    mdates: Any = importlib.import_module("matplotlib.dates")  # its stubs leave these untyped
    tz = timefmt.zone(zone)
    fig = _figure(width, height)
    ax = fig.add_subplot()
    right = None
    left_units: list[str] = []
    first: datetime | None = None
    last: datetime | None = None
    for var in device.datas:
        points = [(conv.parse_time(p.time), p.value) for p in var.data]
        numeric = [(t, float(v)) for t, v in points if isinstance(v, int | float)]
        if not numeric:
            continue
        xs = mdates.date2num([t for t, _ in numeric])
        ys = [v for _, v in numeric]
        first = min(first, numeric[0][0]) if first else numeric[0][0]
        last = max(last, numeric[-1][0]) if last else numeric[-1][0]
        label = f"{var.name} ({var.unit})" if var.unit else var.name
        if var.unit == "%":
            right = right if right is not None else ax.twinx()
            right.plot(xs, ys, color="black", linestyle="--", linewidth=1.2, label=label)
        else:
            ax.plot(xs, ys, linewidth=1.2, label=label)
            if var.unit and var.unit not in left_units:
                left_units.append(var.unit)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %H:%M", tz=tz))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(tz=tz))
    ax.set_xlabel(f"Time ({zone})")
    quantity = "Power" if left_units in (["kW"], ["W"]) else "Value"
    ax.set_ylabel(f"{quantity} ({', '.join(left_units) or 'no unit'})")
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if right is not None:
        right.set_ylabel("State of charge (%)")
        right.set_ylim(0, 104)  # room above 100 %, so a full battery's line stays in sight
        right.axhline(100, color="grey", linestyle=":", linewidth=0.8)
        more_handles, more_labels = right.get_legend_handles_labels()
        handles += more_handles
        labels += more_labels
    if handles:
        fig.legend(handles, labels, loc="outside lower center", fontsize="small", ncols=4)
    span = (
        f"{first.astimezone(tz):%Y-%m-%d %H:%M} to {last.astimezone(tz):%Y-%m-%d %H:%M}"
        if first and last
        else "no data"
    )
    ax.set_title(f"{device.deviceSN}: power flows, {span} ({zone})")
    return fig


REPORT_STYLE: dict[str, tuple[str, str, int]] = {
    # variable: (label, colour, +1 energy in / -1 energy out)
    "generation": ("Inverter output (PV and battery)", "#f2b705", 1),
    "gridConsumption": ("Grid import", "#d1495b", 1),
    "dischargeEnergyToTal": ("Battery discharge", "#00798c", 1),
    "feedin": ("Feed-in (export)", "#66a182", -1),
    "loads": ("Loads", "#8d6a9f", -1),
    "chargeEnergyToTal": ("Battery charge", "#2e4057", -1),
}
PV = "PVEnergyTotal"
"""Drawn as a line over the bars: the PV yield feeds the inverter's output (and the battery),
so stacking it would count it twice."""
CHART_VARIABLES = [*ENERGY_VARIABLES, PV]
BATTERY_FLOWS = ("dischargeEnergyToTal", "chargeEnergyToTal")
"""Drawn as narrow bars beside the stacks: the inverter's output already holds what the
battery gives, so stacking it again would count it twice."""


def plot_report_png(
    answer: Sequence[s.ReportVariable],
    sn: str,
    zone: str,
    dimension: str,
    year: int,
    month: int | None,
    day: int | None,
    out: Path,
    width: int = 1200,
    height: int = 600,
) -> None:
    """Draw :func:`report_figure` to ``out``."""
    _save(report_figure(answer, sn, zone, dimension, year, month, day, width, height), out)


def hour_label(hour: int, start: datetime, end: datetime) -> str:
    """A day report's bucket by its wall-clock hour, with its length when a clock change
    makes it other than one hour (0 h: the hour the clocks skip; 2 h: the one they repeat)."""
    length = (end.timestamp() - start.timestamp()) / 3600  # real hours, not wall-clock ones
    return f"{hour:02d}" if length == 1 else f"{hour:02d}\n{length:g} h"


def report_figure(
    answer: Sequence[s.ReportVariable],
    sn: str,
    zone: str,
    dimension: str,
    year: int,
    month: int | None,
    day: int | None,
    width: int = 1200,
    height: int = 600,
) -> Any:
    """Stacked energy bars per bucket: energy in above zero, energy out below; PV production
    as a line over them."""
    starts = conv.bucket_starts(zone, dimension, year, month, day)
    xs = list(range(len(starts)))
    fig = _figure(width, height)
    ax = fig.add_subplot()
    up = [0.0] * len(xs)
    down = [0.0] * len(xs)
    for var in answer:
        label, colour, sign = REPORT_STYLE.get(var.variable, (var.variable, "#888888", 1))
        values = [float(v) for v in var.values[: len(xs)]]
        values += [0.0] * (len(xs) - len(values))
        heights = [sign * v for v in values]
        if var.variable == PV:
            ax.plot(xs, values, color="#e07b00", marker="o", markersize=3, linewidth=1.6,
                    label="PV production", zorder=3)  # fmt: skip
            continue
        if var.variable in BATTERY_FLOWS:
            ax.bar([x + 0.3 for x in xs], heights, color=colour, label=label, width=0.25,
                   edgecolor="black", linewidth=0.3)  # fmt: skip
            continue
        base = up if sign > 0 else down
        ax.bar([x - 0.12 for x in xs], heights, bottom=list(base), color=colour, label=label,
               width=0.55)  # fmt: skip
        for i, h in enumerate(heights):
            base[i] += h
    ax.axhline(0, color="black", linewidth=0.8)
    ax.relim()
    ax.autoscale_view()
    ax.margins(y=0.08)
    if dimension == "day":
        buckets = conv.day_buckets(zone, year, month or 0, day or 0)  # bucket_starts checked both
        labels = [hour_label(h, a, b) for h, (a, b) in enumerate(buckets)]
        axis = f"Hour starting ({zone})"
        what = f"by hour, {year}-{month:02d}-{day:02d}"
    elif dimension == "month":
        labels = [f"{t:%d}" for t in starts]
        axis = f"Day ({zone})"
        what = f"by day, {year}-{month:02d}"
    else:
        labels = [f"{t:%b}" for t in starts]
        axis = f"Month ({zone})"
        what = f"by month, {year}"
    ax.set_xticks(xs, labels)
    ax.set_xlabel(axis)
    ax.set_ylabel("Energy (kWh): in above 0, out below 0")
    ax.text(
        0.01,
        0.99,
        "narrow bars: battery flows (inside the inverter's output)",
        transform=ax.transAxes,
        va="top",
        fontsize="x-small",
        color="#444444",
    )
    ax.set_title(f"{sn}: energy {what} ({zone})")
    ax.grid(True, axis="y", alpha=0.3)
    if answer:
        fig.legend(loc="outside lower center", fontsize="small", ncols=5)
    return fig


@plot_app.command("history")
@api(json=False)
def plot_history(
    call: Call,
    sn: Sn,
    out: Out,
    start: From = None,
    stop: To = None,
    variables: Annotated[str | None, vars_option(",".join(POWER_VARIABLES))] = None,
    zone: Zone = None,
    width: Width = 1200,
    height: Height = 600,
) -> None:
    """Chart of power flows over time with state of charge on a second axis.

    Example: foxden plot history {SN} --from 2024-03-30 --to 2024-03-31 --out day.png
    """
    chart_format(out)
    with call.client() as client:
        lookup = ZoneLookup(client, sn, zone)
        begin, end = time_range(start, stop, lookup)
        names = split_vars(variables) or POWER_VARIABLES
        device = pull_history(client, sn, begin, end, names, None)
        plot_history_png(device, lookup(), out, width, height)


@plot_app.command("report")
@api(json=False)
def plot_report(
    call: Call,
    sn: Sn,
    out: Out,
    year: Year,
    month: Annotated[
        int | None, typer.Option("--month", help="Month 1-12", show_default="none")
    ] = None,
    day: Annotated[
        int | None, typer.Option("--day", help="Day of the month", show_default="none")
    ] = None,
    variables: Annotated[str | None, vars_option(",".join(CHART_VARIABLES))] = None,
    zone: Zone = None,
    width: Width = 1200,
    height: Height = 600,
) -> None:
    """Chart of a report: stacked energy per bucket, energy in above zero, out below.

    Example: foxden plot report {SN} --year 2024 --month 3 --out march.png
    """
    chart_format(out)
    with call.client() as client:
        dimension = report_dimension(month, day)
        names = split_vars(variables) or CHART_VARIABLES
        answer = client.report(sn, dimension, year, month, day, names)
        tz = ZoneLookup(client, sn, zone)()
        plot_report_png(answer, sn, tz, dimension, year, month, day, out, width, height)


def register(root: typer.Typer) -> None:
    root.add_typer(plot_app, name="plot", rich_help_panel=PANEL)
