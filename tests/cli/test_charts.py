"""What the charts show: PV in the report chart, a full battery's line inside the frame."""

from __future__ import annotations

from typing import Any

from foxden.cli.plot import CHART_VARIABLES, history_figure, report_figure
from foxden.protocol import structs as s


def _legend(fig: Any) -> list[str]:
    return [text.get_text() for legend in fig.legends for text in legend.get_texts()]


def test_report_chart_draws_pv_as_a_line_over_the_bars() -> None:
    assert "PVEnergyTotal" in CHART_VARIABLES
    values = {"generation": 3.0, "feedin": 1.0, "gridConsumption": 0.5, "PVEnergyTotal": 4.2}
    answer = [
        s.ReportVariable(variable=name, unit="kWh", values=[value] * 24)
        for name, value in values.items()
    ]
    fig = report_figure(answer, "SN1", "Europe/London", "day", 2024, 5, 1)
    assert "PV production" in _legend(fig)
    (ax,) = fig.axes
    (line,) = [line for line in ax.get_lines() if line.get_label() == "PV production"]
    assert list(line.get_ydata()) == [4.2] * 24
    assert ax.get_ylim()[1] > 4.2  # the line is inside the frame


def test_a_full_battery_stays_inside_the_frame() -> None:
    times = [f"2024-05-01 {h:02d}:00:00 BST+0100" for h in range(6)]
    device = s.HistoryDevice(
        deviceSN="SN1",
        datas=[
            s.HistoryVariable(
                variable="SoC",
                unit="%",
                name="SoC",
                data=[s.HistoryPoint(time=t, value=100.0) for t in times],
            ),
            s.HistoryVariable(
                variable="pvPower",
                unit="kW",
                name="PVPower",
                data=[s.HistoryPoint(time=t, value=1.0) for t in times],
            ),
        ],
    )
    fig = history_figure(device, "Europe/London")
    soc_axis = next(ax for ax in fig.axes if ax.get_ylabel() == "State of charge (%)")
    bottom, top = soc_axis.get_ylim()
    assert bottom == 0 and top > 100
