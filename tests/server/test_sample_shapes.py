"""Every real-cloud sample (``shared/samples`` and ``shared/samples/newer``) against foxden's
answer to the same call, over HTTP: each field the sample has is in foxden's answer with the
same JSON type (a number stays a number, a string a string), the same nesting, the same unit
for the same variable, and a time string in the cloud's ``2024-05-13 17:23:13 BST+0100`` form
wherever the sample has one. foxden may answer more fields than a sample shows (samples are
often trimmed); it may not answer fewer, or other types.

Samples of endpoints foxden does not serve, and the ones that are not answers (evidence
notes, error collections compared in ``test_error_texts.py``), are listed in NOT_COMPARED with
the reason; a new sample file that is in neither table fails the test that keeps the tables
complete.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from foxden import accounts
from foxden.clock import RealClock
from foxden.protocol import signing, telemetry
from tests.ui.fleet import START, DemoServer, start_demo
from tests.vendor import shared_dir, shared_file

H1 = "66BH502404ED555"  # H1-5.0-E, London
H1_37 = "66BH37240403232"  # H1-3.7-E, Sydney
KH8 = "60KE82404644051"  # KH8, Sydney
H3 = "60BT102404D8141"  # H3-10.0-E, Berlin
EVO = "60EVO0000000X01"  # EVO 10-5-H, added to the demo account here
NOW_MS = int(START.timestamp() * 1000)
TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+[+-]\d{4}$")
"""The cloud's local time strings: ``2024-05-13 17:23:13 BST+0100``, ``... +03+0300``."""
IDS = ("variable", "name", "key", "deviceSN", "stationID", "moduleSN", "batterySN")
"""Fields that name a list element: elements are paired by them before their shapes are
compared (a sample's real-time variables with foxden's, whatever their order)."""


@dataclass(frozen=True)
class Case:
    """How to ask foxden what a sample shows: the call, and where the sample keeps the
    answer (``response``: a whole envelope; ``result``: its result only)."""

    method: str
    path: str
    body: Callable[[list[Any]], dict[str, Any]] = lambda _: {}
    pick: Callable[[Any], Any] = lambda result: result
    """The part of foxden's result the sample shows (some samples keep ``result.data`` only)."""
    differs: dict[str, str] = field(default_factory=dict)
    """Where foxden knowingly answers otherwise than this sample, by path: why."""


def _variables(sample: list[Any]) -> list[str]:
    """The variables a real-time or history sample holds, to ask foxden for the same."""
    names: list[str] = []
    for device in sample:
        for var in device.get("datas", []):
            if "variable" in var:
                names.append(var["variable"])
    return names


def _report(dimension: str, names: list[str]) -> Callable[[list[Any]], dict[str, Any]]:
    day = {"day": {"year": 2026, "month": 6, "day": 14}, "month": {"year": 2026, "month": 6}}
    return lambda _: {"sn": H1, "dimension": dimension, "variables": names, **day.get(
        dimension, {"year": 2026})}  # fmt: skip


REPORT = ["generation", "feedin", "gridConsumption", "chargeEnergyToTal",
          "dischargeEnergyToTal", "loads", "PVEnergyTotal"]  # fmt: skip
HISTORY_SPAN = {"begin": NOW_MS - 3_600_000, "end": NOW_MS}

