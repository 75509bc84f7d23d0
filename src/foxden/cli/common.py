"""What every API command shares: the connection, the common options, errors and output.

Every API command takes ``--base-url`` and ``--api-key`` (also ``FOXDEN_BASE_URL`` and
``FOXDEN_API_KEY``, or given once before the command: ``foxden --api-key K devices list``);
reading commands also take ``--json``, which prints the raw result alone on stdout. They are
declared once here and added to a command by the :func:`api` decorator, which hands the
command a :class:`Call` instead of the options themselves.

A failure is one line on stderr, ``error: <message> (errno N: <meaning>) — <what to do>``,
and an exit code scripts can rely on (see ``EXIT_CODES``).
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import typing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, overload

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from foxden import config
from foxden.client import convenience as conv
from foxden.client import errors
from foxden.client.core import VENDOR_BASE_URL, RetryPolicy
from foxden.client.generated import Client
from foxden.extras import MissingExtra, require
from foxden.protocol import timefmt

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

EXIT_OK = 0
EXIT_API = 1
EXIT_USAGE = 2
EXIT_TRANSPORT = 3
EXIT_AUTH = 4
EXIT_QUOTA = 5
EXIT_CODES = {
    EXIT_OK: "ok",
    EXIT_API: "API error (the server answered with an errno)",
    EXIT_USAGE: "usage or configuration error",
    EXIT_TRANSPORT: "transport error (network, timeout, not an Open API server)",
    EXIT_AUTH: "authentication error (key, signature, clock)",
    EXIT_QUOTA: "daily quota used up or requests too frequent",
}
EPILOG = "Exit codes: " + "; ".join(f"{code} {text}" for code, text in EXIT_CODES.items()) + "."
PANEL = "Open API calls"
SERVER_DEFAULTS = config.Settings()

Host = Annotated[
    str | None,
    typer.Option("--host", help="Address to listen on", show_default=SERVER_DEFAULTS.host),
]
"""``--host`` of the commands that serve the Open API (``serve``, ``gateway``)."""
Port = Annotated[
    int | None,
    typer.Option("--port", help="Port to listen on", show_default=str(SERVER_DEFAULTS.port)),
]
"""``--port`` of the commands that serve the Open API (``serve``, ``gateway``)."""
META = "foxden.api"


# ---------------------------------------------------------------- help examples


def _demo_devices() -> list[tuple[str, str]]:
    from foxden.demo import DEMO_PLANTS

    return [device for plant in DEMO_PLANTS for device in plant.devices]


DEMO_DEVICES = _demo_devices()
"""(serial, model) of the demo fleet: a fresh ``foxden serve`` has them."""
EXAMPLE_SN = DEMO_DEVICES[0][0]
EXAMPLE_SN2 = next(sn for sn, _ in reversed(DEMO_DEVICES) if sn != EXAMPLE_SN)
_PLACEHOLDER = re.compile(r"\{SN(2|:[\w.-]+)?\}")

F = typing.TypeVar("F", bound=Callable[..., Any])


def _demo_serial(match: re.Match[str]) -> str:
    which = match.group(1)
    if which is None:
        return EXAMPLE_SN
    if which == "2":
        return EXAMPLE_SN2
    return next(sn for sn, model in DEMO_DEVICES if model == which[1:])


def examples(fn: F) -> F:
    """Put the demo fleet's serials in the docstring's examples: ``{SN}`` and ``{SN2}`` are
    two of them, ``{SN:KH8}`` the first of a model."""
    if fn.__doc__:
        fn.__doc__ = _PLACEHOLDER.sub(_demo_serial, fn.__doc__)
    return fn


# ---------------------------------------------------------------- errors


class CliError(Exception):
    """A problem found by the command line itself (exit 2 unless told otherwise)."""

    def __init__(self, message: str, hint: str = "", code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def fail(message: str, code: int, hint: str = "") -> NoReturn:
    """One line on stderr, then exit with ``code``."""
    line = f"error: {_one_line(message)}"
    if hint:
        line += f" — {_one_line(hint)}"
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    raise typer.Exit(code)


def exit_code(exc: errors.FoxError) -> int:
    """The documented exit code of a client error."""
    if isinstance(exc, errors.AuthError | errors.KeyFormatError):
        return EXIT_AUTH
    if isinstance(exc, errors.QuotaExceededError | errors.RateLimitedError):
        return EXIT_QUOTA
    if isinstance(exc, errors.ApiError):
        return EXIT_API
    return EXIT_TRANSPORT


def _fail_client(exc: errors.FoxError) -> NoReturn:
    code = exit_code(exc)
    if isinstance(exc, errors.DeviceNotFoundError) and exc.sn:
        fail(
            f"no inverter {exc.sn} on this account: {exc.msg}"
            f"{f' [{exc.detail}]' if exc.detail else ''} (errno {exc.errno}: {exc.meaning})",
            code,
            exc.advice or "check the serial number (foxden devices list)",
        )
    if isinstance(exc, errors.ApiError):
        fail(
            f"{exc.msg}{f' [{exc.detail}]' if exc.detail else ''} "
            f"(errno {exc.errno}: {exc.meaning})",
            code,
            exc.advice or "see docs/errno.md",
        )
    if isinstance(exc, errors.KeyFormatError):
        fail(str(exc), code, "give the key alone: --api-key KEY or FOXDEN_API_KEY")
    fail(str(exc), code, "check --base-url and the network, then try again")


def need(extra: str, feature: str) -> None:
    """Fail in one line, naming the extra to install, when ``feature`` cannot work here."""
    try:
        require(extra, feature)
    except MissingExtra as exc:
        fail(str(exc), EXIT_USAGE, f"install it: {exc.install}")


# ---------------------------------------------------------------- connection


@dataclass(slots=True)
class Globals:
    """Options given before the command (``foxden --api-key K devices list``)."""

    base_url: str | None = None
    api_key: str | None = None
    retries: int | None = None
    timeout: float | None = None
    min_interval: float | None = None


def _env_number(name: str, kind: Callable[[str], Any], default: Any) -> Any:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise CliError(f"{name}={raw!r} is not a number", f"set {name} to a number") from None


def make_client(ctx: typer.Context, base_url: str | None, api_key: str | None) -> Client:
    """A client from the command's options, then the global ones, then the environment."""
    g: Globals = ctx.meta.get(META) or Globals()
    url = base_url or g.base_url or os.environ.get("FOXDEN_BASE_URL")
    if not url:
        url = VENDOR_BASE_URL
        sys.stderr.write(
            f"note: no --base-url or FOXDEN_BASE_URL: talking to the vendor cloud at {url}\n"
        )
    key = (api_key or g.api_key or os.environ.get("FOXDEN_API_KEY") or "").strip()
    if not key:
        raise CliError("no API key", "give --api-key KEY or set FOXDEN_API_KEY")
    if not url.startswith(("http://", "https://")):
        raise CliError(f"--base-url {url!r} is not an http(s) URL", "e.g. http://127.0.0.1:8080")
    retries = g.retries if g.retries is not None else _env_number("FOXDEN_RETRIES", int, 3)
    timeout = g.timeout if g.timeout is not None else _env_number("FOXDEN_TIMEOUT", float, 30.0)
    vendor = url.rstrip("/") == VENDOR_BASE_URL or "foxesscloud.com" in url
    pace = g.min_interval
    if pace is None:
        pace = _env_number("FOXDEN_MIN_INTERVAL", float, 1.0 if vendor else 0.0)
    return Client(
        key,
        url,
        retry=RetryPolicy(max_retries=max(0, retries)),
        timeout=timeout,
        min_interval_s=pace,
    )


