"""The scheduler area's handlers called directly (no HTTP): which models and versions answer,
with what errno and detail, what each write stores and how every version reads it back.
test_scheduler.py shows the same on the wire; the group rules are in
test_scheduling_cases.py."""

from __future__ import annotations

from typing import Any

from foxden.protocol import structs as s
from foxden.server.areas import scheduler as area
from tests.server.desk import Desk, refusal

H1 = "ALICEH1000001"
EVO = "ALICEEVO00001"
F3 = "ALICEF3000001"
CHARGE: dict[str, Any] = {"startHour": 2, "startMinute": 0, "endHour": 4, "endMinute": 59}


def _devices(desk: Desk) -> None:
    desk.device(H1, "H1-5.0-E")
    desk.device(EVO, "EVO 10-5-H")
    desk.device(F3, "F3000")


def _flat(enable: int = 1, mode: str = "ForceCharge", **times: int) -> s.SchedulerGroup:
    return s.SchedulerGroup(
        enable=enable, workMode=mode, minSocOnGrid=20, fdSoc=90, fdPwr=3000, maxSoc=95,
        **{**CHARGE, **times},
    )  # fmt: skip


def test_every_version_refuses_an_unknown_or_foreign_serial_naming_device_sn(desk: Desk) -> None:
    _devices(desk)
    desk.device("BOBH10000001", account="bob")
    for sn in ("NOSUCH000001", "BOBH10000001"):
        dev = s.SchedulerDevice(deviceSN=sn)
        detail = f"deviceSN: no inverter {sn!r}"
        for get in (area.get_flag, area.get_v0, area.get_v1, area.get_v2, area.get_v3):
            assert refusal(get, desk.ctx(), dev) == (40261, detail)
        flag = s.SchedulerSetFlag(deviceSN=sn, enable=1)
        assert refusal(area.set_flag, desk.ctx(), flag) == (40261, detail)
        assert refusal(area.set_flag_v1, desk.ctx(), flag) == (40261, detail)
        v0 = s.SchedulerEnable(deviceSN=sn, groups=[])
        assert refusal(area.enable_v0, desk.ctx(), v0) == (40261, detail)
        assert refusal(area.enable_v1, desk.ctx(), v0) == (40261, detail)
        v2 = s.SchedulerEnableV2(deviceSN=sn, groups=[])
        assert refusal(area.enable_v2, desk.ctx(), v2) == (40261, detail)
        v3 = s.SchedulerEnableV3(deviceSN=sn, groups=[])
        assert refusal(area.enable_v3, desk.ctx(), v3) == (40261, detail)
    assert desk.store.settings("BOBH10000001") == {}


def test_a_grid_tied_inverter_has_no_scheduler_in_any_version(desk: Desk) -> None:
    _devices(desk)
    desk.store.put_settings(F3, {area.ENABLE: 1})  # even with a flag stored, it is off
    dev = s.SchedulerDevice(deviceSN=F3)
    assert area.get_flag(desk.ctx(), dev) == s.SchedulerFlag(support=False, enable=False)
    for get in (area.get_v0, area.get_v1, area.get_v2, area.get_v3):
        assert refusal(get, desk.ctx(), dev) == (42015, "F3000 has no scheduler")
    for enable in (0, 1):
        flag = s.SchedulerSetFlag(deviceSN=F3, enable=enable)
        assert refusal(area.set_flag, desk.ctx(), flag) == (42015, "F3000 has no scheduler")
        assert refusal(area.set_flag_v1, desk.ctx(), flag) == (42015, "F3000 has no scheduler")
    v0 = s.SchedulerEnable(deviceSN=F3, groups=[_flat()])
    assert refusal(area.enable_v0, desk.ctx(), v0) == (42015, "F3000 has no scheduler")
    assert refusal(area.enable_v1, desk.ctx(), v0) == (42015, "F3000 has no scheduler")
    v3 = s.SchedulerEnableV3(deviceSN=F3, groups=[])
    assert refusal(area.enable_v3, desk.ctx(), v3) == (42015, "F3000 has no scheduler")
    assert desk.store.settings(F3) == {area.ENABLE: 1}


