"""The store's change counters in Redis, beside the call limits.

With several workers on PostgreSQL each request may use cached rows only once the change
counters have been read after it arrived (``foxden.store.changes``). Read from PostgreSQL's
sequences, a reading is a query: on the measured 2-worker box it cost the database 63 us of
CPU and the worker 77-81 us (readings counted later, from Redis: 0.09-0.12 a call with two
workers, ``foxden_change_readings_total``). With Redis already
in use for the limits the counters live there too, in one hash (``foxden:{changes}``, one
field per topic): a writer moves the fields of its topics right after its commit
(``HINCRBY``, one round trip), and a reading is one ``HMGET``. The sequences still move in
every write's transaction and its notification still goes out, so a process without Redis
(a command run on the database) is seen once its notification is heard, and readers
without Redis read the sequences as before.

A Redis that lost its data (no persistence, restarted) starts the counters again from 0,
so a counter could come back to a value a reader last saw while a write went by. The hash
therefore holds a random ``born`` field too, set by the first writer after the hash was
made (``HSETNX``), and every counter is read as ``born + count``: once the hash is made
again every reading differs from the ones before, and every topic is dropped once.

Order: a writer moves the counters after its commit and before it answers, so a request
sent after that answer reads counters that moved; a reader that saw them move drops the
topic's cached rows and reads them again from the database, which has the commit.

The change mark (``foxden:{changes}:mark``, a string beside the hash) moves with every
bump, after the counters: one number that says whether anything changed since a reading.
The first writer sets it to a random number (``SET NX``), so a Redis made again does not
come back to a mark a reader saw. A reading takes the mark first, then the counters, and
gives the mark after them: a bump between the two leaves the reading's mark behind its
counters, never ahead. A request in a worker identified from the cached rows as the last
reading left them has its own Redis round trip confirm that mark still stands (the call
limits' script compares it, or the day's count is read with it in one ``MGET``;
``foxden.server.fast``): it then needs no reading of its own, and when the mark moved the
script did nothing and the request goes the usual way.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence, Set
from typing import TYPE_CHECKING

from foxden.server.shared_limits import PREFIX
from foxden.store.changes import TOPIC_ORDER

if TYPE_CHECKING:
    import redis
    import redis.asyncio

log = logging.getLogger("foxden.server")


class RedisChangeCounters:
    """A :class:`~foxden.store.changes.SharedCounters` in one Redis hash, with the change
    mark beside it."""

    def __init__(
        self,
        client: redis.Redis,
        async_client: Callable[[], redis.asyncio.Redis] | None = None,
        prefix: str = PREFIX,
    ) -> None:
        self.client = client
        self._async_client = async_client
        """The running event loop's client (None: no reading on a loop)."""
        self.key = f"{prefix}{{changes}}"
        self.mark_key = f"{prefix}{{changes}}:mark"
        """The change mark: a random number the first writer sets, moved by every bump."""
        self._fields = [BORN, *TOPIC_ORDER]

    def bump(self, topics: Set[str]) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.hsetnx(self.key, BORN, secrets.randbits(48))
        for field in sorted(topics):
            pipe.hincrby(self.key, field, 1)
        pipe.set(self.mark_key, secrets.randbits(48), nx=True)
        pipe.incr(self.mark_key)  # after the counters (see ``read``)
        pipe.execute()

    def read(self) -> Sequence[int]:
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self.mark_key)  # before the counters (see the module's text)
        pipe.hmget(self.key, self._fields)
        mark, values = pipe.execute()
        return _counters(values, mark)

    async def read_async(self) -> Sequence[int]:
        if self._async_client is None:
            raise RuntimeError("these change counters are not read on an event loop")
        pipe = self._async_client().pipeline(transaction=False)
        pipe.get(self.mark_key)
        pipe.hmget(self.key, self._fields)
        mark, values = await pipe.execute()
        return _counters(values, mark)


BORN = "born"
"""The hash's random birth mark, added to every counter read."""


def _counters(values: Sequence[bytes | str | None], mark: bytes | str | None) -> tuple[int, ...]:
    """``born + count`` per topic (a field not there, no write since the hash was made,
    counts 0), then the change mark (0 when there is none)."""
    born, *counts = (int(v) if v is not None else 0 for v in values)
    return (*(born + count for count in counts), int(mark) if mark is not None else 0)


def share_changes(store: object, url: str) -> bool:
    """Move ``store``'s change counters in the Redis at ``url`` too, after each of its
    commits (PostgreSQL; nothing for a store without them, or without a URL): for a
    process that writes the database beside workers reading their counters in Redis (the
    fleet process, the command line). Whether they are shared; a Redis that cannot be
    reached is logged and left out (the writes are then seen once their notifications are
    heard)."""
    if not url or not hasattr(store, "shared_counters"):
        return False
    from foxden.server.shared_limits import connect, redact

    try:
        client = connect(url)
    except ValueError as exc:
        log.warning("writes not counted in Redis %s: %s", redact(url), exc)
        return False
    store.shared_counters = RedisChangeCounters(client)
    return True
