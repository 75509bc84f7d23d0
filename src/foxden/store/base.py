"""Records and the Store interface every backend implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class StoreError(Exception):
    """A store could not be opened or a write broke a rule of the data (e.g. a duplicate)."""


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str
    created_ms: int
    device_count: int = 0


@dataclass(frozen=True, slots=True)
class Plant:
    id: str
    account_id: int
    name: str
    type: int
    country_code: str
    city: str
    address: str
    postcode: str
    timezone: str
    created_ms: int
    price: float | None = None
    currency: str | None = None
    capacity: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Logger:
    sn: str
    account_id: int
    signal: int = 100
    status: int = 1


@dataclass(frozen=True, slots=True)
class Device:
    sn: str
    account_id: int
    model: str
    logger_sn: str
    created_ms: int
    plant_id: str | None = None
    status: int = 1
    batteries: list[dict[str, Any]] = field(default_factory=list)


class Store(Protocol):
    """Everything the server, the CLI and the simulator keep."""

    def close(self) -> None: ...

    # accounts and keys
    def create_account(self, name: str, key_hash: str, now_ms: int) -> Account: ...
    def set_key_hash(self, name: str, key_hash: str) -> Account: ...
    def account_by_key_hash(self, key_hash: str) -> Account | None: ...
    def account_by_name(self, name: str) -> Account | None: ...
    def accounts(self) -> list[Account]: ...

    # quota use, per account and UTC day ("YYYY-MM-DD")
    def usage(self, account_id: int, day: str) -> int: ...
    def save_usage(self, counts: dict[tuple[int, str], int]) -> None: ...

    # plants
    def insert_plant(self, plant: Plant) -> None: ...
    def update_plant(self, plant: Plant) -> None: ...
    def delete_plant(self, account_id: int, plant_id: str) -> bool: ...
    def plant(self, account_id: int, plant_id: str) -> Plant | None: ...
    def plants(self, account_id: int, offset: int, limit: int) -> tuple[list[Plant], int]: ...

    # devices and loggers
    def insert_device(self, device: Device, logger: Logger) -> None: ...
    def device(self, sn: str) -> Device | None: ...
    def devices(
        self, account_id: int, offset: int = 0, limit: int = -1
    ) -> tuple[list[Device], int]: ...
    def devices_of_plant(self, plant_id: str) -> list[Device]: ...
    def bind_device(self, sn: str, plant_id: str | None) -> None: ...
    def loggers(self, account_id: int, offset: int, limit: int) -> tuple[list[Logger], int]: ...

    # device settings, one JSON value per (device, key)
    def settings(self, sn: str) -> dict[str, Any]: ...
    def put_settings(self, sn: str, values: dict[str, Any]) -> None: ...
