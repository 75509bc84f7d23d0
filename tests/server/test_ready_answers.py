"""Answers kept ready (``foxden.server.fast``): an identical read-only call is answered with
the same bytes only while nothing it was made from has changed. A write through the API,
through another connection (another process) or another server on the same database is seen
by the next read, on both backends; another account never gets a kept answer; every call
still counts against the quota."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from foxden import accounts
from foxden.client import Client
from foxden.client.errors import ApiError
from foxden.protocol.endpoints import BY_NAME
from foxden.server.areas import HANDLERS
from foxden.server.fast import READY
from foxden.store import Plant, open_store
from tests.conftest import LiveServer, seen, start_server
from tests.telemetry.data import samples

SN = "READYH100001"
NOW = 1_711_929_600_000  # 2024-04-01 00:00 UTC


def test_only_read_only_calls_are_kept_ready() -> None:
    assert set(HANDLERS) >= READY
    assert not [name for name in READY if BY_NAME[name].device_write]
    assert not READY & {"device.history", "device.generation", "user.access_count"}


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[LiveServer, Client, str]]:
    server = start_server(
        tmp_path, database_url=database_url, rate_per_second=1e6, rate_burst=10**6
    )
    key = server.account("ready")
    server.device("ready", SN)
    yield server, server.client(key), key
    server.stop()
    server.store.close()


def test_a_write_through_the_api_is_read_back_at_once(
    served: tuple[LiveServer, Client, str],
) -> None:
    server, client, _ = served
    assert client.battery_soc(SN).minSoc == 10
    assert client.battery_soc(SN).minSoc == 10  # kept ready
    assert server.foxden.ready  # something was kept
    client.set_battery_soc(SN, min_soc=25, min_soc_on_grid=30)
    assert client.battery_soc(SN).minSoc == 25
    assert not client.scheduler_flag(SN).enable
    client.set_scheduler_flag(SN, True)
    assert client.scheduler_flag(SN).enable


def test_a_write_through_another_connection_is_read_back(
    served: tuple[LiveServer, Client, str], database_url: str
) -> None:
    _, client, _ = served
    postgres = database_url.startswith("postgres")
    other = open_store(database_url)
    try:
        assert [d.status for d in client.device_list().data] == [1]
        assert client.device_list().data[0].stationName == ""
        other.set_device_status(SN, 3)
        assert seen(lambda: [d.status for d in client.device_list().data], [3], postgres) == [3]
        account = other.account_by_name("ready")
        assert account is not None
        other.insert_plant(
            Plant(
                id="p-r",
                account_id=account.id,
                name="Roof",
                type=2,
                country_code="GB",
                city="Lymm",
                address="1 Test Street",
                postcode="",
                timezone="Europe/London",
                created_ms=NOW,
            )
        )
        other.bind_device(SN, "p-r")
        name = seen(lambda: client.device_list().data[0].stationName, "Roof", postgres)
        assert name == "Roof"
        assert client.device_detail(SN).stationName == "Roof"
        assert client.real_time(SN) == client.real_time(SN)  # no sample yet, kept
        other.ingest([samples(SN, "H1-5.0-E", NOW, 2)])
        got = seen(lambda: len(client.real_time(SN)[0].datas) > 0, True, postgres)
        assert got
        first = client.real_time(SN)[0].time
        other.ingest([samples(SN, "H1-5.0-E", NOW + 3_600_000, 1, seed=3)])
        later = seen(lambda: client.real_time(SN)[0].time != first, True, postgres)
        assert later
    finally:
        other.close()


def test_another_account_never_gets_a_kept_answer(
    served: tuple[LiveServer, Client, str],
) -> None:
    server, client, _ = served
    assert client.battery_soc(SN).minSoc == 10
    stranger = server.client(server.account("stranger"))
    with pytest.raises(ApiError) as refused:
        stranger.battery_soc(SN)
    assert refused.value.errno == 40261
    assert [d.deviceSN for d in stranger.device_list().data] == []
    assert [d.deviceSN for d in client.device_list().data] == [SN]


def test_kept_answers_still_count_against_the_quota(
    served: tuple[LiveServer, Client, str],
) -> None:
    server, client, key = served
    before = int(client.access_count().remaining)
    for _ in range(3):
        client.battery_soc(SN)
    after = int(client.access_count().remaining)
    assert before - after == 3  # every kept answer was a counted call
    accounts.rotate_key(server.store, "ready")
    with pytest.raises(ApiError) as refused:
        server.client(key).battery_soc(SN)  # the old key: refused before any kept answer
    assert refused.value.errno == 41808
