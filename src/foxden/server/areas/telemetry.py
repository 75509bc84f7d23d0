"""Telemetry: real-time (v0 and v1), history, report and generation.

The server only reads what the store holds: the newest sample, raw samples of a range, and
the 15-minute energy slots (reports and generation never scan raw samples).
"""

from __future__ import annotations

import calendar
import functools
import itertools
import math
import threading
import weakref
from array import array
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import numpy as np
import numpy.typing as npt

from foxden.protocol import limits, telemetry, timefmt
from foxden.protocol import structs as s
from foxden.server.context import Ctx, Handler
from foxden.server.envelope import Enveloped
from foxden.server.errors import invalid
from foxden.store import DayChunk, Device, Latest
from foxden.store.sql_telemetry import DAY_MS

_COUNTER_INDEX = {name: i for i, name in enumerate(telemetry.COUNTERS)}
_encode = msgspec.json.encode


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
    """One device's real-time answer as structs: the reference ``_ready`` is tested against."""
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


class _Ready:
    """A device's newest sample in wire form: each variable's ``{"variable":...}`` item
    (rounded to its quantum, text codes rendered) and the answer for all variables, made
    once per sample and zone and reused by every real-time call until the next sample."""

    __slots__ = ("all", "head", "items", "latest", "model", "zone")

    def __init__(self, device: Device, latest: Latest, zone: ZoneInfo) -> None:
        catalogue = telemetry.variables()
        self.latest, self.zone, self.model = latest, zone, device.model
        self.items = {
            name: _encode(
                s.RealValue(
                    variable=name,
                    name=catalogue[name].english,
                    value=_value(name, raw),
                    unit=catalogue[name].unit,
                )
            )
            for name, raw in latest.values.items()
            if name in catalogue
        }
        time = timefmt.format_local(latest.time_ms, zone)
        self.head = b'{"deviceSN":%s,"time":%s,"datas":[' % (_encode(device.sn), _encode(time))
        self.all = self.answer(device, None)

    def answer(self, device: Device, requested: list[str] | None) -> bytes:
        items = self.items
        picked = [items[name] for name in _wanted(device, requested) if name in items]
        return self.head + b",".join(picked) + b"]}"


_READY: dict[str, _Ready] = {}
"""By serial; an entry is used only while the store hands out the very same ``Latest`` (the
store keeps one per device until the next ingest) and the plant's zone is the same."""


def _real_bytes(
    ctx: Ctx, device: Device, latest: Latest | None, requested: list[str] | None
) -> bytes:
    if latest is None:
        return _encode(s.RealDevice(deviceSN=device.sn, time="", datas=[]))
    zone = ctx.zone_of(device)
    ready = _READY.get(device.sn)
    if (
        ready is None
        or ready.latest is not latest
        or ready.zone is not zone
        or ready.model != device.model
    ):
        if len(_READY) >= 10_000:
            _READY.clear()
        ready = _READY[device.sn] = _Ready(device, latest, zone)
    return ready.all if not requested else ready.answer(device, requested)


def _real_answer(ctx: Ctx, devices: list[Device], requested: list[str] | None) -> msgspec.Raw:
    latest = ctx.store.latest([d.sn for d in devices])
    parts = [_real_bytes(ctx, d, latest.get(d.sn), requested) for d in devices]
    return msgspec.Raw(b"[" + b",".join(parts) + b"]")


def real_v0(ctx: Ctx, req: s.RealQueryV0) -> msgspec.Raw:
    if req.sn:
        devices = [ctx.device(req.sn)]
    else:
        devices, _ = ctx.store.devices(ctx.account.id)
    return _real_answer(ctx, devices, req.variables)


def real_v1(ctx: Ctx, req: s.RealQueryV1) -> msgspec.Raw:
    owned = []
    for sn in dict.fromkeys(req.sns):
        device = ctx.store.device(sn)
        if device is not None and device.account_id == ctx.account.id:
            owned.append(device)
    return _real_answer(ctx, owned, req.variables)


def real_structs(ctx: Ctx, req: s.RealQueryV0) -> list[s.RealDevice]:
    """real/query v0 as structs, built plainly: what the dashboard reads, and what
    ``real_v0``'s bytes must equal."""
    if req.sn:
        devices = [ctx.device(req.sn)]
    else:
        devices, _ = ctx.store.devices(ctx.account.id)
    latest = ctx.store.latest([d.sn for d in devices])
    return [_real_device(ctx, d, latest.get(d.sn), req.variables) for d in devices]


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


