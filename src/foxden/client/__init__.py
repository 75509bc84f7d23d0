"""The Open API client: ``Client`` (blocking) and ``AsyncClient`` (asyncio) on httpx.

Both default to the vendor cloud; ``base_url=`` or ``FOXDEN_BASE_URL`` points them at a
foxden server, ``api_key=`` or ``FOXDEN_API_KEY`` gives the key.
"""

from __future__ import annotations

from foxden.client import calls
from foxden.client.core import Pacer, RetryPolicy
from foxden.client.errors import (
    ApiError,
    AuthError,
    DeviceNotFoundError,
    FoxError,
    InvalidParameterError,
    QuotaExceededError,
    RateLimitedError,
    TimeOverlapError,
    TransientError,
    TransportError,
    UnsupportedError,
)
from foxden.client.generated import AsyncClient, Client

__all__ = [
    "ApiError",
    "AsyncClient",
    "AuthError",
    "Client",
    "DeviceNotFoundError",
    "FoxError",
    "InvalidParameterError",
    "Pacer",
    "QuotaExceededError",
    "RateLimitedError",
    "RetryPolicy",
    "TimeOverlapError",
    "TransientError",
    "TransportError",
    "UnsupportedError",
    "calls",
]
