"""The admin API under /admin (not part of the Open API): fleet clock, faults, reset, seed.

For tests of integrations: freeze or accelerate simulated time, step it, inject faults.
Protected by the admin token (``Authorization: Bearer TOKEN`` or ``X-Admin-Token``);
answers are plain JSON, errors HTTP 4xx with ``{"error": message}``.

Every input is bounded (``ADMIN_LIMITS``) and checked before anything changes, so a bad
request leaves the clock as it was. Moving the clock more than a week ahead, or a reset
with more than a week of backfill, runs as a background job (HTTP 202): its progress is at
``GET /admin/jobs/current`` and ``DELETE /admin/jobs/current`` cancels it, leaving the
clock at the last simulated instant.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from foxden.protocol import catalogue
from foxden.sim.clock import SimClock

if TYPE_CHECKING:
    from foxden.sim.runner import FleetRunner

View = Callable[[Request], Awaitable[Response]]


log = logging.getLogger("foxden.admin")

DAY_MS = 86_400_000
SPEED_MAX = 86_400.0
"""At most one simulated day per real second."""
CLOCK_MIN_MS = 946_684_800_000
"""2000-01-01 00:00 UTC."""
CLOCK_MAX_MS = 4_102_444_800_000
"""2100-01-01 00:00 UTC."""
SPAN_MAX_MS = 366 * DAY_MS
"""The furthest one request may move the clock ahead (or backfill)."""
INLINE_SPAN_MS = 7 * DAY_MS
"""Simulating up to a week is done before answering; more runs as a background job."""
BACKFILL_MAX_DAYS = SPAN_MAX_MS / DAY_MS
SEED_MAX = 2**63 - 1

ADMIN_LIMITS = {
    "speed": f"0 to {SPEED_MAX:g}",
    "now_ms": f"{CLOCK_MIN_MS} to {CLOCK_MAX_MS} (years 2000 to 2099)",
    "advance_ms": f"0 to {SPAN_MAX_MS} (366 days)",
    "backfill_days": f"0 to {BACKFILL_MAX_DAYS:g}",
    "seed": f"0 to {SEED_MAX}",
    "duration_ms": f"1 to {SPAN_MAX_MS}",
}


class ClockChange(msgspec.Struct, forbid_unknown_fields=True):
    now_ms: int | None = None
    advance_ms: int | None = None
    speed: float | None = None


class FaultSet(msgspec.Struct, forbid_unknown_fields=True):
    sn: Annotated[str, Meta(min_length=1, max_length=64)]
    code: int
    duration_ms: int | None = None


class SeedSet(msgspec.Struct, forbid_unknown_fields=True):
    seed: int
    backfill_days: float = 0.0


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _bounded(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise AdminError(400, f"{name} must be {ADMIN_LIMITS[name]}, got {value:g}")


class JobCancelled(Exception):
    """Raised inside a job's thread at its next progress report once cancelled."""


@dataclass
class Job:
    """A long simulation running in a thread; one at a time."""

    id: int
    kind: Literal["advance", "backfill"]
    target_ms: int
    state: Literal["running", "done", "cancelled", "failed"] = "running"
    days_done: int = 0
    days_total: int = 0
    samples: int = 0
    error: str = ""
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    task: asyncio.Task[None] | None = None

    def view(self) -> dict[str, Any]:
        end = self.finished if self.finished is not None else time.monotonic()
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "target_ms": self.target_ms,
            "days_done": self.days_done,
            "days_total": self.days_total,
            "samples": self.samples,
            "error": self.error,
            "seconds": round(end - self.started, 3),
        }

    def progress(self, done: int, total: int) -> None:
        self.days_done, self.days_total = done, total
        if self.cancel.is_set():
            raise JobCancelled


SHARED_FLEET = (
    "this server shares its fleet with other workers or machines (--workers, --role, "
    "--redis-url): the fleet runs in one process of them all, on the clock every process "
    "started with, so its clock, faults and seed cannot be changed here; run a single "
    "process (foxden serve without those options) to script the fleet"
)


