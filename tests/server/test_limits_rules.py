"""The limit rules one at a time, without a server: the token bucket, the real cloud's
pacing, the daily quota's counting, flushing and keeping through a database refusal. The
live-server tests in test_limits.py and test_limit_profiles.py show the same rules on the
wire; these pin each boundary."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from foxden.server import limits
from foxden.server.limits import QuotaKeeper, RateLimiter, Spacing, utc_day
from foxden.store import Store, open_store, url_for, waiting

DAY_MS = 86_400_000
DAY1 = 1_700_006_400_000  # 2023-11-15 00:00 UTC
assert DAY1 % DAY_MS == 0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(url_for(tmp_path))
    yield opened
    opened.close()


def test_utc_day_turns_at_midnight_utc() -> None:
    assert utc_day(DAY1) == "2023-11-15"
    assert utc_day(DAY1 - 1) == "2023-11-14"
    assert utc_day(DAY1 + DAY_MS - 1) == "2023-11-15"
    assert utc_day(0) == "1970-01-01"


def test_bucket_starts_full_spends_one_a_call_and_refills_at_its_rate() -> None:
    bucket = RateLimiter(rate=4.0, burst=3)
    assert [bucket.allow(7, 1000) for _ in range(4)] == [True, True, True, False]
    assert bucket.allow(7, 1249) is False  # 0.996 of a token
    assert bucket.allow(7, 1250) is True  # 249 + 1 ms at 4 a second: one token
    assert bucket.allow(7, 1250) is False
    # saved tokens stop at the burst however long the key waits
    assert [bucket.allow(7, 100_000) for _ in range(4)] == [True, True, True, False]
    # each key has its own bucket
    assert bucket.allow(8, 100_000) is True


def test_bucket_burst_is_at_least_one_and_a_rate_of_zero_allows_everything() -> None:
    assert RateLimiter(rate=1.0, burst=0).burst == 1
    assert RateLimiter(rate=1.0, burst=-3).burst == 1
    single = RateLimiter(rate=1.0, burst=0)
    assert [single.allow(1, 0), single.allow(1, 0)] == [True, False]
    for rate in (0.0, -1.0):
        unlimited = RateLimiter(rate=rate, burst=1)
        assert [unlimited.allow(1, 0) for _ in range(5)] == [True] * 5


def test_bucket_ignores_a_clock_that_goes_back() -> None:
    bucket = RateLimiter(rate=1.0, burst=1)
    assert bucket.allow(1, 10_000) is True
    assert bucket.allow(1, 5_000) is False  # no negative refill, no refill either
    assert bucket.allow(1, 5_999) is False
    assert bucket.allow(1, 6_000) is True  # the stamp moved back to 5000: a second since


def test_spacing_waits_the_interval_from_the_last_accepted_call() -> None:
    spacing = Spacing(1000)
    assert spacing.wait_ms("path", 5000) == 0  # never used
    spacing.record("path", 5000)
    assert spacing.wait_ms("path", 5000) == 1000
    assert spacing.wait_ms("path", 5400) == 600
    assert spacing.wait_ms("path", 5999) == 1
    assert spacing.wait_ms("path", 6000) == 0
    assert spacing.wait_ms("path", 9000) == 0
    assert spacing.wait_ms("other", 5000) == 0  # per key
    shortest = Spacing(1)
    shortest.record("k", 100)
    assert (shortest.wait_ms("k", 100), shortest.wait_ms("k", 101)) == (1, 0)


def test_spacing_of_zero_or_less_never_waits_nor_records() -> None:
    for interval in (0, -5):
        spacing = Spacing(interval)
        spacing.record("k", 100)
        assert spacing.wait_ms("k", 100) == 0
        assert spacing._last == {}


def test_quota_total_is_per_device_with_at_least_one(store: Store) -> None:
    keeper = QuotaKeeper(store, per_device=1440)
    assert keeper.total(0) == 1440
    assert keeper.total(1) == 1440
    assert keeper.total(3) == 4320


def test_quota_reads_the_stored_use_once_and_counts_on_from_it(store: Store) -> None:
    account = store.create_account("a", "h", 0)
    store.save_usage({(account.id, utc_day(DAY1)): 3})
    keeper = QuotaKeeper(store, per_device=5, flush_every=100)
    assert keeper.used(account.id, DAY1 + 5) == 3
    assert keeper.try_spend(account.id, 1, DAY1 + 6) is True
    assert keeper.try_spend(account.id, 1, DAY1 + 7) is True
    assert keeper.used(account.id, DAY1 + 8) == 5
    assert keeper.try_spend(account.id, 1, DAY1 + 9) is False  # spent: nothing counted
    assert keeper.used(account.id, DAY1 + 9) == 5
    assert keeper.unsaved == 2
    # not enforced: counted past the quota
    assert keeper.try_spend(account.id, 1, DAY1 + 10, enforce=False) is True
    assert keeper.used(account.id, DAY1 + 10) == 6
    assert store.usage(account.id, utc_day(DAY1)) == 3  # nothing written yet
    keeper.flush()
    assert store.usage(account.id, utc_day(DAY1)) == 6
    assert keeper.unsaved == 0


def test_quota_flushes_every_flush_every_counted_calls(store: Store) -> None:
    account = store.create_account("a", "h", 0)
    keeper = QuotaKeeper(store, per_device=100, flush_every=3)
    day = utc_day(DAY1)
    keeper.try_spend(account.id, 1, DAY1)
    keeper.try_spend(account.id, 1, DAY1)
    assert (store.usage(account.id, day), keeper.unsaved) == (0, 2)
    keeper.try_spend(account.id, 1, DAY1)
    assert (store.usage(account.id, day), keeper.unsaved) == (3, 0)
    keeper.try_spend(account.id, 1, DAY1)
    assert (store.usage(account.id, day), keeper.unsaved) == (3, 1)
    assert QuotaKeeper(store, per_device=1, flush_every=0).flush_every == 1
    assert QuotaKeeper(store, per_device=1).flush_every == 8  # a kill -9 loses 7 at most
    every = QuotaKeeper(store, per_device=100, flush_every=0)
    every.try_spend(account.id, 1, DAY1)  # reads the stored 3, counts the 4th, writes it
    assert (store.usage(account.id, day), every.unsaved) == (4, 0)


def test_forget_drops_the_counts_so_they_are_read_again(store: Store) -> None:
    account = store.create_account("a", "h", 0)
    keeper = QuotaKeeper(store, per_device=100, flush_every=100)
    keeper.try_spend(account.id, 1, DAY1)
    keeper.try_spend(account.id, 1, DAY1)
    assert keeper.unsaved == 2
    store.save_usage({(account.id, utc_day(DAY1)): 40})  # the store's were replaced
    keeper.forget()
    assert keeper.unsaved == 0
    assert keeper.used(account.id, DAY1) == 40
    keeper.flush()  # nothing dirty: nothing written over the store's 40
    assert store.usage(account.id, utc_day(DAY1)) == 40


def test_flush_keeps_only_today_and_what_is_still_pending(store: Store) -> None:
    account = store.create_account("a", "h", 0)
    other = store.create_account("b", "h2", 0)
    keeper = QuotaKeeper(store, per_device=100, flush_every=100)
    keeper.try_spend(account.id, 1, DAY1 - 1)  # yesterday
    keeper.try_spend(account.id, 1, DAY1)
    keeper.try_spend(other.id, 1, DAY1 + 1)
    keeper.flush()
    assert set(keeper._counts) == {(account.id, utc_day(DAY1)), (other.id, utc_day(DAY1))}
    assert store.usage(account.id, utc_day(DAY1 - 1)) == 1
    assert store.usage(account.id, utc_day(DAY1)) == 1
    assert store.usage(other.id, utc_day(DAY1)) == 1


def _take_usage_away(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "foxden.db") as db:
        db.execute("ALTER TABLE usage RENAME TO usage_away")


def _bring_usage_back(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "foxden.db") as db:
        db.execute("ALTER TABLE usage_away RENAME TO usage")


def test_where_writing_may_not_wait_a_count_that_would_be_due_is_handed_on(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the event loop (``without_waiting``) calls are counted while fewer than
    ``flush_every`` would then be in memory only; the call that would make them due raises
    WouldWait, to be counted where the count is written at once (and while a refused write
    waits to be tried again, counting goes on in memory)."""
    account = store.create_account("a", "h", 0)
    keeper = QuotaKeeper(store, per_device=100, flush_every=3)
    with waiting.without_waiting():
        keeper.may_count_here()
        keeper.try_spend(account.id, 1, DAY1)
        keeper.may_count_here()
        keeper.try_spend(account.id, 1, DAY1)
        with pytest.raises(waiting.WouldWait):
            keeper.may_count_here()
    keeper.may_count_here()  # where writing may wait: always
    keeper.try_spend(account.id, 1, DAY1)
    assert (store.usage(account.id, utc_day(DAY1)), keeper.unsaved) == (3, 0)
    keeper._unsaved, keeper._retry_at = 2, time.monotonic() + 60  # a write was refused
    with waiting.without_waiting():
        keeper.may_count_here()
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    keeper._retry_at = now[0]  # from this instant on the refused write is tried again
    with waiting.without_waiting(), pytest.raises(waiting.WouldWait):
        keeper.may_count_here()


