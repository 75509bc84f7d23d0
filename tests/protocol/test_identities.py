"""Identity formats of real hardware, as snapshots: serials, loggers, battery lists, the
demo fleet. A change of format shows here first (docs/fidelity.md cites each source)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foxden import demo
from foxden.clock import RealClock
from foxden.protocol import identities, models
from foxden.store import open_store, url_for

SNAPSHOT = {
    "H1-3.7-E": ("66BH37240403232", "609W6EUD4A797C9"),
    "H1-5.0-E": ("66BH502404ED555", "609W6EUD46595C9"),
    "H3-10.0-E": ("60BT102404D8141", "609W6EU909A6690"),
    "KH8": ("60KE82404644051", "609W6EU1A00D53A"),
    "AIO-H3-10.0": ("60AT10240468035", "609W6EUE7AC8118"),
    "F3000": ("60F302404336825", "609W6EU2243F65B"),
    "T10-G3": ("60T102404026963", "609W6EU2D1A2A4D"),
}


def test_serial_and_logger_snapshots() -> None:
    """Source: the captures' 15-character serials ``60KE8020479C034`` (KH8, batpred),
    ``66BH3720228D004`` (H1-3.7-E, EnergyStats) and logger ``609W6EUF46MB519`` (batpred):
    a two-digit prefix, the model's code, four batch digits, a tail."""
    got = {
        m: (
            identities.inverter_serial(m, 1),
            identities.logger_serial(identities.inverter_serial(m, 1)),
        )
        for m in SNAPSHOT
    }
    assert got == SNAPSHOT
    for sn, logger in got.values():
        assert len(sn) == len(logger) == identities.SERIAL_LENGTH == 15
        assert identities.SERIAL_PATTERN.match(sn) and identities.SERIAL_PATTERN.match(logger)
    # recognisable per family, as the real ones are
    assert got["KH8"][0].startswith("60KE8") and got["H1-3.7-E"][0].startswith("66BH37")


@given(st.sampled_from(sorted(models.MODELS)), st.integers(1, 16**5 - 1), st.integers(1, 16**5 - 1))
def test_serials_are_distinct_per_number(model: str, a: int, b: int) -> None:
    assert (identities.inverter_serial(model, a) == identities.inverter_serial(model, b)) == (
        a == b
    )


def test_battery_list_snapshots() -> None:
    """Source: samples/v0_device_detail__batpred_kh8.json: per stack a bcu (version
    1.005), bmu modules with ``capacity`` in Wh (1.05) and an ivu (0.00); the KH8's EP11 is
    one 10360 Wh module. Module counts fill the model's battery; grid-tied models have
    none."""

    def shape(model: str) -> list[tuple[str, str, object]]:
        sn = identities.inverter_serial(model, 1)
        return [
            (str(b["type"]), str(b["model"]), b.get("capacity"))
            for b in identities.battery_list(sn, model)
        ]

    assert shape("KH8") == [("bcu", "EP11", None), ("bmu", "EP11", 10360), ("ivu", "EP11", None)]
    four = [("bcu", "HV2600", None), *[("bmu", "HV2600", 2600)] * 4, ("ivu", "HV2600", None)]
    assert shape("H1-5.0-E") == four and shape("H3-10.0-E") == four
    two = [("bcu", "HV2600", None), *[("bmu", "HV2600", 2600)] * 2, ("ivu", "HV2600", None)]
    assert shape("H1-3.7-E") == two
    stack = [("bcu", "HV2600", None), *[("bmu", "HV2600", 2600)] * 3, ("ivu", "HV2600", None)]
    assert shape("AIO-H3-10.0") == stack * 2  # two stacks
    assert shape("F3000") == shape("T10-G3") == []
    kh8 = identities.battery_list(identities.inverter_serial("KH8", 1), "KH8")
    assert [b["version"] for b in kh8] == ["1.005", "1.05", "0.00"]
    assert all(len(str(b["batterySN"])) == 15 for b in kh8)
    for model in models.MODELS:
        batteries = identities.battery_list(identities.inverter_serial(model, 1), model)
        rated = identities.rated_capacity_wh(batteries)
        kwh = models.MODELS[model].battery_kwh
        assert abs(rated - kwh * 1000) <= 0.05 * kwh * 1000 + 1, model


def test_capacity_is_whole_kw() -> None:
    """Source: batpred PR #4527 (a 10.5 kW inverter's v0 capacity reads 10) and the KH8
    capture (8)."""
    assert identities.capacity_kw(8000) == 8
    assert identities.capacity_kw(10500) == 10
    assert identities.capacity_kw(3700) == 3


def test_demo_fleet_identities(tmp_path: Path) -> None:
    """The demo fleet carries the real forms: 15-character serials and loggers per family,
    each hybrid its family's battery list."""
    store = open_store(url_for(tmp_path))
    demo.seed_demo(store, tmp_path, RealClock().now_ms(), devices=8)
    account = store.account_by_name(demo.DEMO_ACCOUNT)
    assert account is not None
    devices, total = store.devices(account.id)
    assert total == 8
    by_sn = {d.sn: d for d in devices}
    for model, (sn, logger) in SNAPSHOT.items():
        if model != "T10-G3":
            assert by_sn[sn].model == model and by_sn[sn].logger_sn == logger
    for device in devices:
        assert re.fullmatch(r"6[06][A-Z0-9]{13}", device.sn)
        has_battery = models.MODELS[device.model].has_battery
        assert bool(device.batteries) == has_battery


def test_battery_serials_snapshot() -> None:
    """Battery serials: the line's four-character code, the inverter serial's CRC in eight
    hexadecimal digits and the entry's number from 1, 15 characters in all."""

    def serials(model: str) -> list[object]:
        sn = identities.inverter_serial(model, 1)
        return [b["batterySN"] for b in identities.battery_list(sn, model)]

    assert serials("KH8") == ["EP111A00D53A001", "EP111A00D53A002", "EP111A00D53A003"]
    assert serials("H1-3.7-E") == [f"HV26D4A797C900{n}" for n in (1, 2, 3, 4)]


def test_a_model_without_an_entry_gets_its_identity_from_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A model the catalogue knows but the identity table does not: prefix 60, the first
    four letters and digits of its name, the battery line by product type (KH and EVO:
    EP11; other hybrids: HV2600; grid-tied: none); an unknown name gets no battery."""
    assert "H1-6.0-E" not in identities._IDENTITIES
    assert identities.identity("H1-6.0-E") == identities.ModelIdentity(
        "60", "H160", identities.HV2600
    )
    assert identities.identity("new model-7") == identities.ModelIdentity("60", "NEWM", None)
    assert identities.identity("-.-") == identities.ModelIdentity("60", "XX", None)
    monkeypatch.setitem(models.MODELS, "KH10", replace(models.MODELS["KH8"], name="KH10"))
    monkeypatch.setitem(models.MODELS, "F5000", replace(models.MODELS["F3000"], name="F5000"))
    assert identities.identity("KH10") == identities.ModelIdentity("60", "KH10", identities.EP11)
    assert identities.identity("F5000") == identities.ModelIdentity("60", "F500", None)
    evo = replace(models.MODELS["EVO 10-5-H"], name="EVO 12-6-H")
    monkeypatch.setitem(models.MODELS, "EVO 12-6-H", evo)
    assert identities.identity("EVO 12-6-H").battery == identities.EP11
    assert identities.inverter_serial("KH10", 1).startswith("60KH102404")
