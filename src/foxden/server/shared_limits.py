"""Call limits shared by every worker and machine through Redis, exact as in one process.

One Lua script per Open API call does what :class:`~foxden.server.auth.Authenticator` does in
memory, in the same order and atomically (Redis runs a script without interleaving): the
query interface's pacing (refused calls do not start the interval), the lenient profile's
token bucket, then the daily quota, and only when all passed the pacing stamp. A second
script claims an inverter's setting-write interval before the write runs; a write that
fails gives its claim back.

Every worker asks Redis from its event loop with the asynchronous client
(:meth:`RedisLimits.admit_async`, :meth:`RedisLimits.first_use_async`): the round trips of many
calls are in flight at once, and none of them waits in the database thread. The synchronous
client stays for what runs in that thread (setting-write claims, the quota's flush, the admin
listing, the chaos path's check).

Keys hold the account in a hash tag (``foxden:{a7}:quota:2026-12-03``), so on a Redis
cluster every key of one call lives on the same node. A day's quota count lives in Redis,
so a worker that dies loses none of it; each worker writes the counts it moved to the store
every ``quota_flush_s`` and at shutdown (:meth:`RedisLimits.flush_due` is never true: not
after every few calls, as the in-memory keeper must), and a Redis that lost its data starts
again from there.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from foxden.protocol.errno import Errno
from foxden.server.errors import ApiError
from foxden.server.limits import QuotaKeeper, utc_day
from foxden.store import Store
from foxden.store.waiting import WouldWait, forbidden

if TYPE_CHECKING:
    import redis
    import redis.asyncio

log = logging.getLogger("foxden.server")

PREFIX = "foxden:"
QUOTA_TTL_S = 3 * 86_400
"""A day's count is kept this long in Redis (the store keeps it for good)."""
MARGIN_MS = 1_000
"""Pacing stamps outlive their interval by this much, so clocks a little apart still agree."""

ADMITTED, PACED, BUCKET, QUOTA, STALE = 0, 1, 2, 3, 4
"""What :meth:`RedisLimits.admit` answers first: the call passed, or which limit refused it
(or STALE: the change mark was not the one expected, and nothing was done)."""

_ADMIT = """
if ARGV[13] ~= '' and (redis.call('GET', KEYS[4]) or '0') ~= ARGV[13] then return {4, 0} end
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
if ARGV[3] == '1' then
  local last = redis.call('GET', KEYS[1])
  if last then
    local wait = tonumber(last) + interval - now
    if wait > 0 then return {1, wait} end
  end
end
if ARGV[4] == '1' then
  local rate = tonumber(ARGV[5])
  local burst = tonumber(ARGV[6])
  local bucket = redis.call('HMGET', KEYS[2], 't', 's')
  local tokens = tonumber(bucket[1]) or burst
  local stamp = tonumber(bucket[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - stamp) / 1000.0 * rate)
  local allowed = tokens >= 1.0
  if allowed then tokens = tokens - 1.0 end
  redis.call('HSET', KEYS[2], 't', tostring(tokens), 's', now)
  redis.call('PEXPIRE', KEYS[2], math.ceil(burst / rate * 1000) + 1000)
  if not allowed then return {2, 0} end
end
local used = -1
if ARGV[7] == '1' then
  used = tonumber(redis.call('GET', KEYS[3]) or ARGV[10])
  if ARGV[8] == '1' and used >= tonumber(ARGV[9]) then return {3, used} end
  used = used + 1
  redis.call('SET', KEYS[3], used, 'EX', ARGV[11])
end
if ARGV[3] == '1' then redis.call('SET', KEYS[1], now, 'PX', interval + ARGV[12]) end
return {0, used}
"""

_CLAIM = """
local now = tonumber(ARGV[1])
local last = redis.call('GET', KEYS[1])
if last then
  local wait = tonumber(last) + tonumber(ARGV[2]) - now
  if wait > 0 then return wait end
end
redis.call('SET', KEYS[1], now, 'PX', tonumber(ARGV[2]) + tonumber(ARGV[3]))
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


_READ_AHEAD: contextvars.ContextVar[tuple[int, str, int] | None] = contextvars.ContextVar(
    "foxden_quota_read_ahead", default=None
)
"""(account, day, count) read with the asynchronous client for the call being answered in
this context (:meth:`RedisLimits.read_ahead`), which :meth:`RedisLimits.used` answers from."""


class LimitsUnavailable(ApiError):
    """Redis could not be asked: the call is refused rather than let through uncounted."""

    def __init__(self, exc: Exception) -> None:
        super().__init__(
            Errno.QUERY_FAILED,
            f"the shared call-limit service (Redis) is unavailable: {exc}",
        )


Expected = tuple[str, int]
"""The change mark's key and the mark the caller's cached rows follow
(``foxden.server.shared_changes``): a call admitted with them is admitted only while the
mark stands."""


def _expected(expect: Expected | None) -> list[Any]:
    """The admission script's arguments from ARGV[13] on."""
    return [""] if expect is None else [str(expect[1])]


