"""The ASGI app: ``create_app(settings, store, clock, runner, admin_token)``.

Each /op/ route parses its request into the protocol struct, runs the area's handler
and renders the envelope. Any failure becomes an errno envelope with HTTP 200, as the
vendor cloud answers; an unexpected exception is logged and answered 41200, never 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from foxden.clock import Clock, RealClock
from foxden.config import Settings
from foxden.limits_policy import limit_profile
from foxden.protocol.endpoints import ENDPOINTS, Endpoint
from foxden.protocol.errno import SUCCESS_MESSAGE, Errno
from foxden.server import envelope, validate
from foxden.server.admin_accounts import AccountAdmin
from foxden.server.areas import HANDLERS
from foxden.server.areas.errors import PUBLIC_HANDLERS
from foxden.server.auth import Authenticator
from foxden.server.chaos import Call, Chaos, ChaosAnswer
from foxden.server.context import Ctx, Handler
from foxden.server.double_admin import DoubleAdmin
from foxden.server.errors import ApiError, invalid
from foxden.server.home import Home
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

log = logging.getLogger("foxden.server")


def describe_validation(exc: msgspec.MsgspecError) -> ApiError:
    """A decoder error as errno 40257 naming the field."""
    text = str(exc)
    field = ""
    if " - at `$." in text:
        text, _, where = text.rpartition(" - at `$.")
        field = where.rstrip("`")
    elif " - at `$[" in text:
        text, _, where = text.rpartition(" - at `$")
        field = where.rstrip("`")
    if text.startswith("Object missing required field `"):
        missing = text.split("`")[1]
        return invalid(f"{field}.{missing}" if field else missing, "required")
    if text.startswith("Object contains unknown field `"):
        unknown = text.split("`")[1]
        return invalid(f"{field}.{unknown}" if field else unknown, "unknown field")
    if not field:
        if isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError):
            return invalid("body", "must be a JSON object")
        return invalid("body", text.replace("`", ""))
    return invalid(field, text.replace("`", "").replace("Expected", "expected"))


RawView = Callable[[Scope, Receive, Exchange], Awaitable[tuple[bytes, str]]]
"""An Open API view on raw ASGI: the answer's JSON body (HTTP 200) and the detail of a
refusal for the ``X-Foxden-Detail`` header ("" when there is none); it fills in the
journal's record of the call as it goes."""

DETAIL_HEADER = "X-Foxden-Detail"
_DETAIL_HEADER_RAW = DETAIL_HEADER.lower().encode("ascii")
_CONTROL = {c: " " for c in (*range(0x20), 0x7F)}


def detail_header_value(detail: str) -> bytes:
    """The detail as a header value: control characters become spaces, UTF-8, at most
    1000 bytes."""
    return detail.translate(_CONTROL).encode("utf-8")[:1000]


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


async def read_body(receive: Receive, limit: int = 0) -> bytes:
    """The request body; 40257 as soon as it passes ``limit`` bytes (0: no limit)."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit and size > limit:
            raise validate.too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def header_map(scope: Scope) -> dict[str, str]:
    """Request headers by lower-case name (the last one wins)."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def query_params(query: str) -> dict[str, str]:
    """``dict(parse_qsl(query))``: a plain query (nothing escaped) is split directly."""
    if "%" in query or "+" in query:
        return dict(parse_qsl(query))
    params = {}
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if value:  # parse_qsl drops a name without a value
            params[name] = value
    return params


def decoder_for(endpoint: Endpoint) -> Callable[[Exchange], Any]:
    request_type = endpoint.request
    if request_type is None:

        def none(call: Exchange) -> Any:
            return None

        return none
    if endpoint.params_in_query:

        def from_query(call: Exchange) -> Any:
            params = query_params(call.query)
            validate.check_nul_query(params)
            try:
                return msgspec.convert(params, request_type, strict=False)
            except msgspec.ValidationError as exc:
                raise describe_validation(exc) from None

        return from_query
    decoder = msgspec.json.Decoder(request_type, strict=False)

    def from_body(call: Exchange) -> Any:
        validate.check_depth(call.body)
        validate.check_nul_body(call.body)
        try:
            return decoder.decode(call.body or b"{}")
        except msgspec.DecodeError as exc:
            raise describe_validation(exc) from None
        except RecursionError:  # check_depth stops this first; kept as a last guard
            raise invalid("body", "nested too deeply") from None

    return from_body


