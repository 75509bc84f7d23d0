"""The dashboard's JSON views and assets over real HTTP: the same answers as the Open API
(they run its handlers), reads only, and every asset from the package itself."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from foxden.client import ApiError, Client
from foxden.client.admin import AdminClient, AdminError
from foxden.client.convenience import iter_devices, iter_plants
from foxden.protocol.errno import Errno
from foxden.server.ui import views
from tests.ui.fleet import DemoServer


def ui_call(demo: DemoServer, endpoint: str, params: Any) -> dict[str, Any]:
    answer = httpx.post(demo.url + "/ui/api/call", json={"endpoint": endpoint, "params": params})
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def test_real_time_through_the_view_is_the_clients_answer(demo: DemoServer) -> None:
    client = demo.client()
    for sn in demo.serials():
        mine = client.real_time(sn)[0]
        page = ui_call(demo, "device.real_v0", {"sn": sn})
        assert page["errno"] == 0
        (theirs,) = page["result"]
        assert theirs["time"] == mine.time
        assert {d["variable"]: d["value"] for d in theirs["datas"]} == {
            d.variable: d.value for d in mine.datas
        }


def test_report_and_history_through_the_view_match_the_client(demo: DemoServer) -> None:
    client = demo.client()
    sn = demo.serials()[0]
    now = demo.foxden.clock.now_ms()
    mine = client.history(sn, now - 3_600_000, now, ["pvPower", "SoC"])[0]
    page = ui_call(
        demo,
        "device.history",
        {"sn": sn, "begin": now - 3_600_000, "end": now, "variables": ["pvPower", "SoC"]},
    )["result"][0]
    assert [[p["value"] for p in d["data"]] for d in page["datas"]] == [
        [p.value for p in d.data] for d in mine.datas
    ]
    assert len(page["datas"][0]["data"]) >= 10
    month = ui_call(
        demo,
        "device.report",
        {"sn": sn, "dimension": "month", "year": 2026, "month": 6, "variables": ["generation"]},
    )["result"]
    theirs = client.report(sn, "month", 2026, 6, variables=["generation"])
    assert month[0]["values"] == theirs[0].values
    assert sum(month[0]["values"]) > 0


@pytest.mark.parametrize(
    ("endpoint", "params", "errno"),
    [
        ("battery.soc_set", {"sn": "X", "minSoc": 10, "minSocOnGrid": 10}, 40257),
        ("plant.delete", {"id": "1"}, 40257),
        ("no.such", {}, 40257),
        ("device.real_v0", {"sn": "NOSUCHDEVICE1"}, 40261),
        ("device.real_v0", ["not", "an", "object"], 40257),
        ("device.history", {}, 40257),
    ],
)
def test_the_view_refuses_writes_strangers_and_bad_params_with_the_envelope(
    demo: DemoServer, endpoint: str, params: Any, errno: int
) -> None:
    answer = ui_call(demo, endpoint, params)
    assert answer["errno"] == errno and answer["result"] is None
    assert answer["msg"] and answer["detail"]


def test_bad_params_of_a_known_device_are_40257_naming_the_field(demo: DemoServer) -> None:
    sn = demo.serials()[0]
    answer = ui_call(
        demo,
        "device.report",
        {"sn": sn, "dimension": "week", "year": 2026, "variables": ["generation"]},
    )
    assert answer["errno"] == Errno.PARAMETER_INVALID and "dimension" in answer["detail"]
    answer = ui_call(demo, "device.history", {"sn": sn, "begin": "soon"})
    assert answer["errno"] == Errno.PARAMETER_INVALID and "begin" in answer["detail"]
    body = httpx.post(demo.url + "/ui/api/call", content=b"{nope").json()
    assert body["errno"] == Errno.PARAMETER_INVALID


def test_only_reads_of_one_device_are_offered() -> None:
    from foxden.protocol.endpoints import ENDPOINTS

    by_name = {e.name: e for e in ENDPOINTS}
    for name in views.READS:
        e = by_name[name]
        assert not e.device_write and not name.endswith(("_set", ".create", ".delete"))
        assert e.request is not None


def test_fleet_lists_every_plant_and_inverter_as_the_client_sees_them(demo: DemoServer) -> None:
    client = demo.client()
    fleet = httpx.get(demo.url + "/ui/api/fleet").json()
    plants = {p.stationID: p.name for p in iter_plants(client)}
    assert {p["stationID"]: p["name"] for p in fleet["plants"]} == plants
    devices = {d.deviceSN: (d.stationID, d.deviceType, d.status) for d in iter_devices(client)}
    shown = {
        d["deviceSN"]: (p["stationID"], d["deviceType"], d["status"])
        for p in fleet["plants"]
        for d in p["devices"]
    }
    assert shown == devices and len(shown) == 6
    for p in fleet["plants"]:
        for d in p["devices"]:
            assert d["todayGeneration"] == round(client.generation(d["deviceSN"]).today, 2)


def test_device_view_and_settings(demo: DemoServer) -> None:
    client = demo.client()
    sn = next(d.deviceSN for d in iter_devices(client) if d.hasBattery)
    info = httpx.get(f"{demo.url}/ui/api/devices/{sn}").json()
    assert info["errno"] == 0 and info["result"]["now_ms"] == demo.foxden.clock.now_ms()
    settings = httpx.get(f"{demo.url}/ui/api/devices/{sn}/settings").json()["result"]
    by_key = {s["key"]: s for s in settings}
    assert by_key["MinSoc"]["value"]["value"] == client.setting(sn, "MinSoc").value
    missing = httpx.get(f"{demo.url}/ui/api/devices/NOSUCHDEVICE1/settings").json()
    assert missing["errno"] == Errno.INVERTER_ID_INCORRECT


def test_pages_and_assets_come_from_this_server_only(demo: DemoServer) -> None:
    sn = demo.serials()[0]
    for path in ("/", f"/devices/{sn}", "/admin"):
        page = httpx.get(demo.url + path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "<html lang='en'>" in page.text and "name='viewport'" in page.text
        for ref in re.findall(r"""(?:src|href)=['"]([^'"]+)""", page.text):
            assert ref.startswith(("/", "#")) and not ref.startswith("//"), ref
            if ref.startswith("/ui/static/"):
                asset = httpx.get(demo.url + ref)
                assert asset.status_code == 200, ref
                again = httpx.get(demo.url + ref, headers={"If-None-Match": asset.headers["etag"]})
                assert again.status_code == 304
                # the SVG namespace is a name, not a fetch
                text = asset.text.replace("http://www.w3.org/2000/svg", "")
                assert "http://" not in text and "https://" not in text, ref
    assert httpx.get(demo.url + "/ui/static/nope.js").status_code == 404
    assert httpx.get(demo.url + "/ui/static/..%2Fviews.py").status_code == 404
    assert httpx.get(demo.url + "/devices/NOSUCHDEVICE1").status_code == 404


