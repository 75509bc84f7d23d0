"""The API commands of ``foxden`` against the real server over a loopback socket: tables,
JSON, CSV, Parquet and PNG output, one-line errors and their exit codes."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner, Result

from foxden.cli.main import app
from foxden.client import AuthError, Client, RetryPolicy
from foxden.protocol import structs as s
from tests.conftest import LiveServer, start_server
from tests.telemetry.data import samples

START = int(datetime(2024, 3, 29, tzinfo=UTC).timestamp() * 1000)
H1 = "CLIH10000001"
KH = "CLIKH8000001"
F3 = "CLIF30000001"
ENERGY = ["generation", "feedin", "gridConsumption", "chargeEnergyToTal", "dischargeEnergyToTal"]
runner = CliRunner()


class Fox:
    """Runs ``foxden`` commands against one server with one key."""

    def __init__(self, url: str, key: str) -> None:
        self.url, self.key = url, key

    def __call__(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        full = [*args, "--base-url", self.url, "--api-key", self.key]
        quiet: dict[str, str | None] = {"FOXDEN_BASE_URL": None, "FOXDEN_API_KEY": None}
        return runner.invoke(app, full, env={**quiet, **(env or {})})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Fox]]:
    """An H1 in a London plant with four days of 5-minute samples from 29 March 2024
    (over the change to summer time), a KH8 in a Sydney plant and a grid-tied F3000."""
    live = start_server(tmp_path_factory.mktemp("cli"), rate_per_second=10**6, rate_burst=10**6)
    key = live.account("cora")
    client = live.client(key)
    for sn, model, name, zone in (
        (H1, "H1-5.0-E", "Leeds Semi", "Europe/London"),
        (KH, "KH8", "Sydney House", "Australia/Sydney"),
    ):
        live.device("cora", sn, model)
        client.plant_create(
            s.PlantCreate(
                details=s.PlantDetails(
                    name=name, type=2, countryCode="GB", city="c", address="a", postcode="p"
                ),
                timezone=zone,
                devices=[s.PlantDeviceRef(sn=sn)],
            )
        )
    live.device("cora", F3, "F3000")
    live.store.ingest([samples(H1, "H1-5.0-E", START, 4 * 288 + 1, jitter_ms=1)])
    yield live, Fox(live.url, key)
    live.stop()


@pytest.fixture
def fox(server: tuple[LiveServer, Fox]) -> Fox:
    return server[1]


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.exit_code, result.output)
    return result.stdout


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# ---------------------------------------------------------------- tables and JSON


def test_devices_list_table(fox: Fox) -> None:
    out = ok(fox("devices", "list"))
    lines = out.splitlines()
    assert "Inverters (3)" in lines[0]
    header = next(line for line in lines if "deviceSN" in line)
    for column in ("deviceSN", "type", "product", "plant", "module", "status", "battery"):
        assert column in header
    rows = {line.split("│")[1].strip(): line for line in lines if line.startswith("│")}
    assert set(rows) == {H1, KH, F3}
    assert "H1-5.0-E" in rows[H1] and "Leeds Semi" in rows[H1] and "yes" in rows[H1]
    assert "F3000" in rows[F3] and "no" in rows[F3]
    assert json.loads(ok(fox("devices", "list", "--json")))[0]["deviceSN"] in {H1, KH, F3}


def test_quota_table_and_json(fox: Fox) -> None:
    data = json.loads(ok(fox("quota", "--json")))  # stdout is the JSON alone
    assert set(data) == {"total", "remaining"} and data["total"] == str(3 * 1440)
    out = ok(fox("quota"))
    header, values = (line for line in out.splitlines() if line.startswith(("┃", "│")))
    assert [c.strip() for c in header.strip("┃").split("┃")] == ["total", "used", "remaining"]
    total, used, left = (int(c) for c in values.strip("│").split("│"))
    assert total == 4320 and used + left == total and used > 0


def test_the_other_read_commands(fox: Fox) -> None:
    show = ok(fox("devices", "show", H1))
    assert "Inverter CLIH10000001" in show and "Leeds Semi" in show and "scheduler" in show
    assert json.loads(ok(fox("devices", "show", KH, "--json")))["deviceType"] == "KH8"
    modules = ok(fox("modules"))
    assert "Modules (3)" in modules and "Leeds Semi" in modules
    logger = json.loads(ok(fox("devices", "show", H1, "--json")))["moduleSN"]
    shown = json.loads(ok(fox("module", "show", logger, "--json")))
    assert (shown["moduleSN"], shown["plantName"], shown["webVersion"]) == (
        logger,
        "Leeds Semi",
        "--",
    )
    signal = ok(fox("module", "signal", logger))
    assert f"Signal of {logger}" in signal and "dBm" in signal
    assert -100 <= json.loads(ok(fox("module", "signal", logger, "--json")))["signal"] <= -30
    plants = json.loads(ok(fox("plants", "list", "--json")))
    assert {p["ianaTimezone"] for p in plants} == {"Europe/London", "Australia/Sydney"}
    leeds = next(p["stationID"] for p in plants if p["name"] == "Leeds Semi")
    detail = ok(fox("plants", "show", leeds))
    assert "Europe/London" in detail and H1 in detail
    real = ok(fox("real", H1, KH, "--vars", "SoC,pvPower"))
    assert "SoC" in real and "BST+0100" in real  # H1 has data; KH8 has none yet
    real_json = json.loads(ok(fox("real", H1, KH, "--json")))
    assert [d["deviceSN"] for d in real_json] == [H1, KH]
    generation = json.loads(ok(fox("generation", H1, "--json")))
    assert generation["cumulative"] > 1000
    variables = ok(fox("variables"))
    assert "pvPower" in variables and "kW" in variables
    assert any("SoC" in item for item in json.loads(ok(fox("variables", "--json"))))
    assert "Fault codes" in ok(fox("faults"))


# ---------------------------------------------------------------- settings and writes


def test_battery_charge_times_settings_and_clock(fox: Fox) -> None:
    ok(fox("battery", "soc", "set", KH, "--min-soc", "15", "--min-soc-on-grid", "25"))
    assert json.loads(ok(fox("battery", "soc", "get", KH, "--json"))) == {
        "minSoc": 15,
        "minSocOnGrid": 25,
    }
    ok(fox("battery", "soc", "set", KH, "--min-soc-on-grid", "30"))  # min-soc kept
    assert "15" in ok(fox("battery", "soc", "get", KH)) and "30" in ok(
        fox("battery", "soc", "get", KH)
    )
    ok(fox("charge-times", "set", KH, "--period1", "02:00-05:30"))
    times = json.loads(ok(fox("charge-times", "get", KH, "--json")))
    assert times["enable1"] is True and times["endTime1"] == {"hour": 5, "minute": 30}
    assert times["enable2"] is False
    assert "02:00" in ok(fox("charge-times", "get", KH))
    ok(fox("setting", "set", KH, "ExportLimit", "3000"))
    setting = ok(fox("setting", "get", KH, "ExportLimit"))
    assert "3000" in setting and "ExportLimit" in setting and "W" in setting
    ok(fox("time", "set", KH, "2024-05-13T17:23:00"))  # the plant's wall time
    clock = json.loads(ok(fox("time", "get", KH, "--json")))
    assert (clock["year"], clock["month"], clock["day"], clock["hour"]) == ("2024", "5", "13", "17")
    ok(fox("time", "set", KH, "2024-05-13T08:00:00+00:00"))  # 18:00 in Sydney
    assert "2024-05-13 18:0" in ok(fox("time", "get", KH))


def test_plants_create_update_delete(fox: Fox, tmp_path: Path) -> None:
    body: dict[str, Any] = {
        "details": {
            "name": "Shed",
            "type": 1,
            "countryCode": "DE",
            "city": "Berlin",
            "address": "Hof 1",
            "postcode": "10115",
        },
        "timezone": "Europe/Berlin",
        "devices": [{"sn": F3}],
    }
    file = tmp_path / "plant.json"
    file.write_text(json.dumps(body))
    created = json.loads(ok(fox("plants", "create", str(file), "--json")))
    station = created["stationID"]
    assert created["devices"] == [{"device": {"sn": F3}, "errno": 0}]
    body["details"] = {**body["details"], "stationID": station, "name": "Big Shed"}
    file.write_text(json.dumps(body))
    assert f"Updated plant {station}" in ok(fox("plants", "update", str(file)))
    assert "Big Shed" in ok(fox("plants", "show", station))
    assert f"Deleted plant {station}" in ok(fox("plants", "delete", station))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**body, "timezone": ""}))
    result = fox("plants", "create", str(bad))
    assert result.exit_code == 2 and "timezone" in result.stderr


def test_schedule_show_edit_set_enable_disable(fox: Fox, tmp_path: Path) -> None:
    shown = json.loads(ok(fox("schedule", "show", H1, "--json")))
    assert len(shown["groups"]) == 8 and "properties" in shown
    shown["groups"][0].update(
        enable=1, startHour=2, endHour=5, workMode="ForceCharge", fdSoc=100, fdPwr=3000
    )
    file = tmp_path / "schedule.json"
    file.write_text(json.dumps(shown))
    assert "1 active" in ok(fox("schedule", "set", H1, str(file)))
    table = ok(fox("schedule", "show", H1))
    assert "Scheduler of CLIH10000001: on, 1 of 8 groups used" in table
    assert "ForceCharge" in table and "02:00" in table and "05:00" in table
    assert "off" in ok(fox("schedule", "disable", H1))
    assert json.loads(ok(fox("schedule", "show", H1, "--json")))["enable"] == 0
    ok(fox("schedule", "enable", H1))
    # a plain list of groups; an overlap is refused before sending
    plain = [
        {"enable": 1, "startHour": 1, "startMinute": 0, "endHour": 3, "endMinute": 0,
         "workMode": "SelfUse", "minSocOnGrid": 10, "fdSoc": 20, "fdPwr": 1000},
        {"enable": 1, "startHour": 2, "startMinute": 0, "endHour": 4, "endMinute": 0,
         "workMode": "Feedin", "minSocOnGrid": 10, "fdSoc": 20, "fdPwr": 1000},
    ]  # fmt: skip
    file.write_text(json.dumps(plain))
    result = fox("schedule", "set", H1, str(file))
    assert result.exit_code == 1 and "errno 42023" in result.stderr
    assert "ForceCharge" in ok(fox("schedule", "show", H1))  # unchanged


# ---------------------------------------------------------------- history and reports


def test_history_csv_over_three_days(fox: Fox) -> None:
    out = ok(
        fox(
            "history",
            H1,
            "--from",
            "2024-03-29T00:00:00+00:00",
            "--to",
            "2024-04-01T00:00:00Z",
            "--vars",
            "pvPower,SoC",
            "--csv",
            "--progress",
        )
    )
    lines = out.splitlines()
    assert lines[0] == "device,variable,time,value,unit"
    assert len(lines) == 1 + 2 * 3 * 288  # --to excluded, no repeats at window edges
    assert lines[1].startswith(f"{H1},pvPower,2024-03-29T00:00:00+00:00,")
    assert lines[1].endswith(",kW")
    assert lines[-1].startswith(f"{H1},SoC,2024-04-01T00:55:00+01:00,")  # 23:55 UTC
    assert len(set(lines)) == len(lines)


def test_history_naive_times_are_in_the_plant_zone(fox: Fox) -> None:
    out = ok(fox("history", H1, "--from", "2024-03-31", "--to", "2024-04-01", "--vars", "SoC",
                 "--csv"))  # fmt: skip
    lines = out.splitlines()
    assert len(lines) == 1 + 23 * 12  # the London day of 31 March has 23 hours
    assert lines[1].split(",")[2] == "2024-03-31T00:00:00+00:00"
    assert lines[-1].split(",")[2] == "2024-03-31T23:55:00+01:00"


def test_history_table_json_and_parquet(fox: Fox, tmp_path: Path) -> None:
    span = ["--from", "2024-03-30T10:00:00+00:00", "--to", "2024-03-30T11:00:00+00:00"]
    table = ok(fox("history", H1, *span, "--vars", "pvPower,SoC"))
    assert "History of CLIH10000001 (12 times)" in table
    assert "pvPower (kW)" in table and "SoC (%)" in table
    assert "2024-03-30 10:55:00 GMT+0000" in table
    data = json.loads(ok(fox("history", H1, *span, "--json")))
    assert data["deviceSN"] == H1 and all(len(v["data"]) == 12 for v in data["datas"])
    file = tmp_path / "history.parquet"
    result = fox("history", H1, "--from", "2024-03-29T00:00:00Z", "--to",
                 "2024-04-01T00:00:00Z", "--vars", "pvPower,SoC,runningState",
                 "--parquet", str(file))  # fmt: skip
    assert ok(result) == ""
    parquet = pq.read_table(file)
    assert parquet.num_rows == 3 * 3 * 288
    assert parquet.column_names == [
        "device", "variable", "time", "local_time", "value", "unit", "text"
    ]  # fmt: skip
    assert str(parquet.schema.field("time").type) == "timestamp[ms, tz=UTC]"
    rows = parquet.to_pylist()
    assert rows[0]["time"] == datetime(2024, 3, 29, tzinfo=UTC) and rows[0]["unit"] == "kW"
    assert rows[0]["local_time"] == "2024-03-29T00:00:00+00:00"
    state = next(r for r in rows if r["variable"] == "runningState")
    assert state["text"] == "163" and state["value"] == 163.0


def test_report_table_csv_json_and_parquet(fox: Fox, tmp_path: Path) -> None:
    day = ["--year", "2024", "--month", "3", "--day", "31"]
    out = ok(fox("report", H1, *day, "--csv"))
    lines = out.splitlines()
    assert lines[0] == "device,variable,time,value,unit"
    assert len(lines) == 1 + 5 * 24  # 24 buckets on the 23-hour day too
    generation = [line.split(",") for line in lines[1:25]]
    assert {row[1] for row in generation} == {"generation"}
    assert [row[2] for row in generation[:3]] == [
        "2024-03-31T00:00:00+00:00",
        "2024-03-31T02:00:00+01:00",  # 01:00 does not exist: an empty bucket
        "2024-03-31T02:00:00+01:00",
    ]
    assert float(generation[1][3]) == 0.0 and generation[0][4] == "kWh"
    table = ok(fox("report", H1, *day))
    assert "Day report of CLIH10000001, 2024-03-31 (Europe/London)" in table
    for text in (
        "00:00 GMT",
        "01:00 (skipped)",
        "02:00 BST",
        "23:00 BST",
        "total",
        "generation (kWh)",
    ):
        assert text in table
    answer = json.loads(ok(fox("report", H1, *day, "--json")))
    assert [v["variable"] for v in answer] == ENERGY
    assert all(len(v["values"]) == 24 for v in answer)
    month = tmp_path / "month.parquet"
    ok(fox("report", H1, "--year", "2024", "--month", "3", "--parquet", str(month)))
    assert pq.read_table(month).num_rows == 5 * 31
    year = ok(fox("report", H1, "--year", "2024", "--vars", "generation", "--tz", "UTC", "--csv"))
    assert len(year.splitlines()) == 13
    assert year.splitlines()[4].split(",")[2] == "2024-04-01T00:00:00+00:00"


def test_plots_are_real_pngs_of_the_asked_size(fox: Fox, tmp_path: Path) -> None:
    history = tmp_path / "history.png"
    ok(fox("plot", "history", H1, "--from", "2024-03-30", "--to", "2024-04-01",
           "--out", str(history)))  # fmt: skip
    assert png_size(history.read_bytes()) == (1200, 600)
    report = tmp_path / "report.png"
    ok(fox("plot", "report", H1, "--year", "2024", "--month", "3", "--day", "31",
           "--width", "800", "--height", "500", "--out", str(report)))  # fmt: skip
    assert png_size(report.read_bytes()) == (800, 500)
    assert history.stat().st_size > 20_000  # lines were drawn, not an empty canvas


# ---------------------------------------------------------------- errors and exit codes


def one_error_line(result: Result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.output
    return lines[0]


def test_api_errors_are_one_line_with_errno_and_advice(fox: Fox) -> None:
    line = one_error_line(fox("devices", "show", "NOSUCHSN0001"), 1)
    assert "(errno 40261: incorrect inverter id)" in line
    assert line.endswith("— check the serial number belongs to this account")
    line = one_error_line(fox("setting", "get", F3, "NoSuchKey"), 1)
    assert "errno 40257" in line and "key" in line
    line = one_error_line(fox("schedule", "enable", F3), 1)
    assert "errno 42015" in line


def test_auth_transport_and_usage_exit_codes(fox: Fox) -> None:
    bad_key = Fox(fox.url, "00000000-0000-4000-8000-000000000000")
    assert "errno 41808" in one_error_line(bad_key("quota"), 4)
    nowhere = Fox("http://127.0.0.1:9", fox.key)
    line = one_error_line(nowhere("devices", "list", env={"FOXDEN_RETRIES": "0"}), 3)
    assert "--base-url" in line
    result = runner.invoke(
        app, ["--retries", "0", "quota", "--base-url", "http://127.0.0.1:9", "--api-key", "k"]
    )
    assert result.exit_code == 3
    no_key = runner.invoke(
        app,
        ["quota", "--base-url", fox.url],
        env={"FOXDEN_API_KEY": None, "FOXDEN_BASE_URL": None},
    )
    assert "FOXDEN_API_KEY" in one_error_line(no_key, 2)
    assert "ISO 8601" in one_error_line(fox("history", H1, "--from", "someday"), 2)
    assert fox("report", H1, "--year", "2024", "--day", "3").exit_code == 2
    assert fox("history", H1, "--json", "--csv").exit_code == 2
    # environment variables alone are enough
    env = {"FOXDEN_BASE_URL": fox.url, "FOXDEN_API_KEY": fox.key}
    assert runner.invoke(app, ["quota", "--json"], env=env).exit_code == 0


def test_quota_used_up_exits_5(tmp_path: Path) -> None:
    live = start_server(tmp_path, daily_quota_per_device=1)
    try:
        key = live.account("tiny")
        live.device("tiny", "TINYH1000001")
        tiny = Fox(live.url, key)
        ok(tiny("devices", "list"))
        line = one_error_line(tiny("devices", "list"), 5)
        assert "errno 40402" in line and "00:00 UTC" in line
        assert ok(tiny("quota", "--json"))  # checking the quota is still allowed
    finally:
        live.stop()


# ---------------------------------------------------------------- help


def commands(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every leaf command under a (Typer's own) click group."""
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


