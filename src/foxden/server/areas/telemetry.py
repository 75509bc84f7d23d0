"""Telemetry: real-time (v0 and v1), history, report and generation.

The server only reads what the store holds: the newest sample, raw samples of a range, and
the 15-minute energy slots (reports and generation never scan raw samples).
"""

from __future__ import annotations

import calendar
import itertools
import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import numpy as np

from foxden.protocol import limits, telemetry, timefmt
from foxden.protocol import structs as s
from foxden.server.context import Ctx, Handler
from foxden.server.errors import invalid
from foxden.store import Device, Latest

_COUNTER_INDEX = {name: i for i, name in enumerate(telemetry.COUNTERS)}


def _decimals(quantum: float) -> int:
    return max(0, -math.floor(math.log10(quantum) + 1e-9))


def _wanted(device: Device, requested: list[str] | None) -> list[str]:
    """The variables to answer: requested ones the device has (unknown ones left out)."""
    have = telemetry.variables_for(device.model)
    if not requested:
        return list(have)
    present = set(have)
    return [v for v in requested if v in present]


def _value(name: str, raw: float) -> float | str:
    var = telemetry.variables()[name]
    if var.text:
        return telemetry.render_text(name, raw)
    return round(raw, _decimals(var.quantum))


def _real_device(
    ctx: Ctx, device: Device, latest: Latest | None, requested: list[str] | None
) -> s.RealDevice:
    catalogue = telemetry.variables()
    if latest is None:
        return s.RealDevice(deviceSN=device.sn, time="", datas=[])
    datas = [
        s.RealValue(
            variable=name,
            name=catalogue[name].english,
            value=_value(name, latest.values[name]),
            unit=catalogue[name].unit,
        )
        for name in _wanted(device, requested)
        if name in latest.values
    ]
    time = timefmt.format_local(latest.time_ms, ctx.zone_of(device))
    return s.RealDevice(deviceSN=device.sn, time=time, datas=datas)


def real_v0(ctx: Ctx, req: s.RealQueryV0) -> list[s.RealDevice]:
    if req.sn:
        devices = [ctx.device(req.sn)]
    else:
        devices, _ = ctx.store.devices(ctx.account.id)
    latest = ctx.store.latest([d.sn for d in devices])
    return [_real_device(ctx, d, latest.get(d.sn), req.variables) for d in devices]


def real_v1(ctx: Ctx, req: s.RealQueryV1) -> list[s.RealDevice]:
    owned = []
    for sn in dict.fromkeys(req.sns):
        device = ctx.store.device(sn)
        if device is not None and device.account_id == ctx.account.id:
            owned.append(device)
    latest = ctx.store.latest([d.sn for d in owned])
    return [_real_device(ctx, d, latest.get(d.sn), req.variables) for d in owned]


def _window(ctx: Ctx, req: s.HistoryQuery) -> tuple[int, int]:
    span = limits.HISTORY_MAX_SPAN_MS
    if req.begin is None and req.end is None:
        end = ctx.now_ms()
        return end - limits.HISTORY_DEFAULT_SPAN_MS, end
    begin = req.begin if req.begin is not None else req.end - span  # type: ignore[operator]
    end = req.end if req.end is not None else begin + span
    if begin < 0:
        raise invalid("begin", "must be a time in milliseconds since 1970")
    if end < begin:
        raise invalid("end", "must not be before begin")
    if end - begin > span:
        raise invalid("end", "the span from begin to end must be at most 24 hours")
    return begin, end


def history_reference(ctx: Ctx, req: s.HistoryQuery) -> list[s.HistoryDevice]:
    """The plain rendering of history, kept as the reference the fast one is tested against."""
    device = ctx.device(req.sn)
    begin, end = _window(ctx, req)
    series = ctx.store.history(device.sn, begin, end)
    zone = ctx.zone_of(device)
    times = [timefmt.format_local(int(t), zone) for t in series.times_ms]
    catalogue = telemetry.variables()
    column = {v: i for i, v in enumerate(series.variables)}
    datas = []
    for name in _wanted(device, req.variables):
        j = column.get(name)
        if j is None:
            continue
        var = catalogue[name]
        col = series.values[:, j]
        present = ~np.isnan(col)
        if var.text:
            points = [
                s.HistoryPoint(time=t, value=telemetry.render_text(name, float(x)))
                for t, x, ok in zip(times, col.tolist(), present.tolist(), strict=True)
                if ok
            ]
        else:
            rounded = np.round(col, _decimals(var.quantum)).tolist()
            points = [
                s.HistoryPoint(time=t, value=x)
                for t, x, ok in zip(times, rounded, present.tolist(), strict=True)
                if ok
            ]
        datas.append(s.HistoryVariable(variable=name, name=var.english, data=points, unit=var.unit))
    return [s.HistoryDevice(deviceSN=device.sn, datas=datas)]


