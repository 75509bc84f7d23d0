"""Conveniences over the raw calls, for ``Client`` and ``AsyncClient`` alike.

The Open API answers one page, one batch of 50 inverters or one 24-hour window at a time,
and writes times as plant-local strings. These functions do the splitting, merging and
parsing that every program otherwise writes for itself:

- ``iter_plants``, ``iter_devices``, ``iter_modules``: every item of a list call, page by page;
- ``real_time_many``: real-time data of any number of inverters (v1 batches of 50);
- ``history_range``: history of any range (24-hour windows, merged, sorted, no duplicates);
- ``report_rows``: a report as tidy rows with the start of each bucket in the plant's zone;
- ``parse_time``: the cloud's ``2024-05-13 17:23:13 BST+0100`` as an aware datetime;
- ``remaining_quota``: calls left today.

Each has an ``a``-prefixed twin taking an ``AsyncClient`` (``aiter_devices``,
``ahistory_range`` ...). Pure helpers (``history_to_rows``, ``report_to_rows``,
``bucket_starts``, ``history_windows``) do no I/O.
"""

from __future__ import annotations

import asyncio
import calendar
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from foxden.client.generated import AsyncClient, Client
from foxden.protocol import limits, timefmt
from foxden.protocol import structs as s

T = TypeVar("T")

DAY_MS = 24 * 3600 * 1000
REAL_BATCH = limits.REAL_QUERY_MAX_SNS
HISTORY_WINDOW_MS = limits.HISTORY_MAX_SPAN_MS
REPORT_VARIABLES = ("generation", "feedin", "gridConsumption", "chargeEnergyToTal",
                    "dischargeEnergyToTal")  # fmt: skip

Progress = Callable[[int, int], None]
"""Called as ``progress(windows_done, windows_total)`` after each history window."""

Instant = datetime | int
"""An aware datetime, or milliseconds since the epoch."""


# ---------------------------------------------------------------- times


def parse_time(text: str) -> datetime:
    """The cloud's ``2024-05-13 17:23:13 BST+0100`` as an aware datetime (offset kept).

    Raises ValueError for anything else (an inverter without data answers ``""``).
    """
    return timefmt.parse_local(text)


def to_ms(when: Instant) -> int:
    """Milliseconds since the epoch; a naive datetime is refused (whose zone would it be?)."""
    if isinstance(when, int):
        return when
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when.isoformat()} has no time zone; give an aware datetime")
    return round(when.timestamp() * 1000)


def zone_info(zone: str | ZoneInfo) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else timefmt.zone(zone)


# ---------------------------------------------------------------- paging


def _done(page: s.PageResult[Any], seen: int) -> bool:
    return not page.data or seen >= page.total


def _iter_pages(fetch: Callable[[int, int], s.PageResult[T]], page_size: int) -> Iterator[T]:
    current, seen = 1, 0
    while True:
        page = fetch(current, page_size)
        yield from page.data
        seen += len(page.data)
        if _done(page, seen):
            return
        current += 1


async def _aiter_pages(
    fetch: Callable[[int, int], Awaitable[s.PageResult[T]]], page_size: int
) -> AsyncIterator[T]:
    current, seen = 1, 0
    while True:
        page = await fetch(current, page_size)
        for item in page.data:
            yield item
        seen += len(page.data)
        if _done(page, seen):
            return
        current += 1


def iter_plants(client: Client, page_size: int = 100) -> Iterator[s.PlantSummary]:
    """Every plant of the account, fetching page after page as needed."""
    return _iter_pages(client.plant_list, page_size)


def aiter_plants(client: AsyncClient, page_size: int = 100) -> AsyncIterator[s.PlantSummary]:
    return _aiter_pages(client.plant_list, page_size)


def iter_devices(client: Client, page_size: int = 100) -> Iterator[s.DeviceSummary]:
    """Every inverter of the account, fetching page after page as needed."""
    return _iter_pages(client.device_list, page_size)


