"""The whole server on PostgreSQL: the same API, over a real socket, with the real client."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from foxden import accounts
from foxden.client import ApiError, AuthError
from foxden.protocol import structs as s
from foxden.store import open_store
from tests.conftest import LiveServer, fresh_postgres, start_server
from tests.telemetry.data import samples

SN = "PGH100000001"
DAY = 86_400_000
T0 = 1_711_929_600_000  # 2024-04-01 00:00 UTC


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[LiveServer]:
    with fresh_postgres() as url:
        live = start_server(
            tmp_path,
            database_url=url,
            rate_per_second=1e6,
            rate_burst=10**6,
            daily_quota_per_device=40,
        )
        yield live
        live.stop()
        live.store.close()


def test_control_plane_and_telemetry_on_postgres(pg: LiveServer) -> None:
    key = pg.account("pat")
    pg.device("pat", SN, "H1-5.0-E")
    client = pg.client(key)
    created = client.plant_create(
        s.PlantCreate(
            details=s.PlantDetails(
                name="PG", type=2, countryCode="GB", city="c", address="a", postcode="p"
            ),
            timezone="Europe/London",
            devices=[s.PlantDeviceRef(sn=SN), s.PlantDeviceRef(sn="UNKNOWN00001")],
        )
    )
    assert [d.errno for d in created.devices] == [0, 41930]
    assert client.device_list().data[0].stationID == created.stationID
    client.set_battery_soc(SN, 15, 20)
    assert client.battery_soc(SN) == s.SocSettings(minSoc=15, minSocOnGrid=20)
    client.set_setting(SN, "ExportLimit", 2500)
    assert client.setting(SN, "ExportLimit").value == "2500"
    pg.store.ingest([samples(SN, "H1-5.0-E", T0, 288 * 3)])
    (day,) = client.report(SN, "day", 2024, 4, 2, ["generation"])
    (month,) = client.report(SN, "month", 2024, 4, variables=["generation"])
    assert len(day.values) == 24 and sum(day.values) == pytest.approx(month.values[1], abs=1e-9)
    (hist,) = client.history(SN, T0 + DAY, T0 + 2 * DAY, ["SoC"])
    assert 280 <= len(hist.datas[0].data) <= 289
    with pytest.raises(ApiError) as info:
        client.report(SN, "day", 2024, 2, 30)
    assert info.value.errno == 40257 and "day" in info.value.detail


def test_quota_and_rotation_on_postgres(pg: LiveServer) -> None:
    key = pg.account("quinn")
    pg.device("quinn", SN)
    clients = [pg.client(key) for _ in range(6)]

    def errno(i: int) -> int:
        try:
            clients[i % 6].device_list()
        except ApiError as exc:
            return exc.errno
        return 0

    with ThreadPoolExecutor(6) as pool:
        assert Counter(pool.map(errno, range(60))) == {0: 40, 40402: 20}
    other = open_store(pg.foxden.settings.database())  # another process's connection
    new = accounts.rotate_key(other, "quinn")
    with pytest.raises(AuthError) as old:
        clients[0].access_count()
    assert old.value.errno == 41808
    assert pg.client(new).access_count().remaining == "0"
    other.close()
