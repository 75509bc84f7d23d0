"""Telemetry over HTTP: shapes, zones across DST, report lengths, validation, and the
consistency of reports, generation and history, against samples ingested through the store."""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foxden.client import Client, InvalidParameterError
from foxden.clock import FrozenClock
from foxden.protocol import signing, telemetry, timefmt
from foxden.protocol import structs as s
from tests.conftest import LiveServer, start_server
from tests.telemetry.data import samples

DAY = 86_400_000
START = int(datetime(2024, 3, 25, tzinfo=UTC).timestamp() * 1000)  # data: 25 Mar .. 8 Apr 2024
DAYS = 15
NOW = START + DAYS * DAY - 3_600_000
ZONES = {
    "LONH1000001": ("H1-5.0-E", "Europe/London"),
    "BERH3000001": ("H3-10.0-E", "Europe/Berlin"),
    "SYDKH800001": ("KH8", "Australia/Sydney"),
    "NYCF3000001": ("F3000", "America/New_York"),
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Client]]:
    """Four devices in four zones with 12 days of 5-minute samples; the server clock frozen
    an hour before the end of the data."""
    path: Path = tmp_path_factory.mktemp("fleet")
    live = start_server(
        path,
        clock=FrozenClock(NOW),
        timestamp_window_s=10**9,
        rate_per_second=10**6,
        rate_burst=10**6,
    )
    key = live.account("tess")
    client = live.client(key)
    for i, (sn, (model, zone)) in enumerate(ZONES.items()):
        live.device("tess", sn, model)
        client.plant_create(
            s.PlantCreate(
                details=s.PlantDetails(
                    name=zone, type=2, countryCode="GB", city="c", address="a", postcode="p"
                ),
                timezone=zone,
                devices=[s.PlantDeviceRef(sn=sn)],
            )
        )
        live.store.ingest([samples(sn, model, START, DAYS * 288, seed=i)])
    yield live, client
    live.stop()


def test_real_time_shapes(fleet: tuple[LiveServer, Client]) -> None:
    live, client = fleet
    path = "/op/v0/device/real/query"
    headers = signing.headers(path, client.api_key, NOW)
    body = httpx.post(live.url + path, headers=headers, json={"sn": "LONH1000001"}).json()
    assert body["errno"] == 0
    (device,) = body["result"]
    assert device["deviceSN"] == "LONH1000001"
    assert device["time"].endswith("BST+0100")
    by_name = {d["variable"]: d for d in device["datas"]}
    assert set(by_name) == set(telemetry.variables_for("H1-5.0-E"))
    for name, item in by_name.items():
        var = telemetry.variables()[name]
        assert item["name"] == var.english
        if var.text:
            assert isinstance(item["value"], str), name
        else:
            assert isinstance(item["value"], float | int), name
        assert ("unit" in item) == (var.unit is not None), name
    assert by_name["runningState"]["value"] == "163"
    assert by_name["ResidualEnergy"]["unit"] == "0.01kWh"
    assert "unit" not in by_name["PowerFactor"]


def test_grid_tied_has_no_battery_variables(fleet: tuple[LiveServer, Client]) -> None:
    _, client = fleet
    (device,) = client.real_time("NYCF3000001", ["SoC", "pvPower", "noSuchThing", "batVolt"])
    assert [d.variable for d in device.datas] == ["pvPower"]
    assert device.time.endswith(("EDT-0400", "EST-0500"))


def test_real_time_all_devices_and_v1(fleet: tuple[LiveServer, Client], bob: Client) -> None:
    _, client = fleet
    assert {d.deviceSN for d in client.real_time()} == set(ZONES)
    got = client.real_time_v1(["SYDKH800001", "NOSUCHDEVICE", "BERH3000001"], ["SoC"])
    assert [d.deviceSN for d in got] == ["SYDKH800001", "BERH3000001"]
    assert all(len(d.datas) == 1 and isinstance(d.datas[0].value, float) for d in got)
    with pytest.raises(InvalidParameterError) as info:
        client.real_time_v1([f"SN{i:04d}" for i in range(51)])
    assert "sns" in info.value.detail


def test_history_points_and_zone_strings(fleet: tuple[LiveServer, Client]) -> None:
    _, client = fleet
    begin = int(datetime(2024, 3, 31, 0, 0, tzinfo=UTC).timestamp() * 1000)
    (device,) = client.history("BERH3000001", begin, begin + DAY, ["pvPower", "SoC", "bogus"])
    assert [d.variable for d in device.datas] == ["pvPower", "SoC"]
    points = device.datas[0].data
    assert 280 <= len(points) <= 289
    zones = {p.time[20:] for p in points}
    assert zones == {"CET+0100", "CEST+0200"}  # the spring-forward day in Berlin
    instants = [timefmt.parse_local(p.time).timestamp() for p in points]
    assert instants == sorted(instants)
    assert all(begin <= t * 1000 <= begin + DAY for t in instants)


