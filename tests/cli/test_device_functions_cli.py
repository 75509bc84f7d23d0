"""``foxden schedule --api``, ``foxden peak-shaving`` and ``foxden battery-heating`` against
the real server over a loopback socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from foxden.cli.main import app
from tests.conftest import LiveServer

EVO = "CLIEVO000001"
KH = "CLIKH8000001"
H1 = "CLIH10000001"
runner = CliRunner()


@pytest.fixture
def fox(live: LiveServer) -> Iterator[tuple[LiveServer, str]]:
    key = live.account("cora")
    live.device("cora", EVO, "EVO 10-5-H")
    live.device("cora", KH, "KH8")
    live.device("cora", H1, "H1-5.0-E")
    yield live, key


def run(fox: tuple[LiveServer, str], *args: str) -> Result:
    live, key = fox
    env: dict[str, str | None] = {"FOXDEN_BASE_URL": None, "FOXDEN_API_KEY": None}
    return runner.invoke(app, [*args, "--base-url", live.url, "--api-key", key], env=env)


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.exit_code, result.output)
    return result.stdout


def test_schedule_v3_with_extra_param_round_trip(
    fox: tuple[LiveServer, str], tmp_path: Path
) -> None:
    """A v3 schedule with extraParam fields is written from a file and shown again."""
    periods = [
        {"startHour": 2, "startMinute": 0, "endHour": 4, "endMinute": 59,
         "workMode": "ForceCharge", "extraParam": {"fdSoc": 100, "fdPwr": 6000,
                                                   "minSocOnGrid": 10}},
        {"startHour": 17, "startMinute": 0, "endHour": 19, "endMinute": 59,
         "workMode": "ForceDischarge", "extraParam": {"fdSoc": 20, "fdPwr": 5000,
                                                      "exportLimit": 8000}},
    ]  # fmt: skip
    file = tmp_path / "periods.json"
    file.write_text(json.dumps(periods))
    assert "2 active" in ok(run(fox, "schedule", "set", EVO, str(file), "--api", "3"))
    table = ok(run(fox, "schedule", "show", EVO, "--api", "3"))
    assert "Scheduler of CLIEVO000001: on, 2 of 96 groups used" in table
    assert "exportLimit" in table and "8000" in table and "ForceDischarge" in table
    shown = json.loads(ok(run(fox, "schedule", "show", EVO, "--api", "3", "--json")))
    assert shown["maxGroupCount"] == 96
    assert shown["groups"][1]["extraParam"]["exportLimit"] == 8000.0
    # edit the JSON and write it back through v3
    shown["groups"][1]["extraParam"]["exportLimit"] = 7000
    file.write_text(json.dumps(shown))
    ok(run(fox, "schedule", "set", EVO, str(file), "--api", "3"))
    again = json.loads(ok(run(fox, "schedule", "show", EVO, "--api", "2", "--json")))
    assert again["groups"][1]["extraParam"]["exportLimit"] == 7000.0
    # the EVO has no v1 scheduler: the cloud's 41200 comes back as a failed query
    result = run(fox, "schedule", "show", EVO)
    assert result.exit_code != 0 and "41200" in result.stderr


def test_schedule_v3_rules_are_checked_before_sending(
    fox: tuple[LiveServer, str], tmp_path: Path
) -> None:
    """An extraParam field the model's properties lack is refused locally (errno 40257)."""
    file = tmp_path / "periods.json"
    file.write_text(json.dumps([{"startHour": 1, "startMinute": 0, "endHour": 2,
                                 "endMinute": 0, "workMode": "SelfUse",
                                 "extraParam": {"pvLimit": 1000}}]))  # fmt: skip
    result = run(fox, "schedule", "set", H1, str(file), "--api", "3")
    assert result.exit_code == 1 and "errno 40257" in result.stderr
    assert "extraParam.pvLimit" in result.stderr


def test_peak_shaving_get_and_set(fox: tuple[LiveServer, str]) -> None:
    """Set one value and the other is kept; a model without peak shaving is refused."""
    ok(run(fox, "peak-shaving", "set", KH, "--import-limit", "6.5", "--soc", "30"))
    ok(run(fox, "peak-shaving", "set", KH, "--soc", "35"))
    got = json.loads(ok(run(fox, "peak-shaving", "get", KH, "--json")))
    assert (got["importLimit"]["value"], got["soc"]["value"]) == ("6.500", "35")
    table = ok(run(fox, "peak-shaving", "get", KH))
    assert "importLimit" in table and "kW" in table and "0 to 100" in table
    result = run(fox, "peak-shaving", "get", H1)
    assert result.exit_code != 0 and "40257" in result.stderr
    assert run(fox, "peak-shaving", "set", KH).exit_code != 0  # nothing to set


def test_battery_heating_get_and_set(fox: tuple[LiveServer, str]) -> None:
    """Switch, temperatures and windows are set; what is not given is kept."""
    ok(run(fox, "battery-heating", "set", EVO, "--on", "--start", "5", "--end", "12",
           "--window1", "02:00-06:30"))  # fmt: skip
    ok(run(fox, "battery-heating", "set", EVO, "--window2", "20:00-22:00"))
    table = ok(run(fox, "battery-heating", "get", EVO))
    assert "enable 02:00-06:30" in table and "enable 20:00-22:00" in table
    assert "5 ℃" in table and "12 ℃" in table and "disable 00:00-00:00" in table
    ok(run(fox, "battery-heating", "set", EVO, "--off", "--window1", "off"))
    got = json.loads(ok(run(fox, "battery-heating", "get", EVO, "--json")))
    values = {i["name"]: i["value"] for i in got["dataList"]}
    assert (values["batteryWarmUpEnable"], values["time1Enable"]) == ("disable", "disable")
    assert values["time2StartHour"] == "20"
    bad = run(fox, "battery-heating", "set", EVO, "--window3", "later")
    assert bad.exit_code != 0 and "--window3" in bad.stderr
    result = run(fox, "battery-heating", "get", H1)
    assert result.exit_code != 0 and "41200" in result.stderr
