"""The scheduler of every API version over loopback: flags, shapes, each rule, one stored
schedule read back through every version, EVO behaviour and tenancy.

Sources are cited per test: spec = shared/spec/newer-endpoints.md, samples = shared/samples.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from foxden.client import Client, DeviceNotFoundError, UnsupportedError
from foxden.protocol import structs as s
from tests.conftest import LiveServer
from tests.server.calls import (  # noqa: F401 (alice_key_with_an_evo: the key fixture)
    EVO,
    F3,
    H1,
    H3,
    KH8,
    alice_key_with_an_evo,
    ok,
    post,
    signed,
)

V0 = "/op/v0/device/scheduler"
V1 = "/op/v1/device/scheduler"
V2 = "/op/v2/device/scheduler"
V3 = "/op/v3/device/scheduler"


def flat(**changes: Any) -> dict[str, Any]:
    """A v0/v1 group, enabled, valid on every battery model."""
    return {
        "enable": 1,
        "startHour": 0,
        "startMinute": 0,
        "endHour": 5,
        "endMinute": 0,
        "workMode": "SelfUse",
        "minSocOnGrid": 10,
        "fdSoc": 90,
        "fdPwr": 3000,
        **changes,
    }


def period(start: int, end: int, mode: str = "SelfUse", **extra: Any) -> dict[str, Any]:
    """A v3 period from ``start``:00 to ``end``:59."""
    group: dict[str, Any] = {
        "startHour": start,
        "startMinute": 0,
        "endHour": end,
        "endMinute": 59,
        "workMode": mode,
    }
    if extra:
        group["extraParam"] = extra
    return group


# ---------------------------------------------------------------- flags


def test_flags_are_json_booleans_in_v0_and_v1(live: LiveServer, key: str) -> None:
    """Flags are JSON booleans (samples/v1_device_scheduler_get_flag__gostonefire_mock.json;
    spec 3.2.1: DOC-CG and EnergyStats decode Bool; issue 9 for v0)."""
    for path in (f"{V0}/get/flag", f"{V1}/get/flag"):
        assert ok(post(live, key, path, {"deviceSN": H1})) == {"support": True, "enable": False}
        assert ok(post(live, key, path, {"deviceSN": F3})) == {"support": False, "enable": False}


def test_v1_set_flag_takes_int_or_bool_and_echoes(live: LiveServer, key: str) -> None:
    """set/flag body enable:int (spec 3.2.2); the V1.1.12 doc echoes {deviceSN, enable}."""
    assert ok(post(live, key, f"{V1}/set/flag", {"deviceSN": H1, "enable": 1})) == {
        "deviceSN": H1,
        "enable": 1,
    }
    assert ok(post(live, key, f"{V0}/get/flag", {"deviceSN": H1}))["enable"] is True
    ok(post(live, key, f"{V1}/set/flag", {"deviceSN": H1, "enable": False}))
    assert ok(post(live, key, f"{V1}/get/flag", {"deviceSN": H1}))["enable"] is False
    for bad in (2, -1, "on"):
        answer = post(live, key, f"{V1}/set/flag", {"deviceSN": H1, "enable": bad})
        assert answer["errno"] == 40257, bad
    assert post(live, key, f"{V1}/set/flag", {"deviceSN": F3, "enable": 1})["errno"] == 42015


def test_the_vendor_sample_clients_v0_set_path_works(live: LiveServer, key: str) -> None:
    """The vendor's sample code posts the v0 flag to /op/v0/device/scheduler/set (spec 7.6)."""
    ok(post(live, key, f"{V0}/set", {"deviceSN": H1, "enable": 1}))
    assert ok(post(live, key, f"{V0}/get/flag", {"deviceSN": H1}))["enable"] is True


