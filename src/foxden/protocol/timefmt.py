"""Time strings as the real cloud writes them: plant-local time, zone abbreviation, offset.

``2024-05-13 17:23:13 BST+0100``; zones without an abbreviation read ``+03+0300``.
"""

from __future__ import annotations

import functools
import itertools
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

if TYPE_CHECKING:  # numpy is the server's: the client imports this module without it
    import numpy as np
    import numpy.typing as npt

    I64 = npt.NDArray[np.int64]
_HOUR_MS = 3_600_000

_PATTERN = re.compile(
    r"^(?P<local>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\s*"
    r"(?P<abbr>\S*?)(?P<sign>[+-])(?P<hh>\d{2})(?P<mm>\d{2})$"
)


def zone_names() -> frozenset[str]:
    """Every zone name of the tz database (the ``tzdata`` package or the system's)."""
    return _zone_names()


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def zone(name: str) -> ZoneInfo:
    """The IANA zone by name; raises ValueError for a name the tz database does not list
    (so never a file-system error for a strange name)."""
    if name not in _zone_names():
        raise ValueError(f"unknown time zone {name[:80]!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def is_zone(name: str) -> bool:
    """Whether ``name`` is a known IANA zone."""
    try:
        zone(name)
    except ValueError:
        return False
    return True


def wall_start_ms(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0) -> int:
    """The first instant whose local wall time in ``zone`` is at or after ``year-month-day
    hour:00`` (ms): that time itself (its first occurrence where the clocks repeat it), or,
    where the clocks skip it, the instant they jump.

    Python's own reading of a skipped time (fold 0: the offset before the change) lands
    after the jump by however far the time is into the gap: an hour boundary inside a gap
    that does not start on the hour (Pacific/Chatham jumps from 02:45 to 03:45, skipping
    03:00) would begin its hour late, and the hour before would take instants of its own.
    """
    wall = datetime(year, month, day, tzinfo=zone) + timedelta(hours=hour)
    # adding to an aware datetime is wall-clock arithmetic, as wanted here
    naive = wall.replace(tzinfo=None)
    after = wall.timestamp()  # fold 0
    if datetime.fromtimestamp(after, zone).replace(tzinfo=None) == naive:
        return round(after * 1000)
    # skipped: read with the offset after the change it is before the jump, with the one
    # before it after the jump; the jump is the first second in between that reads later
    lo, hi = int(wall.replace(fold=1).timestamp()), int(after)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi * 1000


def format_local(ms: int, tz: ZoneInfo) -> str:
    """Milliseconds since the epoch as the cloud's local time string in ``tz``."""
    local = datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M:%S %Z%z")


def parse_local(text: str) -> datetime:
    """A cloud time string back to an aware datetime (its offset kept)."""
    match = _PATTERN.match(text.strip())
    if match is None:
        raise ValueError(f"not a cloud time string: {text!r}")
    minutes = int(match["hh"]) * 60 + int(match["mm"])
    offset = timedelta(minutes=minutes if match["sign"] == "+" else -minutes)
    naive = datetime.strptime(match["local"], "%Y-%m-%d %H:%M:%S")
    abbr: str = match["abbr"]
    return naive.replace(tzinfo=timezone(offset, abbr) if abbr else timezone(offset))


def _suffix(ms: int, zone: ZoneInfo) -> tuple[int, str]:
    """(UTC offset in ms, the " %Z%z" text) in force at ``ms``."""
    local = datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone)
    offset = local.utcoffset()
    assert offset is not None
    return round(offset.total_seconds() * 1000), local.strftime(" %Z%z")


def _zone_runs(times: list[int], zone: ZoneInfo) -> list[tuple[int, tuple[int, str]]]:
    """``[(first index, (offset, suffix)), ...]``: where each run of one suffix begins.

    Probes one sample an hour apart (and the last) and bisects between neighbours that
    differ, so it is exact unless a zone changed offset twice within one hour."""
    n = len(times)
    cache: dict[int, tuple[int, str]] = {}

    def at(i: int) -> tuple[int, str]:
        found = cache.get(i)
        if found is None:
            found = cache[i] = _suffix(times[i], zone)
        return found

    probes = [0]
    for i in range(1, n):
        if times[i] - times[probes[-1]] >= _HOUR_MS:
            probes.append(i)
    if probes[-1] != n - 1:
        probes.append(n - 1)
    runs = [(0, at(0))]
    for a, b in itertools.pairwise(probes):
        if at(a) == at(b):
            continue
        lo, hi = a, b  # at(lo) != at(hi): find the first index that differs from at(a)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if at(mid) == at(a):
                lo = mid
            else:
                hi = mid
        runs.append((hi, at(hi)))
    return runs


def format_local_many(times_ms: I64, zone: ZoneInfo) -> list[str]:
    """``[format_local(t, zone) for t in times_ms]`` for ascending ``times_ms``, fast:
    numpy writes the digits, the zone is asked once an hour of samples (and bisected where
    the offset changes)."""
    import numpy as np

    if len(times_ms) == 0:
        return []
    runs = _zone_runs(times_ms.tolist(), zone)
    offsets = np.empty(len(times_ms), dtype=np.int64)
    suffixes: list[str] = []
    bounds = [i for i, _ in runs[1:]] + [len(times_ms)]
    for (start, (offset, text)), stop in zip(runs, bounds, strict=True):
        offsets[start:stop] = offset
        suffixes += [text] * (stop - start)
    seconds = (times_ms + offsets) // 1000
    digits = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").tolist()
    return [f"{d[:10]} {d[11:]}{x}" for d, x in zip(digits, suffixes, strict=True)]