API = {
    "plants",
    "devices",
    "modules",
    "module",
    "real",
    "history",
    "report",
    "generation",
    "variables",
}
API |= {"faults", "battery", "charge-times", "setting", "time", "schedule", "quota", "plot"}


def test_help_has_exit_codes_and_an_example_on_every_command() -> None:
    root = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert root.exit_code == 0
    text = " ".join(root.stdout.split())
    for code, meaning in ((0, "ok"), (1, "API error"), (2, "usage"), (3, "transport"),
                          (4, "authentication"), (5, "daily quota")):  # fmt: skip
        assert f"{code} {meaning}" in text
    group = typer.main.get_command(app)
    found = [path for path in commands(group) if path[0] in API]
    assert len(found) == 31
    for path in found:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, path
        assert "Example: foxden " in result.stdout, path
        assert "--base-url" in result.stdout and "--api-key" in result.stdout, path


# ---------------------------------------------------------------- not found, empty, keys, hosts


def test_not_found_is_an_error_naming_the_serial(fox: Fox) -> None:
    for args in (
        ("real", "NOSUCHSN0001"),
        ("devices", "show", "NOSUCHSN0001"),
        ("generation", "NOSUCHSN0001"),
        ("history", "NOSUCHSN0001", "--from", "2024-03-30T00:00Z", "--to", "2024-03-30T01:00Z"),
        ("report", "NOSUCHSN0001", "--year", "2024", "--month", "3", "--tz", "Europe/London"),
        ("battery", "soc", "get", "NOSUCHSN0001"),
    ):
        line = one_error_line(fox(*args), 1)
        assert "no inverter NOSUCHSN0001" in line, (args, line)
    mixed = fox("real", H1, "NOSUCHSN0001", "--vars", "SoC")
    assert mixed.exit_code == 1 and H1 in mixed.stdout and "SoC" in mixed.stdout
    assert mixed.stderr.startswith("error: no inverter NOSUCHSN0001 on this account")


