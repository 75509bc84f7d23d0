"""The HTTP server: uvicorn with its httptools parser, plus the limits a public server needs.

uvicorn alone has no limit on header size, no time limit on reading headers or a body and
no cap on open connections (its ``limit_concurrency`` still accepts every connection and
keeps it until the client leaves). ``GuardedHttpToolsProtocol`` adds them where the bytes
arrive, before the application sees a request:

- request line plus headers larger than ``max_header_bytes``, or more than ``max_headers``
  header lines: HTTP 431, connection closed (counted while they arrive, so a slow 200 MB
  header is refused after its first ``max_header_bytes``);
- headers not complete ``header_timeout_s`` after the connection opened or the request's
  first byte: HTTP 408, closed (slowloris);
- a body not complete ``body_timeout_s`` after the headers: HTTP 408, closed;
- a body larger than ``max_body_bytes`` (by Content-Length, or counted while a chunked one
  arrives): HTTP 413 with the vendor envelope (errno 40257), closed, the body never read;
- beyond ``max_connections`` open connections a new one gets HTTP 503 and is closed at
  once, so a flood of idle connections cannot use up the process's file descriptors;
- idle keep-alive connections close after ``keep_alive_timeout_s`` (uvicorn's own timer).

It also answers the Open API calls an app lists as ``direct`` (``foxden.server.fast``)
without an ASGI cycle: uvicorn makes a scope, a cycle, an event, a task and two ASGI
messages per request, half of what a request costs it on this machine (docs/decisions.md);
a listed call whose last byte has arrived is answered there and then, in the parser's
callback, and one it cannot answer without waiting goes to the app as usual. Only a request
with nothing before it on the connection (no cycle under way, none queued, the transport
not full) is answered so, which keeps pipelined answers in order and a client that does not
read from piling answers up.

The numbers are settings (``foxden.config.Settings``); docs/security.md explains the
defaults and the measurements behind them.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from foxden.config import Settings
from foxden.protocol.errno import Errno
from foxden.server import envelope
from foxden.server.errors import invalid
from foxden.server.incoming import DirectAnswer

log = logging.getLogger("foxden.http")

_REASONS = {
    408: b"Request Timeout",
    413: b"Content Too Large",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """The limits of ``foxden.config.Settings`` the protocol enforces (their defaults and
    meaning are written there, once)."""

    max_header_bytes: int
    max_headers: int
    header_timeout_s: float
    body_timeout_s: float
    keep_alive_timeout_s: float
    max_connections: int
    max_body_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_headers,
            header_timeout_s=settings.header_timeout_s,
            body_timeout_s=settings.body_timeout_s,
            keep_alive_timeout_s=settings.keep_alive_timeout_s,
            max_connections=settings.max_connections,
            max_body_bytes=settings.max_body_bytes,
        )


_METHODS = {b"GET": "GET", b"POST": "POST"}
"""The methods of the Open API's calls (a direct answer is looked up by method and path)."""

_Route = tuple[str, str, bytes, bytes, DirectAnswer]
_ROUTES_KEPT = 4096
"""Request targets whose route is kept at most (then they are all forgotten)."""

_JOIN_MAX = 16_384
"""Bodies up to this size are joined to the held headers; larger ones go beside them."""