def test_evo_answers_v2_and_v3_and_refuses_v0_and_v1_with_41200(desk: Desk) -> None:
    _devices(desk)
    dev = s.SchedulerDevice(deviceSN=EVO)
    detail = "EVO 10-5-H: use the v2/v3 scheduler"
    assert refusal(area.get_v0, desk.ctx(), dev) == (41200, detail)
    assert refusal(area.get_v1, desk.ctx(), dev) == (41200, detail)
    flat = s.SchedulerEnable(deviceSN=EVO, groups=[_flat()])
    assert refusal(area.enable_v0, desk.ctx(), flat) == (41200, detail)
    assert refusal(area.enable_v1, desk.ctx(), flat) == (41200, detail)
    assert desk.store.settings(EVO) == {}
    assert area.get_v2(desk.ctx(), dev).enable == 0
    assert area.get_v3(desk.ctx(), dev).maxGroupCount == 96
    # the flag endpoints answer on EVO: only the group paths of v0/v1 fail
    assert area.get_flag(desk.ctx(), dev) == s.SchedulerFlag(support=True, enable=False)


def test_the_flag_is_stored_as_an_int_and_read_as_a_boolean(desk: Desk) -> None:
    _devices(desk)
    dev = s.SchedulerDevice(deviceSN=H1)
    assert area.get_flag(desk.ctx(), dev) == s.SchedulerFlag(support=True, enable=False)
    area.set_flag(desk.ctx(), s.SchedulerSetFlag(deviceSN=H1, enable=True))
    assert desk.store.settings(H1) == {area.ENABLE: 1}
    assert area.get_flag(desk.ctx(), dev) == s.SchedulerFlag(support=True, enable=True)
    echo = area.set_flag_v1(desk.ctx(), s.SchedulerSetFlag(deviceSN=H1, enable=False))
    assert echo == s.SchedulerFlagEcho(deviceSN=H1, enable=0)
    assert desk.store.settings(H1) == {area.ENABLE: 0}
    assert area.get_flag(desk.ctx(), dev).enable is False
    echo = area.set_flag_v1(desk.ctx(), s.SchedulerSetFlag(deviceSN=H1, enable=1))
    assert echo == s.SchedulerFlagEcho(deviceSN=H1, enable=1)
    assert area.get_v1(desk.ctx(), dev).enable == 1


def test_a_v1_write_is_stored_echoed_and_read_back_by_every_version(desk: Desk) -> None:
    _devices(desk)
    later = _flat(mode="SelfUse", startHour=18, endHour=20, endMinute=0)
    req = s.SchedulerEnable(deviceSN=H1, groups=[later, _flat()])
    assert area.enable_v1(desk.ctx(), req) == s.SchedulerEnableEcho(deviceSN=H1, groups=req.groups)
    base = {"minSocOnGrid": 20, "fdSoc": 90, "fdPwr": 3000, "maxSoc": 95}
    stored = desk.store.settings(H1)
    assert stored == {
        area.ENABLE: 1,
        area.GROUPS: [
            {"enable": 1, **CHARGE, "workMode": "ForceCharge", **base},
            {"enable": 1, "startHour": 18, "startMinute": 0, "endHour": 20, "endMinute": 0,
             "workMode": "SelfUse", **base},
        ],
    }  # fmt: skip
    dev = s.SchedulerDevice(deviceSN=H1)
    v1 = area.get_v1(desk.ctx(), dev)
    assert v1.enable == 1 and len(v1.groups) == 8
    assert v1.groups[0] == s.SchedulerGroupOut(enable=1, **CHARGE, workMode="ForceCharge", **base)
    assert v1.groups[1].startHour == 18 and v1.groups[2].workMode == "Invalid"
    assert "fdpwr" in v1.properties
    v0 = area.get_v0(desk.ctx(), dev)
    assert v0.enable == 1 and v0.properties == {}
    assert v0.groups[0] == s.SchedulerGroupOutV0(
        enable=1, **CHARGE, workMode="ForceCharge", minSocOnGrid=20, fdSoc=90, fdPwr=3000
    )
    v2 = area.get_v2(desk.ctx(), dev)
    assert [g.startHour for g in v2.groups] == [2, 18, 0, 0, 0, 0, 0, 0]
    assert v2.groups[0].extraParam == {k: float(v) for k, v in base.items()}
    v3 = area.get_v3(desk.ctx(), dev)
    assert [(g.startHour, g.workMode) for g in v3.groups] == [(2, "ForceCharge"), (18, "SelfUse")]
    assert v3.maxGroupCount == 8 and v3.enable == 1


def test_a_v0_write_stores_the_same_and_answers_nothing(desk: Desk) -> None:
    _devices(desk)
    req = s.SchedulerEnable(deviceSN=H1, groups=[_flat()])
    area.enable_v0(desk.ctx(), req)
    (group,) = desk.store.settings(H1)[area.GROUPS]
    assert group["fdSoc"] == 90 and group["maxSoc"] == 95
    assert desk.store.settings(H1)[area.ENABLE] == 1


