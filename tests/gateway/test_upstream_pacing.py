"""The upstream door keeps the cloud's pacing: an upstream under the ``cloud`` limit profile
(one call a second per query path, one write per inverter every two seconds) never has to
refuse the gateway with 40400."""

from __future__ import annotations

import asyncio
from pathlib import Path

from foxden.client import calls
from foxden.gateway.budget import Budget
from foxden.gateway.upstream import Backoff, Upstream, UpstreamUnavailable
from foxden.testing import start_server

REAL_V1 = "/op/v1/device/real/query"
SOC_SET = "/op/v0/device/battery/soc/set"


def test_back_to_back_calls_are_paced_and_the_cloud_refuses_none(tmp_path: Path) -> None:
    cloud = start_server(tmp_path / "cloud", limit_profile="cloud", backfill_days=1 / 24)
    try:
        with cloud.client() as direct:
            sns = [d.deviceSN for d in direct.device_list().data]
            hybrid = next(d.deviceSN for d in direct.device_list().data if d.hasBattery)

        async def run() -> None:
            budget = Budget()
            budget.inverters = len(sns)
            up = Upstream(cloud.base_url, cloud.api_key, budget)
            try:
                for _ in range(3):
                    got = await up.call("realtime", calls.real_time_v1(sns))
                    assert len(got) == 6
                await up.call("write", calls.set_battery_soc(hybrid, 15, 15))
                await up.call("write", calls.set_battery_soc(hybrid, 16, 16))
            finally:
                await up.aclose()
            assert up.counts.by_path[REAL_V1] == 3
            assert budget.spent(up.clock.now_ms())["realtime"] == 3

        asyncio.run(run())
        assert [c["errno"] for c in cloud.requests(REAL_V1)] == [0, 0, 0]
        assert [c["errno"] for c in cloud.requests(SOC_SET)] == [0, 0]
        assert cloud.requests(errno=40400) == []
    finally:
        cloud.stop()


def test_a_down_upstream_is_not_called_again_before_its_backoff(tmp_path: Path) -> None:
    async def run() -> None:
        budget = Budget()
        budget.inverters = 1
        up = Upstream(
            "http://127.0.0.1:9", "key", budget, backoff=Backoff(base_s=60, cap_s=60, rng=lambda: 1)
        )
        try:
            try:
                await up.call("realtime", calls.real_time_v1(["SN000001"]))
            except UpstreamUnavailable:
                raise AssertionError("the first call must be sent") from None
            except Exception:
                pass
            assert not up.health.up
            assert up.health.next_try_ms - up.clock.now_ms() > 50_000
            sent = up.counts.total
            try:
                await up.call("realtime", calls.real_time_v1(["SN000001"]))
            except UpstreamUnavailable as exc:
                assert "next try in" in exc.reason
            else:
                raise AssertionError("a call in backoff must not be sent")
            assert up.counts.total == sent
            assert up.counts.skipped_in_backoff == 1
        finally:
            await up.aclose()

    asyncio.run(run())