def test_empty_ranges_say_so_and_where_the_data_is(fox: Fox) -> None:
    result = fox("history", H1, "--from", "2024-01-10T00:00Z", "--to", "2024-01-10T06:00Z")
    assert result.exit_code == 0, result.output
    note = " ".join(result.stderr.split())
    assert note.startswith(
        f"no data for {H1} from 2024-01-10T00:00:00+00:00 to 2024-01-10T06:00:00+00:00; "
        f"{H1} has data from about 2024-03-29 to 2024-04-02 "
    ), note
    result = fox("report", H1, "--year", "2023", "--csv")
    assert result.exit_code == 0
    assert " ".join(result.stderr.split()).startswith(f"no energy for {H1} in 2023; {H1} has")
    result = fox("real", KH, "--vars", "SoC")  # bound to a plant, never sampled
    assert result.exit_code == 0 and f"no real-time data for {KH} yet" in result.stderr


def test_keys_are_stripped_and_never_shown(fox: Fox) -> None:
    padded = Fox(fox.url, f"  {fox.key}\n")
    assert json.loads(ok(padded("quota", "--json")))["total"]
    broken = fox.key[:8] + " " + fox.key[8:]
    line = one_error_line(Fox(fox.url, broken)("quota"), 4)
    assert "whitespace" in line and fox.key[:8] not in line and fox.key[9:] not in line
    wrong = Fox(fox.url, "not-a-key-0000")
    line = one_error_line(wrong("devices", "list"), 4)
    assert "not-a-key-0000" not in line and "errno 41808" in line


