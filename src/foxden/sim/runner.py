"""The fleet against the store: read devices, plants and settings, simulate, ingest.

``FleetRunner.run_until(t)`` brings every device's telemetry up to simulated time ``t``:
a backfill is the same call over a longer span. The live loop calls it as the clock runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import numpy as np

from foxden.clock import Clock
from foxden.protocol import catalogue, models, telemetry, timefmt
from foxden.sim import engine, parts
from foxden.sim.control import Controls, controls_from
from foxden.sim.counters import inverter_input_from
from foxden.store import Device, DeviceSamples, Plant, Store

DAY_MS = engine.DAY_MS
STATUS_ONLINE, STATUS_FAULT = 1, 2

# where a plant without a position is put: its country's capital, else Greenwich
CAPITALS = {
    "GB": (51.5, -0.13),
    "DE": (52.52, 13.4),
    "AU": (-35.28, 149.13),
    "US": (38.9, -77.04),
    "FR": (48.86, 2.35),
    "PL": (52.23, 21.01),
    "IT": (41.9, 12.5),
    "ES": (40.42, -3.7),
    "NL": (52.37, 4.9),
    "CN": (39.9, 116.4),
    "ZA": (-25.75, 28.19),
    "BR": (-15.8, -47.9),
}

HOUSEHOLD_KEY = "sim.household"
"""Key in a plant's extra data with what its simulated household has besides the house:
``{"ev": bool, "heat_pump": bool}`` (both false when absent). The Open API never shows it."""

Progress = Callable[[int, int], None]
"""Called with (days done, days in all) while running."""

HARDWARE_KEY = "sim.hardware"
"""Device setting with what a scenario says of an inverter's hardware: ``pv_kwp``,
``azimuth`` and ``tilt`` of its two strings, ``battery_kwh``, the initial ``soc``."""

PARTS_AFTER_MS = 3 * 3_600_000
"""Runs longer than this (backfills, a catch-up after a pause) of a fleet larger than its
``part_devices`` go a part at a time; a live step's few samples go at once, on the day's
exogenous inputs kept between steps."""

StepObserver = Callable[[float, int], None]
"""Called after every step the fleet stored, with (seconds it took, samples stored)."""


@dataclass(frozen=True, slots=True)
class Injected:
    code: int
    until_ms: int | None = None


class FleetRunner:
    """Simulates every device that is bound to a plant; one seed for all randomness."""

    def __init__(
        self, store: Store, clock: Clock, seed: int = 0, random_faults: bool = False
    ) -> None:
        self.store = store
        self.clock = clock
        self.seed = seed
        self.random_faults = random_faults
        self.fleet: engine.Fleet | None = None
        self.state: engine.State | None = None
        self._sns: tuple[str, ...] = ()
        self._days: dict[int, engine.Exogenous] = {}
        """The exogenous inputs of the last days simulated (live steps reuse them)."""
        self.on_step: StepObserver | None = None
        self._devices: object = None
        """The store's device list the fleet was built from (the same object while no
        device or plant changed)."""
        self._controls: tuple[object, Controls] | None = None
        """(the store's settings they came from, the fleet's controls)."""
        self.part_devices = parts.PART_DEVICES
        """A long run of a fleet larger than this is simulated this many devices at a time
        (``sim.parts``: the memory of a day's samples is bounded, the samples the same)."""
        self.on_part: Progress | None = None
        """Called with (parts done, parts of the day) as a day is simulated in parts."""
        self._packed_before: int | None = None
        """The UTC day whose earlier days' appended samples were last packed (None: not
        since this runner started, so the first run packs what a restart left)."""

    # ------------------------------------------------------------ fleet and state

    def _specs(self, devices: list[tuple[Device, Plant | None]]) -> list[engine.DeviceSpec]:
        specs = []
        for device, plant in devices:
            model = models.model(device.model)
            if model is None or plant is None:
                continue
            lat, lon = _position(plant)
            house = plant.extra.get(HOUSEHOLD_KEY) or {}
            specs.append(
                engine.DeviceSpec(
                    device.sn,
                    model,
                    timefmt.zone(plant.timezone),
                    lat,
                    lon,
                    plant.id,
                    plant.country_code,
                    ev=bool(house.get("ev", False)),
                    heat_pump=bool(house.get("heat_pump", False)),
                )
            )
        return specs

    def refresh(self, start_ms: int) -> engine.Fleet:
        """(Re)build the fleet when devices came or went or a plant changed (moved, another
        zone or country); new devices start at ``start_ms`` or continue from their newest
        stored sample, the others keep their state."""
        devices = self.store.all_devices()
        if self.fleet is not None and devices is self._devices:
            return self.fleet  # no device or plant changed since the fleet was built
        specs = self._specs(devices)
        sns = tuple(s.sn for s in specs)
        self._devices = devices
        if self.fleet is not None and specs == self.fleet.specs:
            return self.fleet
        fleet = engine.Fleet(specs, self.seed)
        settings = self.store.all_settings()
        self._hardware(fleet, settings)
        old = {sn: i for i, sn in enumerate(self._sns)} if self.state is not None else {}
        latest = self.store.latest(list(sns))
        # only a device that starts here needs its lifetime counters from typical days: the
        # others go on from their state or their newest stored sample (a restart, a takeover)
        fresh = np.array([sn not in old and sn not in latest for sn in sns], dtype=bool)
        state = engine.initial_state(fleet, start_ms, fresh)
        for j, sn in enumerate(sns):
            if self.state is not None and sn in old:
                i = old[sn]
                state.soc[j] = self.state.soc[i]
                state.counters[j] = self.state.counters[i]
                state.last_ms[j] = self.state.last_ms[i]
                state.yield_day[j] = self.state.yield_day[i]
                state.yield_base[j] = self.state.yield_base[i]
            elif sn in latest:
                _resume(state, j, latest[sn].time_ms, latest[sn].values, fleet.specs[j])
            else:
                soc = settings.get(sn, {}).get(HARDWARE_KEY, {}).get("soc")
                if soc is not None:
                    state.soc[j] = float(soc)
        self.fleet, self.state, self._sns = fleet, state, sns
        self._days.clear()
        return fleet

    def forget(self) -> None:
        """Drop the fleet and its state; the next step resumes from the store."""
        self.fleet = None
        self.state = None
        self._sns = ()
        self._devices = None
        self._controls = None
        self._days.clear()

    def _hardware(self, fleet: engine.Fleet, settings: dict[str, dict[str, Any]]) -> None:
        """What scenarios say of the inverters' PV arrays and batteries, over the defaults."""
        for j, spec in enumerate(fleet.specs):
            hw = settings.get(spec.sn, {}).get(HARDWARE_KEY)
            if not hw:
                continue
            if "pv_kwp" in hw:
                share = fleet.kwp[j] / max(float(fleet.kwp[j].sum()), 1e-9)
                fleet.kwp[j] = share * float(hw["pv_kwp"])
            if "azimuth" in hw:
                fleet.surface_azimuth[j] = np.asarray(hw["azimuth"], dtype=np.float64)
            if "tilt" in hw:
                fleet.tilt[j] = float(hw["tilt"])
            if "battery_kwh" in hw:
                fleet.capacity_kwh[j] = float(hw["battery_kwh"])

    def controls(self, fleet: engine.Fleet) -> Controls:
        """The fleet's controls from its devices' settings (kept while no setting changed)."""
        settings = self.store.all_settings()
        if self._controls is not None and self._controls[0] is settings and fleet is self.fleet:
            return self._controls[1]
        c = Controls.defaults(fleet.rating_kw)
        for j, spec in enumerate(fleet.specs):
            c.set_device(j, controls_from(settings.get(spec.sn, {}), spec.model))
        if fleet is self.fleet:
            self._controls = (settings, c)
        return c

    # ------------------------------------------------------------ running

    def run_until(
        self, until_ms: int, start_ms: int | None = None, progress: Progress | None = None
    ) -> int:
        """Simulate and store every sample up to ``until_ms``; devices without data start at
        ``start_ms`` (default: one sample period before ``until_ms``). Returns samples stored."""
        fleet = self.refresh(start_ms if start_ms is not None else until_ms - engine.STEP_MS)
        state = self.state
        if not len(fleet) or state is None:
            return 0
        if self.random_faults:
            self._random_faults(fleet, until_ms)
        stored = 0
        # a timed fault ends at its own time: simulate up to it with the fault on, then clear
        while (end := self._next_fault_end(fleet, until_ms)) is not None:
            stored += self._run(fleet, state, end, progress)
            settings = self.store.all_settings()
            for spec in fleet.specs:
                until = settings.get(spec.sn, {}).get("faultUntil")
                if until is not None and int(until) <= end:
                    clear_fault(self.store, spec.sn)
        return stored + self._run(fleet, state, until_ms, progress)

    def _next_fault_end(self, fleet: engine.Fleet, until_ms: int) -> int | None:
        settings = self.store.all_settings()
        ends = [
            int(until)
            for spec in fleet.specs
            if (until := settings.get(spec.sn, {}).get("faultUntil")) is not None
            and int(until) <= until_ms
        ]
        return min(ends) if ends else None

    def _run(
        self, fleet: engine.Fleet, state: engine.State, until_ms: int, progress: Progress | None
    ) -> int:
        started = time.perf_counter()
        controls = self.controls(fleet)
        first_day = int(state.last_ms.min()) // DAY_MS
        last_day = until_ms // DAY_MS
        total_days = max(1, last_day - first_day + 1)
        stored = 0
        for n, day in enumerate(range(first_day, last_day + 1)):
            after = int(state.last_ms.min())
            if len(fleet) > self.part_devices and until_ms - after > PARTS_AFTER_MS:
                # a long run of a large fleet (a backfill): a part at a time, same samples
                every = parts.count(fleet, self.part_devices)
                for k, done in enumerate(
                    parts.simulate(fleet, state, controls, day, after, until_ms, self.part_devices)
                ):
                    stored += self.store.ingest(_batches(done.fleet, done.times, done.values))
                    if self.on_part is not None:
                        self.on_part(k + 1, every)
                if progress is not None:
                    progress(n + 1, total_days)
                continue
            if day not in self._days:
                if len(self._days) >= 2:
                    del self._days[min(self._days)]
                self._days[day] = engine.exogenous(fleet, day)
            times, values = engine.simulate(
                fleet, state, controls, day, after, until_ms, self._days[day]
            )
            stored += self.store.ingest(_batches(fleet, times, values))
            if progress is not None:
                progress(n + 1, total_days)
        self.pack_closed_days(until_ms)
        if self.on_step is not None and stored:  # a call with nothing to simulate is no step
            self.on_step(time.perf_counter() - started, stored)
        return stored

    def pack_closed_days(self, now_ms: int) -> int:
        """Once a UTC day has closed (and on the first run), pack the samples appended to
        every earlier day into its chunk. Returns the device-days packed."""
        today = now_ms // DAY_MS
        if self._packed_before == today:
            return 0
        self._packed_before = today
        return self.store.merge_tail(today * DAY_MS)

    def backfill(self, days: float, progress: Progress | None = None) -> int:
        """History for the last ``days`` days up to the clock's now."""
        now = self.clock.now_ms()
        return self.run_until(now, start_ms=now - int(days * DAY_MS), progress=progress)

    # ------------------------------------------------------------ faults

    def inject(self, sn: str, code: int, until_ms: int | None = None) -> int:
        """Put ``sn`` in fault at once: the fleet is brought up to the clock's now with the
        old state, then the device takes a fresh sample showing the fault (real-time data
        and device/list change on the next call, not at the next 5-minute sample).
        Returns the samples stored."""
        now = self.clock.now_ms()
        stored = self.run_until(now)
        inject_fault(self.store, sn, code, until_ms)
        return stored + self.sample_now([sn], now)

    def clear(self, sn: str) -> int:
        """Clear ``sn``'s fault at once, with a fresh sample like :meth:`inject`."""
        now = self.clock.now_ms()
        stored = self.run_until(now)
        clear_fault(self.store, sn)
        return stored + self.sample_now([sn], now)

    def sample_now(self, sns: Sequence[str], now_ms: int) -> int:
        """An extra sample of each device in ``sns``, and of the other inverters of its plant,
        at ``now_ms`` (1 ms after its newest one if that is not earlier), between the regular
        5-minute ones.

        Sun, weather and load are those of the regular sample in progress; the battery,
        the grid and the energy counters step from the newest sample with the real
        elapsed time, so the counters stay continuous. Returns the samples stored."""
        started = time.perf_counter()
        fleet = self.refresh(now_ms - engine.STEP_MS)
        state = self.state
        wanted = set(sns)
        # the inverters of a plant sample together: one meter sees them all
        plants = {spec.plant for spec in fleet.specs if spec.sn in wanted}
        cols = [j for j, spec in enumerate(fleet.specs) if spec.plant in plants]
        if state is None or not cols:
            return 0
        when = np.maximum(state.last_ms + 1, now_ms)
        day = int(when[cols].min()) // DAY_MS
        if day not in self._days:
            if len(self._days) >= 2:
                del self._days[min(self._days)]
            self._days[day] = engine.exogenous(fleet, day)
        ex = self._days[day]
        d = len(fleet)
        # per device, the regular sample in progress at its event time
        rows = np.array(
            [
                min(int(np.searchsorted(ex.times[:, j], when[j])), engine.STEPS - 1)
                for j in range(d)
            ],
            dtype=np.int64,
        )
        picked = np.arange(d)
        one = engine.Exogenous(
            **{
                f.name: getattr(ex, f.name)[rows, picked][None, ...]
                for f in fields(engine.Exogenous)
            }
        )
        active = np.zeros(d, dtype=bool)
        active[cols] = True
        one.times = np.where(active, when, 0)[None, :].astype(np.int64)
        until = int(one.times.max())
        times, values = engine.simulate(
            fleet, state, self.controls(fleet), day, until - 1 - engine.DAY_MS, until, one
        )
        stored = self.store.ingest(_batches(fleet, times, values))
        if self.on_step is not None and stored:  # a call with nothing to simulate is no step
            self.on_step(time.perf_counter() - started, stored)
        return stored

    def _random_faults(self, fleet: engine.Fleet, now_ms: int) -> None:
        rng = engine.rng_for(self.seed, "random-faults", now_ms // engine.STEP_MS)
        codes = [
            c for c, f in catalogue.faults().items() if not f.name.get("en", "").startswith("TBD")
        ]
        every = self.store.all_settings()
        for spec in fleet.specs:
            settings = every.get(spec.sn, {})
            if not int(settings.get("fault", 0)) and rng.random() < 0.0005:
                inject_fault(self.store, spec.sn, int(rng.choice(codes)), now_ms + 3_600_000)


def inject_fault(store: Store, sn: str, code: int, until_ms: int | None = None) -> None:
    """Put a device in fault: runningState 165, no output, status 2 in device/list."""
    if code not in catalogue.faults():
        raise ValueError(f"unknown fault code {code}")
    store.put_settings(sn, {"fault": code, "faultUntil": until_ms})
    store.set_device_status(sn, STATUS_FAULT)


def clear_fault(store: Store, sn: str) -> None:
    store.put_settings(sn, {"fault": 0, "faultUntil": None})
    store.set_device_status(sn, STATUS_ONLINE)


def _position(plant: Plant) -> tuple[float, float]:
    if plant.latitude is not None and plant.longitude is not None:
        return plant.latitude, plant.longitude
    return CAPITALS.get(plant.country_code.upper(), (51.48, 0.0))


def _resume(
    state: engine.State, j: int, time_ms: int, values: dict[str, float], spec: engine.DeviceSpec
) -> None:
    """Continue a device from its newest stored sample (after a restart)."""
    state.last_ms[j] = time_ms
    if "ResidualEnergy" in values and spec.model.battery_kwh > 0:  # finer than SoC's 1 %
        state.soc[j] = values["ResidualEnergy"] / 100 / spec.model.battery_kwh * 100
    elif "SoC" in values:
        state.soc[j] = values["SoC"]
    for name, i in engine.COUNTER.items():
        if name in values:
            state.counters[j, i] = values[name]
    state.counters[j, engine.INVERTER_INPUT] = inverter_input_from(values)
    local = datetime.fromtimestamp(time_ms / 1000, UTC).astimezone(spec.zone)
    state.yield_day[j] = local.toordinal()
    state.yield_base[j] = state.counters[j, engine.COUNTER["generation"]] - values.get(
        "todayYield", 0.0
    )


def _batches(
    fleet: engine.Fleet, times: np.ndarray, values: dict[str, np.ndarray]
) -> list[DeviceSamples]:
    """Each device's samples (rows with a time), its model's variables; the devices of a
    model are gathered at once."""
    sampled = times > 0
    have = sampled.any(axis=0)
    by_model: dict[str, list[int]] = {}
    for j in np.flatnonzero(have).tolist():
        by_model.setdefault(fleet.specs[j].model.name, []).append(j)
    found: dict[int, DeviceSamples] = {}
    for model, cols in by_model.items():
        names = telemetry.variables_for(model)
        block = np.stack([values[name][:, cols] for name in names], axis=2)  # (T, n, V)
        for k, j in enumerate(cols):
            rows = np.flatnonzero(sampled[:, j])
            found[j] = DeviceSamples(
                fleet.specs[j].sn, names, times[rows, j].astype(np.int64), block[rows, k]
            )
    return [found[j] for j in sorted(found)]


__all__ = ["FleetRunner", "clear_fault", "inject_fault"]
