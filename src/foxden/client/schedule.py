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

``version`` chooses the API: 1 (default; flat fields and maxSoc, 8 slots), 2 (``extraParam``)
or 3 (``extraParam``, active periods only, ``maxGroupCount``, ``isRemainMode``; the only
ones an EVO answers besides v2). A schedule read through one version is written back
through the same one; the server keeps one schedule per device whichever version wrote it.
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
V2_MAX_GROUPS = limits.SCHEDULER_MAX_GROUPS
"""v2's enable refuses a ninth group whatever the device's maxGroupCount."""
ENABLE_PATH = BY_NAME["scheduler.enable_v1"].path
VERSIONS = (1, 2, 3)
_GET = {1: "scheduler.get_v1", 2: "scheduler.get_v2", 3: "scheduler.get_v3"}
_ENABLE = {1: "scheduler.enable_v1", 2: "scheduler.enable_v2", 3: "scheduler.enable_v3"}
SOC_POWER = ("minSocOnGrid", "fdSoc", "fdPwr", "maxSoc")
"""The extraParam fields a Group holds as attributes; the rest stay in ``params``."""
FORCE_MODES = frozenset(
    {"ForceCharge", "ForceDischarge", "ForceCharge(BAT)", "ForceDischarge(BAT)"}
)

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
    params: dict[str, float] = field(default_factory=dict)
    """Other extraParam fields (v2/v3): importLimit, exportLimit, pvLimit, reactivePower."""
    remain: bool = False
    """v3 ``isRemainMode``: the filler for time no other period covers."""

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
    def from_wire(cls, data: Mapping[str, Any], where: str = "group", version: int = 1) -> Group:
        """A group as the server answers it through ``version``; unknown fields go to
        ``extra`` (and unknown extraParam fields to ``params``)."""
        flat = dict(data)
        params: dict[str, float] = {}
        if version >= 2:
            nested = flat.pop("extraParam", None) or {}
            if not isinstance(nested, Mapping):
                raise ScheduleError(f"{where}.extraParam", "must be an object")
            for name, value in nested.items():
                if value is None:
                    continue
                if name in SOC_POWER:
                    flat[name] = value
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    params[name] = float(value)
                else:
                    raise ScheduleError(f"{where}.extraParam.{name}", f"not a number: {value!r}")
            flat.setdefault("enable", 1)
            for name, default in (("minSocOnGrid", 10), ("fdSoc", 10), ("fdPwr", 0)):
                flat.setdefault(name, default)
        remain = bool(flat.pop("isRemainMode", False)) if version == 3 else False
        values: dict[str, Any] = {}
        for name, (attr, _, _) in _NUMERIC.items():
            raw = flat.get(name)
            if raw is None:
                if name == "maxSoc":
                    continue
                raise ScheduleError(f"{where}.{name}", "missing")
            try:
                number = float(raw)
            except (TypeError, ValueError):
                raise ScheduleError(f"{where}.{name}", f"not a whole number: {raw!r}") from None
            if not number.is_integer():
                raise ScheduleError(f"{where}.{name}", f"not a whole number: {raw!r}")
            values[attr] = int(number)
        mode = flat.get("workMode")
        if not isinstance(mode, str):
            raise ScheduleError(f"{where}.workMode", "missing")
        extra = {k: v for k, v in flat.items() if k not in WIRE_FIELDS}
        return cls(work_mode=mode, extra=extra, params=params, remain=remain, **values)

    def to_wire(self, version: int = 1) -> dict[str, Any]:
        """The group as the server takes it through ``version``: known fields in the cloud's
        order, then extras."""
        times: dict[str, Any] = {
            "startHour": self.start_hour,
            "startMinute": self.start_minute,
            "endHour": self.end_hour,
            "endMinute": self.end_minute,
            "workMode": self.work_mode,
        }
        soc: dict[str, Any] = {
            "minSocOnGrid": self.min_soc_on_grid,
            "fdSoc": self.fd_soc,
            "fdPwr": self.fd_pwr,
        }
        if self.max_soc is not None:
            soc["maxSoc"] = self.max_soc
        if version <= 1:
            return {"enable": int(self.enable), **times, **soc, **self.extra}
        nested = {"extraParam": {**soc, **self.params}}
        if version == 2:
            return {"enable": int(self.enable), **times, **nested, **self.extra}
        remain = {"isRemainMode": True} if self.remain else {}
        return {**times, **nested, **remain, **self.extra}


def _work_modes(properties: Mapping[str, Any]) -> list[str] | None:
    spec = properties.get("workmode")
    modes = spec.get("enumList") if isinstance(spec, Mapping) else None
    return [str(m) for m in modes] if isinstance(modes, list) else None


