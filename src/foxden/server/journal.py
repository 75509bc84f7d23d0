"""The request journal: every Open API call, kept in a bounded ring (optionally persisted
as JSON lines), for ``GET /admin/requests`` and ``foxden journal``.

Recording a call is an append of the record the view filled in; the JSON shape is built
only when the journal is read.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from foxden.server.chaos import serials_in

log = logging.getLogger("foxden.server")

DEFAULT_SIZE = 10_000
BODY_LIMIT = 65_536
"""Bodies longer than this are kept cut, as text."""


class Exchange(msgspec.Struct, gc=False):
    """One Open API call as the journal keeps it; the view fills it in as it goes.

    Not tracked by the garbage collector (``gc=False``: it holds strings, bytes and
    numbers only, so it can never be part of a reference cycle): the ring keeps 10,000 of
    them, and every full collection walked each one's fields (docs/decisions.md)."""

    time_ms: int
    method: str
    path: str
    query: str
    started: float
    """``time.perf_counter()`` when the call arrived."""
    account: str = ""
    body: bytes = b""
    errno: int | None = None
    """None: no envelope was sent (a dropped connection, a timeout, a bare HTTP status)."""
    msg: str = ""
    detail: str = ""
    """Why the call failed, for the developer (the envelope carries only the cloud's text)."""
    chaos: int | None = None
    """The chaos rule that answered, if one did."""
    status: int = 200
    """HTTP status sent; 0 when the connection was closed without an answer."""
    latency_ms: float = 0.0
    id: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time_ms": self.time_ms,
            "account": self.account,
            "method": self.method,
            "path": self.path,
            "query": dict(parse_qsl(self.query)),
            "body": _body(self.body),
            "sns": self.serials(),
            "errno": self.errno,
            "msg": self.msg,
            "detail": self.detail,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 3),
            "chaos": self.chaos,
        }

    def serials(self) -> list[str]:
        return serials_in(dict(parse_qsl(self.query)), self.body)


def _body(raw: bytes) -> Any:
    """A JSON body as its value; anything else as text (None when empty)."""
    if not raw:
        return None
    if len(raw) <= BODY_LIMIT:
        with contextlib.suppress(ValueError):
            return json.loads(raw)
    return raw[:BODY_LIMIT].decode("utf-8", "replace")


@dataclass(slots=True)
class Query:
    """A filter on the journal; unset fields match everything."""

    path: str | None = None
    sn: str | None = None
    errno: int | None = None
    since_ms: int | None = None
    account: str | None = None
    chaos: int | None = None
    limit: int = 100

    def matches(self, e: Exchange) -> bool:
        return (
            (self.path is None or e.path == self.path)
            and (self.errno is None or e.errno == self.errno)
            and (self.since_ms is None or e.time_ms >= self.since_ms)
            and (self.account is None or e.account == self.account)
            and (self.chaos is None or e.chaos == self.chaos)
            and (self.sn is None or self.sn in e.serials())
        )


@dataclass
class Journal:
    """The newest ``size`` calls; with ``path``, also appended to that JSON-lines file
    (by :meth:`flush`) and read back from it at start."""

    size: int = DEFAULT_SIZE
    path: Path | None = None
    _ring: deque[Exchange] = field(init=False)
    _pending: list[dict[str, Any]] = field(default_factory=list)
    _next: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loaded: list[dict[str, Any]] = field(default_factory=list)
    """Calls read back from the file at start (older than any in the ring)."""

    def __post_init__(self) -> None:
        self._ring = deque(maxlen=max(1, self.size))
        if self.path is not None and self.path.exists():
            lines = self.path.read_text("utf-8").splitlines()[-self.size :]
            for line in lines:
                with contextlib.suppress(ValueError):
                    self._loaded.append(json.loads(line))
            if self._loaded:
                self._next = int(self._loaded[-1].get("id", 0)) + 1

    def record(self, exchange: Exchange) -> None:
        exchange.id = self._next
        self._next += 1
        self._ring.append(exchange)
        if self.path is not None:
            self._pending.append(exchange.as_json())

    def query(self, q: Query) -> list[dict[str, Any]]:
        """Matching calls, oldest first, the newest ``q.limit`` of them."""
        found: list[dict[str, Any]] = []
        for e in reversed(self._ring):
            if len(found) >= q.limit:
                break
            if q.matches(e):
                found.append(e.as_json())
        if len(found) < q.limit and len(self._ring) + len(self._loaded) > 0:
            room = self.size - len(self._ring)
            for old in reversed(self._loaded[-room:] if room > 0 else []):
                if len(found) >= q.limit:
                    break
                if _old_matches(q, old):
                    found.append(old)
        found.reverse()
        return found

    def clear(self) -> None:
        self._ring.clear()
        self._loaded.clear()

    def flush(self) -> None:
        """Append the calls recorded since the last flush to the file (if any); the file
        is rewritten with the ring alone once it is twice the ring's size."""
        if self.path is None or not self._pending:
            return
        batch, self._pending = self._pending, []
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.writelines(json.dumps(row, separators=(",", ":")) + "\n" for row in batch)
            if self.path.stat().st_size > 0 and _count_lines(self.path) > 2 * self.size:
                rows = [e.as_json() for e in self._ring]
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(
                    "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows), "utf-8"
                )
                tmp.replace(self.path)


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh)


def _old_matches(q: Query, row: dict[str, Any]) -> bool:
    return (
        (q.path is None or row.get("path") == q.path)
        and (q.errno is None or row.get("errno") == q.errno)
        and (q.since_ms is None or int(row.get("time_ms", 0)) >= q.since_ms)
        and (q.account is None or row.get("account") == q.account)
        and (q.chaos is None or row.get("chaos") == q.chaos)
        and (q.sn is None or q.sn in row.get("sns", []))
    )