def test_history_window_rules(fleet: tuple[LiveServer, Client]) -> None:
    live, client = fleet
    with pytest.raises(InvalidParameterError, match="24 hours"):
        client.history("LONH1000001", START, START + DAY + 1)
    with pytest.raises(InvalidParameterError, match="end"):
        client.history("LONH1000001", START + DAY, START)
    (default,) = client.history("LONH1000001", variables=["SoC"])
    first = timefmt.parse_local(default.datas[0].data[0].time).timestamp() * 1000
    assert NOW - 3 * DAY <= first <= NOW - 3 * DAY + 600_000  # the document's last three days
    path = "/op/v0/device/history/query"
    headers = signing.headers(path, client.api_key, NOW)
    body = {
        "sn": "LONH1000001",
        "variables": ["SoC"],
        "begin": str(START),
        "end": str(START + 3_600_000),
    }
    answer = httpx.post(live.url + path, headers=headers, json=body).json()
    assert answer["errno"] == 0 and len(answer["result"][0]["datas"][0]["data"]) == 12


@pytest.mark.parametrize("year", [2023, 2024])
def test_report_lengths(fleet: tuple[LiveServer, Client], year: int) -> None:
    _, client = fleet
    for month in range(1, 13):
        (gen,) = client.report("LONH1000001", "month", year, month, variables=["generation"])
        assert len(gen.values) == calendar.monthrange(year, month)[1]
    assert len(client.report("LONH1000001", "year", year)[0].values) == 12
    assert len(client.report("LONH1000001", "day", year, 2, 28)[0].values) == 24
    if calendar.isleap(year):
        assert len(client.report("LONH1000001", "day", year, 2, 29)[0].values) == 24


def test_report_validation(fleet: tuple[LiveServer, Client]) -> None:
    _, client = fleet
    cases = [
        (("year", 2019), "year"),
        (("year", 99999), "year"),
        (("month", 2024, 13), "month"),
        (("day", 2024, 2, 30), "day"),
        (("day", 2023, 2, 29), "day"),
        (("day", 2024, 2), "day"),
        (("month", 2024), "month"),
        (("week", 2024, 1), "dimension"),
    ]
    for args, field in cases:
        with pytest.raises(InvalidParameterError) as info:
            client.report("LONH1000001", *args)  # type: ignore[arg-type]
        assert field in info.value.detail, (args, info.value.detail)
    with pytest.raises(InvalidParameterError, match="variables"):
        client.report("LONH1000001", "year", 2024, variables=["pvPower"])


def test_report_leaves_out_what_the_device_lacks_and_future_is_zero(
    fleet: tuple[LiveServer, Client],
) -> None:
    _, client = fleet
    got = client.report("NYCF3000001", "year", 2024, variables=["generation", "chargeEnergyToTal"])
    assert [r.variable for r in got] == ["generation"]
    values = got[0].values
    assert values[2] > 0 and values[3] > 0  # March and April hold the data
    assert values[4:] == [0.0] * 8 and values[:2] == [0.0, 0.0]


@pytest.mark.parametrize(
    ("sn", "day", "short_hour", "long_hour"),
    [
        ("LONH1000001", (2024, 3, 31), 1, None),  # 23-hour day: 01:00 does not exist
        ("BERH3000001", (2024, 3, 31), 2, None),
        ("SYDKH800001", (2024, 4, 7), None, 2),  # 25-hour day: 02:00 happens twice
    ],
)
def test_dst_days_answer_24_values(
    fleet: tuple[LiveServer, Client],
    sn: str,
    day: tuple[int, int, int],
    short_hour: int | None,
    long_hour: int | None,
) -> None:
    _, client = fleet
    (gen,) = client.report(sn, "day", *day, variables=["loads"])
    assert len(gen.values) == 24
    if short_hour is not None:
        assert gen.values[short_hour] == 0.0
    if long_hour is not None:
        others = [v for h, v in enumerate(gen.values) if h != long_hour and 0 < h < 6]
        assert gen.values[long_hour] > max(others)  # loads run all night: two hours' worth
    month = client.report(sn, "month", day[0], day[1], variables=["loads"])[0].values
    assert sum(gen.values) == pytest.approx(month[day[2] - 1], abs=1e-9)