def _max_power(properties: Mapping[str, Any]) -> float | None:
    spec = properties.get("fdpwr")
    rng = spec.get("range") if isinstance(spec, Mapping) else None
    high = rng.get("max") if isinstance(rng, Mapping) else None
    return float(high) if isinstance(high, int | float) else None


def _check_ranges(where: str, group: Group, properties: Mapping[str, Any]) -> None:
    """Field ranges; SoC and power only of a group that takes effect (as the server)."""
    for name, (attr, low, high) in _NUMERIC.items():
        value = getattr(group, attr)
        if value is None or (name in SOC_POWER and not group.active):
            continue
        bounds = _range(properties, name) if name in SOC_POWER else None
        lowest, highest = bounds if bounds is not None else (low, high)
        if value < lowest or (highest is not None and value > highest):
            bound = f"from {lowest:g} to {highest:g}" if highest is not None else f">= {lowest:g}"
            raise ScheduleError(f"{where}.{name}", f"must be {bound}, got {value}")
    if not group.work_mode:
        raise ScheduleError(f"{where}.workMode", "must not be empty")


def _range(properties: Mapping[str, Any], name: str) -> tuple[float, float] | None:
    spec = properties.get(name.lower())
    rng = spec.get("range") if isinstance(spec, Mapping) else None
    if not isinstance(rng, Mapping):
        return None
    low, high = rng.get("min"), rng.get("max")
    if isinstance(low, int | float) and isinstance(high, int | float):
        return float(low), float(high)
    return None


def validate_groups(
    groups: Sequence[Group],
    properties: Mapping[str, Any] | None = None,
    version: int = 1,
    max_groups: int | None = None,
) -> None:
    """Check ``groups`` against the server's rules for ``version``; raise ScheduleError for
    the first broken.

    ``properties`` (from a get) supplies the model's work modes and ranges, ``max_groups``
    the v3 ``maxGroupCount``; without them those rules are left to the server.
    """
    props = properties or {}
    limit = V2_MAX_GROUPS if version == 2 else max_groups or MAX_GROUPS
    if len(groups) > limit:
        raise ScheduleError("groups", f"at most {limit} groups, got {len(groups)}")
    for i, g in enumerate(groups):
        _check_ranges(f"groups[{i}]", g, props)
    modes, max_power = _work_modes(props), _max_power(props)
    for i, g in enumerate(groups):
        where = f"groups[{i}]"
        if modes is not None and g.work_mode != INVALID_MODE and g.work_mode not in modes:
            raise ScheduleError(
                f"{where}.workMode", f"unknown work mode {g.work_mode!r}; one of {', '.join(modes)}"
            )
        if version == 3 and not g.enable:
            raise ScheduleError(f"{where}.enable", "v3 takes active periods only")
        if props and version >= 2:
            for name, value in g.params.items():
                bounds = _range(props, name)
                if name.lower() not in props:
                    raise ScheduleError(
                        f"{where}.extraParam.{name}", "not in this model's properties"
                    )
                if bounds is not None and not bounds[0] <= value <= bounds[1]:
                    raise ScheduleError(
                        f"{where}.extraParam.{name}", f"must be from {bounds[0]:g} to {bounds[1]:g}"
                    )
        if not g.active:
            continue
        if (g.start_hour, g.start_minute) >= (g.end_hour, g.end_minute):
            raise ScheduleError(
                f"{where}.endHour", "the segment must end after it starts, on the same day"
            )
        forced = version <= 1 or g.work_mode in FORCE_MODES
        if forced and not g.min_soc_on_grid <= g.fd_soc <= limits.SCHEDULER_FD_SOC_MAX:
            raise ScheduleError(
                f"{where}.fdSoc", f"must be from minSocOnGrid ({g.min_soc_on_grid}) to 100"
            )
        if version <= 1 and g.fd_soc < limits.SCHEDULER_FD_SOC_MIN_ENABLED:
            floor = limits.SCHEDULER_FD_SOC_MIN_ENABLED
            raise ScheduleError(f"{where}.fdSoc", f"must be at least {floor} in an enabled group")
        if forced and g.fd_pwr <= 0:
            raise ScheduleError(f"{where}.fdPwr", "must be above 0 W in an enabled group")
        if max_power is not None and g.fd_pwr > max_power:
            raise ScheduleError(f"{where}.fdPwr", f"must be from 0 to {max_power:g} W")
        if g.max_soc is not None and g.max_soc < g.min_soc_on_grid:
            raise ScheduleError(f"{where}.maxSoc", f"must be >= minSocOnGrid ({g.min_soc_on_grid})")
    spans = sorted(
        (g.start_hour * 60 + g.start_minute, g.end_hour * 60 + g.end_minute, i)
        for i, g in enumerate(groups)
        if g.active and not g.remain
    )
    for (_, end_a, a), (start_b, _, b) in itertools.pairwise(spans):
        if start_b <= end_a:  # the end minute belongs to the segment
            raise ScheduleOverlapError(min(a, b), max(a, b))


