"""Scenario files: checking with line-precise errors, loading into a live server, and a
round trip through snapshot and restore."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from foxden import scenario
from foxden.cli.main import app
from foxden.client import Client, RetryPolicy
from foxden.client import errors as ce
from foxden.client.admin import AdminError
from foxden.testing import start_server

EXAMPLE = """\
start = "2026-06-21T10:00:00+02:00"
speed = 0
seed = 1
[[account]]
name = "ci"
key = "0123456789abcdef0123456789abcdef"
[[account.plant]]
name = "Casa Madrid"
timezone = "Europe/Madrid"
latitude = 40.42
longitude = -3.70
pv_kwp = 6.0
[[account.plant.inverter]]
sn = "60H1600000000X1"
model = "H1-6.0-E"
battery_kwh = 10.4
soc = 55
"""
SN = "60H1600000000X1"
KEY = "0123456789abcdef0123456789abcdef"
START = int(datetime.fromisoformat("2026-06-21T10:00:00+02:00").timestamp() * 1000)
FULL = (
    EXAMPLE
    + """\
settings = { WorkMode = "SelfUse", MinSoc = 15, MinSocOnGrid = 20 }
schedule = [ { startHour = 2, startMinute = 0, endHour = 5, endMinute = 0, \
workMode = "ForceCharge", minSocOnGrid = 10, fdSoc = 90, fdPwr = 3000 } ]
[[account.plant.inverter]]
sn = "60F3000000000X2"
model = "F3000"
[[fault]]
sn = "60F3000000000X2"
code = 26
[[chaos]]
match = { path = "/op/v0/device/battery/soc/get" }
errno = 41200
count = 1
"""
)


def write(tmp_path: Path, text: str, name: str = "fleet.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def test_the_issue_example_and_the_demo_are_valid(tmp_path: Path) -> None:
    sc = scenario.validate(write(tmp_path, EXAMPLE))
    assert sc.start_ms == START and sc.file.speed == 0 and sc.file.seed == 1
    inverter = sc.file.account[0].plant[0].inverter[0]
    assert (inverter.sn, inverter.model, inverter.battery_kwh, inverter.soc) == (
        SN,
        "H1-6.0-E",
        10.4,
        55,
    )
    demo = scenario.validate(scenario.demo_path())
    assert [p.name for p in demo.file.account[0].plant] == [
        "Cheshire Home",
        "Berlin Workshop",
        "Sydney House",
    ]


def test_errors_name_their_line(tmp_path: Path) -> None:
    text = (
        EXAMPLE.replace('timezone = "Europe/Madrid"', 'timezone = "Europe/Madird"')
        .replace("soc = 55", "soc = 155")
        .replace('model = "H1-6.0-E"', 'model = "H9"')
        + '[[fault]]\nsn = "NOPE00000001"\ncode = 26\n'
        + "[[chaos]]\nerrno = 12345\n"
    )
    with pytest.raises(scenario.ScenarioError) as caught:
        scenario.validate(write(tmp_path, text))
    problems = caught.value.problems
    assert [line for line, _ in problems] == [9, 15, 17, 19, 21]
    texts = [t for _, t in problems]
    assert texts[0].startswith("account[0].plant[0].timezone: 'Europe/Madird'")
    assert texts[1].startswith("account[0].plant[0].inverter[0].model: unknown model 'H9'")
    assert texts[2] == "account[0].plant[0].inverter[0].soc: must be from 0 to 100"
    assert texts[3] == "fault[0].sn: NOPE00000001 is not an inverter of this scenario"
    assert texts[4].startswith("chaos[0]: errno: 12345 is not in the errno table")
    # rules only the API knows (its own checks of settings and schedules) have lines too
    bad = FULL.replace("startHour = 2", "startHour = 6").replace("MinSoc = 15", "MinSoc = 5")
    with pytest.raises(scenario.ScenarioError) as caught:
        scenario.validate(write(tmp_path, bad))
    lines = [line for line, _ in caught.value.problems]
    assert lines == [18, 19], caught.value.problems
    # a TOML syntax error, a wrong type, an unknown field
    for text, line, fragment in (
        ("speed = 0\nseed = \n", 2, "not TOML"),
        ('speed = "fast"\n', 1, "speed: Expected"),
        ("[[account]]\nname = 'a'\ncolour = 'red'\n", 1, "unknown field"),
    ):
        with pytest.raises(scenario.ScenarioError) as caught:
            scenario.validate(write(tmp_path, text))
        assert caught.value.problems[0][0] == line and fragment in caught.value.problems[0][1]


def test_validate_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["scenario", "validate", str(write(tmp_path, FULL))])
    assert result.exit_code == 0
    assert "ok (1 accounts, 1 plants, 2 inverters, 1 faults, 1 chaos rules)" in result.output
    bad = write(tmp_path, EXAMPLE.replace("soc = 55", "soc = -1"), "bad.toml")
    result = CliRunner().invoke(app, ["scenario", "validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:17: account[0].plant[0].inverter[0].soc: must be from 0 to 100" in result.output
    result = CliRunner().invoke(app, ["scenario", "demo"])
    assert result.exit_code == 0 and 'name = "Cheshire Home"' in result.output


def test_a_scenario_loads_into_a_live_server(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", write(tmp_path, FULL))
    try:
        assert server.api_key == KEY and server.now_ms() == START
        client = server.client()
        devices = {d.deviceSN: d for d in client.device_list().data}
        assert devices[SN].status == 1 and devices["60F3000000000X2"].status == 2
        now = {v.variable: v.value for v in client.real_time(SN)[0].datas}
        assert abs(float(now["SoC"]) - 55) <= 1, "the initial state of charge"
        assert 0 < float(now["ResidualEnergy"]) / 100 / 10.4 * 100 - 55 < 2
        with pytest.raises(ce.TransientError) as chaos:  # the scenario's chaos rule
            client.battery_soc(SN)
        assert chaos.value.errno == 41200
        soc = client.battery_soc(SN)
        assert (soc.minSoc, soc.minSocOnGrid) == (15, 20)
        schedule = client.scheduler(SN)
        assert schedule.enable == 1 and schedule.groups[0].workMode == "ForceCharge"
        plant = client.plant_list().data[0]
        assert plant.name == "Casa Madrid"
        # 6 kWp at Madrid's June noon on a battery that has room: a few kW of PV
        server.advance(2 * 3600)
        pv = max(
            float(p.value)
            for p in client.history(SN, START, START + 2 * 3_600_000, ["pvPower"])[0].datas[0].data
        )
        assert 2.0 < pv <= 6.0
        client.close()
    finally:
        server.stop()


def test_round_trip_through_snapshot_and_restore(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", write(tmp_path, FULL))
    try:
        client = server.client()
        server.advance(1800)
        taken = server.snapshot()
        clock = server.now_ms()
        latest = server.foxden.store.latest([SN])[SN]
        rules = server.chaos_rules()
        # change everything
        server.advance(3 * 3600)
        server.clear_fault("60F3000000000X2")
        client.set_battery_soc(SN, 30, 30)
        server.chaos("/op/v0/device/list", errno=41200)
        assert server.foxden.store.latest([SN])[SN].time_ms > latest.time_ms
        server.restore(taken)
        assert server.now_ms() == clock
        assert server.foxden.store.latest([SN])[SN] == latest
        assert server.chaos_rules() == rules
        devices = {d.deviceSN: d.status for d in client.device_list().data}
        assert devices["60F3000000000X2"] == 2, "the fault is back"
        with pytest.raises(ce.TransientError):  # the rule is back, its hits as they were
            client.battery_soc(SN)
        soc = client.battery_soc(SN)
        assert (soc.minSoc, soc.minSocOnGrid) == (15, 20)
        # and the fleet goes on from the restored state, as it did the first time
        server.advance(3 * 3600)
        series = server.foxden.store.history(SN, latest.time_ms, server.now_ms())
        assert (series.times_ms[1:] > series.times_ms[:-1]).all()
        assert len(series.times_ms) >= 35
        with pytest.raises(AdminError) as refused:
            server.restore("s99")
        assert refused.value.status == 404 and "no snapshot 's99'" in refused.value.message
    finally:
        server.stop()


def serve(tmp_path: Path, text: str, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """``foxden serve --scenario`` of ``text`` (and ``extra`` options) on a free port, data in
    ``tmp_path/data``, once it answers; its URL."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = write(tmp_path, text)
    env = {**os.environ, "FOXDEN_LIMIT_PROFILE": "lenient"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "foxden",
            "serve",
            "--scenario",
            str(path),
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "data"),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url + "/openapi.json")
            return proc, url
        except httpx.TransportError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                output = proc.communicate()[0]
                raise AssertionError(f"foxden serve did not start: {output}") from None
            time.sleep(0.2)


