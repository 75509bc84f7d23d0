"""Faults take effect at once: injecting or clearing one (admin API, CLI) writes a fresh
sample, so real-time data and device/list change on the next call."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from foxden.cli.main import app
from foxden.sim import engine
from foxden.sim.clock import SimClock
from foxden.sim.runner import FleetRunner
from foxden.store import open_store, url_for
from tests.sim.conftest import (
    HOUR_MS,
    LONDON,
    MINUTE_MS,
    Site,
    StartSim,
    local_ms,
    populate,
    real_time,
)

NOON = local_ms(LONDON.zone, 2026, 6, 21, 12)
H1, F3 = "NOWH150000001", "NOWF300000001"
DEVICES: list[tuple[str, str, Site]] = [(H1, "H1-5.0-E", LONDON), (F3, "F3000", LONDON)]
FAULT = 26


def test_admin_fault_shows_in_real_time_and_device_list_without_moving_the_clock(
    sim: StartSim,
) -> None:
    server = sim(NOON, DEVICES)
    client = server.client()
    before = server.store.latest([H1, F3])
    assert real_time(client, H1)["runningState"] == "163"
    server.ok("/admin/faults", {"sn": H1, "code": FAULT})
    assert server.clock.now_ms() == NOON, "the clock did not move"
    now = real_time(client, H1)
    assert now["runningState"] == "165" and now["currentFault"] == str(FAULT)
    assert now["currentFaultCount"] == "1" and now["pvPower"] == 0
    assert next(d.status for d in client.device_list().data if d.deviceSN == H1) == 2
    after = server.store.latest([H1, F3])
    assert after[H1].time_ms == max(NOON, before[H1].time_ms + 1)
    # the plant's other inverter samples with it: one meter sees them both
    assert after[F3].time_ms == after[H1].time_ms
    assert after[F3].values["generationPower"] > 0.1, "noon in June: it still runs"
    assert after[H1].values["meterPower2"] == after[F3].values["generationPower"]
    for counter in engine.COUNTER:
        if counter in before[H1].values:
            assert after[H1].values[counter] >= before[H1].values[counter], counter
    # cleared: also at once
    server.admin.delete(f"/admin/faults/{H1}")
    now = real_time(client, H1)
    assert now["runningState"] == "163" and now["currentFault"] == ""
    assert float(now["pvPower"]) > 0.1, "noon in June"
    assert next(d.status for d in client.device_list().data if d.deviceSN == H1) == 1


def test_a_fault_after_the_clock_moved_first_catches_the_fleet_up(sim: StartSim) -> None:
    server = sim(NOON, DEVICES)
    client = server.client()
    server.clock.advance(HOUR_MS)  # moved behind the API's back
    server.ok("/admin/faults", {"sn": H1, "code": FAULT})
    series = server.store.history(H1, NOON + 1, NOON + HOUR_MS)
    state = series.values[:, series.variables.index("runningState")]
    assert len(state) >= 12, "the hour before the fault was simulated"
    assert (state[:-1] == 163).all() and state[-1] == 165
    assert series.times_ms[-1] == NOON + HOUR_MS
    assert real_time(client, F3)["runningState"] == "163"
    assert len(server.store.history(F3, NOON + 1, NOON + HOUR_MS).times_ms) >= 11


def test_regular_samples_continue_after_the_fresh_one(sim: StartSim) -> None:
    server = sim(NOON, DEVICES)
    server.ok("/admin/faults", {"sn": H1, "code": FAULT})
    server.advance(30 * MINUTE_MS)
    series = server.store.history(H1, NOON - HOUR_MS, NOON + 30 * MINUTE_MS)
    gaps = series.times_ms[1:] - series.times_ms[:-1]
    assert (gaps > 0).all() and (gaps <= engine.STEP_MS + 5_000).all()
    generation = series.values[:, series.variables.index("generation")]
    assert (generation[1:] >= generation[:-1]).all()


def test_cli_fault_and_clear_take_effect_at_once(tmp_path: Path) -> None:
    store = open_store(url_for(tmp_path))
    populate(store, DEVICES)
    FleetRunner(store, SimClock(NOON, speed=0)).run_until(NOON, start_ms=NOON - HOUR_MS)
    last = store.latest([H1])[H1].time_ms
    result = CliRunner().invoke(app, ["sim", "fault", H1, str(FAULT), "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    latest = store.latest([H1])[H1]
    assert latest.time_ms == last + 1
    assert latest.values["runningState"] == 165 and latest.values["currentFault"] == FAULT
    result = CliRunner().invoke(app, ["sim", "clear", H1, "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    latest = store.latest([H1])[H1]
    assert latest.time_ms == last + 2 and latest.values["runningState"] == 163