CASES: dict[str, Case] = {
    "v0_device_batteryHeating_get__energystats_ios.json": Case(
        "POST", "/op/v0/device/batteryHeating/get", lambda _: {"sn": H3}
    ),
    "v0_device_battery_forceChargeTime_get__batpred.json": Case(
        "GET", "/op/v0/device/battery/forceChargeTime/get", lambda _: {"sn": H1}
    ),
    "v0_device_battery_soc_get__energystats_ios.json": Case(
        "GET", "/op/v0/device/battery/soc/get", lambda _: {"sn": H1}
    ),
    "v0_device_detail__batpred_kh8.json": Case(
        "GET", "/op/v0/device/detail", lambda _: {"sn": KH8}
    ),
    "v0_device_generation__batpred.json": Case(
        "GET", "/op/v0/device/generation", lambda _: {"sn": H1}
    ),
    **{
        name: Case(
            "POST",
            "/op/v0/device/history/query",
            lambda sample: {"sn": H1, "variables": _variables(sample), **HISTORY_SPAN},
        )
        for name in (
            "v0_device_history_query__energystats_android_2025.json",
            "v0_device_history_query__energystats_ios_bst.json",
            "v0_device_history_query__energystats_ios_cest_temps.json",
            "v0_device_history_query__energystats_ios_gmt.json",
            "v0_device_history_query__gostonefire_mock_cet.json",
        )
    },
    "v0_device_history_query__foxess_ha_issue225_excerpt.json": Case(
        "POST",
        "/op/v0/device/history/query",
        lambda _: {"sn": H1, "variables": ["pvPower"], **HISTORY_SPAN},
    ),
    **{
        name: Case("POST", "/op/v0/device/list", lambda _: {"currentPage": 1, "pageSize": 10})
        for name in ("v0_device_list__energystats_ios.json", "v0_device_list__foxessprom_h1.json")
    },
    "v0_device_list__batpred_kh8.json": Case(  # batpred printed result.data only
        "POST",
        "/op/v0/device/list",
        lambda _: {"currentPage": 1, "pageSize": 10},
        pick=lambda result: result["data"],
    ),
    **{
        name: Case(
            "POST",
            "/op/v0/device/real/query",
            lambda sample: {"sn": H1, "variables": _variables(sample)},
        )
        for name in (
            "v0_device_real_query__battery_energystats_ios.json",
            "v0_device_real_query__energystats_ios.json",
            "v0_device_real_query__nicois_aest.json",
        )
    },
    "v0_device_real_query__foxessprom_h1_full.json": Case(
        "POST",
        "/op/v0/device/real/query",
        lambda sample: {"sn": H1, "variables": _variables(sample)},
        differs={
            "$[0].datas[40].unit": "energyThroughput: this 2024 capture says 'Wh' beside a value "
            "in kWh (1381.765); the 2025 capture (v1_device_real_query__batpred_kh8.json) says "
            "'kWh', as foxden does (docs/fidelity.md)"
        },
    ),
    "v0_device_report_query_day__energystats_ios.json": Case(
        "POST", "/op/v0/device/report/query", _report("day", REPORT)
    ),
    "v0_device_report_query_month__energystats_ios.json": Case(
        "POST", "/op/v0/device/report/query", _report("month", REPORT)
    ),
    "v0_device_report_query_month__energystats_ios_test.json": Case(
        "POST", "/op/v0/device/report/query", _report("month", REPORT)
    ),
    # batpred labels it month, but its 24 values are a day's (sources.md says so)
    "v0_device_report_query_month_docstring__batpred.json": Case(
        "POST", "/op/v0/device/report/query", _report("day", REPORT)
    ),
    "v0_device_report_query_year__batpred.json": Case(
        "POST", "/op/v0/device/report/query", _report("year", REPORT)
    ),
    "v0_device_report_query_year__energystats_ios.json": Case(
        "POST", "/op/v0/device/report/query", _report("year", REPORT)
    ),
    "v0_device_setting_get__batpred_workmode.json": Case(
        "POST", "/op/v0/device/setting/get", lambda _: {"sn": KH8, "key": "WorkMode"}
    ),
    "v0_device_variable_get__energystats_ios.json": Case("GET", "/op/v0/device/variable/get"),
    "v0_plant_detail__energystats_ios.json": Case("GET", "/op/v0/plant/detail"),
    "v0_plant_list__energystats_ios.json": Case(
        "POST", "/op/v0/plant/list", lambda _: {"currentPage": 1, "pageSize": 10}
    ),
    "v1_device_real_query__batpred_kh8.json": Case(
        "POST",
        "/op/v1/device/real/query",
        lambda sample: {"sns": [KH8], "variables": _variables(sample)},
    ),
    **{
        name: Case("POST", "/op/v1/device/scheduler/get", lambda _: {"deviceSN": KH8})
        for name in (
            "v1_device_scheduler_get__batpred_kh.json",
            "newer/v1_device_scheduler_get__batpred_kh.json",
        )
    },
    **{
        name: Case("POST", "/op/v1/device/scheduler/get/flag", lambda _: {"deviceSN": KH8})
        for name in (
            "v1_device_scheduler_get_flag__gostonefire_mock.json",
            "newer/v1_device_scheduler_get_flag__gostonefire_mock.json",
        )
    },
    **{
        name: Case("POST", "/op/v2/device/scheduler/get", lambda _: {"deviceSN": EVO})
        for name in (
            "v2_device_scheduler_get__batpred_evo.json",
            "newer/v2_device_scheduler_get__batpred_evo.json",
        )
    },
    **{
        name: Case("POST", "/op/v3/device/scheduler/get", lambda _: {"deviceSN": H3})
        for name in (
            "v3_device_scheduler_get__gostonefire_mock.json",
            "newer/v3_device_scheduler_get__gostonefire_mock.json",
        )
    },
    "newer/v3_device_scheduler_get_properties__h3_doc_snapshot_reconstructed.json": Case(
        "POST",
        "/op/v3/device/scheduler/get",
        lambda _: {"deviceSN": H3},
        differs={
            "$.properties.reactivepowerenable": "rebuilt from prose, not a capture: no client "
            "reads or sends it and no capture shows it, so foxden takes no such extraParam and "
            "does not offer it (docs/fidelity.md)"
        },
    ),
    "newer/v0_device_batteryHeating_get__foxess_doc_2026-04.json": Case(
        "POST", "/op/v0/device/batteryHeating/get", lambda _: {"sn": H3}
    ),
    "newer/v0_device_peakShaving_get__energystats_demo.json": Case(
        "POST", "/op/v0/device/peakShaving/get", lambda _: {"sn": KH8}
    ),
    "newer/v1_device_detail__energystats_demo.json": Case(
        "GET", "/op/v1/device/detail", lambda _: {"sn": H1}
    ),
}

