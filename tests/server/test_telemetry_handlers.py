"""The telemetry area's handlers called directly (no HTTP) on samples written into a real
store: real-time answers in the plant's zone, history windows and their refusals, the fast
history bytes against the plain reference, reports over local hours, days and months, and
generation. tests/telemetry/test_endpoints.py shows the same on the wire."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import numpy as np
import pytest

from foxden.protocol import structs as s
from foxden.protocol import telemetry
from foxden.server.areas import telemetry as area
from foxden.store import DeviceSamples
from tests.server.desk import NOW, Desk, bad, refusal

H1 = "ALICEH1000001"
H3 = "ALICEH3000001"
F3 = "ALICEF3000001"
BOB = "BOBH10000001"
HOUR = 3_600_000
DAY = 24 * HOUR
FIRST = NOW - 12 * HOUR + HOUR // 2
"""2024-06-01 00:30 UTC: the first of twelve hourly samples (the last at 11:30)."""
VARIABLES = ("pvPower", "SoC", "runningState", "generation", "feedin")


def _ingest(
    desk: Desk, sn: str = H1, first: int = FIRST, count: int = 12, counters: float = 10
) -> np.ndarray:
    """Hourly samples: pvPower 1.234 + k, SoC 40 + k, running state 163 (on grid), the
    generation counter ``counters`` + k kWh and feed-in 5 + k/2 kWh; pvPower missing at the
    third."""
    times = first + np.arange(count, dtype=np.int64) * HOUR
    k = np.arange(count, dtype=np.float64)
    values = np.column_stack([1.234 + k, 40 + k, np.full(count, 163.0), counters + k, 5 + k / 2])
    if count > 2:
        values[2, 0] = np.nan
    desk.store.ingest([DeviceSamples(sn, VARIABLES, times, values)])
    return times


def _setup(desk: Desk) -> None:
    desk.device(H1, "H1-5.0-E")
    desk.device(H3, "H3-10.0-E")
    desk.device(F3, "F3000")
    desk.device(BOB, account="bob")


def _json(raw: msgspec.Raw) -> Any:
    return msgspec.json.decode(bytes(raw))


def _item(name: str, value: float | str) -> dict[str, Any]:
    var = telemetry.variables()[name]
    item: dict[str, Any] = {"variable": name, "name": var.english, "value": value}
    if var.unit is not None:
        item["unit"] = var.unit
    return item


@pytest.fixture(autouse=True)
def _cold_caches() -> None:
    """Each test starts with the area's caches empty (the ready real-time answers and the
    local boundaries), so what it checks is computed in it, not left by another test."""
    area._READY.clear()
    area._DAYS.clear()
    area._ANSWERS.clear()
    area._ANSWERS_BYTES[0] = 0
    area._WINDOWS.clear()
    for cached in (area._day_boundaries, area._month_boundaries, area._year_boundaries):
        cached.cache_clear()
    area._variable_wrapping.cache_clear()


def test_decimals_follow_the_quantum() -> None:
    assert [area._decimals(q) for q in (0.001, 0.01, 0.1, 1.0, 10.0)] == [3, 2, 1, 0, 0]


def _state() -> str:
    return telemetry.render_text("runningState", 163.0)


def _newest() -> dict[str, float | str]:
    """The last sample of ``_ingest``, as the real-time answer writes it."""
    return {"pvPower": 12.234, "SoC": 51.0, "runningState": _state(), "generation": 21.0,
            "feedin": 10.5}  # fmt: skip


def _datas(values: dict[str, float | str], order: tuple[str, ...] | list[str]) -> list[Any]:
    return [_item(n, values[n]) for n in order if n in values]


H1_ORDER = telemetry.variables_for("H1-5.0-E")


def test_real_time_answers_the_newest_sample_in_the_plants_zone(desk: Desk) -> None:
    _setup(desk)
    _ingest(desk)
    desk.plant([H1], zone="Asia/Tokyo")
    answer = _json(area.real_v0(desk.ctx(), s.RealQueryV0(sn=H1)))
    assert answer == [
        {"deviceSN": H1, "time": "2024-06-01 20:30:00 JST+0900",
         "datas": _datas(_newest(), H1_ORDER)}
    ]  # fmt: skip
    structs = area.real_structs(desk.ctx(), s.RealQueryV0(sn=H1))
    assert msgspec.json.encode(structs) == bytes(area.real_v0(desk.ctx(), s.RealQueryV0(sn=H1)))


def test_real_time_picks_the_requested_variables_in_their_order(desk: Desk) -> None:
    _setup(desk)
    _ingest(desk)
    asked = ["feedin", "warpSpeed", "SoC", "batVolt", "pvPower"]  # batVolt: not in the sample
    answer = _json(area.real_v0(desk.ctx(), s.RealQueryV0(sn=H1, variables=asked)))
    assert answer == [
        {"deviceSN": H1, "time": "2024-06-01 11:30:00 UTC+0000",
         "datas": _datas(_newest(), ["feedin", "SoC", "pvPower"])}
    ]  # fmt: skip
    structs = area.real_structs(desk.ctx(), s.RealQueryV0(sn=H1, variables=asked))
    assert msgspec.json.encode(structs) == msgspec.json.encode(answer)
    empty = _json(area.real_v0(desk.ctx(), s.RealQueryV0(sn=H1, variables=[])))
    assert empty[0]["datas"] == _datas(_newest(), H1_ORDER)


def test_real_time_of_a_device_without_samples_and_of_every_device(desk: Desk) -> None:
    _setup(desk)
    _ingest(desk)
    assert _json(area.real_v0(desk.ctx(), s.RealQueryV0(sn=H3))) == [
        {"deviceSN": H3, "time": "", "datas": []}
    ]
    every = _json(area.real_v0(desk.ctx(), s.RealQueryV0()))
    assert sorted(d["deviceSN"] for d in every) == sorted([H1, H3, F3])
    assert {d["deviceSN"]: d["time"] for d in every}[H1] == "2024-06-01 11:30:00 UTC+0000"
    structs = area.real_structs(desk.ctx(), s.RealQueryV0())
    assert msgspec.json.decode(msgspec.json.encode(structs)) == every
    for sn in (BOB, "NOSUCH000001"):
        query = s.RealQueryV0(sn=sn)
        assert refusal(area.real_v0, desk.ctx(), query) == (40261, f"sn: no inverter {sn!r}")
        assert refusal(area.real_structs, desk.ctx(), query) == (40261, f"sn: no inverter {sn!r}")


def test_real_time_v1_answers_the_accounts_devices_once_each(desk: Desk) -> None:
    _setup(desk)
    _ingest(desk)
    _ingest(desk, BOB)
    query = s.RealQueryV1(sns=[H1, BOB, "NOSUCH000001", H3, H1], variables=["SoC"])
    answer = _json(area.real_v1(desk.ctx(), query))
    assert answer == [
        {"deviceSN": H1, "time": "2024-06-01 11:30:00 UTC+0000",
         "datas": [_item("SoC", 51.0)]},
        {"deviceSN": H3, "time": "", "datas": []},
    ]  # fmt: skip


def test_real_time_follows_a_new_sample_a_new_zone_and_a_new_model(desk: Desk) -> None:
    _setup(desk)
    _ingest(desk)
    query = s.RealQueryV0(sn=H1, variables=["SoC"])
    first = _json(area.real_v0(desk.ctx(), query))[0]
    assert (first["time"], first["datas"]) == ("2024-06-01 11:30:00 UTC+0000", [_item("SoC", 51.0)])
    _ingest(desk, first=FIRST + 12 * HOUR, count=1)
    later = _json(area.real_v0(desk.ctx(), query))[0]
    assert (later["time"], later["datas"]) == ("2024-06-01 12:30:00 UTC+0000", [_item("SoC", 40.0)])
    desk.plant([H1], zone="America/New_York")
    moved = _json(area.real_v0(desk.ctx(), s.RealQueryV0(sn=H1)))[0]
    assert moved["time"] == "2024-06-01 08:30:00 EDT-0400"
    assert _json(area.real_v0(desk.ctx(), query))[0]["time"] == "2024-06-01 08:30:00 EDT-0400"


def _history(desk: Desk, **fields: Any) -> Any:
    query = s.HistoryQuery(sn=H1, **fields)
    fast = bytes(area.history(desk.ctx(), query))
    assert fast == msgspec.json.encode(area.history_reference(desk.ctx(), query))
    return msgspec.json.decode(fast)


def _times(answer: Any, name: str) -> list[str]:
    (device,) = answer
    for variable in device["datas"]:
        if variable["variable"] == name:
            return [p["time"] for p in variable["data"]]
    return []


def test_history_answers_each_point_in_the_plants_zone(desk: Desk) -> None:
    _setup(desk)
    times = _ingest(desk)
    desk.plant([H1], zone="Europe/London")
    asked = ["pvPower", "SoC", "runningState"]
    answer = _history(desk, begin=int(times[1]), end=int(times[3]), variables=asked)
    pv = telemetry.variables()["pvPower"]
    assert answer == [
        {
            "deviceSN": H1,
            "datas": [
                {"variable": "pvPower", "name": pv.english, "unit": "kW",
                 "data": [{"time": "2024-06-01 02:30:00 BST+0100", "value": 2.234},
                          {"time": "2024-06-01 04:30:00 BST+0100", "value": 4.234}]},
                {"variable": "SoC", "name": telemetry.variables()["SoC"].english, "unit": "%",
                 "data": [{"time": f"2024-06-01 0{h}:30:00 BST+0100", "value": 40.0 + h - 1}
                          for h in (2, 3, 4)]},
                {"variable": "runningState", "name": "Running State",
                 "data": [{"time": f"2024-06-01 0{h}:30:00 BST+0100", "value": _state()}
                          for h in (2, 3, 4)]},
            ],
        }
    ]  # fmt: skip


def test_history_across_a_packed_day_and_an_unpacked_one(desk: Desk) -> None:
    _setup(desk)
    _ingest(desk, first=FIRST - 3 * HOUR, count=15)  # from 2024-05-31 21:30 UTC
    assert desk.store.merge_tail(NOW - 12 * HOUR) == 1  # May 31 packed, June 1 a tail
    answer = _history(desk, begin=NOW - 12 * HOUR - 3 * HOUR, end=NOW, variables=["SoC"])
    assert _times(answer, "SoC") == [
        *(f"2024-05-31 {h}:30:00 UTC+0000" for h in (21, 22, 23)),
        *(f"2024-06-01 {h:02d}:30:00 UTC+0000" for h in range(12)),
    ]
    assert [p["value"] for p in answer[0]["datas"][0]["data"]] == [40.0 + k for k in range(15)]
    late = _history(desk, begin=NOW - 12 * HOUR - HOUR, end=NOW - 11 * HOUR, variables=["SoC"])
    assert _times(late, "SoC") == ["2024-05-31 23:30:00 UTC+0000", "2024-06-01 00:30:00 UTC+0000"]
    every = _history(desk, begin=NOW - 4 * HOUR, end=NOW)
    names = [v["variable"] for v in every[0]["datas"]]
    assert names == [n for n in H1_ORDER if n in VARIABLES]
    # a range without samples in a stored day names the day's variables with no points
    quiet = _history(desk, begin=NOW + HOUR, end=NOW + 2 * HOUR, variables=["SoC", "feedin"])
    assert quiet == [{"deviceSN": H1, "datas": [
        {"variable": "SoC", "name": "SoC", "unit": "%", "data": []},
        {"variable": "feedin", "name": telemetry.variables()["feedin"].english, "unit": "kWh",
         "data": []},
    ]}]  # fmt: skip
    assert _history(desk, begin=NOW + 2 * DAY, end=NOW + 2 * DAY) == [{"deviceSN": H1, "datas": []}]


def test_history_windows(desk: Desk) -> None:
    _setup(desk)
    times = [int(t) for t in _ingest(desk, first=FIRST - 4 * DAY, count=24 * 5)]
    default = _history(desk, variables=["SoC"])  # the last 3 days up to now
    assert len(_times(default, "SoC")) == 3 * 24
    assert _times(default, "SoC")[-1] == "2024-06-01 11:30:00 UTC+0000"
    assert _times(default, "SoC")[0] == "2024-05-29 12:30:00 UTC+0000"
    after = _history(desk, begin=times[0], variables=["SoC"])  # begin alone: a day from it
    assert len(_times(after, "SoC")) == 25  # both ends included
    assert _times(after, "SoC")[0] == "2024-05-28 00:30:00 UTC+0000"
    before = _history(desk, end=times[-1], variables=["SoC"])  # end alone: the day before it
    assert len(_times(before, "SoC")) == 25
    assert _times(before, "SoC")[-1] == "2024-06-01 23:30:00 UTC+0000"
    full = _history(desk, begin=times[0], end=times[0] + DAY, variables=["SoC"])
    assert len(_times(full, "SoC")) == 25
    cases: list[tuple[dict[str, Any], tuple[int, str]]] = [
        ({"begin": 5, "end": 4}, bad("end: must not be before begin")),
        ({"begin": times[0], "end": times[0] + DAY + 1},
         bad("end: the span from begin to end must be at most 24 hours")),
        ({"end": DAY - 1}, bad("begin: must be a time in milliseconds since 1970")),
        ({"begin": -1}, bad("begin: must be a time in milliseconds since 1970")),
    ]  # fmt: skip
    for fields, answer in cases:
        for handler in (area.history, area.history_reference):
            assert refusal(handler, desk.ctx(), s.HistoryQuery(sn=H1, **fields)) == answer, fields
    assert _history(desk, end=DAY, variables=["SoC"]) == [{"deviceSN": H1, "datas": []}]
    for sn in (BOB, "NOSUCH000001"):
        query = s.HistoryQuery(sn=sn)
        assert refusal(area.history, desk.ctx(), query) == (40261, f"sn: no inverter {sn!r}")


def _report(desk: Desk, sn: str = H1, **fields: Any) -> dict[str, list[float]]:
    query = s.ReportQuery(sn=sn, **{"year": 2024, "variables": ["generation", "feedin"], **fields})
    return {v.variable: v.values for v in area.report(desk.ctx(), query)}


def test_report_of_a_day_counts_each_local_hour(desk: Desk) -> None:
    """The counters step up 1 kWh (generation) and 0.5 kWh (feed-in) between hourly
    samples at hh:30 UTC from 00:30 to 11:30: each local hour holds one step."""
    _setup(desk)
    _ingest(desk)
    utc = _report(desk, dimension="day", month=6, day=1)
    assert utc == {
        "generation": [0.0] + [1.0] * 11 + [0.0] * 12,
        "feedin": [0.0] + [0.5] * 11 + [0.0] * 12,
    }
    desk.plant([H1], zone="Europe/London")  # local hour h starts at h-1 UTC
    london = _report(desk, dimension="day", month=6, day=1)
    assert london["generation"] == [0.0, 0.0] + [1.0] * 11 + [0.0] * 11
    may = _report(desk, dimension="day", month=5, day=31, variables=["generation"])
    assert may == {"generation": [0.0] * 24}


def test_report_of_a_month_and_a_year(desk: Desk) -> None:
    _setup(desk)
    _ingest(desk)
    desk.plant([H1], zone="Asia/Tokyo")  # June 1 in Tokyo: May 31 15:00 to June 1 15:00 UTC
    month = _report(desk, dimension="month", month=6)
    assert month == {"generation": [11.0] + [0.0] * 29, "feedin": [5.5] + [0.0] * 29}
    year = _report(desk, dimension="year", month=None, variables=["feedin"])
    assert year == {"feedin": [0.0] * 5 + [5.5] + [0.0] * 6}
    february = _report(desk, dimension="month", month=2, variables=["generation"])
    assert february == {"generation": [0.0] * 29}


def test_report_answers_the_asked_counters_once_each_that_the_model_has(desk: Desk) -> None:
    _setup(desk)
    _ingest(desk, F3)
    names = ["feedin", "chargeEnergyToTal", "feedin", "generation"]
    answer = area.report(desk.ctx(), s.ReportQuery(sn=F3, year=2024, dimension="day", month=6,
                                                   day=1, variables=names))  # fmt: skip
    assert [(v.variable, v.unit) for v in answer] == [("feedin", "kWh"), ("generation", "kWh")]
    assert answer[1].values == [0.0] + [1.0] * 11 + [0.0] * 12
    # a counter the model has but no sample carries: zeros
    charge = _report(desk, dimension="day", month=6, day=1, variables=["chargeEnergyToTal"])
    assert charge == {"chargeEnergyToTal": [0.0] * 24}


def test_report_refusals(desk: Desk) -> None:
    _setup(desk)
    counters = ", ".join(telemetry.COUNTERS)
    cases: list[tuple[dict[str, Any], tuple[int, str]]] = [
        ({"dimension": "week"}, bad("dimension: must be day, month or year, got 'week'")),
        ({"dimension": "day", "variables": []},
         bad("variables: name at least one energy variable")),
        ({"dimension": "day", "variables": ["pvPower", "generation", "SoC"]},
         bad(f"variables: pvPower, SoC not reportable; use {counters}")),
        ({"dimension": "month"}, bad("month: required for dimension month")),
        ({"dimension": "day"}, bad("month: required for dimension day")),
        ({"dimension": "day", "month": 6}, bad("day: required for dimension day")),
        ({"dimension": "day", "month": 6, "day": 31}, bad("day: 2024-06 has 30 days")),
        ({"dimension": "day", "month": 2, "day": 30}, bad("day: 2024-02 has 29 days")),
        ({"dimension": "day", "month": 2, "day": 29, "year": 2023},
         bad("day: 2023-02 has 28 days")),
    ]  # fmt: skip
    for fields, answer in cases:
        values: dict[str, Any] = {"year": 2024, "variables": ["generation"], **fields}
        query = s.ReportQuery(sn=H1, **values)
        assert refusal(area.report, desk.ctx(), query) == answer, fields
    query = s.ReportQuery(sn=BOB, year=2024, dimension="week", variables=[])
    assert refusal(area.report, desk.ctx(), query) == (40261, f"sn: no inverter {BOB!r}")


def test_boundaries_of_short_and_long_days() -> None:
    london = ZoneInfo("Europe/London")
    spring = area.day_boundaries(london, 2024, 3, 31)  # 01:00 skipped
    assert len(spring) == 25
    assert spring[0] == 1_711_843_200_000  # 2024-03-31 00:00 GMT
    assert spring[1] == spring[2] == spring[0] + HOUR  # the skipped hour holds nothing
    assert spring[24] - spring[0] == 23 * HOUR
    autumn = area.day_boundaries(london, 2024, 10, 27)  # 01:00 twice
    assert autumn[2] - autumn[1] == 2 * HOUR and autumn[24] - autumn[0] == 25 * HOUR
    months = area.month_boundaries(london, 2024, 12)
    assert len(months) == 32 and months[-1] == 1_735_689_600_000  # 2025-01-01 00:00 GMT
    assert area.month_boundaries(london, 2024, 6)[0] == 1_717_196_400_000  # May 31 23:00 UTC
    years = area.year_boundaries(ZoneInfo("UTC"), 2024)
    assert len(years) == 13 and years[0] == 1_704_067_200_000 and years[-1] == 1_735_689_600_000
    assert years[6] == 1_719_792_000_000  # 2024-07-01
    assert area.day_boundaries(london, 2024, 12, 31)[-1] == 1_735_689_600_000


def test_generation_today_this_month_and_ever(desk: Desk) -> None:
    _setup(desk)
    _ingest(desk, first=FIRST - 2 * DAY, count=36)  # May 30 00:30 to May 31 11:30 UTC
    _ingest(desk, counters=46)  # generation 10 to 45 until May 31, 46 to 57 on June 1
    desk.plant([H1], zone="Europe/London")
    today = area.generation(desk.ctx(), s.SnQuery(sn=H1))
    # London's June 1 begins May 31 23:00 UTC: from the reading then (45) to the last (57)
    assert today == s.Generation(today=12.0, month=12.0, cumulative=57.0)
    desk.clock.set(NOW - DAY)  # May 31 in London: from May 30 22:30 UTC (32) to 45
    before = area.generation(desk.ctx(), s.SnQuery(sn=H1))
    assert before == s.Generation(today=13.0, month=35.0, cumulative=57.0)
    desk.plant([H3], zone="UTC")
    assert area.generation(desk.ctx(), s.SnQuery(sn=H1)) == before
    assert area.generation(desk.ctx(), s.SnQuery(sn=H3)) == s.Generation(
        today=0.0, month=0.0, cumulative=0.0
    )
    assert refusal(area.generation, desk.ctx(), s.SnQuery(sn=BOB)) == (
        40261, f"sn: no inverter {BOB!r}"
    )  # fmt: skip


def test_energy_differences_read_missing_counters_as_zero(desk: Desk) -> None:
    _setup(desk)
    device = desk.store.device(H3)
    assert device is not None
    diffs = area.energy_differences(desk.ctx(), device, [NOW - HOUR, NOW, NOW + HOUR])
    assert diffs.shape == (2, len(telemetry.COUNTERS))
    assert not np.isnan(diffs).any() and (diffs == 0).all()
    assert math.isfinite(float(diffs.sum()))


def test_the_handler_table() -> None:
    assert {
        "device.real_v0": area.real_v0,
        "device.real_v1": area.real_v1,
        "device.history": area.history,
        "device.report": area.report,
        "device.generation": area.generation,
    } == area.HANDLERS


def test_history_follows_new_samples_of_a_day_and_a_new_zone(desk: Desk) -> None:
    _setup(desk)
    _ingest(desk, count=3)
    window = {"begin": NOW - 12 * HOUR, "end": NOW, "variables": ["SoC"]}
    assert len(_times(_history(desk, **window), "SoC")) == 3
    _ingest(desk, first=FIRST + 3 * HOUR, count=2)  # the same day, appended
    assert _times(_history(desk, **window), "SoC")[-2:] == [
        "2024-06-01 03:30:00 UTC+0000", "2024-06-01 04:30:00 UTC+0000"
    ]  # fmt: skip
    desk.plant([H1], zone="Australia/Sydney")
    assert _times(_history(desk, **window), "SoC")[0] == "2024-06-01 10:30:00 AEST+1000"


def test_text_codes_are_rendered_by_their_own_rule() -> None:
    assert area._value("batStatusV2", 1.0) == "Charge"
    assert area._value("batStatusV2", 9.0) == "Idle"
    assert area._value("currentFault", 0.0) == ""
    assert area._value("currentFault", 12.0) == "12"
    assert area._value("pvPower", 1.23456) == 1.235


def test_a_ready_answer_is_reused_only_for_its_sample_zone_and_model(desk: Desk) -> None:
    _setup(desk)
    _ingest(desk)
    device = desk.store.device(H1)
    latest = desk.store.latest([H1])[H1]
    assert device is not None
    first = area._real_bytes(desk.ctx(), device, latest, None)
    assert area._real_bytes(desk.ctx(), device, latest, None) is first  # made once
    assert area._real_bytes(desk.ctx(), device, latest, ["SoC"]) == (
        b'{"deviceSN":"%s","time":"2024-06-01 11:30:00 UTC+0000","datas":[%s]}'
        % (H1.encode(), msgspec.json.encode(_item("SoC", 51.0)))
    )
    desk.plant([H1], zone="Asia/Tokyo")  # the same sample object, another zone
    device = desk.store.device(H1)
    assert device is not None
    moved = msgspec.json.decode(area._real_bytes(desk.ctx(), device, latest, None))
    assert moved["time"] == "2024-06-01 20:30:00 JST+0900"
    other = replace(device, model="F3000")  # the same sample, another model's variables
    names = [
        d["variable"]
        for d in _json(msgspec.Raw(area._real_bytes(desk.ctx(), other, latest, None)))["datas"]
    ]
    assert names == [n for n in telemetry.variables_for("F3000") if n in latest.values]
    assert "SoC" not in names


def test_the_ready_answers_are_dropped_when_ten_thousand_are_kept(desk: Desk) -> None:
    _setup(desk)
    _ingest(desk)
    device = desk.store.device(H1)
    latest = desk.store.latest([H1])[H1]
    assert device is not None
    area._real_bytes(desk.ctx(), device, latest, None)
    kept = area._READY[H1]
    area._READY.update({f"OTHER{i}": kept for i in range(9_998)})
    assert len(area._READY) == 9_999
    area._READY.pop(H1)
    area._READY["OTHERX"] = kept
    area._real_bytes(desk.ctx(), device, latest, None)  # 9_999 kept: one more fits
    assert len(area._READY) == 10_000
    h3 = desk.store.device(H3)
    assert h3 is not None
    _ingest(desk, sn=H3)
    area._real_bytes(desk.ctx(), h3, desk.store.latest([H3])[H3], None)  # full: emptied first
    assert list(area._READY) == [H3]


def _evening(desk: Desk, count: int = 6, counters: float = 10) -> None:
    """Hourly samples from May 31 12:30 UTC (21:30 in Tokyo): generation ``counters`` + k,
    so 12 is the reading before Tokyo's June 1 begins (May 31 15:00 UTC)."""
    _ingest(desk, first=FIRST - 12 * HOUR, count=count, counters=counters)


