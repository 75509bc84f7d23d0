"""Restricted local keys, the status view, /metrics, and stale real-time data in the
journal while the upstream is down."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from foxden.client import DeviceNotFoundError
from foxden.gateway.access import access_path, restrict
from foxden.server.journal import Query
from foxden.testing import FoxdenServer
from tests.gateway.conftest import ADMIN, start_gateway, wait_for

REAL_V1 = "/op/v1/device/real/query"


def test_an_operator_restricts_a_key_to_some_inverters(
    upstream: FoxdenServer, tmp_path: Path
) -> None:
    gw = start_gateway(tmp_path / "gw", upstream, backfill_days=0, refresh_s=60)
    try:
        gw.mirrored()
        everyone = gw.client(gw.key("ha"))
        limited = gw.client(gw.key("optimiser"))
        devices = everyone.device_list().data
        assert len(devices) == 6
        mine = devices[0]
        restrict(access_path(gw.data_dir), "optimiser", [mine.deviceSN])
        assert [d.deviceSN for d in limited.device_list().data] == [mine.deviceSN]
        assert [p.stationID for p in limited.plant_list().data] == [mine.stationID]
        assert [m.moduleSN for m in limited.module_list().data] == [mine.moduleSN]
        others = [d.deviceSN for d in devices[1:]]
        with pytest.raises(DeviceNotFoundError) as hidden:
            limited.device_detail(others[0])
        assert hidden.value.errno == 40261
        real = limited.real_time_v1([mine.deviceSN, *others])
        assert [d.deviceSN for d in real] == [mine.deviceSN]
        assert len(everyone.device_list().data) == 6
        restrict(access_path(gw.data_dir), "optimiser", [])
        assert len(limited.device_list().data) == 6
    finally:
        gw.stop()


def test_status_view_and_metrics_show_the_budget_and_stale_real_time(
    upstream: FoxdenServer, tmp_path: Path
) -> None:
    gw = start_gateway(tmp_path / "gw", upstream, backfill_days=0, refresh_s=0.3)
    try:
        gw.mirrored()
        wait_for(lambda: gw.app.poller.progress.refreshes > 0, "a refresh")
        view = httpx.get(gw.url + "/admin/gateway", headers={"X-Admin-Token": ADMIN}).json()
        assert view["upstream"]["up"] is True
        assert view["budget"]["quota"] == 6 * 1440
        assert view["budget"]["batches"] == 1
        assert view["mirror"]["inverters"] == 6
        assert view["mirror"]["stale_s"] == 0
        assert httpx.get(gw.url + "/admin/gateway").status_code == 401
        local = gw.client(gw.key("ha"))
        sns = gw.app.poller.mirrored_sns()
        fresh = local.real_time_v1(sns)
        upstream.stop()
        wait_for(lambda: gw.app.poller.stale_s() > 0, "the real-time data to go stale")
        assert local.real_time_v1(sns) == fresh  # same answer, same shape
        last = gw.app.journal.query(Query(path=REAL_V1, limit=1))[0]
        assert last["errno"] == 0
        assert last["detail"].startswith("real-time data is ")
        metrics = httpx.get(gw.url + "/metrics").text
        assert "foxden_gateway_upstream_up 0.0" in metrics
        assert 'foxden_gateway_budget{part="quota"} 8640.0' in metrics
        stale = next(
            line
            for line in metrics.splitlines()
            if line.startswith("foxden_gateway_realtime_stale")
        )
        assert float(stale.split()[-1]) > 0
    finally:
        gw.stop()