NOT_COMPARED: dict[str, str] = {
    "_doc_schema_summary__teh-hippo_foxess-lib.json": "the document's types, not an answer",
    "errors__energystats_ios_legacy_api.json": "the legacy private API, not the Open API",
    "errors__issues.json": "error envelopes: tests/server/test_error_texts.py",
    "newer/errors__newer_endpoints.json": "error lines: tests/server/test_error_texts.py",
    "v0_device_scheduler_get__nicois.json": "two variants from prose, no envelope: "
    "tests/server/test_scheduler.py",
    "v0_device_setting_get__gostonefire_mock.json": "a mock of values only ({value}): "
    "tests/server/test_device_functions.py",
    "v0_user_getAccessCount__no_real_sample.json": "no capture exists (an illustration): "
    "tests/server/test_limits.py",
    "newer/v0_device_batteryHeating_set__foxess_doc_2026-04.json": "a write's null result",
    "newer/v0_device_displaySleep_get__foxess_doc_2026-04.json": "not served by foxden",
    "newer/v0_device_installer_count__foxess_doc_2026-04.json": "not served by foxden",
    "newer/v0_gmax_history_query__foxess_doc_2026-04.json": "not served by foxden",
}


# ---------------------------------------------------------------- the comparison


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "array" if isinstance(value, list) else "object"


def _partner(element: Any, index: int, answer: list[Any]) -> Any:
    """The element of foxden's list that answers a sample's element: the one with the same
    name (IDS), else the one at the same place (or the last); None when the sample names a
    variable, setting or key foxden does not have."""
    if isinstance(element, dict) and len(element) == 1 and not set(element) & set(IDS):
        # device/variable/get: one {name: description} per element
        (only,) = element
        return next((a for a in answer if isinstance(a, dict) and only in a), None)
    if isinstance(element, dict):
        for id_field in IDS:
            if id_field in element:
                same = [
                    a
                    for a in answer
                    if isinstance(a, dict) and a.get(id_field) == element[id_field]
                ]
                if same:
                    return same[0]
                if id_field in ("variable", "name", "key"):
                    return None
                break
    return answer[min(index, len(answer) - 1)]


def mismatches(sample: Any, answer: Any, path: str = "$") -> Iterator[str]:
    """Where foxden's ``answer`` differs in shape from the cloud's ``sample``."""
    if kind(sample) != kind(answer):
        yield f"{path}: the cloud answers {kind(sample)}, foxden {kind(answer)}"
        return
    if isinstance(sample, dict):
        for key, value in sample.items():
            if key.startswith("_"):
                continue  # a note the sample's collector added
            if key not in answer:
                yield f"{path}.{key}: missing"
            else:
                yield from mismatches(value, answer[key], f"{path}.{key}")
        if "variable" in sample and "unit" in sample and sample.get("unit") != answer.get("unit"):
            yield f"{path}.unit: the cloud's {sample['unit']!r}, foxden's {answer.get('unit')!r}"
    elif isinstance(sample, list) and sample:
        if not answer:
            yield f"{path}: foxden's list is empty"
            return
        for i, element in enumerate(sample):
            partner = _partner(element, i, answer)
            if partner is not None:
                yield from mismatches(element, partner, f"{path}[{i}]")
    elif isinstance(sample, str) and TIME.match(sample) and not TIME.match(answer):
        yield f"{path}: the cloud's time {sample!r}, foxden's {answer!r}"


