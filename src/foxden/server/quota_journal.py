"""The day's quota counts of one server process, kept in a memory-mapped file beside its
SQLite database as every call is counted.

A single process counts calls in memory (``foxden.server.limits.QuotaKeeper``). Written to
the store after every 8 counted calls, the counts cost a SQLite transaction every eighth
call (about 33 us, 6-10 us of a counted call's CPU: docs/bench-handlers.md), and a process
killed between two writes lost up to 7 counted calls. :class:`JournaledQuota` instead
writes each new count into a shared mapping of a small file (``<database>-quota``, a few
bytes into the page cache: no system call), and the store's copy is written by the timed
flush (``quota_flush_s``) and at shutdown. A process that is killed loses no counted call:
the next one to open the database reads what the file holds and writes it to the store
before it answers. A power failure may lose what the kernel had not yet written back, as
it may lose SQLite's last commits (``synchronous = NORMAL``).

The file is one process's at a time (``flock``): a second process on the same database
(which counts in its own memory anyway) keeps the usual writes every few calls. Each slot
is an account, a day and its count, with a check number over the three, so a slot half
written when the power went is recognised and skipped. The file's header names the
database it counts for (a random id kept in the database's ``meta`` table), so a file left
beside a database made again, or emptied (``--reset``: its ids start again), is not read
into it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import mmap
import os
import secrets
import struct
import threading
from collections.abc import Mapping
from datetime import date

from foxden.server.limits import QuotaKeeper
from foxden.store import Store

log = logging.getLogger("foxden.server")

MAGIC = b"foxden-quota-1\0\0"
OWNER = 16
"""Bytes of the database's id after the magic."""
HEADER = len(MAGIC) + OWNER
SLOT = struct.Struct("<qiII")
"""account id, day (date ordinal), count, check."""
SLOTS = 4096
"""(account, day) pairs the file holds between two flushes; past that, counts wait in
memory for the next flush (which empties the file)."""
SIZE = HEADER + SLOTS * SLOT.size
META_KEY = "quota_journal"
"""The database's id for its journal, in its ``meta`` table (hex)."""
_COUNT = struct.Struct("<II")
"""count and check, written together (one copy of 8 bytes)."""


def _check(account_id: int, ordinal: int, count: int) -> int:
    return (_slot_base(account_id, ordinal) + count * _COUNT_FACTOR) & 0xFFFFFFFF


def _slot_base(account_id: int, ordinal: int) -> int:
    """The part of a slot's check that does not change with its count."""
    return account_id * 0x9E3779B1 + ordinal * 0x85EBCA77 + 0x27D4EB2F


_COUNT_FACTOR = 0xC2B2AE3D