def test_writing_groups_sets_the_flag_from_what_takes_effect(live: LiveServer, key: str) -> None:
    """Writing active groups turns the scheduler on; writing none turns it off (spec 3.2.2:
    EVO clients disable the scheduler by writing an empty schedule)."""
    ok(post(live, key, f"{V3}/enable", {"deviceSN": EVO, "groups": [period(1, 2)]}))
    assert ok(post(live, key, f"{V1}/get/flag", {"deviceSN": EVO})) == {
        "support": True,
        "enable": True,
    }
    ok(post(live, key, f"{V3}/enable", {"deviceSN": EVO, "groups": []}))
    assert ok(post(live, key, f"{V1}/get/flag", {"deviceSN": EVO}))["enable"] is False


# ---------------------------------------------------------------- shapes of the gets


def test_v0_get_is_eight_flat_groups_without_max_soc(live: LiveServer, key: str) -> None:
    """v0: flat fields, no maxSoc, properties {} (spec section 6;
    samples/v0_device_scheduler_get__nicois.json), 8 slots, unused ones Invalid."""
    got = ok(post(live, key, f"{V0}/get", {"deviceSN": H1}))
    assert got["enable"] == 0 and got["properties"] == {}
    assert len(got["groups"]) == 8
    assert got["groups"][0] == {
        "enable": 0, "startHour": 0, "startMinute": 0, "endHour": 0, "endMinute": 0,
        "workMode": "Invalid", "minSocOnGrid": 10, "fdSoc": 10, "fdPwr": 0,
    }  # fmt: skip


def test_v1_get_matches_the_real_kh_capture(live: LiveServer, key: str, bob: Client) -> None:
    """v1: 8 groups with maxSoc, unused ones Invalid, lower-case properties with float
    ranges, fdpwr max about 1.05 x the rating (samples/v1_device_scheduler_get__batpred_kh.json:
    a KH10.5 reports 10500; issue 9)."""
    raw = httpx.post(
        live.url + f"{V1}/get",
        headers=signed(f"{V1}/get", bob.api_key),
        json={"deviceSN": KH8},
    ).text
    got = json.loads(raw)["result"]
    assert got["enable"] == 0
    assert got["groups"] == [
        {"enable": 0, "startHour": 0, "startMinute": 0, "endHour": 0, "endMinute": 0,
         "workMode": "Invalid", "minSocOnGrid": 10, "fdSoc": 10, "fdPwr": 0, "maxSoc": 100}
    ] * 8  # fmt: skip
    props = got["properties"]
    assert set(props) == {
        "starthour", "startminute", "endhour", "endminute", "workmode", "minsocongrid",
        "fdsoc", "fdpwr", "maxsoc",
    }  # fmt: skip
    assert props["fdpwr"] == {"unit": "W", "precision": 1.0, "range": {"min": 0.0, "max": 8400.0}}
    assert props["fdsoc"]["range"] == {"min": 10.0, "max": 100.0}
    assert props["workmode"] == {
        "unit": "",
        "precision": 1.0,
        "enumList": ["ForceDischarge", "Feedin", "SelfUse", "ForceCharge"],
    }
    assert '"precision":1.0' in raw and '"max":8400.0' in raw  # floats, as the cloud writes


def test_v2_get_on_evo_matches_the_real_capture_shape(live: LiveServer, key: str) -> None:
    """v2 on EVO: 8 groups with extraParam floats (8 fields), lower-case properties incl.
    pvlimit/importlimit/exportlimit/reactivepower, no maxGroupCount
    (samples/v2_device_scheduler_get__batpred_evo.json; spec 3.3.1)."""
    got = ok(post(live, key, f"{V2}/get", {"deviceSN": EVO}))
    assert set(got) == {"enable", "groups", "properties"}
    assert len(got["groups"]) == 8
    unused = got["groups"][0]
    assert unused["enable"] == 0 and unused["workMode"] == "SelfUse"
    assert set(unused["extraParam"]) == {
        "minSocOnGrid", "fdSoc", "fdPwr", "maxSoc", "importLimit", "exportLimit", "pvLimit",
        "reactivePower",
    }  # fmt: skip
    props = got["properties"]
    assert props["workmode"]["enumList"] == [
        "ForceDischarge", "Feedin", "ForceCharge(BAT)", "ForceDischarge(BAT)", "Backup",
        "SelfUse", "ForceCharge",
    ]  # fmt: skip
    assert props["fdsoc"]["range"] == {"min": 5.0, "max": 100.0}
    assert props["importlimit"]["range"] == {"min": 0.0, "max": 100000.0}
    assert props["reactivepower"] == {
        "unit": "Var",
        "precision": 1.0,
        "range": {"min": -6000.0, "max": 6000.0},
    }


