"""The gateway's upstream work, as loops the server runs while it is up: the inventory
(plants and inverters), real-time refreshes in v1 batches, history backfill, and the
upstream's own count of the key's calls.

Every call goes through :class:`foxden.gateway.upstream.Upstream` (budget, pacing,
backoff); what comes back goes into the store through :mod:`foxden.gateway.mirror`. A
failure is logged and tried again later; the loops never stop the server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from foxden.client import calls
from foxden.client import errors as client_errors
from foxden.client.convenience import sn_batches
from foxden.client.core import Call
from foxden.clock import Clock
from foxden.gateway import mirror
from foxden.gateway.budget import ACCESS_EVERY_MS, DAY_MS, INVENTORY_EVERY_MS
from foxden.gateway.upstream import Upstream, UpstreamUnavailable
from foxden.protocol import limits
from foxden.protocol import structs as s
from foxden.store import Account, Store

log = logging.getLogger("foxden.gateway")
T = TypeVar("T")

PAGE_SIZE = 100
SAMPLE_MS = 5 * 60_000
"""The cloud keeps a point about every five minutes."""
UPSTREAM_ERRORS: tuple[type[Exception], ...] = (client_errors.FoxError, UpstreamUnavailable)
"""What a loop's run may fail with: it is noted, and the loop goes on."""
FULL_DAY_SHARE = 0.9
"""A past UTC day holding this share of its five-minute points needs no backfill."""


@dataclass(slots=True)
class Progress:
    """What the loops have done, for the status view and the metrics."""

    inventory_ms: int = 0
    inverters: int = 0
    plants: int = 0
    refresh_ms: int = 0
    """When real-time data last came back from the upstream (gateway clock)."""
    refresh_attempt_ms: int = 0
    refreshes: int = 0
    newest_sample_ms: dict[str, int] = field(default_factory=dict)
    backfill_days_done: int = 0
    backfill_days_wanted: int = 0
    backfill_samples: int = 0
    last_error: str = ""


