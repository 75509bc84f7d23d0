"""The Open API's hot path on raw ASGI: the route found by one dict look-up, the signed call
checked, decoded and answered inside one view of the store, the answer written with a
header list made once, and the call recorded (journal, metrics, log).

A warm call on SQLite awaits nothing but ``receive`` (for a body) and ``send``: no task, no
thread, no statement (the store's caches and the WAL index's header say whether anything
changed). Served by foxden's HTTP protocol it awaits nothing at all: the protocol calls the
view's ``answer_now`` as the request's last byte arrives (``FastPath.direct``), without an
ASGI cycle. The answers of the read-only calls that depend on nothing but the store's rows
(real-time data, settings, schedules, device lists and details, reports) are kept ready: an
identical request by the same account is answered with the same bytes while no cached row has
been dropped since they were made (``Store.cache_mark``); authentication, pacing, quota,
journal and metrics still run for every call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from foxden.protocol.endpoints import Endpoint
from foxden.protocol.errno import SUCCESS_MESSAGE, Errno
from foxden.server import envelope
from foxden.server.auth import Identified
from foxden.server.chaos import Call, ChaosAnswer
from foxden.server.context import Handler
from foxden.server.errors import ApiError
from foxden.server.incoming import (
    DETAIL_HEADER_RAW,
    DirectAnswer,
    RawView,
    SyncView,
    decoder_for,
    detail_header_value,
    read_body,
    signed_headers,
    write_target,
)
from foxden.server.journal import Exchange
from foxden.server.shared_limits import Expected
from foxden.server.validate import too_large
from foxden.store import Account
from foxden.store.changes import ConfirmedReadings
from foxden.store.waiting import WouldWait, without_waiting

if TYPE_CHECKING:
    from foxden.server.app import FoxdenApp

log = logging.getLogger("foxden.server")

READY = frozenset(
    {
        "device.real_v0",
        "device.real_v1",
        "device.list",
        "device.detail",
        "device.detail_v1",
        "device.report",
        "battery.soc_get",
        "battery.charge_times_get",
        "scheduler.get",
        "scheduler.get_flag",
        "scheduler.get_flag_v1",
        "scheduler.get_v1",
        "scheduler.get_v2",
        "scheduler.get_v3",
    }
)
"""Handlers whose answer is a function of the account, the request and the store's rows
alone (no clock, no quota, no upstream): their answers may be kept ready."""
READS_QUOTA = frozenset({"user.access_count"})
"""Handlers that read the day's quota count: with limits in Redis it is read ahead on the
event loop (``RedisLimits.read_ahead``)."""
LOOP_READS = READY | {
    "user.access_count",
    "plant.detail",
    "plant.list",
    "device.variables",
    "device.faults",
    "device.history",
    "device.generation",
    "settings.get",
    "settings.time_get",
    "peak_shaving.get",
    "battery_heating.get",
    "module.list",
    "module.detail",
    "module.signal",
}
"""Handlers that only read the store: on a store whose queries go over the network, the
event loop answers them itself while every row they need is cached (a write, or a read that
needs a query, goes to the database thread)."""
READY_ENTRIES = 2048
READY_MAX_BYTES = 65_536
"""Answers kept ready at most (all calls together), and the largest kept."""

_CONTENT_TYPE = (b"content-type", b"application/json")
CARRIED = "foxden.carried"
"""The scope's key for a call a direct answer began and the app finishes: its record and
the account it checked and counted, if it got that far (``Served.answer_now``)."""


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
        self.direct: dict[tuple[str, str], DirectAnswer] = {
            key: view.answer_now
            for key, view in views.items()
            if isinstance(view, Served) and view.at_once is not None
        }
        """The views foxden's HTTP protocol may call without an ASGI cycle
        (``foxden.server.http``): a request it can answer at once is answered as its last
        byte arrives (no task, no ASGI messages), else it goes through ``__call__``."""

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


class Served:
    """An Open API view as an ASGI app: the call recorded, chaos answers sent, the
    envelope written to the socket, then the call observed (journal, metrics, log)."""

    def __init__(self, foxden: FoxdenApp, view: RawView, at_once: SyncView | None = None) -> None:
        self.foxden = foxden
        self.view = view
        self.at_once = at_once
        """The view's answer without waiting, where it has one (``answer_now``)."""
        self.tail = foxden.worker_header
        self.tail_lines = b"".join(b"%s: %s\r\n" % pair for pair in self.tail)

    def answer_now(self, scope: Scope, body: bytes, write: Callable[[bytes, bytes], None]) -> bool:
        """The call answered as ``__call__`` would, from its body already read, without an
        ASGI cycle: False, having written nothing, when it would have to wait (``__call__``
        then goes on with the call's record and what was done, ``CARRIED`` in the scope)."""
        assert self.at_once is not None
        call = Exchange(
            self.foxden.wall.now_ms(),
            scope["method"],
            scope["path"],
            scope["query_string"].decode("latin-1"),
            time.perf_counter(),
        )
        answered = self.at_once(scope, body, call)
        if answered is None:
            return False
        data, detail = answered
        head = b"content-type: application/json\r\ncontent-length: %d\r\n%s" % (
            len(data),
            self.tail_lines,
        )
        if detail:
            head += b"%s: %s\r\n" % (DETAIL_HEADER_RAW, detail_header_value(detail))
        write(head, data)
        call.latency_ms = (time.perf_counter() - call.started) * 1000
        self.foxden.observe(call)
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        carried = scope.get(CARRIED)
        call = (
            carried[0]
            if carried is not None
            else Exchange(
                self.foxden.wall.now_ms(),  # looked up per call: tests set the wall clock
                scope["method"],
                scope["path"],
                scope.get("query_string", b"").decode("latin-1"),
                time.perf_counter(),
            )
        )
        try:
            body, detail = await self.view(scope, receive, call)
        except ChaosAnswer as answer:
            chaos = self.foxden.chaos
            call.status = await chaos.send(answer.rule, receive, send)
            call.errno, call.msg = answer.errno, answer.msg
            call.detail = f"chaos rule {answer.rule.id}"
        else:
            headers = [_CONTENT_TYPE, (b"content-length", b"%d" % len(body)), *self.tail]
            if detail:
                headers.append((DETAIL_HEADER_RAW, detail_header_value(detail)))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        call.latency_ms = (time.perf_counter() - call.started) * 1000
        self.foxden.observe(call)


