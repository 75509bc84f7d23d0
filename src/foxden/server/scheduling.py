"""The scheduler's rules: one stored schedule per device, written and read by every version.

No HTTP here: the scheduler area parses a request into its struct, these functions check it
against the model and turn it into the stored form, and render the stored form as each
version answers it. A broken rule raises ``ApiError`` (40257, or 42023 for overlaps).

Stored form (the device's settings ``scheduler.groups``, read by the simulator too): a list
of flat dicts, in the cloud's order (by start time), placeholders (``Invalid``) left out::

    {"enable": 1, "startHour": 2, "startMinute": 0, "endHour": 4, "endMinute": 59,
     "workMode": "ForceCharge", "minSocOnGrid": 10, "fdSoc": 100, "fdPwr": 3000,
     "maxSoc": 100, ...the model's other extraParam fields..., "isRemainMode": True?}

Numbers are JSON numbers (whole numbers as ints) in the API's units (%, W, Var).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from foxden.protocol import limits, models
from foxden.protocol import structs as s
from foxden.protocol.errno import Errno
from foxden.server.errors import ApiError, invalid

Version = Literal[0, 1, 2, 3]

INVALID_MODE = "Invalid"
V2_MAX_GROUPS = 8
"""v2's enable refuses a ninth group (40257) whatever maxGroupCount v3 reports."""
V0_MAX_GROUPS = 8
SLOTS = 8
"""v0/v1/v2 gets always list at least this many groups, unused ones as placeholders."""
FD_SOC_FLOOR_V1 = limits.SCHEDULER_FD_SOC_MIN_ENABLED
LIMIT_MAX_W = 100_000.0
"""importLimit/exportLimit range, as every captured properties block has it."""

_TIME_PROPS = (
    ("starthour", 23.0),
    ("startminute", 59.0),
    ("endhour", 23.0),
    ("endminute", 59.0),
)


@dataclass(frozen=True, slots=True)
class ParamRange:
    unit: str
    low: float
    high: float


def param_ranges(model: models.InverterModel) -> dict[str, ParamRange]:
    """The range of each extraParam field this model takes, by wire name."""
    floor = float(model.features.soc_floor)
    rated = float(model.rated_power_w)
    table = {
        "minSocOnGrid": ParamRange("%", floor, 100.0),
        "fdSoc": ParamRange("%", floor, 100.0),
        "fdPwr": ParamRange("W", 0.0, float(model.fd_pwr_max)),
        "maxSoc": ParamRange("%", 10.0, 100.0),
        "importLimit": ParamRange("W", 0.0, LIMIT_MAX_W),
        "exportLimit": ParamRange("W", 0.0, LIMIT_MAX_W),
        "pvLimit": ParamRange("W", 0.0, round(rated * model.features.pv_limit_factor)),
        "reactivePower": ParamRange("Var", -round(rated * 0.6), round(rated * 0.6)),
    }
    return {name: table[name] for name in model.schedule_params}


def defaults(model: models.InverterModel, work_mode: str) -> dict[str, float]:
    """System defaults of the extraParam fields (what ``isDefault`` resets to)."""
    ranges = param_ranges(model)
    values = {
        "minSocOnGrid": ranges["minSocOnGrid"].low,
        "fdSoc": 100.0 if work_mode.startswith("ForceCharge") else ranges["fdSoc"].low,
        "fdPwr": float(model.rated_power_w),
        "maxSoc": 100.0,
        "importLimit": LIMIT_MAX_W,
        "exportLimit": LIMIT_MAX_W,
        "pvLimit": ranges["pvLimit"].high if "pvLimit" in ranges else 0.0,
        "reactivePower": 0.0,
    }
    return {name: values[name] for name in model.schedule_params}


