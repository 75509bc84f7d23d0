"""Synthetic fleet telemetry for bench/telemetry.py: a day of every device at a time, numpy only.

Each device is a three-phase hybrid (H3-10.0-E) whose logger also reports nine more PV strings,
so every sample carries ``WIDTH`` (100) variables: the model's 73 plus pv3..pv11. The shapes
are what a real installation reports every five minutes, with noise where a real one has it:

- PV: a clear-sky sine from about 06:00 to 18:00 UTC scaled by a per-device capacity, a
  per-day clearness and a smoothed per-sample cloud term; string voltages 0 at night and
  about 300-380 V with noise by day; currents follow P / V.
- Loads: a per-device base with morning and evening peaks and random appliance spikes.
- Battery: charges from surplus and discharges into deficit within 5 kW and 10..100 % SoC,
  integrated sample by sample; SoC is an integer, ResidualEnergy follows it.
- Grid: three phase voltages near 240 V with noise, frequency near 50 Hz, meter powers from
  the balance.
- Temperatures: slow curves with 0.1-0.3 degC noise.
- Codes: runningState 163, batStatus / batStatusV2 from the battery's direction, no faults.
- Counters (kWh, 0.1 resolution): integrals of the powers, monotone per device across days;
  todayYield restarts every UTC day.

Every value is already at its variable's resolution, so the store's rounding changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from foxden.protocol import telemetry
from foxden.store import DeviceSamples

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MODEL = "H3-10.0-E"
WIDTH = 100
STEP_MS = 300_000
PER_DAY = 86_400_000 // STEP_MS
DAY_MS = 86_400_000
JITTER_MS = 4_000
STRINGS = 11
BATTERY_KWH = 10.4
MAX_BATTERY_KW = 5.0


def wide_variables(model: str = MODEL, width: int = WIDTH) -> tuple[str, ...]:
    """The model's variables, then the catalogue's next ones it lacks, ``width`` in all."""
    have = telemetry.variables_for(model)
    extra = [v for v in telemetry.variables() if v not in have]
    chosen = have + tuple(extra[: max(0, width - len(have))])
    for name in chosen:
        if name.startswith("pv") and name[2:3].isdigit():
            digits = "".join(ch for ch in name[2:] if ch.isdigit())
            if int(digits) > STRINGS:
                raise ValueError(f"{name}: the generator models {STRINGS} PV strings")
    return chosen


def _q(values: F64, name: str) -> F64:
    quantum = telemetry.variables()[name].quantum
    out: F64 = np.round(values / quantum) * quantum
    return out


def _smooth(rng: np.random.Generator, shape: tuple[int, int], window: int) -> F64:
    """Noise with unit variance correlated over about ``window`` samples along axis 1."""
    raw = rng.normal(size=(shape[0], shape[1] + window))
    c = np.cumsum(raw, axis=1)
    out: F64 = (c[:, window:] - c[:, :-window]) / np.sqrt(window)
    return out


@dataclass
class _State:
    """What carries over from one day to the next, per device."""

    counters: dict[str, F64]
    soc: F64
    base_load: F64
    capacity: F64  # kW per string, (devices, strings)
    volt_offset: F64
    soh: F64


class Fleet:
    """``devices`` inverters; :meth:`day` generates the next UTC day of all of them."""

    def __init__(self, sns: list[str], start_ms: int, seed: int = 7) -> None:
        if start_ms % DAY_MS:
            raise ValueError("start_ms must be a UTC midnight")
        self.sns = sns
        self.variables = wide_variables()
        self.rng = np.random.default_rng(seed)
        self.day_ms = start_ms
        n = len(sns)
        rng = self.rng
        self.state = _State(
            counters={c: 500.0 + rng.random(n) * 5000.0 for c in telemetry.COUNTERS},
            soc=rng.integers(20, 90, n).astype(np.float64),
            base_load=0.2 + rng.random(n) * 0.4,
            capacity=0.6 + rng.random((n, STRINGS)) * 0.9,
            volt_offset=rng.normal(0.0, 2.0, n),
            soh=rng.integers(96, 100, n).astype(np.float64),
        )

    def day(self) -> list[DeviceSamples]:
        """The next UTC day: one DeviceSamples of PER_DAY samples per device."""
        times, values = self.day_arrays()
        self.day_ms += DAY_MS
        return [
            DeviceSamples(sn, self.variables, times[i], values[i]) for i, sn in enumerate(self.sns)
        ]

    def day_arrays(self) -> tuple[I64, F64]:
        """(times[devices, PER_DAY], values[devices, PER_DAY, WIDTH]) of the current day."""
        rng, st = self.rng, self.state
        n, m = len(self.sns), PER_DAY
        slot = np.arange(m, dtype=np.int64) * STEP_MS
        times: I64 = self.day_ms + slot[None, :] + rng.integers(0, JITTER_MS, (n, m))
        hours = (times % DAY_MS) / 3_600_000.0
        sun = np.clip(np.sin((hours - 6.0) / 12.0 * np.pi), 0.0, None)
        clear = rng.uniform(0.3, 1.0, (n, 1))
        cloud = np.clip(clear + 0.12 * _smooth(rng, (n, m), 6), 0.05, 1.0)
        irradiance = sun * cloud  # 0..1
        col: dict[str, F64] = {}

        # PV strings
        pv_total = np.zeros((n, m))
        producing = irradiance > 0.01
        for k in range(STRINGS):
            power = irradiance * st.capacity[:, k : k + 1] * (1 + 0.02 * rng.normal(size=(n, m)))
            power = np.where(producing, np.clip(power, 0.0, None), 0.0)
            volt = np.where(
                producing, 300.0 + 80.0 * np.sqrt(sun) + rng.normal(0.0, 1.5, (n, m)), 0.0
            )
            col[f"pv{k + 1}Power"] = _q(power, "pv1Power")
            col[f"pv{k + 1}Volt"] = _q(volt, "pv1Volt")
            col[f"pv{k + 1}Current"] = _q(
                np.where(volt > 0, power * 1000.0 / np.maximum(volt, 1.0), 0.0), "pv1Current"
            )
            pv_total += col[f"pv{k + 1}Power"]
        col["pvPower"] = _q(pv_total, "pvPower")

        # loads: base, morning and evening peaks, appliance spikes
        peaks = 0.8 * np.exp(-(((hours - 7.5) / 1.0) ** 2)) + 1.5 * np.exp(
            -(((hours - 18.5) / 1.5) ** 2)
        )
        spikes = (rng.random((n, m)) < 0.04) * rng.uniform(1.0, 2.5, (n, m))
        loads = st.base_load[:, None] + peaks + spikes + 0.05 * np.abs(rng.normal(size=(n, m)))

        # battery, integrated sample by sample
        net = pv_total * 0.97 - loads
        charge = np.zeros((n, m))
        discharge = np.zeros((n, m))
        soc = np.zeros((n, m))
        level = st.soc.copy()
        hours_per_step = STEP_MS / 3_600_000.0
        for i in range(m):
            room = (100.0 - level) / 100.0 * BATTERY_KWH / hours_per_step
            stock = np.maximum(level - 10.0, 0.0) / 100.0 * BATTERY_KWH / hours_per_step
            c = np.minimum(np.clip(net[:, i], 0.0, MAX_BATTERY_KW), room)
            d = np.minimum(np.clip(-net[:, i], 0.0, MAX_BATTERY_KW), stock)
            charge[:, i], discharge[:, i] = c, d
            level = np.clip(level + (c * 0.95 - d) * hours_per_step / BATTERY_KWH * 100.0, 0, 100)
            soc[:, i] = np.round(level)
        st.soc = level
        charge, discharge = _q(charge, "batChargePower"), _q(discharge, "batDischargePower")
        feedin = _q(np.clip(net - charge, 0.0, None), "feedinPower")
        grid = _q(np.clip(-net - discharge, 0.0, None), "gridConsumptionPower")
        loads = _q(loads, "loadsPower")
        generation = _q(np.clip(pv_total * 0.97 - charge + discharge, 0.0, None), "generationPower")

        col["loadsPower"] = loads
        split = rng.dirichlet((8.0, 8.0, 8.0), (n, m))
        for p, phase in enumerate("RST"):
            col[f"loadsPower{phase}"] = _q(loads * split[:, :, p], "loadsPowerR")
        col["generationPower"] = generation
        col["feedinPower"] = feedin
        col["gridConsumptionPower"] = grid
        col["batChargePower"] = charge
        col["batDischargePower"] = discharge
        battery_power = charge - discharge
        col["invBatPower"] = _q(battery_power, "invBatPower")
        bat_volt = _q(320.0 + 0.4 * soc + rng.normal(0.0, 0.5, (n, m)), "batVolt")
        col["batVolt"] = bat_volt
        col["invBatVolt"] = _q(bat_volt + 0.4 + rng.normal(0.0, 0.2, (n, m)), "invBatVolt")
        col["batCurrent"] = _q(battery_power * 1000.0 / bat_volt, "batCurrent")
        col["invBatCurrent"] = col["batCurrent"]
        col["SoC"] = soc
        col["ResidualEnergy"] = _q(soc / 100.0 * BATTERY_KWH * 100.0, "ResidualEnergy")
        col["SOH"] = np.broadcast_to(st.soh[:, None], (n, m)).copy()
        # the BMS's current limits: fixed by the battery, as a real one reports them
        col["maxChargeCurrent"] = np.full((n, m), 25.0)
        col["maxDischargeCurrent"] = np.full((n, m), 25.0)

        # grid phases and meter
        meter = feedin - grid
        col["meterPower"] = _q(meter, "meterPower")
        col["meterPower2"] = np.zeros((n, m))
        for phase in "RST":
            volt = _q(
                240.0
                + st.volt_offset[:, None]
                + 0.75 * _smooth(rng, (n, m), 12)
                + rng.normal(0.0, 0.4, (n, m)),
                "RVolt",
            )
            power = _q(generation / 3.0 * (1 + 0.01 * rng.normal(size=(n, m))), "RPower")
            col[f"{phase}Volt"] = volt
            col[f"{phase}Power"] = power
            col[f"{phase}Current"] = _q(power * 1000.0 / volt, "RCurrent")
            col[f"{phase}Freq"] = _q(50.0 + 0.02 * _smooth(rng, (n, m), 4), "RFreq")
            col[f"meterPower{phase}"] = _q(
                meter / 3.0 + 0.01 * rng.normal(size=(n, m)), "meterPowerR"
            )
            col[f"epsVolt{phase}"] = volt
            col[f"epsCurrent{phase}"] = np.zeros((n, m))
            col[f"epsPower{phase}"] = np.zeros((n, m))
        col["epsPower"] = np.zeros((n, m))
        gen_on = generation > 0
        col["ReactivePower"] = _q(
            np.where(gen_on, rng.normal(0.0, 0.05, (n, m)), 0.0), "ReactivePower"
        )
        col["PowerFactor"] = _q(
            np.where(gen_on, np.clip(0.99 + rng.normal(0.0, 0.004, (n, m)), 0, 1), 0.0),
            "PowerFactor",
        )

        # temperatures
        ambient = 10.0 + 8.0 * sun + 0.8 * _smooth(rng, (n, m), 24)
        work = generation + charge + discharge
        col["ambientTemperation"] = _q(ambient + rng.normal(0.0, 0.2, (n, m)), "ambientTemperation")
        col["boostTemperation"] = _q(ambient + 6 + 3 * work + rng.normal(0, 0.3, (n, m)), "RVolt")
        col["invTemperation"] = _q(ambient + 8 + 3.5 * work + rng.normal(0, 0.3, (n, m)), "RVolt")
        col["dspTemperature"] = _q(col["invTemperation"] + 3.0, "RVolt")
        col["batTemperature"] = _q(18.0 + 0.5 * sun + rng.normal(0, 0.1, (n, m)), "RVolt")
        col["chargeTemperature"] = _q(col["batTemperature"] + 1.0, "RVolt")

        # codes
        col["runningState"] = np.full((n, m), 163.0)
        status = np.where(charge > 0, 1.0, np.where(discharge > 0, 2.0, 0.0))
        col["batStatus"] = status
        col["batStatusV2"] = status
        col["currentFault"] = np.zeros((n, m))
        col["currentFaultCount"] = np.zeros((n, m))

        # counters: energy since the previous sample, summed on from yesterday
        dt_h = np.diff(times, axis=1, prepend=times[:, :1] - STEP_MS) / 3_600_000.0
        power_of = {
            "generation": generation,
            "feedin": feedin,
            "gridConsumption": grid,
            "loads": loads,
            "chargeEnergyToTal": charge,
            "dischargeEnergyToTal": discharge,
            "PVEnergyTotal": pv_total,
            "energyThroughput": charge + discharge,
        }
        for name, power in power_of.items():
            total = st.counters[name][:, None] + np.cumsum(power * dt_h, axis=1)
            st.counters[name] = total[:, -1].copy()
            col[name] = _q(total, name)
        col["todayYield"] = _q(np.cumsum(generation * dt_h, axis=1), "todayYield")

        missing = [v for v in self.variables if v not in col]
        if missing:
            raise KeyError(f"no generator for {missing}")
        values: F64 = np.stack([col[v] for v in self.variables], axis=-1)
        return times, values
