"""History and reports agree with the simulator's own output, read over the API: each
counter's rise over a day is the integral of its power as the simulated inverter produced
both (no fixture builds either from the other), and a day report adds up to the counter's
rise between the plant's local midnights."""

from __future__ import annotations

import numpy as np
import pytest

from tests.sim.conftest import BERLIN, HOUR_MS, StartSim, history, local_ms

SN = "CNTH3000001"
POWER_OF_COUNTER = {
    "feedin": ("feedinPower",),
    "gridConsumption": ("gridConsumptionPower",),
    "loads": ("loadsPower",),
    "chargeEnergyToTal": ("batChargePower",),
    "dischargeEnergyToTal": ("batDischargePower",),
    "PVEnergyTotal": ("pvPower",),
}


@pytest.fixture(scope="module")
def day() -> tuple[int, int]:
    begin = local_ms(BERLIN.zone, 2026, 6, 12)
    return begin, local_ms(BERLIN.zone, 2026, 6, 13)


def test_counters_rise_by_their_power_over_a_simulated_day(
    sim: StartSim, day: tuple[int, int]
) -> None:
    begin, end = day
    server = sim(begin - 2 * HOUR_MS, [(SN, "H3-10.0-E", BERLIN)])
    server.advance(end - begin + 3 * HOUR_MS)
    client = server.client()
    powers = sorted({p for ps in POWER_OF_COUNTER.values() for p in ps})
    h = history(client, SN, begin, end, [*powers, *POWER_OF_COUNTER])
    checked = 0
    for counter, names in POWER_OF_COUNTER.items():
        t = h.times[counter]
        assert len(t) >= 280 and (np.diff(t) > 0).all()
        series = h[counter]
        power = sum((h[n] for n in names), np.zeros_like(series))
        assert all((h.times[n] == t).all() for n in names)
        # each sample's power held over the step that ends at it (the simulator's rule)
        integrated = float((power[1:] * np.diff(t) / HOUR_MS).sum())
        risen = float(series[-1] - series[0])
        assert (np.diff(series) >= 0).all(), counter
        assert integrated == pytest.approx(risen, abs=0.15), counter
        checked += risen > 1
    assert checked >= 3  # a June day moves most flows by more than 1 kWh
    # the day report's buckets add up to the rise over the local day
    report = client.report(SN, "day", 2026, 6, 12, list(POWER_OF_COUNTER))
    margin = 10 * 60_000
    before = history(client, SN, begin - margin, begin + margin, list(POWER_OF_COUNTER))
    after = history(client, SN, end - margin, end + margin, list(POWER_OF_COUNTER))
    assert {v.variable for v in report} == set(POWER_OF_COUNTER)
    for var in report:
        assert len(var.values) == 24
        name = var.variable
        at_start = before[name][before.times[name] < begin][-1]
        at_end = after[name][after.times[name] < end][-1]
        assert sum(var.values) == pytest.approx(at_end - at_start, abs=0.05), name