def test_v3_get_lists_active_periods_and_max_group_count(live: LiveServer, key: str) -> None:
    """v3: maxGroupCount, no per-group enable, only active periods, extraParam with the
    model's fields only (samples/v3_device_scheduler_get__gostonefire_mock.json; spec 3.4.1)."""
    ok(post(live, key, f"{V1}/enable", {"deviceSN": H1, "groups": [
        flat(), flat(enable=0, startHour=6, endHour=7, workMode="Feedin"),
    ]}))  # fmt: skip
    got = ok(post(live, key, f"{V3}/get", {"deviceSN": H1}))
    assert got["enable"] == 1 and got["maxGroupCount"] == 8
    assert got["groups"] == [
        {"startHour": 0, "startMinute": 0, "endHour": 5, "endMinute": 0, "workMode": "SelfUse",
         "extraParam": {"minSocOnGrid": 10.0, "fdSoc": 90.0, "fdPwr": 3000.0, "maxSoc": 100.0}}
    ]  # fmt: skip
    assert "pvlimit" not in got["properties"] and "maxsoc" in got["properties"]
    assert ok(post(live, key, f"{V3}/get", {"deviceSN": EVO}))["maxGroupCount"] == 96


# ---------------------------------------------------------------- EVO and grid-tied


def test_evo_v0_and_v1_scheduler_fail_with_41200(live: LiveServer, key: str) -> None:
    """EVO (productType 812): v1 get/enable answer 41200 for good, v2/v3 work, v1 flags work
    (spec 3.2.3 and section 6; batpred FOX_V2_SCHEDULER_PRODUCT_TYPES)."""
    for path, body in (
        (f"{V1}/get", {"deviceSN": EVO}),
        (f"{V1}/enable", {"deviceSN": EVO, "groups": [flat()]}),
        (f"{V0}/get", {"deviceSN": EVO}),
        (f"{V0}/enable", {"deviceSN": EVO, "groups": [flat()]}),
    ):
        assert post(live, key, path, body)["errno"] == 41200, path
    assert ok(post(live, key, f"{V2}/get", {"deviceSN": EVO}))["enable"] == 0
    assert ok(post(live, key, f"{V1}/get/flag", {"deviceSN": EVO}))["support"] is True


def test_evo_detail_reports_product_type_812(key: str, alice: Client) -> None:
    """EVO's productType is "812" as the cloud reports it (spec 3.1.1; batpred)."""
    detail = alice.device_detail(EVO)
    assert (detail.productType, detail.deviceType) == ("812", "EVO 10-5-H")
    assert detail.function.scheduler is True


def test_grid_tied_has_no_scheduler_in_any_version(live: LiveServer, key: str) -> None:
    """A model without the function answers 42015 (DESIGN errno table)."""
    for path in (f"{V0}/get", f"{V1}/get", f"{V2}/get", f"{V3}/get"):
        assert post(live, key, path, {"deviceSN": F3})["errno"] == 42015, path


# ---------------------------------------------------------------- v0/v1 write rules


