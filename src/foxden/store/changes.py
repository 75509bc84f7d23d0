"""Which cached rows went stale: topics, caches keyed by them, and a signal between processes.

A store keeps rows it reads on every request (accounts by key, devices, plants, settings, the
newest sample) in :class:`TopicCaches`, one cache per topic. A write names the topics it
touches; they are dropped when it ends. Other processes learn of a write through a signal:

- SQLite: ``PRAGMA data_version`` changes when another connection commits (the store checks it
  as a request's view opens and drops everything when it moved). Running it is a read
  transaction (file locks, a stat) on every request, so :class:`WalMarker` looks first at the
  header of the WAL index (the ``-shm`` file, written by every commit): while it is byte for
  byte what it was when data_version was last read, nothing has been committed since, by any
  connection, and the statement is not needed;
- PostgreSQL: the writer runs ``pg_notify(CHANNEL, 'topic,topic')`` inside its transaction, so
  the notification goes out with the commit, and every process runs a :class:`ChangeListener`
  (``LISTEN`` on its own connection, in a thread) that drops those topics. While the listener
  is not connected, caches are not used at all, and when it (re)connects everything is dropped.
  A notification arrives a moment after the commit, so each write also moves a change counter
  per topic (a sequence) in its transaction, and a store with ``exact_changes`` (server
  workers) reads them all in one query as a request's view opens: a write another process
  committed is seen at once, heard of or not. With Redis beside the database
  (:class:`SharedCounters`), the counters read are Redis's: every writer that knows Redis
  moves them right after its commit, and a reading is a Redis round trip instead of a
  PostgreSQL query (the cheaper of the two for both sides, docs/scaling.md); a writer that
  does not know Redis is seen once its notification is heard.

The listener knows nothing of stores: anything that needs "another process changed X" (server
workers sharing a database) can listen on the same channel with its own topics.
"""

from __future__ import annotations

import logging
import mmap
import os
import threading
from collections.abc import Callable, Hashable, Iterable, Sequence, Set
from typing import Any, Protocol, TypeVar, runtime_checkable

log = logging.getLogger("foxden.store.changes")

ACCOUNTS = "accounts"
DEVICES = "devices"
PLANTS = "plants"
SETTINGS = "settings"
LATEST = "latest"
ALL: frozenset[str] = frozenset({ACCOUNTS, DEVICES, PLANTS, SETTINGS, LATEST})
TOPIC_ORDER: tuple[str, ...] = tuple(sorted(ALL))
"""The order of a reading's counters, one per topic."""
CHANNEL = "foxden_changes"
MAX_ENTRIES = 10_000
"""A topic's cache is emptied when it grows past this many entries."""

T = TypeVar("T")
_MISS = object()


