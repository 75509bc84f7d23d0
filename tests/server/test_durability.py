"""Writes survive a restart of the real ``foxden serve`` process, even a hard kill."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from foxden.client import Client, RetryPolicy
from foxden.protocol import structs as s

SN = "DURAH1000001"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def foxden(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "foxden", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=True,
    )


class Served:
    def __init__(self, data_dir: Path, database_url: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "foxden",
                "serve",
                "--no-demo",
                "--port",
                str(self.port),
                "--data-dir",
                str(data_dir),
                "--database-url",
                database_url,
                "--limit-profile",
                "lenient",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("foxden serve did not start") from None
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=30)


@pytest.fixture
def account(database_url: str) -> Iterator[str]:
    foxden("init", "--no-demo", "--database-url", database_url)
    out = foxden("account", "create", "dora", "--database-url", database_url).stdout
    key = out.strip().splitlines()[-1]
    foxden(
        "device",
        "add",
        "--account",
        "dora",
        "--sn",
        SN,
        "--model",
        "H1-5.0-E",
        "--database-url",
        database_url,
    )
    yield key


def write_everything(client: Client) -> str:
    created = client.plant_create(
        s.PlantCreate(
            details=s.PlantDetails(
                name="Dora's",
                type=2,
                countryCode="GB",
                city="Leeds",
                address="1 Lane",
                postcode="LS1",
            ),
            timezone="Europe/London",
            devices=[s.PlantDeviceRef(sn=SN)],
        )
    )
    client.set_battery_soc(SN, 15, 20)
    client.set_setting(SN, "ExportLimit", 3600)
    client.set_charge_times(
        SN,
        s.ForceChargeTimes(
            enable1=True,
            startTime1=s.ClockTimeOut(hour=1, minute=30),
            endTime1=s.ClockTimeOut(hour=4, minute=0),
            enable2=False,
            startTime2=s.ClockTimeOut(hour=0, minute=0),
            endTime2=s.ClockTimeOut(hour=0, minute=0),
        ),
    )
    client.set_scheduler(
        SN,
        [
            s.SchedulerGroup(
                enable=1,
                startHour=2,
                startMinute=0,
                endHour=5,
                endMinute=0,
                workMode="ForceCharge",
                minSocOnGrid=10,
                fdSoc=95,
                fdPwr=4000,
            )
        ],
    )
    return created.stationID


def read_everything(client: Client, station: str) -> tuple[object, ...]:
    return (
        client.plant_detail(station).stationName,
        client.device_list().data[0].stationID,
        client.battery_soc(SN),
        client.setting(SN, "ExportLimit").value,
        client.charge_times(SN),
        client.scheduler(SN).groups[0],
        client.scheduler_flag(SN).enable,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_writes_survive_restart(tmp_path: Path, database_url: str, account: str, sig: int) -> None:
    first = Served(tmp_path, database_url)
    try:
        client = Client(account, first.url, retry=RetryPolicy(max_retries=0))
        station = write_everything(client)
        before = read_everything(client, station)
        used = int(client.access_count().total) - int(client.access_count().remaining)
        client.close()
    finally:
        first.stop(sig)
    second = Served(tmp_path, database_url)
    try:
        with Client(account, second.url, retry=RetryPolicy(max_retries=0)) as again:
            remaining = int(again.access_count().remaining)
            if sig == signal.SIGTERM:  # a clean stop flushes the quota counts
                assert remaining == 1440 - used
            assert read_everything(again, station) == before
            assert before[0] == "Dora's"
    finally:
        second.stop()


def test_a_kill_loses_at_most_a_handful_of_counted_calls(
    tmp_path: Path, database_url: str, account: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Quota use is written every few counted calls, so kill -9 right after a burst loses
    fewer than ``quota_flush_every`` of them (before: about a second's worth)."""
    from foxden.config import Settings

    bound = Settings().quota_flush_every - 1
    monkeypatch.setenv("FOXDEN_RATE_PER_SECOND", "100000")
    monkeypatch.setenv("FOXDEN_RATE_BURST", "100000")
    first = Served(tmp_path, database_url)
    answered = 0
    try:
        with Client(account, first.url, retry=RetryPolicy(max_retries=0)) as client:
            for _ in range(103):
                client.device_list()
                answered += 1
    finally:
        first.stop(signal.SIGKILL)
    second = Served(tmp_path, database_url)
    try:
        with Client(account, second.url, retry=RetryPolicy(max_retries=0)) as again:
            used = 1440 - int(again.access_count().remaining)
        assert answered - bound <= used <= answered
    finally:
        second.stop()