def test_the_issue_example_serves_as_written(tmp_path: Path) -> None:
    proc, url = serve(tmp_path, EXAMPLE)
    try:
        with Client(KEY, url, retry=RetryPolicy(max_retries=0)) as client:
            (device,) = client.device_list().data
            assert (device.deviceSN, device.deviceType, device.status) == (SN, "H1-6.0-E", 1)
            now = {v.variable: v.value for v in client.real_time(SN)[0].datas}
            assert abs(float(now["SoC"]) - 55) <= 1
            (plant,) = client.plant_list().data
            assert plant.name == "Casa Madrid"
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        for _ in range(2):  # speed 0: the clock stays at the start
            clock = httpx.get(url + "/admin/clock", headers={"X-Admin-Token": token}).json()
            assert clock["speed"] == 0 and clock["now_ms"] == START
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert not (tmp_path / "data" / "ci-api-key").exists(), "a fixed key is not written"


def test_serve_with_a_scenario(tmp_path: Path) -> None:
    proc, url = serve(tmp_path, FULL)
    try:
        with Client(KEY, url, retry=RetryPolicy(max_retries=0)) as client:
            assert sorted(d.deviceSN for d in client.device_list().data) == ["60F3000000000X2", SN]
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        clock = httpx.get(url + "/admin/clock", headers={"X-Admin-Token": token}).json()
        assert clock["speed"] == 0 and clock["now_ms"] == START
        rules = httpx.get(url + "/admin/chaos", headers={"X-Admin-Token": token}).json()
        assert [r["errno"] for r in rules["rules"]] == [41200]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_plants_ev_and_heat_pump_reach_the_simulated_household(tmp_path: Path) -> None:
    from foxden.sim.clock import SimClock
    from foxden.sim.runner import HOUSEHOLD_KEY, FleetRunner
    from foxden.store import open_store

    text = EXAMPLE.replace("pv_kwp = 6.0\n", "pv_kwp = 6.0\nev = true\nheat_pump = true\n")
    sc = scenario.validate(write(tmp_path, text))
    plant = sc.file.account[0].plant[0]
    assert plant.ev and plant.heat_pump
    store = open_store("sqlite://")
    scenario.apply(sc, store, START)
    stored = store.all_devices()[0][1]
    assert stored is not None
    assert stored.extra[HOUSEHOLD_KEY] == {"ev": True, "heat_pump": True}
    fleet = FleetRunner(store, SimClock(start_ms=START, speed=0), seed=1).refresh(START)
    assert fleet.specs[0].ev and fleet.specs[0].heat_pump
    # without them, nothing is kept: applying again drops what the file no longer says
    scenario.apply(scenario.validate(write(tmp_path, EXAMPLE)), store, START)
    stored = store.all_devices()[0][1]
    assert stored is not None and HOUSEHOLD_KEY not in stored.extra
    # the default demo says neither
    demo = scenario.validate(scenario.demo_path())
    assert not any(p.ev or p.heat_pump for p in demo.file.account[0].plant)
    # a wrong type names its line
    bad = EXAMPLE.replace("pv_kwp = 6.0\n", 'pv_kwp = 6.0\nev = "yes"\n')
    with pytest.raises(scenario.ScenarioError) as caught:
        scenario.validate(write(tmp_path, bad))
    assert caught.value.problems == [(13, "account[0].plant[0].ev: Expected bool, got str")]