@contextmanager
def session(ctx: typer.Context, base_url: str | None, api_key: str | None) -> Iterator[Client]:
    """A client for one command; any failure inside becomes one line and an exit code."""
    try:
        client = make_client(ctx, base_url, api_key)
        with client:
            yield client
    except CliError as exc:
        fail(exc.message, exc.code, exc.hint)
    except errors.FoxError as exc:
        _fail_client(exc)


# ---------------------------------------------------------------- the common options

TIME_HELP = "ISO 8601, today, yesterday, now, or relative: -2h, -30m, -3d, -1w"

BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="API root, e.g. http://127.0.0.1:8080 (env FOXDEN_BASE_URL)",
        show_default=f"the vendor cloud, {VENDOR_BASE_URL}",
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option("--api-key", help="API key (env FOXDEN_API_KEY)", show_default="none"),
]
Json = Annotated[bool, typer.Option("--json", help="Print the raw result as JSON, alone")]
Sn = Annotated[str, typer.Argument(help="Inverter serial number", show_default=False)]


def vars_option(default: str) -> Any:
    """``--vars``, saying what the command asks for without it."""
    return typer.Option("--vars", help="Variables, comma-separated", show_default=default)


Vars = Annotated[str | None, vars_option("all the inverter's variables")]
Zone = Annotated[
    str | None,
    typer.Option(
        "--tz",
        help="Plant time zone, e.g. Europe/London",
        show_default="the plant's, from plant detail",
    ),
]
From = Annotated[
    str | None,
    typer.Option("--from", help=f"Start: {TIME_HELP}", show_default="24 h before --to"),
]
To = Annotated[
    str | None,
    typer.Option("--to", help=f"End, excluded: {TIME_HELP}", show_default="now"),
]
FileArg = Annotated[Path, typer.Argument(help="JSON file", dir_okay=False, show_default=False)]


