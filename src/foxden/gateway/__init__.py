"""Gateway mode: a foxden server that mirrors an upstream Open API account (the vendor cloud
by default) into its own store and shares the upstream's daily quota among local keys.

One room per concern:

- ``budget``: the day's upstream call plan (pure arithmetic);
- ``upstream``: the one door to the upstream (budget, pacing, backoff, recording);
- ``mirror``: upstream answers into store records;
- ``poller``: the loops that keep the mirror current (inventory, real time, backfill);
- ``access``: which mirrored inverters each local key sees;
- ``writes``: local writes checked here, passed upstream, read back and kept;
- ``cassette``: recording upstream exchanges and replaying them;
- ``app``: the server that ties them together.
"""

from __future__ import annotations

from pathlib import Path

from foxden.clock import Clock
from foxden.config import Settings
from foxden.gateway.app import GatewayApp
from foxden.gateway.budget import Budget
from foxden.gateway.upstream import PACING_SLACK_S, Backoff, Upstream
from foxden.protocol import limits
from foxden.store import Store

__all__ = ["Backoff", "Budget", "GatewayApp", "Upstream", "create_gateway"]


def create_gateway(
    settings: Settings,
    store: Store,
    upstream_url: str,
    upstream_key: str,
    *,
    refresh_s: float = 300.0,
    backfill_days: float = 7.0,
    record_dir: Path | None = None,
    admin_token: str = "",
    clock: Clock | None = None,
    backoff: Backoff | None = None,
    path_interval_s: float = limits.PATH_MIN_INTERVAL_MS / 1000 + PACING_SLACK_S,
) -> GatewayApp:
    """A gateway server on ``store`` mirroring the account of ``upstream_key`` at
    ``upstream_url``."""
    budget = Budget(settings.daily_quota_per_device, refresh_s)
    upstream = Upstream(
        upstream_url,
        upstream_key,
        budget,
        record_dir=record_dir,
        clock=clock,
        backoff=backoff,
        path_interval_s=path_interval_s,
    )
    return GatewayApp(
        settings,
        store,
        upstream,
        refresh_s=refresh_s,
        backfill_days=backfill_days,
        clock=clock,
        admin_token=admin_token,
    )