@pytest.mark.parametrize("version", [V0, V1])
@pytest.mark.parametrize(
    "changes",
    [
        {"fdPwr": 0},  # nicois API_DEVIATIONS.md; issue 9
        {"fdSoc": 10},  # below 11 although properties say 10: nicois; issue 9
        {"fdPwr": 5251},  # above 1.05 x 5000 W
        {"minSocOnGrid": 50, "fdSoc": 40},  # fdSoc below minSocOnGrid: spec 3.2.4
        {"minSocOnGrid": 9},
        {"maxSoc": 5},
        {"workMode": "PeakShaving"},  # not in the H1's enumList
        {"workMode": "ForceCharge(BAT)"},
        {"startHour": 5},  # ends when it starts
        {"enable": 2},
        {"colour": "red"},  # unknown group field: nicois
        {"fdPwr": "lots"},
    ],
)
def test_v0_v1_enabled_group_rules(
    live: LiveServer, key: str, version: str, changes: dict[str, Any]
) -> None:
    """Each rule of an enabled v0/v1 group answers 40257 and writes nothing."""
    answer = post(live, key, f"{version}/enable", {"deviceSN": H1, "groups": [flat(**changes)]})
    assert answer["errno"] == 40257, answer
    assert ok(post(live, key, f"{V0}/get", {"deviceSN": H1}))["enable"] == 0


@pytest.mark.parametrize("version", [V0, V1])
def test_v0_v1_accept_the_limits_and_disabled_placeholders(
    live: LiveServer, key: str, version: str
) -> None:
    """fdPwr up to 1.05 x rating (5250 W on an H1-5.0) and fdSoc 11 are accepted; disabled
    groups may hold fdPwr 0 / fdSoc 10 (they are what a get answers); numeric strings are
    accepted (clients send them)."""
    groups = [
        flat(fdPwr=5250, fdSoc=11, minSocOnGrid=11),
        flat(enable=0, startHour=0, endHour=0, endMinute=0, workMode="Invalid", fdSoc=10,
             fdPwr=0),
        flat(startHour="6", endHour="8", fdPwr="2500", maxSoc="95"),
    ]  # fmt: skip
    ok(post(live, key, f"{version}/enable", {"deviceSN": H1, "groups": groups}))
    got = ok(post(live, key, f"{V1}/get", {"deviceSN": H1}))["groups"]
    assert [(g["startHour"], g["fdPwr"], g["fdSoc"], g["maxSoc"]) for g in got[:2]] == [
        (0, 5250, 11, 100),
        (6, 2500, 90, 95),
    ]
    assert [g["workMode"] for g in got[2:]] == ["Invalid"] * 6


def test_overlaps_answer_42023(live: LiveServer, key: str) -> None:
    """Overlapping enabled groups: 42023 "Time overlap, please reselect time" in every version
    (samples/errors__issues.json, nicois); touching minutes are fine, the end minute belongs
    to the group; disabled groups never overlap."""
    bad = [flat(endHour=6), flat(startHour=6, endHour=8)]
    for path in (f"{V0}/enable", f"{V1}/enable"):
        assert post(live, key, path, {"deviceSN": H1, "groups": bad})["errno"] == 42023
    v2 = [{**period(1, 3), "enable": 1}, {**period(3, 4), "enable": 1}]
    assert post(live, key, f"{V2}/enable", {"deviceSN": H1, "groups": v2})["errno"] == 42023
    v3 = [period(1, 3), period(3, 4)]
    assert post(live, key, f"{V3}/enable", {"deviceSN": H1, "groups": v3})["errno"] == 42023
    fine = [flat(endHour=5, endMinute=59), flat(startHour=6, endHour=8), flat(enable=0)]
    echo = ok(post(live, key, f"{V1}/enable", {"deviceSN": H1, "groups": fine}))
    assert echo["deviceSN"] == H1 and len(echo["groups"]) == 3
    # the touching groups were stored as sent, the disabled one with them
    got = ok(post(live, key, f"{V1}/get", {"deviceSN": H1}))
    assert got["enable"] == 1
    spans = [(g["enable"], g["startHour"], g["startMinute"], g["endHour"], g["endMinute"])
             for g in got["groups"][:3]]  # fmt: skip
    assert sorted(spans) == [(0, 0, 0, 5, 0), (1, 0, 0, 5, 59), (1, 6, 0, 8, 0)], spans
    assert [g["workMode"] for g in got["groups"][3:]] == ["Invalid"] * 5
    # v3: a period may start the minute after another ends
    touching = [period(1, 2), period(3, 4, "ForceCharge")]
    ok(post(live, key, f"{V3}/enable", {"deviceSN": H1, "groups": touching}))
    got3 = ok(post(live, key, f"{V3}/get", {"deviceSN": H1}))
    assert [(g["startHour"], g["endHour"], g["endMinute"], g["workMode"]) for g in
            got3["groups"]] == [(1, 2, 59, "SelfUse"), (3, 4, 59, "ForceCharge")]  # fmt: skip


