"""The dashboard served by ``foxden serve`` itself: ``/`` the overview, ``/devices/{sn}``
one inverter, ``/admin`` the test controls behind the admin token.

Pages are HTML shells with hand-written scripts and styles shipped in ``static/`` (no build
step, nothing from another host). Their data comes from ``/ui/api/...`` (``views``), which
runs the Open API's own handlers, and from the admin API itself.
"""

from __future__ import annotations

import asyncio
import hashlib
from importlib import resources
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from foxden.protocol import catalogue
from foxden.server.ui import pages, views

if TYPE_CHECKING:
    from foxden.server.app import FoxdenApp

_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_JSON = "application/json"
MAX_CALL_BODY = 16_384


def _static_files() -> dict[str, tuple[bytes, str, str]]:
    """Every file in ``static/``: its bytes, content type and ETag."""
    files: dict[str, tuple[bytes, str, str]] = {}
    for entry in (resources.files(__package__) / "static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in _TYPES:
            data = entry.read_bytes()
            tag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            files[entry.name] = (data, _TYPES[suffix] + "; charset=utf-8", tag)
    return files


class Dashboard:
    def __init__(self, foxden: FoxdenApp) -> None:
        self.foxden = foxden
        self.source = views.Source(foxden.store, foxden.clock, foxden.wall, foxden.quota)
        self.static = _static_files()
        self._catalogue = msgspec.json.encode(
            {
                "faults": {
                    str(code): f.name.get("en", str(code)) for code, f in catalogue.faults().items()
                },
                "runningState": catalogue.variables()["runningState"].enum or {},
            }
        )
        """The English fault names and running states from the catalogues behind
        device/fault/get and device/variable/get (a tenth of their size)."""

    def routes(self) -> list[Route]:
        return [
            Route("/", self.overview, methods=["GET"]),
            Route("/devices/{sn}", self.device_page, methods=["GET"]),
            Route("/admin", self.admin_page, methods=["GET"]),
            Route("/ui/static/{name}", self.asset, methods=["GET"]),
            Route("/ui/api/fleet", self.fleet, methods=["GET"]),
            Route("/ui/api/catalogue", self.catalogue, methods=["GET"]),
            Route("/ui/api/call", self.call, methods=["POST"]),
            Route("/ui/api/devices/{sn}", self.device, methods=["GET"]),
            Route("/ui/api/devices/{sn}/settings", self.settings, methods=["GET"]),
        ]

    # ------------------------------------------------------------ pages

    async def overview(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return HTMLResponse(pages.overview(base, self.foxden.settings.data_dir))

    async def device_page(self, request: Request) -> Response:
        sn = request.path_params["sn"]
        known = await asyncio.to_thread(self.foxden.store.device, sn)
        return HTMLResponse(pages.device(sn), status_code=200 if known else 404)

    async def admin_page(self, request: Request) -> Response:
        return HTMLResponse(pages.admin(fleet=self.foxden.runner is not None))

    async def asset(self, request: Request) -> Response:
        found = self.static.get(request.path_params["name"])
        if found is None:
            return Response("not found", status_code=404, media_type="text/plain")
        data, kind, tag = found
        headers = {"ETag": tag, "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == tag:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type=kind, headers=headers)

    # ------------------------------------------------------------ JSON for the pages

    async def fleet(self, request: Request) -> Response:
        answer = await asyncio.to_thread(views.fleet, self.source)
        return Response(msgspec.json.encode(answer), media_type=_JSON)

    async def catalogue(self, request: Request) -> Response:
        return Response(self._catalogue, media_type=_JSON)

    async def call(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_CALL_BODY:
            return JSONResponse({"error": "request too large"}, status_code=413)
        try:
            asked: Any = msgspec.json.decode(body or b"{}")
        except msgspec.DecodeError:
            asked = None
        if not isinstance(asked, dict):
            asked = {}
        name = asked.get("endpoint")
        answer = await asyncio.to_thread(
            views.call, self.source, name if isinstance(name, str) else "", asked.get("params")
        )
        return Response(answer, media_type=_JSON)

    async def device(self, request: Request) -> Response:
        answer = await asyncio.to_thread(views.device, self.source, request.path_params["sn"])
        return Response(answer, media_type=_JSON)

    async def settings(self, request: Request) -> Response:
        answer = await asyncio.to_thread(views.settings, self.source, request.path_params["sn"])
        return Response(answer, media_type=_JSON)