def test_the_comparison_finds_what_differs() -> None:
    cloud = {"a": 1, "t": "2024-05-13 17:23:13 BST+0100", "l": [{"variable": "SoC", "unit": "%"}]}
    assert list(mismatches(cloud, cloud)) == []
    assert list(mismatches(cloud, {**cloud, "extra": True})) == []
    assert list(mismatches(cloud, {**cloud, "a": "1"})) == [
        "$.a: the cloud answers number, foxden string"
    ]
    assert list(mismatches(cloud, {"t": cloud["t"], "l": cloud["l"]})) == ["$.a: missing"]
    assert list(mismatches(cloud, {**cloud, "t": "2024-05-13T16:23:13Z"})) == [
        "$.t: the cloud's time '2024-05-13 17:23:13 BST+0100', foxden's '2024-05-13T16:23:13Z'"
    ]
    assert list(mismatches(cloud, {**cloud, "l": [{"variable": "SoC", "unit": "0.1%"}]})) == [
        "$.l[0].unit: the cloud's '%', foxden's '0.1%'"
    ]
    assert list(mismatches(cloud, {**cloud, "l": []})) == ["$.l: foxden's list is empty"]
    assert list(mismatches(True, 1)) == ["$: the cloud answers boolean, foxden number"]


# ---------------------------------------------------------------- foxden's answers


def _sample_files() -> list[str]:
    root = shared_dir() / "samples"
    return sorted(
        str(p.relative_to(root)) for p in [*root.glob("*.json"), *root.glob("newer/*.json")]
    )


def test_every_sample_is_compared_or_excused() -> None:
    shared_file("samples/sources.md")
    files = set(_sample_files())
    assert files == set(CASES) | set(NOT_COMPARED)
    assert not set(CASES) & set(NOT_COMPARED)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    server = start_demo(tmp_path_factory.mktemp("samples"), backfill_days=1.0)
    account = server.store.accounts()[0].name
    accounts.add_device(server.store, account, EVO, "EVO 10-5-H", NOW_MS)
    # two periods on the H3, so its v3 get has groups to compare (as the v3 sample has)
    groups = [
        {"startHour": 0, "startMinute": 0, "endHour": 8, "endMinute": 29, "workMode": "SelfUse",
         "extraParam": {"minSocOnGrid": 10.0, "fdSoc": 10.0, "fdPwr": 1000.0, "maxSoc": 100.0}},
        {"startHour": 8, "startMinute": 30, "endHour": 9, "endMinute": 59,
         "workMode": "ForceCharge",
         "extraParam": {"minSocOnGrid": 10.0, "fdSoc": 90.0, "fdPwr": 5000.0, "maxSoc": 100.0}},
    ]  # fmt: skip
    enable = Case("POST", "/op/v3/device/scheduler/enable")
    assert _call(server, enable, {"deviceSN": H3, "groups": groups})["errno"] == 0
    yield server
    server.stop()


def _call(demo: DemoServer, case: Case, params: dict[str, Any]) -> dict[str, Any]:
    headers = signing.headers(case.path, demo.key, RealClock().now_ms())
    if case.method == "GET":
        response = httpx.get(demo.url + case.path, headers=headers, params=params)
    else:
        response = httpx.post(demo.url + case.path, headers=headers, json=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _plant_of(demo: DemoServer) -> str:
    return next(p.id for d, p in demo.store.all_devices() if d.sn == H1 and p is not None)


@pytest.mark.parametrize("name", sorted(CASES))
def test_foxden_answers_in_the_shape_of_the_sample(demo: DemoServer, name: str) -> None:
    raw = json.loads(Path(shared_file(f"samples/{name}")).read_text("utf-8"))
    envelope = raw.get("response") or raw.get("response_excerpt")
    sample = envelope["result"] if envelope is not None else raw["result"]
    case = CASES[name]
    params = case.body(sample if isinstance(sample, list) else [sample])
    if case.path == "/op/v0/plant/detail":
        params = {"id": _plant_of(demo)}
    answer = _call(demo, case, params)
    assert answer["errno"] == 0, answer
    if envelope is not None:
        assert {k for k in envelope if not k.startswith("_")} == set(answer)
        assert isinstance(answer["msg"], str)
    result = case.pick(answer["result"])
    if isinstance(sample, list) and sample and "datas" in sample[0]:
        # every variable the sample shows is one foxden knows, and answers when the model has it
        sn = params.get("sn") or params["sns"][0]
        device = demo.store.device(sn)
        assert device is not None
        has = set(telemetry.variables_for(device.model))
        shown = {v["variable"] for d in result for v in d["datas"]}
        asked = _variables(sample)
        assert [v for v in asked if v not in telemetry.variables()] == [], name
        assert [v for v in asked if v in has and v not in shown] == [], name
    found = list(mismatches(sample, result))
    assert [m for m in found if m.split(":")[0] not in case.differs] == [], name
    assert {m.split(":")[0] for m in found} == set(case.differs)  # each excuse still needed
