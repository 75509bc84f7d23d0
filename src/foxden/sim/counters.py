"""Lifetime energy counters and what else carries from one sample to the next.

The counters are the telemetry's cumulative ones (``telemetry.COUNTERS``) plus one kept
internally: the energy the inverter drew from its AC side (grid charging, standby when
neither PV nor battery covered it). With it every lifetime identity holds exactly, per plant
(loads, gridConsumption and feedin are the meter's, on the plant's primary inverter; the sums
run over the plant's inverters):

    loads = sum(generation - inverter input) + gridConsumption - feedin
    feedin <= sum(generation);  generation <= PVEnergyTotal + dischargeEnergyToTal
    energyThroughput = chargeEnergyToTal + dischargeEnergyToTal

A new device's counters start from its commissioning date (``hardware.commissioned_ms``):
the energy of a climatologically typical day of each month (``engine.typical_energy``) times
the days of that month it has run, a sum of whole simulated days, so the identities hold
from the first sample on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from foxden.protocol import telemetry

F = npt.NDArray[np.float64]
IA = npt.NDArray[np.int64]

COUNTER = {name: i for i, name in enumerate(telemetry.COUNTERS)}
"""Column of each telemetry counter in ``State.counters``."""
INVERTER_INPUT = len(COUNTER)
"""Column of the internal counter of energy drawn by the inverter from its AC side."""


@dataclass(slots=True)
class State:
    """What carries from one sample to the next, per device."""

    soc: F
    counters: F  # (D, len(COUNTER) + 1), kWh
    last_ms: IA  # time of the previous sample (0: none yet)
    yield_day: IA  # local date ordinal todayYield counts from
    yield_base: F  # generation counter at that local midnight

    @classmethod
    def empty(cls, devices: int) -> State:
        return cls(
            soc=np.zeros(devices),
            counters=np.zeros((devices, len(COUNTER) + 1)),
            last_ms=np.zeros(devices, dtype=np.int64),
            yield_day=np.zeros(devices, dtype=np.int64),
            yield_base=np.zeros(devices),
        )


def inverter_input_from(values: dict[str, float]) -> float:
    """The internal counter recovered from stored telemetry counters (by the identity of a
    one-inverter plant; on a plant with several it is a bound, and only the identity checks
    read it)."""
    return max(
        values.get("generation", 0.0)
        + values.get("gridConsumption", 0.0)
        - values.get("feedin", 0.0)
        - values.get("loads", 0.0),
        0.0,
    )