class _OneWrite:
    """The transport as one response cycle sees it. uvicorn writes a response's status line
    and headers, then its body, each with its own call: two system calls and two TCP
    segments for a small answer. Here the first write is held until the next one (the body)
    or, at the latest, the end of the event loop's current step, and the two go out as one
    write. A response sent in one go (every Open API answer) costs one ``send``; nothing is
    held past the step that wrote it, so a streamed answer's headers are never delayed."""

    __slots__ = ("_held", "_loop", "_transport", "_wrote")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held = b""
        self._wrote = False

    def write(self, data: bytes) -> None:
        if self._held:
            held, self._held = self._held, b""
            self._wrote = True
            if len(data) > _JOIN_MAX:  # a large body is not copied: one writev of both
                self._transport.writelines([held, data])
                return
            data = held + data
        elif not self._wrote and data:
            self._wrote = True
            self._held = data
            self._loop.call_soon(self.flush)
            return
        self._wrote = True
        self._transport.write(data)

    def flush(self) -> None:
        if self._held:
            held, self._held = self._held, b""
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _Refused(Exception):
    """Stops the parser once a request has been refused."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits above (``limits`` set by a subclass)
    and the calls answered without an ASGI cycle (``direct``, by method and path)."""

    limits: ClassVar[HttpLimits] = HttpLimits.from_settings(Settings())
    direct: ClassVar[Mapping[tuple[str, str], DirectAnswer]] = {}
    _routes: ClassVar[dict[tuple[bytes, bytes], _Route | tuple[()]]] = {}
    """``_route``'s answers by method and URL, kept (a client asks the same URLs again and
    again); each class made by ``guarded_protocol`` has its own."""
    _default_lines: ClassVar[tuple[object, bytes]] = (None, b"")
    """uvicorn's default headers (date, server) as header lines, with the list they were
    made from (uvicorn puts a new one in place every second)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_started_here = False
        self._head_seen = 0
        """Bytes received while the current request's head was incomplete."""
        self._head_exact = 0
        self._header_count = 0
        self._body_seen = 0
        self._timer: asyncio.TimerHandle | None = None
        self._refused = False
        self._answer: DirectAnswer | None = None
        """The direct answer of the request being read, if it is to have one."""
        self._answer_body = b""
        self._keep_alive = True

    # ------------------------------------------------------------ connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refuse(503, b"too many connections")
            return
        self._arm(self.limits.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._unset_keepalive_if_required()
        if self._in_head and self._timer is None:
            self._arm(self.limits.header_timeout_s)
        self._head_started_here = False
        try:
            self.parser.feed_data(data)
        except _Refused:
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if not self._refused:
                self.send_400_response("Invalid HTTP request received.")
            return
        if self._in_head:
            # a request line and headers that never end are refused after max_header_bytes,
            # not kept growing: the head's parsed bytes in the chunk where it began (the
            # chunk may hold pipelined requests before it), then every byte since
            self._head_seen = (
                self._head_exact if self._head_started_here else self._head_seen + len(data)
            )
            if self._head_seen > self.limits.max_header_bytes:
                self._refuse(431, b"request headers too large")

    # ------------------------------------------------------------ parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._timer is None:  # the next request on a kept-alive connection
            self._arm(self.limits.header_timeout_s)
        self._in_head = True
        self._head_started_here = True
        self._head_exact = 0
        self._header_count = 0
        self._body_seen = 0

    def on_url(self, url: bytes) -> None:
        self._head_exact += len(url)
        if self._head_exact > self.limits.max_header_bytes:
            self._refuse(431, b"request line too long")
            raise _Refused
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._head_exact += len(name) + len(value) + 4
        if self._header_count > self.limits.max_headers:
            self._refuse(431, b"too many request headers")
            raise _Refused
        if self._head_exact > self.limits.max_header_bytes:
            self._refuse(431, b"request headers too large")
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        for name, value in self.headers:
            if name == b"content-length":
                try:
                    size = int(value)
                except ValueError:
                    size = 0  # the parser refuses a malformed length itself
                if size > self.limits.max_body_bytes:
                    self._refuse_body()  # still "in the head": no response started for it
                    raise _Refused
        self._in_head = False
        self._arm(self.limits.body_timeout_s)
        if self.direct and self._answers_directly():
            return
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.transport is self.transport:
            cycle.transport = _OneWrite(self.transport, self.loop)  # type: ignore[assignment]

    def on_body(self, body: bytes) -> None:
        self._body_seen += len(body)
        if self._body_seen > self.limits.max_body_bytes:
            self._refuse_body()
            raise _Refused
        if self._answer is not None:
            self._answer_body += body
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        answer = self._answer
        if answer is None:
            super().on_message_complete()
            return
        self._answer = None
        body, self._answer_body = self._answer_body, b""
        answered = self.server_state.total_requests
        try:
            if answer(self.scope, body, self._write_answer):  # type: ignore[arg-type]
                return
        except Exception:  # a defect: handled as uvicorn handles an app that raised
            log.exception("direct answer failed")
            self._refused = True
            if self.server_state.total_requests != answered:  # after its answer: close
                self.transport.close()
            elif not self.transport.is_closing():
                self.transport.write(
                    b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; "
                    b"charset=utf-8\r\ncontent-length: 21\r\nconnection: close\r\n\r\n"
                    b"Internal Server Error"
                )
                self.transport.close()
            return
        self._start_cycle(body)

    # ------------------------------------------------------------ direct answers

    def _answers_directly(self) -> bool:
        """Whether the request whose head just ended is one of ``direct`` that may be
        answered once its body is in: if so it is made ready for that (scope completed as
        uvicorn completes it) and no cycle is started."""
        cycle = self.cycle
        if (
            self.pipeline
            or (cycle is not None and not cycle.response_complete)
            or self.expect_100_continue
            or self.flow.write_paused
            or self.root_path
            or self.limit_concurrency is not None
        ):
            return False
        parser = self.parser
        if parser.should_upgrade():
            return False
        target = (parser.get_method(), self.url)
        route = self._routes.get(target)
        if route is None:
            route = self._route(*target)
            routes = self._routes
            if len(routes) >= _ROUTES_KEPT:
                routes.clear()
            routes[target] = route
        if not route:
            return False
        method, path, raw_path, query, answer = route
        scope = self.scope
        http_version = parser.get_http_version()
        scope["method"] = method
        if http_version != "1.1":
            scope["http_version"] = http_version
        scope["path"] = path
        scope["raw_path"] = raw_path
        scope["query_string"] = query
        self._keep_alive = http_version != "1.0" and parser.should_keep_alive()
        self._answer = answer
        return True

    @classmethod
    def _route(cls, method: bytes, url: bytes) -> _Route | tuple[()]:
        """The direct answer for a request line's method and URL, with the scope's method,
        path, raw path and query string as uvicorn makes them; () when it has none."""
        name = _METHODS.get(method)
        if name is None or url[:1] != b"/" or b"#" in url:
            return ()  # another method, an absolute URL, a fragment: as uvicorn does
        raw_path, _, query = url.partition(b"?")
        if b"%" in raw_path:
            return ()  # uvicorn unquotes it; no direct path has one
        path = raw_path.decode("latin-1")
        answer = cls.direct.get((name, path))
        if answer is None:
            return ()
        return name, path, raw_path, query, answer

    def _write_answer(self, head: bytes, body: bytes) -> None:
        """Send a direct answer: HTTP 200 with ``head``'s header lines after uvicorn's
        default ones, in one write; then what uvicorn does once a response is complete."""
        defaults = self.server_state.default_headers
        made_from, lines = GuardedHttpToolsProtocol._default_lines
        if made_from is not defaults:
            lines = b"".join(b"%s: %s\r\n" % pair for pair in defaults)
            GuardedHttpToolsProtocol._default_lines = (defaults, lines)
        if not self._keep_alive:
            head += b"connection: close\r\n"
        transport = self.transport
        if len(body) > _JOIN_MAX:
            transport.writelines([b"HTTP/1.1 200 OK\r\n%s%s\r\n" % (lines, head), body])
        else:
            transport.write(b"HTTP/1.1 200 OK\r\n%s%s\r\n%s" % (lines, head, body))
        if not self._keep_alive:
            transport.close()
        self.on_response_complete()

    def _start_cycle(self, body: bytes) -> None:
        """Give a request made ready for a direct answer to the app as uvicorn would have,
        its body already read."""
        cycle = RequestResponseCycle(
            scope=self.scope,
            transport=_OneWrite(self.transport, self.loop),  # type: ignore[arg-type]
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=self._keep_alive,
            on_response=self.on_response_complete,
        )
        cycle.body = bytearray(body)
        cycle.more_body = False
        cycle.message_event.set()
        self.cycle = cycle
        self._start_asgi_task(cycle, self.app)

    # ------------------------------------------------------------ refusing

    def _arm(self, seconds: float) -> None:
        self._disarm()
        if seconds > 0:
            self._timer = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        self._refuse(408, b"request not received in time")

    def _refuse_body(self) -> None:
        refusal = invalid("body", f"larger than {self.limits.max_body_bytes} bytes")
        body = envelope.body_error(Errno.PARAMETER_INVALID, refusal.msg)
        detail = b"x-foxden-detail: " + refusal.detail.encode("ascii") + b"\r\n"
        self._refuse(413, body, b"application/json", detail)

    def _may_answer(self) -> bool:
        """Whether a status line can still be written for the request being read: none
        was started for it (and none for an earlier pipelined request is under way)."""
        cycle = self.cycle
        if self._in_head or self._answer is not None:
            return cycle is None or cycle.response_complete
        return cycle is not None and not cycle.response_started

    def _refuse(
        self,
        status: int,
        body: bytes,
        kind: bytes = b"text/plain; charset=utf-8",
        extra: bytes = b"",
    ) -> None:
        """Answer ``status`` (unless a response is already under way) and close."""
        if self._refused or self.transport is None or self.transport.is_closing():
            self._refused = True
            return
        self._refused = True
        self._disarm()
        if self._may_answer():
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n%s"
                b"connection: close\r\n\r\n%s"
                % (status, _REASONS[status], kind, len(body), extra, body)
            )
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()


