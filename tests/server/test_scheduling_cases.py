"""The scheduler's group rules one case at a time (foxden.server.scheduling): each bound at
its edge, each refusal's field and text, the stored form and every version's rendering.
test_scheduling_rules.py checks the same rules over generated groups."""

from __future__ import annotations

from typing import Any

import pytest

from foxden.protocol import models
from foxden.protocol import structs as s
from foxden.server import scheduling as rules
from tests.server.desk import bad, refusal

H1 = models.MODELS["H1-5.0-E"]
H3 = models.MODELS["H3-10.0-E"]
KH = models.MODELS["KH8"]
EVO = models.MODELS["EVO 10-5-H"]
TIMES: dict[str, Any] = {"startHour": 2, "startMinute": 0, "endHour": 4, "endMinute": 59}
EVO_MODES = ", ".join(EVO.scheduler_modes)
H1_MODES = ", ".join(H1.scheduler_modes)


def flat(**fields: Any) -> s.SchedulerGroup:
    values: dict[str, Any] = {
        "enable": 1, **TIMES, "workMode": "ForceCharge",
        "minSocOnGrid": 20, "fdSoc": 90, "fdPwr": 3000,
    }  # fmt: skip
    return s.SchedulerGroup(**{**values, **fields})


def v2(enable: int = 1, mode: str = "SelfUse", times: Any = None, **extra: float) -> Any:
    return s.SchedulerGroupV2(
        enable=enable, **(times or TIMES), workMode=mode, extraParam=s.ExtraParam(**extra)
    )


def v3(mode: str = "SelfUse", times: Any = None, **fields: Any) -> s.SchedulerGroupV3:
    extra = {k: fields.pop(k) for k in list(fields) if k in models.SCHEDULE_PARAMS}
    return s.SchedulerGroupV3(
        **(times or TIMES), workMode=mode, extraParam=s.ExtraParam(**extra), **fields
    )


def span(sh: int, sm: int, eh: int, em: int) -> dict[str, int]:
    return {"startHour": sh, "startMinute": sm, "endHour": eh, "endMinute": em}


# ---------------------------------------------------------------- ranges and defaults


def test_param_ranges_of_a_four_field_and_an_eight_field_model() -> None:
    r = rules.ParamRange
    assert rules.param_ranges(H1) == {
        "minSocOnGrid": r("%", 10.0, 100.0),
        "fdSoc": r("%", 10.0, 100.0),
        "fdPwr": r("W", 0.0, 5250.0),
        "maxSoc": r("%", 10.0, 100.0),
    }
    assert rules.param_ranges(EVO) == {
        "minSocOnGrid": r("%", 5.0, 100.0),
        "fdSoc": r("%", 5.0, 100.0),
        "fdPwr": r("W", 0.0, 10500.0),
        "maxSoc": r("%", 10.0, 100.0),
        "importLimit": r("W", 0.0, 100000.0),
        "exportLimit": r("W", 0.0, 100000.0),
        "pvLimit": r("W", 0.0, 24000.0),
        "reactivePower": r("Var", -6000.0, 6000.0),
    }
    assert rules.param_ranges(H3)["pvLimit"] == r("W", 0.0, 20000.0)


def test_defaults_per_work_mode() -> None:
    assert rules.defaults(H1, "SelfUse") == {
        "minSocOnGrid": 10.0, "fdSoc": 10.0, "fdPwr": 5000.0, "maxSoc": 100.0
    }  # fmt: skip
    assert rules.defaults(H1, "ForceCharge")["fdSoc"] == 100.0
    assert rules.defaults(EVO, "ForceCharge(BAT)")["fdSoc"] == 100.0
    assert rules.defaults(EVO, "ForceDischarge") == {
        "minSocOnGrid": 5.0, "fdSoc": 5.0, "fdPwr": 10000.0, "maxSoc": 100.0,
        "importLimit": 100000.0, "exportLimit": 100000.0, "pvLimit": 24000.0,
        "reactivePower": 0.0,
    }  # fmt: skip


