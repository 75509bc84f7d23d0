"""Store snapshots on both backends: every row back, caches and identities repaired."""

from __future__ import annotations

from foxden import accounts
from foxden.sim.clock import SimClock
from foxden.sim.runner import FleetRunner
from foxden.store import open_store
from tests.sim.conftest import HOUR_MS, LONDON, local_ms, populate

NOON = local_ms(LONDON.zone, 2026, 6, 21, 12)
SN = "SNAPH10000001"


def test_snapshot_and_restore(database_url: str) -> None:
    store = open_store(database_url)
    try:
        key = populate(store, [(SN, "H1-5.0-E", LONDON)])
        FleetRunner(store, SimClock(NOON, speed=0)).run_until(NOON, start_ms=NOON - HOUR_MS)
        store.put_settings(SN, {"MinSoc": 20})
        taken = store.snapshot()
        latest = store.latest([SN])
        history = store.history(SN, 0, NOON)
        counts = taken.counts()
        assert counts["accounts"] == 1 and counts["devices"] == 1
        assert counts["telemetry_latest"] == 1
        assert counts["telemetry_chunks"] + counts["telemetry_tail"] >= 1  # packed or appended
        # change everything
        accounts.create_account(store, "other", NOON)
        accounts.rotate_key(store, "simuser")
        store.put_settings(SN, {"MinSoc": 50})
        store.clear_telemetry()
        assert store.latest([SN]) == {}
        store.restore(taken)
        assert store.latest([SN]) == latest
        restored = store.history(SN, 0, NOON)
        assert (restored.times_ms == history.times_ms).all()
        assert restored.variables == history.variables
        assert store.settings(SN)["MinSoc"] == 20
        assert [a.name for a in store.accounts()] == ["simuser"]
        found = store.account_by_key_hash(accounts.key_hash(key))
        assert found is not None and found.name == "simuser", "the old key works again"
        # new rows after a restore get fresh ids, and telemetry goes on
        other, _ = accounts.create_account(store, "other", NOON)
        assert other.id > found.id
        FleetRunner(store, SimClock(NOON + HOUR_MS, speed=0)).run_until(NOON + HOUR_MS)
        assert store.latest([SN])[SN].time_ms > latest[SN].time_ms
    finally:
        store.close()