def test_report_months_and_years_begin_at_local_midnight(desk: Desk) -> None:
    _setup(desk)
    _evening(desk)
    desk.plant([H1], zone="Asia/Tokyo")
    june = _report(desk, dimension="month", month=6, variables=["generation"])
    assert june == {"generation": [3.0] + [0.0] * 29}
    may = _report(desk, dimension="month", month=5, variables=["generation"])
    assert may == {"generation": [0.0] * 30 + [2.0]}
    year = _report(desk, dimension="year", month=None, variables=["generation"])
    assert year == {"generation": [0.0] * 4 + [2.0, 3.0] + [0.0] * 6}


def test_generation_counts_the_plants_own_today_to_its_last_hour(desk: Desk) -> None:
    _setup(desk)
    _evening(desk)
    desk.plant([H1], zone="Asia/Tokyo")
    desk.clock.set(NOW - 16 * HOUR)  # May 31 20:00 UTC: June 1 05:00 in Tokyo
    assert area.generation(desk.ctx(), s.SnQuery(sn=H1)) == s.Generation(
        today=3.0, month=3.0, cumulative=15.0
    )
    desk.clock.set(NOW + 2 * HOUR + 45 * 60 * 1000)  # June 1 14:45 UTC: 23:45 in Tokyo
    late = np.array([[1.0, 50.0, 163.0, 20.0, 9.0]])
    desk.store.ingest(
        [DeviceSamples(H1, VARIABLES, np.array([NOW + 2 * HOUR + 30 * 60 * 1000]), late)]
    )
    assert area.generation(desk.ctx(), s.SnQuery(sn=H1)) == s.Generation(
        today=8.0, month=8.0, cumulative=20.0
    )