def test_group_count_limits_per_version(live: LiveServer, key: str, bob: Client) -> None:
    """v0 takes 8 groups; v1 and v3 up to maxGroupCount (a KH8 reports 24); v2 refuses a
    ninth group whatever v3 reports (a live-tested migration note, spec sources: v2 enable
    40257 at 9 groups while v1 took 11)."""
    nine = [flat(startHour=h, endHour=h, endMinute=30) for h in range(9)]
    assert post(live, key, f"{V0}/enable", {"deviceSN": H1, "groups": nine})["errno"] == 40257
    assert post(live, key, f"{V1}/enable", {"deviceSN": H1, "groups": nine})["errno"] == 40257
    ok(post(live, bob.api_key, f"{V1}/enable", {"deviceSN": KH8, "groups": nine}))
    assert len(ok(post(live, bob.api_key, f"{V1}/get", {"deviceSN": KH8}))["groups"]) == 9
    v2 = [{**period(h, h), "enable": 1} for h in range(9)]
    answer = post(live, bob.api_key, f"{V2}/enable", {"deviceSN": KH8, "groups": v2})
    assert answer["errno"] == 40257
    v3 = [period(h, h) for h in range(24)]
    ok(post(live, bob.api_key, f"{V3}/enable", {"deviceSN": KH8, "groups": v3}))
    answer = post(live, bob.api_key, f"{V3}/enable", {"deviceSN": KH8, "groups": [*v3, v3[0]]})
    assert answer["errno"] == 40257


# ---------------------------------------------------------------- v2/v3 write rules


@pytest.mark.parametrize(
    ("sn", "group"),
    [
        (H1, period(1, 2, exportLimit=8000)),  # a parameter the H1 does not take: TONY 2.9.8
        (H1, period(1, 2, colour=1)),  # not an extraParam field at all
        (EVO, period(1, 2, pvLimit=24001)),  # outside properties.pvlimit.range
        (EVO, period(1, 2, reactivePower=-6001)),
        (EVO, period(1, 2, "ForceCharge", fdPwr=0)),  # a forced mode needs power
        (EVO, period(1, 2, "ForceDischarge", fdSoc=20, minSocOnGrid=30)),
        (EVO, period(1, 2, "Turbo")),
        (EVO, period(1, 2, "Invalid")),  # v3 has no placeholders
        (EVO, {**period(1, 2), "enable": 0}),  # v3 cannot carry a disabled period
        (EVO, {**period(1, 2), "isRemainMode": "sometimes"}),
    ],
)
def test_v3_rules(live: LiveServer, key: str, sn: str, group: dict[str, Any]) -> None:
    """v3 refuses parameters the model does not list in properties, values outside the
    ranges, and disabled periods, with 40257 (spec 3.4.2; TONY 2.9.8 notes)."""
    answer = post(live, key, f"{V3}/enable", {"deviceSN": sn, "groups": [group]})
    assert answer["errno"] == 40257, answer