def signed_view(
    foxden: FoxdenApp, endpoint: Endpoint, handler: Handler
) -> tuple[RawView, SyncView | None]:
    """The view of a signed Open API call: headers, signature, pacing and quota
    (``Authenticator.check``), chaos, then the handler's answer in the envelope; and, without
    limits in Redis, the same view answering at once (``SyncView``): on SQLite the whole
    call, on PostgreSQL with one worker a read as far as cached rows take it. None when it
    has no such view; the view answers None while chaos rules are set (they may delay an
    answer)."""
    decode = decoder_for(endpoint)
    body_limit = foxden.settings.max_body_bytes
    name = endpoint.name
    path_counted = endpoint.counted
    paced_writes = endpoint.device_write and foxden.limits.device_write_interval_ms > 0
    paced_queries = endpoint.query_interface and foxden.limits.path_interval_ms > 0
    has_body = endpoint.request is not None and not endpoint.params_in_query
    chaos = foxden.chaos
    offload = foxden.db_thread is not None
    store = foxden.store
    auth = foxden.auth
    ready = foxden.ready if name in READY and foxden.READY_ANSWERS else None
    on_loop = offload and name in LOOP_READS and auth.shared is None
    shared = auth.shared
    read_on_loop = offload and name in LOOP_READS
    reads_quota = shared is not None and name in READS_QUOTA
    asks_redis = shared is not None and shared.asks(
        paced_queries, auth.profile.key_bucket, path_counted
    )
    nothing_to_admit = shared is not None and auth.replays is None and not asks_redis
    """No limit applies to this call (Redis would not be asked): a read that cannot be
    identified on the loop is identified and answered in one hop to a read thread."""
    serve_lock = foxden.serve_lock
    changes = foxden.changes if read_on_loop and (ready is not None or reads_quota) else None
    """The change counters read on the loop before the call is identified there: for calls
    whose answers are usually ready (or need only cached rows and the quota's count); a
    call that usually needs a query (a history) goes to a read thread whole at once, where
    the counters are read too, rather than wait on the loop for them first."""
    readings = store if isinstance(store, ConfirmedReadings) else None
    guess = (
        changes is not None
        and readings is not None
        and auth.replays is None
        and (asks_redis or reads_quota)
    )
    """Whether the call may be identified from the cached rows as the last reading of the
    change counters left them, before a reading of its own: the Redis round trip the call
    makes anyway (its admission, or the quota's count) confirms the counters still stand,
    or does nothing and sends it the usual way (``RedisLimits.admit_async``). Not with the
    replay cache: a signature seen cannot be given back."""

    def answer(account: Account, headers: dict[str, str], call: Exchange, parsed: Any) -> bytes:
        """The envelope of the handler's answer (inside the store's view of the call)."""
        ctx = foxden.ctx(account, headers["lang"])
        if not paced_writes:
            return envelope.body_ok(handler(ctx, parsed))
        now_ms = call.time_ms
        target = write_target(parsed)
        auth.check_device_write(account, target, now_ms)
        try:
            body = envelope.body_ok(handler(ctx, parsed))
        except BaseException:
            auth.release_device_write(account, target, now_ms)
            raise
        auth.record_device_write(account, target, now_ms)
        return body

    def respond(account: Account, headers: dict[str, str], call: Exchange) -> bytes:
        """The answer to an authenticated call (inside a view of the store): kept ready
        when it may be."""
        if ready is None:
            return answer(account, headers, call, decode(call))
        key = (name, account.id, call.body or call.query, headers["lang"])
        mark = store.cache_mark()
        kept = ready.get(key)
        if kept is not None and mark is not None and kept[0] == mark:
            return kept[1]
        body = answer(account, headers, call, decode(call))
        if mark is not None and store.cache_mark() == mark and len(body) <= READY_MAX_BYTES:
            if len(ready) >= READY_ENTRIES:
                ready.clear()
            ready[key] = (mark, body)
        return body

    def whole(headers: dict[str, str], call: Exchange, caller: list[Account]) -> bytes:
        """Check and answer a call with no chaos rule in the way, in one view of the store
        (the account, once known, is put in ``caller``)."""
        with store.request_view(call.started):
            account = auth.check(call.path, headers, call.time_ms, path_counted, paced_queries)
            caller.append(account)
            call.account = account.name
            return respond(account, headers, call)

    def respond_in_view(account: Account, headers: dict[str, str], call: Exchange) -> bytes:
        with store.request_view(call.started):
            return respond(account, headers, call)

    def on_the_loop(headers: dict[str, str], call: Exchange, caller: list[Account]) -> bytes | None:
        """``whole`` on the event loop while the call needs nothing but cached rows and no
        other call is being answered; None where it had to stop (the account in ``caller``
        once checked and counted: nothing is spent twice)."""
        if not (on_loop and serve_lock.acquire(blocking=False)):
            return None
        try:
            with without_waiting(), store.request_view(call.started):
                account = auth.check(call.path, headers, call.time_ms, path_counted, paced_queries)
                caller.append(account)
                call.account = account.name
                body = respond(account, headers, call)  # in the same view
            foxden.flush_soon()
            return body
        except WouldWait:
            return None
        finally:
            serve_lock.release()

    async def offloaded(
        headers: dict[str, str], call: Exchange, caller: list[Account], tried: bool = False
    ) -> bytes:
        """``whole`` where the store's queries go over the network: on the loop while it
        can be (``on_the_loop``; ``tried``: it was, by the direct answer), else from where
        the loop had to stop in the database thread."""
        if not tried:
            if on_loop and changes is not None:
                await changes.seen_since(call.started)  # else the view below would wait
            body = on_the_loop(headers, call, caller)
            if body is not None:
                return body
        if caller:  # checked and counted on the loop; the answer (reads only) needs a query
            answered: bytes = await foxden.in_read_thread(respond_in_view, caller[0], headers, call)
        else:
            answered = await foxden.in_db_thread(whole, headers, call, caller)
        if on_loop:
            foxden.flush_soon()
        return answered

    def identify_in_view(
        headers: dict[str, str], call: Exchange, arrived: float | None = None
    ) -> Identified:
        with store.request_view(call.started if arrived is None else arrived):
            return auth.identify(call.path, headers, call.time_ms)

    def guessed(
        headers: dict[str, str], call: Exchange
    ) -> tuple[Identified, Expected, tuple[int, ...]] | None:
        """The caller identified from the cached rows as the last reading of the change
        counters left them, with what its round trip to Redis must find to confirm them
        and that reading; None when that needs a query (or the rows follow no reading)."""
        reading = readings.last_reading() if readings is not None else None
        if reading is None:
            return None
        versions, began, mark_key = reading
        try:
            with without_waiting():
                identified = identify_in_view(headers, call, began)
        except WouldWait:
            return None
        return identified, (mark_key, versions[-1]), versions

    def identify_and_respond(
        headers: dict[str, str], call: Exchange, caller: list[Account]
    ) -> bytes:
        account = identify_in_view(headers, call).account
        caller.append(account)
        call.account = account.name
        return respond_in_view(account, headers, call)

    async def seed(account_id: int, day: str) -> int:
        assert shared is not None
        counted: int = await foxden.in_read_thread(shared.seed, account_id, day)
        return counted

    async def admitted(
        headers: dict[str, str], call: Exchange, caller: list[Account], may_guess: bool = True
    ) -> bytes:
        """``whole`` with the limits in Redis: the caller identified (on the loop while its
        rows are cached, else in the database thread), admitted by Redis on the loop (many
        calls' round trips in flight at once), then answered (on the loop when it needs
        nothing but cached rows and no other call is being answered there, else in the
        database thread). With several workers on PostgreSQL the cached rows are used as
        the last reading of the change counters left them when the call's own round trip
        to Redis can confirm they still stand (``guess``); else, or when they moved, after a
        reading that began once the call arrived."""
        guessed_with = guessed(headers, call) if guess and may_guess else None
        if guessed_with is not None:
            identified, expect, versions = guessed_with
            account = identified.account
            caller.append(account)
            call.account = account.name
            began = time.perf_counter()
            stood = await auth.admit(
                identified,
                call.path,
                call.time_ms,
                path_counted,
                paced_queries,
                seed,
                expect if asks_redis else None,
            )
            if stood and reads_quota:
                assert shared is not None
                stood = await shared.read_ahead(
                    account.id, call.time_ms, None if asks_redis else expect
                )
            if not stood:  # nothing spent: the usual way, after a reading of the counters
                caller.clear()
                return await admitted(headers, call, caller, may_guess=False)
            assert readings is not None
            readings.confirm(versions, began)
            foxden.flush_soon()
            return await answer_admitted(account, headers, call)
        if offload:
            if changes is not None:
                await changes.seen_since(call.started)  # else the view below would wait
            try:
                with without_waiting():
                    identified = identify_in_view(headers, call)
            except WouldWait:
                if nothing_to_admit and read_on_loop:
                    whole_read: bytes = await foxden.in_read_thread(
                        identify_and_respond, headers, call, caller
                    )
                    return whole_read
                identified = await foxden.in_read_thread(identify_in_view, headers, call)
        else:
            identified = identify_in_view(headers, call)
        account = identified.account
        caller.append(account)
        call.account = account.name
        await auth.admit(identified, call.path, call.time_ms, path_counted, paced_queries, seed)
        foxden.flush_soon()
        if reads_quota:
            assert shared is not None
            await shared.read_ahead(account.id, call.time_ms)
        return await answer_admitted(account, headers, call)

    async def answer_admitted(account: Account, headers: dict[str, str], call: Exchange) -> bytes:
        """The answer to a call Redis admitted (see ``admitted``)."""
        if not offload:
            return respond_in_view(account, headers, call)
        if read_on_loop and serve_lock.acquire(blocking=False):
            try:
                with without_waiting():
                    return respond_in_view(account, headers, call)
            except WouldWait:
                pass
            finally:
                serve_lock.release()
        if read_on_loop:  # reads only: one of the read threads, beside other reads
            read: bytes = await foxden.in_read_thread(respond_in_view, account, headers, call)
            return read
        answered: bytes = await foxden.in_db_thread(respond_in_view, account, headers, call)
        return answered

    def check(headers: dict[str, str], call: Exchange) -> Account:
        with store.request_view(call.started):
            return auth.check(call.path, headers, call.time_ms, path_counted, paced_queries)

    def answer_in_view(account: Account, headers: dict[str, str], call: Exchange) -> bytes:
        with store.request_view(call.started):
            return answer(account, headers, call, decode(call))

    def failed(
        scope: Scope, call: Exchange, account: Account | None, exc: Exception
    ) -> tuple[bytes, str]:
        """The refusal of a call that raised ``exc`` (an unexpected one is logged and
        answered as the cloud answers a failure)."""
        if isinstance(exc, ApiError):
            refusal = exc
        else:
            log.error("unexpected failure in %s", name, exc_info=exc)
            refusal = ApiError(Errno.QUERY_FAILED, "unexpected server failure (in the log)")
        call.errno, call.msg, call.detail = int(refusal.errno), refusal.msg, refusal.detail
        return foxden.refused(scope, account, refusal)

    def at_once(scope: Scope, body: bytes, call: Exchange) -> tuple[bytes, str] | None:
        if chaos.rules:
            return None
        caller: list[Account] = []
        try:
            headers = signed_headers(scope)
            if has_body:
                if body_limit and len(body) > body_limit:
                    raise too_large(body_limit)
                call.body = body
            if offload:
                answered = on_the_loop(headers, call, caller)
                if answered is None:  # the rest waits: the app goes on from here
                    scope[CARRIED] = (call, caller)
                    return None
            else:
                answered = whole(headers, call, caller)
            call.errno, call.msg = 0, SUCCESS_MESSAGE
            return answered, ""
        except Exception as exc:
            return failed(scope, call, caller[0] if caller else None, exc)

    async def view(scope: Scope, receive: Receive, call: Exchange) -> tuple[bytes, str]:
        account: Account | None = None
        caller: list[Account] = []
        try:
            headers = signed_headers(scope)
            if has_body:
                call.body = await read_body(receive, body_limit)
            carried = scope.get(CARRIED)
            if carried is not None:  # begun by the direct answer, which could not finish
                caller = carried[1]
                body = await offloaded(headers, call, caller, tried=True)
                call.errno, call.msg = 0, SUCCESS_MESSAGE
                return body, ""
            if not chaos.rules:
                if shared is not None:
                    body = await admitted(headers, call, caller)
                elif offload:
                    body = await offloaded(headers, call, caller)
                else:
                    body = whole(headers, call, caller)
                call.errno, call.msg = 0, SUCCESS_MESSAGE
                return body, ""
            if offload:
                account = await foxden.in_db_thread(check, headers, call)
            else:
                account = check(headers, call)
            call.account = account.name
            rule = chaos.pick(_chaos_call(call, headers), call.time_ms)
            if rule is not None:
                call.chaos = rule.id
                await chaos.before_answer(rule)
            if offload:
                body = await foxden.in_db_thread(answer_in_view, account, headers, call)
            else:
                body = answer_in_view(account, headers, call)
            call.errno, call.msg = 0, SUCCESS_MESSAGE
            return body, ""
        except ChaosAnswer:
            raise
        except Exception as exc:
            return failed(scope, call, account or (caller[0] if caller else None), exc)

    direct = shared is None and (not offload or (on_loop and changes is None))
    return view, (at_once if direct else None)


def _chaos_call(call: Exchange, headers: dict[str, str]) -> Call:
    return Call(
        call.method,
        call.path,
        headers.get("token", "").strip(),
        call.account,
        lambda: call.serials(),
    )