def test_accounts_and_keys_through_the_admin_api(demo: DemoServer) -> None:
    with AdminClient(demo.url, "wrong") as stranger, pytest.raises(AdminError) as refused:
        stranger.accounts()
    assert refused.value.status == 401
    with demo.admin() as admin:
        made = admin.create_account("carol")
        assert made["name"] == "carol"
        listing = {a["name"]: a for a in admin.accounts()}
        assert listing["carol"]["devices"] == 0 and listing["demo"]["devices"] == 6
        with pytest.raises(AdminError) as twice:
            admin.create_account("carol")
        assert twice.value.status == 400
        with Client(made["key"], demo.url) as carol:
            assert list(iter_devices(carol)) == []
            rotated = admin.rotate_key("carol")
            assert rotated["key"] != made["key"]
            with pytest.raises(ApiError) as old:
                list(iter_devices(carol))
            assert old.value.errno == Errno.TOKEN_INVALID
        with pytest.raises(AdminError) as nobody:
            admin.rotate_key("nobody")
        assert nobody.value.status == 404


def test_every_asset_is_package_data() -> None:
    """A wheel carries every file the pages load (pyproject's package-data patterns)."""
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    patterns = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"][
        "package-data"
    ]["foxden"]
    static = root / "src/foxden/server/ui/static"
    files = sorted(p.relative_to(root / "src/foxden").as_posix() for p in static.iterdir())
    assert len(files) >= 6
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name


def test_catalogue_view_names_faults_as_the_fault_table_does(demo: DemoServer) -> None:
    table = demo.client().faults()
    names = {code: text["en"] for item in table for code, text in item.items()}
    view = httpx.get(demo.url + "/ui/api/catalogue").json()
    assert view["faults"] == names and view["faults"]["7"] == "Battery Relay Fault"
    assert view["runningState"]["165"] == "fault"
