"""Store calls that must not wait.

The server's event loop may use a store whose every query is a network round trip
(PostgreSQL) only for what is already in memory: rows its caches hold. Inside
:func:`without_waiting`, such a store raises :class:`WouldWait` instead of sending a query
or waiting for a lock another thread holds; the caller then does the same work where waiting
is allowed (the server's database thread). Nothing a store does before it raises is a write,
so the work can start again from the beginning.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any


class WouldWait(BaseException):
    """A store call inside :func:`without_waiting` would have waited (a query, or a lock held
    by another thread). A BaseException, so that no ``except Exception`` on the way (a read
    that retries, a cache that gives up) takes it for a database failure."""


class _Flag(threading.local):
    on = False


_flag = _Flag()


@contextlib.contextmanager
def without_waiting() -> Iterator[None]:
    """In this thread, store calls that would wait raise :class:`WouldWait` instead."""
    before = _flag.on
    _flag.on = True
    try:
        yield
    finally:
        _flag.on = before


def forbidden() -> bool:
    """Whether this thread is inside :func:`without_waiting`."""
    return _flag.on


class GuardedLock:
    """A re-entrant lock that, inside :func:`without_waiting`, is taken only if it is free
    (or already this thread's), else raises :class:`WouldWait`."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def __enter__(self) -> None:
        if _flag.on:
            if not self._lock.acquire(blocking=False):
                raise WouldWait
        else:
            self._lock.acquire()

    def __exit__(self, *exc: Any) -> None:
        self._lock.release()