class Admin:
    def __init__(
        self,
        token: str,
        runner: FleetRunner,
        clock: SimClock,
        leading: Callable[[], bool] | None = None,
    ) -> None:
        self.token = token
        self.runner = runner
        self.clock = clock
        self.leading = leading
        """Whether this process runs the shared fleet now; None: the fleet is this
        process's own (and the admin API may change it)."""
        self.lock = asyncio.Lock()
        self.job: Job | None = None
        self._ids = itertools.count(1)

    def routes(self) -> list[Route]:
        return [
            Route("/admin/clock", self._guard(self.get_clock), methods=["GET"]),
            Route("/admin/clock", self._guard(self.set_clock, True), methods=["POST"]),
            Route("/admin/step", self._guard(self.step), methods=["POST"]),
            Route("/admin/faults", self._guard(self.set_fault), methods=["POST"]),
            Route("/admin/faults/{sn}", self._guard(self.clear_fault), methods=["DELETE"]),
            Route("/admin/reset", self._guard(self.reset, True), methods=["POST"]),
            Route("/admin/seed", self._guard(self.seed, True), methods=["POST"]),
            Route("/admin/jobs/current", self._guard(self.get_job), methods=["GET"]),
            Route("/admin/jobs/current", self._guard(self.cancel_job), methods=["DELETE"]),
        ]

    def _guard(
        self, handler: Callable[[Request], Awaitable[dict[str, Any]]], starts_jobs: bool = False
    ) -> View:
        """The view: token check, then the handler; HTTP 202 when it started a job."""

        async def view(request: Request) -> Response:
            sent = (
                request.headers.get("x-admin-token")
                or request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            )
            if not self.token or not hmac.compare_digest(sent.encode(), self.token.encode()):
                return JSONResponse({"error": "admin token missing or wrong"}, status_code=401)
            try:
                if self.leading is not None and handler != self.get_clock:
                    raise AdminError(409, SHARED_FLEET)
                answer = await handler(request)
            except AdminError as exc:
                return JSONResponse({"error": str(exc)}, status_code=exc.status)
            except msgspec.MsgspecError as exc:
                return JSONResponse({"error": f"bad request body: {exc}"}, status_code=400)
            started = starts_jobs and answer.get("job") is not None
            return JSONResponse(answer, status_code=202 if started else 200)

        return view

    @staticmethod
    async def _body(request: Request, kind: type[Any]) -> Any:
        return msgspec.json.decode((await request.body()) or b"{}", type=kind)

    def _clock_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"now_ms": self.clock.now_ms(), "speed": self.clock.speed}
        if self.leading is not None:
            state["worker"] = {"pid": os.getpid(), "runs_fleet": self.leading()}
        return state

    def _busy(self) -> None:
        if self.job is not None and self.job.state == "running":
            raise AdminError(
                409, "a simulation job is running; see or cancel it at /admin/jobs/current"
            )

    def simulated_ms(self) -> int:
        """The last instant the fleet has been simulated to (the clock's now without one)."""
        state = self.runner.state
        if state is None or not len(state.last_ms):
            return self.clock.now_ms()
        return int(state.last_ms.max())

    async def get_clock(self, request: Request) -> dict[str, Any]:
        return self._clock_state()

    async def set_clock(self, request: Request) -> dict[str, Any]:
        change: ClockChange = await self._body(request, ClockChange)
        # check everything before changing anything: a refused request leaves the clock alone
        if change.speed is not None:
            _bounded("speed", change.speed, 0.0, SPEED_MAX)
        if change.now_ms is not None:
            _bounded("now_ms", change.now_ms, CLOCK_MIN_MS, CLOCK_MAX_MS)
        if change.advance_ms is not None:
            if change.advance_ms < 0:
                raise AdminError(400, "advance_ms must be >= 0: simulated time does not run back")
            _bounded("advance_ms", change.advance_ms, 0, SPAN_MAX_MS)
        self._busy()
        now = self.clock.now_ms()
        target = change.now_ms if change.now_ms is not None else now
        target += change.advance_ms or 0
        if not CLOCK_MIN_MS <= target <= CLOCK_MAX_MS:
            raise AdminError(400, f"the clock must stay within {ADMIN_LIMITS['now_ms']}")
        ahead = target - max(now, self.simulated_ms())
        if ahead > SPAN_MAX_MS:
            raise AdminError(
                400,
                f"the clock may move at most 366 days ({SPAN_MAX_MS} ms) ahead of the "
                f"simulated fleet per request; it would move {ahead} ms",
            )
        if change.speed is not None:
            self.clock.set_speed(change.speed)
        if target != now:
            self.clock.set(target)
        if ahead > INLINE_SPAN_MS:
            job = self._start("advance", target, lambda p: self.runner.run_until(target, None, p))
            return {**self._clock_state(), "samples": 0, "job": job.view()}
        stored = await self._catch_up()
        return {**self._clock_state(), "samples": stored}

    async def _catch_up(self) -> int:
        async with self.lock:
            return await asyncio.to_thread(self.runner.run_until, self.clock.now_ms())

    async def step(self, request: Request) -> dict[str, Any]:
        self._busy()
        return {**self._clock_state(), "samples": await self._catch_up()}

    # ------------------------------------------------------------ jobs

    def _start(
        self, kind: Literal["advance", "backfill"], target: int, work: Callable[[Any], int]
    ) -> Job:
        job = Job(next(self._ids), kind, target)
        self.job = job
        job.task = asyncio.get_running_loop().create_task(self._run_job(job, work))
        return job

    async def _run_job(self, job: Job, work: Callable[[Any], int]) -> None:
        try:
            async with self.lock:
                job.samples = await asyncio.to_thread(work, job.progress)
            job.state = "done"
        except JobCancelled:
            job.state = "cancelled"
        except Exception as exc:  # the job fails alone; the server and the clock go on
            log.exception("simulation job %d failed", job.id)
            job.state, job.error = "failed", str(exc)[:500]
        finally:
            job.finished = time.monotonic()
            if job.state != "done" and job.kind == "advance":
                # never leave the clock ahead of what was simulated
                self.clock.set(min(self.clock.now_ms(), self.simulated_ms()))

    async def get_job(self, request: Request) -> dict[str, Any]:
        return {"job": self.job.view() if self.job else None, **self._clock_state()}

    async def cancel_job(self, request: Request) -> dict[str, Any]:
        job = self.job
        if job is None or job.state != "running":
            raise AdminError(404, "no simulation job is running")
        job.cancel.set()
        if job.task is not None:
            await asyncio.shield(job.task)
        return {"job": job.view(), **self._clock_state()}

    async def wait_job(self) -> None:
        """Until the current job, if any, has finished (for shutdown)."""
        if self.job is not None and self.job.task is not None:
            self.job.cancel.set()
            await asyncio.shield(self.job.task)

    # ------------------------------------------------------------ faults

    async def set_fault(self, request: Request) -> dict[str, Any]:
        fault: FaultSet = await self._body(request, FaultSet)
        if fault.duration_ms is not None:
            _bounded("duration_ms", fault.duration_ms, 1, SPAN_MAX_MS)
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
            raise AdminError(404, f"no device {sn[:64]}")
        async with self.lock:
            await asyncio.to_thread(self.runner.clear, sn)
        return {"sn": sn, "fault": 0}

    # ------------------------------------------------------------ reset and seed

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
        _bounded("seed", seed, 0, SEED_MAX)
        _bounded("backfill_days", backfill_days, 0.0, BACKFILL_MAX_DAYS)
        from foxden.sim.runner import clear_fault

        self._busy()
        async with self.lock:
            store = self.runner.store
            store.clear_telemetry()
            for device, _ in store.all_devices():
                clear_fault(store, device.sn)
            self.runner.seed = seed
            self.runner.fleet = None
            self.runner.state = None
            stored = 0
            if 0 < backfill_days * DAY_MS <= INLINE_SPAN_MS:
                stored = await asyncio.to_thread(self.runner.backfill, backfill_days)
        answer = {"seed": seed, "samples": stored, **self._clock_state()}
        if backfill_days * DAY_MS > INLINE_SPAN_MS:
            now = self.clock.now_ms()
            job = self._start("backfill", now, lambda p: self.runner.backfill(backfill_days, p))
            answer["job"] = job.view()
        return answer
