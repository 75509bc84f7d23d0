"""Time strings as the real cloud writes them: plant-local time, zone abbreviation, offset.

``2024-05-13 17:23:13 BST+0100``; zones without an abbreviation read ``+03+0300``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_PATTERN = re.compile(
    r"^(?P<local>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\s*"
    r"(?P<abbr>\S*?)(?P<sign>[+-])(?P<hh>\d{2})(?P<mm>\d{2})$"
)


def zone(name: str) -> ZoneInfo:
    """The IANA zone by name; raises ValueError for an unknown one."""
    if not name or name.startswith(("/", ".")) or ".." in name:
        raise ValueError(f"unknown time zone {name!r}")
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


def zone_names() -> set[str]:
    """Every IANA zone name this machine knows."""
    return available_timezones()
