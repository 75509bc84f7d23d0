"""What is wired to an inverter: its battery packs and its PV array.

Shared by the simulator (physics) and the server (plant ``capacity`` is the installed PV in
kWp, ``plant_capacity_kwp``). Nothing here is random: a device's array size follows from its
serial number alone, so the server and every simulator seed agree on it.

Battery packs are lithium iron phosphate (LFP) cells in series: 3.2 V nominal, about 3.0 V
empty and 3.45 V full at rest. A single-phase H1's low-voltage pack reads about 150-200 V
(the real H1-3.7-E capture in ``shared/samples/v0_device_real_query__foxessprom_h1_full.json``:
156.9 V at 46 % SoC); the high-voltage packs of KH, H3 and AIO models about 380-410 V (the
real KH8 capture ``v1_device_real_query__batpred_kh8.json``: 399.1 V at 26 %).
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from foxden.protocol import models

CELL_NOMINAL_V = 3.2
PANEL_KWP = 0.41
"""One module's rating (a 410 Wp panel): arrays are whole numbers of panels."""
DC_AC_MIN, DC_AC_MAX = 1.0, 1.4


@dataclass(frozen=True, slots=True)
class BatteryPack:
    """A model's battery as installed: ``stacks`` identical stacks in parallel, each of
    ``cells`` LFP cells in series."""

    kwh: float
    stacks: int
    cells: int
    max_charge_a: float
    """Battery-side current limit (all stacks together), amps."""
    max_discharge_a: float

    @property
    def nominal_v(self) -> float:
        return self.cells * CELL_NOMINAL_V

    @property
    def stack_kwh(self) -> float:
        return self.kwh / self.stacks


# cells in series and stacks per model; current limits follow from the rated power at the
# nominal voltage (rounded up), so the power limit is the model's own at nominal voltage
_LAYOUT: dict[str, tuple[int, int]] = {
    "H1-3.7-E": (1, 48),
    "H1-5.0-E": (1, 48),
    "H3-10.0-E": (1, 124),
    "KH8": (1, 124),
    "AIO-H3-10.0": (2, 124),
}


@functools.cache
def battery(model_name: str) -> BatteryPack | None:
    """The battery a model is simulated with; None for models without one."""
    model = models.model(model_name)
    if model is None or not model.has_battery or model.battery_kwh <= 0:
        return None
    stacks, cells = _LAYOUT.get(model_name, (1, 48 if model.phases == 1 else 124))
    nominal = cells * CELL_NOMINAL_V
    current = math.ceil(max(model.max_charge_w, 1000) / nominal)
    return BatteryPack(model.battery_kwh, stacks, cells, float(current), float(current))


def stacks(model_name: str) -> int:
    """Battery stacks a model reports (0 without a battery)."""
    pack = battery(model_name)
    return pack.stacks if pack is not None else 0


def _unit(sn: str, purpose: str) -> float:
    """A number in [0, 1) fixed by the serial number."""
    return zlib.crc32(f"{purpose}/{sn}".encode()) / 2**32


def array_kwp(sn: str, model_name: str) -> float:
    """Installed PV of one inverter, kWp: a whole number of panels, DC/AC ratio 1.0-1.4."""
    model = models.model(model_name)
    if model is None:
        return 0.0
    rating = model.rated_power_w / 1000
    ratio = DC_AC_MIN + (DC_AC_MAX - DC_AC_MIN) * _unit(sn, "dc-ac")
    low = math.ceil(rating * DC_AC_MIN / PANEL_KWP - 1e-9)
    high = math.floor(rating * DC_AC_MAX / PANEL_KWP + 1e-9)
    panels = min(max(round(rating * ratio / PANEL_KWP), low), high)
    return round(panels * PANEL_KWP, 3)


COMMISSIONED_FROM_MS = 1_546_300_800_000  # 2019-01-01 00:00 UTC
COMMISSIONED_SPAN_DAYS = 5 * 365


def commissioned_ms(sn: str) -> int:
    """When an inverter was commissioned (midnight UTC, 2019-2023), fixed by its serial."""
    day = int(_unit(sn, "commissioned") * COMMISSIONED_SPAN_DAYS)
    return COMMISSIONED_FROM_MS + day * 86_400_000


def plant_capacity_kwp(devices: Iterable[tuple[str, str]]) -> float:
    """A plant's ``capacity``: the installed PV of its inverters, kWp, from (sn, model) pairs."""
    return round(sum(array_kwp(sn, model) for sn, model in devices), 3)