def aiter_devices(client: AsyncClient, page_size: int = 100) -> AsyncIterator[s.DeviceSummary]:
    return _aiter_pages(client.device_list, page_size)


def iter_modules(client: Client, page_size: int = 100) -> Iterator[s.ModuleSummary]:
    """Every data logger of the account, fetching page after page as needed."""
    return _iter_pages(client.module_list, page_size)


def aiter_modules(client: AsyncClient, page_size: int = 100) -> AsyncIterator[s.ModuleSummary]:
    return _aiter_pages(client.module_list, page_size)


# ---------------------------------------------------------------- real time


def sn_batches(sns: Iterable[str], size: int = REAL_BATCH) -> list[list[str]]:
    """Serial numbers without repeats, in order, cut into batches the v1 call accepts."""
    unique = list(dict.fromkeys(sns))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


def real_time_many(
    client: Client, sns: Iterable[str], variables: list[str] | None = None
) -> list[s.RealDevice]:
    """Real-time data of any number of inverters: one v1 call per 50 serial numbers.

    Like the v1 call, serial numbers the account does not own are left out.
    """
    out: list[s.RealDevice] = []
    for batch in sn_batches(sns):
        out += client.real_time_v1(batch, variables)
    return out


async def areal_time_many(
    client: AsyncClient,
    sns: Iterable[str],
    variables: list[str] | None = None,
    *,
    concurrency: int = 1,
) -> list[s.RealDevice]:
    """Async ``real_time_many``; ``concurrency`` batches in flight (the client still paces)."""
    batches = sn_batches(sns)
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(batch: list[str]) -> list[s.RealDevice]:
        async with gate:
            return await client.real_time_v1(batch, variables)

    results = await asyncio.gather(*(one(b) for b in batches))
    return [device for batch in results for device in batch]


# ---------------------------------------------------------------- history


def history_windows(
    begin: Instant, end: Instant, window_ms: int = HISTORY_WINDOW_MS
) -> list[tuple[int, int]]:
    """``[begin, end]`` (both included, as the API has them) cut into windows of at most
    ``window_ms`` that share no millisecond, so no point is fetched twice."""
    lo, hi = to_ms(begin), to_ms(end)
    if hi < lo:
        raise ValueError("the end of a history range must not be before its beginning")
    if not 0 < window_ms <= HISTORY_WINDOW_MS:
        raise ValueError(f"window_ms must be from 1 to {HISTORY_WINDOW_MS}")
    windows = []
    start = lo
    while start <= hi:
        stop = min(start + window_ms - 1, hi)
        windows.append((start, stop))
        start = stop + 1
    return windows