def test_auth_failures_are_never_retried(server: tuple[LiveServer, Fox]) -> None:
    live, _ = server
    sent: list[str] = []
    client = Client(
        "not-a-key-0000",
        live.url,
        retry=RetryPolicy(max_retries=3, base_s=0.001),
        transport=httpx.HTTPTransport(),
    )
    client._http.event_hooks["request"].append(lambda request: sent.append(request.url.path))
    with client, pytest.raises(AuthError) as refused:
        client.device_list()
    assert refused.value.errno == 41808
    assert sent == ["/op/v0/device/list"]


def test_connection_errors_name_the_url_and_the_vendor_cloud_is_announced(fox: Fox) -> None:
    nowhere = Fox("http://127.0.0.1:9", fox.key)
    line = one_error_line(nowhere("devices", "list", env={"FOXDEN_RETRIES": "0"}), 3)
    assert "http://127.0.0.1:9/op/v0/device/list" in line and fox.key not in line
    result = runner.invoke(
        app,
        ["quota"],
        env={"FOXDEN_BASE_URL": None, "FOXDEN_API_KEY": "has inner space"},
    )
    assert result.exit_code == 4  # refused before anything is sent
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert notes == [
        "note: no --base-url or FOXDEN_BASE_URL: talking to the vendor cloud at "
        "https://www.foxesscloud.com"
    ]
    assert fox("quota").stderr == ""  # no note when a base URL is given


