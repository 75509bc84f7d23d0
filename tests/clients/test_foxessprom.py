"""andrewjw's ``foxessprom`` (PyPI), the Prometheus exporter, unmodified, against a real
foxden server with the demo fleet on loopback.

It is configured as a user configures it: the API key on its command line
(``--cloud-api-key``) and, since it has no option for the host, the base URL in the one
place its code keeps it (``foxessprom.cloud.request.DOMAIN``). Its own code lists the
devices, queries each one's real-time data and renders the metrics it would serve.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from foxden.client import Client
from foxden.clock import RealClock
from foxden.config import Settings
from foxden.demo import seed_demo
from foxden.server.app import FoxdenApp
from foxden.sim.clock import SimClock
from foxden.sim.runner import FleetRunner
from foxden.store import open_store, url_for
from tests.conftest import serve_in_thread

pytest.importorskip("foxessprom.cloud")

ADMIN = "foxessprom-admin-token"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, str, list[str]]]:
    """A server with the demo fleet (one sample taken): its URL, the demo key and the demo
    inverters' serials."""
    store = open_store(url_for(tmp_path))
    now = RealClock().now_ms()
    key = seed_demo(store, tmp_path, now)
    assert key is not None
    clock = SimClock(start_ms=now, speed=0)
    runner = FleetRunner(store, clock, 0)
    settings = Settings(data_dir=str(tmp_path), limit_profile="lenient", speed=0.0)
    foxden = FoxdenApp(settings, store, clock, runner, ADMIN)
    url, server, thread = serve_in_thread(foxden.app)
    step = httpx.post(url + "/admin/step", headers={"Authorization": f"Bearer {ADMIN}"})
    assert step.status_code == 200, step.text
    sns = sorted(d.sn for d, _ in store.all_devices())
    yield url, key, sns
    server.should_exit = True
    thread.join(timeout=10)


def test_foxessprom_exports_every_demo_inverter(
    demo: tuple[str, str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """device/list and v0 real/query (``{"sn": ..., "variables": []}``) through
    foxessprom's own code; every demo inverter comes out as Prometheus metrics with
    foxden's latest values."""
    from foxessprom import arguments
    from foxessprom.cloud import request
    from foxessprom.cloud.devices import Devices
    from foxessprom.combined_metrics import CombinedMetrics

    url, key, sns = demo
    monkeypatch.setattr(request, "DOMAIN", url)
    args = arguments.get_arguments(["--cloud-api-key", key])
    devices = Devices(args)
    assert sorted(d.deviceSN for d in devices) == sns
    exported: dict[str, dict[str, float]] = {}
    for device in devices:
        loaded = device.get_metrics(block=True)
        assert loaded is not None, device.deviceSN
        metrics = CombinedMetrics(loaded, None).get_prometheus_metrics()
        exported[device.deviceSN] = {name: value for name, value, _ in metrics}
    assert sorted(exported) == sns
    with Client(key, url) as ours:
        latest = {r.deviceSN: r for r in ours.real_time_v1(sns)}
    for sn, metrics in exported.items():
        values = {d.variable: d.value for d in latest[sn].datas}
        numeric = {k: v for k, v in values.items() if isinstance(v, float | int)}
        assert metrics["pvPower"] == values["pvPower"], sn
        assert metrics["loadsPower"] == values["loadsPower"], sn
        assert ("SoC" in metrics) == ("SoC" in values), sn
        assert metrics.get("SoC") == values.get("SoC"), sn
        assert metrics["last_update"] > 0
        # foxessprom drops the status variables and exports every other number
        assert set(numeric) - set(metrics) <= {"runningState", "currentFaultCount"}, sn
