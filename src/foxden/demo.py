"""The demo account a fresh data dir gets, so the first ``foxden serve`` has something to show."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from foxden.protocol import identities

if TYPE_CHECKING:  # the store is the server's: the command line reads the serials without it
    from foxden.store import Store

DEMO_ACCOUNT = "demo"
KEY_FILE = "demo-api-key"


@dataclass(frozen=True, slots=True)
class DemoPlant:
    name: str
    country: str
    city: str
    timezone: str
    latitude: float
    longitude: float
    devices: tuple[tuple[str, str], ...]
    """(serial, model) of each inverter; serials in the model's real form (``_first``)."""


def _first(model: str) -> tuple[str, str]:
    """The demo inverter of a model: the first serial of its real form."""
    return identities.inverter_serial(model, 1), model


DEMO_PLANTS = (
    DemoPlant(
        "Cheshire Home",
        "GB",
        "Lymm",
        "Europe/London",
        53.38,
        -2.47,
        (_first("H1-5.0-E"), _first("F3000")),
    ),
    DemoPlant(
        "Berlin Workshop",
        "DE",
        "Berlin",
        "Europe/Berlin",
        52.52,
        13.40,
        (_first("H3-10.0-E"), _first("AIO-H3-10.0")),
    ),
    DemoPlant(
        "Sydney House",
        "AU",
        "Sydney",
        "Australia/Sydney",
        -33.87,
        151.21,
        (_first("KH8"), _first("H1-3.7-E")),
    ),
)


MORE_MODELS = ("H1-5.0-E", "H3-10.0-E", "KH8", "F3000", "AIO-H3-10.0", "H1-3.7-E", "T10-G3")


def seed_demo(store: Store, data_dir: Path, now_ms: int, devices: int = 6) -> str | None:
    """Create the demo account, plants and inverters if the store has no accounts yet:
    ``devices`` inverters (the six named ones first) spread over the three plants.

    Returns the new API key (also written alone to ``data_dir/demo-api-key``, mode 0600),
    or None when the store was not empty.
    """
    from foxden import accounts
    from foxden.store import Plant

    if store.accounts():
        return None
    account, key = accounts.create_account(store, DEMO_ACCOUNT, now_ms)
    for i, spec in enumerate(DEMO_PLANTS):
        plant = Plant(
            id=str(uuid.UUID(int=i + 1)),
            account_id=account.id,
            name=spec.name,
            type=2,
            country_code=spec.country,
            city=spec.city,
            address="1 Demo Street",
            postcode="",
            timezone=spec.timezone,
            created_ms=now_ms,
            latitude=spec.latitude,
            longitude=spec.longitude,
        )
        store.insert_plant(plant)
    named = [(sn, model, i) for i, spec in enumerate(DEMO_PLANTS) for sn, model in spec.devices]
    extra = [
        (identities.inverter_serial(model, 2 + n), model, n % len(DEMO_PLANTS))
        for n, model in ((n, MORE_MODELS[n % len(MORE_MODELS)]) for n in range(devices))
    ][: max(0, devices - len(named))]
    for sn, model, plant_index in (named + extra)[:devices]:
        accounts.add_device(store, DEMO_ACCOUNT, sn, model, now_ms)
        store.bind_device(sn, str(uuid.UUID(int=plant_index + 1)))
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    os.chmod(path, 0o600)
    return key