_encode = msgspec.json.encode


def history(ctx: Ctx, req: s.HistoryQuery) -> msgspec.Raw:
    """Every stored point of the range, each with its own time string.

    Rendered straight to JSON bytes without a Python object per point (a 24-hour,
    all-variable answer is ~20,000 points): each time's ``{"time":...,"value":`` prefix is
    made once and shared by every variable, numbers are rounded in numpy and encoded by
    msgspec in one flat array, text codes rendered once per distinct code. A test checks the
    bytes equal those of ``history_reference``, which builds the structs plainly."""
    device = ctx.device(req.sn)
    begin, end = _window(ctx, req)
    series = ctx.store.history(device.sn, begin, end)
    zone = ctx.zone_of(device)
    catalogue = telemetry.variables()
    column = {v: i for i, v in enumerate(series.variables)}
    wanted = [(name, column[name]) for name in _wanted(device, req.variables) if name in column]
    n = len(series.times_ms)
    values = series.values
    missing = np.isnan(values)
    holes: set[int] = set(np.flatnonzero(missing.any(axis=0)).tolist())

    # every numeric column's items, from one flat msgspec array
    numeric = [(name, j) for name, j in wanted if not catalogue[name].text]
    by_decimals: dict[int, list[int]] = {}
    for k, (name, _) in enumerate(numeric):
        by_decimals.setdefault(_decimals(catalogue[name].quantum), []).append(k)
    rounded = np.empty((len(numeric), n))
    picked = values[:, [j for _, j in numeric]].T
    for decimals, rows in by_decimals.items():
        rounded[rows] = np.round(picked[rows], decimals)
    flat = _encode(rounded.ravel().tolist())
    tokens = flat[1:-1].split(b",") if rounded.size else []
    items: dict[str, list[bytes]] = {
        name: tokens[k * n : (k + 1) * n] for k, (name, _) in enumerate(numeric)
    }
    for name, j in wanted:
        if catalogue[name].text:
            codes: list[float] = np.nan_to_num(values[:, j]).tolist()
            table = {x: _encode(telemetry.render_text(name, x)) for x in set(codes)}
            items[name] = [table[x] for x in codes]

    times = timefmt.format_local_many(series.times_ms, zone)
    first = [b'{"time":' + _encode(t) + b',"value":' for t in times]
    later = [b"}," + p for p in first]
    # prefix, value, prefix, value, ...: the prefixes stay in the even slots, each column's
    # values are slice-assigned to the odd ones and the whole list appended (C loops only)
    every: list[bytes] = [b""] * (2 * n)
    every[0::2] = [first[0], *later[1:]] if n else []
    pieces: list[bytes] = [b'[{"deviceSN":', _encode(device.sn), b',"datas":[']
    for k, (name, j) in enumerate(wanted):
        var = catalogue[name]
        if k:
            pieces.append(b",")
        pieces += (b'{"variable":', _encode(name), b',"name":', _encode(var.english))
        pieces.append(b',"data":[')
        column_items = items[name]
        if j in holes:
            kept = list(itertools.compress(range(n), (~missing[:, j]).tolist()))
            prefixes = [first[kept[0]]] + [later[i] for i in kept[1:]] if kept else []
            pieces += itertools.chain.from_iterable(
                zip(prefixes, [column_items[i] for i in kept], strict=True)
            )
            pieces.append(b"}]" if kept else b"]")
        else:
            every[1::2] = column_items
            pieces += every
            pieces.append(b"}]" if n else b"]")
        if var.unit is not None:
            pieces += (b',"unit":', _encode(var.unit))
        pieces.append(b"}")
    pieces.append(b"]}]")
    return msgspec.Raw(b"".join(pieces))


