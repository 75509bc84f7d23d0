"""The optional replay cache: a signature is accepted once within the timestamp window."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from foxden.protocol import signing
from foxden.server.auth import ReplayCache
from tests.conftest import start_server

PATH = "/op/v0/user/getAccessCount"


def errnos(replay_cache: bool, tmp_path: Path) -> list[int]:
    live = start_server(tmp_path, replay_cache=replay_cache, limit_profile="off")
    try:
        key = live.account("rex")
        now = int(time.time() * 1000)
        signed = signing.headers(PATH, key, now)
        again = signing.headers(PATH, key, now + 1)
        return [
            httpx.get(live.url + PATH, headers=headers).json()["errno"]
            for headers in (
                signed,
                signed,
                again,
                {**signed, "signature": signed["signature"].upper()},
            )
        ]
    finally:
        live.stop()


def test_a_replayed_signature_is_refused_when_the_cache_is_on(tmp_path: Path) -> None:
    assert errnos(True, tmp_path) == [0, 40256, 0, 40256]


def test_without_the_cache_a_signature_may_be_sent_again(tmp_path: Path) -> None:
    assert errnos(False, tmp_path) == [0, 0, 0, 0]


def test_the_cache_forgets_expired_signatures_and_stays_bounded() -> None:
    cache = ReplayCache(window_ms=1000, max_entries=3)
    assert cache.first_use("a", 0, 0) and not cache.first_use("a", 0, 500)
    assert cache.first_use("a", 0, 1001)  # its timestamp left the window: forgotten
    for n, sig in enumerate("bcde"):
        assert cache.first_use(sig, 2000 + n, 2000 + n)
    assert len(cache._seen) <= 3
