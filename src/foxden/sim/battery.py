"""The battery: LFP pack voltage from SoC, what it can take or give in a step (rate, current
limit, charge taper near full, temperature), its SoC after a step, its temperature, its SOH.

Arrays are (D,) per device unless said otherwise. Powers are on the inverter's AC side; the
battery stores ``charge * BATTERY_EFFICIENCY`` and gives ``discharge / BATTERY_EFFICIENCY``
(one-way 95 %, about 90 % round trip through the inverter).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from foxden.protocol import hardware, models

F = npt.NDArray[np.float64]

BATTERY_EFFICIENCY = 0.95
TAPER_FROM_SOC = 93.0
"""Above this SoC the charge current tapers (constant-voltage phase) to a trickle at 100 %."""
TAPER_FLOOR = 0.05
CELL_OHMS = 0.0009
"""Internal resistance of one cell, ohms: a 48-cell pack sags about 1 V at 20 A."""


def cell_ocv(soc: F) -> F:
    """Open-circuit voltage of an LFP cell, V, at ``soc`` percent: steep at both ends, flat
    around 3.25-3.3 V in between."""
    s = np.minimum(np.maximum(soc, 0.0), 100.0) / 100
    s2 = s * s
    s4 = s2 * s2
    r = 1 - s
    r2 = r * r
    r4 = r2 * r2
    return np.asarray(3.15 + 0.22 * s + 0.12 * s4 * s4 * s4 - 0.3 * r4 * r4 * r4)


@dataclass(slots=True)
class Packs:
    """The fleet's batteries, one row per device (zeros for devices without one)."""

    capacity_kwh: F
    stacks: npt.NDArray[np.int64]
    cells: F
    max_charge_kw: F
    max_discharge_kw: F
    max_charge_a: F
    max_discharge_a: F

    @classmethod
    def of(cls, model_list: list[models.InverterModel]) -> Packs:
        packs = [hardware.battery(m.name) for m in model_list]
        rate = [m.max_charge_w / 1000 if p else 0.0 for m, p in zip(model_list, packs, strict=True)]
        return cls(
            capacity_kwh=np.array([p.kwh if p else 0.0 for p in packs]),
            stacks=np.array([p.stacks if p else 0 for p in packs], dtype=np.int64),
            cells=np.array([float(p.cells) if p else 0.0 for p in packs]),
            max_charge_kw=np.array(rate),
            max_discharge_kw=np.array(rate),
            max_charge_a=np.array([p.max_charge_a if p else 0.0 for p in packs]),
            max_discharge_a=np.array([p.max_discharge_a if p else 0.0 for p in packs]),
        )

    def ocv(self, soc: F) -> F:
        """Open-circuit pack voltage, V (0 without a battery)."""
        return np.asarray(self.cells * cell_ocv(soc), dtype=np.float64)

    def terminal(self, soc: F, battery_kw: F) -> tuple[F, F]:
        """(voltage V, current A) at the pack's terminals for ``battery_kw`` on the DC side,
        positive charging: the current makes the voltage rise while charging and sag while
        discharging, and V x I is the power exactly."""
        ocv = self.ocv(soc)
        ohms = self.cells * CELL_OHMS / np.maximum(self.stacks, 1)
        # V = ocv + I R and V I = P  =>  R I^2 + ocv I - P = 0
        p = battery_kw * 1000
        disc = np.maximum(ocv**2 + 4 * ohms * p, 0.0)
        current = np.where(self.cells > 0, 2 * p / (ocv + np.sqrt(disc) + 1e-12), 0.0)
        volt = np.where(self.cells > 0, ocv + current * ohms, 0.0)
        return volt, current


def temperature_factor(battery_c: F) -> tuple[F, F]:
    """(charge, discharge) derating by cell temperature: no charging below 0 °C, full rate
    from 10 °C to 45 °C, nothing above 55 °C; discharge from -10 °C."""
    charge = np.clip(battery_c / 10, 0, 1) * np.clip((55 - battery_c) / 10, 0, 1)
    discharge = np.clip((battery_c + 10) / 10, 0, 1) * np.clip((60 - battery_c) / 10, 0, 1)
    return charge, discharge


def taper_factor(soc: F) -> F:
    """Share of the charge rate left near full: 1 up to TAPER_FROM_SOC, then linear down to
    TAPER_FLOOR at 100 %."""
    return np.minimum(np.maximum((100 - soc) * (1 / (100 - TAPER_FROM_SOC)), TAPER_FLOOR), 1.0)