class Poller:
    """Keeps the store's mirror of the upstream account up to date."""

    def __init__(
        self,
        store: Store,
        upstream: Upstream,
        clock: Clock,
        *,
        refresh_s: float = 300.0,
        backfill_days: float = 7.0,
        offload: Callable[..., Awaitable[Any]] | None = None,
    ) -> None:
        self.store = store
        self.upstream = upstream
        self.clock = clock
        self.refresh_s = refresh_s
        self.backfill_days = backfill_days
        self.progress = Progress()
        self.owner: Account = mirror.owner_account(store, clock.now_ms())
        self._offload = offload
        self._done_days: set[tuple[str, int]] = set()
        self._inventory_ready = asyncio.Event()
        self._was_down = False
        self._logged: dict[str, int] = {}

    async def _db(self, work: Callable[..., Any], *args: Any) -> Any:
        if self._offload is not None:
            return await self._offload(work, *args)
        return work(*args)

    def mirrored_sns(self) -> list[str]:
        devices, _ = self.store.devices(self.owner.id, 0, 1_000_000)
        return [d.sn for d in devices]

    # ------------------------------------------------------------ inventory

    async def sync_inventory(self) -> None:
        """Read the upstream's plants and inverters (lists, then each one's detail) and
        make the store's mirror match."""
        up = self.upstream
        now = self.clock.now_ms()
        plants = await self._every_page(calls.plant_list)
        devices = await self._every_page(calls.device_list)
        plant_records = []
        for plant in plants:
            detail = await up.call("inventory", calls.plant_detail(plant.stationID))
            plant_records.append(mirror.plant_record(self.owner, plant, detail, now))
        device_records = []
        for device in devices:
            info: s.DeviceDetailV1 = await up.call(
                "inventory", calls.device_detail_v1(device.deviceSN)
            )
            device_records.append(mirror.device_record(self.owner, device, info, now))
        added = await self._db(
            mirror.apply_inventory, self.store, self.owner, plant_records, device_records
        )
        self.upstream.budget.inverters = len(devices)
        self.progress.inventory_ms = self.clock.now_ms()
        self.progress.inverters = len(devices)
        self.progress.plants = len(plants)
        if added != (0, 0):
            log.info("mirrored %d new plants and %d new inverters", *added)
        plan = self.upstream.budget.plan(self.clock.now_ms())
        log.info(
            "upstream budget for %d inverters: %d calls a day; real-time %d (%d batch(es) every "
            "%g s), inventory %d, writes reserve %d, backfill up to %d, margin %d; %d used today",
            plan.inverters,
            plan.quota,
            plan.realtime_per_day,
            plan.batches,
            plan.refresh_s,
            plan.inventory_per_day,
            plan.write_reserve,
            plan.backfill_per_day,
            plan.margin,
            plan.used,
        )
        self._inventory_ready.set()

    async def _every_page(self, page_call: Callable[[int, int], Call[s.PageResult[T]]]) -> list[T]:
        """Every item of a paged list (plants, inverters), a page of PAGE_SIZE per call."""
        items: list[T] = []
        page = 1
        while True:
            got = await self.upstream.call("inventory", page_call(page, PAGE_SIZE))
            items += got.data
            if not got.data or len(items) >= got.total:
                return items
            page += 1

    async def _repeat(
        self,
        what: str,
        step: Callable[[], Awaitable[float]],
        failed: Callable[[], float],
        errors: tuple[type[Exception], ...] = UPSTREAM_ERRORS,
    ) -> None:
        """Run ``step`` for ever, sleeping the seconds it answers after each run; a failure
        is noted as ``what`` and the next run comes ``failed()`` seconds later."""
        while True:
            try:
                wait_s = await step()
            except errors as exc:
                self._note(f"{what}: {exc}")
                wait_s = failed()
            await asyncio.sleep(wait_s)

    async def inventory_loop(self) -> None:
        async def step() -> float:
            await self.sync_inventory()
            return INVENTORY_EVERY_MS / 1000

        await self._repeat("inventory", step, self._retry_s)

    def _retry_s(self) -> float:
        health = self.upstream.health
        if health.up:
            return min(self.refresh_s, 60.0)
        return max(0.5, (health.next_try_ms - self.clock.now_ms()) / 1000)

    def _note(self, text: str) -> None:
        """Keep the failure for the status view; log it unless the same loop logged one in
        the last minute (an upstream down for hours is one line a minute per loop)."""
        self.progress.last_error = text
        loop = text.split(":", 1)[0]
        now = self.clock.now_ms()
        if now - self._logged.get(loop, -60_000) >= 60_000:
            self._logged[loop] = now
            log.warning("%s", text)

    # ------------------------------------------------------------ real time

    async def refresh(self) -> int:
        """One real-time refresh: one v1 call per batch of up to 50 inverters; the samples
        stored. Returns how many inverters got a new sample."""
        sns = await self._db(self.mirrored_sns)
        self.progress.refresh_attempt_ms = self.clock.now_ms()
        stored = 0
        for batch in sn_batches(sns, limits.REAL_QUERY_MAX_SNS):
            answer = await self.upstream.call("realtime", calls.real_time_v1(batch))
            samples = mirror.realtime_samples(answer, set(batch))
            if samples:
                await self._db(self.store.ingest, samples)
            for sample in samples:
                self.progress.newest_sample_ms[sample.sn] = int(sample.times_ms[-1])
            stored += len(samples)
        self.progress.refresh_ms = self.clock.now_ms()
        self.progress.refreshes += 1
        return stored

    async def realtime_loop(self) -> None:
        async def step() -> float:
            started = self.clock.now_ms()
            await self.refresh()
            if self._was_down:
                self._was_down = False
                self._done_days = {d for d in self._done_days if not self._today(d[1])}
            return max(0.05, self.refresh_s - (self.clock.now_ms() - started) / 1000)

        def failed() -> float:
            self._was_down = not self.upstream.health.up
            return max(0.05, min(self.refresh_s, self._retry_s()))

        await self._inventory_ready.wait()
        await self._repeat("real-time refresh", step, failed)

    def stale_s(self) -> float:
        """Seconds since real-time data last came back; 0 while it is fresh (within two
        refresh intervals); -1 before the first refresh."""
        if not self.progress.refresh_ms:
            return -1.0
        age = (self.clock.now_ms() - self.progress.refresh_ms) / 1000
        return age if age > 2 * self.refresh_s else 0.0

    # ------------------------------------------------------------ history backfill

    def _today(self, day: int) -> bool:
        return day >= self.clock.now_ms() // DAY_MS

    def _lacking(self, sn: str, day: int, now_ms: int) -> bool:
        begin = day * DAY_MS
        end = min(begin + DAY_MS - 1, now_ms)
        if end <= begin:
            return False
        held = len(self.store.history(sn, begin, end).times_ms)
        return held < FULL_DAY_SHARE * (end - begin) / SAMPLE_MS

    async def backfill_pass(self) -> int:
        """Fetch each mirrored inverter's history of the UTC days it lacks, newest first,
        within the backfill horizon, as far as the budget allows. Returns the samples
        stored."""
        if self.backfill_days <= 0:
            return 0
        now = self.clock.now_ms()
        first_day = (now - round(self.backfill_days * DAY_MS)) // DAY_MS
        days = range(now // DAY_MS, first_day - 1, -1)
        sns = await self._db(self.mirrored_sns)
        self.progress.backfill_days_wanted = len(days) * len(sns)
        stored = 0
        for day in days:
            for sn in sns:
                if (sn, day) in self._done_days:
                    continue
                if not await self._db(self._lacking, sn, day, now):
                    self._done_days.add((sn, day))
                    continue
                begin = max(day * DAY_MS, now - round(self.backfill_days * DAY_MS))
                end = min(day * DAY_MS + DAY_MS - 1, now)
                answer = await self.upstream.call("backfill", calls.history(sn, begin, end))
                samples = mirror.history_samples(answer)
                if samples:
                    await self._db(self.store.ingest, samples)
                    stored += sum(len(x.times_ms) for x in samples)
                self._done_days.add((sn, day))
        self.progress.backfill_days_done = len(self._done_days)
        self.progress.backfill_samples += stored
        return stored

    async def backfill_loop(self) -> None:
        async def step() -> float:
            stored = await self.backfill_pass()
            if stored:
                log.info("backfilled %d history samples", stored)
            wait_s = 3600.0 if not self._was_down else self._retry_s()
            return min(wait_s, max(self.refresh_s, 1.0))

        def failed() -> float:
            return min(max(self._retry_s(), 1.0), max(self.refresh_s, 1.0))

        await self._inventory_ready.wait()
        await self._repeat("backfill", step, failed)

    # ------------------------------------------------------------ the key's count

    async def access_loop(self) -> None:
        async def step() -> float:
            count = await self.upstream.call("access", calls.access_count())
            self.upstream.budget.observe_upstream(
                int(count.total), int(count.remaining), self.clock.now_ms()
            )
            return ACCESS_EVERY_MS / 1000

        # a count that is not a number is noted and asked again later, like a failed call
        await self._repeat("access count", step, self._retry_s, (*UPSTREAM_ERRORS, ValueError))

    def loops(self) -> list[Coroutine[Any, Any, None]]:
        return [
            self.inventory_loop(),
            self.realtime_loop(),
            self.backfill_loop(),
            self.access_loop(),
        ]
