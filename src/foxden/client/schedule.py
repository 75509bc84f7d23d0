"""The scheduler (time-of-use) as an editable model, checked before it is sent.

``get_schedule`` reads the groups as the server wrote them, keeping every field, including
ones this client does not know (newer firmware, newer cloud). Edit the ``Group`` objects,
then ``set_schedule`` checks the server's rules locally (at most 8 groups, field ranges,
work modes and power limits from the get's ``properties``, start before end, no overlaps)
and sends the groups back with the unknown fields as they came. A rule broken raises
``ScheduleError`` (an ``InvalidParameterError``, errno 40257) or ``ScheduleOverlapError``
(a ``TimeOverlapError``, errno 42023) before any call is made, so no quota is spent.

    schedule = get_schedule(client, sn)
    schedule.groups[0] = Group.segment("02:00", "05:00", "ForceCharge", fd_soc=100, fd_pwr=3000)
    set_schedule(client, sn, schedule)
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from foxden.client import errors
from foxden.client.core import call
from foxden.client.generated import AsyncClient, Client
from foxden.protocol import limits
from foxden.protocol.endpoints import BY_NAME
from foxden.protocol.errno import ERRNO_TABLE, Errno

INVALID_MODE = "Invalid"
MAX_GROUPS = limits.SCHEDULER_MAX_GROUPS
ENABLE_PATH = BY_NAME["scheduler.enable"].path

# wire name -> (attribute, lowest, highest); ``None`` means no bound
_NUMERIC: dict[str, tuple[str, int, int | None]] = {
    "enable": ("enable", 0, 1),
    "startHour": ("start_hour", 0, 23),
    "startMinute": ("start_minute", 0, 59),
    "endHour": ("end_hour", 0, 23),
    "endMinute": ("end_minute", 0, 59),
    "minSocOnGrid": ("min_soc_on_grid", limits.SCHEDULER_MIN_SOC_ON_GRID, 100),
    "fdSoc": ("fd_soc", 0, limits.SCHEDULER_FD_SOC_MAX),
    "fdPwr": ("fd_pwr", 0, None),
    "maxSoc": ("max_soc", 10, 100),
}
WIRE_FIELDS = (
    "enable",
    "startHour",
    "startMinute",
    "endHour",
    "endMinute",
    "workMode",
    "minSocOnGrid",
    "fdSoc",
    "fdPwr",
    "maxSoc",
)


class ScheduleError(errors.InvalidParameterError):
    """The groups break one of the server's rules; raised before anything is sent."""

    def __init__(
        self,
        where: str,
        message: str,
        errno: int = Errno.PARAMETER_INVALID,
        *,
        field: str | None = None,
    ) -> None:
        detail = f"{where}: {message}" if message else where
        super().__init__(errno, ERRNO_TABLE[Errno(errno)].message, ENABLE_PATH, detail=detail)
        self.field = field or where


class ScheduleOverlapError(ScheduleError, errors.TimeOverlapError):
    """Two active groups overlap (errno 42023 on the server)."""

    def __init__(self, a: int, b: int) -> None:
        where = f"groups[{a}] and groups[{b}] overlap"
        super().__init__(where, "", Errno.TIME_OVERLAP, field=f"groups[{a}]")
        self.groups = (a, b)


def _clock(text: str | time) -> tuple[int, int]:
    if isinstance(text, time):
        return text.hour, text.minute
    try:
        hour, minute = text.split(":")
        return int(hour), int(minute)
    except ValueError:
        raise ValueError(f"not a clock time HH:MM: {text!r}") from None


