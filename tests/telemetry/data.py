"""Synthetic samples for telemetry tests: plausible shapes, monotone counters, seeded."""

from __future__ import annotations

import numpy as np

from foxden.protocol import telemetry
from foxden.store import DeviceSamples

STEP_MS = 300_000


def samples(
    sn: str,
    model: str,
    start_ms: int,
    count: int,
    seed: int = 0,
    step_ms: int = STEP_MS,
    jitter_ms: int = 4_000,
    counters_from: float = 1000.0,
) -> DeviceSamples:
    """``count`` samples about every ``step_ms`` from ``start_ms``; counters integrate powers."""
    rng = np.random.default_rng(seed)
    variables = telemetry.variables_for(model)
    times = (
        start_ms + np.arange(count, dtype=np.int64) * step_ms + rng.integers(0, jitter_ms, count)
    )
    hours = (times % 86_400_000) / 3_600_000
    sun = np.clip(np.sin((hours - 6) / 12 * np.pi), 0, None)
    values = np.zeros((count, len(variables)))
    catalogue = telemetry.variables()
    power = {
        "generation": sun * 3 + rng.random(count) * 0.2,
        "feedin": sun * 1.5 * rng.random(count),
        "gridConsumption": (1 - sun) * rng.random(count),
        "loads": 0.3 + rng.random(count),
        "chargeEnergyToTal": sun * rng.random(count),
        "dischargeEnergyToTal": (1 - sun) * rng.random(count) * 0.5,
        "PVEnergyTotal": sun * 3.2,
        "energyThroughput": rng.random(count),
    }
    power_of = {
        "generationPower": "generation",
        "feedinPower": "feedin",
        "gridConsumptionPower": "gridConsumption",
        "loadsPower": "loads",
        "batChargePower": "chargeEnergyToTal",
        "batDischargePower": "dischargeEnergyToTal",
        "pvPower": "PVEnergyTotal",
    }
    for j, name in enumerate(variables):
        var = catalogue[name]
        if name in power_of:
            values[:, j] = np.round(power[power_of[name]], 3)
        elif var.counter:
            # energy since the previous sample: the power held over the step
            kwh = np.round(power[name], 3) * np.diff(times, prepend=times[0] - step_ms) / 3_600_000
            values[:, j] = np.round(counters_from + np.cumsum(kwh), 1)
        elif var.text:
            values[:, j] = 163 if name == "runningState" else 0
        elif var.unit == "kW":
            values[:, j] = np.round(sun * 2.5 + rng.random(count) * 0.1, 3)
        elif var.unit == "V":
            values[:, j] = np.round(230 + rng.normal(0, 2, count), 1)
        elif var.unit == "%":
            values[:, j] = np.round(50 + 40 * np.sin(hours / 24 * np.pi))
        else:
            values[:, j] = np.round(rng.random(count) * 10, 1)
    return DeviceSamples(sn, variables, times, values)
