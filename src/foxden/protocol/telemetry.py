"""What a device reports: the telemetry variables, their wire units, their resolution, which
models have which, and which are cumulative energy counters.

The 113 variables of the vendor's table, plus the ones the real cloud answers beyond it
(the energy counters and battery throughput added in V1.0.4, seen in real captures).
Shared by the simulator (what to produce), the store (how finely to keep it) and the server
(what to answer).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from foxden.protocol import catalogue, hardware, models


@dataclass(frozen=True, slots=True)
class TelemetryVariable:
    name: str
    unit: str | None
    english: str
    quantum: float
    """Resolution the value is kept at (e.g. 0.001 kW)."""
    text: bool = False
    """Answered as a JSON string (runningState, batStatus, ...)."""
    counter: bool = False
    """Cumulative energy in kWh, monotone per device."""


_QUANTUM_BY_UNIT = {
    "kW": 0.001,
    "kVar": 0.001,
    "V": 0.1,
    "A": 0.1,
    "Hz": 0.01,
    "℃": 0.1,
    "%": 1.0,
    "kWh": 0.1,
    "0.01kWh": 1.0,
}

TEXT_VARIABLES = ("runningState", "batStatus", "batStatusV2", "currentFault", "currentFaultCount")

# Beyond the document's table: seen in real captures (v1 real query, batpred KH8).
_EXTRA: tuple[tuple[str, str, str], ...] = (
    ("feedin", "kWh", "The total energy of the feeder"),
    ("gridConsumption", "kWh", "Total grid electricity consumption"),
    ("loads", "kWh", "Load power consumption"),
    ("chargeEnergyToTal", "kWh", "Total charge energy"),
    ("dischargeEnergyToTal", "kWh", "Total discharge energy"),
    ("PVEnergyTotal", "kWh", "Photovoltaic power generation"),
    ("energyThroughput", "kWh", "Battery throughput"),
    ("SOH", "%", "SOH"),
    # the battery management system's current limits in force (FoxESS-Cloud 2.9.6 reads them;
    # spec newer-endpoints.md 3.1.2)
    ("maxChargeCurrent", "A", "Max charge current"),
    ("maxDischargeCurrent", "A", "Max discharge current"),
)

MAX_STACKS = 2
"""Batteries with several stacks report each one's SoC, voltage, current and temperature."""
STACK_VARIABLES: tuple[tuple[str, str, str], ...] = tuple(
    (f"{base}_{n}", unit, f"{english} {n}")
    for n in range(1, MAX_STACKS + 1)
    for base, unit, english in (
        ("SoC", "%", "Battery SoC"),
        ("batVolt", "V", "Battery voltage"),
        ("batCurrent", "A", "Battery current"),
        ("batTemperature", "℃", "Battery temperature"),
    )
)
BATTERY_EXTRAS = frozenset(
    {"SOH", "maxChargeCurrent", "maxDischargeCurrent"} | {name for name, _, _ in STACK_VARIABLES}
)

COUNTERS: tuple[str, ...] = (
    "generation",
    "feedin",
    "gridConsumption",
    "loads",
    "chargeEnergyToTal",
    "dischargeEnergyToTal",
    "PVEnergyTotal",
    "energyThroughput",
)
"""Cumulative energy counters; the report endpoint answers differences of these."""

BATTERY_COUNTERS = ("chargeEnergyToTal", "dischargeEnergyToTal", "energyThroughput")

BAT_STATUS = {0: "Idle", 1: "Charge", 2: "Discharge"}
"""batStatus codes and the batStatusV2 names the cloud answers for them."""

_GRID_TIED_ONLY_MISSING = frozenset(
    # flagged for grid-tied in the table but meaningless without a battery
    {"invBatVolt", "chargeTemperature", "meterPower2"}
)


@functools.cache
def variables() -> dict[str, TelemetryVariable]:
    """Every telemetry variable by name, the document's first, then the extras."""
    found: dict[str, TelemetryVariable] = {}
    for name, v in catalogue.variables().items():
        unit = "0.01kWh" if name == "ResidualEnergy" else v.unit
        if name == "todayYield":
            quantum = 0.1
        elif name == "PowerFactor":
            quantum = 0.001
        else:
            quantum = _QUANTUM_BY_UNIT.get(unit or "", 1.0)
        found[name] = TelemetryVariable(
            name,
            unit,
            v.name.get("en", name),
            quantum,
            text=name in TEXT_VARIABLES,
            counter=name in COUNTERS,
        )
    for name, unit, english in (*_EXTRA, *STACK_VARIABLES):
        found[name] = TelemetryVariable(
            name, unit, english, _QUANTUM_BY_UNIT[unit], counter=name in COUNTERS
        )
    return found


def _phase_ok(name: str, phases: int) -> bool:
    if phases == 3:
        return True
    for suffix in ("S", "T"):
        if name in (f"{suffix}Current", f"{suffix}Volt", f"{suffix}Freq", f"{suffix}Power"):
            return False
        if name.endswith(suffix) and name[:-1] in (
            "epsCurrent",
            "epsVolt",
            "epsPower",
            "loadsPower",
            "meterPower",
        ):
            return False
    return not (name in ("loadsPowerR", "meterPowerR") and phases == 1)


def _pv_ok(name: str, inputs: int) -> bool:
    if not name.startswith("pv") or name == "pvPower":
        return True
    digits = "".join(ch for ch in name[2:] if ch.isdigit())
    return not digits or int(digits) <= inputs


def _stack_of(name: str) -> int:
    """The battery stack a per-stack variable (``SoC_2``) is about; 0 for any other."""
    base, _, number = name.rpartition("_")
    return int(number) if base and number.isdigit() else 0


@functools.cache
def variables_for(model_name: str) -> tuple[str, ...]:
    """The variables a model reports, in catalogue order; variables it lacks are absent."""
    model = models.model(model_name)
    if model is None:
        return ()
    doc = catalogue.variables()
    chosen = []
    for name in variables():
        entry = doc.get(name)
        if entry is not None:
            flag = entry.energy_storage if model.has_battery else entry.grid_tied
            if flag is False:
                continue
            if not model.has_battery and name in _GRID_TIED_ONLY_MISSING:
                continue
        elif (name in BATTERY_COUNTERS or name in BATTERY_EXTRAS) and not model.has_battery:
            continue
        stack = _stack_of(name)
        if stack and (hardware.stacks(model_name) < 2 or stack > hardware.stacks(model_name)):
            continue
        if _phase_ok(name, model.phases) and _pv_ok(name, model.pv_inputs):
            chosen.append(name)
    return tuple(chosen)


def render_text(name: str, value: float) -> str:
    """A text variable's stored code as the cloud writes it."""
    code = round(value)
    if name == "batStatusV2":
        return BAT_STATUS.get(code, "Idle")
    if name == "currentFault":
        return "" if code == 0 else str(code)
    return str(code)
