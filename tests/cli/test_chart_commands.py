"""What ``foxden plot`` draws, read from the matplotlib figure the command saved (not from the
size of the file): every series asked for, with the values the server answered, the axes'
labels and units, the plant's zone and the buckets."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from foxden.cli import plot
from foxden.cli.telemetry import POWER_VARIABLES
from foxden.protocol import timefmt
from tests.cli.test_api_cli import H1, Fox, ok, server  # noqa: F401  (the module's fixture)

mdates: Any = importlib.import_module("matplotlib.dates")  # its stubs leave num2date untyped
START_MS = int(timefmt.parse_local("2024-03-30 00:00:00 GMT+0000").timestamp() * 1000)


@pytest.fixture
def saved(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The figures the command hands to its save step (which still writes the file)."""
    figures: list[Any] = []
    real_save = plot._save

    def keep(fig: Any, out: Path) -> None:
        figures.append(fig)
        real_save(fig, out)

    monkeypatch.setattr(plot, "_save", keep)
    return figures


def test_history_chart_draws_every_power_flow_and_the_soc(
    server: tuple[Any, Fox],  # noqa: F811
    saved: list[Any],
    tmp_path: Path,
) -> None:
    live, fox = server
    out = tmp_path / "day.png"
    ok(fox("plot", "history", H1, "--from", "2024-03-30T00:00", "--to", "2024-03-30T06:00",
           "--out", str(out)))  # fmt: skip
    assert out.stat().st_size > 0
    (fig,) = saved
    end_ms = START_MS + 6 * 3_600_000 - 1  # --to is excluded
    answer = live.client(fox.key).history(H1, START_MS, end_ms, POWER_VARIABLES)
    wanted = {v.variable: v for v in answer[0].datas}
    assert set(wanted) == set(POWER_VARIABLES)
    power_axis, soc_axis = fig.axes
    assert power_axis.get_xlabel() == "Time (Europe/London)"
    assert power_axis.get_ylabel() == "Power (kW)"
    assert soc_axis.get_ylabel() == "State of charge (%)"
    assert power_axis.get_title().startswith(f"{H1}: power flows, 2024-03-30 00:0")
    assert power_axis.get_title().endswith("(Europe/London)")
    lines = {line.get_label(): line for ax in fig.axes for line in ax.get_lines()}
    legend = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    for name, var in wanted.items():
        label = f"{var.name} ({var.unit})"
        assert label in lines and label in legend, label
        line = lines[label]
        assert (line.axes is soc_axis) == (name == "SoC")
        assert list(line.get_ydata()) == [p.value for p in var.data]
        times = mdates.num2date(line.get_xdata())
        assert [int(t.timestamp()) for t in times] == [
            int(timefmt.parse_local(p.time).timestamp()) for p in var.data
        ]
    assert {v.unit for n, v in wanted.items() if n != "SoC"} == {"kW"}


def test_report_chart_draws_every_energy_flow_as_bars_and_pv_as_a_line(
    server: tuple[Any, Fox],  # noqa: F811
    saved: list[Any],
    tmp_path: Path,
) -> None:
    live, fox = server
    out = tmp_path / "day.svg"
    ok(fox("plot", "report", H1, "--year", "2024", "--month", "3", "--day", "30",
           "--out", str(out)))  # fmt: skip
    (fig,) = saved
    (ax,) = fig.axes
    answer = live.client(fox.key).report(H1, "day", 2024, 3, 30, plot.CHART_VARIABLES)
    values = {v.variable: [float(x) for x in v.values] for v in answer}
    assert ax.get_xlabel() == "Hour starting (Europe/London)"
    assert ax.get_ylabel() == "Energy (kWh): in above 0, out below 0"
    assert ax.get_title() == f"{H1}: energy by hour, 2024-03-30 (Europe/London)"
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"{h:02d}" for h in range(24)]
    bars = {c.get_label(): [r.get_height() for r in c.patches] for c in ax.containers}
    bottoms = {c.get_label(): [r.get_y() for r in c.patches] for c in ax.containers}
    for name, (label, _, sign) in plot.REPORT_STYLE.items():
        if name not in values:
            continue
        assert np.allclose(bars[label], [sign * v for v in values[name]]), name
    up = np.array(values["generation"])
    assert np.allclose(bottoms["Grid import"], up)  # stacked on the inverter's output
    assert np.allclose(bottoms["Feed-in (export)"], 0)  # the first stack below zero
    assert np.allclose(bottoms["Battery charge"], 0) and np.allclose(
        bottoms["Battery discharge"], 0
    )
    (pv,) = [line for line in ax.get_lines() if line.get_label() == "PV production"]
    assert list(pv.get_ydata()) == values["PVEnergyTotal"]
    assert sum(values["PVEnergyTotal"]) > 0 and sum(values["generation"]) > 0
    legend = {t.get_text() for lg in fig.legends for t in lg.get_texts()}
    assert legend == {*bars, "PV production"}
