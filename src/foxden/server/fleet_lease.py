"""Exactly one simulated fleet for every process and machine sharing a database.

Every process that may run the fleet holds a :class:`FleetDuty`; each tick it asks its lease
whether it is the one. The lease is a PostgreSQL session advisory lock on a connection of its
own (the database drops it the moment that connection ends: a killed process, a lost
machine once its socket times out), or on SQLite, which one machine shares, an exclusive
``flock`` on ``fleet.lock`` in the data dir (the kernel drops it when the process dies).
A process that takes the lease over rebuilds the fleet from the store (each inverter goes on
from its newest stored sample) and catches up: no sample is simulated twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from foxden.clock import Clock

if TYPE_CHECKING:
    from foxden.sim.runner import FleetRunner

log = logging.getLogger("foxden.server")

LOCK_KEY = 7175231
"""The advisory lock of the fleet (the schema migration uses 7175230)."""


class Lease(Protocol):
    def check(self) -> bool:
        """Whether this process holds the lease now (taking it when it is free)."""

    def release(self) -> None: ...


class PostgresLease:
    """``pg_try_advisory_lock`` on a connection of its own, kept open (a process waiting for
    the lease tries again on it; the holder's lease lasts as long as it)."""

    def __init__(self, url: str, key: int = LOCK_KEY) -> None:
        self.url = url
        self.key = key
        self._conn: Any = None
        self._held = False

    def check(self) -> bool:
        import psycopg

        try:
            if self._conn is None:
                self._conn = psycopg.connect(
                    self.url,
                    autocommit=True,
                    # who holds the lease, seen in pg_stat_activity beside pg_locks
                    application_name=f"foxden fleet {socket.gethostname()[:32]} {os.getpid()}",
                    connect_timeout=5,
                    keepalives=1,
                    keepalives_idle=5,
                    keepalives_interval=2,
                    keepalives_count=3,
                )
            if self._held:
                self._conn.execute("SELECT 1")  # still connected, so still holding it
                return True
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            self._held = bool(row and row[0])
            return self._held
        except psycopg.Error as exc:
            log.warning("fleet lease: database connection lost: %s", exc)
            self.release()
            return False

    def release(self) -> None:
        conn, self._conn, self._held = self._conn, None, False
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


class NoLease:
    """Never held: an API worker whose supervisor runs the fleet in a process of its own."""

    def check(self) -> bool:
        return False

    def release(self) -> None:
        return None


class FileLease:
    """An exclusive ``flock`` on a file, opened by this process (never inherited)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def check(self) -> bool:
        if self._file is not None:
            return True
        handle = open(self.path, "ab")  # noqa: SIM115 - held open for as long as the lease
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            handle.close()


def open_lease(database_url: str, data_dir: str) -> Lease:
    """The lease for a database: an advisory lock on PostgreSQL, a file lock beside SQLite."""
    if database_url.startswith(("postgresql://", "postgres://")):
        return PostgresLease(database_url)
    return FileLease(Path(data_dir) / "fleet.lock")


class FleetDuty:
    """One tick of the fleet in a process that shares it: nothing unless this process holds
    the lease; on taking it, the fleet is rebuilt from the store and catches up from the last
    ``backfill_days`` days (each inverter from its newest sample); then it steps to now."""

    def __init__(
        self, runner: FleetRunner, clock: Clock, lease: Lease, backfill_days: float
    ) -> None:
        self.runner = runner
        self.clock = clock
        self.lease = lease
        self.backfill_days = backfill_days
        self.leading = False

    def tick(self) -> int:
        """Samples stored by this tick (0 when another process runs the fleet)."""
        if not self.lease.check():
            if self.leading:
                log.warning("process %d lost the fleet lease", os.getpid())
            self.leading = False
            return 0
        if not self.leading:
            log.info("process %d runs the fleet", os.getpid())
            self.runner.forget()
            self.leading = True
            started = time.perf_counter()
            if self.backfill_days > 0:
                stored = self.runner.backfill(self.backfill_days)
            else:
                stored = self.runner.run_until(self.clock.now_ms())
            log.info(
                "process %d caught the fleet up to its clock: %d samples in %.1f s",
                os.getpid(),
                stored,
                time.perf_counter() - started,
            )
            return stored
        return self.runner.run_until(self.clock.now_ms())

    def close(self) -> None:
        self.lease.release()
        self.leading = False
