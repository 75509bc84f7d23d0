"""The store's caches of rows read on every request (accounts by key, devices, device pages with
their plant names, plants, settings, newest samples) and the server's ready real-time answers:
a write is seen by the next read, through the same store, through another connection (another
process: SQLite's data_version, PostgreSQL's LISTEN/NOTIFY), and through another server on
the same database; a rolled-back write leaves nothing behind."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

from foxden import accounts
from foxden.accounts import key_hash
from foxden.clock import FrozenClock
from foxden.protocol import structs as s
from foxden.server.areas import telemetry as area
from foxden.server.context import Ctx
from foxden.server.limits import QuotaKeeper
from foxden.store import DeviceSamples, Plant, Store, StoreError, open_store
from foxden.store.changes import ChangeListener, parse_payload
from tests.conftest import LiveServer, fresh_postgres, seen, start_server
from tests.telemetry.data import samples

NOW = 1_711_929_600_000  # 2024-04-01 00:00 UTC
SN = "CACHEH100001"


def plant(account_id: int, name: str = "Home", zone: str = "Europe/London") -> Plant:
    return Plant(
        id="p-1",
        account_id=account_id,
        name=name,
        type=2,
        country_code="GB",
        city="Lymm",
        address="1 Test Street",
        postcode="",
        timezone=zone,
        created_ms=NOW,
    )


@pytest.fixture
def stores(database_url: str) -> Iterator[tuple[Store, Store]]:
    """Two stores on one database: the server's, and another process's."""
    first = open_store(database_url)
    second = open_store(database_url)
    yield first, second
    second.close()
    first.close()


def setup(store: Store) -> tuple[int, str]:
    account, key = accounts.create_account(store, "cache", NOW)
    store.insert_plant(plant(account.id))
    accounts.add_device(store, "cache", SN, "H1-5.0-E", NOW)
    store.bind_device(SN, "p-1")
    return account.id, key


def test_every_cached_read_sees_a_write_through_the_same_store(
    stores: tuple[Store, Store],
) -> None:
    store, _ = stores
    account_id, key = setup(store)
    # warm every cache
    assert store.account_by_key_hash(key_hash(key)) is not None
    assert store.device(SN) is not None and store.device(SN).status == 1  # type: ignore[union-attr]
    assert store.plant(account_id, "p-1").name == "Home"  # type: ignore[union-attr]
    assert store.settings(SN) == {}
    assert store.latest([SN]) == {}
    assert [n for _, n in store.devices_with_plant_names(account_id)[0]] == ["Home"]

    new = accounts.rotate_key(store, "cache")
    assert store.account_by_key_hash(key_hash(key)) is None
    assert store.account_by_key_hash(key_hash(new)) is not None
    store.set_device_status(SN, 3)
    assert store.device(SN).status == 3  # type: ignore[union-attr]
    assert store.devices(account_id)[0][0].status == 3
    store.update_plant(plant(account_id, "Renamed"))
    assert store.plant(account_id, "p-1").name == "Renamed"  # type: ignore[union-attr]
    assert store.devices_with_plant_names(account_id)[0][0][1] == "Renamed"
    store.put_settings(SN, {"MinSoc": 20})
    assert store.settings(SN) == {"MinSoc": 20}
    store.ingest([samples(SN, "H1-5.0-E", NOW, 3)])
    first = store.latest([SN])[SN]
    store.ingest([samples(SN, "H1-5.0-E", NOW + 3_600_000, 2, seed=1)])
    assert store.latest([SN])[SN].time_ms > first.time_ms
    accounts.add_device(store, "cache", "CACHEH100002", "H1-5.0-E", NOW)
    assert store.devices(account_id)[1] == 2
    assert store.account_by_key_hash(key_hash(new)).device_count == 2  # type: ignore[union-attr]


def test_every_cached_read_sees_a_write_through_another_connection(
    stores: tuple[Store, Store], database_url: str
) -> None:
    store, other = stores
    postgres = database_url.startswith("postgres")
    account_id, key = setup(store)
    assert store.account_by_key_hash(key_hash(key)) is not None
    assert store.device(SN).status == 1  # type: ignore[union-attr]
    assert store.plant(account_id, "p-1").name == "Home"  # type: ignore[union-attr]
    assert store.settings(SN) == {}
    assert store.latest([SN]) == {}
    assert store.devices(account_id)[1] == 1

    new = accounts.rotate_key(other, "cache")
    assert seen(lambda: store.account_by_key_hash(key_hash(key)), None, postgres) is None
    assert store.account_by_key_hash(key_hash(new)) is not None
    other.set_device_status(SN, 3)
    assert seen(lambda: store.device(SN).status, 3, postgres) == 3  # type: ignore[union-attr]
    other.update_plant(plant(account_id, "Renamed"))
    got = seen(lambda: store.plant(account_id, "p-1").name, "Renamed", postgres)  # type: ignore[union-attr]
    assert got == "Renamed"
    other.put_settings(SN, {"MinSoc": 30})
    assert seen(lambda: store.settings(SN), {"MinSoc": 30}, postgres) == {"MinSoc": 30}
    other.ingest([samples(SN, "H1-5.0-E", NOW, 3)])
    assert seen(lambda: SN in store.latest([SN]), True, postgres)
    accounts.add_device(other, "cache", "CACHEH100002", "H1-5.0-E", NOW)
    assert seen(lambda: store.devices(account_id)[1], 2, postgres) == 2


def test_a_rolled_back_write_is_not_served_from_a_cache(stores: tuple[Store, Store]) -> None:
    store, _ = stores
    account_id, _ = setup(store)
    assert store.plant(account_id, "p-2") is None
    with pytest.raises(RuntimeError), store.transaction():
        store.insert_plant(replace(plant(account_id, "Gone"), id="p-2"))
        assert store.plant(account_id, "p-2") is not None  # the transaction sees its write
        raise RuntimeError("roll back")
    assert store.plant(account_id, "p-2") is None
    with pytest.raises(StoreError):
        store.insert_plant(plant(account_id))  # a duplicate: the write fails
    assert store.plant(account_id, "p-1").name == "Home"  # type: ignore[union-attr]


def test_a_cached_settings_dict_cannot_be_changed_by_a_caller(
    stores: tuple[Store, Store],
) -> None:
    store, _ = stores
    setup(store)
    store.put_settings(SN, {"MinSoc": 20})
    store.settings(SN)["MinSoc"] = 99
    assert store.settings(SN) == {"MinSoc": 20}


def test_device_pages_carry_plant_names_and_the_total(stores: tuple[Store, Store]) -> None:
    store, _ = stores
    account_id, _ = setup(store)
    accounts.add_device(store, "cache", "CACHEH100002", "H1-5.0-E", NOW + 1)
    page, total = store.devices_with_plant_names(account_id, 1, 10)
    assert total == 2
    assert [(d.sn, name) for d, name in page] == [("CACHEH100002", "")]
    assert store.devices_with_plant_names(account_id, 5, 10) == ([], 2)


def test_a_notification_payload_names_topics_or_everything() -> None:
    assert parse_payload("devices,settings") == {"devices", "settings"}
    assert parse_payload("") == parse_payload("nonsense") == parse_payload("devices,nonsense")
    assert "accounts" in parse_payload("")


def test_the_listener_hears_another_connections_notification() -> None:
    with fresh_postgres() as url:
        import psycopg

        heard: list[set[str]] = []
        listener = ChangeListener(url, heard.append, channel="foxden_test_channel")
        assert listener.start()
        try:
            assert listener.listening
            assert heard == [parse_payload("")]  # connecting: everything may have changed
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("SELECT pg_notify('foxden_test_channel', 'plants')")
            deadline = time.monotonic() + 5
            while len(heard) < 2 and time.monotonic() < deadline:
                time.sleep(0.005)
            assert heard[1:] == [{"plants"}]
        finally:
            listener.stop()
        assert not listener.listening


# ---------------------------------------------------------------- the server


def real_bytes(store: Store, account_id: int, req: s.RealQueryV0, reference: bool) -> bytes:
    account = next(a for a in store.accounts() if a.id == account_id)
    ctx = Ctx(store, FrozenClock(NOW), FrozenClock(NOW), account, QuotaKeeper(store, 10**6))
    if reference:
        return msgspec.json.encode(area.real_structs(ctx, req))
    raw = area.real_v0(ctx, req)
    return bytes(raw)


@pytest.mark.parametrize("variables", [None, [], ["SoC", "pvPower", "nope", "runningState"]])
def test_the_ready_real_time_answer_equals_the_plain_one(
    stores: tuple[Store, Store], variables: list[str] | None
) -> None:
    store, _ = stores
    account_id, _ = setup(store)
    accounts.add_device(store, "cache", "CACHEH100002", "H1-5.0-E", NOW + 1)  # no data yet
    item = samples(SN, "H1-5.0-E", NOW, 3)
    values = item.values.copy()
    values[-1, 0] = np.nan  # a variable missing from the newest sample
    store.ingest([DeviceSamples(SN, item.variables, item.times_ms, values)])
    for sn in (SN, None):
        req = s.RealQueryV0(sn=sn, variables=variables)
        for _ in range(2):  # built, then served ready
            assert real_bytes(store, account_id, req, False) == real_bytes(
                store, account_id, req, True
            )


def test_the_ready_real_time_answer_follows_a_new_sample_and_a_new_zone(
    stores: tuple[Store, Store],
) -> None:
    store, _ = stores
    account_id, _ = setup(store)
    store.ingest([samples(SN, "H1-5.0-E", NOW, 3)])
    req = s.RealQueryV0(sn=SN, variables=["SoC"])
    before = real_bytes(store, account_id, req, False)
    store.ingest([samples(SN, "H1-5.0-E", NOW + 86_400_000, 1, seed=5)])
    after = real_bytes(store, account_id, req, False)
    assert after != before
    assert after == real_bytes(store, account_id, req, True)
    store.update_plant(plant(account_id, zone="Australia/Sydney"))
    moved = real_bytes(store, account_id, req, False)
    assert b"AEST" in moved or b"AEDT" in moved
    assert moved == real_bytes(store, account_id, req, True)


@pytest.fixture
def two_servers(tmp_path: Path, database_url: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two servers, each with its own store, on one database (as two workers or hosts)."""
    options = {"database_url": database_url, "rate_per_second": 1e6, "rate_burst": 10**6}
    first = start_server(tmp_path / "one", **options)  # type: ignore[arg-type]
    second = start_server(tmp_path / "two", **options)  # type: ignore[arg-type]
    yield first, second
    for live in (first, second):
        live.stop()
        live.store.close()


