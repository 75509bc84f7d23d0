"""Upstream answers into the gateway's store: plants, inverters and loggers under one owner
account, real-time and history points as telemetry samples.

Pure conversions (answer structs in, store records out) plus the few store writes that apply
them; no I/O to the upstream here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace

import msgspec
import numpy as np

from foxden import accounts
from foxden.protocol import models, telemetry, timefmt
from foxden.protocol import structs as s
from foxden.store import Account, Device, DeviceSamples, Logger, Plant, Store

OWNER = "upstream"
"""The account the mirrored plants and inverters belong to in the gateway's store. It has
no usable key: local keys see its inverters through the gateway."""

FALLBACK_MODELS = {True: "H1-5.0-E", False: "F3000"}
"""The local model of an upstream inverter whose type foxden does not simulate: a hybrid
or a grid-tied one, as the upstream says (only the validation of writes depends on it)."""

_BAT_CODES = {name: code for code, name in telemetry.BAT_STATUS.items()}


def owner_account(store: Store, now_ms: int) -> Account:
    """The owner account, created on first use with a key nobody is given."""
    account = store.account_by_name(OWNER)
    if account is None:
        account, _ = accounts.create_account(store, OWNER, now_ms)
    return account


def local_model(device_type: str, product_type: str, has_battery: bool) -> str:
    """The foxden model an upstream inverter is kept as: its own type when foxden knows it,
    else a known model of the same product type and kind, else the fallback."""
    if models.model(device_type) is not None:
        return device_type
    for model in models.MODELS.values():
        if model.product_type == product_type and model.has_battery == has_battery:
            return model.name
    return FALLBACK_MODELS[has_battery]


def _zone_name(*candidates: str) -> str:
    for name in candidates:
        if not name:
            continue
        try:
            timefmt.zone(name)
        except ValueError:
            continue
        return name
    return "UTC"


def plant_record(
    owner: Account, summary: s.PlantSummary, detail: s.PlantDetail | None, now_ms: int
) -> Plant:
    """A mirrored plant: the list's id, name and zone, the detail's address."""
    created = now_ms
    if detail is not None and detail.createDate:
        try:
            created = round(timefmt.parse_local(detail.createDate).timestamp() * 1000)
        except ValueError:
            created = now_ms
    return Plant(
        id=summary.stationID,
        account_id=owner.id,
        name=summary.name,
        type=1,
        country_code=detail.country if detail else "",
        city=detail.city if detail else "",
        address=detail.address if detail else "",
        postcode=detail.postcode if detail else "",
        timezone=_zone_name(summary.ianaTimezone, detail.timezone if detail else ""),
        created_ms=created,
        capacity=detail.capacity if detail else None,
    )


def device_record(
    owner: Account, summary: s.DeviceSummary, detail: s.DeviceDetail | None, now_ms: int
) -> tuple[Device, Logger]:
    model = local_model(summary.deviceType, summary.productType, summary.hasBattery)
    batteries = [dict(msgspec.to_builtins(b)) for b in detail.batteryList] if detail else []
    device = Device(
        sn=summary.deviceSN,
        account_id=owner.id,
        model=model,
        logger_sn=summary.moduleSN or f"{summary.deviceSN[-31:]}M",
        created_ms=now_ms,
        plant_id=summary.stationID or None,
        status=summary.status,
        batteries=batteries,
    )
    return device, Logger(device.logger_sn, owner.id)


def apply_inventory(
    store: Store,
    owner: Account,
    plants: Sequence[Plant],
    devices: Sequence[tuple[Device, Logger]],
) -> tuple[int, int]:
    """Make the store's mirrored plants and inverters what the upstream listed: new ones
    inserted, changed ones updated, inverters rebound to their plant. Inverters and plants
    the upstream no longer lists stay (with their history). Returns (plants, inverters)
    added."""
    added_plants = added_devices = 0
    with store.transaction():
        for plant in plants:
            known = store.plant(owner.id, plant.id)
            if known is None:
                store.insert_plant(plant)
                added_plants += 1
            else:
                kept = replace(plant, created_ms=known.created_ms, extra=known.extra)
                if kept != known:
                    store.update_plant(kept)
        for device, logger in devices:
            known_device = store.device(device.sn)
            if known_device is None:
                if device.plant_id is not None and store.plant(owner.id, device.plant_id) is None:
                    device = replace(device, plant_id=None)
                store.insert_device(replace(device, plant_id=None), logger)
                if device.plant_id is not None:
                    store.bind_device(device.sn, device.plant_id)
                added_devices += 1
                continue
            if known_device.account_id != owner.id:
                continue  # registered locally by hand: not the mirror's to change
            if known_device.status != device.status:
                store.set_device_status(device.sn, device.status)
            if known_device.plant_id != device.plant_id and (
                device.plant_id is None or store.plant(owner.id, device.plant_id) is not None
            ):
                store.bind_device(device.sn, device.plant_id)
    return added_plants, added_devices


# ---------------------------------------------------------------- telemetry


def stored_value(name: str, value: float | str) -> float:
    """A wire value as the store keeps it: numbers as they are, text variables as their
    code (``batStatusV2`` "Charge" is 1, ``currentFault`` "" is 0); NaN when unreadable."""
    if isinstance(value, (int, float)):
        return float(value)
    text = value.strip()
    if name == "batStatusV2":
        return float(_BAT_CODES.get(text, math.nan))
    if name == "currentFault" and not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        return math.nan


def _time_ms(text: str) -> int | None:
    try:
        return round(timefmt.parse_local(text).timestamp() * 1000)
    except ValueError:
        return None


def realtime_samples(answer: Iterable[s.RealDevice], known: set[str]) -> list[DeviceSamples]:
    """One sample per inverter of a v1 real-time answer (inverters without a time, or not
    mirrored, left out; variables foxden does not know dropped)."""
    catalogue = telemetry.variables()
    out = []
    for device in answer:
        if device.deviceSN not in known or not device.time:
            continue
        when = _time_ms(device.time)
        if when is None:
            continue
        names = [v.variable for v in device.datas if v.variable in catalogue]
        values = [
            stored_value(v.variable, v.value) for v in device.datas if v.variable in catalogue
        ]
        if not names:
            continue
        out.append(
            DeviceSamples(
                device.deviceSN,
                tuple(names),
                np.array([when], dtype=np.int64),
                np.array([values], dtype=np.float64),
            )
        )
    return out


def history_samples(answer: Iterable[s.HistoryDevice]) -> list[DeviceSamples]:
    """History answers as samples: one row per distinct time, NaN where a variable has no
    point at that time."""
    catalogue = telemetry.variables()
    out = []
    for device in answer:
        columns: dict[str, dict[int, float]] = {}
        for var in device.datas:
            if var.variable not in catalogue:
                continue
            points = columns.setdefault(var.variable, {})
            for point in var.data:
                when = _time_ms(point.time)
                if when is not None:
                    points[when] = stored_value(var.variable, point.value)
        times = sorted({t for points in columns.values() for t in points})
        if not times or not columns:
            continue
        names = tuple(columns)
        values = np.full((len(times), len(names)), np.nan, dtype=np.float64)
        row = {t: i for i, t in enumerate(times)}
        for j, name in enumerate(names):
            for t, v in columns[name].items():
                values[row[t], j] = v
        out.append(DeviceSamples(device.deviceSN, names, np.array(times, dtype=np.int64), values))
    return out
