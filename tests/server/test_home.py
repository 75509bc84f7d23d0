"""``GET /`` a page about the server, ``GET /docs`` the reference, ``GET /health`` its state:
real server, real HTTP, and no resource from another host (machines may be offline)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from foxden import __version__
from foxden.protocol.endpoints import ENDPOINTS
from tests.conftest import LiveServer, start_server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("home")
    (data / "demo-api-key").write_text("k\n", "utf-8")
    server = start_server(data)
    yield server
    server.stop()


def _offline(page: str, scripts: bool = False) -> None:
    """No scripts, styles or images fetched from another host; scripts (where the page has
    any) only from the package's own /ui/static."""
    if scripts:
        for tag in re.findall(r"<script[^>]*>", page):
            assert re.fullmatch(r"<script src='/ui/static/[a-z]+\.js' defer>", tag), tag
    else:
        assert "<script" not in page
    assert not re.search(r"""(src|href)=['"]?(https?:)?//""", page), page


def test_home_page_says_what_this_is_and_where_things_are(live: LiveServer) -> None:
    answer = httpx.get(live.url + "/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert f"foxden {__version__}" in page and "Fox ESS Cloud Open API" in page
    assert f"<code>{live.url}</code>" in page  # the API base URL
    assert str(Path(live.data_dir).resolve() / "demo-api-key") in page
    assert "href='/openapi.json'" in page and "href='/docs'" in page
    _offline(page, scripts=True)
    assert httpx.get(live.url + "/openapi.json").json()["openapi"].startswith("3.1")


def test_docs_list_every_endpoint_and_errno_offline(live: LiveServer) -> None:
    answer = httpx.get(live.url + "/docs")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = answer.text
    for endpoint in ENDPOINTS:
        assert f"<code>{endpoint.path}</code>" in page, endpoint.path
    assert "<code>sn</code>" in page and "41808" in page and "40261" in page
    _offline(page)


def test_health_reports_version_database_and_fleet(live: LiveServer) -> None:
    live.account("hana")
    answer = httpx.get(live.url + "/health")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok" and body["version"] == __version__
    assert body["database"] == {"backend": "sqlite", "accounts": 1, "ok": True}
    assert body["fleet"] == {"simulated": False}
