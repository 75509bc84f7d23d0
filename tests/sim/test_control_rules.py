"""The inverter's control rules as pure functions, one boundary at a time: stored settings
to controls, controls to per-minute targets, targets to battery power, the grid's share.
tests/sim/test_control.py shows the same rules in the fleet's telemetry through the API."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from foxden.protocol import models
from foxden.sim import control
from foxden.sim.control import (
    MODE_BACKUP,
    MODE_FEEDIN,
    MODE_FORCE_CHARGE,
    MODE_FORCE_DISCHARGE,
    MODE_PEAK,
    MODE_SELF_USE,
    Controls,
    controls_from,
    device_minute,
    dispatch,
    export_curtailed,
    grid_flows,
    targets,
)

H1 = models.MODELS["H1-5.0-E"]  # rated 5000 W
NAN = float("nan")


def a(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def modes(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def same(got: Any, want: Any) -> bool:
    return bool(np.array_equal(np.asarray(got), np.asarray(want), equal_nan=True))


def test_defaults_agree_with_empty_settings_and_keep_their_types() -> None:
    c = Controls.defaults(a(5.0, 8.0))
    empty = controls_from({}, H1)
    assert c.work_mode.dtype == c.clock_offset_ms.dtype == c.fault.dtype == np.int64
    assert c.export_limit_kw.dtype == c.min_soc.dtype == np.float64
    for j in (0, 1):
        assert c.work_mode[j] == empty["work_mode"] == MODE_SELF_USE
        assert c.min_soc[j] == empty["min_soc"] == 10.0
        assert c.min_soc_on_grid[j] == empty["min_soc_on_grid"] == 10.0
        assert c.max_soc[j] == empty["max_soc"] == 100.0
        assert c.clock_offset_ms[j] == empty["clock_offset_ms"] == 0
        assert c.fault[j] == empty["fault"] == 0
        assert np.isnan(c.charge_current_a[j]) and np.isnan(empty["charge_current_a"])
        assert np.isnan(c.discharge_current_a[j]) and np.isnan(empty["discharge_current_a"])
        assert c.charge_windows[j] == empty["windows"] == []
        assert c.groups[j] == empty["groups"] == []
    assert list(c.export_limit_kw) == [5.0, 8.0]  # the rating until a limit is set
    whole = Controls.defaults(np.array([5, 8]))  # ratings as integers: the limit in floats
    assert whole.export_limit_kw.dtype == np.float64
    whole.set_device(0, controls_from({"ExportLimit": 2500}, H1))
    assert whole.export_limit_kw[0] == 2.5
    assert empty["export_limit_kw"] == 5.0
    # the rows are separate lists, not one shared
    c.charge_windows[0].append((1, 2))
    c.groups[0].append({})
    assert c.charge_windows[1] == [] and c.groups[1] == []


def test_set_device_sets_only_its_row() -> None:
    c = Controls.defaults(a(5.0, 5.0))
    got = controls_from(
        {
            "WorkMode": "Feedin",
            "MinSoc": 15,
            "MinSocOnGrid": 20,
            "MaxSoc": 90,
            "ExportLimit": 2500,
            "MaxSetChargeCurrent": 30,
            "MaxSetDischargeCurrent": 40,
            "clockOffsetMs": 60_000,
            "forceChargeTime": {
                "enable1": True,
                "startTime1": {"hour": 1, "minute": 30},
                "endTime1": {"hour": 2, "minute": 0},
            },
            "scheduler.enable": 1,
            "scheduler.groups": [{"enable": 1, "workMode": "Backup"}],
            "fault": 3,
        },
        H1,
    )
    c.set_device(1, got)
    row = (
        c.work_mode[1], c.min_soc[1], c.min_soc_on_grid[1], c.max_soc[1],
        c.export_limit_kw[1], c.charge_current_a[1], c.discharge_current_a[1],
        c.clock_offset_ms[1], c.charge_windows[1], c.groups[1], c.fault[1],
    )  # fmt: skip
    assert row == (
        MODE_FEEDIN, 15.0, 20.0, 90.0, 2.5, 30.0, 40.0, 60_000, [(90, 120)],
        [{"enable": 1, "workMode": "Backup"}], 3,
    )  # fmt: skip
    assert (c.work_mode[0], c.min_soc[0], c.export_limit_kw[0], c.fault[0]) == (0, 10, 5, 0)
    assert np.isnan(c.charge_current_a[0]) and c.charge_windows[0] == []


@pytest.mark.parametrize(
    ("value", "want"),
    [(None, None), ("", None), ("abc", None), ([1], None), ("5.5", 5.5), (0, 0.0), (7, 7.0)],
)
def test_a_setting_reads_as_a_number_or_unset(value: object, want: float | None) -> None:
    assert control._number({"k": value}, "k") == want
    assert control._number({}, "k") is None


def test_work_mode_by_name_and_unknown_as_self_use() -> None:
    for n, name in enumerate(control.MODES):
        assert controls_from({"WorkMode": name}, H1)["work_mode"] == n
    assert controls_from({"WorkMode": "Turbo"}, H1)["work_mode"] == MODE_SELF_USE


def test_force_charge_windows_only_when_enabled() -> None:
    def windows(charge: object) -> object:
        return controls_from({"forceChargeTime": charge}, H1)["windows"]

    both = {
        "enable1": True,
        "startTime1": {"hour": 0, "minute": 5},
        "endTime1": {"hour": 3, "minute": 10},
        "enable2": 1,
        "startTime2": {"hour": 13, "minute": 0},
        "endTime2": {"hour": 14, "minute": 59},
    }
    assert windows(both) == [(5, 190), (780, 899)]
    assert windows({**both, "enable1": False}) == [(780, 899)]
    assert windows({**both, "enable2": 0}) == [(5, 190)]
    assert windows("not a dict") == []


def test_scheduler_groups_only_when_on_enabled_and_of_a_known_mode() -> None:
    groups = [
        {"enable": 1, "workMode": "ForceCharge"},
        {"enable": 0, "workMode": "ForceCharge"},
        {"enable": 1, "workMode": "Turbo"},
        {"enable": 1, "workMode": "Feedin"},
    ]
    on = controls_from({"scheduler.enable": 1, "scheduler.groups": groups}, H1)
    assert on["groups"] == [groups[0], groups[3]]
    off = controls_from({"scheduler.enable": 0, "scheduler.groups": groups}, H1)
    assert off["groups"] == []
    assert controls_from({"scheduler.enable": "1"}, H1)["groups"] == []
    assert controls_from({"scheduler.groups": groups}, H1)["groups"] == []  # off unless set


def test_export_limit_the_lower_of_both_keys_in_kw_never_negative() -> None:
    def limit(**settings: object) -> object:
        return controls_from(settings, H1)["export_limit_kw"]

    assert limit() == 5.0
    assert limit(ExportLimit=3000) == 3.0
    assert limit(ExportLimitPower=2000) == 2.0
    assert limit(ExportLimit=3000, ExportLimitPower=2000) == 2.0
    assert limit(ExportLimit=1000, ExportLimitPower=2000) == 1.0
    assert limit(ExportLimit="", ExportLimitPower=None) == 5.0
    assert limit(ExportLimit=0) == 0.0
    assert limit(ExportLimit=-500) == 0.0


def test_currents_nan_when_unset_and_never_negative() -> None:
    got = controls_from({"MaxSetChargeCurrent": -3, "MaxSetDischargeCurrent": 12.5}, H1)
    assert (got["charge_current_a"], got["discharge_current_a"]) == (0.0, 12.5)
    got = controls_from({"MaxSetChargeCurrent": 0, "MaxSetDischargeCurrent": ""}, H1)
    assert got["charge_current_a"] == 0.0 and np.isnan(got["discharge_current_a"])
    got = controls_from({"MaxSetChargeCurrent": "", "MaxSetDischargeCurrent": -1}, H1)
    assert np.isnan(got["charge_current_a"]) and got["discharge_current_a"] == 0.0
    got = controls_from({"MaxSetChargeCurrent": 0.5, "MaxSetDischargeCurrent": 0.5}, H1)
    assert (got["charge_current_a"], got["discharge_current_a"]) == (0.5, 0.5)


def test_clock_offset_and_fault_as_integers() -> None:
    got = controls_from({"clockOffsetMs": None, "fault": "2"}, H1)
    assert (got["clock_offset_ms"], got["fault"]) == (0, 2)
    assert controls_from({"clockOffsetMs": -90_000}, H1)["clock_offset_ms"] == -90_000


def test_device_minute_moves_by_the_clock_offset_and_wraps_the_day() -> None:
    plant = a(0.0, 600.0, 1439.5)[:, None] * np.ones((1, 3))
    got = device_minute(plant, modes(0, 90_000, -60_000))
    assert got.dtype == np.float64
    assert same(got[:, 0], [0.0, 600.0, 1439.5])
    assert same(got[:, 1], [1.5, 601.5, 1.0])
    assert same(got[:, 2], [1439.0, 599.0, 1438.5])


def _one(**settings: Any) -> Controls:
    c = Controls.defaults(a(5.0))
    c.set_device(0, controls_from(settings, H1))
    return c


def _at(*minutes: float) -> np.ndarray:
    return a(*minutes)[:, None]


def test_targets_without_windows_or_groups() -> None:
    t = targets(_one(WorkMode="Feedin", MinSoc=12, MinSocOnGrid=25, MaxSoc=95), _at(0, 700))
    assert same(t.mode[:, 0], [MODE_FEEDIN] * 2)
    assert same(t.floor[:, 0], [25, 25])  # the higher of MinSoc and MinSocOnGrid
    assert same(t.ceiling[:, 0], [95, 95])
    assert np.isnan(t.power_kw).all()
    t = targets(_one(MinSoc=30, MinSocOnGrid=25), _at(0))
    assert t.floor[0, 0] == 30


def test_a_force_charge_window_from_its_start_to_before_its_end() -> None:
    window = {
        "enable1": True,
        "startTime1": {"hour": 1, "minute": 0},
        "endTime1": {"hour": 2, "minute": 0},
    }
    t = targets(_one(forceChargeTime=window), _at(59, 60, 119.5, 120))
    assert same(t.mode[:, 0], [MODE_SELF_USE, MODE_FORCE_CHARGE, MODE_FORCE_CHARGE, 0])
    assert np.isnan(t.power_kw).all()  # at the battery's limit
    # on the inverter's clock: an hour ahead, the window comes an hour earlier
    t = targets(_one(forceChargeTime=window, clockOffsetMs=3_600_000), _at(0, 59, 60))
    assert same(t.mode[:, 0], [MODE_FORCE_CHARGE, MODE_FORCE_CHARGE, 0])


def group(mode: str, start: int, end: int, **more: object) -> dict[str, object]:
    return {
        "enable": 1,
        "workMode": mode,
        "startHour": start // 60,
        "startMinute": start % 60,
        "endHour": end // 60,
        "endMinute": end % 60,
        **more,
    }


def _grouped(*groups: dict[str, object], **settings: Any) -> Controls:
    return _one(**{"scheduler.enable": 1, "scheduler.groups": list(groups), **settings})


def test_a_group_runs_to_the_end_of_its_end_minute() -> None:
    c = _grouped(group("Backup", 60, 120))
    t = targets(c, _at(59.9, 60, 120, 120.99, 121))
    assert same(t.mode[:, 0], [0, MODE_BACKUP, MODE_BACKUP, MODE_BACKUP, 0])
    c = _grouped(group("Backup", 90, 125))  # 01:30 to 02:05
    t = targets(c, _at(89, 90, 125, 126))
    assert same(t.mode[:, 0], [0, MODE_BACKUP, MODE_BACKUP, 0])


def test_a_group_later_in_the_list_runs_after_one_outside_the_times() -> None:
    c = _grouped(group("Backup", 600, 660), group("Feedin", 0, 59))
    t = targets(c, _at(30, 700))  # the first group runs at none of these times
    assert same(t.mode[:, 0], [MODE_FEEDIN, MODE_SELF_USE])
    assert same(targets(c, _at(30, 630)).mode[:, 0], [MODE_FEEDIN, MODE_BACKUP])


def test_a_group_outside_the_times_changes_nothing() -> None:
    c = _grouped(group("ForceDischarge", 600, 660, fdPwr=2000, fdSoc=40), MinSoc=12)
    t = targets(c, _at(0, 100))
    assert same(t.mode[:, 0], [0, 0]) and np.isnan(t.power_kw).all()
    assert same(t.floor[:, 0], [12, 12]) and same(t.ceiling[:, 0], [100, 100])


def test_force_charge_group_power_and_ceiling() -> None:
    c = _grouped(group("ForceCharge", 0, 59, fdPwr=2500, fdSoc=80, maxSoc=90), MinSoc=15)
    t = targets(c, _at(30))
    assert (t.mode[0, 0], t.power_kw[0, 0], t.ceiling[0, 0]) == (MODE_FORCE_CHARGE, 2.5, 80)
    assert t.floor[0, 0] == 15  # the group's minSocOnGrid unset: the inverter's (10); MinSoc 15
    c = _grouped(group("ForceCharge", 0, 59, fdPwr=0, fdSoc=95, maxSoc=70))
    t = targets(c, _at(30))
    assert np.isnan(t.power_kw[0, 0]) and t.ceiling[0, 0] == 70  # min(fdSoc, maxSoc)


def test_force_discharge_group_floor_is_fd_soc_or_min_soc() -> None:
    c = _grouped(group("ForceDischarge", 0, 59, fdPwr=3000, fdSoc=40, maxSoc=95), MinSoc=15)
    t = targets(c, _at(30))
    assert (t.mode[0, 0], t.power_kw[0, 0], t.floor[0, 0], t.ceiling[0, 0]) == (
        MODE_FORCE_DISCHARGE, 3.0, 40, 95,
    )  # fmt: skip
    c = _grouped(group("ForceDischarge", 0, 59, fdSoc=10), MinSoc=20)
    assert targets(c, _at(30)).floor[0, 0] == 20
    # fdSoc missing or 0 reads 100: a forced discharge that holds at once
    for fd_soc in ({}, {"fdSoc": 0}):
        c = _grouped(group("ForceDischarge", 0, 59, **fd_soc))
        assert targets(c, _at(30)).floor[0, 0] == 100
    # the smallest power is a power, not the battery's limit
    c = _grouped(group("ForceDischarge", 0, 59, fdPwr=1, fdSoc=20))
    assert targets(c, _at(30)).power_kw[0, 0] == 0.001


def test_group_defaults_for_zero_or_missing_values() -> None:
    """fdSoc and maxSoc of 0 or missing read 100; minSocOnGrid 0 reads 10, missing the
    inverter's MinSocOnGrid; fdPwr 0 or missing: the battery's limit (NaN)."""
    c = _grouped(group("ForceCharge", 0, 59, fdSoc=0, maxSoc=0, minSocOnGrid=0))
    t = targets(c, _at(0))
    assert (t.ceiling[0, 0], t.floor[0, 0]) == (100, 10) and np.isnan(t.power_kw[0, 0])
    c = _grouped(group("SelfUse", 0, 59, maxSoc=0), MinSocOnGrid=35, MinSoc=5)
    t = targets(c, _at(0))
    assert (t.ceiling[0, 0], t.floor[0, 0]) == (100, 35)
    c = _grouped(group("SelfUse", 0, 59, minSocOnGrid=22, maxSoc=85), MinSocOnGrid=35, MinSoc=5)
    t = targets(c, _at(0))
    assert (t.ceiling[0, 0], t.floor[0, 0]) == (85, 22)  # the group's replaces the inverter's
    c = _grouped(group("SelfUse", 0, 59, minSocOnGrid=22), MinSoc=30)
    assert targets(c, _at(0)).floor[0, 0] == 30  # never below MinSoc


def test_targets_per_device() -> None:
    c = Controls.defaults(a(5.0, 5.0))
    c.set_device(1, controls_from({"scheduler.enable": 1, "scheduler.groups": [
        group("Feedin", 0, 59)]}, H1))  # fmt: skip
    t = targets(c, np.zeros((2, 2)))
    assert same(t.mode, [[0, MODE_FEEDIN], [0, MODE_FEEDIN]])
    assert t.mode.shape == t.power_kw.shape == t.floor.shape == t.ceiling.shape == (2, 2)


ALL = modes(MODE_SELF_USE, MODE_FEEDIN, MODE_BACKUP, MODE_FORCE_CHARGE,
            MODE_FORCE_DISCHARGE, MODE_PEAK)  # fmt: skip


def _dispatch(surplus: float, limit: float, target: float = NAN) -> tuple[list[float], ...]:
    n = len(ALL)
    charge, discharge = dispatch(
        ALL, a(*[surplus] * n), a(*[4.0] * n), a(*[5.0] * n), a(*[limit] * n), a(*[target] * n)
    )
    return [float(x) for x in charge], [float(x) for x in discharge]


def test_dispatch_with_excess_pv() -> None:
    #            SelfUse Feedin Backup ForceCharge ForceDischarge Peak
    assert _dispatch(3.0, 1.0) == ([3.0, 2.0, 3.0, 4.0, 0.0, 3.0], [0.0, 0, 0, 0, 5.0, 0])
    assert _dispatch(3.0, 5.0) == ([3.0, 0.0, 3.0, 4.0, 0.0, 3.0], [0.0, 0, 0, 0, 5.0, 0])
    # more excess than the battery takes: capped by can_charge
    assert _dispatch(6.0, 0.5)[0] == [4.0, 4.0, 4.0, 4.0, 0.0, 4.0]


def test_dispatch_with_a_deficit() -> None:
    #            SelfUse Feedin Backup ForceCharge ForceDischarge Peak
    assert _dispatch(-2.0, 1.0) == ([0.0, 0, 0, 4.0, 0, 0], [2.0, 2.0, 0.0, 0.0, 5.0, 0.0])
    assert _dispatch(-4.5, 1.0)[1] == [4.5, 4.5, 0.0, 0.0, 5.0, 1.5]  # peak: above 3 kW
    assert _dispatch(-9.0, 1.0)[1] == [5.0, 5.0, 0.0, 0.0, 5.0, 5.0]


def test_dispatch_at_a_forced_power() -> None:
    charge, discharge = _dispatch(0.0, 1.0, target=1.5)
    assert charge == [0.0, 0.0, 0.0, 1.5, 0.0, 0.0]
    assert discharge == [0.0, 0.0, 0.0, 0.0, 1.5, 0.0]
    assert control.Policy.of(ALL, a(*[NAN] * 6)).forced_charge[3] == control.FORCED_MAX_KW


def test_grid_flows_balance_and_curtail_the_battery_first() -> None:
    def flows(load: float, pv: float, charge: float, discharge: float, limit: float) -> object:
        got = grid_flows(a(load), a(pv), a(charge), a(discharge), a(limit))
        kept = export_curtailed(a(load), a(pv), a(charge), a(discharge), a(limit))
        assert same(kept, got[3])
        return tuple(float(x[0]) for x in got)

    # importing: nothing curtailed
    assert flows(3.0, 1.0, 0.5, 0.0, 0.0) == (2.5, 0.0, 1.0, 0.0)
    # exporting within the limit
    assert flows(1.0, 3.0, 0.5, 0.0, 2.0) == (0.0, 1.5, 3.0, 0.0)
    # over the limit: the forced discharge gives way first
    assert flows(1.0, 2.0, 0.0, 3.0, 2.5) == (0.0, 2.5, 2.0, 1.5)
    # then PV
    assert flows(1.0, 4.0, 0.0, 1.0, 0.5) == (0.0, 0.5, 1.5, 0.0)
    # a negative limit counts as none allowed
    assert flows(1.0, 4.0, 0.0, 0.0, -2.0) == (0.0, 0.0, 1.0, 0.0)
    # no export allowed: a forced discharge gives all of its export back
    assert flows(1.0, 0.0, 0.0, 3.0, 0.0) == (0.0, 0.0, 0.0, 1.0)
    # charging and discharging at once (the bus balances both), over the limit
    assert flows(1.0, 2.0, 1.0, 3.0, 0.5) == (0.0, 0.5, 2.0, 0.5)
    # importing while the battery discharges: nothing curtailed
    assert flows(5.0, 1.0, 0.0, 2.0, 0.0) == (2.0, 0.0, 1.0, 2.0)
