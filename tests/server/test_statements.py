"""How often a warm authenticated call touches the database: on PostgreSQL never (the account,
device and plant rows come from the store's caches, kept true by LISTEN/NOTIFY; the quota is
written in batches), on SQLite once (``PRAGMA data_version``, which is how the caches learn of
other processes' writes). Counted at the store's one statement entry point, over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from foxden.client import Client
from foxden.store import Store
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


def test_a_warm_authenticated_call_touches_postgresql_never_and_sqlite_once(
    served: tuple[LiveServer, Client, Statements], database_url: str
) -> None:
    _, client, statements = served
    first, warm = per_call(statements, client.access_count)
    assert first  # the first call reads the account: the count sees statements
    if database_url.startswith("postgresql"):
        assert warm == [[]] * CALLS
    else:
        assert warm == [["PRAGMA data_version"]] * CALLS


def test_warm_device_calls_touch_postgresql_never(
    served: tuple[LiveServer, Client, Statements], database_url: str
) -> None:
    _, client, statements = served
    for call in (lambda: client.device_list(), lambda: client.device_detail(SN)):
        _, warm = per_call(statements, call)
        if database_url.startswith("postgresql"):
            assert warm == [[]] * CALLS
        else:
            assert warm == [["PRAGMA data_version"]] * CALLS
