"""The baseline of the auth bench: a raw ASGI callable that answers every HTTP request with
one fixed JSON body, the same bytes foxden's getAccessCount gives a fresh account.

It does no routing, parsing or I/O beyond uvicorn's own, so the bench measures what the
ASGI server alone costs. Run it with ``python bench/launcher.py bare`` (or
``uvicorn --app-dir bench bare_app:app``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BODY = b'{"errno":0,"msg":"Operation successful","result":{"total":"1440","remaining":"1440"}}'

_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode("ascii")),
    ],
}
_BODY: Message = {"type": "http.response.body", "body": BODY, "more_body": False}


async def lifespan(receive: Receive, send: Send) -> None:
    """Accept lifespan start-up and shut-down, doing nothing."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer HTTP with ``BODY``; accept lifespan start-up and shut-down."""
    if scope["type"] == "http":
        await send(dict(_START))
        await send(dict(_BODY))
    elif scope["type"] == "lifespan":
        await lifespan(receive, send)


def fixed_body_app(body: bytes) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An app like ``app`` answering ``body`` (e.g. a recorded history answer) once the
    request's body is read: what sending those bytes alone costs."""
    start: Message = {
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode("ascii")),
        ],
    }

    async def fixed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            while (await receive()).get("more_body", False):
                pass
            await send(dict(start))
            await send({"type": "http.response.body", "body": body, "more_body": False})
        elif scope["type"] == "lifespan":
            await lifespan(receive, send)

    return fixed
