"""The client's shared core, with no I/O: building signed requests, reading answers,
deciding retries and pacing. ``Client`` and ``AsyncClient`` only add the waiting and the
sending, so the two cannot drift apart.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec

from foxden import __version__
from foxden.client import errors
from foxden.protocol import signing
from foxden.protocol.endpoints import BY_NAME, Endpoint
from foxden.protocol.structs import Envelope

T = TypeVar("T")

VENDOR_BASE_URL = "https://www.foxesscloud.com"
USER_AGENT = f"foxden/{__version__} (+python; Open API client)"
RETRY_ERRNOS = frozenset({40400, 40401, 41200, 44098})
"""Too frequent (40400, and 40401 as some clients see it), query failed, write failed."""


def default_base_url() -> str:
    return os.environ.get("FOXDEN_BASE_URL") or VENDOR_BASE_URL


def default_api_key() -> str:
    return os.environ.get("FOXDEN_API_KEY", "")


def clean_key(key: str) -> str:
    """The key without surrounding whitespace (a key read from a file keeps its newline);
    one with whitespace or control characters inside raises KeyFormatError."""
    key = key.strip()
    if any(ch.isspace() or not ch.isprintable() for ch in key):
        raise errors.KeyFormatError(
            "the API key holds whitespace or control characters; check how it was copied"
        )
    return key


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One API call, ready to sign and send: endpoint, query or body, and result type."""

    endpoint: Endpoint
    result_type: Any
    params: dict[str, Any] | None = None
    body: dict[str, Any] | None = None

    @property
    def path(self) -> str:
        return self.endpoint.path


def call(name: str, result_type: Any = Any, **fields: Any) -> Call[Any]:
    """A Call of the catalogue endpoint ``name`` with request ``fields`` (None dropped)."""
    endpoint = BY_NAME[name]
    data = {k: v for k, v in fields.items() if v is not None}
    data = msgspec.to_builtins(data)
    if endpoint.params_in_query:
        return Call(endpoint, result_type, params={k: str(v) for k, v in data.items()})
    return Call(endpoint, result_type, body=data if endpoint.request is not None else None)


@dataclass(slots=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter; ``rng`` is replaceable in tests."""

    max_retries: int = 3
    base_s: float = 1.0
    cap_s: float = 30.0
    rng: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        ceiling: float = min(self.cap_s, self.base_s * 2.0 ** (attempt - 1))
        return float(self.rng()) * ceiling

    def should_retry(self, exc: errors.FoxError, attempt: int) -> bool:
        if attempt > self.max_retries:
            return False
        if isinstance(exc, errors.ApiError):
            return exc.errno in RETRY_ERRNOS
        return isinstance(exc, errors.TransportError)


@dataclass(slots=True)
class Pacer:
    """Keeps calls at least ``min_interval_s`` apart so a program never meets 40400."""

    min_interval_s: float = 0.0
    _next_s: float = 0.0

    def wait(self, now_s: float) -> float:
        """Seconds to wait now; reserves the slot."""
        start = max(now_s, self._next_s)
        self._next_s = start + self.min_interval_s
        return start - now_s


def headers(api_key: str, path: str, now_ms: int, lang: str) -> dict[str, str]:
    """Signed headers, fresh for every attempt."""
    return {
        **signing.headers(path, api_key, now_ms, lang),
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
    }


def encode_body(c: Call[Any]) -> bytes | None:
    return msgspec.json.encode(c.body) if c.body is not None else None


DETAIL_HEADER = "X-Foxden-Detail"
"""A foxden server says here which field was wrong and why (the vendor cloud does not)."""


def _serials(c: Call[Any]) -> str:
    fields = {**(c.params or {}), **(c.body or {})}
    named = fields.get("sn") or fields.get("deviceSN") or fields.get("sns") or ""
    return ", ".join(named) if isinstance(named, list) else str(named)


def parse(
    c: Call[T], status: int, content: bytes, request_id: str | None, detail: str | None = None
) -> T:
    """The result of an answer, or the matching exception (with the server's detail)."""
    try:
        env = msgspec.json.decode(content, type=Envelope[Any])
    except msgspec.DecodeError:
        if status in (401, 403):  # some gateways refuse a key with a bare HTTP status
            raise errors.AuthError(41809, f"HTTP {status}", c.path, request_id) from None
        raise errors.TransportError(
            f"{c.path}: HTTP {status}, body is not the Open API envelope: {content[:120]!r}"
        ) from None
    if env.errno != 0:
        error = errors.api_error(env.errno, env.msg, c.path, request_id, detail)
        error.sn = _serials(c)
        raise error
    if c.result_type is Any or env.result is None:
        return env.result  # type: ignore[return-value]
    try:
        return msgspec.convert(env.result, c.result_type, strict=False)  # type: ignore[no-any-return]
    except msgspec.ValidationError as exc:
        raise errors.TransportError(f"{c.path}: unexpected result shape: {exc}") from None
