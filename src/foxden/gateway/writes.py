"""Writes through the gateway: checked locally by the very handler a foxden server runs
(inside a transaction that is rolled back, so nothing is kept), passed to the upstream, the
upstream's errno and msg answered as they came, and on success what was written read back
from the upstream and stored.

- A local key's call is authenticated, counted and paced as on any foxden server.
- A request the local handler refuses never reaches the upstream (its errno, e.g. 40257,
  is answered at once).
- The upstream's refusal comes back with its own errno and msg.
- An upstream that cannot be reached (or a budget with no room for a write) is errno 41200,
  with the reason in the ``X-Foxden-Detail`` header.
- After an accepted setting write the matching get is read from the upstream and the write
  applied to the local store; if the read-back differs from what the local store then
  answers, the journal's detail and the log say so. A plant write re-reads the inventory.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import msgspec

from foxden.client import errors as client_errors
from foxden.client.core import Call
from foxden.gateway.upstream import UpstreamUnavailable
from foxden.protocol.endpoints import BY_NAME, Endpoint
from foxden.protocol.errno import SUCCESS_MESSAGE, Errno
from foxden.server import envelope
from foxden.server.areas import HANDLERS
from foxden.server.context import Ctx, Handler
from foxden.server.errors import ApiError
from foxden.server.incoming import RawView, decoder_for, header_map, read_body, write_target
from foxden.server.journal import Exchange
from foxden.store import Account

if TYPE_CHECKING:
    from starlette.types import Receive, Scope

    from foxden.gateway.app import GatewayApp

log = logging.getLogger("foxden.gateway")

READBACK: dict[str, str] = {
    "battery.soc_set": "battery.soc_get",
    "battery.charge_times_set": "battery.charge_times_get",
    "settings.set": "settings.get",
    "settings.time_set": "settings.time_get",
    "scheduler.set_flag": "scheduler.get_flag",
    "scheduler.enable": "scheduler.get",
    "scheduler.set_flag_v1": "scheduler.get_flag_v1",
    "scheduler.enable_v1": "scheduler.get_v1",
    "scheduler.enable_v2": "scheduler.get_v2",
    "scheduler.enable_v3": "scheduler.get_v3",
    "peak_shaving.set": "peak_shaving.get",
    "battery_heating.set": "battery_heating.get",
}
"""Each setting write and the read that shows what it wrote."""

PLANT_WRITES = frozenset({"plant.create", "plant.update", "plant.delete"})


def passes_upstream(endpoint: Endpoint) -> bool:
    """Whether the gateway passes this endpoint's calls to the upstream."""
    return endpoint.name in READBACK or endpoint.name in PLANT_WRITES


class _DryRun(Exception):
    """Raised inside the validating transaction so that it rolls back."""


def validate(ctx: Ctx, handler: Handler, parsed: Any) -> None:
    """Run the local handler and keep nothing: ApiError if it refuses the request."""
    try:
        with ctx.store.transaction():
            handler(ctx, parsed)
            raise _DryRun
    except _DryRun:
        pass


def readback_fields(get: Endpoint, body: dict[str, Any]) -> dict[str, Any]:
    """The get request's fields, taken from the write's body."""
    assert get.request is not None
    names = [f.name for f in msgspec.structs.fields(get.request)]
    return {name: body[name] for name in names if name in body}


def _comparable(value: Any) -> Any:
    return json.loads(json.dumps(msgspec.to_builtins(value), sort_keys=True))


