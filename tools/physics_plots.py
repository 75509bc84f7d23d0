"""Draw the plots of docs/physics.md from the simulator itself.

    python tools/physics_plots.py [--out docs/physics] [--seed 0]

- ``yield.png``: a year of daily PV yield per kWp at each demo site, with its 30-day mean
  and the year's total against the typical figure for the place;
- ``days.png``: a summer and a winter day of the Cheshire demo plant, seen by its hybrid
  (which has the meter; the grid-tied inverter is AC-coupled): PV, house, grid, battery,
  the AC-coupled inverter's output (meterPower2) and SoC;
- ``episodes.png``: a ForceCharge group (to fdSoc, then holding) and a ForceDischarge group
  (at fdPwr down to fdSoc) on the same inverter.

Everything is computed with ``foxden.sim.engine`` as the server's fleet runs it.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes

from foxden import demo
from foxden.protocol import models
from foxden.sim import engine, inverter
from foxden.sim.control import Controls

F = npt.NDArray[np.float64]
DAY_MS = engine.DAY_MS
TYPICAL = {"GB": (850, 950), "DE": (950, 1050), "AU": (1400, 1500)}
YEAR = 2025


def demo_fleet(seed: int) -> engine.Fleet:
    specs = []
    for plant in demo.DEMO_PLANTS:
        for sn, name in plant.devices:
            model = models.model(name)
            assert model is not None
            zone = ZoneInfo(plant.timezone)
            specs.append(
                engine.DeviceSpec(
                    sn, model, zone, plant.latitude, plant.longitude, plant.name, plant.country
                )
            )
    return engine.Fleet(specs, seed)


def utc_day(year: int, month: int, day: int) -> int:
    return int(datetime(year, month, day, tzinfo=UTC).timestamp()) * 1000 // DAY_MS


def yield_plot(fleet: engine.Fleet, out: Path) -> None:
    first = utc_day(YEAR, 1, 1)
    daily = np.zeros((365, len(fleet)))
    for n in range(365):
        ex = engine.exogenous(fleet, first + n)
        ac = inverter.pv_to_ac(ex.pv_dc_strings.sum(axis=2), fleet.rating_kw[None, :])
        daily[n] = ac.sum(axis=0) * 5 / 60
    per_kwp = daily / fleet.kwp.sum(axis=1)[None, :]
    fig, axes = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    shown: dict[str, int] = {}
    for j, spec in enumerate(fleet.specs):
        shown.setdefault(spec.country, j)
    for ax, (country, j) in zip(axes, shown.items(), strict=True):
        spec = fleet.specs[j]
        low, high = TYPICAL[country]
        total = per_kwp[:, j].sum()
        ax.bar(np.arange(365), per_kwp[:, j], width=1.0, color="#f2b134", label="daily")
        mean = np.convolve(per_kwp[:, j], np.ones(30) / 30, mode="same")
        ax.plot(np.arange(365), mean, color="#7a4b00", label="30-day mean")
        ax.axhspan(low / 365, high / 365, color="#3a7", alpha=0.15, label="typical, year / 365")
        ax.set_ylabel("kWh per kWp")
        ax.set_title(
            f"{spec.plant} ({spec.model.name}): {total:.0f} kWh/kWp in {YEAR}; "
            f"typical {low:,}-{high:,}"
        )
        print(f"{spec.plant}: {total:.0f} kWh per kWp in {YEAR} (typical {low:,}-{high:,})")
        ax.legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel(f"day of {YEAR}")
    fig.tight_layout()
    fig.savefig(out / "yield.png", dpi=90)
    plt.close(fig)


def run_day(
    fleet: engine.Fleet, controls: Controls, day: int, hours: int = 24
) -> tuple[F, dict[str, F]]:
    state = engine.initial_state(fleet, day * DAY_MS)
    parts = []
    times = []
    for d in range(day, day + (hours + 23) // 24):
        end = day * DAY_MS + hours * 3_600_000
        t, v = engine.simulate(fleet, state, controls, d, day * DAY_MS, end)
        times.append(t)
        parts.append(v)
    values = {k: np.vstack([p[k] for p in parts]) for k in parts[0]}
    return np.vstack(times), values


def hybrid_only(fleet: engine.Fleet, sn: str) -> engine.Fleet:
    spec = next(s for s in fleet.specs if s.sn == sn)
    return engine.Fleet([spec], fleet.seed)


def power_panel(ax: Axes, hours: F, v: dict[str, F], title: str) -> None:
    ax.plot(hours, v["pvPower"][:, 0], color="#f2b134", label="PV (DC)")
    ax.plot(hours, v["loadsPower"][:, 0], color="#444", label="house")
    ax.plot(hours, v["gridConsumptionPower"][:, 0], color="#c33", label="grid import")
    ax.plot(hours, v["feedinPower"][:, 0], color="#36c", label="feed-in")
    if np.nanmax(np.abs(v["meterPower2"][:, 0])) > 0:
        ax.plot(hours, v["meterPower2"][:, 0], color="#b8860b", label="AC-coupled PV (CT2)")
    battery = v["batDischargePower"][:, 0] - v["batChargePower"][:, 0]
    ax.plot(hours, battery, color="#3a7", label="battery (+ discharge)")
    ax.set_ylabel("kW")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=7)
    soc = ax.twinx()
    soc.plot(hours, v["SoC"][:, 0], color="#888", linestyle="--", label="SoC")
    soc.set_ylim(0, 105)
    soc.set_ylabel("SoC %")


def local_hours(times: F, zone: ZoneInfo, day: int) -> F:
    offset = datetime.fromtimestamp(day * DAY_MS / 1000 + 43_200, UTC).astimezone(zone)
    shift = offset.utcoffset()
    seconds = shift.total_seconds() if shift is not None else 0.0
    return np.asarray((times[:, 0] - day * DAY_MS) / 3_600_000 + seconds / 3600)


def days_plot(fleet: engine.Fleet, out: Path) -> None:
    # the Cheshire plant: its hybrid carries the meter, the grid-tied inverter is AC-coupled
    first = demo.DEMO_PLANTS[0]
    one = engine.Fleet([s for s in fleet.specs if s.plant == first.name], fleet.seed)
    zone = one.specs[0].zone
    fig, axes = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for ax, (month, label) in zip(axes, ((6, "summer"), (12, "winter")), strict=True):
        day = utc_day(YEAR, month, 21)
        times, v = run_day(one, Controls.defaults(one.rating_kw), day)
        title = f"{label}: {YEAR}-{month:02d}-21, SelfUse"
        power_panel(ax, local_hours(times, zone, day), v, title)
    axes[-1].set_xlabel("hour (local)")
    fig.tight_layout()
    fig.savefig(out / "days.png", dpi=90)
    plt.close(fig)


def group(start: int, end: int, mode: str, fd_pwr: int, fd_soc: int) -> dict[str, int | str]:
    return {
        "enable": 1,
        "startHour": start,
        "startMinute": 0,
        "endHour": end - 1,
        "endMinute": 59,
        "workMode": mode,
        "minSocOnGrid": 10,
        "fdSoc": fd_soc,
        "fdPwr": fd_pwr,
        "maxSoc": 100,
    }


def episodes_plot(fleet: engine.Fleet, out: Path) -> None:
    one = hybrid_only(fleet, demo.DEMO_PLANTS[0].devices[0][0])
    zone = one.specs[0].zone
    controls = Controls.defaults(one.rating_kw)
    controls.groups[0] = [
        group(1, 5, "ForceCharge", 2500, 80),
        group(17, 20, "ForceDischarge", 3000, 30),
    ]
    day = utc_day(YEAR, 11, 5)
    times, v = run_day(one, controls, day)
    fig, ax = plt.subplots(1, 1, figsize=(10, 4.5))
    power_panel(
        ax,
        local_hours(times, zone, day),
        v,
        "ForceCharge 01:00-05:00 at 2.5 kW to fdSoc 80 %, then holds; "
        "ForceDischarge 17:00-20:00 at 3 kW to fdSoc 30 %",
    )
    ax.set_xlabel("hour (local)")
    fig.tight_layout()
    fig.savefig(out / "episodes.png", dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/physics"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    fleet = demo_fleet(args.seed)
    yield_plot(fleet, args.out)
    days_plot(fleet, args.out)
    episodes_plot(fleet, args.out)
    print(f"wrote {', '.join(p.name for p in sorted(args.out.glob('*.png')))} to {args.out}")


if __name__ == "__main__":
    main()
