"""Control through the Open API, seen in the fleet's telemetry: a real server, the real
client, simulated time moved by the admin API. The plant is in London on 2026-06-21
(sunrise about 04:43 BST, solar noon about 13:05 BST, sunset about 21:21 BST)."""

from __future__ import annotations

from dataclasses import replace

import msgspec
import numpy as np

from foxden.protocol import structs as s
from tests.sim.conftest import (
    HOUR_MS,
    LONDON,
    MINUTE_MS,
    SYDNEY,
    History,
    StartSim,
    history,
    local_ms,
)

MIDNIGHT = local_ms(LONDON.zone, 2026, 6, 21)  # 2026-06-21 00:00 BST
H1 = "CTLH150000001"
CAPACITY_KWH = 10.4  # H1-5.0-E
POWERS = [
    "SoC",
    "generationPower",
    "ResidualEnergy",
    "pvPower",
    "loadsPower",
    "gridConsumptionPower",
    "feedinPower",
    "batChargePower",
    "batDischargePower",
]
QUANTUM = 0.001  # kW as stored


def clock(hour: int, minute: int = 0) -> s.ClockTimeOut:
    return s.ClockTimeOut(hour=hour, minute=minute)


def charge_window(enable: bool, start: int, end: int) -> s.ForceChargeTimes:
    return s.ForceChargeTimes(
        enable1=enable,
        startTime1=clock(start),
        endTime1=clock(end),
        enable2=False,
        startTime2=clock(0),
        endTime2=clock(0),
    )


def soc_of(h: History) -> np.ndarray:
    """Unrounded SoC, %, from ResidualEnergy (0.01 kWh)."""
    return np.asarray(h["ResidualEnergy"] / CAPACITY_KWH)