def test_history_renders_text_codes_by_their_own_rule(desk: Desk) -> None:
    _setup(desk)
    names = ("batStatusV2", "currentFault", "runningState")
    values = np.array([[1.0, 0.0, 163.0], [2.0, 12.0, 164.0], [7.0, 3.0, 163.0]])
    times = FIRST + np.arange(3, dtype=np.int64) * HOUR
    desk.store.ingest([DeviceSamples(H1, names, times, values)])
    answer = _history(desk, begin=int(times[0]), end=int(times[2]), variables=list(names))
    got = {v["variable"]: [p["value"] for p in v["data"]] for v in answer[0]["datas"]}
    assert got == {
        "batStatusV2": ["Charge", "Discharge", "Idle"],
        "currentFault": ["", "12", "3"],
        "runningState": ["163", "164", "163"],
    }


def test_a_rendered_day_is_kept_while_its_samples_are_the_same(desk: Desk) -> None:
    _setup(desk)
    _ingest(desk)
    zone = ZoneInfo("Europe/London")
    (chunk,) = desk.store.history_chunks(H1, NOW - DAY // 2, NOW)
    first = area._rendered(H1, chunk, zone)
    (same,) = desk.store.history_chunks(H1, NOW - DAY // 2, NOW)
    assert area._rendered(H1, same, zone) is first
    assert area._rendered(H1, same, ZoneInfo("Asia/Tokyo")) is not first
    _ingest(desk, first=FIRST + 12 * HOUR, count=1)
    (grown,) = desk.store.history_chunks(H1, NOW - DAY // 2, NOW + HOUR)
    again = area._rendered(H1, grown, zone)
    assert again is not first
    assert again.content == grown.content


def test_history_from_a_days_first_sample(desk: Desk) -> None:
    _setup(desk)
    times = _ingest(desk)
    answer = _history(desk, begin=int(times[0]), end=int(times[1]), variables=["pvPower", "SoC"])
    got = {v["variable"]: [p["value"] for p in v["data"]] for v in answer[0]["datas"]}
    assert got == {"pvPower": [1.234, 2.234], "SoC": [40.0, 41.0]}


def test_the_oldest_rendered_days_are_dropped_past_the_memory_budget(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(desk)
    _ingest(desk)
    zone = ZoneInfo("UTC")
    (chunk,) = desk.store.history_chunks(H1, NOW - DAY // 2, NOW)
    kept = area._rendered(H1, chunk, zone)
    kept.items("pvPower", 0, 2)
    assert area._DAYS_BUDGET == 64 * 2**20
    assert kept.nbytes > kept.values.nbytes + kept.times.nbytes  # the rendered variable too
    area._DAYS.clear()
    for k in range(2):
        area._DAYS[("OTHER", k, "UTC")] = kept
    fresh = area._rendered(H1, chunk, zone)  # rendered again, nothing asked of it yet
    assert len(area._DAYS) == 3 and fresh is not kept
    # room for half another such day
    monkeypatch.setattr(area, "_DAYS_BUDGET", 2 * kept.nbytes + fresh.nbytes * 3 // 2)
    _ingest(desk, sn=H3)
    (other,) = desk.store.history_chunks(H3, NOW - DAY // 2, NOW)
    area._rendered(H3, other, zone)  # past the budget: the oldest go until it fits
    assert ("OTHER", 0, "UTC") not in area._DAYS
    assert (H3, other.day, "UTC") in area._DAYS
    assert sum(d.nbytes for d in area._DAYS.values()) <= area._DAYS_BUDGET
    area._rendered(H3, other, zone)  # already kept: nothing goes
    assert ("OTHER", 1, "UTC") in area._DAYS
    assert len(area._DAYS) == 3


def test_a_history_answer_is_kept_while_its_samples_stand(desk: Desk) -> None:
    _setup(desk)
    times = [int(t) for t in _ingest(desk)]
    asked = {"variables": ["SoC", "pvPower"]}
    window = s.HistoryQuery(sn=H1, begin=times[1], end=times[5], **asked)
    first = area.history(desk.ctx(), window)
    assert area.history(desk.ctx(), window) is first
    # kept under the renderings' serials: an answer keeps no rendered day alive
    ((kept_key, kept),) = area._ANSWERS.items()
    assert kept is first
    assert kept_key[0] == H1 and kept_key[1] == ("SoC", "pvPower")
    assert all(type(x) is int for part in kept_key[2] for x in part) and len(kept_key[2]) == 1
    # another window over the same samples: the same answer
    wider = s.HistoryQuery(sn=H1, begin=times[1] - HOUR // 2, end=times[5] + HOUR // 2, **asked)
    assert area.history(desk.ctx(), wider) is first
    # one sample more, fewer variables, another device: answers of their own
    longer = s.HistoryQuery(sn=H1, begin=times[1], end=times[6], **asked)
    assert area.history(desk.ctx(), longer) is not first
    assert len(_times(msgspec.json.decode(bytes(area.history(desk.ctx(), longer))), "SoC")) == 6
    fewer = area.history(desk.ctx(), s.HistoryQuery(sn=H1, begin=times[1], end=times[5]))
    assert fewer is not first
    _ingest(desk, sn=H3)
    other = area.history(desk.ctx(), s.HistoryQuery(sn=H3, begin=times[1], end=times[5], **asked))
    assert bytes(other) == bytes(first).replace(H1.encode(), H3.encode())
    assert other is not first
    # a new sample inside the window: the day is another, so is the answer
    desk.store.ingest(
        [DeviceSamples(H1, ("SoC",), np.array([times[1] + HOUR // 2]), np.array([[77.0]]))]
    )
    grown = area.history(desk.ctx(), window)
    assert grown is not first
    values = [p["value"] for p in msgspec.json.decode(bytes(grown))[0]["datas"][0]["data"]]
    assert values == [41.0, 77.0, 42.0, 43.0, 44.0, 45.0]
    assert bytes(grown) == msgspec.json.encode(area.history_reference(desk.ctx(), window))


def test_kept_history_answers_are_bounded_by_their_bytes(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(desk)
    times = [int(t) for t in _ingest(desk)]
    windows = [s.HistoryQuery(sn=H1, begin=times[k], end=times[k + 1]) for k in range(4)]
    sizes = [len(area.history(desk.ctx(), w).whole) for w in windows[:3]]
    assert area._ANSWERS_BYTES[0] == sum(sizes)
    assert len(area._ANSWERS) == 3
    area._ANSWERS.clear()
    area._ANSWERS_BYTES[0] = 0
    monkeypatch.setattr(area, "_ANSWERS_KEPT_BYTES", sizes[0] + sizes[1] + sizes[2] - 1)
    first, second, third = (area.history(desk.ctx(), w) for w in windows[:3])
    # the third did not fit beside the first two: the oldest made went
    assert list(area._ANSWERS.values()) == [second, third]
    assert area._ANSWERS_BYTES[0] == sizes[1] + sizes[2]
    assert area.history(desk.ctx(), windows[0]) is not first
    monkeypatch.setattr(area, "_ANSWERS_KEPT_BYTES", sizes[0] - 1)
    area._ANSWERS.clear()
    area._ANSWERS_BYTES[0] = 0
    big = area.history(desk.ctx(), windows[0])  # larger than all that may be kept: not kept
    assert area._ANSWERS == {} and area._ANSWERS_BYTES[0] == 0
    assert bytes(area.history(desk.ctx(), windows[0])) == bytes(big)