def test_a_write_through_one_server_is_read_through_another(
    two_servers: tuple[LiveServer, LiveServer], database_url: str
) -> None:
    first, second = two_servers
    postgres = database_url.startswith("postgres")
    key = first.account("workers")
    first.device("workers", SN)
    reader, writer = first.client(key), second.client(key)
    assert reader.battery_soc(SN).minSoc == 10  # cached by the reading server now
    assert [d.status for d in reader.device_list().data] == [1]
    writer.set_battery_soc(SN, min_soc=25, min_soc_on_grid=30)
    assert seen(lambda: reader.battery_soc(SN).minSoc, 25, postgres) == 25
    new = accounts.rotate_key(second.store, "workers")
    assert seen(lambda: int(first.client(new).access_count().total), 1440, postgres) == 1440


def history_bytes(store: Store, account_id: int, req: s.HistoryQuery, reference: bool) -> bytes:
    account = next(a for a in store.accounts() if a.id == account_id)
    ctx = Ctx(store, FrozenClock(NOW), FrozenClock(NOW), account, QuotaKeeper(store, 10**6))
    if reference:
        return msgspec.json.encode(area.history_reference(ctx, req))
    return bytes(area.history(ctx, req))


def test_a_kept_history_day_is_rendered_again_when_its_samples_change(
    stores: tuple[Store, Store],
) -> None:
    store, other = stores
    account_id, _ = setup(store)
    store.ingest([samples(SN, "H1-5.0-E", NOW - 86_400_000, 400)])  # about 33 hours
    windows = [
        (NOW - 86_400_000, NOW),
        (NOW - 3_600_000, NOW + 3_600_000),  # across midnight
        (NOW + 600_000, NOW + 660_000),  # between two samples: empty
        (NOW - 43_200_000 + 1, NOW + 43_200_000 - 1),
    ]
    for begin, end in windows:
        req = s.HistoryQuery(sn=SN, begin=begin, end=end)
        for _ in range(2):  # rendered, then from the kept days
            assert history_bytes(store, account_id, req, False) == history_bytes(
                store, account_id, req, True
            )
    req = s.HistoryQuery(sn=SN, begin=NOW - 86_400_000, end=NOW)
    before = history_bytes(store, account_id, req, False)
    late = samples(SN, "H1-5.0-E", NOW - 43_200_000 + 1_000, 1, seed=9)  # into the closed day
    other.ingest([late])  # another connection: the stored day changes
    after = history_bytes(store, account_id, req, False)
    assert after != before
    assert after == history_bytes(store, account_id, req, True)
    store.update_plant(plant(account_id, zone="Asia/Kolkata"))
    moved = history_bytes(store, account_id, req, False)
    assert b"+0530" in moved
    assert moved == history_bytes(store, account_id, req, True)


