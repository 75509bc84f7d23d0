"""A pytest plugin: foxden as a fixture for the test suites of Fox ESS integrations.

Installed with foxden (entry point ``pytest11``); it only adds fixtures and a marker,
nothing runs unless a test asks for a fixture:

- ``foxden_server``: a real foxden server on a free loopback port, in a temporary data
  dir, its fleet clock frozen, started from the demo scenario or from the one named by
  ``@pytest.mark.foxden_scenario("path/to/fleet.toml")`` (keyword arguments of the marker
  override server settings, e.g. ``limit_profile="cloud"``). See :class:`FoxdenServer`.
- ``foxden_client`` / ``foxden_async_client``: foxden's own ``Client`` / ``AsyncClient``
  with the server's key, retries off.

The server runs with the ``lenient`` limit profile unless the marker says otherwise, so a
test can call as fast as it likes; ``limit_profile="cloud"`` gives the cloud's pacing.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from foxden.client import AsyncClient, Client
    from foxden.client.admin import AdminClient
    from foxden.server.app import FoxdenApp

MARKER = "foxden_scenario"
ADMIN_TOKEN = "foxden-test-admin-token"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(path, **settings): the scenario file foxden_server starts from "
        "(and server settings to override)",
    )


@dataclass
class FoxdenServer:
    """A running foxden server and the controls a test needs."""

    base_url: str
    api_key: str
    """The key of the scenario's first account."""
    admin_token: str
    keys: dict[str, str]
    """Every account's key by account name."""
    data_dir: Path
    foxden: FoxdenApp
    admin: AdminClient
    _server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def advance(self, seconds: float) -> int:
        """Move the frozen fleet clock on; the fleet simulates up to it. Samples stored."""
        return int(self.admin.advance(round(seconds * 1000))["samples"])

    def now_ms(self) -> int:
        """The fleet clock's now."""
        return int(self.admin.clock()["now_ms"])

    def inject_fault(self, sn: str, code: int, duration_s: float | None = None) -> None:
        """Put an inverter in fault, at once (real-time data and device/list show it)."""
        duration = None if duration_s is None else round(duration_s * 1000)
        self.admin.inject_fault(sn, code, duration)

    def clear_fault(self, sn: str) -> None:
        self.admin.clear_fault(sn)

    def chaos(
        self,
        path: str | None = None,
        *,
        key: str | None = None,
        account: str | None = None,
        sn: str | None = None,
        method: str | None = None,
        **answer: Any,
    ) -> dict[str, Any]:
        """Add a chaos rule: match fields as arguments, the rest as in ``POST /admin/chaos``
        (errno, msg, status, delay_ms, drop, timeout, probability, count, ttl_s).
        ``server.chaos("/op/v0/device/real/query", errno=41200, count=2)``."""
        from foxden.client.admin import chaos_match

        match = chaos_match(path=path, key=key, account=account, sn=sn, method=method)
        return self.admin.add_chaos(match=match, **answer)

    def chaos_rules(self) -> list[dict[str, Any]]:
        return self.admin.chaos_rules()

    def requests(
        self,
        path: str | None = None,
        *,
        sn: str | None = None,
        errno: int | None = None,
        since: int | str | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, Any]]:
        """Journal entries of the Open API calls received, oldest first."""
        return self.admin.requests(path=path, sn=sn, errno=errno, since=since, limit=limit)

    def assert_called(
        self,
        path: str,
        times: int | None = None,
        *,
        body: Any = None,
        query: dict[str, str] | None = None,
        errno: int | None = None,
    ) -> list[dict[str, Any]]:
        """Assert ``path`` was called (exactly ``times`` times when given) with this JSON
        ``body`` / ``query`` / answer ``errno`` (unset: any); the matching calls."""
        calls = self.requests(path)
        found = [
            c
            for c in calls
            if (body is None or c["body"] == body)
            and (query is None or c["query"] == query)
            and (errno is None or c["errno"] == errno)
        ]
        wanted = " with " + ", ".join(
            f"{name}={value!r}"
            for name, value in (("body", body), ("query", query), ("errno", errno))
            if value is not None
        )
        if times is None:
            assert found, f"{path} was never called{wanted if wanted != ' with ' else ''}"
        else:
            seen = [(c["body"], c["query"], c["errno"]) for c in calls]
            assert len(found) == times, (
                f"{path} called {len(found)} times{wanted if wanted != ' with ' else ''}, "
                f"expected {times}; all calls to it (body, query, errno): {seen}"
            )
        return found

    def snapshot(self) -> str:
        """Keep the whole state (store, fleet clock, chaos rules); its id for restore."""
        return str(self.admin.snapshot()["id"])

    def restore(self, snapshot_id: str) -> None:
        self.admin.restore(snapshot_id)

    def client(self, **options: Any) -> Client:
        """A new blocking client with this server's key (retries off unless given)."""
        from foxden.client import Client, RetryPolicy

        options.setdefault("retry", RetryPolicy(max_retries=0))
        return Client(options.pop("api_key", self.api_key), self.base_url, **options)

    def stop(self) -> None:
        self.admin.close()
        self.foxden.chaos.release_all()
        self._server.should_exit = True
        self._thread.join(timeout=30)