def test_seeding_applies_a_scenario_once_per_database(tmp_path: Path, database_url: str) -> None:
    """Applied to a fresh database; kept on the next start with the same scenario (what a
    client wrote stays); applied over it when the scenario changed; a reset starts again."""
    from foxden.accounts import key_hash
    from foxden.seeding import APPLIED_META, applied_record, fingerprint, resume_ms, seed
    from foxden.store import open_store
    from foxden.store.snapshot import TABLES

    sc = scenario.load(write(tmp_path, FULL))
    store = open_store(database_url)
    try:
        first = seed(sc, store, 1_000)
        assert (first.outcome, first.earlier) == ("applied", None)
        assert first.applied.keys == {"ci": KEY}
        assert applied_record(store) == {
            "fingerprint": fingerprint(sc),
            "source": str(tmp_path / "fleet.toml"),
            "applied_ms": 1_000,
        }
        soc = {"MinSoc": 15, "MinSocOnGrid": 20}
        assert {k: store.settings(SN)[k] for k in soc} == soc
        store.put_settings(SN, {"MinSoc": 30})  # a client's write
        from foxden.sim.runner import clear_fault

        clear_fault(store, "60F3000000000X2")
        again = seed(sc, store, 2_000)
        assert (again.outcome, again.applied.keys) == ("kept", {})
        assert again.earlier is not None and again.earlier["applied_ms"] == 1_000
        assert store.settings(SN)["MinSoc"] == 30
        assert store.device("60F3000000000X2").status == 1  # type: ignore[union-attr]
        # the same fleet in another layout, clock and chaos: the same scenario
        relaid = FULL.replace("speed = 0", "speed = 60  # faster").replace("count = 1", "count = 3")
        assert fingerprint(scenario.load(write(tmp_path, relaid, "b.toml"))) == fingerprint(sc)
        # another scenario is refused: merged into clients' changes it would describe nothing
        changed = write(tmp_path, FULL.replace("MinSocOnGrid = 20", "MinSocOnGrid = 25"), "c.toml")
        other = scenario.load(changed)
        assert fingerprint(other) != fingerprint(sc)
        with pytest.raises(scenario.ScenarioError) as refused:
            seed(other, store, 3_000)
        assert str(refused.value) == (
            f"{changed}: this database was started from another scenario "
            f"({tmp_path / 'fleet.toml'}, applied 1970-01-01 00:00 UTC); "
            "--reset empties it and starts again from this one"
        )
        assert store.settings(SN)["MinSoc"] == 30  # nothing written
        over = seed(other, store, 3_000, reset=True)
        assert over.outcome == "reset" and store.settings(SN)["MinSocOnGrid"] == 25
        # a reset empties the database (an account made meanwhile is gone) and starts again
        from foxden import accounts

        accounts.create_account(store, "meanwhile", 3_500)
        reset = seed(sc, store, 4_000, reset=True)
        assert (reset.outcome, reset.earlier) == ("reset", None)
        assert [a.name for a in store.accounts()] == ["ci"]
        assert store.account_by_key_hash(key_hash(KEY)) is not None
        assert {k: store.settings(SN)[k] for k in soc} == soc
        assert store.device("60F3000000000X2").status == 2  # type: ignore[union-attr]
        assert store.meta(APPLIED_META) is not None and store.meta("schema_version")
        counts = store.snapshot().counts()
        assert set(counts) == set(TABLES) and counts["energy_slots"] == 0
        # the clock goes on from the newest sample, never back before the start
        assert resume_ms(store, sc.start_ms) == sc.start_ms  # no samples yet
        assert resume_ms(store, None) is None
    finally:
        store.close()


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    return proc.communicate(timeout=20)[0]


