"""``foxden chaos`` and ``foxden journal`` against a running server over loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from foxden.cli.main import app
from foxden.client import errors as ce
from tests.server.test_chaos import SOC, TOKEN, A, Double

runner = CliRunner()


@pytest.fixture
def double(tmp_path: Path) -> Iterator[Double]:
    d = Double(tmp_path)
    yield d
    d.stop()


def run(double: Double, *args: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        [*args, "--base-url", double.url, "--admin-token", TOKEN],
        catch_exceptions=False,
        env={"COLUMNS": "250"},
    )
    return result.exit_code, result.output


def test_chaos_add_list_clear(double: Double) -> None:
    code, out = run(double, "chaos", "add", "--path", SOC, "--errno", "41200", "--count", "2")
    assert code == 0 and out.strip() == f"chaos rule 1: path={SOC} -> errno 41200"
    code, out = run(double, "chaos", "add", "--sn", A, "--delay-ms", "5", "--json")
    assert code == 0 and json.loads(out)["match"] == {"sn": A}
    with pytest.raises(ce.TransientError) as failed:
        double.client.battery_soc(A)
    assert failed.value.errno == 41200
    code, out = run(double, "chaos", "list", "--json")
    rules = json.loads(out)
    assert [(r["id"], r["hits"]) for r in rules] == [(1, 1), (2, 0)]
    code, out = run(double, "chaos", "list")
    assert code == 0 and "errno 41200" in out and "+5 ms" in out
    code, out = run(double, "chaos", "clear", "1")
    assert code == 0 and "removed chaos rule 1" in out
    code, out = run(double, "chaos", "clear", "1")
    assert code == 1 and "no chaos rule 1" in out
    code, out = run(double, "chaos", "add", "--errno", "99999")
    assert code == 1 and "errno: 99999 is not in the errno table" in out
    code, out = run(double, "chaos", "clear")
    assert code == 0 and "removed 1 chaos rules" in out
    assert double.foxden.chaos.rules == {}


def test_chaos_needs_a_token_and_a_server(tmp_path: Path) -> None:
    result = runner.invoke(app, ["chaos", "list", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "no admin token" in result.output
    result = runner.invoke(
        app, ["chaos", "list", "--base-url", "http://127.0.0.1:9", "--admin-token", "t"]
    )
    assert result.exit_code == 3 and "could not reach" in result.output


def test_journal_table_json_and_filters(double: Double) -> None:
    double.rule({"match": {"path": SOC}, "errno": 41200, "count": 1})
    with pytest.raises(ce.TransientError) as failed:
        double.client.battery_soc(A)
    assert failed.value.errno == 41200
    double.client.battery_soc(A)
    double.client.device_list()
    code, out = run(double, "journal", "--json")
    calls = json.loads(out)
    assert [c["path"] for c in calls] == [SOC, SOC, "/op/v0/device/list"]
    assert calls[0]["errno"] == 41200 and calls[0]["chaos"] == 1
    assert calls[0]["account"] == "alice" and calls[0]["query"] == {"sn": A}
    assert calls[2]["body"] == {"currentPage": 1, "pageSize": 100}
    code, out = run(double, "journal", "--errno", "41200", "--json")
    assert [c["id"] for c in json.loads(out)] == [calls[0]["id"]]
    code, out = run(double, "journal", "--sn", A, "--limit", "1", "--json")
    assert [c["id"] for c in json.loads(out)] == [calls[1]["id"]]
    code, out = run(double, "journal")
    assert code == 0 and "Open API calls (3)" in out and "chaos rule 1" in out
    code, out = run(double, "journal", "--since", "yesterday")
    assert code == 1 and "since" in out


def test_journal_follow_prints_calls_as_they_come(double: Double) -> None:
    env = {**os.environ, "FOXDEN_BASE_URL": double.url, "FOXDEN_ADMIN_TOKEN": TOKEN}
    follower = subprocess.Popen(
        [sys.executable, "-m", "foxden", "journal", "--follow", "--json"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert follower.stdout is not None
        double.client.battery_soc(A)
        first = json.loads(follower.stdout.readline())
        double.client.device_list()
        second = json.loads(follower.stdout.readline())
        assert (first["path"], second["path"]) == (SOC, "/op/v0/device/list")
        assert second["id"] == first["id"] + 1
    finally:
        follower.terminate()
        follower.wait(timeout=10)
