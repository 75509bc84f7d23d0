"""Store calls that must not wait.

The server's event loop may use a store whose every query is a network round trip
(PostgreSQL) only for what is already in memory: rows its caches hold. Inside
:func:`without_waiting`, such a store raises :class:`WouldWait` instead of sending a query
or waiting for a lock another thread holds; the caller then does the same work where waiting
is allowed (the server's database thread). Nothing a store does before it raises is a write,
so the work can start again from the beginning.
"""

from __future__ import annotations

import threading
import time
from typing import Any


class WouldWait(BaseException):
    """A store call inside :func:`without_waiting` would have waited (a query, or a lock held
    by another thread). A BaseException, so that no ``except Exception`` on the way (a read
    that retries, a cache that gives up) takes it for a database failure."""


class _Flag(threading.local):
    on = False


_flag = _Flag()


class without_waiting:
    """In this thread, store calls that would wait raise :class:`WouldWait` instead (a
    context manager; a class, not a generator: it is entered by calls on the event loop)."""

    __slots__ = ("_before",)

    def __enter__(self) -> None:
        self._before = _flag.on
        _flag.on = True

    def __exit__(self, *exc: object) -> None:
        _flag.on = self._before


def forbidden() -> bool:
    """Whether this thread is inside :func:`without_waiting`."""
    return _flag.on


class _Waited(threading.local):
    s = 0.0


class GuardedLock:
    """A re-entrant lock that, inside :func:`without_waiting`, is taken only if it is free
    (or already this thread's), else raises :class:`WouldWait` (``guarded=False``: never
    raises, a plain re-entrant lock). It counts the threads blocked waiting for it, so that
    a long writer can let them in between its parts (:meth:`let_waiters_in`): a plain lock
    is not fair, and a writer that takes it again at once can keep a reader waiting for
    several parts in a row. Each thread's time spent blocked in it is added up
    (:meth:`waited_s`): what a write made a reader wait, apart from the CPU they shared."""

    __slots__ = ("_count", "_guarded", "_lock", "_waited", "waiting")

    def __init__(self, guarded: bool = True) -> None:
        self._lock = threading.RLock()
        self._guarded = guarded
        self._count = threading.Lock()
        self.waiting = 0
        """Threads blocked in ``__enter__`` now."""
        self._waited = _Waited()

    def __enter__(self) -> None:
        if self._lock.acquire(blocking=False):
            return
        if self._guarded and _flag.on:
            raise WouldWait
        self.acquire_within(-1)

    def waited_s(self) -> float:
        """Seconds this thread has spent blocked waiting for the lock, in all."""
        return self._waited.s

    def __exit__(self, *exc: Any) -> None:
        self._lock.release()

    def acquire_within(self, timeout_s: float) -> bool:
        """Take the lock, waiting for it at most ``timeout_s`` (-1: for as long as it
        takes), counted among the waiters and as a wait (see :meth:`waited_s`). True: taken
        (give it back with ``__exit__``)."""
        with self._count:
            self.waiting += 1
        started = time.perf_counter()
        try:
            return self._lock.acquire(timeout=timeout_s)
        finally:
            self._waited.s += time.perf_counter() - started
            with self._count:
                self.waiting -= 1

    def acquire_now(self) -> bool:
        """Take the lock if it is free (or already this thread's); never waits. True:
        taken (give it back with ``__exit__``)."""
        return self._lock.acquire(blocking=False)

    def let_waiters_in(self, longest_s: float) -> None:
        """Between two parts of a long write (this thread not holding the lock): while
        other threads wait for the lock, step aside (sleeping, so they get the CPU and the
        lock) for at most ``longest_s``, so that each waits for one part at most."""
        if not self.waiting or self._lock._is_owned():  # type: ignore[attr-defined]
            return
        deadline = time.perf_counter() + longest_s
        while self.waiting and time.perf_counter() < deadline:
            time.sleep(0.0001)