def guarded_protocol(
    limits: HttpLimits, direct: Mapping[tuple[str, str], DirectAnswer] | None = None
) -> type[GuardedHttpToolsProtocol]:
    """The protocol class uvicorn builds per connection, with these limits and these calls
    answered without an ASGI cycle."""
    return type(
        "FoxdenHttpProtocol",
        (GuardedHttpToolsProtocol,),
        {"limits": limits, "direct": dict(direct or {}), "_routes": {}},
    )


def raise_file_limit(connections: int) -> None:
    """Let the process open enough descriptors for ``connections`` plus its own files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        if new < wanted:
            log.warning(
                "only %d file descriptors allowed; max_connections %d may not all be served",
                new,
                connections,
            )


def uvicorn_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for foxden: the guarded httptools protocol and the limits
    of ``settings``, with the calls ``app`` lists as ``direct`` (``FastPath.direct``)
    answered without an ASGI cycle; ``options`` (host, port, log_level, loop, ...) pass
    through."""
    limits = HttpLimits.from_settings(settings)
    options.setdefault("access_log", False)
    direct = getattr(app, "direct", None) if not options.get("access_log") else None
    return uvicorn.Config(
        app,
        http=guarded_protocol(limits, direct),
        timeout_keep_alive=max(1, round(limits.keep_alive_timeout_s)),
        **options,
    )
