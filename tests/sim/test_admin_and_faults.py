"""The admin API (clock, step, faults, seed, reset) and its token, the fault commands of
the CLI, and time zones: a London plant's samples across the spring DST change."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from typer.testing import CliRunner

from foxden.cli.main import app
from foxden.client import Client
from foxden.protocol import catalogue
from foxden.sim import engine, pv
from foxden.sim.clock import SimClock
from foxden.sim.runner import FleetRunner
from foxden.store import Store, open_store, url_for
from tests.sim.conftest import (
    ADMIN_TOKEN,
    HOUR_MS,
    LONDON,
    MINUTE_MS,
    SimServer,
    Site,
    StartSim,
    history,
    local_ms,
    memory_store,
    populate,
    real_time,
)

NOON = local_ms(LONDON.zone, 2026, 6, 21, 12)  # 2026-06-21 12:00 BST
H1, F3 = "ADMH150000001", "ADMF300000001"
DEVICES: list[tuple[str, str, Site]] = [(H1, "H1-5.0-E", LONDON), (F3, "F3000", LONDON)]
FAULT = 26  # Grid Voltage Fault
UNKNOWN_FAULT = 9_999_999

ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/admin/clock", None),
    ("POST", "/admin/clock", {"advance_ms": 60_000}),
    ("POST", "/admin/step", None),
    ("POST", "/admin/faults", {"sn": H1, "code": FAULT}),
    ("DELETE", f"/admin/faults/{H1}", None),
    ("POST", "/admin/reset", None),
    ("POST", "/admin/seed", {"seed": 1}),
]


def status_of(client: Client, sn: str) -> int:
    return next(d.status for d in client.device_list().data if d.deviceSN == sn)


# ---------------------------------------------------------------- token


def test_admin_api_needs_the_token(sim: StartSim) -> None:
    server = sim(NOON, DEVICES)
    for method, path, body in ROUTES:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Bearer {ADMIN_TOKEN}x"},
            {"X-Admin-Token": "wrong"},
            {"Authorization": ADMIN_TOKEN[:-1]},
        ):
            response = httpx.request(method, server.url + path, json=body, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert "error" in response.json()
    assert server.clock.now_ms() == NOON, "nothing happened without the token"
    assert server.store.settings(H1).get("fault", 0) == 0
    for headers in ({"Authorization": f"Bearer {ADMIN_TOKEN}"}, {"X-Admin-Token": ADMIN_TOKEN}):
        response = httpx.get(server.url + "/admin/clock", headers=headers)
        assert response.status_code == 200
        assert response.json() == {"now_ms": NOON, "speed": 0.0}


# ---------------------------------------------------------------- clock and step


def test_clock_get_set_speed_and_advance(sim: StartSim) -> None:
    server = sim(NOON, DEVICES)
    assert server.admin.get("/admin/clock").json() == {"now_ms": NOON, "speed": 0.0}
    moved = server.ok("/admin/clock", {"advance_ms": 10 * MINUTE_MS})
    assert moved["now_ms"] == NOON + 10 * MINUTE_MS and moved["speed"] == 0
    assert 2 <= moved["samples"] <= 6  # two inverters, about one sample per 5 minutes each
    for bad in ({"advance_ms": -1}, {"speed": -0.5}, {"bogus": 1}, {"now_ms": "soon"}):
        response = server.post("/admin/clock", bad)
        assert response.status_code == 400, bad
        assert "error" in response.json()
    assert server.clock.now_ms() == NOON + 10 * MINUTE_MS, "a refused change changes nothing"
    later = NOON + 2 * HOUR_MS
    answer = server.ok("/admin/clock", {"now_ms": later})
    assert answer["now_ms"] == later and answer["samples"] >= 40
    # frozen: it stays put in real time
    time.sleep(0.05)
    assert server.admin.get("/admin/clock").json()["now_ms"] == later
    # running: 3600 simulated seconds per real second
    assert server.ok("/admin/clock", {"speed": 3600})["speed"] == 3600
    time.sleep(0.3)
    running = server.admin.get("/admin/clock").json()
    assert running["speed"] == 3600 and running["now_ms"] - later >= 0.25 * 3_600_000
    stopped = server.ok("/admin/clock", {"speed": 0})
    time.sleep(0.05)
    assert server.admin.get("/admin/clock").json() == {"now_ms": stopped["now_ms"], "speed": 0.0}


def test_step_brings_the_fleet_up_to_the_clock(sim: StartSim) -> None:
    server = sim(NOON, DEVICES)
    client = server.client()
    server.clock.advance(HOUR_MS)  # moved behind the API's back: nothing simulated yet
    before = history(client, H1, NOON, NOON + HOUR_MS, ["pvPower"])
    assert len(before["pvPower"]) <= 1
    step = server.ok("/admin/step")
    assert step["now_ms"] == NOON + HOUR_MS and 22 <= step["samples"] <= 26
    after = history(client, H1, NOON, NOON + HOUR_MS, ["pvPower"])
    assert 11 <= len(after["pvPower"]) <= 13
    assert server.ok("/admin/step")["samples"] == 0, "nothing more until the clock moves"


# ---------------------------------------------------------------- faults


def test_fault_injected_and_cleared_through_admin(sim: StartSim) -> None:
    server = sim(NOON, DEVICES)
    client = server.client()
    assert status_of(client, H1) == 1
    assert server.ok("/admin/faults", {"sn": H1, "code": FAULT}) == {"sn": H1, "fault": FAULT}
    assert status_of(client, H1) == 2 and status_of(client, F3) == 1
    server.advance(15 * MINUTE_MS)
    now = real_time(client, H1)
    assert now["runningState"] == "165"
    assert now["currentFault"] == str(FAULT)
    assert now["currentFaultCount"] == "1"
    assert now["pvPower"] == 0 and now["generationPower"] == 0
    assert now["batChargePower"] == 0 and now["batDischargePower"] == 0
    healthy = real_time(client, F3)
    assert healthy["runningState"] == "163" and healthy["currentFault"] == ""
    assert float(healthy["pvPower"]) > 0.1, "noon in June: the other one produces"
    h = history(client, H1, NOON + 1000, NOON + 15 * MINUTE_MS, ["pvPower", "runningState"])
    assert len(h["pvPower"]) >= 2 and (h["pvPower"] == 0).all()
    assert (h["runningState"] == 165).all()
    # cleared
    assert server.admin.delete(f"/admin/faults/{H1}").json() == {"sn": H1, "fault": 0}
    assert status_of(client, H1) == 1
    server.advance(15 * MINUTE_MS)
    now = real_time(client, H1)
    assert now["runningState"] == "163" and now["currentFault"] == ""
    assert now["currentFaultCount"] == "0"
    assert float(now["pvPower"]) > 0.1


def test_fault_requests_that_are_refused(sim: StartSim) -> None:
    server = sim(NOON, DEVICES)
    response = server.post("/admin/faults", {"sn": "NOSUCHDEVICE1", "code": FAULT})
    assert response.status_code == 404 and "NOSUCHDEVICE1" in response.json()["error"]
    response = server.admin.delete("/admin/faults/NOSUCHDEVICE1")
    assert response.status_code == 404
    response = server.post("/admin/faults", {"sn": H1, "code": UNKNOWN_FAULT})
    assert response.status_code == 400 and str(UNKNOWN_FAULT) in response.json()["error"]
    for bad in (
        {"sn": H1},
        {"code": FAULT},
        {"sn": H1, "code": "x"},
        {"sn": H1, "code": 1, "y": 2},
    ):
        assert server.post("/admin/faults", bad).status_code == 400, bad
    assert server.store.settings(H1).get("fault", 0) == 0
    device = server.store.device(H1)
    assert device is not None and device.status == 1


def test_a_timed_fault_ends_after_its_duration(sim: StartSim) -> None:
    server = sim(NOON, DEVICES)
    client = server.client()
    server.ok("/admin/faults", {"sn": H1, "code": FAULT, "duration_ms": 10 * MINUTE_MS})
    server.advance(5 * MINUTE_MS)
    assert real_time(client, H1)["runningState"] == "165"
    server.advance(HOUR_MS)
    assert status_of(client, H1) == 1
    assert real_time(client, H1)["runningState"] == "163"


def test_a_fault_until_cleared_after_an_expired_timed_one_stays() -> None:
    store = memory_store(DEVICES)
    runner = FleetRunner(store, SimClock(start_ms=NOON, speed=0), seed=0, random_faults=True)
    runner.run_until(NOON, start_ms=NOON - HOUR_MS)
    runner.inject(H1, FAULT, NOON + 10 * MINUTE_MS)
    runner.run_until(NOON + HOUR_MS)
    assert store.settings(H1)["fault"] == 0, "the timed fault has ended"
    runner.inject(H1, 27)  # later: a fault until cleared
    runner.run_until(NOON + 2 * HOUR_MS)
    assert store.settings(H1)["fault"] == 27
    assert store.latest([H1])[H1].values["runningState"] == 165


def test_a_timed_fault_covers_the_samples_before_its_end() -> None:
    store = memory_store(DEVICES)
    runner = FleetRunner(store, SimClock(start_ms=NOON, speed=0), seed=0, random_faults=True)
    runner.run_until(NOON, start_ms=NOON - HOUR_MS)
    runner.inject(H1, FAULT, NOON + 15 * MINUTE_MS)
    runner.run_until(NOON + HOUR_MS)
    series = store.history(H1, NOON + 1, NOON + HOUR_MS)
    state = series.values[:, series.variables.index("runningState")]
    during = series.times_ms <= NOON + 15 * MINUTE_MS
    assert during.sum() >= 2 and (~during).sum() >= 8
    assert (state[~during] == 163).all()
    assert (state[during] == 165).all()


CLI = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    result = CLI.invoke(app, list(args))
    return result.exit_code, result.output


def cli_store(data_dir: Path) -> Store:
    store = open_store(url_for(data_dir))
    populate(store, DEVICES)
    return store


def test_cli_fault_and_clear_change_the_store_like_the_admin_api(tmp_path: Path) -> None:
    store = cli_store(tmp_path)
    runner = FleetRunner(store, SimClock(start_ms=NOON, speed=0), seed=0)
    runner.run_until(NOON, start_ms=NOON - HOUR_MS)
    code, out = cli("sim", "fault", H1, str(FAULT), "--data-dir", str(tmp_path))
    assert code == 0, out
    assert f"{H1} is in fault {FAULT}" in out and catalogue.fault_text(FAULT) in out
    # the same settings and status the admin API writes
    reference = memory_store(DEVICES)
    FleetRunner(reference, SimClock(start_ms=NOON, speed=0)).inject(H1, FAULT)
    assert store.settings(H1) == reference.settings(H1) == {"fault": FAULT, "faultUntil": None}
    device = store.device(H1)
    assert device is not None and device.status == 2
    # and the fleet honours it at its next samples
    runner.run_until(NOON + 30 * MINUTE_MS)
    latest = store.latest([H1, F3])
    assert latest[H1].values["runningState"] == 165
    assert latest[H1].values["currentFault"] == FAULT
    assert latest[H1].values["currentFaultCount"] == 1
    assert latest[H1].values["pvPower"] == 0
    assert latest[F3].values["runningState"] == 163 and latest[F3].values["pvPower"] > 0.1
    code, out = cli("sim", "clear", H1, "--data-dir", str(tmp_path))
    assert code == 0 and f"{H1} has no fault" in out
    FleetRunner(reference, SimClock(start_ms=NOON, speed=0)).clear(H1)
    assert store.settings(H1) == reference.settings(H1) == {"fault": 0, "faultUntil": None}
    device = store.device(H1)
    assert device is not None and device.status == 1
    runner.run_until(NOON + HOUR_MS)
    latest = store.latest([H1])
    assert latest[H1].values["runningState"] == 163 and latest[H1].values["pvPower"] > 0.1


def test_cli_fault_refuses_unknown_devices_and_codes(tmp_path: Path) -> None:
    store = cli_store(tmp_path)
    code, out = cli("sim", "fault", H1, str(UNKNOWN_FAULT), "--data-dir", str(tmp_path))
    assert code == 1 and "unknown fault code" in out
    code, out = cli("sim", "fault", "NOSUCHDEVICE1", str(FAULT), "--data-dir", str(tmp_path))
    assert code == 1 and "no inverter NOSUCHDEVICE1" in out
    code, out = cli("sim", "clear", "NOSUCHDEVICE1", "--data-dir", str(tmp_path))
    assert code == 1 and "no inverter NOSUCHDEVICE1" in out
    assert store.settings(H1) == {}


# ---------------------------------------------------------------- seed and reset


def last_day(server: SimServer, client: Client) -> dict[str, Any]:
    now = server.clock.now_ms()
    h = history(client, H1, now - 24 * HOUR_MS, now, ["loadsPower", "pvPower", "SoC"])
    return {name: (h.times[name], h[name]) for name in ("loadsPower", "pvPower", "SoC")}


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(np.array_equal(a[k][0], b[k][0]) and np.array_equal(a[k][1], b[k][1]) for k in a)


def test_seed_recreates_the_data_and_reset_keeps_the_seed(sim: StartSim) -> None:
    server = sim(NOON, DEVICES)
    client = server.client()
    first = server.ok("/admin/seed", {"seed": 11, "backfill_days": 1})
    assert first["seed"] == 11 and 2 * 286 <= first["samples"] <= 2 * 290
    eleven = last_day(server, client)
    assert len(eleven["loadsPower"][1]) >= 286
    other = server.ok("/admin/seed", {"seed": 12, "backfill_days": 1})
    assert other["seed"] == 12 and server.runner.seed == 12
    twelve = last_day(server, client)
    assert not same(eleven, twelve)
    assert not np.array_equal(eleven["loadsPower"][0], twelve["loadsPower"][0])
    assert server.ok("/admin/seed", {"seed": 11, "backfill_days": 1})["seed"] == 11
    assert same(eleven, last_day(server, client)), "the same seed gives the same history"
    # reset: telemetry and faults go, the seed stays
    server.ok("/admin/faults", {"sn": H1, "code": FAULT})
    reset = server.ok("/admin/reset")
    assert reset["seed"] == 11 and reset["samples"] == 0 and server.runner.seed == 11
    assert len(last_day(server, client)["SoC"][1]) == 0
    assert server.store.settings(H1)["fault"] == 0 and status_of(client, H1) == 1
    server.advance(HOUR_MS)
    now = server.clock.now_ms()
    got = server.store.latest([H1, F3])
    assert got, "samples after the reset"
    for seed, expect_same in ((11, True), (12, False)):
        reference = memory_store(DEVICES)
        FleetRunner(reference, SimClock(start_ms=now, speed=0), seed).run_until(now)
        want = reference.latest([H1, F3])
        assert (got == want) is expect_same, seed
    # and a reset with a body takes that seed
    assert server.ok("/admin/reset", {"seed": 13})["seed"] == 13 and server.runner.seed == 13


# ---------------------------------------------------------------- time zones


def solar_noon_utc_hours(day: datetime, site: Site) -> float:
    """Minute of least zenith at ``site`` on ``day`` (UTC), in hours."""
    minutes = np.arange(9 * 60, 15 * 60, dtype=np.float64)
    unix = day.timestamp() + minutes * 60
    zenith, _ = pv.sun_position(
        unix[:, None], np.array([[site.latitude]]), np.array([[site.longitude]])
    )
    return float(minutes[int(np.argmin(zenith[:, 0]))] / 60)


def test_london_samples_switch_from_gmt_to_bst_and_pv_follows_the_sun(sim: StartSim) -> None:
    end = int(datetime(2026, 3, 31, tzinfo=UTC).timestamp() * 1000)
    server = sim(end, DEVICES, first_step=False)
    client = server.client()
    assert server.ok("/admin/seed", {"seed": 0, "backfill_days": 4})["samples"] >= 2 * 4 * 286
    change = int(datetime(2026, 3, 29, 1, tzinfo=UTC).timestamp() * 1000)
    h = history(client, H1, change - 12 * HOUR_MS, change + 12 * HOUR_MS, ["pvPower"])
    stamps, times = h.stamps["pvPower"], h.times["pvPower"]
    assert len(stamps) >= 280
    assert all(s.endswith("GMT+0000") for s, t in zip(stamps, times, strict=True) if t < change)
    assert all(s.endswith("BST+0100") for s, t in zip(stamps, times, strict=True) if t >= change)
    before = max(s for s, t in zip(stamps, times, strict=True) if t < change)
    after = min(s for s, t in zip(stamps, times, strict=True) if t >= change)
    assert before.startswith("2026-03-29 00:5") and after.startswith("2026-03-29 02:0")
    assert (np.diff(times) > 0).all() and (np.diff(times) < engine.STEP_MS + 5_000).all()
    # the PV day is centred on solar noon, in UTC the same on both sides of the change,
    # an hour later on the local clock after it
    for day in (27, 28, 29, 30):
        begin = local_ms(LONDON.zone, 2026, 3, day)
        finish = local_ms(LONDON.zone, 2026, 3, day + 1) - 1
        offset_h = 0.0 if day < 29 else 1.0
        noon = solar_noon_utc_hours(datetime(2026, 3, day, tzinfo=UTC), LONDON)
        assert 12.0 < noon < 12.2
        centres = []
        for sn in (H1, F3):
            series = history(client, sn, begin, finish, ["pvPower"])
            t, pv = series.times["pvPower"], series["pvPower"]
            local_h = (t % 86_400_000) / 3_600_000 + offset_h
            lit = local_h[pv > 0]
            # first and last light are symmetric about solar noon, whatever the clouds
            assert abs((lit.min() + lit.max()) / 2 - (noon + offset_h)) < 0.25, (day, sn)
            centres.append(float((local_h * pv).sum() / pv.sum()))
        # the energy-weighted centre of the day (two inverters, strings east and west)
        assert abs(np.mean(centres) - (noon + offset_h)) < 0.75, (day, centres)


def test_health_reports_the_fleet(sim: StartSim) -> None:
    server = sim(NOON, DEVICES)
    answer = server.admin.get("/health")
    assert answer.status_code == 200
    fleet = answer.json()["fleet"]
    assert fleet == {
        "simulated": True,
        "inverters": len(DEVICES),
        "speed": 0.0,
        "frozen": True,
        "now_ms": NOON,
    }
