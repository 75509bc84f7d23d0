"""The demo account a fresh data dir gets, so the first ``foxden serve`` has something to
show: the scenario ``foxden/scenarios/demo.toml`` shipped in the package, plus generated
inverters when more are asked for."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from foxden import scenario
from foxden.store import Store

DEMO_ACCOUNT = "demo"
KEY_FILE = "demo-api-key"
MORE_MODELS = ("H1-5.0-E", "H3-10.0-E", "KH8", "F3000", "AIO-H3-10.0", "H1-3.7-E", "T10-G3")


@dataclass(frozen=True, slots=True)
class DemoPlant:
    """A demo plant as the simulator sees it (read from the demo scenario)."""

    name: str
    country: str
    city: str
    timezone: str
    latitude: float
    longitude: float
    devices: tuple[tuple[str, str], ...]
    """(serial, model) of its inverters."""


def _demo_plants() -> tuple[DemoPlant, ...]:
    demo = scenario.load(scenario.demo_path())
    return tuple(
        DemoPlant(
            p.name,
            p.country,
            p.city,
            p.timezone,
            p.latitude,
            p.longitude,
            tuple((inv.sn, inv.model) for inv in p.inverter),
        )
        for p in demo.file.account[0].plant
    )


DEMO_PLANTS = _demo_plants()


def demo_scenario(devices: int = 6) -> scenario.Scenario:
    """The demo scenario with its first ``devices`` inverters, or generated ones added to
    make ``devices`` (spread over its plants in turn)."""
    demo = scenario.load(scenario.demo_path())
    plants = demo.file.account[0].plant
    named = sum(len(p.inverter) for p in plants)
    left = devices
    for plant in plants:
        plant.inverter = plant.inverter[: max(0, left)]
        left -= len(plant.inverter)
    for n in range(max(0, devices - named)):
        model = MORE_MODELS[n % len(MORE_MODELS)]
        plants[n % len(plants)].inverter.append(
            scenario.Inverter(sn=f"60DEMOX{n:07d}", model=model)
        )
    return demo


def seed_demo(store: Store, data_dir: Path, now_ms: int, devices: int = 6) -> str | None:
    """Create the demo account, plants and inverters if the store has no accounts yet:
    ``devices`` inverters (the six named ones first) spread over the three plants.

    Returns the new API key (also written alone to ``data_dir/demo-api-key``, mode 0600),
    or None when the store was not empty.
    """
    if store.accounts():
        return None
    key = scenario.apply(demo_scenario(devices), store, now_ms).keys[DEMO_ACCOUNT]
    write_key(data_dir / KEY_FILE, key)
    return key


def write_key(path: Path, key: str) -> None:
    """``key`` alone in a file only its owner can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    os.chmod(path, 0o600)