def _spec(unit: str, low: float, high: float) -> s.PropertySpec:
    return s.PropertySpec(unit=unit, precision=1.0, range=s.PropertyRange(min=low, max=high))


def test_properties_of_each_version() -> None:
    assert rules.properties(H1, 0) == {}
    clock = {
        "starthour": _spec("", 0.0, 23.0),
        "startminute": _spec("", 0.0, 59.0),
        "endhour": _spec("", 0.0, 23.0),
        "endminute": _spec("", 0.0, 59.0),
    }
    base = {
        "minsocongrid": _spec("%", 5.0, 100.0),
        "fdsoc": _spec("%", 5.0, 100.0),
        "fdpwr": _spec("W", 0.0, 10500.0),
        "maxsoc": _spec("%", 10.0, 100.0),
    }
    modes = s.PropertySpec(unit="", precision=1.0, enumList=list(EVO.scheduler_modes))
    assert rules.properties(EVO, 1) == {**clock, "workmode": modes, **base}
    extra = {
        "importlimit": _spec("W", 0.0, 100000.0),
        "exportlimit": _spec("W", 0.0, 100000.0),
        "pvlimit": _spec("W", 0.0, 24000.0),
        "reactivepower": _spec("Var", -6000.0, 6000.0),
    }
    assert rules.properties(EVO, 2) == {**clock, "workmode": modes, **base, **extra}
    assert rules.properties(EVO, 3) == rules.properties(EVO, 2)
    assert list(rules.properties(EVO, 3))[:5] == [*clock, "workmode"]
    assert set(rules.properties(H1, 3)) == {*clock, "workmode", *base}


def test_max_groups_per_version() -> None:
    assert [rules.max_groups(KH, v) for v in (0, 1, 2, 3)] == [8, 24, 8, 24]
    assert [rules.max_groups(EVO, v) for v in (0, 1, 2, 3)] == [8, 96, 8, 96]


def test_numbers_are_stored_whole_when_they_are() -> None:
    three = rules._number(3.0)
    assert three == 3 and type(three) is int
    half = rules._number(2.5)
    assert half == 2.5 and type(half) is float


# ---------------------------------------------------------------- v0/v1 writes


def test_a_flat_write_is_stored_with_the_models_other_fields_at_their_defaults() -> None:
    assert rules.flat_groups([flat(maxSoc=95)], H1, 1) == [
        {"enable": 1, **TIMES, "workMode": "ForceCharge",
         "minSocOnGrid": 20, "fdSoc": 90, "fdPwr": 3000, "maxSoc": 95},
    ]  # fmt: skip
    (row,) = rules.flat_groups([flat()], H3, 1)  # maxSoc left out: 100
    assert row == {
        "enable": 1, **TIMES, "workMode": "ForceCharge",
        "minSocOnGrid": 20, "fdSoc": 90, "fdPwr": 3000, "maxSoc": 100,
        "importLimit": 100000, "exportLimit": 100000, "pvLimit": 20000, "reactivePower": 0,
    }  # fmt: skip
    assert all(type(v) is int for k, v in row.items() if k != "workMode")


def test_flat_refusals_name_the_group_and_field() -> None:
    cases = [
        (flat(workMode="PeakShaving"),
         f"groups[0].workMode: unknown work mode 'PeakShaving'; H1-5.0-E supports {H1_MODES}"),
        (flat(fdPwr=5251), "groups[0].fdPwr: must be from 0 to 5250 W"),
        (flat(minSocOnGrid=9), "groups[0].minSocOnGrid: must be from 10 to 100 %"),
        (flat(maxSoc=9, minSocOnGrid=10), "groups[0].maxSoc: must be from 10 to 100 %"),
        (flat(fdPwr=0), "groups[0].fdPwr: must be above 0 W in an enabled group"),
        (flat(fdSoc=19), "groups[0].fdSoc: must be >= minSocOnGrid (20)"),
        (flat(fdSoc=10, minSocOnGrid=10),
         "groups[0].fdSoc: must be at least 11 in an enabled group"),
        (flat(maxSoc=19), "groups[0].maxSoc: must be >= minSocOnGrid (20)"),
        (flat(endHour=2, endMinute=0),
         "groups[0].endHour: the segment must end after it starts, on the same day"),
        (flat(startHour=5, endHour=4),
         "groups[0].endHour: the segment must end after it starts, on the same day"),
    ]  # fmt: skip
    for group, detail in cases:
        assert refusal(rules.flat_groups, [group], H1, 1) == bad(detail), detail
    later = flat(**span(6, 0, 7, 0))
    assert refusal(rules.flat_groups, [later, flat(fdPwr=0)], H1, 1) == bad(
        "groups[1].fdPwr: must be above 0 W in an enabled group"
    )