class TopicCaches:
    """One dict per topic, plus a generation per topic that moves whenever it is dropped (so
    a read that raced a drop does not store what it read)."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[Hashable, Any]] = {topic: {} for topic in ALL}
        self._generation: dict[str, int] = dict.fromkeys(ALL, 0)
        self.mark = 0
        """Moves with every topic's generation: whatever was made from cached rows of any
        topic is stale once it moved."""

    def drop(self, topics: Iterable[str]) -> None:
        for topic in topics:
            entries = self._entries.get(topic)
            if entries is not None:
                entries.clear()
                self._generation[topic] += 1
                self.mark += 1

    def get(self, topic: str, key: Hashable) -> Any:
        """The cached value, or ``MISS``."""
        return self._entries[topic].get(key, _MISS)

    def generation(self, topic: str) -> int:
        return self._generation[topic]

    def put(self, topic: str, key: Hashable, value: Any, generation: int) -> None:
        """Keep ``value`` unless the topic was dropped since ``generation`` was read."""
        if self._generation[topic] != generation:
            return
        entries = self._entries[topic]
        if len(entries) >= MAX_ENTRIES:
            entries.clear()
        entries[key] = value


MISS = _MISS


class SharedCounters(Protocol):
    """Change counters kept beside the database, one per topic (Redis: see
    ``foxden.server.shared_changes``): a writer moves those of its topics once its commit is
    done, and a reader compares them with its last reading."""

    def bump(self, topics: Set[str]) -> None:
        """Move the counters of ``topics`` (after a commit); raises when it could not."""

    def read(self) -> Sequence[int]:
        """Every counter, in ``TOPIC_ORDER``; raises when they could not be read."""

    async def read_async(self) -> Sequence[int]:
        """:meth:`read` on the running event loop."""

    @property
    def mark_key(self) -> str:
        """Where the change mark lives, which every bump moves after the counters and a
        reading gives after them (the reading's last number)."""


@runtime_checkable
class ConfirmedReadings(Protocol):
    """A store whose cached rows a request may use as the last reading of the change
    counters left them, when its own round trip to the counters' service confirms that the
    change mark still stands (``foxden.server.fast``)."""

    def last_reading(self) -> tuple[tuple[int, ...], float, str] | None:
        """The counters last read (ending with the change mark), when that reading began
        (``time.perf_counter()``) and the mark's key, while the cached rows follow them;
        None when they do not."""

    def confirm(self, versions: tuple[int, ...], began: float) -> None:
        """The counters were ``versions`` at a moment after ``began``."""


class WalMarker:
    """The WAL-index header of a SQLite database in WAL mode: the first 48 bytes of its
    ``-shm`` file, which SQLite rewrites at the end of every commit by any connection (the
    change counter, the last valid frame, checksums; its own readers compare this header to
    learn that the database changed: https://www.sqlite.org/walformat.html). A checkpoint
    leaves it as it is.

    Read through a shared read-only mapping of the file's first page (a memory read, no
    system call: ``pread`` cost a few microseconds a request under load), as SQLite itself
    maps the file. A mapped page faults only if the file is cut to nothing, which SQLite
    never does while a connection has it open (it cuts a stale file to 3 bytes when the
    first connection opens it; ``SQLiteStore`` keeps its connection open for as long as its
    marker); a file shorter than the header gives None (then data_version must be asked),
    and so does one that cannot be mapped, read with ``pread`` instead."""

    SIZE = 48

    def __init__(self, path: str) -> None:
        self._fd: int | None = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._map: mmap.mmap | None = None
        try:
            if os.fstat(self._fd).st_size >= self.SIZE:
                self._map = mmap.mmap(self._fd, self.SIZE, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            self._map = None

    @classmethod
    def open(cls, database: str) -> WalMarker | None:
        """The marker of ``database`` (a file in WAL mode); None when there is none."""
        try:
            return cls(database + "-shm")
        except OSError:
            return None

    def read(self) -> bytes | None:
        """The header now; None when it cannot be read (then data_version must be asked)."""
        if self._map is not None:
            return self._map[: self.SIZE]
        if self._fd is None:
            return None
        try:
            header = os.pread(self._fd, self.SIZE, 0)
        except OSError:
            return None
        return header if len(header) == self.SIZE else None

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def payload(topics: Iterable[str]) -> str:
    return ",".join(sorted(topics))


def parse_payload(text: str) -> set[str]:
    """The topics of a notification; an unknown or empty payload means everything."""
    topics = {t for t in text.split(",") if t}
    return topics if topics and topics <= ALL else set(ALL)


class ChangeListener:
    """``LISTEN`` on ``channel`` of a PostgreSQL database in a daemon thread, with its own
    connection; ``on_change(topics)`` for each notification, and ``on_change(ALL)`` each
    time it (re)connects (what changed while it was away is unknown). ``listening`` is False
    until the first ``LISTEN`` is in place and whenever the connection is lost."""

    RETRY_S = 0.5
    POLL_S = 0.1

    def __init__(
        self,
        url: str,
        on_change: Callable[[set[str]], None],
        channel: str = CHANNEL,
    ) -> None:
        self.url = url
        self.on_change = on_change
        self.channel = channel
        self.listening = False
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="foxden-changes", daemon=True)

    def start(self, timeout: float = 10.0) -> bool:
        """Start listening; whether ``LISTEN`` was in place within ``timeout`` seconds."""
        self._thread.start()
        return self._ready.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.POLL_S * 4)

    def _run(self) -> None:
        import psycopg
        from psycopg import sql

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    self.on_change(set(ALL))
                    self.listening = True
                    self._ready.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=self.POLL_S):
                            self.on_change(parse_payload(note.payload))
            except psycopg.Error as exc:
                if self.listening:
                    log.warning("cache-change listener lost its connection: %s", exc)
            finally:
                self.listening = False
            self._stop.wait(self.RETRY_S)
