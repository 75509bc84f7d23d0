"""The client's exceptions, one tree:

    FoxError
    ├── KeyFormatError            the API key cannot be sent (whitespace or control characters)
    ├── TransportError            the request did not get an answer (network, timeout, non-JSON)
    │   └── TimeoutError
    └── ApiError                  the server answered with a non-zero errno
        ├── AuthError             40256 headers, 41808/41809 token invalid
        ├── InvalidParameterError 40257 (and 42023 TimeOverlapError)
        │   └── TimeOverlapError
        ├── DeviceNotFoundError   40261 / 41930
        ├── RateLimitedError      40400 / 40401 (retried by the client)
        ├── QuotaExceededError    40402
        ├── UnsupportedError      42015 / 44096
        └── TransientError        41200 / 44098 (retried by the client)

Every ApiError carries errno, the server's msg (the cloud's own text), the detail a foxden
server adds in its X-Foxden-Detail header (which field, why; "" from the vendor cloud), the
errno's meaning from the protocol table, the path and the request id when the server sent
one.
"""

from __future__ import annotations

import httpx

from foxden.protocol import errno as errno_table


class FoxError(Exception):
    """Anything this client raises."""


class KeyFormatError(FoxError):
    """The API key holds whitespace or control characters inside: no server would take it.
    Raised before anything is sent; the message never holds the key."""


class TransportError(FoxError):
    """No usable answer: the network failed, the server timed out, or the body was not JSON.
    The message names the URL tried."""


class TimeoutError(TransportError):
    """The request timed out."""


class ApiError(FoxError):
    """The Open API answered with a non-zero errno."""

    sn: str = ""
    """The inverter serial number(s) the request named, if any (for messages)."""

    def __init__(
        self,
        errno: int,
        msg: str,
        path: str,
        request_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        entry = errno_table.info(errno)
        self.errno = errno
        self.msg = msg
        self.detail = detail or ""
        self.path = path
        self.request_id = request_id
        self.meaning = entry.meaning if entry else "undocumented errno"
        self.advice = entry.advice if entry else ""
        text = f"{path}: errno {errno}: {msg}"
        super().__init__(f"{text} ({self.detail})" if self.detail else text)


class AuthError(ApiError):
    """Missing or bad headers, unknown or rotated key, bad signature."""


class InvalidParameterError(ApiError):
    """The request's parameters broke a rule; ``detail`` names the field (from foxden)."""


class TimeOverlapError(InvalidParameterError):
    """Scheduler segments (or force-charge periods) overlap."""


class DeviceNotFoundError(ApiError):
    """The serial number is unknown to this account."""


class RateLimitedError(ApiError):
    """Too many requests; slow down."""


class QuotaExceededError(ApiError):
    """The day's call quota is spent."""


class UnsupportedError(ApiError):
    """The device does not support this feature or setting now."""


class TransientError(ApiError):
    """The server failed for now; try again later."""


_BY_ERRNO: dict[int, type[ApiError]] = {
    40256: AuthError,
    41808: AuthError,
    41809: AuthError,
    40257: InvalidParameterError,
    42023: TimeOverlapError,
    40261: DeviceNotFoundError,
    41930: DeviceNotFoundError,
    40400: RateLimitedError,
    40401: RateLimitedError,
    40402: QuotaExceededError,
    42015: UnsupportedError,
    44096: UnsupportedError,
    41200: TransientError,
    44098: TransientError,
}


def api_error(
    errno: int, msg: str, path: str, request_id: str | None = None, detail: str | None = None
) -> ApiError:
    """The most specific ApiError for an errno."""
    return _BY_ERRNO.get(errno, ApiError)(errno, msg, path, request_id, detail)


def from_httpx(exc: httpx.HTTPError, url: str, secret: str = "") -> TransportError:
    """The one place foreign transport errors become ours; ``secret`` (the key) is blanked
    out of the text should the foreign message quote it."""
    text = str(exc).replace(secret, "***") if secret else str(exc)
    if isinstance(exc, httpx.TimeoutException):
        return TimeoutError(f"{url}: timed out: {text}")
    return TransportError(f"{url}: {type(exc).__name__}: {text}")
