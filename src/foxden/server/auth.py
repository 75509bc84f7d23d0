"""Header checks, signature, pacing and quota for every /op/ request.

Order: the four headers present (40256 naming the missing one), the timestamp near the
server clock (40256 illegal timestamp), the token known and the signature right (41808
either way, so a caller cannot learn whether a token exists), the limit profile's pacing of
query interfaces (40400), then the daily quota (40402).

With limits in Redis the server splits the check in two: :meth:`Authenticator.identify`
(headers, timestamp, key and signature: cached rows, no round trip once warm) and
:meth:`Authenticator.admit` (replay, pacing, bucket and quota), which awaits Redis on the event
loop; the two in this order give the same answer as :meth:`Authenticator.check`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import NamedTuple

from foxden.accounts import key_hash
from foxden.limits_policy import LimitProfile
from foxden.protocol import signing
from foxden.protocol.errno import Errno
from foxden.server.errors import ApiError, header_invalid
from foxden.server.limits import QuotaKeeper, RateLimiter, Spacing
from foxden.server.shared_limits import ADMITTED, BUCKET, PACED, STALE, Expected, RedisLimits
from foxden.store import Account, Store

REQUIRED_HEADERS = ("token", "timestamp", "signature", "lang")


class ReplayCache:
    """Signatures accepted within the timestamp window; the same one again is a replay.

    The vendor's signature covers the path, the key and the timestamp only, so anyone who
    sees a request can send it again (with another body) until its timestamp leaves the
    window. With this cache on, a signature is accepted once. Only verified signatures are
    kept, each until its timestamp leaves the window, at most ``max_entries`` of them
    (the oldest are forgotten first)."""

    def __init__(self, window_ms: int, max_entries: int = 1_000_000) -> None:
        self.window_ms = window_ms
        self.max_entries = max_entries
        self._seen: dict[str, int] = {}

    def first_use(self, signature: str, stamp_ms: int, now_ms: int) -> bool:
        seen = self._seen
        while seen:
            oldest = next(iter(seen))
            if seen[oldest] >= now_ms and len(seen) < self.max_entries:
                break
            del seen[oldest]
        key = signature.lower()
        if key in seen:
            return False
        seen[key] = stamp_ms + self.window_ms
        return True


class Identified(NamedTuple):
    """A caller whose headers, key and signature passed: what admission needs next."""

    account: Account
    signature: str
    stamp_ms: int


class Authenticator:
    def __init__(
        self,
        store: Store,
        window_ms: int,
        rate: RateLimiter,
        quota: QuotaKeeper,
        profile: LimitProfile,
        replay_cache: bool = False,
        shared: RedisLimits | None = None,
    ) -> None:
        self.store = store
        self.shared = shared
        """Limits kept in Redis for every worker (pacing, bucket, quota); None: in memory."""
        self.replays = ReplayCache(window_ms) if replay_cache else None
        self.window_ms = window_ms
        self.rate = rate
        self.quota = quota
        self.profile = profile
        self.paths = Spacing(profile.path_interval_ms)
        self.device_writes = Spacing(profile.device_write_interval_ms)
        self._hashes: dict[str, str] = {}
        """SHA-256 of the tokens seen (a client sends the same one with every call)."""

    def _key_hash(self, token: str) -> str:
        found = self._hashes.get(token)
        if found is None:
            if len(self._hashes) >= 10_000:
                self._hashes.clear()
            found = self._hashes[token] = key_hash(token)
        return found

    def check(
        self,
        path: str,
        headers: Mapping[str, str],
        now_ms: int,
        counted: bool,
        paced: bool = False,
    ) -> Account:
        """The calling account, or the ApiError of the first check that fails; ``paced``:
        the path is a query interface, one call a second per key (cloud profile)."""
        account, signature, stamp = self._identify(path, headers, now_ms)
        if counted and self.shared is None:
            # the quota's count read before anything is spent or remembered: a store that
            # may not wait (foxden.store.waiting) fails here, with nothing changed yet
            self.quota.used(account.id, now_ms)
            self.quota.may_count_here()
        if self.replays is not None and not (
            self.shared.first_use(signature, stamp, self.window_ms, now_ms)
            if self.shared is not None
            else self.replays.first_use(signature, stamp, now_ms)
        ):
            raise self._replayed()
        if self.shared is not None:
            self._admit_shared(self.shared, account, path, now_ms, counted, paced)
            return account
        wait = self.paths.wait_ms((account.id, path), now_ms) if paced else 0
        if wait:
            raise self._too_frequent(path, wait)
        if self.profile.key_bucket and not self.rate.allow(account.id, now_ms):
            raise self._over_rate()
        if counted and not self.quota.try_spend(
            account.id, account.device_count, now_ms, self.profile.quota
        ):
            raise self._quota_spent(account)
        if paced:
            self.paths.record((account.id, path), now_ms)
        return account

    def identify(self, path: str, headers: Mapping[str, str], now_ms: int) -> Identified:
        """The first checks of :meth:`check`: the headers present, the timestamp inside the
        window, the key known and the signature right (inside a view of the store)."""
        return Identified(*self._identify(path, headers, now_ms))

    def _identify(
        self, path: str, headers: Mapping[str, str], now_ms: int
    ) -> tuple[Account, str, int]:
        """:meth:`identify` as a plain tuple (every call makes one)."""
        get = headers.get
        token = get("token", "").strip()
        timestamp = get("timestamp", "").strip()
        sent = get("signature", "").strip()
        if not (token and timestamp and sent and get("lang", "").strip()):
            for name in REQUIRED_HEADERS:  # the first one missing, in the cloud's order
                if not get(name, "").strip():
                    raise header_invalid(f"no {name}", f"request header {name!r} missing or empty")
        try:
            stamp = int(timestamp)
        except ValueError:
            raise header_invalid(
                "illegal timestamp", "timestamp must be milliseconds since 1970"
            ) from None
        if abs(stamp - now_ms) > self.window_ms:
            raise header_invalid(
                "illegal timestamp",
                f"timestamp is {stamp - now_ms:+d} ms from the server clock "
                f"(at most {self.window_ms} ms allowed)",
            )
        account = self.store.account_by_key_hash(self._hashes.get(token) or self._key_hash(token))
        signed = signing.verify(path, token, timestamp, sent)
        if account is None or not signed:
            raise ApiError(
                Errno.TOKEN_INVALID,
                "unknown API key, or the signature is not md5(path + '\\r\\n' + token + "
                "'\\r\\n' + timestamp) of this request",
            )
        return account, sent, stamp

    async def admit(
        self,
        caller: Identified,
        path: str,
        now_ms: int,
        counted: bool,
        paced: bool,
        seed: Callable[[int, str], Awaitable[int]],
        expect: Expected | None = None,
    ) -> bool:
        """The rest of :meth:`check` with limits in Redis, awaited on the event loop: the
        replay cache, then pacing, bucket and quota in one script. ``seed(account, day)``:
        the day's stored count, read where the store may be waited for. ``expect`` (without
        the replay cache only): False, and nothing spent, when the change counters the
        caller was identified with no longer stand (``RedisLimits.admit_async``)."""
        shared = self.shared
        assert shared is not None, "admission on the loop needs the limits in Redis"
        assert expect is None or self.replays is None, "a replay check is not undone"
        account = caller.account
        if self.replays is not None and not await shared.first_use_async(
            caller.signature, caller.stamp_ms, self.window_ms, now_ms
        ):
            raise self._replayed()
        code, value = await shared.admit_async(
            account.id,
            account.device_count,
            path,
            now_ms,
            paced=paced,
            bucket=self.profile.key_bucket,
            counted=counted,
            enforce=self.profile.quota,
            seed=seed,
            expect=expect,
        )
        if code == STALE:
            return False
        self._refuse(code, value, account, path)
        return True

    def _admit_shared(
        self,
        shared: RedisLimits,
        account: Account,
        path: str,
        now_ms: int,
        counted: bool,
        paced: bool,
    ) -> None:
        code, value = shared.admit(
            account.id,
            account.device_count,
            path,
            now_ms,
            paced=paced,
            bucket=self.profile.key_bucket,
            counted=counted,
            enforce=self.profile.quota,
        )
        self._refuse(code, value, account, path)

    def _refuse(self, code: int, value: int, account: Account, path: str) -> None:
        """Nothing when Redis admitted the call, else the refusal of the limit it names."""
        if code == ADMITTED:
            return
        if code == PACED:
            raise self._too_frequent(path, value)
        if code == BUCKET:
            raise self._over_rate()
        raise self._quota_spent(account)

    @staticmethod
    def _replayed() -> ApiError:
        return header_invalid(
            "illegal signature",
            "this signature was already used; sign every request with a new timestamp",
        )

    def _too_frequent(self, path: str, wait: int) -> ApiError:
        return ApiError(
            Errno.TOO_FREQUENT,
            f"at most one call to {path} every {self.paths.interval_ms} ms per key; "
            f"retry in {wait} ms",
        )

    def _over_rate(self) -> ApiError:
        return ApiError(
            Errno.TOO_FREQUENT,
            f"more than {self.rate.rate:g} calls a second (burst {self.rate.burst}) with this key",
        )

    def _quota_spent(self, account: Account) -> ApiError:
        return ApiError(
            Errno.QUOTA_EXCEEDED,
            f"the day's {self.quota.total(account.device_count)} calls are used up; "
            "the quota resets at 00:00 UTC",
        )

    def check_device_write(self, account: Account, sn: str, now_ms: int) -> None:
        """40400 when this inverter got a setting write too recently (cloud profile). With
        shared limits the interval is claimed here: :meth:`release_device_write` gives it
        back when the write fails."""
        if self.shared is not None:
            wait = self.shared.claim_write(account.id, sn, now_ms)
        else:
            wait = self.device_writes.wait_ms((account.id, sn), now_ms)
        if wait:
            raise ApiError(
                Errno.TOO_FREQUENT,
                f"at most one setting write to inverter {sn} every "
                f"{self.device_writes.interval_ms} ms; retry in {wait} ms",
            )

    def record_device_write(self, account: Account, sn: str, now_ms: int) -> None:
        if self.shared is None:
            self.device_writes.record((account.id, sn), now_ms)

    def release_device_write(self, account: Account, sn: str, now_ms: int) -> None:
        """The write claimed at ``now_ms`` failed: the next one need not wait for it."""
        if self.shared is not None:
            self.shared.release_write(account.id, sn, now_ms)