def counter_over_day(
    client: Client, sn: str, zone: str, y: int, m: int, d: int, name: str
) -> float:
    """From history alone: the last reading of the day minus the last one before it (a
    25-hour day takes two history calls, each at most 24 hours)."""
    tz = timefmt.zone(zone)
    start = int(datetime(y, m, d, tzinfo=tz).timestamp() * 1000)
    following = datetime(y, m, d) + timedelta(days=1)
    end = int(following.replace(tzinfo=tz).timestamp() * 1000)
    before = client.history(sn, start - 3_600_000, start - 1, [name])[0].datas
    points = []
    for a in range(start, end, 12 * 3_600_000):
        chunk = client.history(sn, a, min(a + 12 * 3_600_000, end) - 1, [name])[0].datas
        points += chunk[0].data if chunk else []
    last_before = before[0].data[-1].value if before else points[0].value
    return float(points[-1].value) - float(last_before)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sn=st.sampled_from(sorted(ZONES)),
    offset=st.integers(min_value=1, max_value=DAYS - 2),
    name=st.sampled_from(["generation", "feedin", "gridConsumption", "loads"]),
)
def test_day_month_and_history_agree(
    fleet: tuple[LiveServer, Client], sn: str, offset: int, name: str
) -> None:
    _, client = fleet
    zone = ZONES[sn][1]
    local = datetime.fromtimestamp((START + offset * DAY) / 1000, timefmt.zone(zone))
    y, m, d = local.year, local.month, local.day
    (day,) = client.report(sn, "day", y, m, d, variables=[name])
    (month,) = client.report(sn, "month", y, m, variables=[name])
    assert sum(day.values) == pytest.approx(month.values[d - 1], abs=1e-9)
    assert sum(day.values) == pytest.approx(
        counter_over_day(client, sn, zone, y, m, d, name), abs=1e-9
    )
    assert all(v >= 0 for v in day.values)


def test_generation_today_is_the_day_report_sum(fleet: tuple[LiveServer, Client]) -> None:
    _, client = fleet
    for sn, (_, zone) in ZONES.items():
        gen = client.generation(sn)
        today = datetime.fromtimestamp(NOW / 1000, timefmt.zone(zone))
        (day,) = client.report(sn, "day", today.year, today.month, today.day, ["generation"])
        (month,) = client.report(sn, "month", today.year, today.month, variables=["generation"])
        assert gen.today == pytest.approx(sum(day.values), abs=1e-9)
        assert gen.month == pytest.approx(sum(month.values), abs=1e-9)
        latest = client.real_time(sn, ["generation"])[0].datas[0].value
        assert gen.cumulative == pytest.approx(float(latest), abs=1e-9)


def test_power_integrated_over_history_matches_the_counter(
    fleet: tuple[LiveServer, Client],
) -> None:
    """The store and the history endpoint carry this fixture's powers and counters without
    drift (the fixture builds one from the other, so this cannot judge the simulator: that
    is tests/sim/test_history_counters.py, on the simulator's own output)."""
    _, client = fleet
    begin = START + 4 * DAY
    (device,) = client.history("LONH1000001", begin, begin + DAY, ["generationPower", "generation"])
    power, counter = device.datas[0].data, device.datas[1].data
    t = np.array([timefmt.parse_local(p.time).timestamp() for p in power]) / 3600
    kw = np.array([float(p.value) for p in power])
    integrated = float(np.sum(kw[1:] * np.diff(t)))  # each sample's power over its step
    counted = float(counter[-1].value) - float(counter[0].value)
    assert counted > 5
    assert integrated == pytest.approx(counted, rel=0.02, abs=0.2)


def test_tenancy(fleet: tuple[LiveServer, Client]) -> None:
    live, _ = fleet
    other = live.client(live.account(f"eve{time.time_ns()}"))
    from foxden.client import DeviceNotFoundError

    for call in (
        lambda: other.history("LONH1000001", START, START + 1000),
        lambda: other.report("LONH1000001", "year", 2024),
        lambda: other.generation("LONH1000001"),
        lambda: other.real_time("LONH1000001"),
    ):
        with pytest.raises(DeviceNotFoundError) as not_hers:
            call()
        assert not_hers.value.errno == 40261
    assert other.real_time_v1(["LONH1000001"]) == []
    assert other.real_time() == []


@pytest.mark.parametrize("sn", sorted(ZONES))
def test_fast_history_bytes_equal_the_plain_rendering(
    fleet: tuple[LiveServer, Client], sn: str
) -> None:
    """The history handler renders JSON by hand for speed; it must say exactly what the
    plain struct rendering says, missing values and clock changes included."""
    import msgspec

    from foxden.server.areas import telemetry as area
    from foxden.server.context import Ctx

    live, _ = fleet
    account = live.store.account_by_name("tess")
    assert account is not None
    clock = FrozenClock(NOW)
    ctx = Ctx(live.store, clock, clock, account, live.foxden.quota)
    # a day with a clock change in each zone's year is inside the data (25 Mar .. 8 Apr)
    for begin in (START + 5 * DAY, START + 13 * DAY):
        for variables in (None, ["SoC", "runningState", "batStatusV2", "nothing"]):
            req = s.HistoryQuery(sn=sn, begin=begin, end=begin + DAY, variables=variables)
            fast = area.history(ctx, req)
            plain = msgspec.json.encode(area.history_reference(ctx, req))
            assert bytes(fast) == plain