@dataclass(slots=True)
class Schedule:
    """The scheduler of one inverter: on or off, its groups, the model's ranges and the API
    version it was read through (and is written back through)."""

    groups: list[Group]
    enable: int = 0
    properties: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    max_group_count: int | None = None

    @classmethod
    def from_wire(cls, result: Mapping[str, Any], version: int = 1) -> Schedule:
        """A scheduler get's result (or a list of groups, or ``{"groups": [...]}``)."""
        if version not in VERSIONS:
            raise ValueError(f"scheduler API version must be one of {VERSIONS}, got {version}")
        raw_groups = result.get("groups")
        if not isinstance(raw_groups, list):
            raise ScheduleError("groups", "must be a list of groups")
        groups = [Group.from_wire(g, f"groups[{i}]", version) for i, g in enumerate(raw_groups)]
        props = result.get("properties")
        count = result.get("maxGroupCount")
        known = ("enable", "groups", "properties", "maxGroupCount")
        extra = {k: v for k, v in result.items() if k not in known}
        return cls(
            groups=groups,
            enable=int(result.get("enable", 0) or 0),
            properties=dict(props) if isinstance(props, Mapping) else {},
            extra=extra,
            version=version,
            max_group_count=count if isinstance(count, int) else None,
        )

    @property
    def active_groups(self) -> list[Group]:
        return [g for g in self.groups if g.active]

    def validate(self) -> None:
        validate_groups(self.groups, self.properties, self.version, self.max_group_count)

    def groups_wire(self) -> list[dict[str, Any]]:
        return [g.to_wire(self.version) for g in self.groups]

    def to_wire(self) -> dict[str, Any]:
        """The whole model as a get answers it (what ``foxden schedule show --json`` prints)."""
        count = {"maxGroupCount": self.max_group_count} if self.max_group_count else {}
        return {
            "enable": int(self.enable),
            **count,
            "groups": self.groups_wire(),
            "properties": self.properties,
            **self.extra,
        }


def _read_call(sn: str, version: int) -> Any:
    if version not in VERSIONS:
        raise ValueError(f"scheduler API version must be one of {VERSIONS}, got {version}")
    return call(_GET[version], dict[str, Any], deviceSN=sn)


def _write_call(sn: str, schedule: Schedule | Sequence[Group], version: int | None) -> Any:
    if not isinstance(schedule, Schedule):
        schedule = Schedule(groups=list(schedule), version=version or 1)
    elif version is not None and version != schedule.version:
        schedule = Schedule(
            groups=schedule.groups,
            enable=schedule.enable,
            properties=schedule.properties,
            version=version,
            max_group_count=schedule.max_group_count,
        )
    if schedule.version not in VERSIONS:
        raise ValueError(f"scheduler API version must be one of {VERSIONS}")
    schedule.validate()
    body: dict[str, Any] = {"deviceSN": sn, "groups": schedule.groups_wire()}
    if schedule.version >= 2:
        body["isDefault"] = False
    return call(_ENABLE[schedule.version], **body)


def get_schedule(client: Client, sn: str, version: int = 1) -> Schedule:
    """The scheduler of ``sn`` through API ``version`` with every field the server sent."""
    result: dict[str, Any] = client._run(_read_call(sn, version))
    return Schedule.from_wire(result, version)


async def aget_schedule(client: AsyncClient, sn: str, version: int = 1) -> Schedule:
    result: dict[str, Any] = await client._run(_read_call(sn, version))
    return Schedule.from_wire(result, version)


def set_schedule(
    client: Client, sn: str, schedule: Schedule | Sequence[Group], version: int | None = None
) -> None:
    """Check the groups locally, then write them through ``version`` (default: the one the
    schedule was read through, else 1). Writing active groups turns the scheduler on."""
    client._run(_write_call(sn, schedule, version))


async def aset_schedule(
    client: AsyncClient,
    sn: str,
    schedule: Schedule | Sequence[Group],
    version: int | None = None,
) -> None:
    await client._run(_write_call(sn, schedule, version))