def test_flat_bounds_are_inclusive() -> None:
    edges = [
        flat(fdPwr=5250, fdSoc=100, minSocOnGrid=100, maxSoc=100),
        flat(fdPwr=1, fdSoc=11, minSocOnGrid=10, maxSoc=10),
        flat(fdSoc=20, minSocOnGrid=20, maxSoc=20),
        flat(**span(0, 0, 0, 1)),
        flat(**span(23, 58, 23, 59)),
    ]
    for group in edges:
        (row,) = rules.flat_groups([group], H1, 1)
        assert row["fdSoc"] == group.fdSoc and row["fdPwr"] == group.fdPwr
    # the v1 floor of 11 is v0's and v1's alone; v2 takes the properties' 10
    assert refusal(rules.flat_groups, [flat(fdSoc=10, minSocOnGrid=10)], H1, 0) == bad(
        "groups[0].fdSoc: must be at least 11 in an enabled group"
    )


def test_disabled_and_invalid_groups_are_not_checked_and_placeholders_are_dropped() -> None:
    wild = flat(enable=0, fdPwr=0, fdSoc=0, minSocOnGrid=0, **span(5, 0, 4, 0))
    assert rules.flat_groups([wild], H1, 1) == [
        {"enable": 0, **span(5, 0, 4, 0), "workMode": "ForceCharge",
         "minSocOnGrid": 0, "fdSoc": 0, "fdPwr": 0, "maxSoc": 100},
    ]  # fmt: skip
    invalid = flat(workMode="Invalid", fdPwr=0, fdSoc=0)
    assert rules.flat_groups([invalid], H1, 1) == []
    assert rules.flat_groups([invalid], H1, 0) == []
    empty = flat(enable=0, **span(0, 0, 0, 0))
    assert rules.flat_groups([empty, flat()], H1, 1)[0]["fdSoc"] == 90
    assert len(rules.flat_groups([empty, flat()], H1, 1)) == 1


