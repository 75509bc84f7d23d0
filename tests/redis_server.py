"""Redis for the tests: ``FOXDEN_TEST_REDIS_URL`` when set (.ci/run starts Debian's
redis-server and sets it), else a redis-server of the test session's own on a free loopback
port in a temporary directory, stopped at the end. Each test gets the database emptied."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

REDIS_URL = os.environ.get("FOXDEN_TEST_REDIS_URL", "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ping(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@contextlib.contextmanager
def own_redis() -> Iterator[str]:
    """A redis-server on a free loopback port, no persistence; its URL."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(binary):
        pytest.skip("no redis-server: install Debian's redis-server or set FOXDEN_TEST_REDIS_URL")
    with tempfile.TemporaryDirectory(prefix="foxden-redis-") as root:
        for _ in range(5):
            port = _free_port()
            proc = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    root,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            url = f"redis://127.0.0.1:{port}/0"
            deadline = time.monotonic() + 10
            while proc.poll() is None and time.monotonic() < deadline and not _ping(url):
                time.sleep(0.05)
            if proc.poll() is None and _ping(url):
                break
            proc.kill()
            proc.wait()
        else:
            raise RuntimeError("redis-server did not start")
        try:
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@contextlib.contextmanager
def session_redis() -> Iterator[str]:
    if REDIS_URL:
        yield REDIS_URL
    else:
        with own_redis() as url:
            yield url


def flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()