def test_v3_accepts_what_public_clients_send(live: LiveServer, key: str) -> None:
    """Numeric strings ("exportLimit":"8000"), int or float values, isRemainMode, isDefault,
    nulls for fields a client does not set, enable:1, and SelfUse without fdPwr
    (foxesscloud set_period/set_schedule; spec 3.4.2 GOST request example)."""
    groups = [
        {**period(0, 23, minSocOnGrid=10), "isRemainMode": True},
        period(2, 4, "ForceCharge", minSocOnGrid=10, fdSoc=100, fdPwr=10500, maxSoc=100.0),
        {**period(17, 19, "ForceDischarge", fdSoc="20", fdPwr="5000", exportLimit="8000",
                  pvLimit=None), "enable": 1},
        period(20, 21, "SelfUse", fdPwr=0.0, minSocOnGrid=10.0),
    ]  # fmt: skip
    echo = ok(post(live, key, f"{V3}/enable", {"deviceSN": EVO, "isDefault": False,
                                                "groups": groups}))  # fmt: skip
    assert echo["deviceSN"] == EVO and echo["isDefault"] is False and len(echo["groups"]) == 4
    got = ok(post(live, key, f"{V3}/get", {"deviceSN": EVO}))["groups"]
    assert [(g["startHour"], g["workMode"], g.get("isRemainMode", False)) for g in got] == [
        (0, "SelfUse", True),
        (2, "ForceCharge", False),
        (17, "ForceDischarge", False),
        (20, "SelfUse", False),
    ]
    assert got[2]["extraParam"]["exportLimit"] == 8000.0
    assert got[2]["extraParam"]["fdSoc"] == 20.0
    assert got[1]["extraParam"]["fdPwr"] == 10500.0


def test_v2_is_default_chooses_what_omitted_fields_take(live: LiveServer, key: str) -> None:
    """isDefault false: omitted extraParam fields keep their current values; true: they
    take the system defaults (spec 3.3.2, doc note on extraParamDefaultValueSwitch)."""
    first = {**period(1, 2, "ForceDischarge", fdSoc=30, fdPwr=4000, exportLimit=7000),
             "enable": 1}  # fmt: skip
    ok(post(live, key, f"{V2}/enable", {"deviceSN": EVO, "groups": [first]}))
    keep = {**period(1, 2, "ForceDischarge", fdPwr=3000), "enable": 1}
    ok(post(live, key, f"{V2}/enable", {"deviceSN": EVO, "groups": [keep]}))
    got = ok(post(live, key, f"{V2}/get", {"deviceSN": EVO}))["groups"][0]["extraParam"]
    assert (got["fdPwr"], got["fdSoc"], got["exportLimit"]) == (3000.0, 30.0, 7000.0)
    reset = {**period(1, 2, "ForceDischarge", fdPwr=3000), "enable": 1}
    ok(post(live, key, f"{V2}/enable", {"deviceSN": EVO, "isDefault": True, "groups": [reset]}))
    got = ok(post(live, key, f"{V2}/get", {"deviceSN": EVO}))["groups"][0]["extraParam"]
    assert (got["fdPwr"], got["fdSoc"], got["exportLimit"]) == (3000.0, 5.0, 100000.0)


def test_v3_self_use_without_power_is_fine_but_v1_refuses_it(live: LiveServer, key: str) -> None:
    """v3 SelfUse periods carry no fdPwr (foxesscloud sends minSocOnGrid only); the same
    period read through v1 shows fdPwr at the default and fdSoc 10, and v1's own rule
    refuses writing fdSoc 10 back (nicois; a v1 client must raise fdSoc to 11)."""
    ok(post(live, key, f"{V3}/enable", {"deviceSN": H3, "groups": [period(1, 2)]}))
    got = ok(post(live, key, f"{V1}/get", {"deviceSN": H3}))["groups"][0]
    assert (got["fdSoc"], got["fdPwr"]) == (10, 10000)
    answer = post(live, key, f"{V1}/enable", {"deviceSN": H3, "groups": [got]})
    assert answer["errno"] == 40257
    ok(post(live, key, f"{V1}/enable", {"deviceSN": H3, "groups": [{**got, "fdSoc": 11}]}))
    # a default fdSoc is never below the minSocOnGrid sent with it
    ok(post(live, key, f"{V3}/enable", {"deviceSN": H3, "groups": [period(1, 2, minSocOnGrid=30)]}))
    got = ok(post(live, key, f"{V1}/get", {"deviceSN": H3}))["groups"][0]
    assert (got["minSocOnGrid"], got["fdSoc"]) == (30, 30)


