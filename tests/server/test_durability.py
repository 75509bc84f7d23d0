"""Writes survive a restart of the real ``foxden serve`` process, even a hard kill: every kind
of Open API write, read back after the restart and compared with the values written."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from foxden.client import Client, InvalidParameterError, RetryPolicy
from foxden.protocol import structs as s
from foxden.store import open_store
from tests.server.calls import HEATING

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


@contextmanager
def serving(
    data_dir: Path, database_url: str, key: str, stop: int = signal.SIGTERM
) -> Iterator[Client]:
    """``foxden serve`` on the data, a client of it (no retries: every call counts once),
    and the server stopped by ``stop`` (SIGTERM: a clean stop; SIGKILL: a crash) after."""
    server = Served(data_dir, database_url)
    try:
        with Client(key, server.url, retry=RetryPolicy(max_retries=0)) as client:
            yield client
    finally:
        server.stop(stop)


@pytest.fixture
def no_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many calls in a burst, none refused by the key's bucket."""
    monkeypatch.setenv("FOXDEN_RATE_PER_SECOND", "100000")
    monkeypatch.setenv("FOXDEN_RATE_BURST", "100000")


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
    with serving(tmp_path, database_url, account, stop=sig) as client:
        station = write_everything(client)
        before = read_everything(client, station)
        used = int(client.access_count().total) - int(client.access_count().remaining)
    with serving(tmp_path, database_url, account) as again:
        remaining = int(again.access_count().remaining)
        if sig == signal.SIGTERM:  # a clean stop flushes the quota counts
            assert remaining == 1440 - used
        assert read_everything(again, station) == before
        assert before[0] == "Dora's"


def test_a_kill_loses_at_most_a_handful_of_counted_calls(
    tmp_path: Path, database_url: str, account: str, no_rate_limit: None
) -> None:
    """Quota use is written every few counted calls, so kill -9 right after a burst loses
    fewer than ``quota_flush_every`` of them (before: about a second's worth); on SQLite
    every count is in the quota journal as it is made, and none is lost."""
    from foxden.config import Settings

    journaled = not database_url.startswith("postgresql")
    bound = 0 if journaled else Settings().quota_flush_every - 1
    answered = 0
    with serving(tmp_path, database_url, account, stop=signal.SIGKILL) as client:
        for _ in range(103):
            client.device_list()
            answered += 1
    with serving(tmp_path, database_url, account) as again:
        used = 1440 - int(again.access_count().remaining)
    assert answered - bound <= used <= answered


# ---------------------------------------------------------------- every kind of write

H3 = "DURAH3000001"
KH = "DURAKH000001"
CLOCK = (2030, 1, 2, 3, 4, 5)
V3_GROUP = s.SchedulerGroupV3(
    startHour=22,
    startMinute=30,
    endHour=23,
    endMinute=45,
    workMode="ForceDischarge",
    extraParam=s.ExtraParam(minSocOnGrid=12, fdSoc=25, fdPwr=3300, exportLimit=4100),
)
V0_GROUP = s.SchedulerGroup(
    enable=1,
    startHour=2,
    startMinute=10,
    endHour=5,
    endMinute=50,
    workMode="ForceCharge",
    minSocOnGrid=14,
    fdSoc=93,
    fdPwr=3700,
)
CHARGE_TIMES = s.ForceChargeTimes(
    enable1=True,
    startTime1=s.ClockTimeOut(hour=1, minute=30),
    endTime1=s.ClockTimeOut(hour=4, minute=15),
    enable2=True,
    startTime2=s.ClockTimeOut(hour=13, minute=5),
    endTime2=s.ClockTimeOut(hour=14, minute=55),
)


def _details(name: str, city: str) -> dict[str, object]:
    return {"name": name, "type": 2, "countryCode": "GB", "city": city, "address": "1 Lane",
            "postcode": "LS1"}  # fmt: skip