def write_view(gateway: GatewayApp, endpoint: Endpoint) -> RawView:
    """The view of one write endpoint (see the module docstring)."""
    decode = decoder_for(endpoint)
    handler = HANDLERS[endpoint.name]
    body_limit = gateway.settings.max_body_bytes
    paced = endpoint.device_write and gateway.limits.device_write_interval_ms > 0
    get_name = READBACK.get(endpoint.name)

    def check(path: str, headers: dict[str, str], now_ms: int) -> Account:
        with gateway.store.request_view():
            return gateway.auth.check(path, headers, now_ms, endpoint.counted, False)

    def local(ctx: Ctx, parsed: Any, now_ms: int) -> None:
        with gateway.store.request_view():
            if paced:
                gateway.auth.check_device_write(ctx.account, write_target(parsed), now_ms)
            try:
                validate(ctx, handler, parsed)
            except BaseException:
                release(ctx.account, parsed, now_ms)
                raise

    def release(account: Account, parsed: Any, now_ms: int) -> None:
        """The write claimed at ``now_ms`` did not happen: the next need not wait for it."""
        if paced:
            gateway.auth.release_device_write(account, write_target(parsed), now_ms)

    def apply(ctx: Ctx, parsed: Any, readback: Any, now_ms: int) -> str:
        """The write kept locally; the detail when the upstream reads back otherwise."""
        with gateway.store.request_view():
            if paced:
                gateway.auth.record_device_write(ctx.account, write_target(parsed), now_ms)
            try:
                handler(ctx, parsed)
            except ApiError as exc:  # the local state moved on since the check
                return f"written upstream; not kept locally: {exc}"
            if get_name is None:
                return ""
            get = BY_NAME[get_name]
            assert get.request is not None
            fields = readback_fields(get, msgspec.to_builtins(parsed))
            query = msgspec.convert(fields, get.request, strict=False)
            mine = HANDLERS[get_name](ctx, query)
            if _comparable(mine) != _comparable(readback):
                log.warning("%s: the upstream reads back otherwise than written", endpoint.path)
                return "written upstream; the upstream reads back otherwise than written"
            return ""

    async def view(scope: Scope, receive: Receive, call: Exchange) -> tuple[bytes, str]:
        account: Account | None = None
        try:
            headers = header_map(scope)
            call.body = await read_body(receive, body_limit)
            account = await gateway.in_db_thread(check, call.path, headers, call.time_ms)
            call.account = account.name
            parsed = decode(call)
            ctx = gateway.ctx(account, headers["lang"])
            await gateway.in_db_thread(local, ctx, parsed, call.time_ms)
            body = json.loads(call.body or b"{}")
            upstream = gateway.upstream
            try:
                result: Any = await upstream.call("write", Call(endpoint, Any, body=body))
                readback = None
                if get_name is not None:
                    get = BY_NAME[get_name]
                    fields = readback_fields(get, body)
                    c: Call[Any] = (
                        Call(get, Any, params={k: str(v) for k, v in fields.items()})
                        if get.params_in_query
                        else Call(get, Any, body=fields)
                    )
                    readback = await upstream.call("write", c)
            except client_errors.ApiError as exc:
                release(account, parsed, call.time_ms)
                call.errno, call.msg, call.detail = exc.errno, exc.msg, f"upstream: {exc.detail}"
                log.info("%s refused upstream: errno %d %s", call.path, exc.errno, exc.msg)
                return envelope.body_error(exc.errno, exc.msg), call.detail
            except (client_errors.FoxError, UpstreamUnavailable) as exc:
                release(account, parsed, call.time_ms)
                raise ApiError(Errno.QUERY_FAILED, f"upstream: {exc}") from None
            if endpoint.name in PLANT_WRITES:
                if endpoint.name == "plant.delete":  # the inventory never drops a plant
                    call.detail = await gateway.in_db_thread(apply, ctx, parsed, None, call.time_ms)
                try:
                    await gateway.poller.sync_inventory()
                except (client_errors.FoxError, UpstreamUnavailable) as exc:
                    call.detail = f"written upstream; inventory not re-read yet: {exc}"
            else:
                call.detail = await gateway.in_db_thread(apply, ctx, parsed, readback, call.time_ms)
            call.errno, call.msg = 0, SUCCESS_MESSAGE
            return envelope.body_ok(result), call.detail
        except ApiError as exc:
            call.errno, call.msg, call.detail = int(exc.errno), exc.msg, exc.detail
            return gateway.refused(scope, account, exc)
        except Exception:
            log.exception("unexpected failure in %s", endpoint.name)
            failed = ApiError(Errno.QUERY_FAILED, "unexpected server failure (in the log)")
            call.errno, call.msg, call.detail = int(failed.errno), failed.msg, failed.detail
            return gateway.refused(scope, account, failed)

    return view