# ---------------------------------------------------------------- order and round trips


def test_groups_come_back_in_the_clouds_order(live: LiveServer, key: str) -> None:
    """The cloud reorders groups: a segment written as group 1 came back as group 8 next to
    disabled groups starting at 00:00 (a 2025-12-05 observation in a public client's notes,
    listed in samples/sources.md); foxden sorts by start time in every version."""
    groups = [
        flat(startHour=22, startMinute=54, endHour=23, endMinute=24, workMode="ForceDischarge",
             minSocOnGrid=20, fdSoc=35, fdPwr=2000),
        flat(enable=0, endHour=1),
        flat(startHour=3, endHour=4),
    ]  # fmt: skip
    ok(post(live, key, f"{V1}/enable", {"deviceSN": H3, "groups": groups}))
    for path in (f"{V0}/get", f"{V1}/get", f"{V2}/get"):
        got = ok(post(live, key, path, {"deviceSN": H3}))["groups"]
        assert [(g["startHour"], g["enable"]) for g in got[:3]] == [(0, 0), (3, 1), (22, 1)]
    v3 = ok(post(live, key, f"{V3}/get", {"deviceSN": H3}))["groups"]
    assert [g["startHour"] for g in v3] == [3, 22]


def _as_v1(g: dict[str, Any]) -> dict[str, Any]:
    return {**g, "fdPwr": int(g["fdPwr"])}


WRITES: dict[str, tuple[str, dict[str, Any]]] = {
    "v0": (
        f"{V0}/enable",
        {"groups": [flat(startHour=1, endHour=3, workMode="ForceCharge", fdSoc=95, fdPwr=4000)]},
    ),
    "v1": (
        f"{V1}/enable",
        {
            "groups": [
                flat(
                    startHour=1, endHour=3, workMode="ForceCharge", fdSoc=95, fdPwr=4000, maxSoc=100
                )
            ]
        },
    ),
    "v2": (
        f"{V2}/enable",
        {
            "groups": [
                {
                    **period(
                        1, 2, "ForceCharge", minSocOnGrid=10, fdSoc=95, fdPwr=4000, maxSoc=100
                    ),
                    "endHour": 3,
                    "endMinute": 0,
                    "enable": 1,
                }
            ]
        },
    ),
    "v3": (
        f"{V3}/enable",
        {
            "groups": [
                {
                    **period(
                        1, 2, "ForceCharge", minSocOnGrid="10", fdSoc=95.0, fdPwr="4000", maxSoc=100
                    ),
                    "endHour": 3,
                    "endMinute": 0,
                }
            ]
        },
    ),
}


@pytest.mark.parametrize("written", sorted(WRITES))
def test_one_schedule_reads_back_through_every_version(
    live: LiveServer, key: str, written: str
) -> None:
    """One stored schedule per device: a schedule written through any version reads back the
    same through every version (issue 8)."""
    path, body = WRITES[written]
    ok(post(live, key, path, {"deviceSN": H1, **body}))
    same = {"startHour": 1, "startMinute": 0, "endHour": 3, "endMinute": 0,
            "workMode": "ForceCharge"}  # fmt: skip
    soc = {"minSocOnGrid": 10, "fdSoc": 95, "fdPwr": 4000}
    v0 = ok(post(live, key, f"{V0}/get", {"deviceSN": H1}))
    assert v0["enable"] == 1 and v0["groups"][0] == {"enable": 1, **same, **soc}
    v1 = ok(post(live, key, f"{V1}/get", {"deviceSN": H1}))
    assert v1["groups"][0] == {"enable": 1, **same, **soc, "maxSoc": 100}
    extra = {k: float(v) for k, v in {**soc, "maxSoc": 100}.items()}
    v2 = ok(post(live, key, f"{V2}/get", {"deviceSN": H1}))
    assert v2["groups"][0] == {"enable": 1, **same, "extraParam": extra}
    v3 = ok(post(live, key, f"{V3}/get", {"deviceSN": H1}))
    assert v3["groups"] == [{**same, "extraParam": extra}]
    # and what each get answers can be written back through its own version unchanged
    for version, got in ((V0, v0), (V1, v1), (V2, v2), (V3, v3)):
        ok(post(live, key, f"{version}/enable", {"deviceSN": H1, "groups": got["groups"]}))
        assert ok(post(live, key, f"{V1}/get", {"deviceSN": H1})) == v1, version