# ---------------------------------------------------------------- help and output polish


def test_history_defaults_to_power_flows_and_soc(fox: Fox) -> None:
    span = ["--from", "2024-03-30T10:00Z", "--to", "2024-03-30T10:30Z", "--json"]
    data = json.loads(ok(fox("history", H1, *span)))
    assert [v["variable"] for v in data["datas"]] == [
        "pvPower", "loadsPower", "feedinPower", "gridConsumptionPower", "batChargePower",
        "batDischargePower", "SoC",
    ]  # fmt: skip


def test_relative_times(fox: Fox) -> None:
    from foxden.cli.common import parse_when

    now = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)  # 13:00 BST in London

    def london() -> str:
        return "Europe/London"

    assert parse_when("-2h", "--from", london, now) == datetime(2024, 3, 31, 10, tzinfo=UTC)
    assert parse_when("-30m", "--from", london, now) == datetime(2024, 3, 31, 11, 30, tzinfo=UTC)
    assert parse_when("-1w", "--from", london, now) == datetime(2024, 3, 24, 12, tzinfo=UTC)
    assert parse_when("now", "--to", london, now) == now
    assert parse_when("today", "--from", london, now) == datetime(2024, 3, 31, tzinfo=UTC)
    yesterday = parse_when("yesterday", "--from", london, now)
    assert yesterday == datetime(2024, 3, 30, tzinfo=UTC)  # midnight GMT, before the change
    assert parse_when("2024-03-31T06:00", "--to", london, now) == datetime(
        2024, 3, 31, 5, tzinfo=UTC
    )
    result = fox("history", H1, "--from", "-2h", "--vars", "SoC", "--csv")  # data is in 2024
    assert result.exit_code == 0 and result.stdout.splitlines() == [
        "device,variable,time,value,unit"
    ]
    assert "no data for CLIH10000001" in result.stderr


