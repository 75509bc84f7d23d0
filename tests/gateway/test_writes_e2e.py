"""Writes through the gateway: checked locally, passed to the upstream, the upstream's
errno returned, what was written read back and kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from foxden.client import Client, InvalidParameterError, UnsupportedError
from foxden.protocol import structs as s
from foxden.testing import FoxdenServer
from tests.gateway.conftest import LiveGateway, start_gateway

SOC_SET = "/op/v0/device/battery/soc/set"
SOC_GET = "/op/v0/device/battery/soc/get"
SETTING_SET = "/op/v0/device/setting/set"


@pytest.fixture
def gw(upstream: FoxdenServer, tmp_path: Path) -> Iterator[LiveGateway]:
    gateway = start_gateway(tmp_path / "gw", upstream, backfill_days=0, refresh_s=60)
    gateway.mirrored()
    yield gateway
    gateway.stop()


def _hybrid(client: Client) -> str:
    return next(d.deviceSN for d in client.device_list().data if d.hasBattery)


def test_a_soc_write_reaches_the_upstream_is_read_back_and_kept(
    upstream: FoxdenServer, gw: LiveGateway
) -> None:
    local = gw.client(gw.key("optimiser"))
    cloud = upstream.client()
    sn = _hybrid(local)
    local.set_battery_soc(sn, 17, 23)
    upstream.assert_called(SOC_SET, 1, body={"sn": sn, "minSoc": 17, "minSocOnGrid": 23})
    upstream.assert_called(SOC_GET, 1, query={"sn": sn})  # the gateway's read-back
    # kept locally: the local read costs the upstream nothing
    assert local.battery_soc(sn) == s.SocSettings(minSoc=17, minSocOnGrid=23)
    upstream.assert_called(SOC_GET, 1)
    assert cloud.battery_soc(sn) == s.SocSettings(minSoc=17, minSocOnGrid=23)
    cloud.close()


def test_a_setting_write_is_kept_and_seen_by_every_local_key(
    upstream: FoxdenServer, gw: LiveGateway
) -> None:
    writer = gw.client(gw.key("writer"))
    reader = gw.client(gw.key("reader"))
    sn = _hybrid(writer)
    writer.set_setting(sn, "ExportLimit", 3000)
    cloud = upstream.client()
    assert float(cloud.setting(sn, "ExportLimit").value) == 3000
    assert float(reader.setting(sn, "ExportLimit").value) == 3000
    cloud.close()


def test_a_bad_write_is_refused_locally_and_never_reaches_the_upstream(
    upstream: FoxdenServer, gw: LiveGateway
) -> None:
    local = gw.client(gw.key("ha"))
    sn = _hybrid(local)
    with pytest.raises(InvalidParameterError) as refused:
        local.set_battery_soc(sn, 5, 23)
    assert refused.value.errno == 40257
    assert upstream.requests(SOC_SET) == []


def test_the_upstreams_refusal_comes_back_with_its_errno_and_msg(
    upstream: FoxdenServer, gw: LiveGateway
) -> None:
    local = gw.client(gw.key("ha"))
    sn = _hybrid(local)
    upstream.chaos(SETTING_SET, errno=44096, msg="Setting refused by the inverter", count=1)
    with pytest.raises(UnsupportedError) as refused:
        local.set_setting(sn, "MinSoc", 10)
    assert refused.value.errno == 44096
    assert refused.value.msg == "Setting refused by the inverter"
    upstream.assert_called(SETTING_SET, 1, errno=44096)
    # nothing kept: the local store still answers what the upstream holds
    cloud = upstream.client()
    assert local.setting(sn, "MinSoc").value == cloud.setting(sn, "MinSoc").value
    cloud.close()


def test_a_plant_deleted_through_the_gateway_is_gone_on_both_sides(
    upstream: FoxdenServer, gw: LiveGateway
) -> None:
    local = gw.client(gw.key("installer"))
    plants = [p.stationID for p in local.plant_list().data]
    assert len(plants) == 3
    local.plant_delete(plants[0])
    upstream.assert_called("/op/v0/plant/delete", 1, body={"stationID": plants[0]})
    cloud = upstream.client()
    assert [p.stationID for p in cloud.plant_list().data] == plants[1:]
    assert [p.stationID for p in local.plant_list().data] == plants[1:]
    cloud.close()