_DAY_SERIALS = itertools.count()


class _Day:
    """One packed UTC day of a device rendered for a zone, a variable when first asked for:
    its ``{"time":...,"value":...}`` items joined by commas in one bytes object, where each
    item starts, and how many present items come before each sample. A history answer then
    takes one slice per variable and day, whatever the range (see ``history``); a day asked
    for five variables renders those five, not the hundred it may hold."""

    __slots__ = (
        "blobs",
        "content",
        "counts",
        "day",
        "names",
        "nbytes",
        "prefixes",
        "present",
        "serial",
        "starts",
        "times",
        "values",
    )

    def __init__(self, chunk: DayChunk, zone: ZoneInfo) -> None:
        self.serial = next(_DAY_SERIALS)
        """Told apart from every other rendering made in this process, so a kept answer can
        name the renderings it was made from without keeping them alive."""
        self.day = chunk.day
        self.content = chunk.content
        times, values = chunk.unpack()
        self.times = times
        self.values = values
        self.names = {name: j for j, name in enumerate(chunk.variables)}
        self.prefixes = [
            b'{"time":' + _encode(t) + b',"value":' for t in timefmt.format_local_many(times, zone)
        ]
        self.present = ~np.isnan(values)
        self.nbytes = (
            times.nbytes
            + values.nbytes
            + self.present.nbytes
            + sum(len(p) + _BYTES_OVERHEAD for p in self.prefixes)
        )
        """About how much memory it holds; grows as variables are rendered."""
        self.blobs: dict[str, memoryview] = {}
        self.starts: dict[str, array[int]] = {}
        self.counts: dict[str, array[int]] = {}
        """Per variable rendered: where each item starts in its blob, and how many present
        items come before each sample; machine integers (an ``array``, indexed as fast as a
        list), which the garbage collector never walks, unlike a list's int objects."""

    def _render(self, name: str) -> None:
        j = self.names[name]
        var = telemetry.variables()[name]
        column = self.values[:, j]
        if var.text:
            codes: list[float] = np.nan_to_num(column).tolist()
            table = {x: _encode(telemetry.render_text(name, x)) for x in set(codes)}
            tokens = [table[x] for x in codes]
        else:
            rounded = np.round(column, _decimals(var.quantum))
            tokens = _encode(rounded.tolist())[1:-1].split(b",") if len(column) else []
        keep = self.present[:, j]
        items = [
            p + v + b"}"
            for p, v, ok in zip(self.prefixes, tokens, keep.tolist(), strict=True)
            if ok
        ]
        # ``counts`` last: ``items`` takes a name in it as rendered (another thread may be
        # rendering the same variable meanwhile; both make the same bytes)
        blob = b",".join(items)
        self.blobs[name] = memoryview(blob)
        lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items)) + 1
        self.starts[name] = _positions(np.cumsum(lengths))
        self.counts[name] = _positions(np.cumsum(keep, dtype=np.int64))
        self.nbytes += len(blob) + 8 * (len(items) + len(keep) + 2)

    def items(self, name: str, first: int, stop: int) -> memoryview | None:
        """The items of samples ``first`` up to ``stop`` (exclusive) of a variable, joined
        (a view, not a copy); None when there are none (or the day lacks the variable)."""
        if name not in self.names:
            return None
        if name not in self.counts:
            self._render(name)
        counts = self.counts[name]
        k0, k1 = counts[first], counts[stop]
        if k0 == k1:
            return None
        starts = self.starts[name]
        return self.blobs[name][starts[k0] : starts[k1] - 1]


def _positions(running: npt.NDArray[np.int64]) -> array[int]:
    """0 followed by a running total, as machine integers."""
    out = array("q", [0])
    out.frombytes(running.astype(np.int64, copy=False).tobytes())
    return out


_BYTES_OVERHEAD = 33
"""What a bytes object holds beyond its bytes (CPython, 64-bit)."""
_DAYS: dict[tuple[str, int, str], _Day] = {}
_DAYS_LOCK = threading.Lock()
_DAYS_BUDGET = 64 * 2**20
"""Rendered device-days are kept up to about this many bytes in all (the oldest rendered is
dropped first): each is used only while the stored day is byte for byte the one it was
rendered from, so a day is rendered again only when its samples (or the plant's zone)
change. A full day of 100 variables holds about 285 kB (its decoded samples, each sample's
time already written out) and 12-20 kB more for each variable asked for: some 180 such days
with five variables asked for; a day of fewer variables, or one still filling, holds less.
Counted in bytes, not days (it was 128 days): a client that reads the last 24 hours (two
UTC days) of 100 inverters in turn asks for 200 days, and a cache of fewer days than one
cycle of requests holds none of them when they are asked again (docs/scaling.md)."""


