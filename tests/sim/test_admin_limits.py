"""Admin inputs are bounded: a refused request answers 400 with a message naming the input
and leaves the clock as it was; moving far ahead runs as a cancellable background job."""

from __future__ import annotations

import time
from typing import Any

import pytest

from foxden.server.admin import CLOCK_MAX_MS, SPAN_MAX_MS
from tests.sim.conftest import HOUR_MS, LONDON, SimServer, Site, StartSim, local_ms

NOON = local_ms(LONDON.zone, 2026, 6, 21, 12)
DAY_MS = 24 * HOUR_MS
SN = "LIMH150000001"
DEVICES: list[tuple[str, str, Site]] = [(SN, "H1-5.0-E", LONDON)]


def still_works(server: SimServer, at: int) -> None:
    """The clock reads ``at`` and the API answers history from it."""
    assert server.admin.get("/admin/clock").json()["now_ms"] == at
    client = server.client()
    (device,) = client.history(SN, at - HOUR_MS, at)
    assert device.deviceSN == SN


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("/admin/clock", {"speed": 1e308}, "speed"),
        ("/admin/clock", {"speed": 86_401}, "speed"),
        ("/admin/clock", {"now_ms": -1}, "now_ms"),
        ("/admin/clock", {"now_ms": 2**62}, "now_ms"),
        ("/admin/clock", {"advance_ms": 10**18}, "advance_ms"),
        ("/admin/clock", {"advance_ms": SPAN_MAX_MS + 1}, "advance_ms"),
        ("/admin/clock", {"now_ms": CLOCK_MAX_MS, "advance_ms": 1}, "clock"),
        ("/admin/clock", {"now_ms": NOON + SPAN_MAX_MS + DAY_MS}, "366 days"),
        ("/admin/seed", {"seed": 1, "backfill_days": 1e308}, "backfill_days"),
        ("/admin/seed", {"seed": 1, "backfill_days": -1}, "backfill_days"),
        ("/admin/seed", {"seed": -1}, "seed"),
        ("/admin/seed", {"seed": 2**64}, "seed"),
        ("/admin/reset", {"seed": 0, "backfill_days": 400}, "backfill_days"),
        ("/admin/faults", {"sn": SN, "code": 26, "duration_ms": 10**18}, "duration_ms"),
    ],
)
def test_out_of_range_admin_input_is_refused_and_changes_nothing(
    sim: StartSim, path: str, body: dict[str, Any], named: str
) -> None:
    server = sim(NOON, DEVICES)
    response = server.post(path, body)
    assert response.status_code == 400, response.text
    assert named in response.json()["error"]
    assert server.clock.speed == 0.0
    still_works(server, NOON)


def wait_job(server: SimServer, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = server.admin.get("/admin/jobs/current").json()["job"]
        if job["state"] != "running" or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def test_far_advance_runs_as_a_job_with_progress(sim: StartSim) -> None:
    server = sim(NOON, DEVICES)
    response = server.post("/admin/clock", {"advance_ms": 9 * DAY_MS})
    assert response.status_code == 202
    started = response.json()
    assert started["job"]["kind"] == "advance" and started["job"]["state"] == "running"
    assert started["now_ms"] == NOON + 9 * DAY_MS
    busy = server.post("/admin/clock", {"advance_ms": HOUR_MS})
    assert busy.status_code in (409, 200)  # 200 only if the job was already done
    job = wait_job(server)
    assert job["state"] == "done" and job["days_done"] == job["days_total"] >= 9
    assert job["samples"] >= 9 * 280
    now = server.admin.get("/admin/clock").json()["now_ms"]
    assert now >= NOON + 9 * DAY_MS
    assert server.runner.state is not None and int(server.runner.state.last_ms.max()) <= now


def test_a_cancelled_job_leaves_the_clock_at_the_simulated_instant(sim: StartSim) -> None:
    server = sim(NOON, DEVICES)
    response = server.post("/admin/clock", {"advance_ms": 300 * DAY_MS})
    assert response.status_code == 202
    time.sleep(0.3)
    cancelled = server.admin.delete("/admin/jobs/current")
    assert cancelled.status_code == 200
    job = cancelled.json()["job"]
    assert job["state"] == "cancelled" and job["days_done"] < job["days_total"]
    assert server.admin.delete("/admin/jobs/current").status_code == 404
    assert server.runner.state is not None
    simulated = int(server.runner.state.last_ms.max())
    assert NOON < simulated < NOON + 300 * DAY_MS
    still_works(server, simulated)
    # the fleet goes on from there
    assert server.ok("/admin/clock", {"advance_ms": HOUR_MS})["samples"] >= 11


def test_a_long_backfill_runs_as_a_job(sim: StartSim) -> None:
    server = sim(NOON, DEVICES, first_step=False)
    response = server.post("/admin/seed", {"seed": 3, "backfill_days": 8})
    assert response.status_code == 202 and response.json()["job"]["kind"] == "backfill"
    job = wait_job(server)
    assert job["state"] == "done" and job["samples"] >= 8 * 280
    still_works(server, NOON)