def write_every_kind(client: Client) -> tuple[str, str]:
    """One write of every kind the Open API accepts, each with its own values; the ids of
    the plant kept and of the plant deleted."""
    kept = client.plant_create(
        s.PlantCreate(
            details=s.PlantDetails(**_details("Dora's", "Leeds")),  # type: ignore[arg-type]
            timezone="Europe/London",
            devices=[s.PlantDeviceRef(sn=SN), s.PlantDeviceRef(sn=H3)],
            position=s.Position(x=-1.55, y=53.8),
        )
    ).stationID
    gone = client.plant_create(
        s.PlantCreate(
            details=s.PlantDetails(**_details("Short-lived", "York")),  # type: ignore[arg-type]
            timezone="Europe/London",
            devices=[s.PlantDeviceRef(sn=KH)],
        )
    ).stationID
    client.plant_delete(gone)
    client.plant_update(
        s.PlantUpdate(
            details=s.PlantDetailsUpdate(stationID=kept, **_details("Dora's Barn", "Otley")),  # type: ignore[arg-type]
            timezone="Europe/Dublin",
            devices=[s.PlantDeviceRef(sn=SN), s.PlantDeviceRef(sn=H3), s.PlantDeviceRef(sn=KH)],
            position=s.Position(x=-6.26, y=53.35),
        )
    )
    client.set_battery_soc(SN, 17, 23)
    client.set_setting(SN, "ExportLimit", 3650)
    client.set_charge_times(SN, CHARGE_TIMES)
    year, month, day, hour, minute, second = (str(v) for v in CLOCK)
    client.set_device_time(
        KH, s.DeviceTime(year=year, month=month, day=day, hour=hour, minute=minute, second=second)
    )
    client.set_scheduler(SN, [V0_GROUP])
    client.set_scheduler_v3(H3, [V3_GROUP])
    client.set_scheduler_flag_v1(H3, False)
    client.set_peak_shaving(KH, 2.75, 45)
    client.set_battery_heating(H3, HEATING)
    return kept, gone


def assert_every_write_reads_back(client: Client, kept: str, gone: str, written_ms: int) -> None:
    """Each read compared with the value written, not with an earlier read."""
    detail = client.plant_detail(kept)
    assert (detail.stationName, detail.city, detail.timezone) == ("Dora's Barn", "Otley",
                                                                  "Europe/Dublin")  # fmt: skip
    assert sorted(m.deviceSN for m in detail.modules) == sorted([SN, H3, KH])
    assert [p.stationID for p in client.plant_list().data] == [kept]
    with pytest.raises(InvalidParameterError) as info:
        client.plant_detail(gone)
    assert info.value.errno == 40257
    assert {d.deviceSN: d.stationID for d in client.device_list().data} == dict.fromkeys(
        (SN, H3, KH), kept
    )
    soc = client.battery_soc(SN)
    assert (soc.minSoc, soc.minSocOnGrid) == (17, 23)
    assert float(client.setting(SN, "ExportLimit").value) == 3650
    assert client.charge_times(SN) == CHARGE_TIMES
    read = client.device_time(KH)
    clock = datetime(int(read.year), int(read.month), int(read.day), int(read.hour),
                     int(read.minute), int(read.second))  # fmt: skip
    elapsed = timedelta(milliseconds=time.time() * 1000 - written_ms)
    assert timedelta(0) <= clock - datetime(*CLOCK) <= elapsed + timedelta(seconds=2)
    groups = client.scheduler(SN).groups
    assert (groups[0].startHour, groups[0].startMinute, groups[0].endHour, groups[0].endMinute,
            groups[0].workMode, groups[0].minSocOnGrid, groups[0].fdSoc, groups[0].fdPwr) == (
        2, 10, 5, 50, "ForceCharge", 14, 93, 3700)  # fmt: skip
    assert [g.workMode for g in groups[1:]] == ["Invalid"] * (len(groups) - 1)
    assert client.scheduler_flag(SN).enable is True
    v3 = client.scheduler_v3(H3)
    assert v3.enable == 0  # the flag written after the groups
    assert len(v3.groups) == 1
    g = v3.groups[0]
    assert (g.startHour, g.startMinute, g.endHour, g.endMinute, g.workMode) == (
        22, 30, 23, 45, "ForceDischarge")  # fmt: skip
    assert {k: g.extraParam[k] for k in ("minSocOnGrid", "fdSoc", "fdPwr", "exportLimit")} == {
        "minSocOnGrid": 12, "fdSoc": 25, "fdPwr": 3300, "exportLimit": 4100}  # fmt: skip
    peak = client.peak_shaving(KH)
    assert (peak.importLimit.value, peak.soc.value) == ("2.750", "45")
    heating = {i.name: i.value for i in client.battery_heating(H3).dataList}
    assert {k: heating[k] for k in HEATING} == HEATING


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_every_kind_of_write_survives_restart(
    tmp_path: Path, database_url: str, account: str, sig: int, no_rate_limit: None
) -> None:
    for sn, model in ((H3, "H3-10.0-E"), (KH, "KH8")):
        foxden("device", "add", "--account", "dora", "--sn", sn, "--model", model,
               "--database-url", database_url)  # fmt: skip
    with serving(tmp_path, database_url, account, stop=sig) as client:
        written_ms = int(time.time() * 1000)
        kept, gone = write_every_kind(client)
        assert_every_write_reads_back(client, kept, gone, written_ms)
    with serving(tmp_path, database_url, account) as again:
        assert_every_write_reads_back(again, kept, gone, written_ms)
    store = open_store(database_url)
    try:
        positions = {d.sn: (p.latitude, p.longitude) for d, p in store.all_devices() if p}
    finally:
        store.close()
    assert positions == dict.fromkeys((SN, H3, KH), (53.35, -6.26))
