"""Sending and waiting: the only I/O of the client, sync and async side by side."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Self, TypeVar

import httpx

from foxden.client import core, errors
from foxden.client.core import Call, Pacer, RetryPolicy

T = TypeVar("T")


class _Common:
    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        lang: str = "en",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        min_interval_s: float = 0.0,
    ) -> None:
        self.api_key = core.clean_key(api_key if api_key is not None else core.default_api_key())
        self.base_url = (base_url or core.default_base_url()).rstrip("/")
        self.lang = lang
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.pacer = Pacer(min_interval_s)
        self.last_request_id: str | None = None

    def _request(self, c: Call[Any]) -> httpx.Request:
        return httpx.Request(
            c.endpoint.method,
            self.base_url + c.path,
            params=c.params,
            content=core.encode_body(c),
            headers=core.headers(self.api_key, c.path, time.time_ns() // 1_000_000, self.lang),
        )

    def _parse(self, c: Call[T], response: httpx.Response) -> T:
        self.last_request_id = response.headers.get("x-request-id")
        return core.parse(
            c,
            response.status_code,
            response.content,
            self.last_request_id,
            response.headers.get(core.DETAIL_HEADER),
        )


class SyncBase(_Common):
    """Blocking client over httpx.Client; pass ``transport=`` to test in process."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        **options: Any,
    ) -> None:
        super().__init__(api_key, base_url, **options)
        self._http = httpx.Client(transport=transport, timeout=self.timeout)

    def _run(self, c: Call[T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            time.sleep(self.pacer.wait(time.monotonic()))
            try:
                try:
                    response = self._http.send(self._request(c))
                except httpx.HTTPError as exc:
                    raise errors.from_httpx(exc, self.base_url + c.path, self.api_key) from None
                return self._parse(c, response)
            except errors.FoxError as exc:
                if not self.retry.should_retry(exc, attempt):
                    raise
                time.sleep(self.retry.delay(attempt))

    def execute(self, c: Call[T]) -> T:
        """Send a prepared call (``foxden.client.calls`` builds them) and return its result;
        what every method of the client does."""
        return self._run(c)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncBase(_Common):
    """Asyncio client over httpx.AsyncClient; pass ``transport=`` to test in process."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Any,
    ) -> None:
        super().__init__(api_key, base_url, **options)
        self._http = httpx.AsyncClient(transport=transport, timeout=self.timeout)

    async def _run(self, c: Call[T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            await asyncio.sleep(self.pacer.wait(time.monotonic()))
            try:
                try:
                    response = await self._http.send(self._request(c))
                except httpx.HTTPError as exc:
                    raise errors.from_httpx(exc, self.base_url + c.path, self.api_key) from None
                return self._parse(c, response)
            except errors.FoxError as exc:
                if not self.retry.should_retry(exc, attempt):
                    raise
                await asyncio.sleep(self.retry.delay(attempt))

    async def execute(self, c: Call[T]) -> T:
        """Send a prepared call (``foxden.client.calls`` builds them) and return its result;
        what every method of the client does."""
        return await self._run(c)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