class _Instants:
    """Time strings to instants, each string parsed once (variables share their times)."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}

    def __call__(self, text: str) -> float:
        instant = self._seen.get(text)
        if instant is None:
            instant = self._seen[text] = parse_time(text).timestamp()
        return instant


def merge_history(sn: str, parts: Iterable[Sequence[s.HistoryDevice]]) -> s.HistoryDevice:
    """The answers of several windows as one: each variable once (in order of first
    appearance), its points sorted by time, a point repeated at a window edge kept once."""
    instant = _Instants()
    merged: dict[str, s.HistoryVariable] = {}
    points: dict[str, dict[float, s.HistoryPoint]] = {}
    for answer in parts:
        for device in answer:
            for var in device.datas:
                target = merged.setdefault(
                    var.variable,
                    s.HistoryVariable(variable=var.variable, name=var.name, unit=var.unit, data=[]),
                )
                if target.unit is None and var.unit is not None:
                    target.unit = var.unit
                known = points.setdefault(var.variable, {})
                for point in var.data:
                    known.setdefault(instant(point.time), point)
    for name, var in merged.items():
        var.data = [point for _, point in sorted(points[name].items())]
    return s.HistoryDevice(deviceSN=sn, datas=list(merged.values()))


def history_range(
    client: Client,
    sn: str,
    begin: Instant,
    end: Instant,
    variables: list[str] | None = None,
    *,
    window_ms: int = HISTORY_WINDOW_MS,
    progress: Progress | None = None,
) -> s.HistoryDevice:
    """History of one inverter over any range ``[begin, end]``: one call per 24-hour window,
    the answers merged (sorted, no duplicate points). ``progress(done, total)`` after each."""
    windows = history_windows(begin, end, window_ms)
    parts = []
    for done, (lo, hi) in enumerate(windows, 1):
        parts.append(client.history(sn, lo, hi, variables))
        if progress is not None:
            progress(done, len(windows))
    return merge_history(sn, parts)


async def ahistory_range(
    client: AsyncClient,
    sn: str,
    begin: Instant,
    end: Instant,
    variables: list[str] | None = None,
    *,
    window_ms: int = HISTORY_WINDOW_MS,
    progress: Progress | None = None,
    concurrency: int = 1,
) -> s.HistoryDevice:
    """Async ``history_range`` with up to ``concurrency`` windows in flight.

    Concurrency only overlaps waiting for answers: the client's pacer
    (``min_interval_s``) still spaces the calls, so the rate limit is kept.
    """
    windows = history_windows(begin, end, window_ms)
    gate = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def one(lo: int, hi: int) -> list[s.HistoryDevice]:
        nonlocal done
        async with gate:
            answer = await client.history(sn, lo, hi, variables)
        done += 1
        if progress is not None:
            progress(done, len(windows))
        return answer

    parts = await asyncio.gather(*(one(lo, hi) for lo, hi in windows))
    return merge_history(sn, parts)


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One point of history as a tidy row."""

    device: str
    variable: str
    time: datetime
    value: float | str
    unit: str | None


def history_to_rows(device: s.HistoryDevice) -> list[HistoryRow]:
    """Tidy rows (device, variable, time, value, unit), variable by variable, in time order."""
    parsed: dict[str, datetime] = {}
    return [
        HistoryRow(
            device.deviceSN,
            var.variable,
            parsed.get(p.time) or parsed.setdefault(p.time, parse_time(p.time)),
            p.value,
            var.unit,
        )
        for var in device.datas
        for p in var.data
    ]


# ---------------------------------------------------------------- reports


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One bucket of a report: ``start`` is when the bucket begins, in the plant's zone."""

    variable: str
    start: datetime
    value: float
    unit: str


def dimension_of(month: int | None, day: int | None) -> str:
    """The report dimension the given parts ask for: day, month or year."""
    if day is not None:
        if month is None:
            raise ValueError("a day report needs the month too")
        return "day"
    return "month" if month is not None else "year"


def _wall(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0) -> datetime:
    # the instant the server starts the bucket at, in the zone
    return datetime.fromtimestamp(timefmt.wall_start_ms(zone, year, month, day, hour) / 1000, zone)


def bucket_starts(
    zone: str | ZoneInfo,
    dimension: str,
    year: int,
    month: int | None = None,
    day: int | None = None,
) -> list[datetime]:
    """When each bucket of a report begins, as aware datetimes in ``zone``.

    ``day``: local 00:00 to 23:00, always 24. On a 23-hour day the skipped hour's bucket is
    empty and starts when the next one does (London, last Sunday of March: buckets 1 and 2
    both start at 02:00+01:00); on a 25-hour day the repeated hour's bucket is two hours long.
    ``month``: local midnight of each day. ``year``: local midnight of the 1st of each month.
    """
    tz = zone_info(zone)
    if dimension == "year":
        return [_wall(tz, year, m, 1) for m in range(1, 13)]
    if month is None:
        raise ValueError(f"a {dimension} report needs the month")
    if dimension == "month":
        days = calendar.monthrange(year, month)[1]
        return [_wall(tz, year, month, d) for d in range(1, days + 1)]
    if dimension == "day":
        if day is None:
            raise ValueError("a day report needs the day")
        return [_wall(tz, year, month, day, h) for h in range(24)]
    raise ValueError(f"dimension must be day, month or year, not {dimension!r}")


