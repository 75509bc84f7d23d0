"""``GET /metrics`` (Prometheus text) and the access log, over loopback."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from foxden.clock import RealClock
from foxden.protocol import signing
from tests.server.test_chaos import SOC, A, Double
from tests.sim.conftest import LONDON, Site, local_ms, start_sim


def samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def test_requests_latency_and_quota(tmp_path: Path) -> None:
    double = Double(tmp_path, daily_quota_per_device=100)
    try:
        for _ in range(3):
            double.client.battery_soc(A)
        headers = signing.headers(SOC, double.key, RealClock().now_ms())
        httpx.get(double.url + SOC, params={"sn": "NOSUCH"}, headers=headers)
        double.rule({"match": {"path": SOC}, "drop": True, "count": 1})
        with pytest.raises(httpx.RemoteProtocolError):
            headers = signing.headers(SOC, double.key, RealClock().now_ms())
            httpx.get(double.url + SOC, params={"sn": A}, headers=headers)
        got = samples(double.url)
        assert got[("foxden_requests_total", (("errno", "0"), ("path", SOC)))] == 3
        assert got[("foxden_requests_total", (("errno", "40261"), ("path", SOC)))] == 1
        assert got[("foxden_requests_total", (("errno", "none"), ("path", SOC)))] == 1
        assert got[("foxden_request_duration_seconds_count", (("path", SOC),))] == 5
        assert got[("foxden_request_duration_seconds_bucket", (("le", "+Inf"), ("path", SOC)))] == 5
        assert got[("foxden_quota_used", (("account", "alice"),))] == 5
        assert got[("foxden_quota_total", (("account", "alice"),))] == 200
        assert got[("foxden_quota_used", (("account", "bob"),))] == 0
        assert got[("foxden_samples_stored_total", ())] == 0
    finally:
        double.stop()


def test_fleet_steps_and_samples(tmp_path: Path) -> None:
    devices: list[tuple[str, str, Site]] = [("METRICSH10001", "H1-5.0-E", LONDON)]
    server = start_sim(tmp_path, local_ms(LONDON.zone, 2026, 6, 21, 12), devices)
    try:
        check_fleet_metrics(server.url, server.advance)
    finally:
        server.stop()


def check_fleet_metrics(url: str, advance: Callable[[int], int]) -> None:
    server_url = url
    first = samples(server_url)
    stored = advance(3_600_000)
    got = samples(server_url)
    assert stored >= 11
    assert (
        got[("foxden_samples_stored_total", ())]
        == first[("foxden_samples_stored_total", ())] + stored
    )
    steps = got[("foxden_fleet_step_duration_seconds_count", ())]
    assert steps > first[("foxden_fleet_step_duration_seconds_count", ())]
    assert got[("foxden_fleet_step_duration_seconds_sum", ())] > 0
    # a second on, before the next 5-minute sample: nothing simulated, no step counted
    assert advance(1000) == 0
    assert samples(server_url)[("foxden_fleet_step_duration_seconds_count", ())] == steps


def test_one_json_access_log_line_per_call(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    double = Double(tmp_path)
    try:
        with caplog.at_level(logging.INFO, logger="foxden.access"):
            double.client.battery_soc(A)
            double.client.device_list()
        lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "foxden.access"]
        assert [(x["method"], x["path"], x["errno"], x["status"]) for x in lines] == [
            ("GET", SOC, 0, 200),
            ("POST", "/op/v0/device/list", 0, 200),
        ]
        assert lines[0]["account"] == "alice" and lines[0]["query"] == f"sn={A}"
        assert lines[0]["latency_ms"] > 0 and lines[0]["chaos"] is None
    finally:
        double.stop()


def test_call_counts_read_as_prometheus_clients_own_counter_and_histogram() -> None:
    """The calls are counted in plain integers; /metrics shows them exactly as the
    library's labelled Counter and Histogram would (bucket edges included), created
    times aside."""
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    from foxden.server.journal import Exchange
    from foxden.server.metrics import LATENCY_BUCKETS, Metrics

    registry = CollectorRegistry()
    counter = Counter(
        "foxden_requests",
        "Open API calls by path and errno (errno none: no envelope was sent)",
        ["path", "errno"],
        registry=registry,
    )
    histogram = Histogram(
        "foxden_request_duration_seconds",
        "Time from a call's arrival to its answer, by path",
        ["path"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    metrics = Metrics(lambda: [], log_calls=False)
    calls = [("/op/a", 0, 0.5), ("/op/a", 40257, 2.0), ("/op/b", None, 700.0), ("/op/a", 0, 0.25)]
    calls += [("/op/b", 0, 1000.0 * b) for b in LATENCY_BUCKETS] + [("/op/b", 0, 20_000.0)]
    for path, errno, latency_ms in calls:
        call = Exchange(1, "GET", path, "", 0.0)
        call.errno, call.latency_ms = errno, latency_ms
        metrics.observe(call)
        counter.labels(path, "none" if errno is None else str(errno)).inc()
        histogram.labels(path).observe(latency_ms / 1000)

    def lines(text: bytes) -> list[str]:
        return [
            line
            for line in text.decode().splitlines()
            if "_created" not in line
            and "fleet" not in line
            and "samples" not in line
            and "foxden_gc_" not in line  # the process's collector (tests/server/test_heap.py)
        ]

    ours = [line for line in lines(metrics.render()) if "quota" not in line]
    assert ours == lines(generate_latest(registry))
    assert 'foxden_request_duration_seconds_bucket{le="0.0005",path="/op/b"} 1.0' in ours
