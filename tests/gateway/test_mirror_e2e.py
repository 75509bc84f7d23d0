"""The gateway against an upstream foxden on loopback: local keys see the upstream's
inverters, reads cost the upstream one real-time call per batch per refresh, history is
backfilled and survives the upstream going down."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from foxden.client import Client, TransientError
from foxden.testing import FoxdenServer
from tests.gateway.conftest import start_gateway, wait_for

REAL_V1 = "/op/v1/device/real/query"
DAY_MS = 86_400_000


def test_local_keys_see_the_upstream_inverters_and_plants(
    upstream: FoxdenServer, tmp_path: Path
) -> None:
    gw = start_gateway(tmp_path / "gw", upstream, backfill_days=0)
    try:
        gw.mirrored()
        cloud = upstream.client()
        local = gw.client(gw.key("homeassistant"))
        other = gw.client(gw.key("optimiser"))
        want = sorted((d.deviceSN, d.stationID, d.deviceType) for d in cloud.device_list().data)
        assert len(want) == 6
        for c in (local, other):
            got = sorted((d.deviceSN, d.stationID, d.deviceType) for d in c.device_list().data)
            assert got == want
        plants = {(p.stationID, p.name, p.ianaTimezone) for p in cloud.plant_list().data}
        assert {(p.stationID, p.name, p.ianaTimezone) for p in local.plant_list().data} == plants
        sn = want[0][0]
        assert local.device_detail(sn).deviceSN == sn
        cloud.close()
    finally:
        gw.stop()


def test_real_time_answers_are_the_upstreams_values(upstream: FoxdenServer, tmp_path: Path) -> None:
    gw = start_gateway(tmp_path / "gw", upstream, backfill_days=0, refresh_s=0.5)
    try:
        gw.mirrored()
        wait_for(lambda: gw.app.poller.progress.refreshes > 0, "a real-time refresh")
        cloud = upstream.client()
        local = gw.client(gw.key("ha"))
        sns = [d.deviceSN for d in cloud.device_list().data]
        theirs = {d.deviceSN: d for d in cloud.real_time_v1(sns)}
        ours = {d.deviceSN: d for d in local.real_time_v1(sns)}
        assert ours.keys() == theirs.keys()
        for sn, device in theirs.items():
            assert ours[sn].time == device.time
            assert {v.variable: v.value for v in ours[sn].datas} == {
                v.variable: v.value for v in device.datas
            }
        cloud.close()
    finally:
        gw.stop()


def test_five_local_clients_polling_cost_one_upstream_call_per_batch_per_refresh(
    upstream: FoxdenServer, tmp_path: Path
) -> None:
    """Scaled down 10x: five clients poll every 0.2 s for 3 s against a refresh interval of
    1 s (the real case: every 2 s for 30 s against 10 s, or 300 s in production)."""
    refresh_s = 1.0
    gw = start_gateway(tmp_path / "gw", upstream, backfill_days=0, refresh_s=refresh_s)
    try:
        gw.mirrored()
        wait_for(lambda: gw.app.poller.progress.refreshes > 0, "a first refresh")
        sns = sorted(gw.app.poller.mirrored_sns())
        clients = [gw.client(gw.key(f"integration{n}")) for n in range(5)]
        before = len(upstream.requests(REAL_V1))
        answered: list[int] = []
        lock = threading.Lock()

        def poll(c: Client) -> None:
            for _ in range(15):
                got = c.real_time_v1(sns)
                with lock:
                    answered.append(len(got))
                time.sleep(0.2)

        started = time.monotonic()
        threads = [threading.Thread(target=poll, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        upstream_calls = len(upstream.requests(REAL_V1)) - before
        assert answered == [6] * 75
        # one batch (six inverters, at most 50 a call) per refresh interval, plus the one
        # that may be under way when the window opens
        assert 1 <= upstream_calls <= int(elapsed / refresh_s) + 1
        assert all(len(c["body"]["sns"]) == 6 for c in upstream.requests(REAL_V1))
    finally:
        gw.stop()


def test_history_is_backfilled_and_survives_the_upstream_going_down(
    upstream_day: FoxdenServer, tmp_path: Path
) -> None:
    upstream = upstream_day
    # two days back, so that yesterday (UTC) is mirrored whole at any hour of today
    gw = start_gateway(tmp_path / "gw", upstream, backfill_days=2, refresh_s=60)
    try:
        gw.mirrored()
        sns = sorted(gw.app.poller.mirrored_sns())
        progress = gw.app.poller.progress
        wait_for(
            lambda: 0 < progress.backfill_days_wanted <= progress.backfill_days_done,
            "the backfill",
        )
        cloud = upstream.client()
        local = gw.client(gw.key("exporter"))
        now = upstream.now_ms()
        # on whole seconds: a point is mirrored at its answer's time, to the second, so a
        # begin inside a point's second would keep the point upstream and not here
        begin, end = (now - 20 * 3_600_000) // 1000 * 1000, now // 1000 * 1000 - 1
        theirs = cloud.history(sns[0], begin, end, ["pvPower", "SoC"])
        before_down = local.history(sns[0], begin, end, ["pvPower", "SoC"])
        assert before_down == theirs
        assert len(theirs[0].datas[0].data) > 200
        # the cloud forgets the days before today; the gateway keeps them
        yesterday_end = now // DAY_MS * DAY_MS - 1
        old = (yesterday_end - 6 * 3_600_000, yesterday_end)
        kept = local.history(sns[0], *old, ["pvPower"])
        upstream.foxden.store.prune(now)
        assert all(not v.data for v in cloud.history(sns[0], *old, ["pvPower"])[0].datas)
        assert local.history(sns[0], *old, ["pvPower"]) == kept
        assert len(kept[0].datas[0].data) > 60
        cloud.close()
        upstream.stop()
        with pytest.raises(TransientError) as refused:
            local.set_battery_soc(sns[0], 15, 15)
        assert refused.value.errno == 41200
        assert "upstream" in refused.value.detail
        assert not gw.app.upstream.health.up
        assert local.history(sns[0], begin, end, ["pvPower", "SoC"]) == theirs
        real = local.real_time_v1(sns)
        assert [d.deviceSN for d in real] == sns and all(d.datas for d in real)
    finally:
        gw.stop()
