"""What a monitor or a reader finds outside the Open API: ``GET /docs`` the API's
reference rendered from the protocol catalogue (no scripts, no CDN: it works offline),
``GET /health`` the version, database and fleet state as JSON. The pages for people
(``/`` and the rest of the dashboard) are in ``foxden.server.ui``.
"""

from __future__ import annotations

import asyncio
import html
import time
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from foxden import __version__
from foxden.protocol.endpoints import ENDPOINTS, Endpoint
from foxden.protocol.errno import ERRNO_TABLE

if TYPE_CHECKING:
    from foxden.server.app import FoxdenApp

STYLE = """
:root { color-scheme: light dark; --fg: #222; --bg: #fff; --code: #f4f4f4; --line: #ccc; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e9ef; --bg: #12151b; --code: #1b2029; --line: #3a4250; }
  a { color: #8cc4ff; }
}
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: var(--fg); background: var(--bg); }
code, pre { font-family: ui-monospace, monospace; background: var(--code); padding: 0 .2em; }
pre { padding: .6em; overflow-x: auto; }
table { border-collapse: collapse; margin: .5em 0 1.2em; }
th, td { border: 1px solid var(--line); padding: .25em .5em; text-align: left;
         vertical-align: top; }
h2 { margin-top: 2em; border-bottom: 1px solid var(--line); }
.method { font-weight: bold; }
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title>"
        "<link rel='icon' href='/ui/static/icon.svg' type='image/svg+xml'>"
        f"<style>{STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def _fields(kind: Any) -> list[tuple[str, str, bool]]:
    """(name, type, required) of a request struct's fields."""
    if kind is None:
        return []
    info = msgspec.inspect.type_info(kind)
    if not isinstance(info, msgspec.inspect.StructType):
        return []
    return [
        (f.encode_name, type(f.type).__name__.removesuffix("Type").lower(), f.required)
        for f in info.fields
    ]


def _endpoint_html(e: Endpoint) -> str:
    paths = ", ".join(f"<code>{html.escape(p)}</code>" for p in (e.path, *e.aliases))
    where = "query" if e.params_in_query else "JSON body"
    rows = "".join(
        f"<tr><td><code>{html.escape(name)}</code></td><td>{kind}</td>"
        f"<td>{'yes' if required else 'no'}</td></tr>"
        for name, kind, required in _fields(e.request)
    )
    table = (
        f"<table><tr><th>field ({where})</th><th>type</th><th>required</th></tr>{rows}</table>"
        if rows
        else "<p>No parameters.</p>"
    )
    return (
        f"<h3 id='{html.escape(e.name)}'><span class='method'>{e.method}</span> {paths}</h3>"
        f"<p>{html.escape(e.summary)}</p>{table}"
    )


def docs_html() -> str:
    """The API reference from the catalogue: every endpoint by area, then the errno table."""
    areas: dict[str, list[Endpoint]] = {}
    for e in ENDPOINTS:
        areas.setdefault(e.area, []).append(e)
    index = " · ".join(f"<a href='#area-{a}'>{html.escape(a)}</a>" for a in areas)
    sections = "".join(
        f"<h2 id='area-{a}'>{html.escape(a)}</h2>" + "".join(_endpoint_html(e) for e in es)
        for a, es in areas.items()
    )
    errnos = "".join(
        f"<tr><td>{int(entry.errno)}</td><td>{html.escape(entry.meaning)}</td>"
        f"<td>{html.escape(entry.advice)}</td></tr>"
        for entry in ERRNO_TABLE.values()
    )
    body = (
        "<h1>foxden Open API reference</h1>"
        "<p>Every call needs the headers <code>token</code>, <code>timestamp</code> (ms), "
        "<code>signature</code> and <code>lang</code>; the signature is the md5 hex of "
        '<code>path + "\\r\\n" + token + "\\r\\n" + timestamp</code> with the four literal '
        "characters backslash, r, backslash, n between the parts. Every answer is "
        '<code>{"errno": 0, "msg": ..., "result": ...}</code>; test errno, not msg. '
        "The machine-readable description is <a href='/openapi.json'>/openapi.json</a> "
        "(OpenAPI 3.1).</p>"
        f"<p>{index} · <a href='#errno'>errno</a> · <a href='/'>home</a></p>{sections}"
        "<h2 id='errno'>errno</h2><table><tr><th>errno</th><th>meaning</th><th>what to do"
        f"</th></tr>{errnos}</table>"
    )
    return _page("foxden Open API reference", body)


class Home:
    """The routes outside the Open API for people and monitors."""

    def __init__(self, foxden: FoxdenApp) -> None:
        self.foxden = foxden
        self.started = time.time()
        self._docs = docs_html()

    def routes(self) -> list[Route]:
        return [
            Route("/docs", self.docs, methods=["GET"]),
            Route("/health", self.health, methods=["GET"]),
        ]

    async def docs(self, request: Request) -> Response:
        return HTMLResponse(self._docs)

    async def health(self, request: Request) -> Response:
        """200 with the state when the database answers, 503 when it does not."""
        foxden = self.foxden
        url = foxden.settings.database()
        database: dict[str, Any] = {"backend": url.split(":", 1)[0]}
        try:
            database["accounts"] = len(await asyncio.to_thread(foxden.store.accounts))
            database["ok"] = True
        except Exception as exc:  # the answer reports it; the server keeps running
            database["ok"] = False
            database["error"] = type(exc).__name__
        runner = foxden.runner
        fleet: dict[str, Any] = {"simulated": runner is not None}
        if runner is not None:
            clock = foxden.admin.clock
            fleet["inverters"] = len(runner.fleet.specs) if runner.fleet is not None else 0
            fleet["speed"] = clock.speed
            fleet["frozen"] = clock.frozen
            fleet["now_ms"] = clock.now_ms()
        answer = {
            "status": "ok" if database["ok"] else "database unavailable",
            "version": __version__,
            "uptime_s": round(time.time() - self.started, 1),
            "database": database,
            "fleet": fleet,
        }
        return JSONResponse(answer, status_code=200 if database["ok"] else 503)
