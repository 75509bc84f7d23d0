"""Headers, timestamp and signature checks, over a real socket."""

from __future__ import annotations

import time

import httpx
import pytest

from foxden import accounts
from foxden.client import AuthError, Client
from foxden.protocol import signing
from tests.conftest import LiveServer

PATH = "/op/v0/user/getAccessCount"


def raw(live: LiveServer, headers: dict[str, str], path: str = PATH) -> dict[str, object]:
    response = httpx.get(live.url + path, headers=headers)
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def signed(key: str, path: str = PATH, stamp: int | None = None) -> dict[str, str]:
    return signing.headers(path, key, stamp if stamp is not None else int(time.time() * 1000))


@pytest.mark.parametrize("missing", ["token", "timestamp", "signature", "lang"])
def test_each_missing_header_is_named(live: LiveServer, missing: str) -> None:
    key = live.account("alice")
    headers = signed(key)
    del headers[missing]
    body = raw(live, headers)
    assert body["errno"] == 40256
    assert f"no {missing}" in str(body["msg"])
    assert body["result"] is None


def test_header_names_are_case_insensitive(live: LiveServer) -> None:
    key = live.account("alice")
    headers = {k.upper(): v for k, v in signed(key).items()}
    assert raw(live, headers)["errno"] == 0


@pytest.mark.parametrize("offset_ms", [-400_000, 400_000])
def test_timestamp_far_from_server_clock(live: LiveServer, offset_ms: int) -> None:
    key = live.account("alice")
    body = raw(live, signed(key, stamp=int(time.time() * 1000) + offset_ms))
    assert body["errno"] == 40256
    assert "illegal timestamp" in str(body["msg"])


def test_timestamp_not_a_number(live: LiveServer) -> None:
    key = live.account("alice")
    headers = signed(key)
    headers["timestamp"] = "yesterday"
    assert raw(live, headers)["errno"] == 40256


def test_unknown_token_and_bad_signature_look_the_same(live: LiveServer) -> None:
    key = live.account("alice")
    unknown = raw(live, signed(accounts.new_key()))
    bad_signature = signed(key)
    bad_signature["signature"] = signing.signature("/op/v0/other", key, bad_signature["timestamp"])
    wrong = raw(live, bad_signature)
    assert unknown["errno"] == wrong["errno"] == 41808
    assert unknown["msg"] == wrong["msg"]


def test_signature_with_real_crlf_is_refused(live: LiveServer) -> None:
    import hashlib

    key = live.account("alice")
    headers = signed(key)
    text = f"{PATH}\r\n{key}\r\n{headers['timestamp']}"
    headers["signature"] = hashlib.md5(text.encode()).hexdigest()
    assert raw(live, headers)["errno"] == 41808


def test_signature_hex_case_does_not_matter(live: LiveServer) -> None:
    key = live.account("alice")
    headers = signed(key)
    headers["signature"] = headers["signature"].upper()
    assert raw(live, headers)["errno"] == 0


def test_rotated_key_stops_working_at_once(live: LiveServer) -> None:
    old = live.account("alice")
    client = live.client(old)
    assert client.access_count().total == "1440"
    new = accounts.rotate_key(live.store, "alice")
    with pytest.raises(AuthError) as info:
        client.access_count()
    assert info.value.errno == 41808
    assert live.client(new).access_count().total == "1440"


def test_client_error_carries_meaning_and_path(live: LiveServer) -> None:
    client = Client(accounts.new_key(), live.url, retry=None)
    with client, pytest.raises(AuthError) as info:
        client.access_count()
    assert info.value.path == PATH
    assert "token" in info.value.meaning


def test_unknown_path_is_not_a_server_error(live: LiveServer) -> None:
    key = live.account("alice")
    response = httpx.get(live.url + "/op/v0/nothing", headers=signed(key, "/op/v0/nothing"))
    assert response.status_code == 404


def test_rotation_from_another_connection_takes_effect_at_once(live: LiveServer) -> None:
    from foxden.store import open_store, url_for

    old = live.account("alice")
    client = live.client(old)
    assert client.access_count().total == "1440"  # the key is now in the server's cache
    other = open_store(url_for(live.data_dir))  # as `foxden key rotate` in another process
    new = accounts.rotate_key(other, "alice")
    with pytest.raises(AuthError) as stale:
        client.access_count()
    assert stale.value.errno == 41808  # the old key: "token invalid"
    assert live.client(new).access_count().total == "1440"
    accounts.add_device(other, "alice", "ALICEH1000009", "H1-5.0-E", 0)
    assert live.client(new).access_count().total == "1440"
    accounts.add_device(other, "alice", "ALICEH1000010", "H1-5.0-E", 0)
    assert live.client(new).access_count().total == "2880"
    other.close()
