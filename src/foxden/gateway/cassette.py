"""Cassettes: the gateway's upstream exchanges kept as JSON lines, and a server that answers
from them.

Recording wraps the upstream client's transport, so what is kept is exactly what went over
the socket: the request's method, path, query and body, and the answer's status, content
type and body bytes. The API key and the signature are never written: the ``token`` and
``signature`` headers are kept as ``REDACTED`` and the timestamp is dropped (it is part of
the signature). One file per UTC day, ``DIR/YYYY-MM-DD.jsonl``, appended to.

Replaying (``foxden serve --replay DIR``) matches an incoming request by method, path,
query and body (JSON compared as values, so key order and spacing do not matter) and
answers the recorded body byte for byte; when one request was recorded several times the
answers come in recorded order, the last one repeating. Keys are not checked (the
cassette holds none); a request the cassette lacks gets errno 41200 with the reason in the
``X-Foxden-Detail`` header.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.types import Receive, Scope, Send

from foxden.protocol.errno import ERRNO_TABLE, Errno

REDACTED = "REDACTED"
SECRET_HEADERS = ("token", "signature", "authorization")
KEPT_HEADERS = ("lang", "content-type")
VERSION = 1


def canonical(method: str, path: str, query: str, body: bytes) -> str:
    """The key a request is matched by: JSON bodies compared as values."""
    params = sorted(parse_qsl(query, keep_blank_values=True))
    try:
        value: Any = json.loads(body) if body.strip() else None
        shown = json.dumps(value, sort_keys=True, separators=(",", ":"))
    except ValueError:
        shown = body.decode("utf-8", "replace")
    return json.dumps([method.upper(), path, params, shown], separators=(",", ":"))


def _text_or_b64(data: bytes) -> dict[str, str]:
    try:
        return {"body": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_b64": base64.b64encode(data).decode("ascii")}


def _bytes_of(entry: dict[str, Any]) -> bytes:
    if "body_b64" in entry:
        return base64.b64decode(entry["body_b64"])
    return str(entry.get("body", "")).encode("utf-8")


def redacted_headers(headers: httpx.Headers) -> dict[str, str]:
    """The request headers a cassette keeps: secrets as REDACTED, the rest left out but
    for the language and content type."""
    kept: dict[str, str] = {}
    for name in SECRET_HEADERS:
        if name in headers:
            kept[name] = REDACTED
    for name in KEPT_HEADERS:
        if name in headers:
            kept[name] = headers[name]
    return kept


@dataclass
class Recorder:
    """Appends each exchange to the day's file in ``directory``."""

    directory: Path
    written: int = 0

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def record(self, request: httpx.Request, response: httpx.Response, body: bytes) -> None:
        now = datetime.now(UTC)
        entry = {
            "version": VERSION,
            "time": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "request": {
                "method": request.method,
                "path": request.url.path,
                "query": request.url.query.decode("ascii"),
                "headers": redacted_headers(request.headers),
                **_text_or_b64(request.content),
            },
            "response": {
                "status": response.status_code,
                "content_type": response.headers.get("content-type", "application/json"),
                **_text_or_b64(body),
            },
        }
        path = self.directory / f"{now:%Y-%m-%d}.jsonl"
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
        self.written += 1


class RecordingTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends through ``inner`` and records every answered request."""

    def __init__(self, recorder: Recorder, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.recorder = recorder
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.recorder.record(request, response, body)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=body,
            request=request,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


# ---------------------------------------------------------------- reading and replaying


@dataclass(frozen=True, slots=True)
class Recorded:
    """One exchange of a cassette."""

    method: str
    path: str
    query: str
    request_body: bytes
    status: int
    content_type: str
    body: bytes

    @property
    def key(self) -> str:
        return canonical(self.method, self.path, self.query, self.request_body)


class CassetteError(Exception):
    """A cassette directory or line that cannot be read; the message names it."""


def read_cassettes(directory: Path) -> Iterator[Recorded]:
    """Every exchange in ``directory``'s ``*.jsonl`` files, file by file in name order."""
    if not directory.is_dir():
        raise CassetteError(f"{directory}: no such cassette directory")
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                    req, res = entry["request"], entry["response"]
                    yield Recorded(
                        str(req["method"]),
                        str(req["path"]),
                        str(req.get("query", "")),
                        _bytes_of(req),
                        int(res["status"]),
                        str(res.get("content_type", "application/json")),
                        _bytes_of(res),
                    )
                except (ValueError, KeyError, TypeError) as exc:
                    raise CassetteError(f"{path}:{number}: not a cassette entry ({exc})") from None


@dataclass
class Replay:
    """An ASGI app answering from cassettes."""

    exchanges: dict[str, list[Recorded]] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=dict)
    misses: int = 0

    @classmethod
    def load(cls, directory: Path) -> Replay:
        replay = cls()
        for recorded in read_cassettes(directory):
            replay.exchanges.setdefault(recorded.key, []).append(recorded)
        return replay

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.exchanges.values())

    def answer(self, method: str, path: str, query: str, body: bytes) -> Recorded | None:
        key = canonical(method, path, query, body)
        recorded = self.exchanges.get(key)
        if not recorded:
            return None
        n = self.served.get(key, 0)
        self.served[key] = n + 1
        return recorded[min(n, len(recorded) - 1)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            event = await receive()
            chunks.append(event.get("body", b""))
            if not event.get("more_body", False) or event["type"] == "http.disconnect":
                break
        body = b"".join(chunks)
        query = scope.get("query_string", b"").decode("latin-1")
        recorded = self.answer(scope["method"], scope["path"], query, body)
        headers: list[tuple[bytes, bytes]]
        if recorded is None:
            self.misses += 1
            content = json.dumps(
                {"errno": int(Errno.QUERY_FAILED), "msg": ERRNO_TABLE[Errno.QUERY_FAILED].message},
                separators=(",", ":"),
            ).encode()
            detail = (
                f"the cassette holds no {scope['method']} {scope['path']} with this query and body"
            )
            headers = [
                (b"content-type", b"application/json"),
                (b"x-foxden-detail", detail.encode("utf-8")[:1000]),
            ]
            status = 200
        else:
            content = recorded.body
            headers = [(b"content-type", recorded.content_type.encode("latin-1"))]
            status = recorded.status
        headers.append((b"content-length", b"%d" % len(content)))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
