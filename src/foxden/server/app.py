"""The ASGI app: ``create_app(settings, store, clock, runner, admin_token)``.

Each /op/ route parses its request into the protocol struct, runs the area's handler
and renders the envelope. Any failure becomes an errno envelope with HTTP 200, as the
vendor cloud answers; an unexpected exception is logged and answered 41200, never 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope

from foxden.clock import Clock, RealClock
from foxden.config import Settings
from foxden.limits_policy import limit_profile
from foxden.protocol.endpoints import ENDPOINTS, Endpoint
from foxden.protocol.errno import SUCCESS_MESSAGE, Errno
from foxden.server import envelope
from foxden.server.admin_accounts import AccountAdmin
from foxden.server.areas import HANDLERS
from foxden.server.areas.errors import PUBLIC_HANDLERS
from foxden.server.auth import Authenticator
from foxden.server.chaos import Chaos
from foxden.server.context import Ctx
from foxden.server.double_admin import DoubleAdmin
from foxden.server.errors import ApiError
from foxden.server.fast import FastPath, Served, signed_view
from foxden.server.home import Home
from foxden.server.incoming import RawView
from foxden.server.journal import Exchange, Journal
from foxden.server.limits import QuotaKeeper, RateLimiter
from foxden.server.metrics import CONTENT_TYPE as METRICS_TYPE
from foxden.server.metrics import Metrics
from foxden.server.openapi import openapi_document
from foxden.server.ui import Dashboard
from foxden.sim.clock import SimClock
from foxden.store import Account, Store

if TYPE_CHECKING:  # the simulator (numpy physics, pvlib) loads only with a fleet
    from foxden.server.admin import Admin
    from foxden.server.fleet_lease import FleetDuty
    from foxden.server.shared_limits import RedisLimits
    from foxden.sim.runner import FleetRunner
    from foxden.store.postgres_async import AsyncChangeCounters

log = logging.getLogger("foxden.server")


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused request, as the server log (and any observer) sees it."""

    method: str
    path: str
    account_id: int | None
    errno: int
    msg: str
    detail: str


RefusalObserver = Callable[[Refusal], None]
"""Called for every refusal (e.g. a request journal); must not raise."""