def test_a_restart_keeps_what_clients_changed_and_reset_starts_again(tmp_path: Path) -> None:
    from foxden.client.admin import AdminClient
    from foxden.client.convenience import parse_time

    f3 = "60F3000000000X2"
    fleet = FULL.split("[[chaos]]")[0]  # no chaos: every call here answers
    proc, url = serve(tmp_path, fleet)
    token = (tmp_path / "data" / "admin-token").read_text().strip()

    def newest(client: Client) -> int:
        return int(parse_time(client.real_time(SN)[0].time).timestamp() * 1000)

    try:
        with Client(KEY, url, retry=RetryPolicy(max_retries=0)) as client:
            assert client.battery_soc(SN).minSoc == 15
            client.set_battery_soc(SN, 30, 40)
            with AdminClient(url, token) as admin:
                admin.clear_fault(f3)
                admin.advance(3_600_000)  # an hour on: the fleet stores up to then
            deadline = time.monotonic() + 30
            while newest(client) < START + 3_300_000 and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        first = _stop(proc)
    assert "was applied to this database" not in first
    proc, url = serve(tmp_path, fleet)
    try:
        with Client(KEY, url, retry=RetryPolicy(max_retries=0)) as client:
            soc = client.battery_soc(SN)
            assert (soc.minSoc, soc.minSocOnGrid) == (30, 40)  # not the file's 15 and 20
            status = {d.deviceSN: d.status for d in client.device_list().data}
            assert status == {SN: 1, f3: 1}  # the cleared fault stays cleared
            last = newest(client)
        with AdminClient(url, token) as admin:
            now = admin.clock()["now_ms"]
        # the clock goes on from the newest sample (its time string is to the second), not
        # back at the start
        assert START + 3_300_000 <= now <= START + 3_600_000 and 0 <= now - last < 1000
    finally:
        second = _stop(proc)
    assert f"Scenario {tmp_path / 'fleet.toml'} was applied to this database on " in second.replace(
        "\n", " "
    )
    assert "UTC: kept as clients left it (--reset starts again)" in second.replace("\n", " ")
    proc, url = serve(tmp_path, fleet, "--reset")
    try:
        with Client(KEY, url, retry=RetryPolicy(max_retries=0)) as client:
            soc = client.battery_soc(SN)
            assert (soc.minSoc, soc.minSocOnGrid) == (15, 20)
            status = {d.deviceSN: d.status for d in client.device_list().data}
            assert status == {SN: 1, f3: 2}
        with AdminClient(url, token) as admin:
            assert admin.clock()["now_ms"] == START
    finally:
        third = _stop(proc)
    assert "kept as clients left it" not in third


def test_reset_needs_a_scenario(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--reset", "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert "--reset starts again from a scenario: give --scenario FILE" in result.output
