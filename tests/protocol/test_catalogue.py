"""The variable and fault catalogues against the vendor's API document they come from."""

from __future__ import annotations

import importlib.util
import json
import re
from importlib import resources
from pathlib import Path
from types import ModuleType

import msgspec
import pytest

from foxden.protocol import catalogue
from tests.vendor import SPEC, shared_file

REPO = Path(__file__).resolve().parents[2]
SAMPLE = "samples/v0_device_variable_get__energystats_ios.json"
TOOL = REPO / "tools" / "extract_catalogue.py"

LANGUAGES = {"zh_CN", "en", "pl", "fr", "pt", "de"}


@pytest.fixture(scope="module")
def spec_text() -> str:
    return shared_file(SPEC).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("extract_catalogue", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _between(text: str, start: str, end: str) -> str:
    """The text between the line ``start`` and the next line ``end`` (no parser involved)."""
    lines = text.splitlines()
    i = lines.index(start)
    j = lines.index(end, i + 1)
    return "\n".join(lines[i + 1 : j])


def _shipped(filename: str) -> str:
    return (resources.files("foxden.protocol") / "data" / filename).read_text(encoding="utf-8")


# --- counts and order, counted independently of the parser -------------------------------


def test_variable_names_match_document_headings(spec_text: str) -> None:
    section = _between(spec_text, "data:", "faults:")
    headings = re.findall(r"^- (\w+):$", section, flags=re.M)
    assert len(headings) == 113
    assert list(catalogue.variables()) == headings


def test_fault_codes_match_document(spec_text: str) -> None:
    section = _between(spec_text, "faults:", "Path: /op/v0/plant/create")
    codes = [int(c) for c in re.findall(r"^(\d+):", section, flags=re.M)]
    assert len(codes) == 771
    assert list(catalogue.faults()) == codes


# --- the shipped data is exactly what the tool makes of the document ----------------------


def test_shipped_variables_json_is_current(spec_text: str, tool: ModuleType) -> None:
    assert _shipped("variables.json") == tool.render(tool.parse_variables(spec_text))


def test_shipped_faults_json_is_current(spec_text: str, tool: ModuleType) -> None:
    assert _shipped("faults.json") == tool.render(tool.parse_faults(spec_text))


def test_loader_round_trips_shipped_data() -> None:
    variables = [msgspec.to_builtins(v) for v in catalogue.variables().values()]
    assert variables == json.loads(_shipped("variables.json"))
    faults = [msgspec.to_builtins(f) for f in catalogue.faults().values()]
    assert faults == json.loads(_shipped("faults.json"))


def test_parser_rejects_unknown_lines(tool: ModuleType) -> None:
    doc = "data:\n- pvPower:\nname:\nen: PVPower\nunit: kW\ncolour: red\nfaults:\n"
    with pytest.raises(ValueError, match="line 6"):
        tool.parse_variables(doc)
    doc = "faults:\n1:\nen: No Utility\nwhat is this\nPath: /op/v0/plant/create\n"
    with pytest.raises(ValueError, match="line 4"):
        tool.parse_faults(doc)


# --- contents ---------------------------------------------------------------------------


def test_every_variable_has_six_languages() -> None:
    for v in catalogue.variables().values():
        assert set(v.name) == LANGUAGES, v.variable
        assert all(v.name.values()), v.variable


def test_every_fault_has_english_and_chinese() -> None:
    for f in catalogue.faults().values():
        assert {"en", "zh_CN"} <= set(f.name) <= {"en", "zh_CN", "pl"}, f.code


def test_units() -> None:
    v = catalogue.variables()
    assert v["pvPower"].unit == "kW"
    assert v["SoC"].unit == "%"
    assert v["PowerFactor"].unit is None
    assert v["batTemperature"].unit == "℃"
    assert v["runningState"].unit is None


def test_running_state_enum() -> None:
    enum = catalogue.variables()["runningState"].enum
    assert enum is not None
    assert list(enum) == [str(n) for n in range(160, 171)]
    assert enum["160"] == "self-test"
    assert enum["170"] == "illegal"
    others = [v for v in catalogue.variables().values() if v.variable != "runningState"]
    assert all(v.enum is None for v in others)


def test_inverter_kind_flags() -> None:
    v = catalogue.variables()
    assert v["batTemperature"].grid_tied is False
    assert v["batTemperature"].energy_storage is True
    assert v["pvPower"].grid_tied is True
    assert v["pvPower"].energy_storage is True
    # The document gives no flags for pv2Power, and the real cloud omits them too.
    assert v["pv2Power"].grid_tied is None
    assert v["pv2Power"].energy_storage is None


def test_fault_note() -> None:
    f = catalogue.faults()
    assert f[256].note == "天合使用功能,不算故障"
    assert f[256].name["en"] == "Remote Control Status"
    assert [code for code, fault in f.items() if fault.note is not None] == [256]


def test_structs_are_frozen() -> None:
    v = catalogue.variables()["pvPower"]
    with pytest.raises(AttributeError):
        v.unit = "W"  # type: ignore[misc]


# --- API result shapes ------------------------------------------------------------------


def test_variable_get_result_shape() -> None:
    result = catalogue.variable_get_result()
    assert len(result) == 113
    assert all(len(entry) == 1 for entry in result)
    by_name = {k: body for entry in result for k, body in entry.items()}
    assert list(by_name) == list(catalogue.variables())
    assert by_name["pvPower"] == {
        "unit": "kW",
        "Grid-tied inverter": True,
        "name": {
            "de": "PV Leistung",
            "pt": "Potência PV",
            "en": "PVPower",
            "zh_CN": "PV功率",
            "pl": "Moc PV",
            "fr": "PV Puissance",
        },
        "Energy-storage inverter": True,
    }
    power_factor = by_name["PowerFactor"]
    assert isinstance(power_factor, dict)
    assert "unit" not in power_factor
    running_state = by_name["runningState"]
    assert isinstance(running_state, dict)
    assert len(running_state["enum"]) == 11
    assert "enum" not in by_name["pvPower"]
    pv2 = by_name["pv2Power"]
    assert isinstance(pv2, dict)
    assert set(pv2) == {"unit", "name"}


def test_variable_get_result_matches_real_capture() -> None:
    captured = json.loads(shared_file(SAMPLE).read_text(encoding="utf-8"))["response"]["result"]
    ours = {k: body for entry in catalogue.variable_get_result() for k, body in entry.items()}
    for entry in captured:
        ((name, body),) = entry.items()
        assert ours[name] == body, name
        # Same key order as the real cloud, too.
        assert json.dumps(ours[name], ensure_ascii=False) == json.dumps(body, ensure_ascii=False)


def test_variable_get_result_is_fresh() -> None:
    first = catalogue.variable_get_result()
    first.clear()
    assert len(catalogue.variable_get_result()) == 113


def test_fault_get_result_shape() -> None:
    result = catalogue.fault_get_result()
    assert len(result) == 771
    assert all(len(entry) == 1 for entry in result)
    assert result[0] == {
        "1": {
            "en": "No Utility",
            "zh_CN": "电网无电压",
            "pl": "Brak napięcia w sieci energetycznej",
        }
    }
    by_code = {k: body for entry in result for k, body in entry.items()}
    assert list(by_code) == [str(code) for code in catalogue.faults()]
    assert by_code["4160"] == {"en": "AC Over Current", "zh_CN": "AC过流保护"}


def test_fault_text() -> None:
    assert catalogue.fault_text(1) == "No Utility"
    assert catalogue.fault_text(1, "zh_CN") == "电网无电压"
    assert catalogue.fault_text(1, "pl") == "Brak napięcia w sieci energetycznej"
    # 4160 has no Polish text, and nothing has French: both fall back to English.
    assert catalogue.fault_text(4160, "pl") == "AC Over Current"
    assert catalogue.fault_text(1, "fr") == "No Utility"
    with pytest.raises(KeyError):
        catalogue.fault_text(999999)


def test_names_come_in_the_clouds_order_then_any_other_language() -> None:
    texts = {"xx": "x", "pl": "p", "en": "e", "yy": "y"}
    ordered = catalogue._ordered(texts, ("en", "zh_CN", "pl"))
    assert list(ordered.items()) == [("en", "e"), ("pl", "p"), ("xx", "x"), ("yy", "y")]


def test_the_tables_read_afresh_equal_the_ones_in_use() -> None:
    variables, faults = catalogue._variables(), catalogue._faults()
    catalogue._variables.cache_clear()
    catalogue._faults.cache_clear()
    assert catalogue._variables() == variables
    assert catalogue._faults() == faults
    raw = (resources.files("foxden.protocol") / "data" / "variables.json").read_bytes()
    assert catalogue._read("variables.json") == raw