def connect(url: str) -> redis.Redis:
    """A client for ``redis://HOST:PORT/DB`` (or ``rediss://``, ``unix://``), checked with a
    PING; ValueError with the reason when it cannot be reached."""
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - installed with the server extra
        raise ValueError("Redis needs the redis package: pip install 'foxden[server]'") from exc
    try:
        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise ValueError(f"cannot reach Redis at {redact(url)}: {exc}") from exc
    return client


def redact(url: str) -> str:
    """The URL with any password hidden."""
    head, sep, tail = url.partition("@")
    if not sep or "//" not in head:
        return url
    scheme, _, auth = head.partition("//")
    user = auth.split(":", 1)[0]
    return f"{scheme}//{user}:***@{tail}" if ":" in auth else url


class RedisLimits(QuotaKeeper):
    """The quota keeper of every worker sharing one Redis, and the pacing and token bucket
    of the limit profile (see the module's text)."""

    def __init__(
        self,
        client: redis.Redis,
        store: Store,
        per_device: int,
        path_interval_ms: int,
        write_interval_ms: int,
        rate: float,
        burst: int,
        prefix: str = PREFIX,
        url: str | None = None,
    ) -> None:
        super().__init__(store, per_device)
        import redis as redis_module

        self._errors: tuple[type[Exception], ...] = (redis_module.RedisError,)
        self.client = client
        self.prefix = prefix
        self.path_interval_ms = path_interval_ms
        self.write_interval_ms = write_interval_ms
        self.rate = rate
        self.burst = max(1, burst)
        self._admit = client.register_script(_ADMIT)
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self._seen: dict[tuple[int, str], int] = {}
        """The newest count of each (account, day) this process saw; where a Redis that lost
        the key starts again (with the store's count, whichever is higher)."""
        self._flush_lock = threading.Lock()
        self.url = url
        """Where the asynchronous client connects (None: the synchronous client's address)."""
        self._loops: dict[asyncio.AbstractEventLoop, tuple[Any, Any]] = {}
        """The asynchronous client of each event loop that asked, with its admission script."""

    def _key(self, account_id: int, kind: str, name: str = "") -> str:
        return f"{self.prefix}{{a{account_id}}}:{kind}:{name}"

    def flush_due(self) -> bool:
        """Never after a call: Redis holds the count, so no call waits for (or is sent to
        the database thread by) a write of it; the server's timed flush writes it every
        ``quota_flush_s``, and at shutdown. Written every 8 counted calls, as the in-memory
        keeper must, it cost a mixed load of counted calls on two workers a quarter of its
        throughput (docs/scaling.md)."""
        return False

    def _seed(self, account_id: int, day: str) -> int:
        key = (account_id, day)
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = self.store.usage(account_id, day)
        return seen

    def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return script(keys=keys, args=args)
        except self._errors as exc:
            raise LimitsUnavailable(exc) from None

    def _admission(
        self,
        account_id: int,
        device_count: int,
        path: str,
        now_ms: int,
        seed: int,
        *,
        paced: bool,
        bucket: bool,
        counted: bool,
        enforce: bool,
        expect: Expected | None = None,
    ) -> tuple[list[str], list[Any]]:
        """The admission script's keys and arguments (with ``expect``: refused as STALE,
        nothing done, unless the change counters are those)."""
        day = utc_day(now_ms)
        keys = [
            self._key(account_id, "pace", path),
            self._key(account_id, "bucket"),
            self._key(account_id, "quota", day),
        ]
        if expect is not None:
            keys.append(expect[0])
        return (
            keys,
            [
                now_ms,
                self.path_interval_ms,
                int(paced),
                int(bucket),
                self.rate,
                self.burst,
                int(counted),
                int(enforce),
                self.total(device_count),
                seed,
                QUOTA_TTL_S,
                MARGIN_MS,
                *_expected(expect),
            ],
        )

    def _admitted(
        self, account_id: int, now_ms: int, counted: bool, answer: Any
    ) -> tuple[int, int]:
        """The script's answer as (code, value), the count remembered and marked unsaved."""
        code, value = int(answer[0]), int(answer[1])
        if counted and code in (ADMITTED, QUOTA):
            key = (account_id, utc_day(now_ms))
            self._seen[key] = max(self._seen.get(key, 0), value)
            if code == ADMITTED:
                self._dirty.add(key)
                self._unsaved += 1
        return code, value

    def asks(self, paced: bool, bucket: bool, counted: bool) -> bool:
        """Whether admitting a call with these limits asks Redis at all (the bucket applies
        only with a rate): else :meth:`admit` answers (ADMITTED, -1) at once."""
        return paced or counted or (bucket and self.rate > 0)

    def admit(
        self,
        account_id: int,
        device_count: int,
        path: str,
        now_ms: int,
        *,
        paced: bool,
        bucket: bool,
        counted: bool,
        enforce: bool,
    ) -> tuple[int, int]:
        """(ADMITTED, calls used today) or (PACED, wait ms), (BUCKET, 0), (QUOTA, used);
        (ADMITTED, -1) without asking Redis when no limit applies to the call. Where the
        store may be waited for (a day's first count may be read from it)."""
        bucket = bucket and self.rate > 0
        if not self.asks(paced, bucket, counted):
            return ADMITTED, -1
        seed = self._seed(account_id, utc_day(now_ms)) if counted else 0
        keys, args = self._admission(
            account_id,
            device_count,
            path,
            now_ms,
            seed,
            paced=paced,
            bucket=bucket,
            counted=counted,
            enforce=enforce,
        )
        return self._admitted(account_id, now_ms, counted, self._call(self._admit, keys, args))

    def seed(self, account_id: int, day: str) -> int:
        """The day's count this process starts from when Redis has none (the store's, read
        once: where the store may be waited for)."""
        return self._seed(account_id, day)

    def _async(self) -> tuple[Any, Any]:
        """This event loop's asynchronous client and admission script."""
        loop = asyncio.get_running_loop()
        found = self._loops.get(loop)
        if found is None:
            import redis.asyncio

            if self.url is not None:
                client: redis.asyncio.Redis = redis.asyncio.Redis.from_url(
                    self.url, socket_timeout=5, socket_connect_timeout=5
                )
            else:
                kwargs = dict(self.client.connection_pool.connection_kwargs)
                kwargs.pop("connection_class", None)
                client = redis.asyncio.Redis(**kwargs)
            for gone in [other for other in self._loops if other.is_closed()]:
                del self._loops[gone]
            found = self._loops[loop] = (client, client.register_script(_ADMIT))
        return found

    def async_client(self) -> redis.asyncio.Redis:
        """This event loop's asynchronous client (made on first use)."""
        client: redis.asyncio.Redis = self._async()[0]
        return client

    async def admit_async(
        self,
        account_id: int,
        device_count: int,
        path: str,
        now_ms: int,
        *,
        paced: bool,
        bucket: bool,
        counted: bool,
        enforce: bool,
        seed: Callable[[int, str], Awaitable[int]],
        expect: Expected | None = None,
    ) -> tuple[int, int]:
        """:meth:`admit` on the event loop: the script awaited with the asynchronous client
        (other calls' admissions go on meanwhile; Redis runs each script whole). A day's
        count not seen yet comes from ``seed(account, day)`` (the store, where it may be
        waited for); the count is written to the store by the server's timed flush.
        ``expect`` (the change mark's key and the mark a caller's cached rows follow):
        (STALE, 0), and nothing done, unless the mark still stands when the script runs."""
        bucket = bucket and self.rate > 0
        if not self.asks(paced, bucket, counted):
            return ADMITTED, -1
        start = 0
        if counted:
            day = utc_day(now_ms)
            known = self._seen.get((account_id, day))
            start = known if known is not None else await seed(account_id, day)
        keys, args = self._admission(
            account_id,
            device_count,
            path,
            now_ms,
            start,
            paced=paced,
            bucket=bucket,
            counted=counted,
            enforce=enforce,
            expect=expect,
        )
        _, script = self._async()
        try:
            answer = await script(keys=keys, args=args)
        except self._errors as exc:
            raise LimitsUnavailable(exc) from None
        return self._admitted(account_id, now_ms, counted, answer)

    async def first_use_async(
        self, signature: str, stamp_ms: int, window_ms: int, now_ms: int
    ) -> bool:
        """:meth:`first_use` on the event loop."""
        client = self._async()[0]
        key, value, keep = self._replay(signature, stamp_ms, window_ms, now_ms)
        try:
            return bool(await client.set(key, value, nx=True, px=keep))
        except self._errors as exc:
            raise LimitsUnavailable(exc) from None

    async def read_ahead(
        self, account_id: int, now_ms: int, expect: Expected | None = None
    ) -> bool:
        """Read the day's count with the asynchronous client for the call being answered in
        this context, so that :meth:`used` on the event loop needs no round trip. With
        ``expect`` (as for :meth:`admit_async`): the change mark read with it (one
        ``MGET``), and False, with nothing read ahead, unless it stands."""
        day = utc_day(now_ms)
        client = self._async()[0]
        key = self._key(account_id, "quota", day)
        try:
            if expect is None:
                raw = await client.get(key)
            else:
                raw, mark = await client.mget(key, expect[0])
                if int(mark or 0) != expect[1]:
                    return False
        except self._errors as exc:
            raise LimitsUnavailable(exc) from None
        count = int(raw) if raw is not None else self._seen.get((account_id, day))
        if count is not None:
            _READ_AHEAD.set((account_id, day, count))
        return True

    async def aclose(self) -> None:
        """Close this event loop's asynchronous client (the server's shutdown)."""
        found = self._loops.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found[0].aclose()

    def claim_write(self, account_id: int, sn: str, now_ms: int) -> int:
        """0 when the inverter's setting-write interval is claimed for this call (give it
        back with :meth:`release_write` if the write fails), else the wait in ms."""
        if self.write_interval_ms <= 0:
            return 0
        wait = self._call(
            self._claim,
            [self._key(account_id, "write", sn)],
            [now_ms, self.write_interval_ms, MARGIN_MS],
        )
        return int(wait)

    def release_write(self, account_id: int, sn: str, now_ms: int) -> None:
        if self.write_interval_ms > 0:
            self._call(self._release, [self._key(account_id, "write", sn)], [now_ms])

    def first_use(self, signature: str, stamp_ms: int, window_ms: int, now_ms: int) -> bool:
        """The replay cache for every worker: whether this signature is seen for the first
        time; it is kept until its timestamp leaves the window."""
        key, value, keep = self._replay(signature, stamp_ms, window_ms, now_ms)
        try:
            return bool(self.client.set(key, value, nx=True, px=keep))
        except self._errors as exc:
            raise LimitsUnavailable(exc) from None

    def _replay(
        self, signature: str, stamp_ms: int, window_ms: int, now_ms: int
    ) -> tuple[str, bytes, int]:
        """The replay key of a signature, its value and how long it is kept (ms)."""
        return (
            f"{self.prefix}replay:{signature.lower()}",
            b"1",
            max(1, stamp_ms + window_ms - now_ms),
        )

    # ------------------------------------------------------------ QuotaKeeper

    def used(self, account_id: int, now_ms: int) -> int:
        day = utc_day(now_ms)
        ahead = _READ_AHEAD.get()
        if ahead is not None and ahead[:2] == (account_id, day):
            return ahead[2]
        if forbidden():
            raise WouldWait  # a round trip: not on the event loop
        try:
            raw = self.client.get(self._key(account_id, "quota", day))
        except self._errors as exc:
            raise LimitsUnavailable(exc) from None
        if raw is None:
            return self._seed(account_id, day)
        return int(raw)

    def try_spend(
        self, account_id: int, device_count: int, now_ms: int, enforce: bool = True
    ) -> bool:
        code, _ = self.admit(
            account_id,
            device_count,
            "",
            now_ms,
            paced=False,
            bucket=False,
            counted=True,
            enforce=enforce,
        )
        return code == ADMITTED

    def forget(self) -> None:
        """The store's counts were replaced (a snapshot restored): Redis starts from them."""
        self._dirty.clear()
        self._unsaved = 0
        self._seen.clear()
        try:
            keys = list(self.client.scan_iter(match=f"{self.prefix}{{a*}}:quota:*", count=1000))
            if keys:
                self.client.delete(*keys)
        except self._errors as exc:
            log.warning("could not drop the quota counts in Redis: %s", exc)

    def flush(self) -> None:
        """Write Redis's counts of the (account, day) pairs this process counted to the
        store; on failure they stay pending (and it raises). One flush at a time: a flush
        asked for while another runs (the loop's, in the database thread) returns once that
        one has written."""
        with self._flush_lock:
            self._flush()

    def _flush(self) -> None:
        if not self._dirty:
            return
        taken, self._dirty = self._dirty, set()  # the loop may count more meanwhile
        pending = sorted(taken)
        try:
            values = self.client.mget([self._key(a, "quota", d) for a, d in pending])
            batch = {
                key: max(self._seen.get(key, 0), int(raw) if raw is not None else 0)
                for key, raw in zip(pending, values, strict=True)
            }
            self.store.save_usage(batch)
        except BaseException:
            self._dirty.update(pending)
            self._retry_at = time.monotonic() + 1.0
            raise
        self._unsaved = 0
        today = max(day for _, day in self._seen)
        for key in [k for k in self._seen if k[1] < today and k not in self._dirty]:
            del self._seen[key]