@dataclass(slots=True)
class Group:
    """One time segment. ``extra`` holds the fields of a get this client does not know;
    they are sent back unchanged."""

    start_hour: int
    start_minute: int
    end_hour: int
    end_minute: int
    work_mode: str
    min_soc_on_grid: int = limits.SCHEDULER_MIN_SOC_ON_GRID
    fd_soc: int = limits.SCHEDULER_MIN_SOC_ON_GRID
    fd_pwr: int = 0
    max_soc: int | None = None
    enable: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def segment(
        cls,
        start: str | time,
        end: str | time,
        work_mode: str,
        *,
        min_soc_on_grid: int = limits.SCHEDULER_MIN_SOC_ON_GRID,
        fd_soc: int = limits.SCHEDULER_MIN_SOC_ON_GRID,
        fd_pwr: int = 0,
        max_soc: int | None = None,
        enable: bool = True,
    ) -> Group:
        """A segment from ``"HH:MM"`` to ``"HH:MM"`` (end minute included, same day)."""
        (sh, sm), (eh, em) = _clock(start), _clock(end)
        return cls(sh, sm, eh, em, work_mode, min_soc_on_grid, fd_soc, fd_pwr, max_soc,
                   int(enable))  # fmt: skip

    @classmethod
    def unused(cls) -> Group:
        """An unused slot, as the real cloud fills a get up to 8 groups."""
        return cls(0, 0, 0, 0, INVALID_MODE, max_soc=100, enable=0)

    @property
    def active(self) -> bool:
        """Whether the segment takes effect: enabled and not ``Invalid``."""
        return bool(self.enable) and self.work_mode != INVALID_MODE

    @property
    def start(self) -> str:
        return f"{self.start_hour:02d}:{self.start_minute:02d}"

    @property
    def end(self) -> str:
        return f"{self.end_hour:02d}:{self.end_minute:02d}"

    @classmethod
    def from_wire(cls, data: Mapping[str, Any], where: str = "group") -> Group:
        """A group as the server answers it; unknown fields go to ``extra``."""
        values: dict[str, Any] = {}
        for name, (attr, _, _) in _NUMERIC.items():
            raw = data.get(name)
            if raw is None:
                if name == "maxSoc":
                    continue
                raise ScheduleError(f"{where}.{name}", "missing")
            try:
                values[attr] = int(raw)
            except (TypeError, ValueError):
                raise ScheduleError(f"{where}.{name}", f"not a whole number: {raw!r}") from None
        mode = data.get("workMode")
        if not isinstance(mode, str):
            raise ScheduleError(f"{where}.workMode", "missing")
        extra = {k: v for k, v in data.items() if k not in WIRE_FIELDS}
        return cls(work_mode=mode, extra=extra, **values)

    def to_wire(self) -> dict[str, Any]:
        """The group as the server takes it: known fields in the cloud's order, then extras."""
        out: dict[str, Any] = {
            "enable": int(self.enable),
            "startHour": self.start_hour,
            "startMinute": self.start_minute,
            "endHour": self.end_hour,
            "endMinute": self.end_minute,
            "workMode": self.work_mode,
            "minSocOnGrid": self.min_soc_on_grid,
            "fdSoc": self.fd_soc,
            "fdPwr": self.fd_pwr,
        }
        if self.max_soc is not None:
            out["maxSoc"] = self.max_soc
        out.update(self.extra)
        return out


def _work_modes(properties: Mapping[str, Any]) -> list[str] | None:
    spec = properties.get("workmode")
    modes = spec.get("enumList") if isinstance(spec, Mapping) else None
    return [str(m) for m in modes] if isinstance(modes, list) else None


def _max_power(properties: Mapping[str, Any]) -> float | None:
    spec = properties.get("fdpwr")
    rng = spec.get("range") if isinstance(spec, Mapping) else None
    high = rng.get("max") if isinstance(rng, Mapping) else None
    return float(high) if isinstance(high, int | float) else None


def _check_ranges(where: str, group: Group) -> None:
    for name, (attr, low, high) in _NUMERIC.items():
        value = getattr(group, attr)
        if value is None:
            continue
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f">= {low}"
            raise ScheduleError(f"{where}.{name}", f"must be {bound}, got {value}")
    if not group.work_mode:
        raise ScheduleError(f"{where}.workMode", "must not be empty")