def start_server(
    data_dir: Path, scenario_path: str | Path | None = None, **settings: Any
) -> FoxdenServer:
    """Start foxden on a free loopback port from a scenario (default: the demo fleet),
    fleet clock frozen at the scenario's start (default: now)."""
    import uvicorn

    from foxden import scenario as scenarios
    from foxden.client.admin import AdminClient
    from foxden.clock import RealClock
    from foxden.config import Settings
    from foxden.demo import demo_scenario
    from foxden.server.app import FoxdenApp
    from foxden.server.http import uvicorn_config
    from foxden.sim.clock import SimClock
    from foxden.sim.runner import FleetRunner
    from foxden.store import open_store

    sc = scenarios.validate(scenario_path) if scenario_path else demo_scenario()
    f = sc.file
    config = Settings(
        data_dir=str(data_dir),
        seed=f.seed or 0,
        speed=0.0,
        backfill_days=f.backfill_days or 0.0,
        limit_profile="lenient",
        admin_token=ADMIN_TOKEN,
        access_log=False,
    )
    config = replace(config, **settings)
    store = open_store(config.database())
    now = RealClock().now_ms()
    keys = scenarios.apply(sc, store, now).keys
    start = sc.start_ms if sc.start_ms is not None else now
    clock = SimClock(start_ms=start, speed=config.speed)
    runner = FleetRunner(store, clock, config.seed, config.random_faults)
    span = max(int(config.backfill_days * 86_400_000), 300_000)
    runner.run_until(start, start_ms=start - span)
    foxden = FoxdenApp(config, store, clock, runner, config.admin_token)
    for rule in sc.chaos:
        foxden.chaos.add(rule, now)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(foxden.app, config, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("foxden did not start")
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    first = f.account[0].name
    return FoxdenServer(
        url,
        keys[first],
        config.admin_token,
        keys,
        data_dir,
        foxden,
        AdminClient(url, config.admin_token),
        server,
        thread,
    )


@pytest.fixture
def foxden_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FoxdenServer]:
    """A real foxden server for this test (see the module's docstring)."""
    marker = request.node.get_closest_marker(MARKER)
    path: str | Path | None = None
    settings: dict[str, Any] = {}
    if marker is not None:
        path = marker.args[0] if marker.args else marker.kwargs.get("path")
        settings = {k: v for k, v in marker.kwargs.items() if k != "path"}
        if path is not None and not Path(path).is_absolute():
            path = Path(request.node.path).parent / path
    server = start_server(tmp_path_factory.mktemp("foxden"), path, **settings)
    yield server
    server.stop()


@pytest.fixture
def foxden_client(foxden_server: FoxdenServer) -> Iterator[Client]:
    """foxden's blocking client with the server's key, retries off."""
    with foxden_server.client() as client:
        yield client


@pytest.fixture
def foxden_async_client(foxden_server: FoxdenServer) -> Iterator[AsyncClient]:
    """foxden's asyncio client with the server's key, retries off (close it in the test's
    loop with ``await client.aclose()`` if the test keeps it open)."""
    from foxden.client import AsyncClient, RetryPolicy

    client = AsyncClient(foxden_server.api_key, foxden_server.base_url, retry=RetryPolicy(0))
    yield client
    with contextlib.suppress(RuntimeError):  # its connections may belong to a closed loop
        asyncio.run(_close(client))


async def _close(client: AsyncClient) -> None:
    await client.aclose()


__all__ = ["FoxdenServer", "start_server"]
