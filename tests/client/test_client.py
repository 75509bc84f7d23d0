"""The client: sync/async parity, retries, pacing, transport errors."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import httpx
import pytest

from foxden.client import (
    AsyncClient,
    Client,
    Pacer,
    RateLimitedError,
    RetryPolicy,
    TransportError,
    calls,
)
from foxden.client import errors as client_errors
from foxden.protocol.endpoints import ENDPOINTS
from tests.conftest import LiveServer, start_server


def public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(fn)
        for name, fn in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in {"close", "aclose", "execute"}
    }


def test_sync_and_async_expose_the_same_methods() -> None:
    sync, asynchronous = public(Client), public(AsyncClient)
    assert sync.keys() == asynchronous.keys()
    for name in sync:
        assert sync[name].parameters.keys() == asynchronous[name].parameters.keys(), name
        assert inspect.iscoroutinefunction(getattr(AsyncClient, name)), name
    names = {
        n
        for n, f in vars(calls).items()
        if inspect.isfunction(f) and f.__module__ == calls.__name__ and not n.startswith("_")
    }
    assert set(sync) == names
    # execute sends any prepared call (what each method does), on both
    assert inspect.iscoroutinefunction(AsyncClient.execute)
    assert not inspect.iscoroutinefunction(Client.execute)


def test_every_control_plane_endpoint_has_a_method() -> None:
    import re

    source = inspect.getsource(calls)
    covered = set(re.findall(r'call\(\s*"([a-z_.0-9]+)"', source))
    assert covered == {e.name for e in ENDPOINTS}


def test_async_client_against_the_real_server(live: LiveServer) -> None:
    key = live.account("alice")
    live.device("alice", "ALICEH1000001")

    async def go() -> tuple[Any, ...]:
        async with AsyncClient(key, live.url, retry=RetryPolicy(max_retries=0)) as client:
            return await asyncio.gather(
                client.device_list(), client.access_count(), client.battery_soc("ALICEH1000001")
            )

    devices, count, soc = asyncio.run(go())
    assert devices.data[0].deviceSN == "ALICEH1000001"
    assert count.total == "1440"
    assert (soc.minSoc, soc.minSocOnGrid) == (10, 10)


def test_retry_on_too_frequent_then_success(tmp_path: Any) -> None:
    live = start_server(tmp_path, rate_per_second=20.0, rate_burst=1)
    try:
        key = live.account("alice")
        waits: list[float] = []

        class Recording(RetryPolicy):
            def delay(self, attempt: int) -> float:
                waits.append(super().delay(attempt))
                return waits[-1]

        policy = Recording(max_retries=5, base_s=0.1, cap_s=0.2, rng=lambda: 1.0)
        client = live.client(key, retry=policy)
        for _ in range(3):
            assert client.device_list().total == 0
        assert waits, "the burst of 1 must have been hit and retried"
        assert all(w in (0.1, 0.2) for w in waits)
    finally:
        live.stop()


def test_no_retry_on_invalid_parameters(live: LiveServer) -> None:
    key = live.account("alice")
    attempts: list[int] = []

    class Counting(RetryPolicy):
        def should_retry(self, exc: client_errors.FoxError, attempt: int) -> bool:
            attempts.append(attempt)
            return super().should_retry(exc, attempt)

    client = live.client(key, retry=Counting(max_retries=5, base_s=0))
    with pytest.raises(client_errors.InvalidParameterError) as invalid:
        client.device_list(page_size=5)
    assert invalid.value.errno == 40257
    assert attempts == [1]


def test_pacer_keeps_calls_apart_and_server_never_says_too_frequent(tmp_path: Any) -> None:
    live = start_server(tmp_path, rate_per_second=10.0, rate_burst=1)
    try:
        key = live.account("alice")
        client = live.client(key, min_interval_s=0.25)  # 2.5 x the server's spacing: load-proof
        for _ in range(6):
            client.device_list()  # no RateLimitedError: the client paced itself
        with pytest.raises(RateLimitedError) as refused:
            unpaced = live.client(key)
            for _ in range(3):
                unpaced.device_list()
        assert refused.value.errno == 40400
    finally:
        live.stop()


def test_pacer_arithmetic() -> None:
    pacer = Pacer(1.0)
    assert pacer.wait(10.0) == 0.0
    assert pacer.wait(10.2) == pytest.approx(0.8)
    assert pacer.wait(13.0) == 0.0


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(max_retries=10, base_s=1.0, cap_s=8.0, rng=lambda: 0.5)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert RetryPolicy(rng=lambda: 0.0).delay(3) == 0.0


# Network failures are the one thing foxden cannot produce: httpx's mock transport.


def test_network_failures_are_retried_then_raised() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["timestamp"])
        raise httpx.ConnectError("connection refused", request=request)

    client = Client(
        "k",
        "http://foxden.invalid",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(max_retries=2, base_s=0.0),
    )
    with pytest.raises(TransportError, match="ConnectError"):
        client.access_count()
    assert len(seen) == 3


def test_timeouts_become_timeout_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client = Client(
        "k",
        "http://foxden.invalid",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(max_retries=0),
    )
    with pytest.raises(client_errors.TimeoutError):
        client.access_count()


def test_non_json_answer_is_a_transport_error() -> None:
    client = Client(
        "k",
        "http://foxden.invalid",
        transport=httpx.MockTransport(lambda r: httpx.Response(502, text="<html>bad gateway")),
        retry=RetryPolicy(max_retries=0),
    )
    with pytest.raises(TransportError, match="HTTP 502"):
        client.access_count()


def test_defaults_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOXDEN_BASE_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("FOXDEN_API_KEY", "from-env")
    client = Client()
    assert (client.base_url, client.api_key) == ("http://127.0.0.1:9", "from-env")
    monkeypatch.delenv("FOXDEN_BASE_URL")
    assert Client("k").base_url == "https://www.foxesscloud.com"