def test_the_flag_follows_what_takes_effect(desk: Desk) -> None:
    _devices(desk)
    desk.store.put_settings(H1, {area.ENABLE: 1})
    area.enable_v1(desk.ctx(), s.SchedulerEnable(deviceSN=H1, groups=[_flat(enable=0)]))
    assert desk.store.settings(H1) == {area.ENABLE: 0, area.GROUPS: [
        {"enable": 0, **CHARGE, "workMode": "ForceCharge",
         "minSocOnGrid": 20, "fdSoc": 90, "fdPwr": 3000, "maxSoc": 95},
    ]}  # fmt: skip
    area.enable_v1(desk.ctx(), s.SchedulerEnable(deviceSN=H1, groups=[_flat()]))
    assert desk.store.settings(H1)[area.ENABLE] == 1
    area.enable_v3(desk.ctx(), s.SchedulerEnableV3(deviceSN=H1, groups=[]))
    assert desk.store.settings(H1) == {area.ENABLE: 0, area.GROUPS: []}


def test_a_refused_write_stores_nothing(desk: Desk) -> None:
    _devices(desk)
    bad = s.SchedulerGroup(
        enable=1, **CHARGE, workMode="ForceCharge", minSocOnGrid=20, fdSoc=90, fdPwr=0
    )
    req = s.SchedulerEnable(deviceSN=H1, groups=[bad])
    assert refusal(area.enable_v1, desk.ctx(), req) == (
        40257,
        "groups[0].fdPwr: must be above 0 W in an enabled group",
    )
    assert desk.store.settings(H1) == {}


def _v2(enable: int, mode: str, **extra: float) -> s.SchedulerGroupV2:
    return s.SchedulerGroupV2(
        enable=enable, **CHARGE, workMode=mode, extraParam=s.ExtraParam(**extra) if extra else None
    )


def test_v2_keeps_what_is_stored_at_the_same_place_unless_is_default(desk: Desk) -> None:
    _devices(desk)
    first = s.SchedulerEnableV2(
        deviceSN=EVO,
        groups=[_v2(1, "ForceCharge", fdSoc=80, fdPwr=4000, minSocOnGrid=30, pvLimit=5000)],
    )
    echo = area.enable_v2(desk.ctx(), first)
    assert echo == s.SchedulerEnableEchoV2(deviceSN=EVO, isDefault=False, groups=first.groups)
    again = s.SchedulerEnableV2(deviceSN=EVO, groups=[_v2(1, "ForceCharge", fdPwr=2000)])
    area.enable_v2(desk.ctx(), again)
    (kept,) = desk.store.settings(EVO)[area.GROUPS]
    assert (kept["fdSoc"], kept["fdPwr"], kept["minSocOnGrid"], kept["pvLimit"]) == (
        80, 2000, 30, 5000
    )  # fmt: skip
    reset = s.SchedulerEnableV2(
        deviceSN=EVO, isDefault=True, groups=[_v2(1, "ForceCharge", fdPwr=2000)]
    )
    assert area.enable_v2(desk.ctx(), reset).isDefault is True
    (fresh,) = desk.store.settings(EVO)[area.GROUPS]
    assert (fresh["fdSoc"], fresh["fdPwr"], fresh["minSocOnGrid"], fresh["pvLimit"]) == (
        100, 2000, 5, 24000
    )  # fmt: skip
    shown = area.get_v2(desk.ctx(), s.SchedulerDevice(deviceSN=EVO))
    assert shown.enable == 1 and shown.groups[0].extraParam["pvLimit"] == 24000.0
    assert shown.groups[1].workMode == "SelfUse" and shown.groups[1].enable == 0