def properties(model: models.InverterModel, version: Version) -> dict[str, s.PropertySpec]:
    """The ``properties`` block of a get: lower-case keys, float precision and ranges."""
    if version == 0:
        return {}

    def rng(unit: str, low: float, high: float) -> s.PropertySpec:
        return s.PropertySpec(
            unit=unit, precision=1.0, range=s.PropertyRange(min=float(low), max=float(high))
        )

    props = {name: rng("", 0.0, high) for name, high in _TIME_PROPS}
    props["workmode"] = s.PropertySpec(unit="", precision=1.0, enumList=list(model.scheduler_modes))
    ranges = param_ranges(model)
    names = models.SCHEDULE_BASE_PARAMS if version == 1 else tuple(ranges)
    for name in names:
        r = ranges[name]
        props[name.lower()] = rng(r.unit, r.low, r.high)
    return props


def max_groups(model: models.InverterModel, version: Version) -> int:
    if version == 0:
        return V0_MAX_GROUPS
    if version == 2:
        return V2_MAX_GROUPS
    return model.features.max_group_count


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _time(group: Mapping[str, Any]) -> tuple[int, int]:
    return (
        int(group["startHour"]) * 60 + int(group["startMinute"]),
        int(group["endHour"]) * 60 + int(group["endMinute"]),
    )


# ---------------------------------------------------------------- writes


def _check_mode(where: str, mode: str, model: models.InverterModel, version: Version) -> None:
    if mode == INVALID_MODE and version != 3:
        return
    if mode not in model.scheduler_modes:
        raise invalid(
            f"{where}.workMode",
            f"unknown work mode {mode!r}; {model.name} supports {', '.join(model.scheduler_modes)}",
        )


def _check_ranges(where: str, values: Mapping[str, float], model: models.InverterModel) -> None:
    ranges = param_ranges(model)
    for name, value in values.items():
        r = ranges[name]
        if not r.low <= value <= r.high:
            raise invalid(
                f"{where}.{name}", f"must be from {r.low:g} to {r.high:g} {r.unit}".rstrip()
            )


def _check_active(where: str, g: Mapping[str, Any], version: Version) -> None:
    """Rules of a group that takes effect (``where`` names the group's SoC/power fields)."""
    start, end = _time(g)
    if start >= end:
        group = where.removesuffix(".extraParam")
        raise invalid(f"{group}.endHour", "the segment must end after it starts, on the same day")
    force = g["workMode"] in models.FORCE_MODES
    if version <= 1 or force:
        if g["fdPwr"] <= 0:
            raise invalid(f"{where}.fdPwr", "must be above 0 W in an enabled group")
        if g["fdSoc"] < g["minSocOnGrid"]:
            raise invalid(f"{where}.fdSoc", f"must be >= minSocOnGrid ({g['minSocOnGrid']:g})")
    if version <= 1 and g["fdSoc"] < FD_SOC_FLOOR_V1:
        raise invalid(f"{where}.fdSoc", f"must be at least {FD_SOC_FLOOR_V1} in an enabled group")
    if g["maxSoc"] < g["minSocOnGrid"]:
        raise invalid(f"{where}.maxSoc", f"must be >= minSocOnGrid ({g['minSocOnGrid']:g})")


def _check_count(n: int, model: models.InverterModel, version: Version) -> None:
    limit = max_groups(model, version)
    if n > limit:
        raise invalid("groups", f"at most {limit} groups, got {n}")


def flat_groups(
    groups: Sequence[s.SchedulerGroup], model: models.InverterModel, version: Version
) -> list[dict[str, Any]]:
    """A v0/v1 write, checked, as stored groups (the model's other fields at defaults)."""
    _check_count(len(groups), model, version)
    stored = []
    for i, g in enumerate(groups):
        where = f"groups[{i}]"
        _check_mode(where, g.workMode, model, version)
        values = {
            "minSocOnGrid": float(g.minSocOnGrid),
            "fdSoc": float(g.fdSoc),
            "fdPwr": float(g.fdPwr),
            "maxSoc": float(g.maxSoc if g.maxSoc is not None else 100),
        }
        row = _row(g.enable, g, g.workMode, {**defaults(model, g.workMode), **values})
        if g.enable and g.workMode != INVALID_MODE:
            _check_ranges(where, values, model)
            _check_active(where, row, version)
        stored.append(row)
    return _finish(stored)