def between(h: History, name: str, begin_ms: int, end_ms: int) -> np.ndarray:
    t = h.times[name]
    return np.asarray(h[name][(t >= begin_ms // 1000 * 1000) & (t < end_ms)])


def test_force_charge_window_charges_from_the_grid_at_night(sim: StartSim) -> None:
    server = sim(MIDNIGHT, [(H1, "H1-5.0-E", LONDON)], seed=3)
    client = server.client()
    client.set_charge_times(H1, charge_window(True, 0, 4))
    assert client.charge_times(H1).enable1
    assert server.advance(3 * HOUR_MS) >= 35
    h = history(client, H1, MIDNIGHT, MIDNIGHT + 3 * HOUR_MS, POWERS)
    assert len(h.times["SoC"]) >= 35
    soc = soc_of(h)
    assert (np.diff(soc) >= 0).all(), "SoC only rises while force charging"
    assert soc[-1] > soc[0] + 25 and h["SoC"][-1] == 100
    # night: no sun, so the grid carries the house and the charge
    assert (h["pvPower"] == 0).all()
    assert (h["batDischargePower"] == 0).all() and (h["feedinPower"] == 0).all()
    charging = h["batChargePower"] > 0
    assert charging.sum() >= 12
    assert np.isclose(h["batChargePower"].max(), 5.0), "at the battery's limit"
    # the grid carries the house, the charge and the inverter's own standby draw
    covered = h["gridConsumptionPower"] - (h["loadsPower"] + h["batChargePower"])
    assert np.abs(covered - 0.045).max() <= 2 * QUANTUM + 0.06 * h["batChargePower"].max()
    assert np.allclose(
        h["loadsPower"], h["generationPower"] + h["gridConsumptionPower"], atol=2 * QUANTUM
    )
    # full rate below the taper, then the constant-voltage phase: less and less towards 100 %
    before = np.r_[soc[0], soc[:-1]]
    bulk = charging & (before < 90)
    assert bulk.sum() >= 8
    assert (h["gridConsumptionPower"][bulk] > h["loadsPower"][bulk] + 1).all()
    tapering = charging & (before > 95)
    assert tapering.any() and (h["batChargePower"][tapering] < 0.75 * 5.0).all()


def test_export_limit_caps_feedin_at_sunny_noon(sim: StartSim) -> None:
    limited, free, hybrid = "CTLF300000001", "CTLF300000002", "CTLH150000002"
    start = local_ms(LONDON.zone, 2026, 6, 21, 11)
    # three plants next door to each other, each with its own meter
    next_door = [replace(LONDON, latitude=LONDON.latitude + n / 1000) for n in range(3)]
    server = sim(
        start,
        [
            (limited, "F3000", next_door[0]),
            (free, "F3000", next_door[1]),
            (hybrid, "H1-5.0-E", next_door[2]),
        ],
        seed=6,
    )
    client = server.client()
    for sn in (limited, hybrid):
        client.set_setting(sn, "ExportLimit", 500)
        assert client.setting(sn, "ExportLimit").value == "500"
    client.set_setting(hybrid, "WorkMode", "Feedin")
    server.advance(4 * HOUR_MS)  # 11:00 to 15:00 BST, around solar noon
    end = start + 4 * HOUR_MS
    unlimited = history(client, free, start, end, POWERS)
    assert unlimited["feedinPower"].max() > 1.0, "the sun shines: the free one exports more"
    capped = history(client, limited, start, end, POWERS)
    assert len(capped["feedinPower"]) >= 45
    assert capped["feedinPower"].max() <= 0.5 + QUANTUM / 2
    at_cap = np.isclose(capped["feedinPower"], 0.5, atol=QUANTUM)
    assert at_cap.sum() >= 10, "the limit binds: PV is curtailed to load + 0.5 kW"
    out = capped["generationPower"]
    balance = out + capped["gridConsumptionPower"] - capped["loadsPower"] - capped["feedinPower"]
    assert np.abs(balance).max() <= 3 * QUANTUM
    # PV is curtailed, not just its export: it makes no more than the house and the limit
    assert (out <= capped["loadsPower"] + 0.5 + 3 * QUANTUM).all()
    h = history(client, hybrid, start, end, POWERS)
    assert h["feedinPower"].max() <= 0.5 + QUANTUM / 2


def test_min_soc_stops_discharge(sim: StartSim) -> None:
    server = sim(MIDNIGHT, [(H1, "H1-5.0-E", LONDON)], seed=3)
    client = server.client()
    client.set_charge_times(H1, charge_window(True, 0, 2))
    server.advance(2 * HOUR_MS)
    full = history(client, H1, MIDNIGHT, MIDNIGHT + 2 * HOUR_MS, POWERS)
    assert full["SoC"][-1] >= 95
    client.set_charge_times(H1, charge_window(False, 0, 2))
    client.set_battery_soc(H1, 80, 80)
    assert client.battery_soc(H1) == s.SocSettings(minSoc=80, minSocOnGrid=80)
    server.advance(22 * HOUR_MS)
    h = history(client, H1, MIDNIGHT + 2 * HOUR_MS, MIDNIGHT + 24 * HOUR_MS, POWERS)
    assert len(h["SoC"]) >= 250
    soc = soc_of(h)
    assert (h["SoC"] >= 80).all()
    assert soc.min() >= 80 - 0.1  # ResidualEnergy is kept to 0.01 kWh
    assert h["batDischargePower"].max() > 0.3, "it discharged down to the floor"
    assert soc.min() < 81, "and reached it"
    # once at the floor (as far as 0.01 kWh tells), a step discharges nothing more
    at_floor = np.r_[False, soc[:-1] <= 80.05]
    assert at_floor.sum() >= 6
    assert (h["batDischargePower"][at_floor] <= 0.1).all()
    # and after sunset the grid carries the load
    evening = at_floor & (h["pvPower"] == 0) & (soc <= 80.05)
    assert evening.sum() >= 3
    assert (h["batDischargePower"][evening] <= 0.1).all()
    assert (h["gridConsumptionPower"][evening] >= h["loadsPower"][evening] - 0.1).all()


def group(start: tuple[int, int], end: tuple[int, int], mode: str, **more: int) -> s.SchedulerGroup:
    # an enabled group needs fdPwr above 0 and fdSoc of 11 or more (the cloud's rule)
    fields = {"minSocOnGrid": 10, "fdSoc": 100, "fdPwr": 5000} | more
    return s.SchedulerGroup(
        enable=1,
        startHour=start[0],
        startMinute=start[1],
        endHour=end[0],
        endMinute=end[1],
        workMode=mode,
        **fields,
    )


def test_scheduler_force_discharge_holds_fd_pwr_until_fd_soc(sim: StartSim) -> None:
    server = sim(MIDNIGHT, [(H1, "H1-5.0-E", LONDON)], seed=3)
    client = server.client()
    client.set_scheduler(
        H1,
        [
            group((0, 0), (1, 29), "ForceCharge"),
            group((1, 30), (4, 59), "ForceDischarge", fdPwr=2000, fdSoc=50),
        ],
    )
    assert client.scheduler_flag(H1).enable == 1
    server.advance(6 * HOUR_MS)
    h = history(client, H1, MIDNIGHT, MIDNIGHT + 6 * HOUR_MS, POWERS)
    window_start = MIDNIGHT + 90 * MINUTE_MS
    window_end = MIDNIGHT + 5 * HOUR_MS
    charged = between(h, "SoC", MIDNIGHT, window_start)
    assert charged[-1] >= 90
    discharge = between(h, "batDischargePower", window_start, window_end)
    soc = between(h, "ResidualEnergy", window_start, window_end) / CAPACITY_KWH
    assert len(discharge) >= 40
    assert (soc >= 50 - 0.1).all(), "never below fdSoc"
    at_power = np.isclose(discharge, 2.0, atol=QUANTUM)
    assert at_power.sum() >= 20
    # 2 kW from the start of the window until fdSoc is reached, then nothing
    first_stop = int(np.argmin(at_power))
    assert at_power[:first_stop].all() and first_stop >= 20
    assert (discharge[first_stop + 1 :] == 0).all()
    assert soc[-1] < 50.5
    assert (between(h, "batChargePower", window_start, window_end) == 0).all()


def test_backup_mode_never_discharges(sim: StartSim) -> None:
    server = sim(MIDNIGHT, [(H1, "H1-5.0-E", LONDON)], seed=3)
    client = server.client()
    # H1 firmware refuses Backup as WorkMode; its scheduler takes it for the whole day
    client.set_scheduler(H1, [group((0, 0), (23, 59), "Backup")])
    server.advance(24 * HOUR_MS)
    h = history(client, H1, MIDNIGHT, MIDNIGHT + 24 * HOUR_MS, POWERS)
    assert len(h["SoC"]) >= 280
    assert (h["batDischargePower"] == 0).all()
    assert (np.diff(soc_of(h)) >= 0).all()
    assert h["batChargePower"].max() > 0.5, "it still charges from the sun"
    night = h["pvPower"] == 0
    assert np.allclose(
        h["gridConsumptionPower"][night], h["loadsPower"][night] + 0.045, atol=2 * QUANTUM
    )


def test_scheduler_force_charge_stops_at_fd_soc_and_holds(sim: StartSim) -> None:
    server = sim(MIDNIGHT, [(H1, "H1-5.0-E", LONDON)], seed=3)
    client = server.client()
    start = soc_of(history(client, H1, MIDNIGHT - HOUR_MS, MIDNIGHT + MINUTE_MS, POWERS))[-1]
    assert start < 60, "the battery starts below the group's fdSoc"
    client.set_scheduler(H1, [group((0, 0), (3, 59), "ForceCharge", fdPwr=3000, fdSoc=70)])
    server.advance(4 * HOUR_MS)
    h = history(client, H1, MIDNIGHT, MIDNIGHT + 4 * HOUR_MS, POWERS)
    soc = soc_of(h)
    assert len(soc) >= 45
    assert soc.max() <= 70 + 0.1, "never above fdSoc"
    assert soc[-1] >= 69.5, "and it got there"
    charge = h["batChargePower"]
    assert np.isclose(charge, 3.0, atol=QUANTUM).sum() >= 5, "at fdPwr"
    reached = int(np.argmax(soc >= 69.5))
    # then it holds: no more charge beyond a last partial step, no discharge at all
    assert (charge[reached + 2 :] == 0).all() and len(charge[reached + 2 :]) >= 6
    assert (h["batDischargePower"] == 0).all()
    held = h["gridConsumptionPower"][reached + 2 :] - h["loadsPower"][reached + 2 :]
    # the grid carries the house (and the inverter's 45 W standby) while it holds
    assert np.abs(held - 0.045).max() <= 2 * QUANTUM, "the grid carries the house while it holds"


def test_export_limit_curtails_a_forced_discharge_before_pv(sim: StartSim) -> None:
    start = local_ms(SYDNEY.zone, 2026, 12, 21, 11)
    server = sim(start, [(H1, "H1-5.0-E", SYDNEY)], seed=3)
    client = server.client()
    client.set_setting(H1, "ExportLimit", 0)
    client.set_scheduler(H1, [group((11, 0), (12, 59), "ForceDischarge", fdPwr=3000, fdSoc=11)])
    server.advance(2 * HOUR_MS)
    h = history(client, H1, start, start + 2 * HOUR_MS, POWERS)
    assert len(h["pvPower"]) >= 22
    assert (h["feedinPower"] <= QUANTUM / 2).all(), "nothing exported"
    sunny = h["pvPower"] > 0.5
    assert sunny.sum() >= 8, "the summer sun at Sydney noon"
    # PV keeps serving the house; the forced discharge is what gives way: the battery only
    # gives what PV leaves of the load
    pv_ac = h["pvPower"] * 0.97
    short = np.clip(h["loadsPower"] - pv_ac, 0, None)
    assert (h["batDischargePower"] <= short + 3 * QUANTUM).all()
    assert (h["batDischargePower"][sunny & (pv_ac > h["loadsPower"])] <= QUANTUM).all()
    assert h["pvPower"][sunny].mean() > 0.5


def test_schedules_run_on_the_inverter_clock(sim: StartSim) -> None:
    server = sim(MIDNIGHT, [(H1, "H1-5.0-E", LONDON)], seed=3)
    client = server.client()
    now = client.device_time(H1)
    assert (int(now.hour), int(now.minute)) == (0, 0)
    # three hours fast: the inverter thinks it is 03:00 at midnight
    client.set_device_time(H1, msgspec.structs.replace(now, hour="3"))
    assert client.device_time(H1).hour == "3"
    client.set_charge_times(H1, charge_window(True, 4, 5))  # 04:00-05:00 on its clock
    server.advance(4 * HOUR_MS)
    h = history(client, H1, MIDNIGHT, MIDNIGHT + 4 * HOUR_MS, POWERS)
    charge = h["batChargePower"]
    t = h.times["batChargePower"]
    inside = (t >= MIDNIGHT + HOUR_MS + 5 * MINUTE_MS) & (t < MIDNIGHT + 2 * HOUR_MS)
    outside = (t < MIDNIGHT + HOUR_MS) | (t >= MIDNIGHT + 2 * HOUR_MS + 5 * MINUTE_MS)
    assert (charge[inside] > 1).all() and inside.sum() >= 10, "01:00-02:00 on the plant's clock"
    assert (charge[outside] == 0).all()


def test_newer_current_limits_cap_the_battery_power(sim: StartSim) -> None:
    server = sim(MIDNIGHT, [(H1, "H1-5.0-E", LONDON)], seed=3)
    client = server.client()
    # the newer setting key, through setting/set
    client.set_setting(H1, "MaxSetChargeCurrent", 10)
    client.set_charge_times(H1, charge_window(True, 0, 2))
    server.advance(2 * HOUR_MS)
    h = history(client, H1, MIDNIGHT, MIDNIGHT + 2 * HOUR_MS, [*POWERS, "batVolt", "batCurrent"])
    charging = h["batChargePower"] > 0.1
    assert charging.sum() >= 15
    # 10 A at the pack's voltage (about 150-170 V), on the DC side of a 95 % conversion
    cap = 10 * h["batVolt"][charging] / 1000 / 0.95
    assert (h["batChargePower"][charging] <= cap + 0.05).all()
    assert h["batChargePower"].max() < 2.0