# ---------------------------------------------------------------- tenancy


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"{V0}/get/flag", {}),
        (f"{V1}/get/flag", {}),
        (f"{V1}/set/flag", {"enable": 1}),
        (f"{V1}/get", {}),
        (f"{V1}/enable", {"groups": [flat()]}),
        (f"{V2}/get", {}),
        (f"{V2}/enable", {"groups": []}),
        (f"{V3}/get", {}),
        (f"{V3}/enable", {"groups": []}),
    ],
)
def test_another_accounts_device_is_an_unknown_one(
    live: LiveServer, key: str, bob: Client, path: str, body: dict[str, Any]
) -> None:
    """Another account's serial answers exactly as a serial nobody has (40261)."""
    theirs = post(live, key, path, {"deviceSN": KH8, **body})
    nobody = post(live, key, path, {"deviceSN": "NOSUCHDEVICE1", **body})
    assert theirs["errno"] == nobody["errno"] == 40261
    assert theirs["msg"].replace(KH8, "X") == nobody["msg"].replace("NOSUCHDEVICE1", "X")
    assert ok(post(live, bob.api_key, f"{V1}/get/flag", {"deviceSN": KH8}))["enable"] is False


# ---------------------------------------------------------------- client methods


def test_client_methods_of_every_version(key: str, alice: Client) -> None:
    """The generated client speaks every version with typed results."""
    alice.set_scheduler_v3(
        EVO,
        [
            s.SchedulerGroupV3(
                startHour=1, startMinute=0, endHour=2, endMinute=0, workMode="SelfUse"
            )
        ],
    )
    assert alice.scheduler_v3(EVO).groups[0].workMode == "SelfUse"
    assert alice.scheduler_v2(EVO).groups[0].extraParam["pvLimit"] == 24000.0
    assert alice.scheduler_flag_v1(EVO) == s.SchedulerFlag(support=True, enable=True)
    assert alice.set_scheduler_flag_v1(EVO, False) == s.SchedulerFlagEcho(deviceSN=EVO, enable=0)
    alice.set_scheduler_v1(H1, [s.SchedulerGroup(**flat())])
    assert alice.scheduler_v1(H1).groups[0].maxSoc == 100
    assert alice.scheduler(H1).groups[0].fdPwr == 3000
    assert alice.scheduler_flag(H1) == s.SchedulerFlag(support=True, enable=True)


def test_flag_refusals_name_the_field_and_the_model(alice: Client) -> None:
    """An unknown serial on the flag endpoints answers 40261 naming ``deviceSN`` (the
    field those bodies use); a grid-tied model's flag write answers 42015 naming the model."""
    for call in (
        lambda: alice.scheduler_flag("NOPE00000001"),
        lambda: alice.set_scheduler_flag("NOPE00000001", True),
        lambda: alice.set_scheduler_flag_v1("NOPE00000001", True),
    ):
        with pytest.raises(DeviceNotFoundError) as unknown:
            call()
        assert unknown.value.errno == 40261
        assert unknown.value.detail == "deviceSN: no inverter 'NOPE00000001'"
    with pytest.raises(UnsupportedError) as grid_tied:
        alice.set_scheduler_flag(F3, True)
    assert grid_tied.value.errno == 42015
    assert grid_tied.value.detail == "F3000 has no scheduler"
