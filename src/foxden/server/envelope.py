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


_OK_HEAD = _encoder.encode(_Ok(0, SUCCESS_MESSAGE, None)).removesuffix(b"null}")


class Enveloped:
    """A success answer its handler built from pieces of JSON, joined once with the
    envelope around them (an all-variable history is most of a megabyte: wrapping its
    bytes afterwards would copy them again). ``bytes()`` of it is the result alone."""

    __slots__ = ("whole",)

    def __init__(self, pieces: list[bytes | memoryview]) -> None:
        self.whole = b"".join([_OK_HEAD, *pieces, b"}"])

    def __bytes__(self) -> bytes:
        return self.whole[len(_OK_HEAD) : -1]


def body_ok(result: Any) -> bytes:
    if type(result) is Enveloped:
        return result.whole
    return _encoder.encode(_Ok(0, SUCCESS_MESSAGE, result))


def body_error(errno: Errno | int, msg: str) -> bytes:
    return _encoder.encode(_Err(int(errno), msg))


def ok(result: Any) -> Response:
    return Response(body_ok(result), media_type="application/json")


def error(errno: Errno | int, msg: str) -> Response:
    return Response(body_error(errno, msg), media_type="application/json")
