"""Chaos rules: make chosen Open API calls misbehave on purpose, for testing clients.

A rule matches on any of path, API key, account, inverter serial and method, and answers
with a chosen errno (any in the table), an HTTP status, added latency (``delay_ms``), a
dropped connection or a timeout; ``probability``, ``count`` and ``ttl_s`` say how often
and for how long. Rules are tried in the order they were added; the first that matches
and fires answers the call.

A rule is consulted after the call passed the header, key, rate and quota checks: a
chaos answer has already counted against the daily quota and the per-key pacing, as a
failure the cloud answers after accepting a call does (see docs/testing.md).

Picking a rule happens on the event loop without awaiting, so ``count`` is exact however
many calls arrive at once.
"""

from __future__ import annotations

import asyncio
import http
import itertools
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from foxden.protocol.endpoints import ENDPOINTS
from foxden.protocol.errno import ERRNO_TABLE, Errno
from foxden.server import envelope
from foxden.server.errors import ApiError

MAX_DELAY_MS = 600_000
DEFAULT_HOLD_MS = 60_000
METHODS = ("GET", "POST")


class ChaosError(ValueError):
    """A rule that cannot be: names the field and what is wrong with it."""


class Match(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """What a call must have for the rule to apply; an unset field matches anything."""

    path: str | None = None
    key: str | None = None
    """The API key the call was signed with (the ``token`` header)."""
    account: str | None = None
    sn: str | None = None
    """An inverter serial the call names (``sn``, ``deviceSN`` or ``sns``)."""
    method: str | None = None


class RuleSpec(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A rule as written in ``POST /admin/chaos`` and in scenario files."""

    match: Match = msgspec.field(default_factory=Match)
    errno: int | None = None
    msg: str | None = None
    """The envelope's msg for ``errno``; default: the cloud's text for it."""
    status: int | None = None
    """HTTP status of the answer (with ``errno``: the envelope, else the status text)."""
    delay_ms: int = 0
    drop: bool = False
    """Close the connection after the status line and headers, before the body."""
    timeout: bool = False
    """Never answer: hold the call until the client gives up (at most ``hold_ms``), then
    close the connection."""
    hold_ms: int = DEFAULT_HOLD_MS
    probability: float = 1.0
    count: int | None = None
    """Fire at most this many times."""
    ttl_s: float | None = None
    """Stop firing this many seconds after the rule was added."""


def _known_paths() -> set[str]:
    return {p for e in ENDPOINTS for p in (e.path, *e.aliases)}


def check(spec: RuleSpec) -> RuleSpec:
    """``spec`` if it is a rule that can be; else ChaosError naming the field."""
    m = spec.match
    if m.path is not None and m.path not in _known_paths():
        raise ChaosError(f"match.path: {m.path!r} is not an Open API path")
    if m.method is not None and m.method.upper() not in METHODS:
        raise ChaosError(f"match.method: must be one of {', '.join(METHODS)}")
    if spec.errno is not None:
        if spec.errno == 0 or spec.errno not in {int(e) for e in ERRNO_TABLE}:
            known = ", ".join(str(int(e)) for e in ERRNO_TABLE if e)
            raise ChaosError(f"errno: {spec.errno} is not in the errno table ({known})")
    elif spec.msg is not None:
        raise ChaosError("msg: only with errno")
    if spec.status is not None and not 200 <= spec.status <= 599:
        raise ChaosError("status: must be an HTTP status from 200 to 599")
    if not 0 <= spec.delay_ms <= MAX_DELAY_MS:
        raise ChaosError(f"delay_ms: must be from 0 to {MAX_DELAY_MS}")
    if not 0 < spec.hold_ms <= MAX_DELAY_MS:
        raise ChaosError(f"hold_ms: must be from 1 to {MAX_DELAY_MS}")
    answers = [
        name
        for name, on in (
            ("errno/status", spec.errno is not None or spec.status is not None),
            ("drop", spec.drop),
            ("timeout", spec.timeout),
        )
        if on
    ]
    if len(answers) > 1:
        raise ChaosError(f"{' and '.join(answers)}: a rule answers in one way only")
    if not answers and spec.delay_ms == 0:
        raise ChaosError("a rule needs errno, status, drop, timeout or delay_ms")
    if not 0 < spec.probability <= 1:
        raise ChaosError("probability: must be above 0 and at most 1")
    if spec.count is not None and spec.count < 1:
        raise ChaosError("count: must be at least 1")
    if spec.ttl_s is not None and not spec.ttl_s > 0:
        raise ChaosError("ttl_s: must be above 0")
    if m.method is not None:
        spec = msgspec.structs.replace(
            spec, match=msgspec.structs.replace(m, method=m.method.upper())
        )
    return spec


@dataclass(slots=True)
class Rule:
    id: int
    spec: RuleSpec
    added_ms: int
    hits: int = 0
    """Calls this rule answered."""
    matched: int = 0
    """Calls that matched (with ``probability`` below 1, more than hits)."""

    @property
    def expires_ms(self) -> int | None:
        ttl = self.spec.ttl_s
        return None if ttl is None else self.added_ms + round(ttl * 1000)

    def live(self, now_ms: int) -> bool:
        spent = self.spec.count is not None and self.hits >= self.spec.count
        expires = self.expires_ms
        return not spent and (expires is None or now_ms < expires)

    def describe(self, now_ms: int) -> dict[str, Any]:
        return {
            "id": self.id,
            **msgspec.to_builtins(self.spec),
            "hits": self.hits,
            "matched": self.matched,
            "active": self.live(now_ms),
            "added_ms": self.added_ms,
            "expires_ms": self.expires_ms,
        }


@dataclass(slots=True)
class Call:
    """What a rule can match on, of one call."""

    method: str
    path: str
    key: str
    account: str
    serials: Callable[[], Iterable[str]]


class ChaosAnswer(Exception):
    """Raised by a view whose call a rule answers other than with an envelope on HTTP 200."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(f"chaos rule {rule.id}")
        self.rule = rule
        spec = rule.spec
        self.errno = spec.errno
        """The envelope's errno (None: no envelope)."""
        self.msg = "" if spec.errno is None else spec.msg or ERRNO_TABLE[Errno(spec.errno)].message


@dataclass
class Chaos:
    """The rules in force, and one seedable random source for their probabilities."""

    seed: int = 0
    rules: dict[int, Rule] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _random: random.Random = field(init=False)
    _holding: set[asyncio.Event] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def add(self, spec: RuleSpec, now_ms: int) -> Rule:
        rule = Rule(next(self._ids), check(spec), now_ms)
        self.rules[rule.id] = rule
        return rule

    def remove(self, rule_id: int) -> bool:
        return self.rules.pop(rule_id, None) is not None

    def clear(self) -> int:
        n = len(self.rules)
        self.rules.clear()
        return n

    def describe(self, now_ms: int) -> list[dict[str, Any]]:
        return [rule.describe(now_ms) for rule in self.rules.values()]

    def pick(self, call: Call, now_ms: int) -> Rule | None:
        """The rule that answers ``call``, its hit counted; None: answer normally."""
        serials: set[str] | None = None
        for rule in self.rules.values():
            m = rule.spec.match
            if (
                (m.path is not None and m.path != call.path)
                or (m.method is not None and m.method != call.method)
                or (m.key is not None and m.key != call.key)
                or (m.account is not None and m.account != call.account)
                or not rule.live(now_ms)
            ):
                continue
            if m.sn is not None:
                if serials is None:
                    serials = set(call.serials())
                if m.sn not in serials:
                    continue
            rule.matched += 1
            if rule.spec.probability < 1 and self._random.random() >= rule.spec.probability:
                continue
            rule.hits += 1
            return rule
        return None

    async def before_answer(self, rule: Rule) -> bytes | None:
        """Wait the rule's delay; the envelope it answers with (None: answer normally).
        Raises ChaosAnswer when the answer is not an envelope on HTTP 200."""
        spec = rule.spec
        if spec.delay_ms:
            await asyncio.sleep(spec.delay_ms / 1000)
        if spec.status is not None or spec.drop or spec.timeout:
            raise ChaosAnswer(rule)
        if spec.errno is not None:
            errno = Errno(spec.errno)
            raise ApiError(errno, f"chaos rule {rule.id}", msg=spec.msg)
        return None

    async def send(self, rule: Rule, receive: Any, send: Any) -> int:
        """Answer a call as the rule says; the HTTP status sent (0: none)."""
        spec = rule.spec
        if spec.timeout:
            release = asyncio.Event()
            self._holding.add(release)
            try:
                await asyncio.wait(
                    [
                        asyncio.ensure_future(_disconnected(receive)),
                        asyncio.ensure_future(release.wait()),
                    ],
                    timeout=spec.hold_ms / 1000,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                self._holding.discard(release)
        if spec.timeout or spec.drop:
            # a promised body that never comes: the server closes the connection
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", b"64"),
                    ],
                }
            )
            return 0
        status = spec.status or 200
        if spec.errno is not None:
            body = envelope.body_error(
                spec.errno, spec.msg or ERRNO_TABLE[Errno(spec.errno)].message
            )
            kind = b"application/json"
        else:
            body = f"{status} {http.HTTPStatus(status).phrase}".encode()
            kind = b"text/plain"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", kind), (b"content-length", b"%d" % len(body))],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return status

    def release_all(self) -> None:
        """Let every held call go (before the server stops)."""
        for event in list(self._holding):
            event.set()


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def serials_in(query: dict[str, str], body: bytes) -> list[str]:
    """Inverter serials a call names: ``sn`` in the query; ``sn``, ``deviceSN`` or ``sns``
    in a JSON body."""
    found = [query["sn"]] if "sn" in query else []
    if body:
        try:
            data = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return found
        if isinstance(data, dict):
            for name in ("sn", "deviceSN"):
                if isinstance(data.get(name), str):
                    found.append(data[name])
            sns = data.get("sns")
            if isinstance(sns, list):
                found += [s for s in sns if isinstance(s, str)]
    return found
