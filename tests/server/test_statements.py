"""How often a warm authenticated call touches the database: never (the account, device and plant
rows come from the store's caches, kept true by LISTEN/NOTIFY on PostgreSQL; the quota is
written in batches). On SQLite the caches learn of other processes' writes from
``PRAGMA data_version``, asked only when the WAL index's header shows a commit since it was
last asked: once after another connection's write, then not again. Counted at the store's one
statement entry point, over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from foxden.client import Client
from foxden.store import Store, open_store
from tests.conftest import LiveServer, start_server

SN = "STMTH1000001"
CALLS = 5


class Statements:
    """Every SQL statement the store runs, by text (a spy: each still runs)."""

    def __init__(self, store: Store) -> None:
        self.texts: list[str] = []
        self.store = store
        self._x: Callable[..., Any] = store._x  # type: ignore[attr-defined]
        self._xm: Callable[..., Any] = store._xm  # type: ignore[attr-defined]

        def x(sql: str, params: Any = ()) -> Any:
            self.texts.append(sql)
            return self._x(sql, params)

        def xm(sql: str, rows: Any) -> Any:
            self.texts.append(sql)
            return self._xm(sql, rows)

        store._x = x  # type: ignore[attr-defined]
        store._xm = xm  # type: ignore[attr-defined]

    def during(self, work: Callable[[], object]) -> list[str]:
        self.texts.clear()
        work()
        return list(self.texts)


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, Client, Statements]]:
    server = start_server(
        tmp_path,
        database_url=database_url,
        rate_per_second=10_000.0,
        rate_burst=10_000,
        quota_flush_every=1_000,  # the quota's batched writes are not what is counted here
        quota_flush_s=3_600.0,
    )
    key = server.account("counted")
    server.device("counted", SN, "H1-5.0-E")
    client = server.client(key)
    yield server, client, Statements(server.store)
    server.stop()


def per_call(
    statements: Statements, call: Callable[[], object]
) -> tuple[list[str], list[list[str]]]:
    warm = statements.during(call)
    return warm, [statements.during(call) for _ in range(CALLS)]


def test_a_warm_authenticated_call_touches_the_database_never(
    served: tuple[LiveServer, Client, Statements],
) -> None:
    _, client, statements = served
    first, warm = per_call(statements, client.access_count)
    assert first  # the first call reads the account: the count sees statements
    assert warm == [[]] * CALLS


def test_warm_device_calls_touch_the_database_never(
    served: tuple[LiveServer, Client, Statements],
) -> None:
    _, client, statements = served
    for call in (lambda: client.device_list(), lambda: client.device_detail(SN)):
        _, warm = per_call(statements, call)
        assert warm == [[]] * CALLS


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_asks_data_version_once_after_another_connections_commit(
    served: tuple[LiveServer, Client, Statements], database_url: str
) -> None:
    server, client, statements = served
    client.device_list()
    other = open_store(database_url)
    try:
        other.put_settings(SN, {"MinSoc": 25})
    finally:
        other.close()
    after = [statements.during(client.device_list) for _ in range(3)]
    assert after[0][0] == "PRAGMA data_version"  # the commit moved the header: asked
    assert after[1:] == [[], []]  # and not again while nothing else is committed
    server.store.put_settings(SN, {"MinSoc": 30})  # its own write: the header moves too
    assert statements.during(client.device_list) == ["PRAGMA data_version"]
    assert statements.during(client.device_list) == []
