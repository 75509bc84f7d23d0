"""The fleet under test: stores with plants and inverters, and the real server with its
runner on a frozen SimClock, so simulated time only moves through the admin API."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import numpy.typing as npt
import pytest
import uvicorn

from foxden import accounts
from foxden.client import Client, RetryPolicy
from foxden.config import Settings
from foxden.protocol import timefmt
from foxden.server.app import FoxdenApp
from foxden.sim.clock import SimClock
from foxden.sim.runner import FleetRunner
from foxden.store import Plant, Store, open_store, url_for
from tests.conftest import serve_in_thread

F = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

ADMIN_TOKEN = "sim-admin-token-for-tests"
ACCOUNT = "simuser"
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
NO_RETRY = RetryPolicy(max_retries=0)


@dataclass(frozen=True, slots=True)
class Site:
    """Where a plant is: its zone and position."""

    zone: str
    latitude: float
    longitude: float
    country: str


LONDON = Site("Europe/London", 51.5, -0.13, "GB")
BERLIN = Site("Europe/Berlin", 52.52, 13.4, "DE")
SYDNEY = Site("Australia/Sydney", -33.87, 151.21, "AU")
NEW_YORK = Site("America/New_York", 40.71, -74.01, "US")


def local_ms(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """The instant a wall-clock time in ``zone`` names, in ms since the epoch."""
    return int(datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).timestamp() * 1000)


def plant_id(n: int) -> str:
    return str(uuid.UUID(int=1000 + n))


def populate(
    store: Store,
    devices: Sequence[tuple[str, str, Site]],
    now_ms: int = 1_700_000_000_000,
) -> str:
    """An account with one plant per distinct site and ``devices`` (sn, model, site) bound
    to them; returns the account's API key."""
    account, key = accounts.create_account(store, ACCOUNT, now_ms)
    plants: dict[Site, str] = {}
    for _, _, site in devices:
        if site in plants:
            continue
        pid = plant_id(len(plants))
        store.insert_plant(
            Plant(
                id=pid,
                account_id=account.id,
                name=f"Plant {site.zone}",
                type=2,
                country_code=site.country,
                city=site.zone.split("/")[-1],
                address="1 Test Street",
                postcode="",
                timezone=site.zone,
                created_ms=now_ms,
                latitude=site.latitude,
                longitude=site.longitude,
            )
        )
        plants[site] = pid
    for sn, model, site in devices:
        accounts.add_device(store, ACCOUNT, sn, model, now_ms)
        store.bind_device(sn, plants[site])
    return key


def memory_store(devices: Sequence[tuple[str, str, Site]]) -> Store:
    store = open_store("sqlite://")
    populate(store, devices)
    return store


@dataclass
class SimServer:
    """A foxden server with its fleet, in a thread on 127.0.0.1, clock frozen."""

    url: str
    store: Store
    foxden: FoxdenApp
    clock: SimClock
    runner: FleetRunner
    key: str
    server: uvicorn.Server
    thread: threading.Thread
    admin: httpx.Client
    clients: list[Client] = field(default_factory=list)

    def client(self) -> Client:
        c = Client(self.key, self.url, retry=NO_RETRY)
        self.clients.append(c)
        return c

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.admin.post(path, json=body) if body is not None else self.admin.post(path)

    def ok(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST to the admin API; the JSON answer, which must be 200."""
        response = self.post(path, body)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def advance(self, ms: int) -> int:
        """Move simulated time on through the admin API; samples stored."""
        samples: int = self.ok("/admin/clock", {"advance_ms": ms})["samples"]
        return samples

    def stop(self) -> None:
        for c in self.clients:
            c.close()
        self.admin.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)


StartSim = Callable[..., SimServer]


def start_sim(
    data_dir: Path,
    start_ms: int,
    devices: Sequence[tuple[str, str, Site]],
    seed: int = 0,
    first_step: bool = True,
) -> SimServer:
    """Start a server whose fleet clock is frozen at ``start_ms``. With ``first_step`` the
    fleet takes its first sample at once, so later advances simulate every step from there."""
    settings = Settings(
        data_dir=str(data_dir),
        limit_profile="lenient",
        rate_per_second=10_000.0,
        rate_burst=10_000,
        speed=0.0,
    )
    store = open_store(url_for(data_dir))
    key = populate(store, devices)
    clock = SimClock(start_ms=start_ms, speed=0)
    runner = FleetRunner(store, clock, seed)
    foxden = FoxdenApp(settings, store, clock, runner, ADMIN_TOKEN)
    url, server, thread = serve_in_thread(foxden.app, settings)
    admin = httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=120
    )
    sim = SimServer(url, store, foxden, clock, runner, key, server, thread, admin)
    if first_step:
        sim.ok("/admin/step")
    return sim


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[StartSim]:
    """``sim(start_ms, devices, seed=0)``: a started server (stopped after the test)."""
    started: list[SimServer] = []

    def start(
        start_ms: int,
        devices: Sequence[tuple[str, str, Site]],
        seed: int = 0,
        first_step: bool = True,
    ) -> SimServer:
        server = start_sim(tmp_path / f"server{len(started)}", start_ms, devices, seed, first_step)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@dataclass(frozen=True, slots=True)
class History:
    """One device's history as arrays: times (ms) and values per variable; the raw time
    strings as the API wrote them."""

    times: dict[str, I64]
    values: dict[str, F]
    stamps: dict[str, list[str]]

    def __getitem__(self, name: str) -> F:
        return self.values[name]


def history(
    client: Client, sn: str, begin_ms: int, end_ms: int, variables: list[str] | None = None
) -> History:
    """``device/history/query`` over at most 24 hours, as arrays (text values as numbers;
    an empty fault code as 0; requested variables without data as empty arrays)."""
    answer = client.history(sn, begin_ms, end_ms, variables)
    times: dict[str, I64] = {}
    values: dict[str, F] = {}
    stamps: dict[str, list[str]] = {}
    for var in answer[0].datas:
        stamps[var.variable] = [p.time for p in var.data]
        times[var.variable] = np.array(
            [int(timefmt.parse_local(p.time).timestamp() * 1000) for p in var.data],
            dtype=np.int64,
        )
        values[var.variable] = np.array(
            [float(p.value) if p.value != "" else 0.0 for p in var.data], dtype=np.float64
        )
    for name in variables or ():
        times.setdefault(name, np.zeros(0, dtype=np.int64))
        values.setdefault(name, np.zeros(0))
        stamps.setdefault(name, [])
    return History(times, values, stamps)


def real_time(client: Client, sn: str) -> dict[str, float | str]:
    """The newest values of one device by variable."""
    devices = client.real_time(sn)
    return {v.variable: v.value for v in devices[0].datas}