def nested_groups(
    groups: Sequence[s.SchedulerGroupV2 | s.SchedulerGroupV3],
    model: models.InverterModel,
    version: Version,
    is_default: bool,
    current: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """A v2/v3 write, checked, as stored groups. A field left out of ``extraParam`` keeps
    the value of the stored group at the same place, or takes the system default when
    there is none or ``isDefault`` is true."""
    _check_count(len(groups), model, version)
    supported = set(model.schedule_params)
    stored = []
    for i, g in enumerate(groups):
        where = f"groups[{i}]"
        _check_mode(where, g.workMode, model, version)
        if isinstance(g, s.SchedulerGroupV3):
            if g.enable == 0:
                raise invalid(f"{where}.enable", "v3 takes active periods only")
            enable = 1
        else:
            enable = g.enable
        sent: dict[str, float] = {}
        if g.extraParam is not None:
            for name, value in _extra(g.extraParam).items():
                if name not in supported:
                    raise invalid(
                        f"{where}.extraParam.{name}", f"{model.name} does not take this parameter"
                    )
                sent[name] = value
        base = defaults(model, g.workMode)
        if not is_default and i < len(current):
            base.update({k: float(current[i][k]) for k in base if k in current[i]})
        values = {**base, **sent}
        if "fdSoc" not in sent and values["fdSoc"] < values["minSocOnGrid"]:
            values["fdSoc"] = values["minSocOnGrid"]  # a default never undercuts the floor sent
        row = _row(enable, g, g.workMode, values)
        if isinstance(g, s.SchedulerGroupV3) and g.isRemainMode:
            row["isRemainMode"] = True
        if enable and g.workMode != INVALID_MODE:
            _check_ranges(f"{where}.extraParam", sent, model)
            _check_active(f"{where}.extraParam", row, version)
        stored.append(row)
    return _finish(stored)


def _extra(param: s.ExtraParam) -> dict[str, float]:
    return {
        name: float(value)
        for name in models.SCHEDULE_PARAMS
        if (value := getattr(param, name)) is not None
    }


def _row(enable: int, g: Any, mode: str, values: Mapping[str, float]) -> dict[str, Any]:
    return {
        "enable": int(enable),
        "startHour": g.startHour,
        "startMinute": g.startMinute,
        "endHour": g.endHour,
        "endMinute": g.endMinute,
        "workMode": mode,
        **{k: _number(v) for k, v in values.items()},
    }


def _finish(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Overlaps refused; placeholders dropped; the rest in the cloud's order."""
    active = sorted(
        (*_time(g), i)
        for i, g in enumerate(rows)
        if g["enable"] and g["workMode"] != INVALID_MODE and not g.get("isRemainMode")
    )
    for (_, end_a, a), (start_b, _, b) in itertools.pairwise(active):
        if start_b <= end_a:  # the end minute belongs to the segment
            raise ApiError(Errno.TIME_OVERLAP, f"groups[{min(a, b)}] and groups[{max(a, b)}]")
    return cloud_order([g for g in rows if not is_placeholder(g)])


def is_placeholder(group: Mapping[str, Any]) -> bool:
    """An unused slot: ``Invalid``, or disabled and empty (starts when it ends), which is how
    v2 fills its eight slots; a get shows it again wherever a slot is free."""
    start, end = _time(group)
    return group["workMode"] == INVALID_MODE or (not group["enable"] and start == end)


def cloud_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Groups sorted by start time, as the cloud reads them back (a group written first
    comes back last when it starts latest); the remaining-time filler leads its minute."""
    return sorted(rows, key=lambda g: (_time(g)[0], not g.get("isRemainMode", False)))


def is_active(rows: Sequence[Mapping[str, Any]]) -> bool:
    return any(g["enable"] and g["workMode"] != INVALID_MODE for g in rows)


# ---------------------------------------------------------------- reads


def _placeholder_v1() -> s.SchedulerGroupOut:
    return s.SchedulerGroupOut(
        enable=0, startHour=0, startMinute=0, endHour=0, endMinute=0, workMode=INVALID_MODE,
        minSocOnGrid=10, fdSoc=10, fdPwr=0, maxSoc=100,
    )  # fmt: skip


def _v1_group(g: Mapping[str, Any]) -> s.SchedulerGroupOut:
    return s.SchedulerGroupOut(
        enable=int(g["enable"]),
        startHour=int(g["startHour"]),
        startMinute=int(g["startMinute"]),
        endHour=int(g["endHour"]),
        endMinute=int(g["endMinute"]),
        workMode=str(g["workMode"]),
        minSocOnGrid=round(g["minSocOnGrid"]),
        fdSoc=round(g["fdSoc"]),
        fdPwr=round(g["fdPwr"]),
        maxSoc=round(g.get("maxSoc", 100)),
    )


def render_v1(
    enable: int, rows: Sequence[Mapping[str, Any]], model: models.InverterModel
) -> s.SchedulerInfo:
    groups = [_v1_group(g) for g in rows]
    groups += [_placeholder_v1() for _ in range(SLOTS - len(groups))]
    return s.SchedulerInfo(enable=enable, groups=groups, properties=properties(model, 1))


def render_v0(enable: int, rows: Sequence[Mapping[str, Any]]) -> s.SchedulerInfoV0:
    groups = [_v1_group(g) for g in rows]
    groups += [_placeholder_v1() for _ in range(SLOTS - len(groups))]
    fields = [f for f in s.SchedulerGroupOutV0.__struct_fields__]
    return s.SchedulerInfoV0(
        enable=enable,
        groups=[s.SchedulerGroupOutV0(**{f: getattr(g, f) for f in fields}) for g in groups],
        properties={},
    )


def _extra_out(g: Mapping[str, Any], model: models.InverterModel) -> dict[str, float]:
    base = defaults(model, str(g["workMode"]))
    return {name: float(g.get(name, base[name])) for name in model.schedule_params}


UNUSED_GROUP: Mapping[str, Any] = {
    "enable": 0,
    "startHour": 0,
    "startMinute": 0,
    "endHour": 0,
    "endMinute": 0,
    "workMode": "SelfUse",
}
"""What the V2 answer shows in the slots after the stored groups."""


def _group_fields(g: Mapping[str, Any], model: models.InverterModel) -> dict[str, Any]:
    """The fields a group shows in every version's answer: its times, work mode and extra
    parameters."""
    return {
        "startHour": int(g["startHour"]),
        "startMinute": int(g["startMinute"]),
        "endHour": int(g["endHour"]),
        "endMinute": int(g["endMinute"]),
        "workMode": str(g["workMode"]),
        "extraParam": _extra_out(g, model),
    }


def render_v2(
    enable: int, rows: Sequence[Mapping[str, Any]], model: models.InverterModel
) -> s.SchedulerInfoV2:
    """Every stored group with its enable flag, padded to SLOTS with unused ones."""
    groups = [
        s.SchedulerGroupOutV2(enable=int(g["enable"]), **_group_fields(g, model))
        for g in [*rows, *[UNUSED_GROUP] * (SLOTS - len(rows))]
    ]
    return s.SchedulerInfoV2(enable=enable, groups=groups, properties=properties(model, 2))


def render_v3(
    enable: int, rows: Sequence[Mapping[str, Any]], model: models.InverterModel
) -> s.SchedulerInfoV3:
    """The enabled, valid groups only, with their remain-mode flag."""
    groups = [
        s.SchedulerGroupOutV3(
            isRemainMode=bool(g.get("isRemainMode", False)), **_group_fields(g, model)
        )
        for g in rows
        if g["enable"] and g["workMode"] != INVALID_MODE
    ]
    return s.SchedulerInfoV3(
        enable=enable,
        maxGroupCount=model.features.max_group_count,
        groups=groups,
        properties=properties(model, 3),
    )