def current_limits(packs: Packs, charge_a: F, discharge_a: F) -> tuple[F, F]:
    """(charge, discharge) battery current limits in force, A: the lower of the pack's and
    the one set (NaN: none set)."""
    charge = np.fmin(np.where(np.isnan(charge_a), np.inf, charge_a), packs.max_charge_a)
    discharge = np.fmin(np.where(np.isnan(discharge_a), np.inf, discharge_a), packs.max_discharge_a)
    return np.asarray(charge, dtype=np.float64), np.asarray(discharge, dtype=np.float64)


def headroom(
    packs: Packs,
    soc: F,
    floor: F,
    ceiling: F,
    dt_h: F,
    battery_c: F,
    charge_a: F,
    discharge_a: F,
) -> tuple[F, F]:
    """(can charge, can discharge) on the AC side this step, kW: the model's rate, the
    current limits (the lower of the pack's and the one set, NaN: none set) by the pack
    voltage, the taper, the temperature, and the energy to the ceiling or the floor."""
    cap = np.maximum(packs.capacity_kwh, 1e-9)
    volt = packs.ocv(soc)
    amps_charge, amps_discharge = current_limits(packs, charge_a, discharge_a)
    by_current_charge = amps_charge * volt / 1000
    by_current_discharge = amps_discharge * volt / 1000
    warm_charge, warm_discharge = temperature_factor(battery_c)
    rate_charge = (
        np.minimum(packs.max_charge_kw, by_current_charge / BATTERY_EFFICIENCY)
        * taper_factor(soc)
        * warm_charge
    )
    rate_discharge = (
        np.minimum(packs.max_discharge_kw, by_current_discharge * BATTERY_EFFICIENCY)
        * warm_discharge
    )
    to_ceiling = np.clip(ceiling - soc, 0, None) / 100 * cap / dt_h / BATTERY_EFFICIENCY
    to_floor = np.clip(soc - floor, 0, None) / 100 * cap * BATTERY_EFFICIENCY / dt_h
    has = packs.capacity_kwh > 0
    return (
        np.where(has, np.minimum(rate_charge, to_ceiling), 0.0),
        np.where(has, np.minimum(rate_discharge, to_floor), 0.0),
    )


def step_headroom(
    packs: Packs,
    soc: F,
    floor: F,
    ceiling: F,
    dt_h: F,
    amps_charge: F,
    amps_discharge: F,
) -> tuple[F, F]:
    """``headroom`` with the current limits already derated for temperature (the engine's
    inner loop: the fewest array operations)."""
    volt = packs.ocv(soc)
    cap = packs.capacity_kwh
    rate_charge = np.minimum(
        packs.max_charge_kw, amps_charge * volt / (1000 * BATTERY_EFFICIENCY)
    ) * taper_factor(soc)
    rate_discharge = np.minimum(
        packs.max_discharge_kw, amps_discharge * volt * (BATTERY_EFFICIENCY / 1000)
    )
    to_ceiling = np.maximum(ceiling - soc, 0.0) * cap / (100 * BATTERY_EFFICIENCY) / dt_h
    to_floor = np.maximum(soc - floor, 0.0) * cap * (BATTERY_EFFICIENCY / 100) / dt_h
    return np.minimum(rate_charge, to_ceiling), np.minimum(rate_discharge, to_floor)


def soc_after(soc: F, charge_kw: F, discharge_kw: F, capacity_kwh: F, dt_h: F) -> F:
    """SoC after one step: charge stored at the battery's efficiency, discharge drawn above it."""
    stored = charge_kw * BATTERY_EFFICIENCY - discharge_kw / BATTERY_EFFICIENCY
    delta = np.where(capacity_kwh > 0, stored * dt_h / np.maximum(capacity_kwh, 1e-9) * 100, 0.0)
    return np.minimum(np.maximum(soc + delta, 0.0), 100.0)


def dc_power(charge_kw: F, discharge_kw: F) -> F:
    """Power into the pack on its DC side, kW (negative discharging)."""
    return np.asarray(charge_kw * BATTERY_EFFICIENCY - discharge_kw / BATTERY_EFFICIENCY)


def temperature(ambient_c: F, charge_kw: F, discharge_kw: F, max_kw: F) -> F:
    """Cell temperature, °C: an indoor or garage pack follows the air a little and warms
    with its current."""
    load = (charge_kw + discharge_kw) / np.maximum(max_kw, 0.1)
    return np.asarray(18 + 0.3 * (ambient_c - 18) + 5 * load, dtype=np.float64)