_JSON_HEADERS = [(b"content-type", b"application/json")]


class FastPath:
    """The ASGI entry: an Open API path goes straight to its view by one dict look-up
    and its answer straight to the socket (Starlette would try every route's pattern in
    turn and wrap request and response); the rest (lifespan, 404/405, /openapi.json,
    /admin, /metrics) goes through Starlette."""

    def __init__(
        self,
        views: dict[tuple[str, str], ASGIApp],
        fallback: ASGIApp,
        extra_headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.views = views
        self.fallback = fallback
        self.extra_headers = extra_headers or []
        """Added to every answer that goes through Starlette (the views add their own)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            view = self.views.get((scope["method"], scope["path"]))
            if view is not None:
                await view(scope, receive, send)
                return
            if self.extra_headers:
                extra = self.extra_headers

                async def send_with(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        message = {**message, "headers": [*message.get("headers", []), *extra]}
                    await send(message)

                await self.fallback(scope, receive, send_with)
                return
        await self.fallback(scope, receive, send)


class _Served:
    """An Open API view as an ASGI app: the call recorded, chaos answers sent, the
    envelope written to the socket, then the call observed (journal, metrics, log)."""

    def __init__(self, foxden: FoxdenApp, view: RawView) -> None:
        self.foxden = foxden
        self.view = view

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        call = Exchange(
            self.foxden.wall.now_ms(),
            scope["method"],
            scope["path"],
            scope.get("query_string", b"").decode("latin-1"),
            time.perf_counter(),
        )
        try:
            body, detail = await self.view(scope, receive, call)
        except ChaosAnswer as answer:
            call.status = await self.foxden.chaos.send(answer.rule, receive, send)
            call.errno, call.msg = answer.errno, answer.msg
            call.detail = f"chaos rule {answer.rule.id}"
        else:
            headers = [
                *_JSON_HEADERS,
                (b"content-length", b"%d" % len(body)),
                *self.foxden.worker_header,
            ]
            if detail:
                headers.append((_DETAIL_HEADER_RAW, detail_header_value(detail)))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        call.latency_ms = (time.perf_counter() - call.started) * 1000
        self.foxden.observe(call)


class FoxdenApp:
    """Holds the server's state; ``app`` is the ASGI application (the Open API fast path in
    front of Starlette)."""

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
        anyway), while the loop keeps reading and writing sockets."""
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
            )
            shared.flush_every = max(1, settings.quota_flush_every)
        self.quota: QuotaKeeper = shared or QuotaKeeper(
            store, settings.daily_quota_per_device, settings.quota_flush_every
        )
        self.auth = Authenticator(
            store,
            round(settings.timestamp_window_s * 1000),
            self.rate,
            self.quota,
            self.limits,
            settings.replay_cache,
            shared,
        )
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
        self.metrics = Metrics(self.quota_use, settings.access_log)
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
            if custom is not None:
                view = custom
            elif endpoint.public:
                view = self._public_view(endpoint, PUBLIC_HANDLERS[endpoint.name])
            else:
                handler = HANDLERS.get(endpoint.name)
                if handler is None:
                    continue
                view = self._view(endpoint, handler)
            served = _Served(self, view)
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
            if self.db_thread is not None:
                self.db_thread.shutdown(wait=True)
            try:
                self.quota.flush()
            except Exception:
                log.exception("could not save quota use at shutdown")
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
        """``work(*args)`` in the database thread when there is one, else here."""
        if self.db_thread is None:
            return work(*args)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.db_thread, functools.partial(work, *args))

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

    def _view(self, endpoint: Endpoint, handler: Handler) -> RawView:
        decode = decoder_for(endpoint)
        body_limit = self.settings.max_body_bytes
        name = endpoint.name
        paced_writes = endpoint.device_write and self.limits.device_write_interval_ms > 0
        paced_queries = endpoint.query_interface and self.limits.path_interval_ms > 0

        has_body = endpoint.request is not None and not endpoint.params_in_query
        chaos = self.chaos
        offload = self.db_thread is not None

        store = self.store

        def check(path: str, headers: dict[str, str], now_ms: int) -> Account:
            with store.request_view():
                return self.auth.check(path, headers, now_ms, endpoint.counted, paced_queries)

        def answer(ctx: Ctx, parsed: Any, now_ms: int) -> bytes:
            with store.request_view():
                if not paced_writes:
                    return envelope.body_ok(handler(ctx, parsed))
                target = write_target(parsed)
                self.auth.check_device_write(ctx.account, target, now_ms)
                try:
                    body = envelope.body_ok(handler(ctx, parsed))
                except BaseException:
                    self.auth.release_device_write(ctx.account, target, now_ms)
                    raise
                self.auth.record_device_write(ctx.account, target, now_ms)
                return body

        async def view(scope: Scope, receive: Receive, call: Exchange) -> tuple[bytes, str]:
            account: Account | None = None
            try:
                headers = header_map(scope)
                if has_body:
                    call.body = await read_body(receive, body_limit)
                if not offload and not chaos.rules:
                    # no await from here to the answer: one view of the store for the call
                    with store.request_view():
                        account = check(call.path, headers, call.time_ms)
                        call.account = account.name
                        parsed = decode(call)
                        ctx = self.ctx(account, headers["lang"])
                        body = answer(ctx, parsed, call.time_ms)
                    call.errno, call.msg = 0, SUCCESS_MESSAGE
                    return body, ""
                if offload and not chaos.rules:
                    # the whole call in one hop to the database thread
                    def whole() -> bytes:
                        nonlocal account
                        with store.request_view():
                            account = check(call.path, headers, call.time_ms)
                            call.account = account.name
                            parsed = decode(call)
                            ctx = Ctx(
                                store, self.clock, self.wall, account, self.quota, headers["lang"]
                            )
                            return answer(ctx, parsed, call.time_ms)

                    body = await self.in_db_thread(whole)
                    call.errno, call.msg = 0, SUCCESS_MESSAGE
                    return body, ""
                if offload:
                    account = await self.in_db_thread(check, call.path, headers, call.time_ms)
                else:
                    account = check(call.path, headers, call.time_ms)
                call.account = account.name
                if chaos.rules:
                    rule = chaos.pick(_chaos_call(call, headers), call.time_ms)
                    if rule is not None:
                        call.chaos = rule.id
                        await chaos.before_answer(rule)
                parsed = decode(call)
                ctx = self.ctx(account, headers["lang"])
                if offload:
                    body = await self.in_db_thread(answer, ctx, parsed, call.time_ms)
                else:
                    body = answer(ctx, parsed, call.time_ms)
                call.errno, call.msg = 0, SUCCESS_MESSAGE
                return body, ""
            except ApiError as exc:
                call.errno, call.msg, call.detail = int(exc.errno), exc.msg, exc.detail
                return self.refused(scope, account, exc)
            except ChaosAnswer:
                raise
            except Exception:
                log.exception("unexpected failure in %s", name)
                failed = ApiError(Errno.QUERY_FAILED, "unexpected server failure (in the log)")
                call.errno, call.msg, call.detail = int(failed.errno), failed.msg, failed.detail
                return self.refused(scope, account, failed)

        return view


def write_target(parsed: Any) -> str:
    """The inverter a setting write is for (``sn`` or ``deviceSN`` of the request)."""
    target = getattr(parsed, "sn", None) or getattr(parsed, "deviceSN", None)
    return str(target) if target else ""


def _chaos_call(call: Exchange, headers: dict[str, str]) -> Call:
    return Call(
        call.method,
        call.path,
        headers.get("token", "").strip(),
        call.account,
        lambda: call.serials(),
    )


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
