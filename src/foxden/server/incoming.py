"""What an Open API request brings, read from raw ASGI: its body, headers and query, the
protocol struct it decodes to (40257 naming the field when it does not), and what the
journal and the ``X-Foxden-Detail`` header make of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from starlette.types import Receive, Scope

from foxden.protocol.endpoints import Endpoint
from foxden.server import validate
from foxden.server.errors import ApiError, invalid
from foxden.server.journal import Exchange


def describe_validation(exc: msgspec.MsgspecError) -> ApiError:
    """A decoder error as errno 40257 naming the field."""
    text = str(exc)
    field = ""
    if " - at `$." in text:
        text, _, where = text.rpartition(" - at `$.")
        field = where.rstrip("`")
    elif " - at `$[" in text:
        text, _, where = text.rpartition(" - at `$")
        field = where.rstrip("`")
    if text.startswith("Object missing required field `"):
        missing = text.split("`")[1]
        return invalid(f"{field}.{missing}" if field else missing, "required")
    if text.startswith("Object contains unknown field `"):
        unknown = text.split("`")[1]
        return invalid(f"{field}.{unknown}" if field else unknown, "unknown field")
    if not field:
        if isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError):
            return invalid("body", "must be a JSON object")
        return invalid("body", text.replace("`", ""))
    return invalid(field, text.replace("`", "").replace("Expected", "expected"))


RawView = Callable[[Scope, Receive, Exchange], Awaitable[tuple[bytes, str]]]
"""An Open API view on raw ASGI: the answer's JSON body (HTTP 200) and the detail of a
refusal for the ``X-Foxden-Detail`` header ("" when there is none); it fills in the
journal's record of the call as it goes."""

SyncView = Callable[[Scope, bytes, Exchange], "tuple[bytes, str] | None"]
"""The same view answering at once from a request whose body has been read (``bytes``):
its answer, or None when it cannot answer without waiting; the call is then given to the
``RawView``, which goes on from where this one stopped (what it had checked and counted is
left in the scope: nothing is spent twice)."""

DirectAnswer = Callable[[Scope, bytes, Callable[[bytes, bytes], None]], bool]
"""A call the HTTP protocol may answer without an ASGI cycle (``foxden.server.http``): given
the scope (method, path, query string, headers), the body and a writer of the answer's header
lines and body, it answers and says True, or says False having written nothing; the protocol
then gives the request, with that scope, to the app."""

DETAIL_HEADER = "X-Foxden-Detail"
DETAIL_HEADER_RAW = DETAIL_HEADER.lower().encode("ascii")
_CONTROL = {c: " " for c in (*range(0x20), 0x7F)}


def detail_header_value(detail: str) -> bytes:
    """The detail as a header value: control characters become spaces, UTF-8, at most
    1000 bytes."""
    return detail.translate(_CONTROL).encode("utf-8")[:1000]


async def read_body(receive: Receive, limit: int = 0) -> bytes:
    """The request body; 40257 as soon as it passes ``limit`` bytes (0: no limit)."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit and size > limit:
            raise validate.too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def header_map(scope: Scope) -> dict[str, str]:
    """Request headers by lower-case name (the last one wins)."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


_SIGNED = {name.encode("ascii"): name for name in ("token", "timestamp", "signature", "lang")}
_UNSIGNED = frozenset(
    {b"host", b"content-type", b"content-length", b"user-agent", b"accept", b"accept-encoding"}
)
"""Headers most requests also carry, known at once not to be signed ones."""


def signed_headers(scope: Scope) -> dict[str, str]:
    """The four headers a signed call needs (``header_map`` of them alone: the last of each
    wins, names compared in lower case), without decoding the rest."""
    found = {}
    signed = _SIGNED
    for raw, value in scope["headers"]:
        name = signed.get(raw)
        if name is None:
            if raw in _UNSIGNED:
                continue
            name = signed.get(raw.lower())
            if name is None:
                continue
        found[name] = value.decode("latin-1")
    return found


def query_params(query: str) -> dict[str, str]:
    """``dict(parse_qsl(query))``: a plain query (nothing escaped) is split directly."""
    if "%" in query or "+" in query:
        return dict(parse_qsl(query))
    params = {}
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if value:  # parse_qsl drops a name without a value
            params[name] = value
    return params


def decoder_for(endpoint: Endpoint) -> Callable[[Exchange], Any]:
    request_type = endpoint.request
    if request_type is None:

        def none(call: Exchange) -> Any:
            return None

        return none
    if endpoint.params_in_query:

        def from_query(call: Exchange) -> Any:
            params = query_params(call.query)
            validate.check_nul_query(params)
            try:
                return msgspec.convert(params, request_type, strict=False)
            except msgspec.ValidationError as exc:
                raise describe_validation(exc) from None

        return from_query
    decoder = msgspec.json.Decoder(request_type, strict=False)

    def from_body(call: Exchange) -> Any:
        validate.check_depth(call.body)
        validate.check_nul_body(call.body)
        try:
            return decoder.decode(call.body or b"{}")
        except msgspec.DecodeError as exc:
            raise describe_validation(exc) from None
        except RecursionError:  # check_depth stops this first; kept as a last guard
            raise invalid("body", "nested too deeply") from None

    return from_body


def write_target(parsed: Any) -> str:
    """The inverter a setting write is for (``sn`` or ``deviceSN`` of the request)."""
    target = getattr(parsed, "sn", None) or getattr(parsed, "deviceSN", None)
    return str(target) if target else ""