def test_group_counts_per_version() -> None:
    eight = [flat(**span(h, 0, h, 30)) for h in range(8)]
    assert len(rules.flat_groups(eight, H1, 0)) == 8
    nine = [*eight, flat(**span(9, 0, 9, 30))]
    assert refusal(rules.flat_groups, nine, H1, 0) == bad("groups: at most 8 groups, got 9")
    assert refusal(rules.flat_groups, nine, H1, 1) == bad("groups: at most 8 groups, got 9")
    assert len(rules.flat_groups(nine, KH, 1)) == 9
    many = [v2(times=span(h, 0, h, 30)) for h in range(9)]
    assert refusal(rules.nested_groups, many, EVO, 2, False, []) == bad(
        "groups: at most 8 groups, got 9"
    )
    assert len(rules.nested_groups(many[:8], EVO, 2, False, [])) == 8
    assert len(rules.nested_groups([v3(times=span(h, 0, h, 30)) for h in range(9)], EVO, 3,
                                   False, [])) == 9  # fmt: skip
    tooth = [v3(times=span(h // 4, (h % 4) * 15, h // 4, (h % 4) * 15 + 10)) for h in range(25)]
    assert refusal(rules.nested_groups, tooth, KH, 3, False, []) == bad(
        "groups: at most 24 groups, got 25"
    )


# ---------------------------------------------------------------- overlaps and order


def test_overlaps_answer_42023_naming_both_groups_in_order() -> None:
    a = flat(**span(2, 0, 4, 0))
    b = flat(**span(4, 0, 5, 0))  # starts on a's end minute, which a holds
    assert refusal(rules.flat_groups, [a, b], H1, 1) == (42023, "groups[0] and groups[1]")
    assert refusal(rules.flat_groups, [b, a], H1, 1) == (42023, "groups[0] and groups[1]")
    c = flat(**span(10, 0, 11, 0))
    assert refusal(rules.flat_groups, [b, c, a], H1, 1) == (42023, "groups[0] and groups[2]")
    after = flat(**span(4, 1, 5, 0))
    assert [g["startMinute"] for g in rules.flat_groups([after, a], H1, 1)] == [0, 1]
    inside = flat(**span(2, 30, 3, 0))
    assert refusal(rules.flat_groups, [a, inside], H1, 1) == (42023, "groups[0] and groups[1]")
    # a disabled group does not take part
    off = flat(enable=0, **span(2, 30, 3, 0))
    assert len(rules.flat_groups([a, off], H1, 1)) == 2


def test_the_remaining_time_filler_overlaps_freely_and_leads_its_minute() -> None:
    filler = v3(mode="SelfUse", times=span(0, 0, 23, 59), isRemainMode=True)
    charge = v3(mode="ForceCharge", times=span(0, 0, 4, 0), fdPwr=3000)
    rows = rules.nested_groups([charge, filler], EVO, 3, False, [])
    assert [(g["workMode"], g.get("isRemainMode")) for g in rows] == [
        ("SelfUse", True), ("ForceCharge", None)
    ]  # fmt: skip
    again = v3(mode="SelfUse", times=span(0, 0, 23, 59))
    assert refusal(rules.nested_groups, [charge, again], EVO, 3, False, []) == (
        42023, "groups[0] and groups[1]"
    )  # fmt: skip


def test_cloud_order_and_placeholders_and_activity() -> None:
    rows: list[dict[str, Any]] = [
        {"enable": 1, **span(9, 0, 10, 0), "workMode": "SelfUse"},
        {"enable": 1, **span(1, 0, 2, 0), "workMode": "SelfUse"},
        {"enable": 1, **span(1, 0, 3, 0), "workMode": "SelfUse", "isRemainMode": True},
    ]
    assert [(g["startHour"], g["endHour"]) for g in rules.cloud_order(rows)] == [
        (1, 3), (1, 2), (9, 10)
    ]  # fmt: skip
    assert rules.is_placeholder({"enable": 1, **span(1, 0, 2, 0), "workMode": "Invalid"})
    assert rules.is_placeholder({"enable": 0, **span(3, 0, 3, 0), "workMode": "SelfUse"})
    assert not rules.is_placeholder({"enable": 0, **span(3, 0, 3, 1), "workMode": "SelfUse"})
    assert not rules.is_placeholder({"enable": 1, **span(3, 0, 3, 0), "workMode": "SelfUse"})
    assert rules.is_active(rows)
    assert not rules.is_active(
        [{"enable": 1, "workMode": "Invalid"}, {"enable": 0, "workMode": "SelfUse"}]
    )
    assert rules.is_active([{"enable": 0, "workMode": "SelfUse"},
                            {"enable": 1, "workMode": "Feedin"}])  # fmt: skip
    assert not rules.is_active([])


# ---------------------------------------------------------------- v2/v3 writes


def test_v3_refusals_name_the_extra_param_field() -> None:
    cases = [
        (v3(mode="Invalid"),
         f"groups[0].workMode: unknown work mode 'Invalid'; EVO 10-5-H supports {EVO_MODES}"),
        (v3(enable=0), "groups[0].enable: v3 takes active periods only"),
        (v3(pvLimit=24001), "groups[0].extraParam.pvLimit: must be from 0 to 24000 W"),
        (v3(reactivePower=-6001),
         "groups[0].extraParam.reactivePower: must be from -6000 to 6000 Var"),
        (v3(mode="ForceCharge", fdPwr=0),
         "groups[0].extraParam.fdPwr: must be above 0 W in an enabled group"),
        (v3(mode="ForceDischarge(BAT)", fdSoc=30, minSocOnGrid=40),
         "groups[0].extraParam.fdSoc: must be >= minSocOnGrid (40)"),
        (v3(maxSoc=30, minSocOnGrid=40),
         "groups[0].extraParam.maxSoc: must be >= minSocOnGrid (40)"),
        (v3(times=span(4, 0, 4, 0)),
         "groups[0].endHour: the segment must end after it starts, on the same day"),
    ]  # fmt: skip
    for group, detail in cases:
        assert refusal(rules.nested_groups, [group], EVO, 3, False, []) == bad(detail), detail
    assert refusal(rules.nested_groups, [v3(pvLimit=1000)], H1, 3, False, []) == bad(
        "groups[0].extraParam.pvLimit: H1-5.0-E does not take this parameter"
    )


def test_v3_accepts_what_v1_refuses_outside_force_modes() -> None:
    (row,) = rules.nested_groups([v3(fdPwr=0, fdSoc=5, minSocOnGrid=5)], EVO, 3, False, [])
    assert (row["fdPwr"], row["fdSoc"], row["enable"]) == (0, 5, 1)
    edges = v3(mode="ForceCharge", fdPwr=10500, pvLimit=0, reactivePower=6000, fdSoc=5)
    (row,) = rules.nested_groups([edges], EVO, 3, False, [])
    assert (row["fdPwr"], row["pvLimit"], row["reactivePower"]) == (10500, 0, 6000)
    assert "isRemainMode" not in row


def test_v2_accepts_what_v1_refuses_outside_force_modes() -> None:
    (row,) = rules.nested_groups([v2(fdPwr=0, fdSoc=5, minSocOnGrid=6)], EVO, 2, False, [])
    assert (row["fdPwr"], row["fdSoc"], row["minSocOnGrid"], row["enable"]) == (0, 5, 6, 1)
    forced = v2(mode="ForceCharge", fdPwr=0)
    assert refusal(rules.nested_groups, [forced], EVO, 2, False, []) == bad(
        "groups[0].extraParam.fdPwr: must be above 0 W in an enabled group"
    )


def test_v2_takes_invalid_placeholders_and_disabled_groups_unchecked() -> None:
    placeholder = v2(enable=1, mode="Invalid", fdPwr=-5)
    assert rules.nested_groups([placeholder], EVO, 2, False, []) == []
    off = v2(enable=0, mode="ForceCharge", fdPwr=0, times=span(6, 0, 5, 0))
    (row,) = rules.nested_groups([off], EVO, 2, False, [])
    assert (row["enable"], row["fdPwr"], row["fdSoc"]) == (0, 0, 100)
    unknown = v2(enable=0, mode="Sleep")
    assert refusal(rules.nested_groups, [unknown], EVO, 2, False, []) == bad(
        f"groups[0].workMode: unknown work mode 'Sleep'; EVO 10-5-H supports {EVO_MODES}"
    )


def test_left_out_fields_keep_the_stored_group_at_the_same_place() -> None:
    current = [
        {"enable": 1, **TIMES, "workMode": "SelfUse", "minSocOnGrid": 30, "fdSoc": 40,
         "fdPwr": 2000, "maxSoc": 90},
    ]  # fmt: skip
    (kept,) = rules.nested_groups([v2(fdPwr=1500)], H1, 2, False, current)
    assert kept == {"enable": 1, **TIMES, "workMode": "SelfUse",
                    "minSocOnGrid": 30, "fdSoc": 40, "fdPwr": 1500, "maxSoc": 90}  # fmt: skip
    (reset,) = rules.nested_groups([v2(fdPwr=1500)], H1, 2, True, current)
    assert (reset["minSocOnGrid"], reset["fdSoc"], reset["maxSoc"]) == (10, 10, 100)
    second = v2(times=span(6, 0, 7, 0))
    rows = rules.nested_groups([v2(), second], H1, 2, False, current)
    assert [r["fdPwr"] for r in rows] == [2000, 5000]  # only place 0 has a stored group
    partial = [{"enable": 1, **TIMES, "workMode": "SelfUse", "fdSoc": 60}]
    (mixed,) = rules.nested_groups([v2()], H1, 2, False, partial)
    assert (mixed["fdSoc"], mixed["minSocOnGrid"], mixed["fdPwr"]) == (60, 10, 5000)


def test_a_default_fd_soc_is_raised_to_the_floor_sent_but_a_sent_one_is_checked() -> None:
    (row,) = rules.nested_groups([v2(mode="ForceCharge", minSocOnGrid=50)], H1, 2, True, [])
    assert row["fdSoc"] == 100
    (row,) = rules.nested_groups([v2(minSocOnGrid=50)], H1, 2, True, [])
    assert row["fdSoc"] == 50
    (row,) = rules.nested_groups([v2(minSocOnGrid=10)], H1, 2, True, [])
    assert row["fdSoc"] == 10
    low = v2(mode="ForceCharge", minSocOnGrid=50, fdSoc=40)
    assert refusal(rules.nested_groups, [low], H1, 2, True, []) == bad(
        "groups[0].extraParam.fdSoc: must be >= minSocOnGrid (50)"
    )


def test_only_sent_values_are_range_checked() -> None:
    current = [{"enable": 1, **TIMES, "workMode": "SelfUse", "fdPwr": 99999}]
    (row,) = rules.nested_groups([v2()], H1, 2, False, current)
    assert row["fdPwr"] == 99999
    assert refusal(rules.nested_groups, [v2(fdPwr=5251)], H1, 2, False, []) == bad(
        "groups[0].extraParam.fdPwr: must be from 0 to 5250 W"
    )
    (row,) = rules.nested_groups([v2(fdPwr=5250, maxSoc=10, minSocOnGrid=10)], H1, 2, True, [])
    assert (row["fdPwr"], row["maxSoc"]) == (5250, 10)


def test_v2_without_extra_param_takes_every_default() -> None:
    group = s.SchedulerGroupV2(enable=1, **TIMES, workMode="ForceDischarge")
    (row,) = rules.nested_groups([group], EVO, 2, False, [])
    assert row == {"enable": 1, **TIMES, "workMode": "ForceDischarge", "minSocOnGrid": 5,
                   "fdSoc": 5, "fdPwr": 10000, "maxSoc": 100, "importLimit": 100000,
                   "exportLimit": 100000, "pvLimit": 24000, "reactivePower": 0}  # fmt: skip


# ---------------------------------------------------------------- reads


def _stored() -> list[dict[str, Any]]:
    return [
        {"enable": 1, **span(1, 0, 2, 0), "workMode": "ForceCharge", "minSocOnGrid": 20,
         "fdSoc": 90.4, "fdPwr": 2999.6, "maxSoc": 95},
        {"enable": 0, **span(5, 0, 6, 0), "workMode": "SelfUse", "minSocOnGrid": 15,
         "fdSoc": 15, "fdPwr": 100},
    ]  # fmt: skip


def test_render_v1_rounds_and_pads_with_invalid_placeholders() -> None:
    info = rules.render_v1(1, _stored(), H1)
    assert info.enable == 1 and info.properties == rules.properties(H1, 1)
    assert info.groups[:2] == [
        s.SchedulerGroupOut(enable=1, **span(1, 0, 2, 0), workMode="ForceCharge",
                            minSocOnGrid=20, fdSoc=90, fdPwr=3000, maxSoc=95),
        s.SchedulerGroupOut(enable=0, **span(5, 0, 6, 0), workMode="SelfUse",
                            minSocOnGrid=15, fdSoc=15, fdPwr=100, maxSoc=100),
    ]  # fmt: skip
    placeholder = s.SchedulerGroupOut(enable=0, **span(0, 0, 0, 0), workMode="Invalid",
                                      minSocOnGrid=10, fdSoc=10, fdPwr=0, maxSoc=100)  # fmt: skip
    assert info.groups[2:] == [placeholder] * 6
    assert len(rules.render_v1(0, [], H1).groups) == 8
    # v1 lists the four flat fields' properties even for a model that takes eight
    assert rules.render_v1(1, [], H3).properties == rules.properties(H3, 1)
    assert "pvlimit" not in rules.render_v1(1, [], H3).properties
    nine = [_stored()[0]] * 9
    assert len(rules.render_v1(1, nine, KH).groups) == 9


def test_render_v0_has_no_max_soc_and_no_properties() -> None:
    info = rules.render_v0(0, _stored())
    assert info.enable == 0 and info.properties == {}
    assert info.groups[0] == s.SchedulerGroupOutV0(
        enable=1, **span(1, 0, 2, 0), workMode="ForceCharge", minSocOnGrid=20, fdSoc=90, fdPwr=3000
    )
    assert info.groups[7] == s.SchedulerGroupOutV0(
        enable=0, **span(0, 0, 0, 0), workMode="Invalid", minSocOnGrid=10, fdSoc=10, fdPwr=0
    )
    assert len(info.groups) == 8
    assert all(type(g) is s.SchedulerGroupOutV0 for g in info.groups)


def test_render_v2_shows_every_group_with_defaults_and_unused_slots() -> None:
    info = rules.render_v2(1, _stored(), EVO)
    assert info.enable == 1 and info.properties == rules.properties(EVO, 2)
    assert len(info.groups) == 8
    first = info.groups[0]
    assert (first.enable, first.startHour, first.endHour, first.workMode) == (
        1, 1, 2, "ForceCharge"
    )  # fmt: skip
    assert first.extraParam == {
        "minSocOnGrid": 20.0, "fdSoc": 90.4, "fdPwr": 2999.6, "maxSoc": 95.0,
        "importLimit": 100000.0, "exportLimit": 100000.0, "pvLimit": 24000.0,
        "reactivePower": 0.0,
    }  # fmt: skip
    assert info.groups[1].enable == 0 and info.groups[1].extraParam["maxSoc"] == 100.0
    unused = info.groups[2]
    assert unused == s.SchedulerGroupOutV2(
        enable=0, **span(0, 0, 0, 0), workMode="SelfUse", extraParam=rules.defaults(EVO, "SelfUse")
    )
    assert info.groups[7] == unused


def test_render_v3_shows_the_active_periods_with_their_remain_flag() -> None:
    rows = [*_stored(), {"enable": 1, **span(0, 0, 23, 59), "workMode": "SelfUse",
                         "isRemainMode": True},
            {"enable": 1, **span(7, 0, 8, 0), "workMode": "Invalid"}]  # fmt: skip
    info = rules.render_v3(0, rows, EVO)
    assert info.enable == 0 and info.maxGroupCount == 96
    assert info.properties == rules.properties(EVO, 3)
    assert [(g.startHour, g.workMode, g.isRemainMode) for g in info.groups] == [
        (1, "ForceCharge", False), (0, "SelfUse", True)
    ]  # fmt: skip
    assert info.groups[0].extraParam["fdSoc"] == 90.4
    assert info.groups[1].endMinute == 59 and info.groups[1].startMinute == 0
    assert rules.render_v3(1, [], KH).maxGroupCount == 24


@pytest.mark.parametrize("version", [0, 1])
def test_a_flat_read_back_writes_the_same_schedule(version: int) -> None:
    stored = rules.flat_groups([flat(**span(5, 0, 6, 0)), flat()], H1, 1)
    shown = rules.render_v1(1, stored, H1).groups
    again = [s.SchedulerGroup(**{f: getattr(g, f) for f in g.__struct_fields__}) for g in shown]
    assert rules.flat_groups(again, H1, version) == stored  # type: ignore[arg-type]


def test_a_stored_group_without_a_field_shows_its_modes_default() -> None:
    bare = {"enable": 1, **span(1, 0, 2, 0), "workMode": "ForceCharge"}
    (shown, *_) = rules.render_v2(1, [bare], EVO).groups
    assert shown.extraParam["fdSoc"] == 100.0 and shown.extraParam["minSocOnGrid"] == 5.0
    selfuse = {**bare, "workMode": "SelfUse"}
    assert rules.render_v3(1, [selfuse], EVO).groups[0].extraParam["fdSoc"] == 5.0
