"""The demo account a fresh data dir gets, so the first ``foxden serve`` has something to
show: the scenario ``foxden/scenarios/demo.toml`` shipped in the package, plus generated
inverters when more are asked for."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foxden.protocol import identities

if TYPE_CHECKING:  # the store is the server's: the command line reads the serials without it
    from foxden import scenario
    from foxden.store import Store

DEMO_ACCOUNT = "demo"
KEY_FILE = "demo-api-key"
SCENARIO = "demo.toml"


@dataclass(frozen=True, slots=True)
class DemoPlant:
    name: str
    country: str
    city: str
    timezone: str
    latitude: float
    longitude: float
    devices: tuple[tuple[str, str], ...]
    """(serial, model) of each inverter; serials in the model's real form
    (``identities.inverter_serial(model, 1)``)."""


def scenario_path() -> Path:
    """The demo fleet's scenario file, shipped in the package."""
    return Path(str(resources.files("foxden") / "scenarios" / SCENARIO))


def _demo_plants() -> tuple[DemoPlant, ...]:
    """The plants of the demo scenario, read with the TOML parser alone (the command line
    needs the serials for its help examples and has no server installed)."""
    raw: dict[str, Any] = tomllib.loads(scenario_path().read_text("utf-8"))
    account = next(a for a in raw["account"] if a["name"] == DEMO_ACCOUNT)
    return tuple(
        DemoPlant(
            p["name"],
            p.get("country", ""),
            p.get("city", ""),
            p["timezone"],
            float(p["latitude"]),
            float(p["longitude"]),
            tuple((inv["sn"], inv["model"]) for inv in p.get("inverter", [])),
        )
        for p in account["plant"]
    )


DEMO_PLANTS = _demo_plants()

MORE_MODELS = ("H1-5.0-E", "H3-10.0-E", "KH8", "F3000", "AIO-H3-10.0", "H1-3.7-E", "T10-G3")


def demo_scenario(devices: int = 6) -> scenario.Scenario:
    """The demo scenario with its first ``devices`` inverters, or generated ones (in their
    model's real serial form) added to make ``devices``, spread over its plants in turn."""
    from foxden import scenario

    demo = scenario.load(scenario_path())
    plants = demo.file.account[0].plant
    named = sum(len(p.inverter) for p in plants)
    left = devices
    for plant in plants:
        plant.inverter = plant.inverter[: max(0, left)]
        left -= len(plant.inverter)
    for n in range(max(0, devices - named)):
        model = MORE_MODELS[n % len(MORE_MODELS)]
        plants[n % len(plants)].inverter.append(
            scenario.Inverter(sn=identities.inverter_serial(model, 2 + n), model=model)
        )
    return demo


def seed_demo(store: Store, data_dir: Path, now_ms: int, devices: int = 6) -> str | None:
    """Create the demo account, plants and inverters (the demo scenario) unless the store
    belongs to other accounts: ``devices`` inverters (the six named ones first) spread over
    the three plants.

    Everything is written in one transaction, so a crash leaves no demo or the whole demo;
    on a store whose demo is incomplete (an older version crashed while seeding) the missing
    plants and inverters are added, and what exists is left as it is. The key is written
    alone to ``data_dir/demo-api-key`` (mode 0600); when that file is missing for an
    existing demo, the demo gets a new key.

    Returns the new API key, or None when no key was made (the demo was complete with its
    key file, or the store belongs to other accounts only).
    """
    from foxden import accounts, scenario

    if store.account_by_name(DEMO_ACCOUNT) is None and store.accounts():
        return None
    with store.transaction():
        applied = scenario.apply(demo_scenario(devices), store, now_ms, missing_only=True)
    key = applied.keys.get(DEMO_ACCOUNT)
    path = data_dir / KEY_FILE
    if key is None and not path.exists():
        key = accounts.rotate_key(store, DEMO_ACCOUNT)
    if key is not None:
        write_private(path, key + "\n")
    return key


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (0600, in a 0700 directory if new), replacing
    it whole: a crash leaves the old file or the new one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
