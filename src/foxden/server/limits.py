"""Pacing, per-key request rate and per-account daily quota, exact within one server process.

The server runs one event loop, so counters change without interleaving. Quota use is
written to the store after every ``flush_every`` counted calls, every ``flush_s`` seconds
and at shutdown, so a crash (kill -9) loses at most ``flush_every - 1`` counted calls.
While the database is away the counts stay in memory and are written when it returns.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from foxden.limits_policy import quota_total
from foxden.store import Store, waiting

log = logging.getLogger("foxden.server")
RETRY_S = 1.0
"""After a failed write of quota use, counted calls do not try again for this long."""


@functools.lru_cache(maxsize=8)
def _day_name(day: int) -> str:
    return datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d")


def utc_day(ms: int) -> str:
    """The UTC day a quota counts in; the quota resets at 00:00 UTC."""
    return _day_name(ms // 86_400_000)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp_ms: int


class RateLimiter:
    """A token bucket per key: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._buckets: dict[int, _Bucket] = {}

    def allow(self, key: int, now_ms: int) -> bool:
        if self.rate <= 0:
            return True
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now_ms)
        elapsed = max(0, now_ms - bucket.stamp_ms) / 1000.0
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
        bucket.stamp_ms = now_ms
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        return False


class Spacing:
    """The real cloud's pacing: one accepted call per key (a path, or an inverter) per
    ``interval_ms``. Only accepted calls start the interval, so a client that waits the
    interval after a refusal always gets through."""

    def __init__(self, interval_ms: int) -> None:
        self.interval_ms = interval_ms
        self._last: dict[object, int] = {}

    def wait_ms(self, key: object, now_ms: int) -> int:
        """Milliseconds until ``key`` may be used again; 0 when it may now."""
        last = self._last.get(key)
        if last is None or self.interval_ms <= 0:
            return 0
        return max(0, last + self.interval_ms - now_ms)

    def record(self, key: object, now_ms: int) -> None:
        if self.interval_ms > 0:
            self._last[key] = now_ms


class QuotaKeeper:
    """Daily call counts per account, kept in memory and flushed to the store."""

    def __init__(self, store: Store, per_device: int, flush_every: int = 8) -> None:
        self.store = store
        self.per_device = per_device
        self.flush_every = max(1, flush_every)
        self._counts: dict[tuple[int, str], int] = {}
        self._dirty: set[tuple[int, str]] = set()
        self._unsaved = 0
        self._retry_at = 0.0

    def total(self, device_count: int) -> int:
        return quota_total(self.per_device, device_count)

    def used(self, account_id: int, now_ms: int) -> int:
        key = (account_id, _day_name(now_ms // 86_400_000))  # utc_day, called often
        if key not in self._counts:
            self._counts[key] = self.store.usage(*key)
        return self._counts[key]

    def may_count_here(self) -> None:
        """Raise ``WouldWait`` where writing may not wait (the event loop) when counting one
        more call there would leave ``flush_every`` calls counted in memory only: that call
        is counted where the count is written at once, so a crash never loses more than
        ``flush_every - 1`` (while the database refuses writes, counts stay in memory)."""
        if (
            waiting.forbidden()
            and self._unsaved + 1 >= self.flush_every
            and time.monotonic() >= self._retry_at
        ):
            raise waiting.WouldWait

    def try_spend(
        self, account_id: int, device_count: int, now_ms: int, enforce: bool = True
    ) -> bool:
        """Count one call; False (and nothing counted) when the day's quota is spent and
        ``enforce`` is on."""
        key = (account_id, _day_name(now_ms // 86_400_000))  # utc_day
        used = self._counts.get(key)
        if used is None:
            used = self.used(account_id, now_ms)
        if enforce and used >= quota_total(self.per_device, device_count):
            return False
        self._count(key, used + 1)
        if self.flush_due() and not waiting.forbidden():
            try:
                self.flush()
            except Exception as exc:  # the call is counted in memory; written later
                log.warning("quota use kept in memory, the database refused it: %s", exc)
        return True

    def _count(self, key: tuple[int, str], count: int) -> None:
        """Keep ``count`` as (account, day)'s count, to be written to the store."""
        self._counts[key] = count
        self._dirty.add(key)
        self._unsaved += 1

    def close(self) -> None:
        """After the last flush (the server's shutdown): nothing to give back here."""

    def forget(self) -> None:
        """Drop the counts in memory (the store's were replaced); they are read again."""
        self._counts.clear()
        self._dirty.clear()
        self._unsaved = 0

    def flush_due(self) -> bool:
        """Enough calls are counted in memory only that they should be written now (where
        writing may wait: a call counted on the event loop leaves it to the database
        thread)."""
        return self._unsaved >= self.flush_every and time.monotonic() >= self._retry_at

    @property
    def unsaved(self) -> int:
        """Counted calls not yet written to the store."""
        return self._unsaved

    def flush(self) -> None:
        """Write the counts that changed; on failure they stay pending (and it raises)."""
        if not self._dirty:
            return
        batch = {k: self._counts[k] for k in self._dirty}
        self._dirty.clear()
        try:
            self.store.save_usage(batch)
        except BaseException:
            self._dirty.update(batch)
            self._retry_at = time.monotonic() + RETRY_S
            raise
        self._unsaved = 0
        today = max(day for _, day in self._counts)
        for key in [k for k in self._counts if k[1] < today and k not in self._dirty]:
            del self._counts[key]
