"""Signed calls over loopback shared by the server's tests: headers signed now, a POST
that returns the envelope, the result of an accepted one, the alice/bob fleet's serials,
a server without limits for the generated-input tests, and raw HTTP/1.1 requests and
answers for the tests that speak to the socket themselves."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from foxden.client import Client
from foxden.clock import RealClock
from foxden.protocol import signing
from tests.conftest import LiveServer, start_server

H1 = "ALICEH1000001"
H3 = "ALICEH3000001"
F3 = "ALICEF3000001"
KH8 = "BOBKH80000001"
EVO = "ALICEEVO00001"


def signed(path: str, key: str) -> dict[str, str]:
    """The headers a real client sends for ``path``, signed with ``key`` at this moment."""
    return signing.headers(path, key, RealClock().now_ms())


def post(live: LiveServer, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The envelope of a signed POST (the cloud answers HTTP 200 with its errno)."""
    response = httpx.post(live.url + path, headers=signed(path, key), json=body)
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


def ok(answer: dict[str, Any]) -> Any:
    """The result of an accepted call; fails the test with the envelope otherwise."""
    assert answer["errno"] == 0, answer
    return answer["result"]


@pytest.fixture(name="key")
def alice_key_with_an_evo(live: LiveServer, alice: Client) -> str:
    """alice's key; beside the conftest fleet she has an EVO 10-5-H."""
    live.device("alice", EVO, "EVO 10-5-H")
    return alice.api_key


def unlimited_server(data_dir: Path, account: str, sn: str) -> tuple[LiveServer, str]:
    """A server that refuses no call for rate, quota or pacing, with ``account`` owning one
    H1 ``sn``: generated input reaches the validators, never a limit. The caller stops it."""
    live = start_server(
        data_dir,
        rate_per_second=1e9,
        rate_burst=10**9,
        daily_quota_per_device=10**9,
        limit_profile="off",
    )
    key = live.account(account)
    live.device(account, sn)
    return live, key


# battery heating with one window set: written by the read-back and durability tests
HEATING = {
    "batteryWarmUpEnable": "enable",
    "startTemperature": "7",
    "endTemperature": "13",
    **{f"time{n}Enable": "disable" for n in (1, 3)},
    "time2Enable": "enable",
    **{f"time{n}{p}": "0" for n in (1, 3) for p in ("StartHour", "StartMinute", "EndHour",
                                                    "EndMinute")},
    "time2StartHour": "5",
    "time2StartMinute": "15",
    "time2EndHour": "6",
    "time2EndMinute": "45",
}  # fmt: skip


def raw_request(path: str, key: str, body: bytes | None = None, extra: str = "") -> bytes:
    """A signed HTTP/1.1 request as a client writes it to the socket: GET, or POST of
    ``body`` as JSON; ``extra``: more header lines, each ending in CRLF."""
    headers = signing.headers(path, key, RealClock().now_ms(), "en")
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    if body is None:
        return f"GET {path} HTTP/1.1\r\nhost: x\r\n{lines}{extra}\r\n".encode()
    return (
        f"POST {path} HTTP/1.1\r\nhost: x\r\n{lines}content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def header_of(head: bytes, name: bytes) -> bytes:
    """The value of header ``name`` (lower case) in an answer's status line and headers."""
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    raise AssertionError(f"no {name!r} header in {head!r}")
