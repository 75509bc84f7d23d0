"""PostgreSQL's change counters read on the event loop.

With several workers (``exact_changes``) a request may use the store's cached rows only once
the change counters have been read after it arrived (``PostgresStore._sync_changes``): a
write committed through another worker is then seen by the next request anywhere. Read in
a thread, that reading took every such request off the event loop and back (a thread hop a
request, however many requests one reading answered). Here the loop reads the counters
itself on a connection of its own, through psycopg's asynchronous connection, one reading
at a time: a request that arrived while a reading was under way waits for the next one,
and every request that arrived before a reading began is answered by it. The loop never
waits for the database: it awaits the reading like any other socket. With the counters in
Redis (``PostgresStore.shared_counters``) a reading is a Redis round trip instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from foxden.store.postgres import PostgresStore

log = logging.getLogger("foxden.store")


class AsyncChangeCounters:
    """Readings of ``store``'s change counters on the running event loop."""

    TIMEOUT_S = 1.0
    """How long a reading may take; longer, it is given up and the requests waiting for it
    go the other way (a thread)."""
    AWAY_S = 1.0
    """After a failed reading, none is tried for this long (requests go the other way)."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self._conn: Any = None
        self._current: asyncio.Future[bool] | None = None
        self._away_until = 0.0
        self._waiters: list[asyncio.Future[bool]] = []
        """Requests waiting for the reading under way."""
        self.readings = 0
        """Readings taken (each answers every request that arrived before it began)."""

    async def seen_since(self, arrived: float) -> bool:
        """Wait until a reading of the counters that began at or after ``arrived``
        (``time.perf_counter()``) has been taken; False when none could be (the database
        away, or slower than ``TIMEOUT_S``): the request then reads the counters itself
        where it may wait."""
        store = self.store
        while not store.changes_read_since(arrived):
            if time.monotonic() < self._away_until:
                return False
            if self._current is None:
                self._current = asyncio.ensure_future(self._read())
            # a future of its own, answered when the reading under way ends (one timer a
            # reading, not one a waiting request; a request cancelled cancels only this)
            waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            if not await waiter:
                return False
            # that reading began before this request arrived: the next one answers it
        return True

    async def _read(self) -> bool:
        began = time.perf_counter()
        taken = False
        try:
            await asyncio.wait_for(self._take(began), self.TIMEOUT_S)
            self.readings += 1
            taken = True
        except Exception as exc:
            log.warning("could not read the change counters on the event loop: %s", exc)
            self._away_until = time.monotonic() + self.AWAY_S
            await self._drop_connection()
        finally:
            self._current = None
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(taken)
        return taken

    async def _take(self, began: float) -> None:
        """One reading (raises when it could not be taken)."""
        shared = self.store.shared_counters
        if shared is not None:  # Redis's counters: no PostgreSQL connection at all
            self.store.take_versions(await shared.read_async(), began)
            return
        if self._conn is None or self._conn.closed:
            import psycopg

            self._conn = await psycopg.AsyncConnection.connect(
                self.store.url, autocommit=True, connect_timeout=5
            )
        cursor = await self._conn.execute(self.store.VERSIONS_SQL)
        row = await cursor.fetchone()
        if row is None:
            raise RuntimeError("the change counters answered no row")
        self.store.take_versions(row, began)

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def aclose(self) -> None:
        current = self._current
        if current is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(current), self.TIMEOUT_S)
        await self._drop_connection()
