"""Accounts and API keys in the admin API: ``GET /admin/accounts`` lists them with today's
quota use, ``POST /admin/accounts {"name"}`` creates one and ``POST
/admin/accounts/{name}/key`` gives one a new key (the old one stops working at once).
A new key is in that answer only: the store keeps its hash. Same token and error shape as
the rest of the admin API; the same functions as ``foxden account`` and ``foxden key``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.routing import Route

from foxden import accounts
from foxden.server.double_admin import BadRequest, guarded

if TYPE_CHECKING:
    from foxden.server.app import FoxdenApp


class NewAccount(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=64)]


class AccountAdmin:
    def __init__(self, foxden: FoxdenApp, token: str) -> None:
        self.foxden = foxden
        self.token = token

    def routes(self) -> list[Route]:
        g = self.token
        return [
            Route("/admin/accounts", guarded(g, self.list_accounts), methods=["GET"]),
            Route("/admin/accounts", guarded(g, self.create), methods=["POST"]),
            Route("/admin/accounts/{name}/key", guarded(g, self.rotate), methods=["POST"]),
        ]

    async def list_accounts(self, request: Request) -> dict[str, Any]:
        """With today's (UTC) calls as the quota keeper counts them, unsaved ones too."""
        quota = self.foxden.quota
        now = self.foxden.wall.now_ms()
        listing = [
            {
                "name": a.name,
                "devices": a.device_count,
                "used_today": quota.used(a.id, now),
                "quota": quota.total(a.device_count),
            }
            for a in await asyncio.to_thread(self.foxden.store.accounts)
        ]
        return {"accounts": listing}

    async def create(self, request: Request) -> dict[str, Any]:
        body = msgspec.json.decode((await request.body()) or b"{}", type=NewAccount)
        try:
            account, key = await asyncio.to_thread(
                accounts.create_account, self.foxden.store, body.name, self.foxden.wall.now_ms()
            )
        except accounts.AccountError as exc:
            raise BadRequest(400, str(exc)) from None
        return {"name": account.name, "key": key}

    async def rotate(self, request: Request) -> dict[str, Any]:
        name = request.path_params["name"]
        try:
            key = await asyncio.to_thread(accounts.rotate_key, self.foxden.store, name)
        except accounts.AccountError as exc:
            raise BadRequest(404, str(exc)) from None
        return {"name": name, "key": key}
