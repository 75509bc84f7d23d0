"""Records and the Store interface every backend implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from foxden.store.snapshot import StoreSnapshot

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


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


@dataclass(frozen=True, slots=True)
class DeviceSamples:
    """Samples of one device: ``values[i, j]`` is ``variables[j]`` at ``times_ms[i]``.

    NaN means "not reported in this sample". The store keeps each value at its variable's
    resolution (``foxden.protocol.telemetry``).
    """

    sn: str
    variables: tuple[str, ...]
    times_ms: I64
    values: F64


@dataclass(frozen=True, slots=True)
class Series:
    """Stored samples of one device over a time range, oldest first."""

    variables: tuple[str, ...]
    times_ms: I64
    values: F64


@dataclass(frozen=True, slots=True)
class DayChunk:
    """One device's stored samples of one UTC day, still packed. Equal ``content`` means
    equal samples, so a rendering of the day can be kept and checked against it;
    ``unpack()`` gives the times (ascending, unique) and values (NaN: not reported)."""

    day: int
    variables: tuple[str, ...]
    content: tuple[int, bytes, bytes]
    unpack: Callable[[], tuple[I64, F64]]


@dataclass(frozen=True, slots=True)
class Latest:
    """The newest sample of one device."""

    sn: str
    time_ms: int
    values: dict[str, float]


SLOT_MS = 15 * 60 * 1000
"""Energy rollups keep every counter at the last sample of each 15-minute UTC slot, so the
difference over any bucket that starts and ends on a quarter hour (every time zone's hours,
days and months) is two look-ups, whatever the plant's zone is or later becomes."""


class Store(Protocol):
    """Everything the server, the CLI and the simulator keep."""

    def close(self) -> None: ...

    def transaction(self) -> AbstractContextManager[None]:
        """Every write inside commits together or not at all (nested ones join the outer)."""
        ...

    def request_view(self, arrived: float | None = None) -> AbstractContextManager[None]:
        """Around one request's reads: cached rows are checked against other processes'
        writes once, as it begins (its own writes are seen at once either way).
        ``arrived``: ``time.perf_counter()`` when the request arrived; a check that began
        after that has seen every write the request could know of, and answers for it too."""
        ...

    def cache_mark(self) -> int | None:
        """Inside a request's view: a number that moves whenever any cached row is dropped
        (a write here or, as far as the view knows, elsewhere), so something made from
        cached rows under one mark is still true under the same mark; None when the caches
        cannot be trusted now (then nothing made from rows may be kept)."""
        ...

    # accounts and keys
    def create_account(self, name: str, key_hash: str, now_ms: int) -> Account: ...
    def set_key_hash(self, name: str, key_hash: str) -> Account: ...
    def account_by_key_hash(self, key_hash: str) -> Account | None: ...
    def account_by_name(self, name: str) -> Account | None: ...
    def accounts(self) -> list[Account]: ...

    # quota use, per account and UTC day ("YYYY-MM-DD")
    def usage(self, account_id: int, day: str) -> int: ...
    def save_usage(self, counts: dict[tuple[int, str], int]) -> None:
        """Write (account, day) call counts; a stored count is never lowered."""

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
    def devices_with_plant_names(
        self, account_id: int, offset: int = 0, limit: int = -1
    ) -> tuple[list[tuple[Device, str]], int]:
        """A page of the account's devices with their plant's name ("" when unbound), and
        the account's device count."""
        ...

    def devices_of_plant(self, plant_id: str) -> list[Device]: ...
    def bind_device(self, sn: str, plant_id: str | None) -> None: ...
    def set_device_status(self, sn: str, status: int) -> None: ...
    def all_devices(self) -> list[tuple[Device, Plant | None]]:
        """Every device of every account with its plant (the fleet's view); the same list
        until a device or plant changes (callers must not change it)."""
        ...

    def all_settings(self) -> dict[str, dict[str, Any]]:
        """Every device's settings by serial (the fleet's view); the same dicts until a
        setting changes (callers must not change them)."""
        ...

    def clear_telemetry(self) -> None:
        """Forget every sample and rollup (the admin reset)."""
        ...

    def loggers(self, account_id: int, offset: int, limit: int) -> tuple[list[Logger], int]: ...
    def logger(self, sn: str) -> Logger | None: ...

    # device settings, one JSON value per (device, key)
    def settings(self, sn: str) -> dict[str, Any]: ...
    def put_settings(self, sn: str, values: dict[str, Any]) -> None: ...

    # telemetry
    def ingest(self, batch: Sequence[DeviceSamples]) -> int:
        """Store samples of many devices at once, idempotent on (device, time) (a sample
        sent again replaces the stored one). The whole batch is checked before anything is
        written (a bad item writes nothing); it is then written in short transactions, so
        reads never wait for a long ingest, and all of it is durable when this returns.
        Returns the count."""
        ...

    def merge_tail(self, before_ms: int) -> int:
        """Pack the samples appended to every device-day wholly before ``before_ms`` into
        the day's chunk (reads see the same samples before and after). Returns the
        device-days packed."""
        ...

    def latest(self, sns: Sequence[str]) -> dict[str, Latest]: ...

    def history(self, sn: str, begin_ms: int, end_ms: int) -> Series:
        """Samples with ``begin_ms <= time <= end_ms``."""
        ...

    def history_chunks(self, sn: str, begin_ms: int, end_ms: int) -> list[DayChunk]:
        """The packed UTC days that hold samples of ``begin_ms .. end_ms``, oldest first (a
        day may hold samples outside the range too)."""
        ...

    def counters_before(self, sn: str, boundaries_ms: Sequence[int]) -> F64:
        """Each energy counter (``telemetry.COUNTERS``) at the last sample before each
        boundary (a multiple of ``SLOT_MS``); before the first sample, the first reading;
        NaN where the device has no such counter or no data at all. Shape
        ``(len(boundaries_ms), len(COUNTERS))``."""
        ...

    def snapshot(self) -> StoreSnapshot:
        """Every row of every table, as one consistent view."""
        ...

    def restore(self, snapshot: StoreSnapshot) -> None:
        """Make the store hold exactly what ``snapshot`` held (atomically)."""
        ...

    def empty(self) -> None:
        """Delete every row (atomically): a fresh database, its schema kept."""
        ...

    # facts about the database itself (the schema's version, the scenario applied to it)
    def meta(self, key: str) -> str | None: ...
    def put_meta(self, key: str, value: str) -> None: ...

    def prune(self, before_ms: int) -> int:
        """Drop raw samples of UTC days wholly before ``before_ms``; rollups stay."""
        ...