def test_v3_keeps_values_of_the_active_periods_only(desk: Desk) -> None:
    """v3 sees the active periods alone, so a field left out takes the value of the active
    period at the same place: a disabled group stored before it does not count."""
    _devices(desk)
    area.enable_v2(
        desk.ctx(),
        s.SchedulerEnableV2(
            deviceSN=EVO,
            groups=[
                _v2(0, "SelfUse", fdSoc=70, minSocOnGrid=70),
                s.SchedulerGroupV2(
                    enable=1, startHour=5, startMinute=0, endHour=6, endMinute=0,
                    workMode="ForceCharge", extraParam=s.ExtraParam(fdSoc=60, fdPwr=3000),
                ),
            ],
        ),
    )  # fmt: skip
    stored = desk.store.settings(EVO)[area.GROUPS]
    assert [(g["enable"], g["fdSoc"]) for g in stored] == [(0, 70), (1, 60)]
    group = s.SchedulerGroupV3(
        startHour=2, startMinute=0, endHour=4, endMinute=59, workMode="ForceCharge"
    )
    req = s.SchedulerEnableV3(deviceSN=EVO, groups=[group])
    echo = area.enable_v3(desk.ctx(), req)
    assert echo == s.SchedulerEnableEchoV3(deviceSN=EVO, isDefault=False, groups=[group])
    (now,) = desk.store.settings(EVO)[area.GROUPS]
    assert (now["fdSoc"], now["fdPwr"], now["minSocOnGrid"]) == (60, 3000, 5)
    shown = area.get_v3(desk.ctx(), s.SchedulerDevice(deviceSN=EVO))
    assert [g.extraParam["fdSoc"] for g in shown.groups] == [60.0]
    reset = s.SchedulerEnableV3(deviceSN=EVO, isDefault=True, groups=[group])
    assert area.enable_v3(desk.ctx(), reset).isDefault is True
    assert desk.store.settings(EVO)[area.GROUPS][0]["fdPwr"] == 10000


def test_the_handler_table_names_each_version(desk: Desk) -> None:
    names: dict[str, Any] = {
        "scheduler.get_flag": area.get_flag,
        "scheduler.set_flag": area.set_flag,
        "scheduler.get": area.get_v0,
        "scheduler.enable": area.enable_v0,
        "scheduler.get_flag_v1": area.get_flag,
        "scheduler.set_flag_v1": area.set_flag_v1,
        "scheduler.get_v1": area.get_v1,
        "scheduler.enable_v1": area.enable_v1,
        "scheduler.get_v2": area.get_v2,
        "scheduler.enable_v2": area.enable_v2,
        "scheduler.get_v3": area.get_v3,
        "scheduler.enable_v3": area.enable_v3,
    }
    assert names == area.HANDLERS


def test_each_write_applies_its_own_versions_rules(desk: Desk) -> None:
    """v0 takes 8 groups where v1 takes the model's count (KH8: 24); v1 wants power in
    every enabled group; v2 takes Invalid placeholders and at most 8 groups; v3 refuses
    Invalid."""
    desk.device("ALICEKH800001", "KH8")
    _devices(desk)
    nine = [_flat(startHour=h, endHour=h, endMinute=30) for h in range(9)]
    v0 = s.SchedulerEnable(deviceSN="ALICEKH800001", groups=nine)
    assert refusal(area.enable_v0, desk.ctx(), v0) == (40257, "groups: at most 8 groups, got 9")
    area.enable_v1(desk.ctx(), v0)
    assert len(desk.store.settings("ALICEKH800001")[area.GROUPS]) == 9
    idle = s.SchedulerGroup(
        enable=1, **CHARGE, workMode="SelfUse", minSocOnGrid=20, fdSoc=90, fdPwr=0
    )
    v1 = s.SchedulerEnable(deviceSN=H1, groups=[idle])
    assert refusal(area.enable_v1, desk.ctx(), v1) == (
        40257,
        "groups[0].fdPwr: must be above 0 W in an enabled group",
    )
    placeholder = s.SchedulerGroupV2(enable=1, **CHARGE, workMode="Invalid")
    area.enable_v2(desk.ctx(), s.SchedulerEnableV2(deviceSN=EVO, groups=[placeholder]))
    assert desk.store.settings(EVO) == {area.ENABLE: 0, area.GROUPS: []}
    many = [
        s.SchedulerGroupV2(enable=1, startHour=h, startMinute=0, endHour=h, endMinute=30,
                           workMode="SelfUse")
        for h in range(9)
    ]  # fmt: skip
    v2 = s.SchedulerEnableV2(deviceSN=EVO, groups=many)
    assert refusal(area.enable_v2, desk.ctx(), v2) == (40257, "groups: at most 8 groups, got 9")
    invalid = s.SchedulerGroupV3(
        startHour=2, startMinute=0, endHour=4, endMinute=59, workMode="Invalid"
    )
    v3 = s.SchedulerEnableV3(deviceSN=EVO, groups=[invalid])
    (errno, detail) = refusal(area.enable_v3, desk.ctx(), v3)
    assert (errno, detail.split(";")[0]) == (
        40257,
        "groups[0].workMode: unknown work mode 'Invalid'",
    )