class FoxdenApp:
    """Holds the server's state; ``app`` is the ASGI application (the Open API fast path in
    front of Starlette)."""

    READY_ANSWERS = True
    """Keep the answers of read-only calls ready (``foxden.server.fast.READY``); off for a
    server whose ``ctx`` shows handlers more than the store's rows."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Clock | None = None,
        runner: FleetRunner | None = None,
        admin_token: str = "",
        duty: FleetDuty | None = None,
    ) -> None:
        self.settings = settings
        self.duty = duty
        """With a fleet shared by several processes: runs it when this process holds the
        lease (None: the fleet is this process's own)."""
        self.store = store
        self.clock = clock or RealClock()
        """The data clock: "now" for telemetry, reports and device times (simulated time
        when a fleet runs accelerated). Authentication and quotas use the wall clock."""
        self.wall: Clock = RealClock()
        self.db_thread = (
            ThreadPoolExecutor(1, thread_name_prefix="foxden-db")
            if getattr(store, "REMOTE", False)
            else None
        )
        """A store whose every query is a network round trip (PostgreSQL) is used from this
        one thread, never from the event loop: authentication, the quota and the handlers
        run there, one call at a time as on the loop (the store serialises its queries
        anyway), while the loop keeps reading and writing sockets. A read whose rows are all
        cached is answered on the loop without waiting (``foxden.store.waiting``)."""
        self.read_threads: ThreadPoolExecutor | None = None
        """With such a store, ``settings.db_readers`` threads for read-only work (no
        ``serve_lock``), each reading on a connection of its own (``open_readers``): reads
        that need a query do not queue behind one another or behind writes."""
        if self.db_thread is not None and settings.db_readers > 0:
            open_readers = getattr(store, "open_readers", None)
            if open_readers is not None:
                open_readers(settings.db_readers)
                self.read_threads = ThreadPoolExecutor(
                    settings.db_readers, thread_name_prefix="foxden-read"
                )
        self.serve_lock = threading.Lock()
        """Held by whatever answers a call (the database thread's work; the loop, when it
        finds the lock free): limits, quota and handlers run one call at a time."""
        self._flushing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.rate = RateLimiter(settings.rate_per_second, settings.rate_burst)
        self.limits = limit_profile(settings.limit_profile)
        shared: RedisLimits | None = None
        if settings.redis_url:
            from foxden.server.shared_limits import RedisLimits, connect

            shared = RedisLimits(
                connect(settings.redis_url),
                store,
                settings.daily_quota_per_device,
                self.limits.path_interval_ms,
                self.limits.device_write_interval_ms,
                settings.rate_per_second,
                settings.rate_burst,
                url=settings.redis_url,
            )
            if hasattr(store, "shared_counters"):  # PostgreSQL: its change counters too
                from foxden.server.shared_changes import RedisChangeCounters

                store.shared_counters = RedisChangeCounters(shared.client, shared.async_client)
        self.quota: QuotaKeeper = shared or _quota_keeper(store, settings)
        self.auth = Authenticator(
            store,
            round(settings.timestamp_window_s * 1000),
            self.rate,
            self.quota,
            self.limits,
            settings.replay_cache,
            shared,
        )
        self.changes: AsyncChangeCounters | None = None
        """With several workers on PostgreSQL (``exact_changes``): the change counters read
        on the event loop, so that a request whose rows are cached is answered there."""
        if self.db_thread is not None and getattr(store, "exact_changes", False):
            from foxden.store.postgres import PostgresStore
            from foxden.store.postgres_async import AsyncChangeCounters

            if isinstance(store, PostgresStore):
                self.changes = AsyncChangeCounters(store)
        self.worker_header = (
            [(b"x-foxden-worker", str(os.getpid()).encode())] if settings.workers > 1 else []
        )
        """Names the answering process when several serve the port (tests and load
        balancers can tell them apart)."""
        self.refusal_observers: list[RefusalObserver] = []
        """Told of every refused request, after the server log (a request journal hooks in
        here)."""
        self.runner = runner
        self.chaos = Chaos(settings.seed)
        self.journal = Journal(
            settings.journal_size,
            Path(settings.journal_file) if settings.journal_file else None,
        )
        self._fast: dict[tuple[str, str], ASGIApp] = {}
        self.ready: dict[tuple[str, int, bytes | str, str], tuple[int, bytes]] = {}
        """Answers kept ready (``foxden.server.fast``), by call, account, request and lang,
        each with the store's cache mark it was made under."""
        self.metrics = Metrics(self.quota_use, settings.access_log)
        changes = self.changes
        if changes is not None:
            self.metrics.count_readings(lambda: changes.readings)
        if runner is not None:
            runner.on_step = self.metrics.step
        routes = [
            Route("/openapi.json", self._openapi, methods=["GET"]),
            Route("/metrics", self._metrics, methods=["GET"]),
        ]
        routes += Home(self).routes()
        routes += DoubleAdmin(self, admin_token).routes()
        routes += AccountAdmin(self, admin_token).routes()
        self.admin: Admin
        if runner is not None:
            from foxden.server.admin import Admin

            if not isinstance(self.clock, SimClock):
                raise TypeError("a fleet needs a SimClock")
            leading = (lambda: duty.leading) if duty is not None else None
            self.admin = Admin(admin_token, runner, self.clock, leading)
            routes += self.admin.routes()
        for endpoint in ENDPOINTS:
            custom = self.custom_view(endpoint)
            at_once = None
            if custom is not None:
                view = custom
            elif endpoint.public:
                view = self._public_view(endpoint, PUBLIC_HANDLERS[endpoint.name])
            else:
                handler = HANDLERS.get(endpoint.name)
                if handler is None:
                    continue
                view, at_once = signed_view(self, endpoint, handler)
            served = Served(self, view, at_once)
            for path in (endpoint.path, *endpoint.aliases):
                # Starlette keeps the route to answer 405 for a wrong method (and HEAD)
                routes.append(Route(path, served, methods=[endpoint.method]))
                self._fast[(endpoint.method, path)] = served
        routes += Dashboard(self).routes()
        routes += self.extra_routes()
        self.starlette = Starlette(routes=routes, lifespan=self._lifespan)
        self.starlette.state.foxden = self
        self.app = FastPath(self._fast, self.starlette, self.worker_header)
        self._openapi_body = msgspec.json.encode(openapi_document())

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(self._flush_loop())]
        tasks += [asyncio.create_task(work) for work in self.background()]
        if self.runner is not None:
            tasks.append(asyncio.create_task(self._fleet_loop()))
        try:
            yield
        finally:
            if self.runner is not None:
                await self.admin.wait_job()
            self.chaos.release_all()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if self.duty is not None:
                self.duty.close()
            if self.auth.shared is not None:
                await self.auth.shared.aclose()
            if self.changes is not None:
                await self.changes.aclose()
            if self.db_thread is not None:
                self.db_thread.shutdown(wait=True)
            if self.read_threads is not None:
                self.read_threads.shutdown(wait=True)
            try:
                self.quota.flush()
            except Exception:
                log.exception("could not save quota use at shutdown")
            self.quota.close()
            self.journal.flush()

    def extra_routes(self) -> list[Route]:
        """Routes a server built on this one adds (the gateway's status view)."""
        return []

    def custom_view(self, endpoint: Endpoint) -> RawView | None:
        """A view that replaces the handler's for ``endpoint`` (the gateway passes writes
        to its upstream); None: the catalogue's handler answers."""
        return None

    def background(self) -> list[Coroutine[Any, Any, None]]:
        """Work to run while the server is up (the gateway's polling), cancelled at
        shutdown."""
        return []

    def ctx(self, account: Account, lang: str) -> Ctx:
        """What a handler gets for a call by ``account``: the store as that account may
        see it (the gateway shows every local key the mirrored inverters)."""
        return Ctx(self.store, self.clock, self.wall, account, self.quota, lang)

    async def in_db_thread(self, work: Callable[..., Any], *args: Any) -> Any:
        """``work(*args)`` in the database thread (holding ``serve_lock``) when there is
        one, else here."""
        if self.db_thread is None:
            return work(*args)
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await loop.run_in_executor(self.db_thread, context.run, self._serialised, work, args)

    async def in_read_thread(self, work: Callable[..., Any], *args: Any) -> Any:
        """``work(*args)``, which only reads the store, in a read thread (several at once,
        without ``serve_lock``) when there are any, else as :meth:`in_db_thread`."""
        if self.read_threads is None:
            return await self.in_db_thread(work, *args)
        loop = asyncio.get_running_loop()
        # in the call's context (what it read ahead on the loop: RedisLimits.read_ahead)
        context = contextvars.copy_context()
        return await loop.run_in_executor(self.read_threads, context.run, work, *args)

    def _serialised(self, work: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        with self.serve_lock:
            return work(*args)

    def flush_soon(self) -> None:
        """After a call counted on the loop: when the quota's count is due to be written,
        write it in the database thread (one flush at a time)."""
        if self._flushing or not self.quota.flush_due():
            return
        self._flushing = True
        task = asyncio.get_running_loop().create_task(self._flush_quota())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush_quota(self) -> None:
        try:
            await self.in_db_thread(self.quota.flush)
        except Exception as exc:  # counted in memory; written by a later flush
            log.warning("quota use kept in memory, the database refused it: %s", exc)
        finally:
            self._flushing = False

    def observe(self, call: Exchange) -> None:
        """A call has been answered: journal, metrics, access log."""
        self.journal.record(call)
        self.metrics.observe(call)

    def quota_use(self) -> list[tuple[str, int, int]]:
        """(account, calls used today, daily quota) of every account."""
        now = self.wall.now_ms()
        return [
            (a.name, self.quota.used(a.id, now), self.quota.total(a.device_count))
            for a in self.store.accounts()
        ]

    async def _metrics(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type=METRICS_TYPE)

    async def _fleet_loop(self) -> None:
        """Keep the fleet's telemetry up to the simulated clock."""
        assert self.runner is not None
        while True:
            clock = self.admin.clock
            await asyncio.sleep(1.0 if clock.speed <= 1 else 0.2)
            if clock.frozen:
                continue
            try:
                async with self.admin.lock:
                    if self.duty is not None:
                        await asyncio.to_thread(self.duty.tick)
                    else:
                        await asyncio.to_thread(self.runner.run_until, clock.now_ms())
            except Exception:  # the fleet must not take the server down; try next tick
                log.exception("fleet step failed")

    async def _flush_loop(self) -> None:
        last_prune = -math.inf
        while True:
            await asyncio.sleep(self.settings.quota_flush_s)
            try:
                await self.in_db_thread(self.quota.flush)
            except Exception:  # keep counting in memory; try again next time
                log.exception("could not save quota use")
            try:
                self.journal.flush()
            except OSError:  # keep the calls in memory; try again next time
                log.exception("could not append to the request journal")
            if self.settings.raw_retention_days > 0 and time.monotonic() - last_prune > 3600:
                last_prune = time.monotonic()
                await self.in_db_thread(self.prune)

    def prune(self) -> int:
        """Drop raw samples older than the retention; rollups stay, so reports still work."""
        days = self.settings.raw_retention_days
        if days <= 0:
            return 0
        return self.store.prune(self.clock.now_ms() - days * 86_400_000)

    async def _openapi(self, request: Request) -> Response:
        return Response(self._openapi_body, media_type="application/json")

    def refused(self, scope: Scope, account: Account | None, exc: ApiError) -> tuple[bytes, str]:
        """The one place a refusal is answered: the envelope with the cloud's text, the
        detail for the header, the server log and the observers."""
        refusal = Refusal(
            scope["method"],
            scope["path"],
            account.id if account else None,
            int(exc.errno),
            exc.msg,
            exc.detail,
        )
        log.info(
            "%s %s refused: errno %d %s%s",
            refusal.method,
            refusal.path,
            refusal.errno,
            refusal.msg,
            f" ({refusal.detail})" if refusal.detail else "",
        )
        for observer in self.refusal_observers:
            try:
                observer(refusal)
            except Exception:  # an observer must not change the answer
                log.exception("refusal observer failed")
        return envelope.body_error(exc.errno, exc.msg), exc.detail

    def _public_view(self, endpoint: Endpoint, handler: Callable[[], Any]) -> RawView:
        """A view without authentication, pacing or quota: whatever headers come."""

        async def view(scope: Scope, receive: Receive, call: Exchange) -> tuple[bytes, str]:
            try:
                answer = envelope.body_ok(handler())
                call.errno, call.msg = 0, SUCCESS_MESSAGE
                return answer, ""
            except Exception:
                log.exception("unexpected failure in %s", endpoint.name)
                failed = ApiError(Errno.QUERY_FAILED, "unexpected server failure (in the log)")
                call.errno, call.msg, call.detail = int(failed.errno), failed.msg, failed.detail
                return self.refused(scope, None, failed)

        return view


def _quota_keeper(store: Store, settings: Settings) -> QuotaKeeper:
    """The quota's keeper of a single process: on a SQLite file, every count kept in a
    journal beside it as it is made (``foxden.server.quota_journal``); else (or when the
    journal is another process's) written to the store every ``quota_flush_every`` calls."""
    database = getattr(store, "file", None)
    if database is not None and settings.quota_journal:
        from foxden.server.quota_journal import JournaledQuota, QuotaJournal, owner_of

        journal = QuotaJournal.open(database + "-quota", owner_of(store))
        if journal is not None:
            return JournaledQuota(store, settings.daily_quota_per_device, journal)
    return QuotaKeeper(store, settings.daily_quota_per_device, settings.quota_flush_every)


def create_app(
    settings: Settings,
    store: Store,
    clock: Clock | None = None,
    runner: FleetRunner | None = None,
    admin_token: str = "",
) -> ASGIApp:
    """The ASGI application serving the Open API from ``store`` (and, given a fleet runner
    on a SimClock, the admin API and the live fleet)."""
    return FoxdenApp(settings, store, clock, runner, admin_token).app
