"""Every telemetry variable of a day's samples, from the flows the engine recorded.

Identities that hold at every sample (tests/sim/test_physics.py checks each):
- the plant's meter is on its primary inverter (the first with a battery): there
  ``loadsPower = generationPower + meterPower + meterPower2``, the plant's household, with
  generationPower the inverter's signed AC output (below zero while it draws from the grid)
  and meterPower2 the output of the plant's other, AC-coupled inverters (its second meter);
  the other inverters meter nothing (loads, grid and meter powers 0);
- ``meterPower = gridConsumptionPower - feedinPower``;
- ``batVolt x batCurrent`` is the pack's DC power, ``invBatVolt x invBatCurrent`` the
  battery port's AC-side power ``invBatPower = batDischargePower - batChargePower``;
- the strings add up to ``pvPower``; the phases to ``generationPower`` and ``loadsPower``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from foxden.sim import battery as bt
from foxden.sim import inverter, pv
from foxden.sim.control import Controls
from foxden.sim.counters import COUNTER
from foxden.sim.engine import RUNNING_FAULT, RUNNING_ON_GRID, STRINGS, Exogenous, Fleet

F = npt.NDArray[np.float64]
IA = npt.NDArray[np.int64]

STACK_SOC_SPREAD = 0.6
"""Stacks of one battery drift apart by about this much SoC, %."""


def of(
    fleet: Fleet,
    ex: Exogenous,
    rows: IA,
    rec: dict[str, F],
    counters: F,
    today: F,
    controls: Controls,
    day: int,
) -> dict[str, F]:
    """Every telemetry variable, (T, D) each, for the rows ``rows`` of the day."""
    scale = np.where(ex.pv_dc_strings[rows].sum(axis=2) > 0, 1.0, 0.0)
    total_dc = np.maximum(ex.pv_dc_strings[rows].sum(axis=2), 1e-12)
    strings = ex.pv_dc_strings[rows] * (rec["pv_dc"] / total_dc * scale)[:, :, None]
    cell = ex.cell_temp[rows]
    vmp = pv.string_voltage(ex.poa[rows], cell)
    air = ex.ambient[rows]
    output, load = rec["output"], rec["load"]
    charge, discharge = rec["charge"], rec["discharge"]
    zeros = np.zeros_like(output)
    volt = fleet.volt_base[None, :] + ex.volt_noise[rows]
    bat_volt, bat_current = fleet.packs.terminal(rec["soc"], bt.dc_power(charge, discharge))
    v: dict[str, F] = {}
    v["pvPower"] = strings.sum(axis=2)
    for i in range(18):
        s_power = strings[:, :, i] if i < STRINGS else zeros
        s_volt = vmp[:, :, i] if i < STRINGS else zeros
        v[f"pv{i + 1}Power"] = s_power
        v[f"pv{i + 1}Volt"] = s_volt
        v[f"pv{i + 1}Current"] = np.where(s_volt > 50, s_power * 1000 / np.maximum(s_volt, 1), 0.0)
    three = (fleet.phases == 3)[None, :]
    split = np.where(three[..., None], fleet.phase_split[None, :, :], np.array([1.0, 0.0, 0.0]))
    meter = rec["import"] - rec["export"]
    for p, name in enumerate("RST"):
        share = split[:, :, p]
        v[f"{name}Power"] = output * np.where(three, 1 / 3, 1.0 if p == 0 else 0.0)
        v[f"{name}Volt"] = volt + p * 0.7
        v[f"{name}Current"] = np.abs(v[f"{name}Power"]) * 1000 / v[f"{name}Volt"]
        v[f"{name}Freq"] = ex.freq[rows]
        v[f"loadsPower{name}"] = load * share
        v[f"meterPower{name}"] = meter * share
        v[f"epsVolt{name}"] = volt
        v[f"epsCurrent{name}"] = zeros
        v[f"epsPower{name}"] = zeros
    v["epsPower"] = zeros
    inv_t, inside_t, boost_t, dsp_t = inverter.temperatures(air, output, fleet.rating_kw[None, :])
    v["ambientTemperation"] = inside_t
    v["boostTemperation"] = boost_t
    v["invTemperation"] = inv_t
    v["dspTemperature"] = dsp_t
    bat_temp = bt.temperature(air, charge, discharge, fleet.max_charge_kw[None, :])
    v["batTemperature"] = bat_temp
    v["chargeTemperature"] = bat_temp + 0.5
    v["loadsPower"] = load
    v["generationPower"] = output
    v["feedinPower"] = rec["export"]
    v["gridConsumptionPower"] = rec["import"]
    v["meterPower"] = meter
    v["meterPower2"] = rec["meter2"]
    # the inverter's battery port: AC-side power, the pack's voltage a cable's drop away
    v["invBatVolt"] = np.where(bat_volt > 0, bat_volt + 0.4 * np.sign(bat_current), 0.0)
    v["invBatPower"] = discharge - charge
    v["invBatCurrent"] = np.where(
        v["invBatVolt"] > 0, v["invBatPower"] * 1000 / np.maximum(v["invBatVolt"], 1e-9), 0.0
    )
    v["batChargePower"] = charge
    v["batDischargePower"] = discharge
    v["batVolt"] = bat_volt
    v["batCurrent"] = -bat_current  # positive discharging, as invBatPower
    v["SoC"] = np.round(rec["soc"])
    v["ResidualEnergy"] = rec["soc"] / 100 * fleet.capacity_kwh[None, :] * 100
    # batStatus is 1 for a battery in service, whichever way it runs (both real captures
    # answer "1", one of them discharging 6.6 kW; clients read 0 as "no battery");
    # batStatusV2 names what the battery is doing now
    v["batStatus"] = np.ones_like(charge)
    v["batStatusV2"] = np.where(charge > 0.01, 1.0, np.where(discharge > 0.01, 2.0, 0.0))
    v["SOH"] = np.round(fleet.soh(np.full(output.shape, day, dtype=np.int64)))
    v["maxChargeCurrent"] = rec["charge_a"]
    v["maxDischargeCurrent"] = rec["discharge_a"]
    _stacks(fleet, v, rec["soc"], bat_volt, bat_current, bat_temp)
    v["ReactivePower"] = ex.reactive[rows]
    v["PowerFactor"] = np.where(output > 0.05, 0.99 + 0.009 * np.tanh(output), 1.0)
    v["todayYield"] = today
    for name, i in COUNTER.items():
        v[name] = counters[:, :, i]
    faulted = (controls.fault > 0)[None, :]
    v["runningState"] = np.where(faulted, float(RUNNING_FAULT), float(RUNNING_ON_GRID)) + zeros
    v["currentFault"] = np.broadcast_to(controls.fault[None, :].astype(float), zeros.shape) + 0
    v["currentFaultCount"] = np.where(faulted, 1.0, 0.0) + zeros
    return v


def _stacks(fleet: Fleet, v: dict[str, F], soc: F, volt: F, current: F, temp: F) -> None:
    """Per-stack variables (``SoC_1``, ``batVolt_1``, ...) of batteries with several stacks
    in parallel: one voltage, the current shared, SoC and temperature a little apart."""
    most = int(fleet.packs.stacks.max()) if len(fleet) else 0
    stacks = np.maximum(fleet.packs.stacks, 1)[None, :]
    for n in range(1, max(most, 2) + 1):
        lean = (n - (stacks + 1) / 2) * STACK_SOC_SPREAD
        v[f"SoC_{n}"] = np.asarray(np.round(np.clip(soc + lean, 0, 100)), dtype=np.float64)
        v[f"batVolt_{n}"] = volt
        v[f"batCurrent_{n}"] = -current / stacks * (1 + 0.02 * lean)
        v[f"batTemperature_{n}"] = temp + 0.4 * lean
