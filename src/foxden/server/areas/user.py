"""The account's daily quota."""

from __future__ import annotations

from foxden.protocol import structs as s
from foxden.server.context import Ctx, Handler


def access_count(ctx: Ctx, req: None) -> s.AccessCount:
    now = ctx.wall.now_ms()
    total = ctx.quota.total(ctx.account.device_count)
    remaining = max(0, total - ctx.quota.used(ctx.account.id, now))
    return s.AccessCount(total=str(total), remaining=str(remaining))


HANDLERS: dict[str, Handler] = {"user.access_count": access_count}