def day_buckets(
    zone: str | ZoneInfo, year: int, month: int, day: int
) -> list[tuple[datetime, datetime]]:
    """Where each of a day report's 24 buckets begins and ends, as aware datetimes in
    ``zone``: bucket ``h`` holds every instant whose local wall-clock hour is ``h``.

    The buckets add up to the whole local day, whatever its length: 23 hours on a spring DST
    day (the skipped hour's bucket begins and ends at the same instant), 25 on an autumn one
    (the repeated hour's bucket is two hours long), 23.5 or 24.5 where the clocks move by
    half an hour (Lord Howe Island).
    """
    tz = zone_info(zone)
    starts = bucket_starts(tz, "day", year, month, day)
    following = datetime(year, month, day) + timedelta(days=1)
    ends = [*starts[1:], _wall(tz, following.year, following.month, following.day)]
    return list(zip(starts, ends, strict=True))


def day_span(zone: str | ZoneInfo, year: int, month: int, day: int) -> tuple[datetime, datetime]:
    """The local day ``year-month-day`` in ``zone`` as ``[begin, end)``: its first instant
    and the next day's (23, 24 or 25 hours apart, or as far as the zone's rules say)."""
    buckets = day_buckets(zone, year, month, day)
    return buckets[0][0], buckets[-1][1]


def report_to_rows(
    report: Sequence[s.ReportVariable],
    zone: str | ZoneInfo,
    dimension: str,
    year: int,
    month: int | None = None,
    day: int | None = None,
) -> list[ReportRow]:
    """A report's values as tidy rows, variable by variable, bucket by bucket.

    A value beyond the last bucket (the real cloud has been seen to pad) is dropped.
    """
    starts = bucket_starts(zone, dimension, year, month, day)
    return [
        ReportRow(var.variable, start, float(value), var.unit)
        for var in report
        for start, value in zip(starts, var.values, strict=False)
    ]


def zone_of_plant(detail: s.PlantDetail | None) -> str:
    """The IANA zone of a plant (foxden answers UTC for an inverter in no plant)."""
    if detail is None:
        return "UTC"
    timefmt.zone(detail.timezone)  # unknown -> ValueError
    return detail.timezone


def plant_zone(client: Client, sn: str) -> str:
    """The IANA zone name of the plant an inverter belongs to (two calls)."""
    station = client.device_detail(sn).stationID
    return zone_of_plant(client.plant_detail(station) if station else None)


async def aplant_zone(client: AsyncClient, sn: str) -> str:
    station = (await client.device_detail(sn)).stationID
    return zone_of_plant(await client.plant_detail(station) if station else None)


def report_rows(
    client: Client,
    sn: str,
    year: int,
    month: int | None = None,
    day: int | None = None,
    variables: list[str] | None = None,
    *,
    zone: str | None = None,
) -> list[ReportRow]:
    """A day (24 rows), month (one per day) or year (12) report of each variable as tidy
    rows. The dimension follows from the parts given; without ``zone`` it is read from the
    plant's detail (two more calls)."""
    dimension = dimension_of(month, day)
    tz = zone or plant_zone(client, sn)
    report = client.report(sn, dimension, year, month, day, variables)
    return report_to_rows(report, tz, dimension, year, month, day)


async def areport_rows(
    client: AsyncClient,
    sn: str,
    year: int,
    month: int | None = None,
    day: int | None = None,
    variables: list[str] | None = None,
    *,
    zone: str | None = None,
) -> list[ReportRow]:
    dimension = dimension_of(month, day)
    tz = zone or await aplant_zone(client, sn)
    report = await client.report(sn, dimension, year, month, day, variables)
    return report_to_rows(report, tz, dimension, year, month, day)


# ---------------------------------------------------------------- quota


def _remaining(count: s.AccessCount) -> int:
    return int(float(count.remaining))


def remaining_quota(client: Client) -> int:
    """Calls left today on this key (checking does not spend one)."""
    return _remaining(client.access_count())


async def aremaining_quota(client: AsyncClient) -> int:
    return _remaining(await client.access_count())
