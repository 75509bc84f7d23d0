"""Input the attack run found answered 41200 (an unexpected failure) now gets errno 40257
naming the field, on both backends: huge integers, deep nesting, huge times, strange
time-zone names, NUL characters."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from foxden.protocol import signing
from tests.conftest import LiveServer, start_server

SN = "BADH10000001"


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[tuple[LiveServer, str]]:
    live = start_server(tmp_path, database_url=database_url, rate_per_second=1e6, rate_burst=10**6)
    key = live.account("mallory")
    live.device("mallory", SN)
    yield live, key
    live.stop()
    live.store.close()


def call(
    live: LiveServer, key: str, path: str, body: Any = None, query: dict[str, str] | None = None
) -> tuple[dict[str, Any], str]:
    """The envelope and where the detail is (the X-Foxden-Detail header, else the message)."""
    headers = signing.headers(path, key, int(time.time() * 1000))
    if query is not None:
        response = httpx.get(live.url + path, params=query, headers=headers)
    else:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = httpx.post(live.url + path, content=content, headers=headers)
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer, response.headers.get("x-foxden-detail") or answer["msg"]


def refused(answer: dict[str, Any], detail: str, field: str) -> bool:
    return answer["errno"] == 40257 and answer["result"] is None and f"{field}:" in detail


PLANT: dict[str, Any] = {
    "details": {
        "name": "n",
        "type": 2,
        "countryCode": "GB",
        "city": "c",
        "address": "a",
        "postcode": "p",
    },
    "timezone": "Europe/London",
}


def test_huge_page_number(server: tuple[LiveServer, str]) -> None:
    live, key = server
    for path in ("/op/v0/device/list", "/op/v0/plant/list", "/op/v0/module/list"):
        answer, detail = call(live, key, path, {"currentPage": 2**63 - 1, "pageSize": 10})
        assert refused(answer, detail, "currentPage"), answer
        answer, detail = call(live, key, path, {"currentPage": 10**30, "pageSize": 10})
        assert refused(answer, detail, "currentPage"), answer


def test_deep_nesting_in_an_ignored_field(server: tuple[LiveServer, str]) -> None:
    live, key = server
    deep = b'{"currentPage": 1, "pageSize": 10, "x": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    answer, detail = call(live, key, "/op/v0/device/list", deep)
    assert refused(answer, detail, "body"), answer
    deep_objects = b'{"sn": "' + SN.encode() + b'", "x": ' + b'{"a":' * 5000 + b"1" + b"}" * 5001
    answer, detail = call(live, key, "/op/v0/device/real/query", deep_objects)
    assert refused(answer, detail, "body"), answer
    # brackets inside strings do not count as nesting
    answer, _ = call(
        live, key, "/op/v0/device/list", {"currentPage": 1, "pageSize": 10, "x": "[" * 100}
    )
    assert answer["errno"] == 0


@pytest.mark.parametrize("field", ["begin", "end"])
def test_huge_history_times(server: tuple[LiveServer, str], field: str) -> None:
    live, key = server
    for value in (2**62, 10**20, -(2**62)):
        body = {"sn": SN, "begin": 1_700_000_000_000, "end": 1_700_000_000_000}
        body[field] = value
        answer, detail = call(live, key, "/op/v0/device/history/query", body)
        assert refused(answer, detail, field), answer


def test_long_and_strange_time_zone_names(server: tuple[LiveServer, str]) -> None:
    live, key = server
    for name in ("A" * 300, "Europe/" + "x" * 250, "../../etc/passwd", "Europe/London\x00"):
        answer, detail = call(live, key, "/op/v0/plant/create", {**PLANT, "timezone": name})
        assert refused(answer, detail, "timezone"), (name[:20], answer)
    # a 60-character name that is not in the tz database: 40257, not a file-system error
    answer, detail = call(live, key, "/op/v0/plant/create", {**PLANT, "timezone": "Z" * 60})
    assert refused(answer, detail, "timezone"), answer


def test_nul_bytes_in_serials_ids_and_names(server: tuple[LiveServer, str]) -> None:
    live, key = server
    cases: list[tuple[str, Any, dict[str, str] | None, str]] = [
        ("/op/v0/device/detail", None, {"sn": "AB\x00CD"}, "sn"),
        ("/op/v0/plant/detail", None, {"id": "x\x00"}, "id"),
        ("/op/v0/device/real/query", {"sn": "A\x00"}, None, "sn"),
        ("/op/v0/device/history/query", {"sn": "A\x00B"}, None, "sn"),
        ("/op/v0/plant/delete", {"stationID": "\x00"}, None, "stationID"),
        (
            "/op/v0/plant/create",
            {**PLANT, "details": {**PLANT["details"], "name": "Home\x00"}},
            None,
            "details.name",
        ),
        ("/op/v0/plant/create", {**PLANT, "devices": [{"sn": "\x00"}]}, None, "devices[0].sn"),
    ]
    for path, body, query, field in cases:
        answer, detail = call(live, key, path, body, query)
        assert refused(answer, detail, field), (path, field, answer)
    # nothing was stored, and the server still answers
    answer, _ = call(live, key, "/op/v0/plant/list", {"currentPage": 1, "pageSize": 10})
    assert answer["errno"] == 0 and answer["result"]["total"] == 0


def test_long_strings(server: tuple[LiveServer, str]) -> None:
    live, key = server
    long = "x" * 10_000
    cases = [
        ("/op/v0/plant/create", {**PLANT, "details": {**PLANT["details"], "city": long}}, "city"),
        ("/op/v0/device/real/query", {"sn": long}, "sn"),
        ("/op/v0/device/setting/get", {"sn": SN, "key": long}, "key"),
        ("/op/v0/device/history/query", {"sn": SN, "variables": [long]}, "variables[0]"),
    ]
    for path, body, field in cases:
        answer, detail = call(live, key, path, body)
        assert refused(answer, detail, field), (path, field, answer)


def test_a_nul_under_a_key_like_the_separator_names_the_field_before_it(
    server: tuple[LiveServer, str],
) -> None:
    live, key = server
    answer, detail = call(live, key, "/op/v0/plant/create", {":\U00018cd6": {"\x00": None}})
    assert answer["errno"] == 40257 and answer["result"] is None
    field, _, reason = detail.partition(": ")
    assert (field, reason) == (":.\\0", "must not contain a NUL character")
