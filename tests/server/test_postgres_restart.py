"""The server recovers by itself from a PostgreSQL restart, and quota use counted while the
database was away is written when it returns. On a private PostgreSQL the test starts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg_pool import PoolTimeout

from foxden.client import ApiError
from foxden.server.limits import utc_day
from foxden.store import open_store
from foxden.store.postgres import DatabaseAway
from tests.conftest import LiveServer, start_server
from tests.private_postgres import PrivatePostgres, private_postgres

SN = "PGRH10000001"


@pytest.fixture
def pg() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


@pytest.fixture
def live(tmp_path: Path, pg: PrivatePostgres) -> Iterator[LiveServer]:
    server = start_server(
        tmp_path,
        database_url=pg.url,
        rate_per_second=1e6,
        rate_burst=10**6,
        quota_flush_every=1000,
        quota_flush_s=3600.0,  # quota use is written only when the test says so
    )
    yield server
    server.stop()
    server.store.close()


def errno_of(call: object) -> int:
    try:
        call()  # type: ignore[operator]
    except ApiError as exc:
        return exc.errno
    return 0


def test_reads_recover_at_once_after_a_restart(live: LiveServer, pg: PrivatePostgres) -> None:
    client = live.client(live.account("rita"))
    live.device("rita", SN)
    assert client.device_list().total == 1
    pg.restart()
    # the pooled connection died with the server; the read is tried again on a new one
    assert client.device_list().total == 1
    assert client.device_detail(SN).deviceSN == SN


def test_the_server_recovers_and_keeps_quota_use_while_the_database_is_away(
    live: LiveServer, pg: PrivatePostgres
) -> None:
    client = live.client(live.account("rita"))
    live.device("rita", SN)
    for _ in range(5):
        client.device_list()
    quota = live.foxden.quota
    assert quota.unsaved == 5
    pg.stop()
    assert errno_of(client.device_list) == 41200  # the database is away: a transient failure
    # the failed call marked the database away: the flush is refused at once, not after a
    # connection timeout (a pool timeout when it comes after the away window)
    with pytest.raises((DatabaseAway, PoolTimeout)):
        quota.flush()
    assert quota.unsaved == 5  # kept in memory
    pg.start()
    deadline = time.monotonic() + 30
    while errno_of(client.access_count) != 0:
        assert time.monotonic() < deadline, "the server did not recover"
        time.sleep(0.1)
    quota.flush()
    assert quota.unsaved == 0
    other = open_store(pg.url)
    try:
        account = other.account_by_name("rita")
        assert account is not None
        assert other.usage(account.id, utc_day(int(time.time() * 1000))) == 5
    finally:
        other.close()
    assert client.access_count().remaining == str(1440 - 5)