def _rendered(sn: str, chunk: DayChunk, zone: ZoneInfo) -> _Day:
    key = (sn, chunk.day, zone.key)
    day = _DAYS.get(key)
    if day is None or day.content != chunk.content:
        day = _Day(chunk, zone)
        with _DAYS_LOCK:  # several threads may answer history at once (PostgreSQL readers)
            _DAYS.pop(key, None)
            held = day.nbytes + sum(d.nbytes for d in _DAYS.values())
            while _DAYS and held > _DAYS_BUDGET:
                held -= _DAYS.pop(next(iter(_DAYS))).nbytes
            _DAYS[key] = day
    return day


@functools.cache
def _variable_wrapping(name: str) -> tuple[bytes, bytes]:
    """What comes before and after a variable's points in a history answer."""
    var = telemetry.variables()[name]
    head = b'{"variable":%s,"name":%s,"data":[' % (_encode(name), _encode(var.english))
    unit = b',"unit":' + _encode(var.unit) if var.unit is not None else b""
    return head, b"]" + unit + b"}"


_WindowKey = tuple[str, str, int, int]
_DayKey = tuple[str, int, str]
_WINDOWS: weakref.WeakKeyDictionary[
    object, dict[_WindowKey, tuple[int, tuple[tuple[_DayKey, int], ...]]]
] = weakref.WeakKeyDictionary()
_WINDOWS_KEPT = 1024
"""Per store, the rendered days (by their key in ``_DAYS`` and serial) of a device's UTC
days ``first`` to ``last``, with the store's cache mark when they were read
(``Store.cache_mark``): the mark moves with every write of samples (here or, as far as the
store's view knows, in another process), so while it stands the stored days are those read
(a tail merged into its day keeps the samples as they were) and the store need not be read
again. Only ``_DAYS`` keeps renderings alive: a window whose days were dropped there is read
again."""


