"""Fixtures that start the real server on a loopback port and give real clients."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn

from foxden import accounts
from foxden.client import Client, RetryPolicy
from foxden.clock import Clock, RealClock
from foxden.config import Settings
from foxden.server.app import FoxdenApp
from foxden.server.http import uvicorn_config
from foxden.store import Store, open_store, url_for

pytest_plugins = ["pytester"]

NO_RETRY = RetryPolicy(max_retries=0)

# ---------------------------------------------------------------- skips in CI

STRICT_SKIPS_ENV = "FOXDEN_STRICT_SKIPS"
"""Set by .ci/run (and implied by ``CI=true``): a skipped test fails unless it is allowed."""

ALLOWED_SKIPS: tuple[tuple[str, str], ...] = ()
"""(test id prefix, words of the skip reason) pairs that may skip even in CI; the same list,
with why, is in docs/testing.md ("Skips in CI"). Empty: in CI every test runs."""


def strict_skips() -> bool:
    """Whether skips are failures: ``FOXDEN_STRICT_SKIPS=1`` or ``CI=true``."""
    strict = os.environ.get(STRICT_SKIPS_ENV, "").strip().lower() in {"1", "true", "yes"}
    return strict or os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def skip_allowed(nodeid: str, reason: str) -> bool:
    return any(nodeid.startswith(n) and words in reason for n, words in ALLOWED_SKIPS)


def _skip_reason(longrepr: Any) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _fail_unlisted_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail") or not strict_skips():
        return
    reason = _skip_reason(report.longrepr)
    if skip_allowed(report.nodeid, reason):
        return
    report.outcome = "failed"
    report.longrepr = (
        f"skipped in CI ({STRICT_SKIPS_ENV} or CI=true), and not on the allowed list in "
        f"tests/conftest.py and docs/testing.md: {reason}"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _fail_unlisted_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    _fail_unlisted_skip(report)
    return report


POSTGRES_URL = os.environ.get("FOXDEN_TEST_POSTGRES_URL", "")
"""A PostgreSQL server the tests may create databases on (.ci/run starts one and sets it)."""


@contextlib.contextmanager
def fresh_postgres() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL: set FOXDEN_TEST_POSTGRES_URL (.ci/run starts one and sets it)")
    from foxden.store.postgres import scratch_database

    with scratch_database(POSTGRES_URL, "foxden") as url:
        yield url


def listening(store: Any) -> None:
    """Wait until a PostgreSQL store's change listener is connected (until then it keeps
    nothing cached)."""
    deadline = time.monotonic() + 10
    while not store._listener.listening:
        assert time.monotonic() < deadline, "the change listener never connected"
        time.sleep(0.01)


T = TypeVar("T")


def seen(read: Callable[[], T], want: T, postgres: bool) -> T:
    """``read()``; on PostgreSQL another process's (or connection's) write reaches a cache by
    a notification, so the read may be repeated until it arrives (bounded: a lost
    notification fails the test)."""
    deadline = time.monotonic() + (5.0 if postgres else 0.0)
    while True:
        got = read()
        if got == want or time.monotonic() >= deadline:
            return got
        time.sleep(0.005)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """The URL of a Redis for the whole session (tests/redis_server.py)."""
    from tests.redis_server import session_redis

    with session_redis() as url:
        yield url


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """A Redis whose database is empty at the start of the test."""
    from tests.redis_server import flush

    flush(redis_server)
    return redis_server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each backend."""
    if request.param == "sqlite":
        yield url_for(tmp_path)
    else:
        with fresh_postgres() as url:
            yield url


class RawAnswer(dict[str, Any]):
    """A decoded answer envelope, with the ``X-Foxden-Detail`` header that came with it."""

    detail: str = ""


def raw_answer(response: httpx.Response) -> RawAnswer:
    """The envelope of an HTTP answer (asserted HTTP 200) and its detail header."""
    assert response.status_code == 200, response.status_code
    answer = RawAnswer(response.json())
    answer.detail = response.headers.get("X-Foxden-Detail", "")
    return answer


@dataclass
class LiveServer:
    """A foxden server running in a thread on 127.0.0.1, with its store for set-up."""

    url: str
    store: Store
    foxden: FoxdenApp
    data_dir: Path
    server: uvicorn.Server
    thread: threading.Thread
    clients: list[Client] = field(default_factory=list)

    def account(self, name: str) -> str:
        """Create an account; its API key."""
        _, key = accounts.create_account(self.store, name, RealClock().now_ms())
        return key

    def device(self, account: str, sn: str, model: str = "H1-5.0-E") -> None:
        accounts.add_device(self.store, account, sn, model, RealClock().now_ms())

    def client(self, key: str, **options: Any) -> Client:
        options.setdefault("retry", NO_RETRY)
        c = Client(key, self.url, **options)
        self.clients.append(c)
        return c

    def stop(self) -> None:
        for c in self.clients:
            c.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_in_thread(
    app: Any, settings: Settings | None = None
) -> tuple[str, uvicorn.Server, threading.Thread]:
    """Run an ASGI app in a thread on a free loopback port, under uvicorn with the HTTP
    limits of ``settings`` (as ``foxden serve`` runs it); its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn_config(app, settings or Settings(), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}", server, thread


def start_server(data_dir: Path, clock: Clock | None = None, **overrides: Any) -> LiveServer:
    """A live server; limit profile ``lenient`` unless the test asks for another (only
    tests about pacing run under ``cloud``, so rapid test calls are not refused)."""
    overrides.setdefault("limit_profile", "lenient")
    settings = replace(Settings(data_dir=str(data_dir)), **overrides)
    store = open_store(settings.database())
    foxden = FoxdenApp(settings, store, clock)
    url, server, thread = serve_in_thread(foxden.app, settings)
    return LiveServer(url, store, foxden, data_dir, server, thread)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    """A server with generous limits (the limit tests start their own)."""
    server = start_server(tmp_path, rate_per_second=10_000.0, rate_burst=10_000)
    yield server
    server.stop()


@pytest.fixture
def alice(live: LiveServer) -> Client:
    """Account alice with a single-phase hybrid, a three-phase hybrid and a grid-tied inverter."""
    key = live.account("alice")
    live.device("alice", "ALICEH1000001", "H1-5.0-E")
    live.device("alice", "ALICEH3000001", "H3-10.0-E")
    live.device("alice", "ALICEF3000001", "F3000")
    return live.client(key)


@pytest.fixture
def bob(live: LiveServer) -> Client:
    """Account bob with one KH8."""
    key = live.account("bob")
    live.device("bob", "BOBKH80000001", "KH8")
    return live.client(key)
