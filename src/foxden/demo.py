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

    Everything is written in one transaction, so a crash leaves no demo or the whole demo;
    on a store whose demo is incomplete (an older version crashed while seeding) the missing
    plants and inverters are added. The key is written alone to ``data_dir/demo-api-key``
    (mode 0600); when that file is missing for an existing demo, the demo gets a new key.

    Returns the new API key, or None when no key was made (the demo was complete with its
    key file, or the store belongs to other accounts only).
    """
    from foxden import accounts
    from foxden.store import Plant

    if store.account_by_name(DEMO_ACCOUNT) is None and store.accounts():
        return None
    key: str | None = None
    with store.transaction():
        account = store.account_by_name(DEMO_ACCOUNT)
        if account is None:
            account, key = accounts.create_account(store, DEMO_ACCOUNT, now_ms)
        for i, spec in enumerate(DEMO_PLANTS):
            plant_id = str(uuid.UUID(int=i + 1))
            if store.plant(account.id, plant_id) is not None:
                continue
            store.insert_plant(
                Plant(
                    id=plant_id,
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
            )
        named = [(sn, model, i) for i, spec in enumerate(DEMO_PLANTS) for sn, model in spec.devices]
        extra = [
            (identities.inverter_serial(model, 2 + n), model, n % len(DEMO_PLANTS))
            for n, model in ((n, MORE_MODELS[n % len(MORE_MODELS)]) for n in range(devices))
        ][: max(0, devices - len(named))]
        for sn, model, plant_index in (named + extra)[:devices]:
            existing = store.device(sn)
            if existing is None:
                accounts.add_device(store, DEMO_ACCOUNT, sn, model, now_ms)
            if existing is None or existing.plant_id is None:
                store.bind_device(sn, str(uuid.UUID(int=plant_index + 1)))
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
