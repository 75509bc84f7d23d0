"""Header checks, signature, rate limit and quota for every /op/ request.

Order: the four headers present (40256 naming the missing one), the timestamp near the
server clock (40256 illegal timestamp), the token known and the signature right (41808
either way, so a caller cannot learn whether a token exists), the per-key rate (40400),
then the daily quota (40402).
"""

from __future__ import annotations

from collections.abc import Mapping

from foxden.accounts import key_hash
from foxden.protocol import signing
from foxden.protocol.errno import Errno
from foxden.server.errors import ApiError
from foxden.server.limits import QuotaKeeper, RateLimiter
from foxden.store import Account, Store

REQUIRED_HEADERS = ("token", "timestamp", "signature", "lang")


class Authenticator:
    def __init__(
        self,
        store: Store,
        window_ms: int,
        rate: RateLimiter,
        quota: QuotaKeeper,
    ) -> None:
        self.store = store
        self.window_ms = window_ms
        self.rate = rate
        self.quota = quota

    def check(self, path: str, headers: Mapping[str, str], now_ms: int, counted: bool) -> Account:
        values = {}
        for name in REQUIRED_HEADERS:
            value = headers.get(name)
            if value is None or not value.strip():
                raise ApiError(Errno.HEADER_INVALID, f"no {name}")
            values[name] = value.strip()
        try:
            stamp = int(values["timestamp"])
        except ValueError:
            raise ApiError(Errno.HEADER_INVALID, "illegal timestamp") from None
        if abs(stamp - now_ms) > self.window_ms:
            raise ApiError(Errno.HEADER_INVALID, "illegal timestamp")
        token = values["token"]
        account = self.store.account_by_key_hash(key_hash(token))
        signed = signing.verify(path, token, values["timestamp"], values["signature"])
        if account is None or not signed:
            raise ApiError(Errno.TOKEN_INVALID)
        if not self.rate.allow(account.id, now_ms):
            raise ApiError(Errno.TOO_FREQUENT)
        if counted and not self.quota.try_spend(account.id, account.device_count, now_ms):
            raise ApiError(Errno.QUOTA_EXCEEDED)
        return account
