"""Chaos rules over loopback: errno, HTTP status, latency, dropped connections and
timeouts; matching; probability, count and ttl; exact counts under concurrency; quota."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from foxden import accounts
from foxden.client import AsyncClient, Client, RetryPolicy
from foxden.client import errors as ce
from foxden.clock import RealClock
from foxden.config import Settings
from foxden.protocol import signing
from foxden.protocol.errno import ERRNO_TABLE, Errno
from foxden.server.app import FoxdenApp
from foxden.store import open_store
from tests.conftest import serve_in_thread

TOKEN = "chaos-admin-token"
SOC = "/op/v0/device/battery/soc/get"
REAL_TIME = "/op/v0/device/real/query"
A, B = "CHAOSH1000001", "CHAOSH1000002"
NO_RETRY = RetryPolicy(max_retries=0)


class Double:
    def __init__(self, data_dir: Path, **overrides: Any) -> None:
        settings = replace(
            Settings(
                data_dir=str(data_dir),
                rate_per_second=10_000.0,
                rate_burst=10_000,
                limit_profile="lenient",
            ),
            **overrides,
        )
        self.store = open_store(settings.database())
        now = RealClock().now_ms()
        _, self.key = accounts.create_account(self.store, "alice", now)
        _, self.other_key = accounts.create_account(self.store, "bob", now)
        accounts.add_device(self.store, "alice", A, "H1-5.0-E", now)
        accounts.add_device(self.store, "alice", B, "H1-5.0-E", now)
        self.foxden = FoxdenApp(settings, self.store, admin_token=TOKEN)
        self.url, self.server, self.thread = serve_in_thread(self.foxden.app)
        self.admin = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        )
        self.client = Client(self.key, self.url, retry=NO_RETRY)

    def rule(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.admin.post("/admin/chaos", json=body)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def rules(self) -> dict[int, dict[str, Any]]:
        return {r["id"]: r for r in self.admin.get("/admin/chaos").json()["rules"]}

    def raw(self, path: str, key: str | None = None, timeout: float = 30, **kw: Any) -> Any:
        headers = signing.headers(path, key or self.key, RealClock().now_ms())
        return httpx.get(self.url + path, headers=headers, timeout=timeout, **kw)

    def stop(self) -> None:
        self.client.close()
        self.admin.close()
        self.foxden.chaos.release_all()
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def double(tmp_path: Path) -> Iterator[Double]:
    d = Double(tmp_path)
    yield d
    d.stop()


def test_the_issue_example_answers_41200_twice_then_normally(double: Double) -> None:
    rule = double.rule({"match": {"path": SOC}, "errno": 41200, "count": 2})
    assert rule["id"] == 1 and rule["hits"] == 0 and rule["active"] is True
    for _ in range(2):
        with pytest.raises(ce.TransientError) as caught:
            double.client.battery_soc(A)
        assert caught.value.errno == 41200
        assert caught.value.msg == ERRNO_TABLE[Errno.QUERY_FAILED].message
    assert double.client.battery_soc(A).minSoc >= 10
    got = double.rules()[1]
    assert got["hits"] == 2 and got["matched"] == 2 and got["active"] is False
    # other paths are untouched, and the journal names the rule
    assert double.client.device_list().total == 2
    calls = double.admin.get("/admin/requests", params={"path": SOC}).json()["requests"]
    assert [c["chaos"] for c in calls] == [1, 1, None]
    assert [c["errno"] for c in calls] == [41200, 41200, 0]


def test_every_errno_of_the_table_with_its_text_or_a_chosen_one(double: Double) -> None:
    for errno, entry in ERRNO_TABLE.items():
        if errno == Errno.OK:
            continue
        double.rule({"match": {"path": SOC}, "errno": int(errno), "count": 1})
        answer = double.raw(SOC, params={"sn": A}).json()
        assert answer == {"errno": int(errno), "msg": entry.message, "result": None}
    double.rule({"match": {"path": SOC}, "errno": 40400, "msg": "slow down", "count": 1})
    assert double.raw(SOC, params={"sn": A}).json()["msg"] == "slow down"
    assert double.raw(SOC, params={"sn": A}).json()["errno"] == 0


def test_rules_match_on_serial_account_key_and_method(double: Double) -> None:
    double.rule({"match": {"sn": B}, "errno": 40261})
    assert double.client.battery_soc(A).minSoc >= 10
    with pytest.raises(ce.DeviceNotFoundError) as in_query:
        double.client.battery_soc(B)
    with pytest.raises(ce.DeviceNotFoundError) as in_body:  # a serial in a JSON body
        double.client.set_battery_soc(B, 15, 15)
    assert in_query.value.errno == in_body.value.errno == 40261
    double.client.set_battery_soc(A, 15, 15)
    double.admin.delete("/admin/chaos")
    double.rule({"match": {"account": "bob"}, "errno": 41200})
    double.rule({"match": {"key": double.key, "method": "post"}, "errno": 44098})
    with (
        Client(double.other_key, double.url, retry=NO_RETRY) as bob,
        pytest.raises(ce.TransientError) as bobs,
    ):
        bob.device_list()
    assert bobs.value.errno == 41200  # the account rule; the key rule is alice's
    assert double.client.battery_soc(A).minSoc >= 10, "alice's GET does not match"
    with pytest.raises(ce.TransientError) as caught:
        double.client.device_list()  # alice's POST does
    assert caught.value.errno == 44098
    assert double.rules()[3]["match"] == {"key": double.key, "method": "POST"}


def test_status_drop_timeout_and_delay(double: Double) -> None:
    double.rule({"match": {"path": SOC}, "status": 503, "count": 1})
    response = double.raw(SOC, params={"sn": A})
    assert response.status_code == 503 and response.text == "503 Service Unavailable"
    double.rule({"match": {"path": SOC}, "status": 502, "errno": 41200, "count": 1})
    response = double.raw(SOC, params={"sn": A})
    assert response.status_code == 502 and response.json()["errno"] == 41200
    double.rule({"match": {"path": SOC}, "drop": True, "count": 1})
    with pytest.raises(httpx.RemoteProtocolError):
        double.raw(SOC, params={"sn": A})
    with pytest.raises(ce.TransportError):  # the client sees a transport failure
        double.rule({"match": {"path": SOC}, "drop": True, "count": 1})
        double.client.battery_soc(A)
    double.rule({"match": {"path": SOC}, "timeout": True, "count": 1})
    with pytest.raises(httpx.ReadTimeout):
        double.raw(SOC, params={"sn": A}, timeout=0.3)
    double.rule({"match": {"path": SOC}, "delay_ms": 250, "count": 1})
    assert double.raw(SOC, params={"sn": A}).json()["errno"] == 0
    assert double.raw(SOC, params={"sn": A}).json()["errno"] == 0
    calls = double.admin.get("/admin/requests", params={"path": SOC}).json()["requests"]
    assert [c["status"] for c in calls] == [503, 502, 0, 0, 0, 200, 200]
    assert [c["errno"] for c in calls] == [None, 41200, None, None, None, 0, 0]
    assert [c["chaos"] for c in calls] == [1, 2, 3, 4, 5, 6, None]
    assert calls[5]["latency_ms"] >= 250 and calls[4]["latency_ms"] >= 250
    assert all(r["hits"] == 1 for r in double.rules().values())


def test_probability_is_seeded_and_ttl_ends_a_rule(double: Double) -> None:
    double.rule({"match": {"path": SOC}, "errno": 41200, "probability": 0.5})
    errnos = [double.raw(SOC, params={"sn": A}).json()["errno"] for _ in range(60)]
    rule = double.rules()[1]
    assert rule["matched"] == 60 and rule["hits"] == errnos.count(41200)
    assert 10 < rule["hits"] < 50 and errnos.count(0) == 60 - rule["hits"]
    double.admin.delete("/admin/chaos/1")
    # a ttl long enough for the first call to land inside it on a loaded machine
    added = double.rule({"match": {"path": SOC}, "errno": 41200, "ttl_s": 3})
    assert added["expires_ms"] == added["added_ms"] + 3000
    assert double.raw(SOC, params={"sn": A}).json()["errno"] == 41200
    time.sleep(3.05)
    assert double.raw(SOC, params={"sn": A}).json()["errno"] == 0
    assert double.rules()[2]["active"] is False


def test_count_is_exact_under_concurrency(double: Double) -> None:
    double.rule({"match": {"path": REAL_TIME}, "errno": 41200, "count": 37})

    async def hammer() -> list[int]:
        async with AsyncClient(double.key, double.url, retry=NO_RETRY) as client:

            async def one() -> int:
                try:
                    await client.real_time(A)
                except ce.TransientError as exc:
                    return exc.errno
                return 0

            return list(await asyncio.gather(*(one() for _ in range(120))))

    results = asyncio.run(hammer())
    assert results.count(41200) == 37 and results.count(0) == 83
    assert double.rules()[1]["hits"] == 37


def test_chaos_answers_count_against_the_daily_quota(tmp_path: Path) -> None:
    double = Double(tmp_path, daily_quota_per_device=3)  # two inverters: 6 a day
    try:
        double.rule({"match": {"path": SOC}, "errno": 41200, "count": 4})
        for _ in range(4):
            assert double.raw(SOC, params={"sn": A}).json()["errno"] == 41200
        count = double.client.access_count()
        assert (int(count.total), int(count.remaining)) == (6, 2)  # getAccessCount is free
        assert double.raw(SOC, params={"sn": A}).json()["errno"] == 0
        assert double.raw(SOC, params={"sn": A}).json()["errno"] == 0
        assert double.raw(SOC, params={"sn": A}).json()["errno"] == 40402
        # a call the key checks refuse never reaches a rule
        double.rule({"match": {"path": SOC}, "errno": 41200})
        assert double.raw(SOC, params={"sn": A}).json()["errno"] == 40402
        assert double.rules()[2]["hits"] == 0
    finally:
        double.stop()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"errno": 12345}, "errno: 12345 is not in the errno table"),
        ({"errno": 0}, "errno: 0"),
        ({"match": {"path": "/op/v0/nope"}, "errno": 41200}, "match.path"),
        ({"match": {"method": "PUT"}, "errno": 41200}, "match.method"),
        ({"errno": 41200, "drop": True}, "a rule answers in one way only"),
        ({"timeout": True, "drop": True}, "a rule answers in one way only"),
        ({}, "a rule needs errno, status, drop, timeout or delay_ms"),
        ({"errno": 41200, "probability": 0}, "probability"),
        ({"errno": 41200, "probability": 1.5}, "probability"),
        ({"errno": 41200, "count": 0}, "count"),
        ({"errno": 41200, "ttl_s": -1}, "ttl_s"),
        ({"status": 99}, "status"),
        ({"delay_ms": -5}, "delay_ms"),
        ({"msg": "x", "delay_ms": 5}, "msg: only with errno"),
        ({"errno": 41200, "bogus": 1}, "bad request body"),
        ({"match": {"serial": A}, "errno": 41200}, "bad request body"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(
    double: Double, body: dict[str, Any], problem: str
) -> None:
    response = double.admin.post("/admin/chaos", json=body)
    assert response.status_code == 400 and problem in response.json()["error"]
    assert double.rules() == {}


def test_the_admin_token_guards_chaos_and_removal_of_unknown_rules(double: Double) -> None:
    for method, path in (
        ("GET", "/admin/chaos"),
        ("POST", "/admin/chaos"),
        ("DELETE", "/admin/chaos"),
        ("DELETE", "/admin/chaos/1"),
        ("GET", "/admin/requests"),
    ):
        response = httpx.request(method, double.url + path, headers={"X-Admin-Token": "no"})
        assert response.status_code == 401
    assert double.admin.delete("/admin/chaos/7").status_code == 404
    assert double.admin.delete("/admin/chaos/x").status_code == 404
    double.rule({"errno": 41200})
    assert double.admin.delete("/admin/chaos/1").json() == {"removed": 1}
    assert double.rules() == {}


def test_chaos_answers_take_their_place_in_the_cloud_pacing(tmp_path: Path) -> None:
    double = Double(tmp_path, limit_profile="cloud")

    def real_time() -> Any:
        headers = signing.headers(REAL_TIME, double.key, RealClock().now_ms())
        return httpx.post(double.url + REAL_TIME, headers=headers, json={"sn": A}).json()

    try:
        double.rule({"match": {"path": REAL_TIME}, "errno": 41200, "count": 1})
        assert real_time()["errno"] == 41200
        # the chaos answer was a call to this query interface (the cloud paces query
        # interfaces): the next one within a second is too frequent
        assert real_time()["errno"] == 40400
        assert double.rules()[1]["hits"] == 1
    finally:
        double.stop()
