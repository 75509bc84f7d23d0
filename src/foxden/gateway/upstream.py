"""The one door to the upstream: every call the gateway makes passes the budget, the
upstream's pacing and the backoff here, is counted, and (with ``--record``) is kept in a
cassette.

Pacing follows the cloud's rules (docs/fidelity.md): at least one second between two calls
to one path, at least two seconds between two setting writes to one inverter, counted from
the previous answer (plus a little slack). The gateway waits for its turn rather than be
refused with 40400.

Health: a call that gets no answer, or a transient errno (41200, 40400, 44098), marks the
upstream down; further calls wait out a capped exponential backoff with full jitter before
the next is tried (reads in the meantime are answered from the store). Any answer with an
envelope marks it up again. 40402 marks the day's budget spent.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from foxden.client import AsyncClient, RetryPolicy
from foxden.client import errors as client_errors
from foxden.client.core import Call
from foxden.clock import Clock, RealClock
from foxden.gateway.budget import Budget, Kind
from foxden.gateway.cassette import Recorder, RecordingTransport
from foxden.protocol import limits
from foxden.protocol.errno import Errno

T = TypeVar("T")
log = logging.getLogger("foxden.gateway")

PACING_SLACK_S = 0.1
"""Added to the cloud's intervals: the upstream measures them between arrivals, and one
request can travel faster than the one before it."""

DOWN_ERRNOS = frozenset({int(Errno.QUERY_FAILED), int(Errno.TOO_FREQUENT), 40401, 44098})
"""Answers that say the upstream is struggling rather than that the request was wrong."""


class UpstreamUnavailable(Exception):
    """The call was not sent: the upstream is in backoff, or the budget does not allow it.
    ``reason`` says which, for logs and for the 41200 detail."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(slots=True)
class Backoff:
    """Capped exponential backoff with full jitter; ``rng`` is replaceable in tests."""

    base_s: float = 5.0
    cap_s: float = 300.0
    rng: Callable[[], float] = field(default=random.random)

    def delay_s(self, failures: int) -> float:
        ceiling = min(self.cap_s, self.base_s * 2.0 ** max(0, failures - 1))
        return max(self.base_s / 2, float(self.rng()) * ceiling)


@dataclass(slots=True)
class Health:
    up: bool = True
    failures: int = 0
    next_try_ms: int = 0
    last_ok_ms: int = 0
    last_error: str = ""


@dataclass(slots=True)
class CallCounts:
    """Upstream calls since the gateway started, by path and by outcome."""

    by_path: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    refused_by_budget: int = 0
    skipped_in_backoff: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_path.values())


class Upstream:
    """The upstream account, through foxden's own AsyncClient."""

    def __init__(
        self,
        url: str,
        key: str,
        budget: Budget,
        *,
        record_dir: Path | None = None,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
        path_interval_s: float = limits.PATH_MIN_INTERVAL_MS / 1000 + PACING_SLACK_S,
        write_interval_s: float = limits.DEVICE_WRITE_MIN_INTERVAL_MS / 1000 + PACING_SLACK_S,
        timeout_s: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.budget = budget
        self.clock = clock or RealClock()
        self.backoff = backoff or Backoff()
        self.recorder = Recorder(record_dir) if record_dir is not None else None
        transport = RecordingTransport(self.recorder) if self.recorder is not None else None
        self.client = AsyncClient(
            key,
            self.url,
            transport=transport,
            timeout=timeout_s,
            retry=RetryPolicy(max_retries=0),  # the gateway's own backoff decides
        )
        self.path_interval_s = path_interval_s
        self.write_interval_s = write_interval_s
        self._paths: dict[str, float] = {}
        """The earliest next call on each path (``time.monotonic()`` seconds): the interval
        after the previous answer."""
        self._writes: dict[str, float] = {}
        """The earliest next setting write to each inverter."""
        self._locks: dict[str, asyncio.Lock] = {}
        """One call at a time per path, and per inverter for setting writes."""
        self.health = Health()
        self.counts = CallCounts()

    async def aclose(self) -> None:
        await self.client.aclose()

    def _write_sn(self, c: Call[Any]) -> str:
        if not c.endpoint.device_write:
            return ""
        fields = {**(c.params or {}), **(c.body or {})}
        return str(fields.get("sn") or fields.get("deviceSN") or "")

    async def call(self, kind: Kind, c: Call[T]) -> T:
        """Send ``c`` if the backoff and the budget allow, after its pacing.

        Calls to one path go one at a time, the next no sooner than the interval after the
        previous one's answer came back (the upstream measures between arrivals, and an
        answer comes back after its request arrived); setting writes to one inverter
        likewise. Raises UpstreamUnavailable when it was not sent, and the client's FoxError
        for an answer with an errno (the upstream's errno and msg) or no answer at all."""
        now_ms = self.clock.now_ms()
        if not self.health.up and now_ms < self.health.next_try_ms:
            self.counts.skipped_in_backoff += 1
            wait = (self.health.next_try_ms - now_ms) / 1000
            raise UpstreamUnavailable(
                f"upstream unreachable ({self.health.last_error}); next try in {wait:.0f} s"
            )
        if c.endpoint.counted and not self.budget.try_spend(kind, now_ms):
            self.counts.refused_by_budget += 1
            plan = self.budget.plan(now_ms)
            raise UpstreamUnavailable(
                f"upstream budget: {plan.used} of {plan.quota} calls used today; "
                f"no {kind} call fits the plan"
            )
        sn = self._write_sn(c)
        path_lock = self._locks.setdefault(c.path, asyncio.Lock())
        sn_lock = self._locks.setdefault("sn:" + sn, asyncio.Lock()) if sn else asyncio.Lock()
        async with path_lock, sn_lock:
            ready = max(self._paths.get(c.path, 0.0), self._writes.get(sn, 0.0) if sn else 0.0)
            wait = ready - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                return await self._send(kind, c)
            finally:
                done = time.monotonic()
                self._paths[c.path] = done + self.path_interval_s
                if sn:
                    self._writes[sn] = done + self.write_interval_s

    async def _send(self, kind: Kind, c: Call[T]) -> T:
        self.counts.by_path[c.path] = self.counts.by_path.get(c.path, 0) + 1
        self.counts.by_kind[kind] = self.counts.by_kind.get(kind, 0) + 1
        try:
            result = await self.client.execute(c)
        except client_errors.ApiError as exc:
            if exc.errno == Errno.QUOTA_EXCEEDED:
                self.budget.exhausted(self.clock.now_ms())
            if exc.errno in DOWN_ERRNOS:
                self._failed(f"errno {exc.errno} {exc.msg}")
            else:
                self._answered()
            raise
        except client_errors.FoxError as exc:
            self._failed(str(exc))
            raise
        self._answered()
        return result

    def _answered(self) -> None:
        if not self.health.up:
            log.info("upstream %s answers again", self.url)
        self.health.up = True
        self.health.failures = 0
        self.health.last_ok_ms = self.clock.now_ms()

    def _failed(self, reason: str) -> None:
        self.counts.failed += 1
        self.health.failures += 1
        delay = self.backoff.delay_s(self.health.failures)
        if self.health.up:
            log.warning("upstream %s failed (%s); backing off", self.url, reason)
        self.health.up = False
        self.health.last_error = reason
        self.health.next_try_ms = self.clock.now_ms() + round(delay * 1000)