def _local_ms(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0) -> int:
    """The instant local wall time ``year-month-day hour:00`` begins (fold 0: a repeated hour
    starts at its first occurrence, a skipped one collapses onto the next real instant)."""
    local = datetime(year, month, day, tzinfo=zone) + timedelta(hours=hour)
    # adding to an aware datetime is wall-clock arithmetic, as wanted here
    return round(local.timestamp() * 1000)


def day_boundaries(zone: ZoneInfo, year: int, month: int, day: int) -> list[int]:
    """25 instants: local 00:00 .. 23:00 of the day, then the next local midnight.

    On a 23-hour day the skipped hour's bucket is empty (0); on a 25-hour day the repeated
    hour's bucket holds both occurrences, so there are always 24 values that add up to the day.
    """
    nxt = datetime(year, month, day) + timedelta(days=1)
    return [_local_ms(zone, year, month, day, h) for h in range(24)] + [
        _local_ms(zone, nxt.year, nxt.month, nxt.day)
    ]


def month_boundaries(zone: ZoneInfo, year: int, month: int) -> list[int]:
    days = calendar.monthrange(year, month)[1]
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    return [_local_ms(zone, year, month, d) for d in range(1, days + 1)] + [
        _local_ms(zone, *nxt, 1)
    ]


def year_boundaries(zone: ZoneInfo, year: int) -> list[int]:
    return [_local_ms(zone, year, m, 1) for m in range(1, 13)] + [_local_ms(zone, year + 1, 1, 1)]


def _boundaries(zone: ZoneInfo, req: s.ReportQuery) -> list[int]:
    if req.dimension == "year":
        return year_boundaries(zone, req.year)
    if req.month is None:
        raise invalid("month", f"required for dimension {req.dimension}")
    if req.dimension == "month":
        return month_boundaries(zone, req.year, req.month)
    if req.day is None:
        raise invalid("day", "required for dimension day")
    last = calendar.monthrange(req.year, req.month)[1]
    if req.day > last:
        raise invalid("day", f"{req.year}-{req.month:02d} has {last} days")
    return day_boundaries(zone, req.year, req.month, req.day)


def energy_differences(ctx: Ctx, device: Device, boundaries: list[int]) -> np.ndarray:
    """Counter differences over consecutive boundaries, one column per counter (0 for no data)."""
    readings = ctx.store.counters_before(device.sn, boundaries)
    return np.nan_to_num(np.diff(readings, axis=0), nan=0.0)


def report(ctx: Ctx, req: s.ReportQuery) -> list[s.ReportVariable]:
    device = ctx.device(req.sn)
    if req.dimension not in ("day", "month", "year"):
        raise invalid("dimension", f"must be day, month or year, got {req.dimension!r}")
    if not req.variables:
        raise invalid("variables", "name at least one energy variable")
    unknown = [v for v in req.variables if v not in _COUNTER_INDEX]
    if unknown:
        raise invalid(
            "variables", f"{', '.join(unknown)} not reportable; use {', '.join(telemetry.COUNTERS)}"
        )
    diffs = energy_differences(ctx, device, _boundaries(ctx.zone_of(device), req))
    has = set(telemetry.variables_for(device.model))
    return [
        s.ReportVariable(variable=name, unit="kWh", values=diffs[:, _COUNTER_INDEX[name]].tolist())
        for name in dict.fromkeys(req.variables)
        if name in has
    ]


def generation(ctx: Ctx, req: s.SnQuery) -> s.Generation:
    device = ctx.device(req.sn)
    zone = ctx.zone_of(device)
    today = datetime.fromtimestamp(ctx.now_ms() / 1000, zone)
    day = day_boundaries(zone, today.year, today.month, today.day)
    month = month_boundaries(zone, today.year, today.month)
    g = _COUNTER_INDEX["generation"]
    readings = ctx.store.counters_before(
        device.sn, [day[0], day[-1], month[0], month[-1], 2**52 - 2**52 % 900_000]
    )
    values = np.nan_to_num(readings[:, g], nan=0.0)
    return s.Generation(
        today=float(values[1] - values[0]),
        month=float(values[3] - values[2]),
        cumulative=float(values[4]),
    )


HANDLERS: dict[str, Handler] = {
    "device.real_v0": real_v0,
    "device.real_v1": real_v1,
    "device.history": history,
    "device.report": report,
    "device.generation": generation,
}
