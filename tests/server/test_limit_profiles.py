"""Limit profiles: ``cloud`` paces calls as the real cloud does, ``lenient`` and ``off`` do
not (for load tests). The wall clock is stepped by hand, so no test waits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from foxden import config
from foxden.client import Client, InvalidParameterError, RateLimitedError
from foxden.clock import FrozenClock
from foxden.limits_policy import LIMIT_PROFILES
from tests.conftest import LiveServer, start_server

H1 = "60H150E2430001A"
H3 = "60H310E2430002A"
TOO_FREQUENT = "The number of requests is too frequent. Please reduce the frequency of access"


def serve(tmp_path: Path, profile: str, **overrides: Any) -> tuple[LiveServer, FrozenClock]:
    """A live server whose wall clock (pacing, quotas, timestamp checks) stands still at
    the real time it started, so the test moves it (requests' timestamps stay in the 300 s
    window)."""
    live = start_server(tmp_path, limit_profile=profile, **overrides)
    wall = FrozenClock(time.time_ns() // 1_000_000)
    live.foxden.wall = wall
    return live, wall


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[tuple[LiveServer, FrozenClock]]:
    live, wall = serve(tmp_path, "cloud")
    yield live, wall
    live.stop()


def alice(live: LiveServer) -> Client:
    key = live.account("alice")
    live.device("alice", H1, "H1-5.0-E")
    live.device("alice", H3, "H3-10.0-E")
    return live.client(key)


def test_cloud_is_the_default_profile_and_the_setting_is_read_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The profile is a setting like the others: default, TOML, environment, flag."""
    assert config.Settings().limit_profile == "cloud"
    assert set(LIMIT_PROFILES) == {"cloud", "lenient", "off"}
    toml = tmp_path / "foxden.toml"
    toml.write_text('[foxden]\nlimit_profile = "lenient"\n', "utf-8")
    assert config.load(toml).limit_profile == "lenient"
    monkeypatch.setenv("FOXDEN_LIMIT_PROFILE", "off")
    assert config.load(toml).limit_profile == "off"
    assert config.load(toml, limit_profile="cloud").limit_profile == "cloud"
    monkeypatch.setenv("FOXDEN_LIMIT_PROFILE", "strict")
    with pytest.raises(config.ConfigError, match=r"limit_profile.*cloud, lenient, off"):
        config.load()


def test_cloud_refuses_a_second_call_to_one_path_within_a_second(
    cloud: tuple[LiveServer, FrozenClock],
) -> None:
    """Source: newer-endpoints.md section 2.5 (doc V1.1.9/V1.1.18: query interfaces once a
    second per interface) and DESIGN.md wire facts (clients keep 1 s per query path); errno
    40400 with the document's text."""
    live, wall = cloud
    client = alice(live)
    before = int(client.access_count().remaining)
    client.real_time_v1([H1])
    with pytest.raises(RateLimitedError) as info:
        client.real_time_v1([H3])
    assert info.value.errno == 40400
    assert info.value.msg == TOO_FREQUENT
    assert "/op/v1/device/real/query" in info.value.detail
    client.real_time(H1)  # another query interface is free
    bob = live.client(live.account("bob"))
    live.device("bob", "60KE82404644051", "KH8")
    bob.real_time_v1(["60KE82404644051"])  # another key is free
    wall.advance(999)
    with pytest.raises(RateLimitedError) as paced:
        client.real_time_v1([H1])  # still within the second of the accepted call
    assert paced.value.errno == 40400
    wall.advance(1)
    client.real_time_v1([H1])
    # refused calls cost no quota: two v1 and one v0 real-time queries were counted
    assert int(client.access_count().remaining) == before - 3


def test_cloud_does_not_pace_other_reads(cloud: tuple[LiveServer, FrozenClock]) -> None:
    """Source: TonyM1958/FoxESS-Cloud ``openapi.py`` (foxesscloud keeps 1 s only between
    calls to paths containing ``query``; its ``get_device`` reads device/list, detail,
    flag and generation back to back against the real cloud)."""
    live, _ = cloud
    client = alice(live)
    for _ in range(3):
        client.device_list()
        client.device_detail(H1)
        client.battery_soc(H1)
        client.access_count()


def test_lenient_does_not_pace_one_path(tmp_path: Path) -> None:
    """``lenient`` is for load tests: the same path as fast as the key's rate allows."""
    live, _ = serve(tmp_path, "lenient", rate_per_second=1000.0, rate_burst=1000)
    try:
        client = alice(live)
        for _ in range(5):
            client.real_time_v1([H1])
        client.set_battery_soc(H1, 20, 30)
        client.set_setting(H1, "MaxSoc", 90)
    finally:
        live.stop()


def test_lenient_keeps_the_key_bucket_and_off_refuses_nothing(tmp_path: Path) -> None:
    """``lenient`` keeps the per-key burst and rate; ``off`` refuses neither pace nor quota
    (calls are still counted)."""
    live, _ = serve(tmp_path / "lenient", "lenient", rate_per_second=0.001, rate_burst=2)
    try:
        client = alice(live)
        client.device_list()
        client.plant_list()
        with pytest.raises(RateLimitedError) as refused:
            client.module_list()
        assert refused.value.errno == 40400
    finally:
        live.stop()
    live, _ = serve(tmp_path / "off", "off", rate_per_second=0.001, daily_quota_per_device=1)
    try:
        client = alice(live)
        for _ in range(6):  # quota 2 (two inverters), rate 0.001/s: neither refuses
            client.device_list()
        assert client.access_count().remaining == "0"
    finally:
        live.stop()


def test_cloud_spaces_setting_writes_to_one_inverter_two_seconds(
    cloud: tuple[LiveServer, FrozenClock],
) -> None:
    """Source: newer-endpoints.md section 2.5 (update interfaces once per 2 s) and DESIGN.md
    wire facts (2 s between setting writes to one inverter): a write to the same inverter
    through another path is refused 40400; another inverter, and reads, are not."""
    live, wall = cloud
    client = alice(live)
    client.set_battery_soc(H1, 20, 30)
    with pytest.raises(RateLimitedError) as info:
        client.set_setting(H1, "MaxSoc", 90)
    assert info.value.msg == TOO_FREQUENT
    assert H1 in info.value.detail
    wall.advance(1000)  # the path's own second has passed
    client.set_setting(H3, "MaxSoc", 90)  # another inverter
    client.battery_soc(H1)  # a read of the same inverter
    wall.advance(999)
    with pytest.raises(RateLimitedError) as again:
        client.set_battery_soc(H1, 20, 30)  # 1999 ms after the accepted write
    assert H1 in again.value.detail
    wall.advance(1)
    client.set_setting(H1, "MaxSoc", 90)
    assert client.setting(H1, "MaxSoc").value == "90"


def test_cloud_write_spacing_starts_only_with_an_accepted_write(
    cloud: tuple[LiveServer, FrozenClock],
) -> None:
    """A refused write (40257) never reached the inverter, so it does not start the 2 s
    (foxden's choice where the sources are silent; docs/fidelity.md)."""
    live, _ = cloud
    client = alice(live)
    with pytest.raises(InvalidParameterError) as invalid:
        client.set_battery_soc(H1, 5, 30)
    assert invalid.value.errno == 40257
    client.set_setting(H1, "MaxSoc", 90)