def _stored_days(ctx: Ctx, sn: str, begin: int, end: int, zone: ZoneInfo) -> list[_Day]:
    store = ctx.store
    mark = store.cache_mark()
    windows = _WINDOWS.get(store)
    key = (sn, zone.key, begin // DAY_MS, end // DAY_MS)
    seen = windows.get(key) if windows is not None else None
    if seen is not None and mark is not None and seen[0] == mark:
        kept = []
        for day_key, serial in seen[1]:
            day = _DAYS.get(day_key)
            if day is None or day.serial != serial:
                break
            kept.append(day)
        else:
            return kept
    days = [_rendered(sn, c, zone) for c in store.history_chunks(sn, begin, end)]
    if mark is not None and store.cache_mark() == mark:
        refs = tuple(((sn, d.day, zone.key), d.serial) for d in days)
        with _DAYS_LOCK:
            windows = _WINDOWS.setdefault(store, {})
            if len(windows) >= _WINDOWS_KEPT:
                windows.clear()
            windows[key] = (mark, refs)
    return days


_AnswerKey = tuple[str, tuple[str, ...], tuple[tuple[int, int, int], ...]]
_ANSWERS: dict[_AnswerKey, Enveloped] = {}
_ANSWERS_BYTES = [0]
_ANSWERS_KEPT_BYTES = 32 * 1024 * 1024
"""History answers kept, at most this many bytes in all (the oldest made is dropped first):
each under its device, the variables answered and, for each day, the rendering's serial and
the samples taken from it. A rendered day is used only while the stored day is the one it was
made from, so a kept answer is used only while its samples are the same, whatever the
window asked for (a dashboard asking for "the last 24 hours" every minute gets the same
answer until a new sample lands in it)."""


def _keep_answer(key: _AnswerKey, answer: Enveloped) -> None:
    size = len(answer.whole)
    if size > _ANSWERS_KEPT_BYTES:
        return
    with _DAYS_LOCK:
        if key in _ANSWERS:
            return
        while _ANSWERS and _ANSWERS_BYTES[0] + size > _ANSWERS_KEPT_BYTES:
            _ANSWERS_BYTES[0] -= len(_ANSWERS.pop(next(iter(_ANSWERS))).whole)
        _ANSWERS[key] = answer
        _ANSWERS_BYTES[0] += size


def history(ctx: Ctx, req: s.HistoryQuery) -> Enveloped:
    """Every stored point of the range, each with its own time string, as JSON bytes
    joined once with the envelope around them.

    Each stored day is rendered once for the plant's zone (``_Day``: numbers rounded in
    numpy and encoded by msgspec in one flat array, text codes rendered once per distinct
    code) and kept; an answer is then one bytes slice per variable and day, and is kept
    itself (``_ANSWERS``) for the next call that takes the same samples of the same rendered
    days. A test checks the bytes equal those of ``history_reference``, which builds the
    structs plainly."""
    device = ctx.device(req.sn)
    begin, end = _window(ctx, req)
    zone = ctx.zone_of(device)
    days = _stored_days(ctx, device.sn, begin, end, zone)
    variables: dict[str, None] = {}
    ranges = []
    for day in days:
        variables.update(dict.fromkeys(day.names))
        times = day.times
        ranges.append(
            (
                day,
                int(np.searchsorted(times, begin, "left")),
                int(np.searchsorted(times, end, "right")),
            )
        )
    wanted = tuple(n for n in _wanted(device, req.variables) if n in variables)
    key = (device.sn, wanted, tuple((day.serial, first, stop) for day, first, stop in ranges))
    kept = _ANSWERS.get(key)
    if kept is not None:
        return kept
    pieces: list[bytes | memoryview] = [b'[{"deviceSN":', _encode(device.sn), b',"datas":[']
    for k, name in enumerate(wanted):
        head, tail = _variable_wrapping(name)
        if k:
            pieces.append(b",")
        pieces.append(head)
        comma = False
        for day, first, stop in ranges:
            part = day.items(name, first, stop)
            if part is not None:
                if comma:
                    pieces.append(b",")
                pieces.append(part)
                comma = True
        pieces.append(tail)
    pieces.append(b"]}]")
    answer = Enveloped(pieces)
    _keep_answer(key, answer)
    return answer


def _local_ms(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0) -> int:
    """The instant local wall time ``year-month-day hour:00`` begins: a repeated hour starts
    at its first occurrence, a skipped one collapses onto the next real instant."""
    return timefmt.wall_start_ms(zone, year, month, day, hour)


@functools.lru_cache(maxsize=1024)
def _day_boundaries(zone: ZoneInfo, year: int, month: int, day: int) -> tuple[int, ...]:
    nxt = datetime(year, month, day) + timedelta(days=1)
    hours = [_local_ms(zone, year, month, day, h) for h in range(24)]
    return (*hours, _local_ms(zone, nxt.year, nxt.month, nxt.day))


@functools.lru_cache(maxsize=256)
def _month_boundaries(zone: ZoneInfo, year: int, month: int) -> tuple[int, ...]:
    days = calendar.monthrange(year, month)[1]
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    starts = [_local_ms(zone, year, month, d) for d in range(1, days + 1)]
    return (*starts, _local_ms(zone, *nxt, 1))


@functools.lru_cache(maxsize=64)
def _year_boundaries(zone: ZoneInfo, year: int) -> tuple[int, ...]:
    starts = [_local_ms(zone, year, m, 1) for m in range(1, 13)]
    return (*starts, _local_ms(zone, year + 1, 1, 1))


def day_boundaries(zone: ZoneInfo, year: int, month: int, day: int) -> list[int]:
    """25 instants: local 00:00 .. 23:00 of the day, then the next local midnight.

    On a 23-hour day the skipped hour's bucket is empty (0); on a 25-hour day the repeated
    hour's bucket holds both occurrences, so there are always 24 values that add up to the day.
    Where the clock goes back off the hour (Chatham: 03:45 to 02:45) the second 02:45-03:00
    stays in hour 3's bucket, which had begun (docs/decisions.md, DST days).
    """
    return list(_day_boundaries(zone, year, month, day))


def month_boundaries(zone: ZoneInfo, year: int, month: int) -> list[int]:
    """Local midnight of each day of the month, then of the next month's first day."""
    return list(_month_boundaries(zone, year, month))


def year_boundaries(zone: ZoneInfo, year: int) -> list[int]:
    """Local midnight of each month's first day, then of the next year's."""
    return list(_year_boundaries(zone, year))


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
    diffs = np.diff(readings, axis=0)
    if np.isfinite(diffs).all():  # the usual case: nothing to replace
        return diffs
    return np.nan_to_num(diffs, nan=0.0)


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
