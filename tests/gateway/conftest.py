"""An upstream foxden (standing in for the vendor cloud) and a gateway mirroring it, both
on loopback ports, driven by the real client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from foxden import accounts
from foxden.client import Client
from foxden.clock import RealClock
from foxden.config import Settings
from foxden.gateway import Backoff, GatewayApp, create_gateway
from foxden.store import Store, open_store
from foxden.testing import FoxdenServer, start_server
from tests.conftest import NO_RETRY, serve_in_thread

ADMIN = "gateway-admin-token-for-tests"


def wait_for(check: Callable[[], bool], what: str, limit_s: float = 30.0) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``limit_s`` (a guard
    against a hang, not a speed assertion)."""
    deadline = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


@dataclass
class LiveGateway:
    url: str
    store: Store
    app: GatewayApp
    data_dir: Path
    server: uvicorn.Server
    thread: Any
    clients: list[Client] = field(default_factory=list)

    def key(self, name: str) -> str:
        """A local account; its key."""
        _, key = accounts.create_account(self.store, name, RealClock().now_ms())
        return key

    def client(self, key: str, **options: Any) -> Client:
        options.setdefault("retry", NO_RETRY)
        c = Client(key, self.url, **options)
        self.clients.append(c)
        return c

    def mirrored(self) -> None:
        """Wait until the inventory has been read."""
        wait_for(lambda: self.app.poller.progress.inventory_ms > 0, "the inventory")

    def stop(self) -> None:
        for c in self.clients:
            c.close()
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.store.close()


def start_gateway(
    data_dir: Path, upstream: FoxdenServer, key: str | None = None, **options: Any
) -> LiveGateway:
    settings = replace(
        Settings(data_dir=str(data_dir)),
        limit_profile=options.pop("limit_profile", "lenient"),
        rate_per_second=10_000.0,
        rate_burst=10_000,
        access_log=False,
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.database())
    options.setdefault("path_interval_s", 0.02)
    options.setdefault("backoff", Backoff(base_s=0.2, cap_s=1.0))
    app = create_gateway(
        settings,
        store,
        upstream.base_url,
        key or upstream.api_key,
        admin_token=ADMIN,
        **options,
    )
    url, server, thread = serve_in_thread(app.app, settings)
    return LiveGateway(url, store, app, data_dir, server, thread)


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[FoxdenServer]:
    """The demo fleet (three plants, six inverters) with an hour of history."""
    server = start_server(
        tmp_path / "upstream", backfill_days=1 / 24, rate_per_second=10_000.0, rate_burst=10_000
    )
    yield server
    server.stop()


@pytest.fixture
def upstream_day(tmp_path: Path) -> Iterator[FoxdenServer]:
    """The demo fleet with two days of history, so that yesterday (UTC) is whole at any hour:
    with one day, yesterday's history began at this hour of it."""
    server = start_server(
        tmp_path / "upstream", backfill_days=2.0, rate_per_second=10_000.0, rate_burst=10_000
    )
    yield server
    server.stop()
