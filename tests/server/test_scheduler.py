"""Scheduler: flag, groups, every validation rule, overlaps and round trips."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from foxden.client import Client, InvalidParameterError, TimeOverlapError, UnsupportedError
from foxden.protocol import signing
from foxden.protocol import structs as s
from tests.conftest import LiveServer, raw_answer

H1 = "ALICEH1000001"


def group(**changes: Any) -> s.SchedulerGroup:
    base: dict[str, Any] = {
        "enable": 1,
        "startHour": 0,
        "startMinute": 0,
        "endHour": 5,
        "endMinute": 0,
        "workMode": "SelfUse",
        "minSocOnGrid": 10,
        "fdSoc": 90,
        "fdPwr": 3000,
    }
    base.update(changes)
    return s.SchedulerGroup(**base)


def test_flag_and_groups_default(alice: Client) -> None:
    assert alice.scheduler_flag(H1) == s.SchedulerFlag(support=1, enable=0)
    info = alice.scheduler(H1)
    assert info.enable == 0
    assert len(info.groups) == 8
    assert {g.workMode for g in info.groups} == {"Invalid"}
    assert info.properties["fdpwr"].range == s.PropertyRange(min=0, max=5000)
    assert info.properties["workmode"].enumList == [
        "SelfUse",
        "Feedin",
        "Backup",
        "ForceCharge",
        "ForceDischarge",
    ]


def test_grid_tied_has_no_scheduler(alice: Client) -> None:
    assert alice.scheduler_flag("ALICEF3000001") == s.SchedulerFlag(support=0, enable=0)
    for call in (
        lambda: alice.scheduler("ALICEF3000001"),
        lambda: alice.set_scheduler_flag("ALICEF3000001", True),
        lambda: alice.set_scheduler("ALICEF3000001", [group()]),
    ):
        with pytest.raises(UnsupportedError) as info:
            call()
        assert info.value.errno == 42015


def test_set_flag_reads_back(alice: Client) -> None:
    alice.set_scheduler_flag(H1, True)
    assert alice.scheduler_flag(H1).enable == 1
    alice.set_scheduler_flag(H1, False)
    assert alice.scheduler_flag(H1).enable == 0


def test_the_sample_clients_set_path_works(live: LiveServer, alice: Client) -> None:
    key = alice.api_key
    path = "/op/v0/device/scheduler/set"
    headers = signing.headers(path, key, int(__import__("time").time() * 1000))
    body = httpx.post(live.url + path, headers=headers, json={"deviceSN": H1, "enable": 1}).json()
    assert body["errno"] == 0
    assert alice.scheduler_flag(H1).enable == 1


def test_vendor_example_groups_round_trip(alice: Client) -> None:
    groups = [
        group(),
        group(startHour=6, endHour=17, workMode="Feedin"),
        group(
            enable=0,
            startHour=3,
            startMinute=2,
            endHour=4,
            endMinute=1,
            workMode="ForceCharge",
            minSocOnGrid=22,
            fdSoc=0,
            fdPwr=0,
        ),
    ]
    alice.set_scheduler(H1, groups)
    info = alice.scheduler(H1)
    assert info.enable == 1
    got = [msgspec.to_builtins(g) for g in info.groups[:3]]
    sent = [{**msgspec.to_builtins(g), "maxSoc": 100} for g in groups]
    assert got == sent
    assert [g.workMode for g in info.groups[3:]] == ["Invalid"] * 5
    # a client that sends back what it read (8 groups, unused ones Invalid) is accepted
    again = [s.SchedulerGroup(**msgspec.to_builtins(g)) for g in info.groups]
    alice.set_scheduler(H1, again)
    assert alice.scheduler(H1).groups == info.groups


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"enable": 2}, "groups[0].enable"),
        ({"startHour": 24}, "groups[0].startHour"),
        ({"endMinute": 60}, "groups[0].endMinute"),
        ({"workMode": "Turbo"}, "groups[0].workMode"),
        ({"workMode": "PeakShaving"}, "groups[0].workMode"),
        ({"minSocOnGrid": 9}, "groups[0].minSocOnGrid"),
        ({"minSocOnGrid": 101}, "groups[0].minSocOnGrid"),
        ({"minSocOnGrid": 50, "fdSoc": 40}, "groups[0].fdSoc"),
        ({"fdSoc": 101}, "groups[0].fdSoc"),
        ({"fdPwr": 5001}, "groups[0].fdPwr"),
        ({"fdPwr": -1}, "groups[0].fdPwr"),
        ({"startHour": 5, "endHour": 5}, "groups[0].endHour"),
        ({"startHour": 6, "endHour": 5}, "groups[0].endHour"),
        ({"maxSoc": 5}, "groups[0].maxSoc"),
    ],
)
def test_each_group_rule_names_the_field(
    live: LiveServer, alice: Client, changes: dict[str, Any], field: str
) -> None:
    body = {"deviceSN": H1, "groups": [{**msgspec.to_builtins(group()), **changes}]}
    path = "/op/v0/device/scheduler/enable"
    headers = signing.headers(path, alice.api_key, int(__import__("time").time() * 1000))
    answer = raw_answer(httpx.post(live.url + path, headers=headers, json=body))
    assert answer["errno"] == 40257, answer
    assert field in answer.detail
    assert alice.scheduler(H1).enable == 0  # nothing was written


def test_peak_shaving_is_a_kh_mode(bob: Client) -> None:
    bob.set_scheduler("BOBKH80000001", [group(workMode="PeakShaving", fdPwr=8000)])
    assert bob.scheduler("BOBKH80000001").groups[0].workMode == "PeakShaving"


def test_unknown_group_field_is_refused(live: LiveServer, alice: Client) -> None:
    body = {"deviceSN": H1, "groups": [{**msgspec.to_builtins(group()), "colour": "red"}]}
    path = "/op/v0/device/scheduler/enable"
    headers = signing.headers(path, alice.api_key, int(__import__("time").time() * 1000))
    answer = raw_answer(httpx.post(live.url + path, headers=headers, json=body))
    assert answer["errno"] == 40257
    assert "groups[0].colour" in answer.detail


def test_at_most_eight_groups(alice: Client) -> None:
    groups = [group(startHour=h, endHour=h, endMinute=30) for h in range(9)]
    with pytest.raises(InvalidParameterError) as info:
        alice.set_scheduler(H1, groups)
    assert "groups" in info.value.detail


def test_overlapping_groups(alice: Client) -> None:
    with pytest.raises(TimeOverlapError) as info:
        alice.set_scheduler(H1, [group(endHour=6), group(startHour=6, endHour=8)])
    assert info.value.errno == 42023
    assert "groups[0] and groups[1]" in info.value.detail
    # touching minutes are fine, and disabled groups never overlap
    alice.set_scheduler(
        H1, [group(endHour=5, endMinute=59), group(startHour=6, endHour=8), group(enable=0)]
    )


def test_work_mode_setting_refused_while_scheduler_on(alice: Client) -> None:
    alice.set_scheduler(H1, [group()])
    with pytest.raises(UnsupportedError) as info:
        alice.set_setting(H1, "WorkMode", "Feedin")
    assert info.value.errno == 44096
    alice.set_scheduler_flag(H1, False)
    alice.set_setting(H1, "WorkMode", "Feedin")
    assert alice.setting(H1, "WorkMode").value == "Feedin"


def test_another_accounts_device_is_unknown(alice: Client, bob: Client) -> None:
    with pytest.raises(Exception) as mine:
        bob.scheduler("NOSUCHDEVICE1")
    with pytest.raises(Exception) as theirs:
        bob.scheduler(H1)
    assert type(mine.value) is type(theirs.value)
    assert str(mine.value).replace("NOSUCHDEVICE1", "X") == str(theirs.value).replace(H1, "X")