class QuotaJournal:
    """The file's slots (see the module's text). Not thread-safe: its keeper holds a lock."""

    def __init__(self, path: str, owner: bytes) -> None:
        if len(owner) != OWNER:
            raise ValueError(f"a journal's owner is {OWNER} bytes")
        self.owner = owner
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: another's
            size = SIZE
            if os.fstat(fd).st_size < size:
                os.ftruncate(fd, size)
            self._map = mmap.mmap(fd, size)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.path = path
        self._slots: dict[tuple[int, str], tuple[int, int]] = {}
        """Where each (account, day) written since the file was last emptied lives: its
        slot's offset, and the ``_slot_base`` of its check."""
        self._ordinals: dict[str, int] = {}

    @classmethod
    def open(cls, path: str, owner: bytes) -> QuotaJournal | None:
        """The journal at ``path`` for the database ``owner`` names; None (logged) when
        another process holds it or it cannot be made."""
        try:
            return cls(path, owner)
        except BlockingIOError:
            log.warning("%s is another process's: quota counts written every few calls", path)
        except OSError as exc:
            log.warning("no quota journal at %s (%s): counts written every few calls", path, exc)
        return None

    def left(self) -> dict[tuple[int, str], int]:
        """The counts the file holds (what the process before this one counted and may not
        have written to the store)."""
        found: dict[tuple[int, str], int] = {}
        if self._map[:HEADER] != MAGIC + self.owner:
            return found  # never written, or another database's
        for offset in range(HEADER, len(self._map) - SLOT.size + 1, SLOT.size):
            account_id, ordinal, count, check = SLOT.unpack_from(self._map, offset)
            if ordinal == 0:
                break  # slots are filled in order: the rest were never written
            if check != _check(account_id, ordinal, count) or ordinal < 1:
                continue  # half written
            key = (account_id, date.fromordinal(ordinal).isoformat())
            found[key] = max(found.get(key, 0), count)
        return found

    def start(self, keep: Mapping[tuple[int, str], int]) -> None:
        """Empty the file, then write ``keep`` (counts not yet in the store)."""
        self._map[:] = bytes(len(self._map))
        self._slots.clear()
        self._map[:HEADER] = MAGIC + self.owner
        for key, count in keep.items():
            self.write(key, count)

    def write(self, key: tuple[int, str], count: int) -> bool:
        """Keep ``count`` for (account, day); False when the file is full."""
        slot = self._slots.get(key)
        if slot is not None:  # every count after an account-day's first
            offset, base = slot
            _COUNT.pack_into(
                self._map, offset + 12, count, (base + count * _COUNT_FACTOR) & 0xFFFFFFFF
            )
            return True
        offset = HEADER + len(self._slots) * SLOT.size
        if offset + SLOT.size > len(self._map):
            return False
        ordinal = self._ordinal(key[1])
        SLOT.pack_into(self._map, offset, key[0], ordinal, count, _check(key[0], ordinal, count))
        self._slots[key] = (offset, _slot_base(key[0], ordinal))
        return True

    def _ordinal(self, day: str) -> int:
        found = self._ordinals.get(day)
        if found is None:
            if len(self._ordinals) > 64:
                self._ordinals.clear()
            found = self._ordinals[day] = date.fromisoformat(day).toordinal()
        return found

    def close(self) -> None:
        with contextlib.suppress(BufferError, ValueError):
            self._map.close()
        os.close(self._fd)


def owner_of(store: Store) -> bytes:
    """The database's id for its journal (made and kept in its ``meta`` table the first
    time)."""
    known = store.meta(META_KEY)
    if known is not None:
        with contextlib.suppress(ValueError):
            owner = bytes.fromhex(known)
            if len(owner) == OWNER:
                return owner
    owner = secrets.token_bytes(OWNER)
    store.put_meta(META_KEY, owner.hex())
    return owner


class JournaledQuota(QuotaKeeper):
    """:class:`QuotaKeeper` with every count in a :class:`QuotaJournal` as it is made: no
    call waits for (or is sent to the database thread by) a write of the counts; the
    server's timed flush writes them to the store, and at shutdown."""

    def __init__(self, store: Store, per_device: int, journal: QuotaJournal) -> None:
        super().__init__(store, per_device)
        self.journal = journal
        self._lock = threading.Lock()
        left = journal.left()
        if left:  # the process before this one stopped without writing these
            log.info("quota counts of %d account-days kept from %s", len(left), journal.path)
            _save_left(store, left)
        journal.start({})
        self._full = False

    def may_count_here(self) -> None:
        """Nothing to wait for: a count is in the journal as it is made."""

    def flush_due(self) -> bool:
        return False

    def _count(self, key: tuple[int, str], count: int) -> None:
        with self._lock:
            super()._count(key, count)
            if not self.journal.write(key, count) and not self._full:
                self._full = True
                log.warning("quota journal full: counts kept in memory until the next flush")

    def flush(self) -> None:
        with self._lock:
            super().flush()
            self.journal.start({k: self._counts[k] for k in self._dirty})
            self._full = False

    def forget(self) -> None:
        with self._lock:
            super().forget()
            self.journal.start({})

    def close(self) -> None:
        self.journal.close()


def _save_left(store: Store, left: dict[tuple[int, str], int]) -> None:
    """Write what the journal held to the store (a day's count only grows: the larger of
    the two stays); one at a time when that fails (an account deleted since), logging any
    that cannot be written."""
    try:
        store.save_usage(left)
        return
    except Exception:  # told apart below, one count at a time
        pass
    for key, count in left.items():
        try:
            store.save_usage({key: count})
        except Exception as exc:  # the server starts without it
            log.warning("quota count of account %d on %s not kept: %s", key[0], key[1], exc)
