"""The gateway server: a foxden server whose data is the upstream account's mirror.

What differs from ``foxden serve``:

- every local key's handlers see the store through :class:`ScopedStore` (the mirrored
  inverters as the key's own, less those the operator hid from it);
- setting and plant writes go to the upstream (:mod:`foxden.gateway.writes`);
- the poller's loops run beside the server (:mod:`foxden.gateway.poller`);
- ``GET /admin/gateway`` (admin token) shows the upstream's health, the day's budget plan
  and the mirror's progress, and ``/metrics`` adds the ``foxden_gateway_*`` series;
- a real-time answer given while the upstream's data is stale says so in the journal's
  detail (the answer itself keeps the cloud's shape).
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.routing import Route

from foxden.clock import Clock, RealClock
from foxden.config import Settings
from foxden.gateway.access import AccessRules, ScopedStore, access_path
from foxden.gateway.poller import Poller
from foxden.gateway.upstream import Upstream
from foxden.gateway.writes import passes_upstream, write_view
from foxden.protocol.endpoints import Endpoint
from foxden.server.app import FoxdenApp
from foxden.server.context import Ctx
from foxden.server.double_admin import guarded
from foxden.server.incoming import RawView
from foxden.server.journal import Exchange
from foxden.store import Account, Store

REALTIME_PATHS = frozenset({"/op/v0/device/real/query", "/op/v1/device/real/query"})


class GatewayApp(FoxdenApp):
    """See the module docstring; ``app`` is the ASGI application."""

    READY_ANSWERS = False
    """Each key sees the mirrored inverters its access rules allow (``ctx``), which the
    store's cache mark does not follow: every answer is made afresh."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        upstream: Upstream,
        *,
        refresh_s: float = 300.0,
        backfill_days: float = 7.0,
        clock: Clock | None = None,
        admin_token: str = "",
        poll: bool = True,
    ) -> None:
        self.upstream = upstream
        self.poll = poll
        self.access = AccessRules(access_path(settings.data_dir))
        self._scopes: dict[tuple[int, int], ScopedStore] = {}
        self._admin_token = admin_token
        super().__init__(settings, store, clock or RealClock(), None, admin_token)
        self.poller = Poller(
            store,
            upstream,
            self.wall,
            refresh_s=refresh_s,
            backfill_days=backfill_days,
            offload=self.in_db_thread,
        )
        self.metrics.registry.register(_GatewayMetrics(self))

    # ------------------------------------------------------------ hooks of FoxdenApp

    def ctx(self, account: Account, lang: str) -> Ctx:
        allowed = self.access.allowed(account.name)
        key = (account.id, self.access.version)
        scoped = self._scopes.get(key)
        if scoped is None:
            if len(self._scopes) > 10_000:
                self._scopes.clear()
            scoped = ScopedStore(self.store, self.poller.owner.id, account.id, allowed)
            self._scopes[key] = scoped
        return Ctx(scoped.as_store(), self.clock, self.wall, account, self.quota, lang)

    def custom_view(self, endpoint: Endpoint) -> RawView | None:
        if passes_upstream(endpoint):
            return write_view(self, endpoint)
        return None

    def background(self) -> list[Coroutine[Any, Any, None]]:
        return self.poller.loops() if self.poll else []

    def extra_routes(self) -> list[Route]:
        return [Route("/admin/gateway", guarded(self._admin_token, self._status), methods=["GET"])]

    def observe(self, call: Exchange) -> None:
        if call.path in REALTIME_PATHS and call.errno == 0:
            stale = self.poller.stale_s()
            if stale > 0:
                call.detail = (
                    f"real-time data is {stale:.0f} s old: the upstream has not answered "
                    f"since ({self.upstream.health.last_error})"
                )
        super().observe(call)

    # ------------------------------------------------------------ the status view

    def status(self) -> dict[str, Any]:
        now = self.wall.now_ms()
        progress = self.poller.progress
        health = self.upstream.health
        counts = self.upstream.counts
        return {
            "upstream": {
                "url": self.upstream.url,
                "up": health.up,
                "failures": health.failures,
                "next_try_ms": health.next_try_ms if not health.up else 0,
                "last_ok_ms": health.last_ok_ms,
                "last_error": health.last_error,
                "calls": counts.total,
                "calls_by_path": dict(counts.by_path),
                "calls_by_kind": dict(counts.by_kind),
                "failed": counts.failed,
                "refused_by_budget": counts.refused_by_budget,
                "recorded": self.upstream.recorder.written if self.upstream.recorder else 0,
            },
            "budget": self.upstream.budget.plan(now).as_json(),
            "mirror": {
                "plants": progress.plants,
                "inverters": progress.inverters,
                "inventory_ms": progress.inventory_ms,
                "refreshes": progress.refreshes,
                "refresh_ms": progress.refresh_ms,
                "refresh_s": self.poller.refresh_s,
                "stale_s": self.poller.stale_s(),
                "backfill_days": self.poller.backfill_days,
                "backfill_days_done": progress.backfill_days_done,
                "backfill_days_wanted": progress.backfill_days_wanted,
                "backfill_samples": progress.backfill_samples,
                "last_error": progress.last_error,
            },
        }

    async def _status(self, request: Request) -> dict[str, Any]:
        return self.status()


class _GatewayMetrics(Collector):
    def __init__(self, gateway: GatewayApp) -> None:
        self.gateway = gateway

    def collect(self) -> Iterator[Metric]:
        g = self.gateway
        status = g.status()
        budget = status["budget"]
        up = GaugeMetricFamily("foxden_gateway_upstream_up", "1 while the upstream answers")
        up.add_metric([], 1.0 if status["upstream"]["up"] else 0.0)
        yield up
        calls = CounterMetricFamily(
            "foxden_gateway_upstream_calls", "Calls made to the upstream, by path", labels=["path"]
        )
        for path, n in status["upstream"]["calls_by_path"].items():
            calls.add_metric([path], n)
        yield calls
        plan = GaugeMetricFamily(
            "foxden_gateway_budget",
            "The upstream's daily call budget as planned now (UTC day), by part",
            labels=["part"],
        )
        for part in (
            "quota",
            "used",
            "remaining",
            "margin",
            "realtime_per_day",
            "inventory_per_day",
            "write_reserve",
            "backfill_per_day",
            "realtime_left",
            "writes_left",
            "backfill_left",
        ):
            plan.add_metric([part], float(budget[part]))
        yield plan
        stale = GaugeMetricFamily(
            "foxden_gateway_realtime_stale_seconds",
            "How old real-time data is when the upstream has not answered for two refresh "
            "intervals; 0 while fresh, -1 before the first refresh",
        )
        stale.add_metric([], float(status["mirror"]["stale_s"]))
        yield stale
        age = GaugeMetricFamily(
            "foxden_gateway_realtime_age_seconds",
            "Seconds since real-time data last came back from the upstream",
        )
        refreshed = status["mirror"]["refresh_ms"]
        age.add_metric([], (g.wall.now_ms() - refreshed) / 1000 if refreshed else -1.0)
        yield age
        samples = CounterMetricFamily(
            "foxden_gateway_backfill_samples", "History samples backfilled from the upstream"
        )
        samples.add_metric([], float(status["mirror"]["backfill_samples"]))
        yield samples