def validate_groups(groups: Sequence[Group], properties: Mapping[str, Any] | None = None) -> None:
    """Check ``groups`` against the server's rules; raise ScheduleError for the first broken.

    ``properties`` (from a get) supplies the model's work modes and maximum power; without
    it those two rules are left to the server.
    """
    props = properties or {}
    if len(groups) > MAX_GROUPS:
        raise ScheduleError("groups", f"at most {MAX_GROUPS} groups, got {len(groups)}")
    for i, g in enumerate(groups):
        _check_ranges(f"groups[{i}]", g)
    modes, max_power = _work_modes(props), _max_power(props)
    for i, g in enumerate(groups):
        where = f"groups[{i}]"
        if modes is not None and g.work_mode != INVALID_MODE and g.work_mode not in modes:
            raise ScheduleError(
                f"{where}.workMode", f"unknown work mode {g.work_mode!r}; one of {', '.join(modes)}"
            )
        if not g.active:
            continue
        if (g.start_hour, g.start_minute) >= (g.end_hour, g.end_minute):
            raise ScheduleError(
                f"{where}.endHour", "the segment must end after it starts, on the same day"
            )
        if not g.min_soc_on_grid <= g.fd_soc <= limits.SCHEDULER_FD_SOC_MAX:
            raise ScheduleError(
                f"{where}.fdSoc", f"must be from minSocOnGrid ({g.min_soc_on_grid}) to 100"
            )
        if max_power is not None and g.fd_pwr > max_power:
            raise ScheduleError(f"{where}.fdPwr", f"must be from 0 to {max_power:g} W")
        if g.max_soc is not None and g.max_soc < g.min_soc_on_grid:
            raise ScheduleError(f"{where}.maxSoc", f"must be >= minSocOnGrid ({g.min_soc_on_grid})")
    spans = sorted(
        (g.start_hour * 60 + g.start_minute, g.end_hour * 60 + g.end_minute, i)
        for i, g in enumerate(groups)
        if g.active
    )
    for (_, end_a, a), (start_b, _, b) in itertools.pairwise(spans):
        if start_b <= end_a:  # the end minute belongs to the segment
            raise ScheduleOverlapError(min(a, b), max(a, b))


@dataclass(slots=True)
class Schedule:
    """The scheduler of one inverter: on or off, its groups and the model's ranges."""

    groups: list[Group]
    enable: int = 0
    properties: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, result: Mapping[str, Any]) -> Schedule:
        """A scheduler get's result (or a list of groups, or ``{"groups": [...]}``)."""
        raw_groups = result.get("groups")
        if not isinstance(raw_groups, list):
            raise ScheduleError("groups", "must be a list of groups")
        groups = [Group.from_wire(g, f"groups[{i}]") for i, g in enumerate(raw_groups)]
        props = result.get("properties")
        extra = {k: v for k, v in result.items() if k not in ("enable", "groups", "properties")}
        return cls(
            groups=groups,
            enable=int(result.get("enable", 0) or 0),
            properties=dict(props) if isinstance(props, Mapping) else {},
            extra=extra,
        )

    @property
    def active_groups(self) -> list[Group]:
        return [g for g in self.groups if g.active]

    def validate(self) -> None:
        validate_groups(self.groups, self.properties)

    def groups_wire(self) -> list[dict[str, Any]]:
        return [g.to_wire() for g in self.groups]

    def to_wire(self) -> dict[str, Any]:
        """The whole model as a get answers it (what ``foxden schedule show --json`` prints)."""
        return {
            "enable": int(self.enable),
            "groups": self.groups_wire(),
            "properties": self.properties,
            **self.extra,
        }


def _groups(schedule: Schedule | Sequence[Group]) -> tuple[list[Group], dict[str, Any]]:
    if isinstance(schedule, Schedule):
        return schedule.groups, schedule.properties
    return list(schedule), {}


def _read_call(sn: str) -> Any:
    return call("scheduler.get", dict[str, Any], deviceSN=sn)


def _write_call(sn: str, schedule: Schedule | Sequence[Group]) -> Any:
    groups, props = _groups(schedule)
    validate_groups(groups, props)
    return call("scheduler.enable", deviceSN=sn, groups=[g.to_wire() for g in groups])


def get_schedule(client: Client, sn: str) -> Schedule:
    """The scheduler of ``sn`` with every field the server sent."""
    result: dict[str, Any] = client._run(_read_call(sn))
    return Schedule.from_wire(result)


async def aget_schedule(client: AsyncClient, sn: str) -> Schedule:
    result: dict[str, Any] = await client._run(_read_call(sn))
    return Schedule.from_wire(result)


def set_schedule(client: Client, sn: str, schedule: Schedule | Sequence[Group]) -> None:
    """Check the groups locally, then write them (which turns the scheduler on)."""
    client._run(_write_call(sn, schedule))


async def aset_schedule(client: AsyncClient, sn: str, schedule: Schedule | Sequence[Group]) -> None:
    await client._run(_write_call(sn, schedule))
