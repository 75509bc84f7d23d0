"""Upstream answers into store records (pure conversions)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from foxden.gateway import mirror
from foxden.protocol import structs as s


def test_text_variables_are_kept_as_their_codes() -> None:
    assert mirror.stored_value("batStatusV2", "Charge") == 1.0
    assert mirror.stored_value("batStatusV2", "Discharge") == 2.0
    assert mirror.stored_value("currentFault", "") == 0.0
    assert mirror.stored_value("runningState", "163") == 163.0
    assert mirror.stored_value("pvPower", 2.345) == 2.345
    assert math.isnan(mirror.stored_value("runningState", "on fire"))


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_are_kept_as_they_came(value: float) -> None:
    assert mirror.stored_value("pvPower", value) == value


def test_unknown_upstream_models_map_to_a_local_model_of_the_same_kind() -> None:
    assert mirror.local_model("KH8", "KH", True) == "KH8"
    assert mirror.local_model("KH10.5", "KH", True) == "KH8"
    assert mirror.local_model("Mystery-9", "ZZ", True) == "H1-5.0-E"
    assert mirror.local_model("Mystery-9", "ZZ", False) == "F3000"


def test_a_real_time_answer_becomes_one_sample_per_mirrored_inverter() -> None:
    answer = [
        s.RealDevice(
            deviceSN="SN1",
            time="2024-05-13 17:23:13 BST+0100",
            datas=[
                s.RealValue(variable="pvPower", name="PV", value=1.5, unit="kW"),
                s.RealValue(variable="batStatusV2", name="Status", value="Charge"),
                s.RealValue(variable="notAVariable", name="?", value=3),
            ],
        ),
        s.RealDevice(deviceSN="SN2", time="", datas=[]),
        s.RealDevice(deviceSN="OTHER", time="2024-05-13 17:23:13 BST+0100", datas=[]),
    ]
    (sample,) = mirror.realtime_samples(answer, {"SN1", "SN2"})
    assert sample.sn == "SN1"
    assert sample.variables == ("pvPower", "batStatusV2")
    assert sample.times_ms.tolist() == [1715617393000]
    assert sample.values.tolist() == [[1.5, 1.0]]


def test_history_points_of_several_variables_share_rows_by_time() -> None:
    answer = [
        s.HistoryDevice(
            deviceSN="SN1",
            datas=[
                s.HistoryVariable(
                    variable="pvPower",
                    name="PV",
                    unit="kW",
                    data=[
                        s.HistoryPoint(time="2024-05-13 17:00:00 BST+0100", value=1.0),
                        s.HistoryPoint(time="2024-05-13 17:05:00 BST+0100", value=2.0),
                    ],
                ),
                s.HistoryVariable(
                    variable="SoC",
                    name="SoC",
                    unit="%",
                    data=[s.HistoryPoint(time="2024-05-13 17:05:00 BST+0100", value=50)],
                ),
            ],
        )
    ]
    (sample,) = mirror.history_samples(answer)
    assert sample.variables == ("pvPower", "SoC")
    assert sample.times_ms.tolist() == [1715616000000, 1715616300000]
    assert np.isnan(sample.values[0, 1])
    assert sample.values[1].tolist() == [2.0, 50.0]
