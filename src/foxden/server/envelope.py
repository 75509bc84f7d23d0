"""The one place that renders the vendor's answer envelope."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response

from foxden.protocol.errno import SUCCESS_MESSAGE, Errno

_encoder = msgspec.json.Encoder()


class _Ok(msgspec.Struct):
    errno: int
    msg: str
    result: Any


class _Err(msgspec.Struct):
    errno: int
    msg: str
    result: None = None


def body_ok(result: Any) -> bytes:
    return _encoder.encode(_Ok(0, SUCCESS_MESSAGE, result))


def body_error(errno: Errno | int, msg: str) -> bytes:
    return _encoder.encode(_Err(int(errno), msg))


def ok(result: Any) -> Response:
    return Response(body_ok(result), media_type="application/json")


def error(errno: Errno | int, msg: str) -> Response:
    return Response(body_error(errno, msg), media_type="application/json")
