"""Per-key rate limit and per-account daily quota, also under concurrent callers."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from foxden.client import ApiError, QuotaExceededError, RateLimitedError
from foxden.server.limits import QuotaKeeper, RateLimiter, utc_day
from foxden.store import open_store
from tests.conftest import LiveServer, start_server


def errno_of(call: object) -> int:
    try:
        call()  # type: ignore[operator]
    except ApiError as exc:
        return exc.errno
    return 0


def test_rate_limit_is_exact_under_concurrency(tmp_path: Path) -> None:
    live = start_server(tmp_path, rate_per_second=0.001, rate_burst=7)
    try:
        key = live.account("alice")
        clients = [live.client(key) for _ in range(6)]
        with ThreadPoolExecutor(6) as pool:
            results = list(
                pool.map(lambda i: errno_of(lambda: clients[i % 6].device_list()), range(30))
            )
        assert Counter(results) == {0: 7, 40400: 23}
        with pytest.raises(RateLimitedError) as refused:
            clients[0].device_list()
        assert refused.value.errno == 40400
    finally:
        live.stop()


def test_rate_limit_is_per_key(tmp_path: Path) -> None:
    live = start_server(tmp_path, rate_per_second=0.001, rate_burst=2)
    try:
        alice = live.client(live.account("alice"))
        bob = live.client(live.account("bob"))
        assert [errno_of(alice.device_list) for _ in range(3)] == [0, 0, 40400]
        assert [errno_of(bob.device_list) for _ in range(2)] == [0, 0]
    finally:
        live.stop()


def test_quota_is_exact_under_concurrency_and_reported(tmp_path: Path) -> None:
    live = start_server(
        tmp_path, rate_per_second=10_000.0, rate_burst=10_000, daily_quota_per_device=25
    )
    try:
        key = live.account("alice")
        live.device("alice", "ALICEH1000001")
        live.device("alice", "ALICEH1000002")
        clients = [live.client(key) for _ in range(8)]
        assert clients[0].access_count().total == "50"
        with ThreadPoolExecutor(8) as pool:
            results = list(
                pool.map(lambda i: errno_of(lambda: clients[i % 8].device_list()), range(80))
            )
        assert Counter(results) == {0: 50, 40402: 30}
        count = clients[0].access_count()
        assert (count.total, count.remaining) == ("50", "0")
        with pytest.raises(QuotaExceededError) as info:
            clients[1].plant_list()
        assert info.value.msg == "Your request exceeds the limit. Please try again later"
    finally:
        live.stop()


def test_quota_survives_a_restart(tmp_path: Path) -> None:
    live = start_server(tmp_path, daily_quota_per_device=10)
    key = live.account("alice")
    client = live.client(key)
    for _ in range(4):
        client.device_list()
    live.stop()
    again = start_server(tmp_path, daily_quota_per_device=10)
    try:
        assert again.client(key).access_count().remaining == "6"
    finally:
        again.stop()


def test_get_access_count_itself_does_not_count(live: LiveServer) -> None:
    client = live.client(live.account("alice"))
    before = client.access_count().remaining
    for _ in range(3):
        client.access_count()
    assert client.access_count().remaining == before == "1440"
    client.device_list()
    assert client.access_count().remaining == "1439"


def test_token_bucket_refills() -> None:
    limiter = RateLimiter(rate=2.0, burst=2)
    assert [limiter.allow(1, 0) for _ in range(3)] == [True, True, False]
    assert limiter.allow(1, 499) is False
    assert limiter.allow(1, 1000) is True
    assert RateLimiter(rate=0, burst=1).allow(1, 0) is True


def test_quota_resets_at_utc_midnight(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'q.db'}")
    account = store.create_account("a", "h", 0)
    keeper = QuotaKeeper(store, per_device=2)
    day1 = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000
    assert keeper.try_spend(account.id, 0, day1 + 10)
    assert keeper.try_spend(account.id, 0, day1 + 20)
    assert not keeper.try_spend(account.id, 0, day1 + 86_399_999)
    assert keeper.try_spend(account.id, 0, day1 + 86_400_000)
    keeper.flush()
    assert store.usage(account.id, utc_day(day1)) == 2
    assert store.usage(account.id, utc_day(day1 + 86_400_000)) == 1