@dataclass(slots=True)
class Call:
    """What an API command gets in place of the common options."""

    ctx: typer.Context
    base_url: str | None
    api_key: str | None
    as_json: bool = False

    def client(self) -> typing.ContextManager[Client]:
        """The command's client; failures inside become one line and an exit code."""
        return session(self.ctx, self.base_url, self.api_key)


Command = Callable[..., None]
_COMMON = (
    ("base_url", BaseUrl, None),
    ("api_key", ApiKey, None),
)


def _parameter(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def _wrap(fn: Callable[..., None], with_json: bool) -> Command:
    own = list(inspect.signature(fn, eval_str=True).parameters.values())[1:]  # drop ``call``
    hints = typing.get_type_hints(fn, include_extras=True)
    common = [_parameter(n, a, d) for n, a, d in _COMMON]
    if with_json:
        common.append(_parameter("as_json", Json, False))
    first = inspect.Parameter.POSITIONAL_OR_KEYWORD
    context = inspect.Parameter("ctx", first, annotation=typer.Context)
    params = [context] + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + common

    @wraps(fn)
    def command(ctx: typer.Context, **kwargs: Any) -> None:
        base_url, api_key = kwargs.pop("base_url"), kwargs.pop("api_key")
        call = Call(ctx, base_url, api_key, as_json=kwargs.pop("as_json", False))
        fn(call, **kwargs)

    command.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
    command.__annotations__ = {
        **{p.name: hints.get(p.name, p.annotation) for p in own},
        **{p.name: p.annotation for p in common},
        "ctx": typer.Context,
        "return": None,
    }
    del command.__wrapped__  # typer must see the signature above, not the function's own
    return examples(command)


@overload
def api(fn: Callable[..., None], /) -> Command: ...
@overload
def api(*, json: bool = True) -> Callable[[Callable[..., None]], Command]: ...
def api(
    fn: Callable[..., None] | None = None, /, *, json: bool = True
) -> Command | Callable[[Callable[..., None]], Command]:
    """Make ``fn(call, ...)`` a command with the common options (and ``--json`` unless
    ``json=False``); the command's own parameters keep their order and help."""
    if fn is not None:
        return _wrap(fn, True)
    return lambda f: _wrap(f, json)


# ---------------------------------------------------------------- output


def console() -> Console:
    """Tables go to stdout; wide when not a terminal, so piped tables keep every value."""
    return Console() if sys.stdout.isatty() else Console(width=200, color_system=None)


def err_console() -> Console:
    return Console(stderr=True)


def print_json(data: Any) -> None:
    encoded = msgspec.json.encode(msgspec.to_builtins(data))
    sys.stdout.write(msgspec.json.format(encoded, indent=2).decode() + "\n")


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    result = Table(title=title)
    for column in columns:
        result.add_column(column, overflow="fold")
    for row in rows:
        result.add_row(*("" if v is None else str(v) for v in row))
    return result


def show(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    console().print(table(title, columns, rows))


def pairs(title: str, fields: Sequence[tuple[str, Any]]) -> None:
    show(title, ("field", "value"), fields)


def number(value: float | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def english(name: Any) -> str:
    if isinstance(name, dict):
        return str(name.get("en") or next(iter(name.values()), ""))
    return str(name)


def split_vars(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [v for v in text.replace(",", " ").split() if v]
    return names or None


# ---------------------------------------------------------------- input files


def read_json_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


def decode_file(path: Path, kind: Any) -> Any:
    try:
        return msgspec.json.decode(read_json_file(path), type=kind)
    except msgspec.DecodeError as exc:  # ValidationError included
        raise CliError(f"{path}: {exc}", "fix the file; see the example in --help") from None


# ---------------------------------------------------------------- time arguments


def parse_iso(text: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"{option} {text!r} is not an ISO 8601 time",
            "e.g. 2024-03-30, 2024-03-30T06:00 or 2024-03-30T06:00+01:00",
        ) from None


def zone(name: str) -> ZoneInfo:
    try:
        return timefmt.zone(name)
    except ValueError:
        raise CliError(
            f"unknown time zone {name!r}", "use an IANA name such as Europe/London"
        ) from None


_RELATIVE = re.compile(r"^([+-])\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_when(
    text: str, option: str, plant_zone: Callable[[], str], now: datetime | None = None
) -> datetime:
    """A time option: ISO 8601 (naive: in the plant's zone), ``now``, ``today`` and
    ``yesterday`` (midnight in the plant's zone), or an offset from now (``-2h``)."""
    now = now or datetime.now(UTC)
    word = text.strip().lower()
    if word == "now":
        return now
    if word in ("today", "yesterday"):
        local = now.astimezone(zone(plant_zone())).date()
        if word == "yesterday":
            local -= timedelta(days=1)
        return datetime(local.year, local.month, local.day, tzinfo=zone(plant_zone()))
    relative = _RELATIVE.match(word)
    if relative:
        sign, amount, unit = relative.groups()
        seconds = float(amount) * _UNITS[unit]
        return now + timedelta(seconds=seconds if sign == "+" else -seconds)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"{option} {text!r} is not a time",
            "give ISO 8601 (2024-03-30, 2024-03-30T06:00, 2024-03-30T06:00+01:00), today, "
            "yesterday, now, or an offset such as -2h, -30m, -3d",
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=zone(plant_zone()))


class ZoneLookup:
    """The plant zone, looked up at most once and only when needed."""

    def __init__(self, client: Client, sn: str, given: str | None) -> None:
        self.client, self.sn, self.name = client, sn, given
        if given is not None:
            zone(given)

    def __call__(self) -> str:
        if self.name is None:
            try:
                self.name = conv.plant_zone(self.client, self.sn)
            except ValueError as exc:
                raise CliError(str(exc), "give the zone with --tz") from None
        return self.name


def time_range(
    start: str | None, stop: str | None, plant_zone: Callable[[], str]
) -> tuple[datetime, datetime]:
    """``--from``/``--to`` (see :func:`parse_when`); ``--to`` is excluded; defaults are the
    last 24 hours."""
    now = datetime.now(UTC)
    end = parse_when(stop, "--to", plant_zone, now) if stop else now
    begin = parse_when(start, "--from", plant_zone, now) if start else end - timedelta(days=1)
    if end <= begin:
        raise CliError("--to must be after --from")
    return begin, end
