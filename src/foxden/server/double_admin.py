"""The test-double controls of the admin API: chaos rules and the request journal.

``POST /admin/chaos`` adds a rule (``foxden.server.chaos.RuleSpec``), ``GET /admin/chaos``
lists them with their hits, ``DELETE /admin/chaos/{id}`` removes one and
``DELETE /admin/chaos`` all; ``GET /admin/requests?path=&sn=&errno=&since=&limit=``
answers the journal's calls under ``requests`` (oldest first), ``DELETE /admin/requests``
empties it. ``POST /admin/snapshot`` keeps the whole state (store, fleet clock and seed,
chaos rules) in memory under a new id; ``POST /admin/restore {"id"}`` puts it back. Same
token and error shape as the rest of the admin API.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from foxden.server.chaos import ChaosError, Rule, RuleSpec
from foxden.server.journal import Query
from foxden.store.snapshot import StoreSnapshot

if TYPE_CHECKING:
    from foxden.server.app import FoxdenApp

Handler = Callable[[Request], Awaitable[dict[str, Any]]]
MAX_LIMIT = 100_000


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def guarded(token: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` behind the admin token (``Authorization: Bearer`` or ``X-Admin-Token``);
    its errors as HTTP 4xx with ``{"error": message}``."""

    async def view(request: Request) -> Response:
        sent = (
            request.headers.get("x-admin-token")
            or request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        )
        if not token or not hmac.compare_digest(sent.encode(), token.encode()):
            return JSONResponse({"error": "admin token missing or wrong"}, status_code=401)
        try:
            return JSONResponse(await handler(request))
        except BadRequest as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except msgspec.MsgspecError as exc:
            return JSONResponse({"error": f"bad request body: {exc}"}, status_code=400)

    return view


def parse_since(raw: str) -> int:
    """Milliseconds since the epoch, or an ISO 8601 time with its offset."""
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(
            400, f"since: {raw!r} is neither ms since the epoch nor ISO 8601"
        ) from None
    if when.tzinfo is None:
        raise BadRequest(400, f"since: {raw!r} needs its UTC offset")
    return int(when.timestamp() * 1000)


def _int(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(400, f"{name}: {raw!r} is not an integer") from None


def journal_query(params: dict[str, str]) -> Query:
    limit = _int(params, "limit")
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(400, f"limit: must be from 1 to {MAX_LIMIT}")
    since = params.get("since")
    return Query(
        path=params.get("path") or None,
        sn=params.get("sn") or None,
        errno=_int(params, "errno"),
        since_ms=parse_since(since) if since else None,
        account=params.get("account") or None,
        chaos=_int(params, "chaos"),
        limit=limit or 100,
    )


class RestoreBody(msgspec.Struct, forbid_unknown_fields=True):
    id: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    store: StoreSnapshot
    now_ms: int | None
    speed: float | None
    seed: int | None
    chaos: list[Rule]


class DoubleAdmin:
    MAX_SNAPSHOTS = 16

    def __init__(self, foxden: FoxdenApp, token: str) -> None:
        self.foxden = foxden
        self.token = token
        self.snapshots: dict[str, Snapshot] = {}
        self._ids = itertools.count(1)

    def routes(self) -> list[Route]:
        g = self.token
        return [
            Route("/admin/chaos", guarded(g, self.add_rule), methods=["POST"]),
            Route("/admin/chaos", guarded(g, self.list_rules), methods=["GET"]),
            Route("/admin/chaos", guarded(g, self.clear_rules), methods=["DELETE"]),
            Route("/admin/chaos/{id}", guarded(g, self.remove_rule), methods=["DELETE"]),
            Route("/admin/requests", guarded(g, self.requests), methods=["GET"]),
            Route("/admin/requests", guarded(g, self.clear_requests), methods=["DELETE"]),
            Route("/admin/snapshot", guarded(g, self.snapshot), methods=["POST"]),
            Route("/admin/restore", guarded(g, self.restore), methods=["POST"]),
        ]

    async def add_rule(self, request: Request) -> dict[str, Any]:
        spec = msgspec.json.decode((await request.body()) or b"{}", type=RuleSpec)
        try:
            rule = self.foxden.chaos.add(spec, self.foxden.wall.now_ms())
        except ChaosError as exc:
            raise BadRequest(400, str(exc)) from None
        return rule.describe(self.foxden.wall.now_ms())

    async def list_rules(self, request: Request) -> dict[str, Any]:
        return {"rules": self.foxden.chaos.describe(self.foxden.wall.now_ms())}

    async def clear_rules(self, request: Request) -> dict[str, Any]:
        return {"removed": self.foxden.chaos.clear()}

    async def remove_rule(self, request: Request) -> dict[str, Any]:
        raw = request.path_params["id"]
        if not raw.isdigit() or not self.foxden.chaos.remove(int(raw)):
            raise BadRequest(404, f"no chaos rule {raw}")
        return {"removed": int(raw)}

    async def requests(self, request: Request) -> dict[str, Any]:
        query = journal_query(dict(request.query_params))
        return {"requests": self.foxden.journal.query(query)}

    async def clear_requests(self, request: Request) -> dict[str, Any]:
        self.foxden.journal.clear()
        return {"requests": []}

    async def snapshot(self, request: Request) -> dict[str, Any]:
        fox = self.foxden
        runner = fox.runner
        async with self._lock():
            fox.quota.flush()
            taken = await asyncio.to_thread(fox.store.snapshot)
            clock = fox.admin.clock if runner is not None else None
            snap = Snapshot(
                taken,
                clock.now_ms() if clock else None,
                clock.speed if clock else None,
                runner.seed if runner else None,
                [dataclasses.replace(r) for r in fox.chaos.rules.values()],
            )
        snapshot_id = f"s{next(self._ids)}"
        self.snapshots[snapshot_id] = snap
        while len(self.snapshots) > self.MAX_SNAPSHOTS:
            del self.snapshots[next(iter(self.snapshots))]
        return {"id": snapshot_id, "now_ms": snap.now_ms, "rows": taken.counts()}

    async def restore(self, request: Request) -> dict[str, Any]:
        body = msgspec.json.decode((await request.body()) or b"{}", type=RestoreBody)
        snap = self.snapshots.get(body.id)
        if snap is None:
            raise BadRequest(404, f"no snapshot {body.id!r} (kept: {', '.join(self.snapshots)})")
        fox = self.foxden
        runner = fox.runner
        async with self._lock():
            await asyncio.to_thread(fox.store.restore, snap.store)
            fox.quota.forget()
            fox.chaos.rules = {r.id: dataclasses.replace(r) for r in snap.chaos}
            if runner is not None and snap.now_ms is not None and snap.speed is not None:
                clock = fox.admin.clock
                clock.set(snap.now_ms)
                clock.set_speed(snap.speed)
                runner.seed = snap.seed if snap.seed is not None else runner.seed
                runner.forget()
        return {"id": body.id, "now_ms": snap.now_ms, "rows": snap.store.counts()}

    def _lock(self) -> Any:
        fox = self.foxden
        return fox.admin.lock if fox.runner is not None else contextlib.nullcontext()
