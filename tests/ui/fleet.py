"""The dashboard under test: the demo fleet (three plants, six inverters) served on a
loopback port with its clock frozen, and one headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by selenium). ``tools/screenshots.py`` uses the same two."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from foxden.client import Client, RetryPolicy
from foxden.client.admin import AdminClient
from foxden.config import Settings
from foxden.demo import seed_demo
from foxden.server.app import FoxdenApp
from foxden.sim.clock import SimClock
from foxden.sim.runner import FleetRunner
from foxden.store import Store, open_store, url_for
from tests.conftest import serve_in_thread

ADMIN_TOKEN = "dashboard-admin-token-for-tests"
START = datetime(2026, 6, 15, 11, 0, tzinfo=UTC)
"""Midday in Europe: PV producing in the UK and Berlin, evening in Sydney."""
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Without the background-networking flags an offline Chromium's own connections fail."""


@dataclass
class DemoServer:
    url: str
    store: Store
    foxden: FoxdenApp
    runner: FleetRunner
    key: str
    server: uvicorn.Server
    thread: threading.Thread
    clients: list[Client] = field(default_factory=list)

    def client(self) -> Client:
        c = Client(self.key, self.url, retry=RetryPolicy(max_retries=0))
        self.clients.append(c)
        return c

    def admin(self) -> AdminClient:
        return AdminClient(self.url, ADMIN_TOKEN)

    def serials(self) -> list[str]:
        return [d.sn for d, _ in self.store.all_devices()]

    def stop(self) -> None:
        for c in self.clients:
            c.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_demo(data_dir: Path, backfill_days: float = 1.0, start: datetime = START) -> DemoServer:
    """The demo fleet with ``backfill_days`` of history up to ``start``, clock frozen there."""
    settings = Settings(
        data_dir=str(data_dir),
        limit_profile="off",
        speed=0.0,
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(url_for(data_dir))
    now = int(start.timestamp() * 1000)
    key = seed_demo(store, data_dir, now)
    assert key is not None
    clock = SimClock(start_ms=now, speed=0)
    runner = FleetRunner(store, clock, seed=0)
    runner.backfill(backfill_days)
    foxden = FoxdenApp(settings, store, clock, runner, ADMIN_TOKEN)
    url, server, thread = serve_in_thread(foxden.app, settings)
    return DemoServer(url, store, foxden, runner, key, server, thread)


def browser_available() -> bool:
    return shutil.which(CHROMIUM) is not None and shutil.which(CHROMEDRIVER) is not None


def require_browser() -> None:
    """Called as a browser test module is imported: without Chromium and its driver the
    module is skipped, except in CI, which installs them (there it fails)."""
    if browser_available():
        return
    if os.environ.get("CI"):
        raise RuntimeError("CI needs chromium and chromium-driver (.ci/run installs them)")
    pytest.skip(
        "no chromium/chromedriver (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )


def start_browser(width: int = 1280, height: int = 900) -> Any:
    """A headless Chromium with a fresh profile, its console kept for ``console_errors``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='foxden-chromium-')}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def emulate(driver: Any, width: int, height: int, dark: bool, mobile: bool = False) -> None:
    """Show pages as a screen of ``width`` x ``height`` CSS pixels that prefers a dark or a
    light colour scheme (Chromium's DevTools emulation)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]},
    )


def console_errors(driver: Any) -> list[str]:
    """Errors the page logged since the last look (uncaught exceptions, failed loads,
    console.error)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