def test_a_window_of_history_is_read_again_after_a_write_of_samples(
    stores: tuple[Store, Store], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a request's view the days of a window are kept under the store's cache mark: a
    second call does not read the store, and a write of samples through this store or
    another connection is in the next answer."""
    store, other = stores
    postgres = database_url.startswith("postgres")
    account_id, _ = setup(store)
    store.ingest([samples(SN, "H1-5.0-E", NOW - 43_200_000, 100)])
    reads: list[int] = []
    read = store.history_chunks

    def counted(sn: str, begin: int, end: int) -> Any:
        reads.append(begin)
        return read(sn, begin, end)

    monkeypatch.setattr(store, "history_chunks", counted)
    req = s.HistoryQuery(sn=SN, begin=NOW - 43_200_000, end=NOW, variables=["SoC"])

    def soc_points() -> int:
        with store.request_view():
            answer = msgspec.json.decode(history_bytes(store, account_id, req, False))
        return len(answer[0]["datas"][0]["data"])

    def reads_of_a_second_call() -> int:
        assert soc_points() == 100
        before = len(reads)
        assert soc_points() == 100
        return len(reads) - before

    # the second answer comes from the kept days (on PostgreSQL once the notifications of
    # this store's own writes above have been heard: each moves the cache mark)
    assert seen(reads_of_a_second_call, 0, postgres) == 0
    area._DAYS.clear()  # the renderings dropped: a window does not keep them alive
    before = len(reads)
    assert soc_points() == 100
    assert len(reads) == before + 1
    other.ingest([samples(SN, "H1-5.0-E", NOW - 3_600_000 + 1_000, 1, seed=3)])
    assert seen(soc_points, 101, postgres) == 101
    store.ingest([samples(SN, "H1-5.0-E", NOW - 1_800_000 + 1_000, 1, seed=4)])
    assert soc_points() == 102
    assert len(reads) >= 4


def test_postgres_sees_another_process_write_before_its_notification_is_heard() -> None:
    """With ``exact_changes`` (server workers) each topic's change counter is read as a
    request's view opens: a write committed by another process is seen at once, even when
    the notification is still on its way."""
    with fresh_postgres() as url:
        writer, reader = open_store(url), open_store(url)
        reader.exact_changes = True  # type: ignore[attr-defined]
        try:
            _, key = accounts.create_account(writer, "alice", 0)
            with reader.request_view():
                assert reader.account_by_key_hash(key_hash(key)) is not None  # now cached
            reader._listener.on_change = lambda topics: None  # type: ignore[attr-defined]
            accounts.rotate_key(writer, "alice")
            with reader.request_view():
                assert reader.account_by_key_hash(key_hash(key)) is None
        finally:
            writer.close()
            reader.close()