def test_out_takes_the_format_from_the_extension(fox: Fox, tmp_path: Path) -> None:
    span = ["--from", "2024-03-30T10:00Z", "--to", "2024-03-30T11:00Z", "--vars", "SoC"]
    csv_file, parquet_file, json_file = (tmp_path / f"h.{x}" for x in ("csv", "parquet", "json"))
    for file in (csv_file, parquet_file, json_file):
        assert ok(fox("history", H1, *span, "--out", str(file))) == ""
    assert csv_file.read_text("utf-8").splitlines()[0] == "device,variable,time,value,unit"
    assert len(csv_file.read_text("utf-8").splitlines()) == 13
    assert pq.read_table(parquet_file).num_rows == 12
    assert json.loads(json_file.read_text("utf-8"))["deviceSN"] == H1
    line = one_error_line(fox("history", H1, *span, "--out", str(tmp_path / "h.xlsx")), 2)
    assert "cannot tell the format from .xlsx" in line and ".csv, .parquet, .json" in line
    jpeg = tmp_path / "chart.jpg"
    ok(fox("plot", "history", H1, *span, "--out", str(jpeg)))
    assert jpeg.read_bytes()[:3] == b"\xff\xd8\xff"  # JPEG, not PNG bytes
    svg = tmp_path / "chart.svg"
    ok(fox("plot", "report", H1, "--year", "2024", "--month", "3", "--out", str(svg)))
    assert svg.read_text("utf-8").lstrip().startswith("<?xml")
    line = one_error_line(fox("plot", "history", H1, "--out", str(tmp_path / "chart.txt")), 2)
    assert "cannot tell the chart format from .txt" in line
    assert not (tmp_path / "chart.txt").exists() and not (tmp_path / "h.xlsx").exists()


def test_device_status_reads_as_words(fox: Fox) -> None:
    assert "1 (online)" in ok(fox("devices", "list"))
    assert "1 (online)" in ok(fox("devices", "show", H1))
