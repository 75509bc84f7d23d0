"""Call limits in Redis: two servers on one database and one Redis keep the quota, the
cloud's per-path pacing, the setting-write spacing and the lenient token bucket exactly as
one server does, under concurrent callers spread over both."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from foxden import accounts
from foxden.client import ApiError, AuthError, Client, RateLimitedError
from foxden.clock import FrozenClock
from foxden.server.limits import utc_day
from foxden.server.shared_limits import RedisLimits, connect, redact
from tests.conftest import LiveServer, start_server

H1 = "60H150E2430001A"
H3 = "60H310E2430002A"


def errno_of(call: Any) -> int:
    try:
        call()
    except ApiError as exc:
        return exc.errno
    return 0


class Pair:
    """Two servers sharing a database and a Redis, their wall clocks one frozen clock."""

    def __init__(self, root: Path, database_url: str, redis_url: str, **overrides: Any) -> None:
        self.wall = FrozenClock(time.time_ns() // 1_000_000)
        self.servers: list[LiveServer] = []
        for name in ("a", "b"):
            live = start_server(
                root / name, database_url=database_url, redis_url=redis_url, **overrides
            )
            live.foxden.wall = self.wall
            if hasattr(live.store, "exact_changes"):  # as foxden serve's workers run it
                live.store.exact_changes = True
            self.servers.append(live)
        first = self.servers[0]
        self.key = first.account("alice")
        first.device("alice", H1, "H1-5.0-E")
        first.device("alice", H3, "H3-10.0-E")

    def clients(self, n: int) -> list[Client]:
        """``n`` clients of alice, alternately on each server."""
        return [self.servers[i % 2].client(self.key) for i in range(n)]

    def stop(self) -> None:
        for live in self.servers:
            live.stop()


@pytest.fixture
def pair_factory(tmp_path: Path, database_url: str, redis_url: str) -> Iterator[Any]:
    made: list[Pair] = []

    def make(**overrides: Any) -> Pair:
        pair = Pair(tmp_path, database_url, redis_url, **overrides)
        made.append(pair)
        return pair

    yield make
    for pair in made:
        pair.stop()


def test_quota_is_exact_across_servers_under_50_callers(pair_factory: Any) -> None:
    pair = pair_factory(limit_profile="off", daily_quota_per_device=30, quota_flush_every=1)
    # "off" counts but never refuses; the same calls under "lenient" are refused at 60
    clients = pair.clients(50)
    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(lambda i: errno_of(clients[i].device_list), range(50)))
    assert Counter(results) == {0: 50}
    assert clients[0].access_count().remaining == "10"  # 2 inverters x 30 - 50
    assert clients[1].access_count().remaining == "10"


def counted_calls(pair: Pair, live: LiveServer, n: int) -> Callable[[], int]:
    """``n`` counted calls of alice through ``live``; then what its store holds as alice's
    count of the day (read anew at each call of the result)."""
    client = live.client(pair.key)
    for _ in range(n):
        client.device_list()
    account = live.store.account_by_name("alice")
    assert account is not None
    day = utc_day(pair.wall.now_ms())
    return lambda: live.store.usage(account.id, day)


def test_the_store_gets_the_count_from_the_timed_flush_not_after_every_few_calls(
    pair_factory: Any,
) -> None:
    """Redis holds the day's count: counted calls never wait for (or are sent to the
    database thread by) a write of it, even with ``quota_flush_every`` 1; the timed flush
    (``quota_flush_s``, and shutdown) writes it."""
    pair = pair_factory(
        limit_profile="off", daily_quota_per_device=30, quota_flush_every=1, quota_flush_s=3600.0
    )
    live = pair.servers[0]
    stored = counted_calls(pair, live, 5)
    assert live.client(pair.key).access_count().remaining == "55"  # Redis counted all five
    assert stored() == 0  # and none was written after a call
    live.foxden.quota.flush()  # what the timed flush does
    assert stored() == 5


def test_the_timed_flush_writes_the_count_to_the_store(pair_factory: Any) -> None:
    pair = pair_factory(limit_profile="off", daily_quota_per_device=30, quota_flush_s=0.2)
    stored = counted_calls(pair, pair.servers[1], 3)
    deadline = time.monotonic() + 10
    while stored() < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored() == 3


def test_quota_refuses_exactly_at_the_total_across_servers(pair_factory: Any) -> None:
    pair = pair_factory(
        limit_profile="lenient",
        daily_quota_per_device=20,
        rate_per_second=10_000.0,
        rate_burst=10_000,
        quota_flush_every=1,
    )
    clients = pair.clients(50)
    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(lambda i: errno_of(clients[i % 50].plant_list), range(100)))
    assert Counter(results) == {0: 40, 40402: 60}
    for client in clients[:2]:
        count = client.access_count()
        assert (count.total, count.remaining) == ("40", "0")
    # each server wrote the count Redis holds to the database
    for live in pair.servers:
        live.foxden.quota.flush()
        account = live.store.account_by_name("alice")
        assert account is not None
        assert live.store.usage(account.id, utc_day(pair.wall.now_ms())) == 40


def test_cloud_pacing_admits_one_call_per_path_across_servers(pair_factory: Any) -> None:
    pair = pair_factory(limit_profile="cloud")
    clients = pair.clients(50)
    before = int(clients[0].access_count().remaining)
    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(lambda c: errno_of(lambda: c.real_time_v1([H1])), clients))
    assert Counter(results) == {0: 1, 40400: 49}
    # another query path is free; the refused calls cost nothing
    assert errno_of(lambda: clients[1].real_time(H1)) == 0
    pair.wall.advance(999)
    with pytest.raises(RateLimitedError) as info:
        clients[1].real_time_v1([H3])
    assert "retry in 1 ms" in info.value.detail
    pair.wall.advance(1)
    assert errno_of(lambda: clients[1].real_time_v1([H3])) == 0
    assert int(clients[0].access_count().remaining) == before - 3


def test_cloud_setting_writes_are_spaced_across_servers(pair_factory: Any) -> None:
    pair = pair_factory(limit_profile="cloud")
    a, b = pair.clients(2)
    results = [errno_of(lambda c=c: c.set_setting(H1, "MaxSoc", 90)) for c in (a, b)]
    assert results == [0, 40400]
    assert errno_of(lambda: b.set_setting(H3, "MaxSoc", 90)) == 0  # another inverter
    pair.wall.advance(2_000)
    # a refused write (bad value) claims nothing: the next good one goes through at once
    assert errno_of(lambda: a.set_setting(H1, "MaxSoc", 1000)) == 40257
    assert errno_of(lambda: b.set_setting(H1, "MaxSoc", 95)) == 0


def test_lenient_bucket_is_one_bucket_across_servers(pair_factory: Any) -> None:
    pair = pair_factory(limit_profile="lenient", rate_per_second=0.001, rate_burst=7)
    clients = pair.clients(50)
    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(lambda c: errno_of(c.device_list), clients))
    assert Counter(results) == {0: 7, 40400: 43}


def test_a_write_through_one_server_is_read_through_the_other(pair_factory: Any) -> None:
    """The store's caches follow writes of other processes (PostgreSQL: NOTIFY; SQLite:
    data_version): a setting, and a rotated key refused at once."""
    pair = pair_factory(limit_profile="lenient", rate_per_second=1000.0, rate_burst=1000)
    a, b = pair.clients(2)
    for value in (91, 87):
        b.setting(H1, "MaxSoc")  # cached on b
        a.set_setting(H1, "MaxSoc", value)
        # PostgreSQL's notification reaches b's listener thread a moment after the commit
        # (under a millisecond on an idle host): allow it 5 s, as tests/server/test_caches.py
        deadline = time.monotonic() + 5.0
        while float(b.setting(H1, "MaxSoc").value) != value and time.monotonic() < deadline:
            time.sleep(0.005)
        assert float(b.setting(H1, "MaxSoc").value) == value
    b.device_list()  # b has the key cached
    new_key = accounts.rotate_key(pair.servers[0].store, "alice")
    with pytest.raises(AuthError):
        b.device_list()
    assert len(pair.servers[1].client(new_key).device_list().data) == 2


def test_the_replay_cache_is_one_for_both_servers(pair_factory: Any) -> None:
    import httpx

    from foxden.protocol import signing

    pair = pair_factory(limit_profile="off", replay_cache=True)
    path = "/op/v0/device/list"
    headers = signing.headers(path, pair.key, pair.wall.now_ms())
    answers = [
        httpx.post(live.url + path, headers=headers, json={"currentPage": 1, "pageSize": 10})
        for live in pair.servers
    ]
    assert [a.json()["errno"] for a in answers] == [0, 40256]
    assert "already used" in answers[1].headers["X-Foxden-Detail"]


def test_unreachable_redis_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"cannot reach Redis at redis://u:\*\*\*@127.0.0.1:1/0"):
        connect("redis://u:secret@127.0.0.1:1/0")
    assert redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_redis_going_away_refuses_calls_with_41200(tmp_path: Path) -> None:
    from tests.redis_server import own_redis

    with own_redis() as url:
        live = start_server(tmp_path, redis_url=url)
        client = live.client(live.account("alice"))
        client.device_list()
        assert isinstance(live.foxden.quota, RedisLimits)
        live.foxden.quota.client.shutdown(nosave=True)
        try:
            with pytest.raises(ApiError) as info:
                client.device_list()
            assert info.value.errno == 41200
            assert "Redis" in info.value.detail
        finally:
            live.stop()
