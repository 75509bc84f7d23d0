"""The request journal over loopback: what it keeps, its filters, its bound, its file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from foxden.clock import RealClock
from foxden.protocol import signing
from tests.server.test_chaos import SOC, A, B, Double

LIST = "/op/v0/device/list"


def test_every_call_with_its_answer_and_the_detail_of_an_error(tmp_path: Path) -> None:
    double = Double(tmp_path)
    try:
        started = RealClock().now_ms()
        double.client.battery_soc(A)
        headers = signing.headers(SOC, double.key, RealClock().now_ms())
        refused = httpx.get(double.url + SOC, params={"sn": "NOSUCH"}, headers=headers)
        body = {"currentPage": 1, "pageSize": 10}
        headers = signing.headers(LIST, double.key, RealClock().now_ms())
        httpx.post(double.url + LIST, json=body, headers=headers)
        httpx.post(double.url + LIST, json=body, headers={**headers, "signature": "x" * 32})
        calls = double.admin.get("/admin/requests").json()["requests"]
        assert [(c["method"], c["path"], c["errno"]) for c in calls] == [
            ("GET", SOC, 0),
            ("GET", SOC, 40261),
            ("POST", LIST, 0),
            ("POST", LIST, 41808),
        ]
        ok, bad, listed, unsigned = calls
        assert ok["account"] == "alice" and ok["query"] == {"sn": A} and ok["sns"] == [A]
        assert ok["msg"] == "Operation successful" and ok["status"] == 200 and ok["detail"] == ""
        assert started <= ok["time_ms"] <= RealClock().now_ms() and ok["latency_ms"] > 0
        assert bad["detail"] == refused.headers["X-Foxden-Detail"] and "NOSUCH" in bad["detail"]
        assert bad["msg"] == refused.json()["msg"]
        assert listed["body"] == body and listed["query"] == {}
        assert unsigned["account"] == "" and unsigned["chaos"] is None
        assert [c["id"] for c in calls] == list(range(calls[0]["id"], calls[0]["id"] + 4))
    finally:
        double.stop()


def test_filters_and_limit(tmp_path: Path) -> None:
    double = Double(tmp_path)
    try:
        for sn in (A, B, A):
            double.client.battery_soc(sn)
        time.sleep(0.005)  # calls on either side of `middle` never share its millisecond
        middle = RealClock().now_ms()
        time.sleep(0.005)
        double.client.device_list()
        double.client.battery_soc(B)

        def ids(**params: object) -> list[int]:
            answer = double.admin.get("/admin/requests", params=params)  # type: ignore[arg-type]
            assert answer.status_code == 200, answer.text
            return [c["id"] for c in answer.json()["requests"]]

        everything = ids()
        assert len(everything) == 5
        assert ids(path=SOC) == [everything[i] for i in (0, 1, 2, 4)]
        assert ids(sn=B) == [everything[1], everything[4]]
        assert ids(sn=B, limit=1) == [everything[4]]
        assert ids(errno=0, path=LIST) == [everything[3]]
        assert ids(errno=40257) == []
        assert ids(since=middle) == everything[3:]
        iso = "1970-01-01T01:00:00+01:00"
        assert ids(since=iso) == everything
        for bad in (
            {"since": "yesterday"},
            {"since": "2026-01-01T00:00"},
            {"errno": "x"},
            {"limit": 0},
        ):
            response = double.admin.get("/admin/requests", params=bad)
            assert response.status_code == 400 and "error" in response.json()
        assert double.admin.delete("/admin/requests").json() == {"requests": []}
        assert ids() == []
    finally:
        double.stop()


def test_the_ring_keeps_the_newest_and_the_file_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    double = Double(tmp_path / "one", journal_size=3, journal_file=str(path))
    try:
        for _ in range(5):
            double.client.battery_soc(A)
        calls = double.admin.get("/admin/requests").json()["requests"]
        assert [c["id"] for c in calls] == [3, 4, 5]
    finally:
        double.stop()
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert [row["id"] for row in lines][-3:] == [3, 4, 5]
    again = Double(tmp_path / "two", journal_size=3, journal_file=str(path))
    try:
        again.client.device_list()
        calls = again.admin.get("/admin/requests").json()["requests"]
        assert [c["id"] for c in calls] == [4, 5, 6]
        assert calls[-1]["path"] == LIST and calls[0]["path"] == SOC
    finally:
        again.stop()
