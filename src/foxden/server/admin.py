"""The admin API under /admin (not part of the Open API): fleet clock, faults, reset, seed.

For tests of integrations: freeze or accelerate simulated time, step it, inject faults.
Protected by the admin token (``Authorization: Bearer TOKEN`` or ``X-Admin-Token``);
answers are plain JSON, errors HTTP 4xx with ``{"error": message}``.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from foxden.protocol import catalogue
from foxden.sim.clock import SimClock
from foxden.sim.runner import FleetRunner, clear_fault

View = Callable[[Request], Awaitable[Response]]


class ClockChange(msgspec.Struct, forbid_unknown_fields=True):
    now_ms: int | None = None
    advance_ms: int | None = None
    speed: float | None = None


class FaultSet(msgspec.Struct, forbid_unknown_fields=True):
    sn: str
    code: int
    duration_ms: int | None = None


class SeedSet(msgspec.Struct, forbid_unknown_fields=True):
    seed: int
    backfill_days: float = 0.0


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Admin:
    def __init__(self, token: str, runner: FleetRunner, clock: SimClock) -> None:
        self.token = token
        self.runner = runner
        self.clock = clock
        self.lock = asyncio.Lock()

    def routes(self) -> list[Route]:
        return [
            Route("/admin/clock", self._guard(self.get_clock), methods=["GET"]),
            Route("/admin/clock", self._guard(self.set_clock), methods=["POST"]),
            Route("/admin/step", self._guard(self.step), methods=["POST"]),
            Route("/admin/faults", self._guard(self.set_fault), methods=["POST"]),
            Route("/admin/faults/{sn}", self._guard(self.clear_fault), methods=["DELETE"]),
            Route("/admin/reset", self._guard(self.reset), methods=["POST"]),
            Route("/admin/seed", self._guard(self.seed), methods=["POST"]),
        ]

    def _guard(self, handler: Callable[[Request], Awaitable[dict[str, Any]]]) -> View:
        async def view(request: Request) -> Response:
            sent = (
                request.headers.get("x-admin-token")
                or request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            )
            if not self.token or not hmac.compare_digest(sent.encode(), self.token.encode()):
                return JSONResponse({"error": "admin token missing or wrong"}, status_code=401)
            try:
                return JSONResponse(await handler(request))
            except AdminError as exc:
                return JSONResponse({"error": str(exc)}, status_code=exc.status)
            except msgspec.MsgspecError as exc:
                return JSONResponse({"error": f"bad request body: {exc}"}, status_code=400)

        return view

    @staticmethod
    async def _body(request: Request, kind: type[Any]) -> Any:
        return msgspec.json.decode((await request.body()) or b"{}", type=kind)

    def _clock_state(self) -> dict[str, Any]:
        return {"now_ms": self.clock.now_ms(), "speed": self.clock.speed}

    async def get_clock(self, request: Request) -> dict[str, Any]:
        return self._clock_state()

    async def set_clock(self, request: Request) -> dict[str, Any]:
        change: ClockChange = await self._body(request, ClockChange)
        if change.speed is not None:
            if change.speed < 0:
                raise AdminError(400, "speed must be >= 0")
            self.clock.set_speed(change.speed)
        if change.now_ms is not None:
            self.clock.set(change.now_ms)
        if change.advance_ms is not None:
            if change.advance_ms < 0:
                raise AdminError(400, "advance_ms must be >= 0: simulated time does not run back")
            self.clock.advance(change.advance_ms)
        stored = await self._catch_up()
        return {**self._clock_state(), "samples": stored}

    async def _catch_up(self) -> int:
        async with self.lock:
            return await asyncio.to_thread(self.runner.run_until, self.clock.now_ms())

    async def step(self, request: Request) -> dict[str, Any]:
        return {**self._clock_state(), "samples": await self._catch_up()}

    async def set_fault(self, request: Request) -> dict[str, Any]:
        fault: FaultSet = await self._body(request, FaultSet)
        if self.runner.store.device(fault.sn) is None:
            raise AdminError(404, f"no device {fault.sn}")
        if fault.code not in catalogue.faults():
            raise AdminError(400, f"unknown fault code {fault.code}")
        until = self.clock.now_ms() + fault.duration_ms if fault.duration_ms else None
        async with self.lock:  # a fresh sample shows the fault at once
            await asyncio.to_thread(self.runner.inject, fault.sn, fault.code, until)
        return {"sn": fault.sn, "fault": fault.code}

    async def clear_fault(self, request: Request) -> dict[str, Any]:
        sn = request.path_params["sn"]
        if self.runner.store.device(sn) is None:
            raise AdminError(404, f"no device {sn}")
        async with self.lock:
            await asyncio.to_thread(self.runner.clear, sn)
        return {"sn": sn, "fault": 0}

    async def reset(self, request: Request) -> dict[str, Any]:
        body: SeedSet = (
            await self._body(request, SeedSet)
            if await request.body()
            else SeedSet(seed=self.runner.seed)
        )
        return await self._reset(body.seed, body.backfill_days)

    async def seed(self, request: Request) -> dict[str, Any]:
        body: SeedSet = await self._body(request, SeedSet)
        return await self._reset(body.seed, body.backfill_days)

    async def _reset(self, seed: int, backfill_days: float) -> dict[str, Any]:
        async with self.lock:
            store = self.runner.store
            store.clear_telemetry()
            for device, _ in store.all_devices():
                clear_fault(store, device.sn)
            self.runner.seed = seed
            self.runner.fleet = None
            self.runner.state = None
            stored = 0
            if backfill_days > 0:
                stored = await asyncio.to_thread(self.runner.backfill, backfill_days)
        return {"seed": seed, "samples": stored, **self._clock_state()}