def test_a_refused_flush_keeps_the_counts_and_waits_before_trying_again(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = store.create_account("a", "h", 0)
    keeper = QuotaKeeper(store, per_device=100, flush_every=2)
    day = utc_day(DAY1)
    keeper.used(account.id, DAY1)  # read while the table is there
    _take_usage_away(tmp_path)
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    keeper.try_spend(account.id, 1, DAY1)
    with caplog.at_level(logging.WARNING, logger="foxden.server"):
        assert keeper.try_spend(account.id, 1, DAY1) is True  # counted though not written
    assert [r.getMessage() for r in caplog.records] == [
        "quota use kept in memory, the database refused it: no such table: usage"
    ]
    assert keeper.unsaved == 2
    with pytest.raises(sqlite3.OperationalError):
        keeper.flush()  # an explicit flush raises
    assert keeper.unsaved == 2
    _bring_usage_back(tmp_path)
    # within RETRY_S of the refusal counted calls do not try to write
    now[0] += limits.RETRY_S - 0.001
    keeper.try_spend(account.id, 1, DAY1)
    assert (store.usage(account.id, day), keeper.unsaved) == (0, 3)
    now[0] += 0.001
    keeper.try_spend(account.id, 1, DAY1)
    assert (store.usage(account.id, day), keeper.unsaved) == (4, 0)
    assert keeper.used(account.id, DAY1) == 4


def test_a_refused_flush_writes_the_pending_counts_when_the_database_is_back(
    store: Store, tmp_path: Path
) -> None:
    account = store.create_account("a", "h", 0)
    keeper = QuotaKeeper(store, per_device=100, flush_every=100)
    keeper.try_spend(account.id, 1, DAY1 - 1)
    keeper.try_spend(account.id, 1, DAY1)
    _take_usage_away(tmp_path)
    with pytest.raises(sqlite3.OperationalError):
        keeper.flush()
    _bring_usage_back(tmp_path)
    keeper.flush()
    assert store.usage(account.id, utc_day(DAY1 - 1)) == 1
    assert store.usage(account.id, utc_day(DAY1)) == 1
