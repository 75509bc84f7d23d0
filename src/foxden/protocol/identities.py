"""What real Fox ESS hardware is called: inverter and data-logger serial numbers, battery
lists, firmware version formats. Used by ``foxden device add``, the demo fleet and the
server's device detail. Nothing here is random: the same inputs give the same identity.

Sources (docs/fidelity.md has a row for each rule):
- Inverter serials are 15 characters: a two-digit factory prefix, the model's code, a
  four-digit batch and a tail: ``60KE8020479C034`` (a KH8, batpred's device/list capture),
  ``66BH3720228D004`` (an H1-3.7-E, EnergyStats' history captures), ``60SH60202A9A024``
  (EnergyStats-Android). foxesscloud treats a 15-character serial as complete
  (``len(device_sn) == 15`` in ``get_device``).
- Data-logger serials are 15 characters too: ``609W6EUF46MB519`` (batpred's device/list).
- ``batteryList`` holds, per battery stack, a ``bcu`` entry, one ``bmu`` entry per module
  with the module's ``capacity`` in Wh, and an ``ivu`` entry: the KH8 capture
  (``v0_device_detail__batpred_kh8.json``: EP11, bmu capacity 10360, versions ``1.005``,
  ``1.05``, ``0.00``). foxesscloud sums the bmu capacities for the rated capacity.
- Inverter firmware versions read ``N.NN`` (``1.34``, ``1.01``, ``1.28``), ``afciVersion``
  empty and ``hardwareVersion`` ``--`` on hybrids (the same capture).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from foxden.protocol import hardware, models

SERIAL_LENGTH = 15
LOGGER_PREFIX = "609W6EU"
"""Data loggers: the WiFi logger's prefix as in ``609W6EUF46MB519``."""
BATCH = "2404"
"""The batch digits of foxden's own serials (a production year and month)."""

SERIAL_PATTERN = re.compile(r"^[0-9]{2}[A-Z0-9]{13}$")


@dataclass(frozen=True, slots=True)
class BatteryLine:
    """The battery modules a family is sold with."""

    model: str
    module_wh: int
    bcu_version: str = "1.005"
    bmu_version: str = "1.05"
    ivu_version: str = "0.00"


EP11 = BatteryLine("EP11", 10360)
"""The KH8 capture's battery: one 10.36 kWh module per stack."""
HV2600 = BatteryLine("HV2600", 2600)
"""Stackable 2.6 kWh high-voltage modules (no capture of this family's batteryList)."""


@dataclass(frozen=True, slots=True)
class ModelIdentity:
    prefix: str
    code: str
    battery: BatteryLine | None


_IDENTITIES: dict[str, ModelIdentity] = {
    "H1-3.7-E": ModelIdentity("66", "BH37", HV2600),
    "H1-5.0-E": ModelIdentity("66", "BH50", HV2600),
    "H3-10.0-E": ModelIdentity("60", "BT10", HV2600),
    "KH8": ModelIdentity("60", "KE8", EP11),
    "AIO-H3-10.0": ModelIdentity("60", "AT10", HV2600),
    "F3000": ModelIdentity("60", "F30", None),
    "T10-G3": ModelIdentity("60", "T10", None),
    "EVO 10-5-H": ModelIdentity("60", "EV10", EP11),
}
"""Known models' codes: ``BH37`` and ``KE8`` as captured; the others in the same form."""


def identity(model_name: str) -> ModelIdentity:
    """The model's identity; a model without an entry gets one from its name, its battery
    line from its product type (KH and EVO: EP11; other hybrids: HV2600)."""
    known = _IDENTITIES.get(model_name)
    if known is not None:
        return known
    model = models.model(model_name)
    code = re.sub(r"[^A-Z0-9]", "", model_name.upper())[:4] or "XX"
    if model is None or not model.has_battery:
        return ModelIdentity("60", code, None)
    line = EP11 if model.product_type in ("KH", "812") else HV2600
    return ModelIdentity("60", code, line)


def _tail(seed: str, number: int, width: int) -> str:
    """``width`` hexadecimal digits: distinct for distinct ``number`` below 16**width (an
    odd multiplier is a bijection modulo a power of two), scattered by ``seed``."""
    value = (number * 0x9E3779B1 + zlib.crc32(seed.encode())) % (16**width)
    return f"{value:0{width}X}"


def inverter_serial(model_name: str, number: int) -> str:
    """The ``number``-th foxden serial of a model: 15 characters, the model's prefix and
    code, the batch, then a hexadecimal tail unique per (model, number)."""
    ident = identity(model_name)
    head = f"{ident.prefix}{ident.code}{BATCH}"
    width = SERIAL_LENGTH - len(head)
    return head + _tail(model_name, number, width)


def logger_serial(inverter_sn: str) -> str:
    """The data logger of an inverter: 15 characters, fixed by the inverter's serial."""
    width = SERIAL_LENGTH - len(LOGGER_PREFIX)
    return LOGGER_PREFIX + f"{zlib.crc32(inverter_sn.encode()):0{width}X}"[-width:]


def battery_list(inverter_sn: str, model_name: str) -> list[dict[str, object]]:
    """The ``batteryList`` of an inverter: per stack a bcu, its bmu modules (capacity in
    Wh) and an ivu, sized to the model's battery (``battery_kwh``) in whole modules."""
    model = models.model(model_name)
    line = identity(model_name).battery
    if model is None or line is None or not model.has_battery:
        return []
    stacks = max(1, hardware.stacks(model_name))
    per_stack = max(1, round(model.battery_kwh * 1000 / stacks / line.module_wh))
    code = re.sub(r"[^A-Z0-9]", "", line.model.upper())[:4].ljust(4, "0")
    entries: list[dict[str, object]] = []
    index = 0

    def serial() -> str:
        nonlocal index
        index += 1
        stem = f"{zlib.crc32(inverter_sn.encode()):08X}"
        return f"{code}{stem}{index:03X}"[:SERIAL_LENGTH]

    for _ in range(stacks):
        entries.append(
            {"batterySN": serial(), "model": line.model, "type": "bcu", "version": line.bcu_version}
        )
        for _ in range(per_stack):
            entries.append(
                {
                    "batterySN": serial(),
                    "model": line.model,
                    "type": "bmu",
                    "version": line.bmu_version,
                    "capacity": line.module_wh,
                }
            )
        entries.append(
            {"batterySN": serial(), "model": line.model, "type": "ivu", "version": line.ivu_version}
        )
    return entries


def rated_capacity_wh(batteries: list[dict[str, object]]) -> int:
    """What a client reads as the rated capacity: the sum of the bmu capacities."""
    return sum(int(str(b["capacity"])) for b in batteries if b.get("type") == "bmu")


def capacity_kw(rated_power_w: int) -> int:
    """Device ``capacity`` as the cloud writes it: whole kW, truncated (a 10.5 kW model reads
    10, batpred PR #4527; the KH8 capture reads 8)."""
    return rated_power_w // 1000
