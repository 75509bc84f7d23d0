"""``foxden`` commands for every Open API call, against foxden or the vendor cloud.

Every command takes ``--base-url`` and ``--api-key`` (also ``FOXDEN_BASE_URL`` and
``FOXDEN_API_KEY``, or given once before the command: ``foxden --api-key K devices list``).
Results print as a table; ``--json`` prints the raw result alone on stdout; history and
reports also write tidy rows with ``--csv`` (stdout) and ``--parquet FILE``.

A failure is one line on stderr, ``error: <message> (errno N: <meaning>) — <what to do>``,
and an exit code scripts can rely on (see ``EXIT_CODES``).
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from foxden.client import convenience as conv
from foxden.client import errors, schedule
from foxden.client.core import VENDOR_BASE_URL, RetryPolicy
from foxden.client.generated import Client
from foxden.protocol import structs as s
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
META = "foxden.api"

POWER_VARIABLES = [
    "pvPower",
    "loadsPower",
    "feedinPower",
    "gridConsumptionPower",
    "batChargePower",
    "batDischargePower",
    "SoC",
]
ENERGY_VARIABLES = list(conv.REPORT_VARIABLES)
SHORT_NAMES = {
    "generation": "generation",
    "feedin": "feed-in",
    "gridConsumption": "grid import",
    "chargeEnergyToTal": "charge",
    "dischargeEnergyToTal": "discharge",
}


# ---------------------------------------------------------------- connection and errors


class CliError(Exception):
    """A problem found by the command line itself (exit 2 unless told otherwise)."""

    def __init__(self, message: str, hint: str = "", code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code


@dataclass(slots=True)
class Globals:
    """Options given before the command (``foxden --api-key K devices list``)."""

    base_url: str | None = None
    api_key: str | None = None
    retries: int | None = None
    timeout: float | None = None
    min_interval: float | None = None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fail(message: str, code: int, hint: str = "") -> NoReturn:
    line = f"error: {_one_line(message)}"
    if hint:
        line += f" — {_one_line(hint)}"
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    raise typer.Exit(code)


def exit_code(exc: errors.FoxError) -> int:
    """The documented exit code of a client error."""
    if isinstance(exc, errors.AuthError):
        return EXIT_AUTH
    if isinstance(exc, errors.QuotaExceededError | errors.RateLimitedError):
        return EXIT_QUOTA
    if isinstance(exc, errors.ApiError):
        return EXIT_API
    return EXIT_TRANSPORT


def _fail_client(exc: errors.FoxError) -> NoReturn:
    code = exit_code(exc)
    if isinstance(exc, errors.ApiError):
        _fail(
            f"{exc.msg}{f' [{exc.detail}]' if exc.detail else ''} "
            f"(errno {exc.errno}: {exc.meaning})",
            code,
            exc.advice or "see docs/errno.md",
        )
    _fail(str(exc), code, "check --base-url and the network, then try again")


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
    url = base_url or g.base_url or os.environ.get("FOXDEN_BASE_URL") or VENDOR_BASE_URL
    key = api_key or g.api_key or os.environ.get("FOXDEN_API_KEY")
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
        _fail(exc.message, exc.code, exc.hint)
    except errors.FoxError as exc:
        _fail_client(exc)


# ---------------------------------------------------------------- options

BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="API root, e.g. http://127.0.0.1:8080 (env FOXDEN_BASE_URL; default: vendor cloud)",
        show_default=False,
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option("--api-key", help="API key (env FOXDEN_API_KEY)", show_default=False),
]
Json = Annotated[bool, typer.Option("--json", help="Print the raw result as JSON, alone")]
Csv = Annotated[bool, typer.Option("--csv", help="Print tidy rows as CSV")]
Parquet = Annotated[
    Path | None,
    typer.Option("--parquet", help="Write tidy rows to this Parquet file", dir_okay=False),
]
Vars = Annotated[
    str | None,
    typer.Option("--vars", help="Variables, comma-separated (default: all / the usual ones)"),
]
Zone = Annotated[
    str | None,
    typer.Option("--tz", help="Plant time zone, e.g. Europe/London (default: from plant detail)"),
]
Sn = Annotated[str, typer.Argument(help="Inverter serial number", show_default=False)]


def _vars(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [v for v in text.replace(",", " ").split() if v]
    return names or None


# ---------------------------------------------------------------- output


def _console() -> Console:
    """Tables go to stdout; wide when not a terminal, so piped tables keep every value."""
    return Console() if sys.stdout.isatty() else Console(width=200, color_system=None)


def _err_console() -> Console:
    return Console(stderr=True)


def print_json(data: Any) -> None:
    encoded = msgspec.json.encode(msgspec.to_builtins(data))
    sys.stdout.write(msgspec.json.format(encoded, indent=2).decode() + "\n")


def _table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


def _show(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    _console().print(_table(title, columns, rows))


def _pairs(title: str, pairs: Sequence[tuple[str, Any]]) -> None:
    _show(title, ("field", "value"), pairs)


def _number(value: float | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


TidyRow = tuple[str, str, str, float | str, str]
TIDY_COLUMNS = ("device", "variable", "time", "value", "unit")


def write_csv(rows: Sequence[TidyRow]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(TIDY_COLUMNS)
    writer.writerows(rows)


def write_parquet(path: Path, rows: Sequence[TidyRow]) -> None:
    """Tidy rows to Parquet: ``value`` is float64 (null for a text value), the text of a
    text variable (runningState, batStatusV2 ...) is kept in ``text``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    numbers: list[float | None] = []
    texts: list[str | None] = []
    for row in rows:
        value = row[3]
        if isinstance(value, str):
            texts.append(value)
            try:
                numbers.append(float(value))
            except ValueError:
                numbers.append(None)
        else:
            texts.append(None)
            numbers.append(float(value))
    table = pa.table(
        {
            "device": pa.array([r[0] for r in rows], pa.string()),
            "variable": pa.array([r[1] for r in rows], pa.string()),
            "time": pa.array([r[2] for r in rows], pa.string()),
            "value": pa.array(numbers, pa.float64()),
            "unit": pa.array([r[4] for r in rows], pa.string()),
            "text": pa.array(texts, pa.string()),
        }
    )
    try:
        pq.write_table(table, str(path))
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc}", "check the directory exists") from None
    _err_console().print(f"Wrote {len(rows)} rows to {path}")


def _formats(as_json: bool, as_csv: bool) -> None:
    if as_json and as_csv:
        raise CliError("--json and --csv do not go together", "choose one")


# ---------------------------------------------------------------- time arguments


def parse_iso(text: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"{option} {text!r} is not an ISO 8601 time",
            "e.g. 2024-03-30, 2024-03-30T06:00 or 2024-03-30T06:00+01:00",
        ) from None


def _zone(name: str) -> ZoneInfo:
    try:
        return timefmt.zone(name)
    except ValueError:
        raise CliError(
            f"unknown time zone {name!r}", "use an IANA name such as Europe/London"
        ) from None


def _aware(when: datetime, zone: Callable[[], str]) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=_zone(zone()))


class _ZoneLookup:
    """The plant zone, looked up at most once and only when needed."""

    def __init__(self, client: Client, sn: str, given: str | None) -> None:
        self.client, self.sn, self.name = client, sn, given
        if given is not None:
            _zone(given)

    def __call__(self) -> str:
        if self.name is None:
            try:
                self.name = conv.plant_zone(self.client, self.sn)
            except ValueError as exc:
                raise CliError(str(exc), "give the zone with --tz") from None
        return self.name


def _range(
    start: str | None, stop: str | None, zone: Callable[[], str]
) -> tuple[datetime, datetime]:
    """``--from``/``--to``: naive times are in the plant zone; ``--to`` is excluded;
    defaults are the last 24 hours."""
    end = _aware(parse_iso(stop, "--to"), zone) if stop else datetime.now(UTC)
    begin = _aware(parse_iso(start, "--from"), zone) if start else end - timedelta(days=1)
    if end <= begin:
        raise CliError("--to must be after --from")
    return begin, end


# ---------------------------------------------------------------- apps

plants_app = typer.Typer(help="Power stations (plants).", no_args_is_help=True)
devices_app = typer.Typer(help="Inverters of the account.", no_args_is_help=True)
battery_app = typer.Typer(help="Battery settings.", no_args_is_help=True)
soc_app = typer.Typer(help="Minimum state of charge.", no_args_is_help=True)
charge_app = typer.Typer(help="The two force-charge periods.", no_args_is_help=True)
setting_app = typer.Typer(help="Device settings by key.", no_args_is_help=True)
time_app = typer.Typer(help="The inverter's clock.", no_args_is_help=True)
schedule_app = typer.Typer(help="The scheduler (time-of-use groups).", no_args_is_help=True)
plot_app = typer.Typer(help="Charts of history and reports (PNG).", no_args_is_help=True)
battery_app.add_typer(soc_app, name="soc")


# ---------------------------------------------------------------- plants


@plants_app.command("list")
def plants_list(
    ctx: typer.Context, base_url: BaseUrl = None, api_key: ApiKey = None, as_json: Json = False
) -> None:
    """Every plant of the account (all pages).

    Example: foxden plants list --base-url http://127.0.0.1:8080
    """
    with session(ctx, base_url, api_key) as client:
        plants = list(conv.iter_plants(client))
    if as_json:
        return print_json(plants)
    rows = [(p.stationID, p.name, p.ianaTimezone) for p in plants]
    _show(f"Plants ({len(plants)})", ("stationID", "name", "timezone"), rows)


@plants_app.command("show")
def plants_show(
    ctx: typer.Context,
    station_id: Annotated[str, typer.Argument(help="Plant id (stationID)")],
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: Json = False,
) -> None:
    """Details of one plant.

    Example: foxden plants show 0b7c6f2e-0d43-4b8e-9f2a-1f1c2d3e4f50
    """
    with session(ctx, base_url, api_key) as client:
        d = client.plant_detail(station_id)
    if as_json:
        return print_json(d)
    modules = ", ".join(f"{m.deviceSN} ({m.moduleSN})" for m in d.modules)
    _pairs(
        f"Plant {station_id}",
        [
            ("name", d.stationName),
            ("country", d.country),
            ("city", d.city),
            ("address", d.address),
            ("postcode", d.postcode),
            ("capacity (kW)", _number(d.capacity)),
            ("timezone", d.timezone),
            ("created", d.createDate),
            ("user", d.user.name),
            ("devices", modules),
        ],
    )


def _read_json_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


def _decode(path: Path, kind: Any) -> Any:
    try:
        return msgspec.json.decode(_read_json_file(path), type=kind)
    except msgspec.DecodeError as exc:  # ValidationError included
        raise CliError(f"{path}: {exc}", "fix the file; see the example in --help") from None


def _write_result(result: s.PlantWriteResult, verb: str, as_json: bool) -> None:
    if as_json:
        return print_json(result)
    _console().print(f"{verb} plant {result.stationID}")
    if result.devices:
        rows = [(d.sn, d.errno, "bound" if d.errno == 0 else "not bound") for d in result.devices]
        _show(None, ("device", "errno", "result"), rows)


FileArg = Annotated[Path, typer.Argument(help="JSON file", dir_okay=False, show_default=False)]


@plants_app.command("create")
def plants_create(
    ctx: typer.Context,
    file: FileArg,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: Json = False,
) -> None:
    """Create a plant from a JSON file shaped like the API's request body.

    Example: foxden plants create home.json, with home.json holding
    {"details": {"name": "Home", "type": 2, "countryCode": "GB", "city": "Leeds",
    "address": "1 Lane", "postcode": "LS1"}, "timezone": "Europe/London",
    "devices": [{"sn": "60H15000000001"}]}
    """
    with session(ctx, base_url, api_key) as client:
        request = _decode(file, s.PlantCreate)
        result = client.plant_create(request)
    _write_result(result, "Created", as_json)


@plants_app.command("update")
def plants_update(
    ctx: typer.Context,
    file: FileArg,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: Json = False,
) -> None:
    """Update a plant from a JSON file (as for create, with details.stationID).

    Example: foxden plants update home.json
    """
    with session(ctx, base_url, api_key) as client:
        request = _decode(file, s.PlantUpdate)
        result = client.plant_update(request)
    _write_result(result, "Updated", as_json)


@plants_app.command("delete")
def plants_delete(
    ctx: typer.Context,
    station_id: Annotated[str, typer.Argument(help="Plant id (stationID)")],
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Delete a plant; its inverters stay registered to the account.

    Example: foxden plants delete 0b7c6f2e-0d43-4b8e-9f2a-1f1c2d3e4f50
    """
    with session(ctx, base_url, api_key) as client:
        client.plant_delete(station_id)
    _console().print(f"Deleted plant {station_id}")


# ---------------------------------------------------------------- devices and modules


@devices_app.command("list")
def devices_list(
    ctx: typer.Context, base_url: BaseUrl = None, api_key: ApiKey = None, as_json: Json = False
) -> None:
    """Every inverter of the account (all pages).

    Example: foxden devices list
    """
    with session(ctx, base_url, api_key) as client:
        devices = list(conv.iter_devices(client))
    if as_json:
        return print_json(devices)
    rows = [
        (
            d.deviceSN,
            d.deviceType,
            d.productType,
            d.stationName,
            d.moduleSN,
            d.status,
            "yes" if d.hasBattery else "no",
        )
        for d in devices
    ]
    columns = ("deviceSN", "type", "product", "plant", "module", "status", "battery")
    _show(f"Inverters ({len(devices)})", columns, rows)


@devices_app.command("show")
def devices_show(
    ctx: typer.Context,
    sn: Sn,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: Json = False,
) -> None:
    """Details of one inverter: model, plant, firmware, batteries.

    Example: foxden devices show 60H15000000001
    """
    with session(ctx, base_url, api_key) as client:
        d = client.device_detail(sn)
    if as_json:
        return print_json(d)
    batteries = "; ".join(
        f"{b.model} {b.batterySN}" + (f" {b.capacity} Wh" if b.capacity else "")
        for b in d.batteryList
    )
    _pairs(
        f"Inverter {d.deviceSN}",
        [
            ("type", d.deviceType),
            ("product", d.productType),
            ("plant", f"{d.stationName} ({d.stationID})" if d.stationID else "(none)"),
            ("module", d.moduleSN),
            ("status", d.status),
            ("capacity (kW)", _number(d.capacity)),
            ("battery", batteries or ("yes" if d.hasBattery else "no")),
            ("scheduler", "yes" if d.function.scheduler else "no"),
            (
                "manager / master / slave",
                f"{d.managerVersion} / {d.masterVersion} / {d.slaveVersion}",
            ),
            ("hardware", d.hardwareVersion),
        ],
    )


def modules(
    ctx: typer.Context, base_url: BaseUrl = None, api_key: ApiKey = None, as_json: Json = False
) -> None:
    """Every data logger (communication module) of the account (all pages).

    Example: foxden modules
    """
    with session(ctx, base_url, api_key) as client:
        found = list(conv.iter_modules(client))
    if as_json:
        return print_json(found)
    rows = [(m.moduleSN, m.stationID, m.status, m.signal) for m in found]
    _show(f"Modules ({len(found)})", ("moduleSN", "stationID", "status", "signal"), rows)


# ---------------------------------------------------------------- telemetry


def real(
    ctx: typer.Context,
    sns: Annotated[
        list[str] | None,
        typer.Argument(
            help="Serial numbers, any number (none: every inverter)", show_default=False
        ),
    ] = None,
    variables: Vars = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: Json = False,
) -> None:
    """Latest real-time data of any number of inverters (asked 50 at a time).

    Example: foxden real 60H15000000001 60H31000000002 --vars pvPower,SoC,loadsPower
    """
    with session(ctx, base_url, api_key) as client:
        names = _vars(variables)
        devices = conv.real_time_many(client, sns, names) if sns else client.real_time(None, names)
    if as_json:
        return print_json(devices)
    rows = [
        (d.deviceSN, d.time, v.variable, v.name, _number(v.value), v.unit or "")
        for d in devices
        for v in d.datas
    ]
    _show("Real-time data", ("device", "time", "variable", "name", "value", "unit"), rows)


def _history_rows(device: s.HistoryDevice) -> list[TidyRow]:
    return [
        (r.device, r.variable, r.time.isoformat(), r.value, r.unit or "")
        for r in conv.history_to_rows(device)
    ]


def _history_table(device: s.HistoryDevice) -> None:
    by_time: dict[str, dict[str, float | str]] = {}
    instants: dict[str, float] = {}
    for var in device.datas:
        for p in var.data:
            by_time.setdefault(p.time, {})[var.variable] = p.value
            if p.time not in instants:
                instants[p.time] = conv.parse_time(p.time).timestamp()
    columns = ["time"] + [
        f"{v.variable} ({v.unit})" if v.unit else v.variable for v in device.datas
    ]
    rows = [
        [t]
        + [
            _number(by_time[t][v.variable]) if v.variable in by_time[t] else ""
            for v in device.datas
        ]
        for t in sorted(by_time, key=instants.__getitem__)
    ]
    _show(f"History of {device.deviceSN} ({len(rows)} times)", columns, rows)


def _pull_history(
    client: Client,
    sn: str,
    begin: datetime,
    end: datetime,
    names: list[str] | None,
    show_progress: bool | None,
) -> s.HistoryDevice:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    last_ms = conv.to_ms(end) - 1  # --to is excluded
    windows = conv.history_windows(begin, last_ms)
    console = _err_console()
    show = show_progress if show_progress is not None else console.is_terminal
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not show or len(windows) < 2,
    ) as bar:
        task = bar.add_task(f"history {sn}", total=len(windows))

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done)

        return conv.history_range(client, sn, begin, last_ms, names, progress=progress)


def history(
    ctx: typer.Context,
    sn: Sn,
    start: Annotated[
        str | None, typer.Option("--from", help="Start, ISO 8601 (default: 24 h before --to)")
    ] = None,
    stop: Annotated[
        str | None, typer.Option("--to", help="End, ISO 8601, excluded (default: now)")
    ] = None,
    variables: Vars = None,
    zone: Zone = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: Json = False,
    as_csv: Csv = False,
    parquet: Parquet = None,
    show_progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Progress bar on stderr (default: when stderr is a terminal)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """History of one inverter over any range, fetched in 24-hour windows and merged.

    Times without an offset are in the plant's zone (--tz, or read from the plant).

    Example: foxden history 60H15000000001 --from 2024-03-29 --to 2024-04-01
    --vars pvPower,SoC --csv > h.csv
    """
    with session(ctx, base_url, api_key) as client:
        _formats(as_json, as_csv)
        lookup = _ZoneLookup(client, sn, zone)
        begin, end = _range(start, stop, lookup)
        device = _pull_history(client, sn, begin, end, _vars(variables), show_progress)
        rows = _history_rows(device)
        if parquet is not None:
            write_parquet(parquet, rows)
    if as_json:
        return print_json(device)
    if as_csv:
        return write_csv(rows)
    if parquet is None:
        _history_table(device)


def _report_label(start: datetime, dimension: str) -> str:
    if dimension == "day":
        return start.strftime("%H:%M %Z")
    return start.strftime("%Y-%m-%d" if dimension == "month" else "%Y-%m")


def report(
    ctx: typer.Context,
    sn: Sn,
    year: Annotated[int, typer.Option("--year", help="Year, e.g. 2024")],
    month: Annotated[
        int | None, typer.Option("--month", help="Month 1-12 (month or day report)")
    ] = None,
    day: Annotated[int | None, typer.Option("--day", help="Day of the month (day report)")] = None,
    variables: Vars = None,
    zone: Zone = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: Json = False,
    as_csv: Csv = False,
    parquet: Parquet = None,
) -> None:
    """Energy report by hour of a day, day of a month or month of a year.

    --year, --month and --day choose the dimension; each bucket starts at local time in the
    plant's zone.

    Example: foxden report 60H15000000001 --year 2024 --month 3 --day 31 --csv
    """
    with session(ctx, base_url, api_key) as client:
        _formats(as_json, as_csv)
        try:
            dimension = conv.dimension_of(month, day)
        except ValueError as exc:
            raise CliError(str(exc), "give --month with --day") from None
        names = _vars(variables) or ENERGY_VARIABLES
        answer = client.report(sn, dimension, year, month, day, names)
        if as_json:
            return print_json(answer)
        tz = _ZoneLookup(client, sn, zone)()
        rows = conv.report_to_rows(answer, tz, dimension, year, month, day)
        tidy: list[TidyRow] = [(sn, r.variable, r.start.isoformat(), r.value, r.unit) for r in rows]
        if parquet is not None:
            write_parquet(parquet, tidy)
    if as_csv:
        return write_csv(tidy)
    if parquet is not None:
        return
    starts = conv.bucket_starts(tz, dimension, year, month, day)
    table_rows = []
    for i, start in enumerate(starts):
        table_rows.append(
            [_report_label(start, dimension)]
            + [_number(round(v.values[i], 3)) if i < len(v.values) else "" for v in answer]
        )
    table_rows.append(["total"] + [_number(round(math.fsum(v.values), 3)) for v in answer])
    columns = ["start"] + [f"{SHORT_NAMES.get(v.variable, v.variable)} ({v.unit})" for v in answer]
    when = f"{year}" + (f"-{month:02d}" if month else "") + (f"-{day:02d}" if day else "")
    _show(f"{dimension.capitalize()} report of {sn}, {when} ({tz})", columns, table_rows)


def generation(
    ctx: typer.Context,
    sn: Sn,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: Json = False,
) -> None:
    """Energy generated today, this month and in all (kWh).

    Example: foxden generation 60H15000000001
    """
    with session(ctx, base_url, api_key) as client:
        g = client.generation(sn)
    if as_json:
        return print_json(g)
    periods = (("today", g.today), ("month", g.month), ("cumulative", g.cumulative))
    rows = [(name, _number(round(value, 3))) for name, value in periods]
    _show(f"Generation of {sn} (kWh)", ("period", "kWh"), rows)


def _english(name: Any) -> str:
    if isinstance(name, dict):
        return str(name.get("en") or next(iter(name.values()), ""))
    return str(name)


def variables(
    ctx: typer.Context, base_url: BaseUrl = None, api_key: ApiKey = None, as_json: Json = False
) -> None:
    """The variable table: names, units, which inverters have them.

    Example: foxden variables --json > variables.json
    """
    with session(ctx, base_url, api_key) as client:
        table = client.variables()
    if as_json:
        return print_json(table)
    rows = []
    for item in table:
        for name, body in item.items():
            rows.append((name, _english(body.get("name", "")), body.get("unit", "")))
    _show(f"Variables ({len(rows)})", ("variable", "name", "unit"), rows)


def faults(
    ctx: typer.Context, base_url: BaseUrl = None, api_key: ApiKey = None, as_json: Json = False
) -> None:
    """The fault code table.

    Example: foxden faults
    """
    with session(ctx, base_url, api_key) as client:
        table = client.faults()
    if as_json:
        return print_json(table)
    rows = [(code, _english(text)) for item in table for code, text in item.items()]
    _show(f"Fault codes ({len(rows)})", ("code", "text"), rows)


def quota(
    ctx: typer.Context, base_url: BaseUrl = None, api_key: ApiKey = None, as_json: Json = False
) -> None:
    """Today's call quota of this key: total and remaining (checking it is free).

    Example: foxden quota
    """
    with session(ctx, base_url, api_key) as client:
        count = client.access_count()
    if as_json:
        return print_json(count)
    total, left = int(float(count.total)), int(float(count.remaining))
    _show("API calls today", ("total", "used", "remaining"), [(total, total - left, left)])


# ---------------------------------------------------------------- battery and settings


@soc_app.command("get")
def soc_get(
    ctx: typer.Context,
    sn: Sn,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: Json = False,
) -> None:
    """The minimum state of charge, off grid and on grid.

    Example: foxden battery soc get 60H15000000001
    """
    with session(ctx, base_url, api_key) as client:
        soc = client.battery_soc(sn)
    if as_json:
        return print_json(soc)
    _show(f"Battery of {sn}", ("minSoc (%)", "minSocOnGrid (%)"), [(soc.minSoc, soc.minSocOnGrid)])


@soc_app.command("set")
def soc_set(
    ctx: typer.Context,
    sn: Sn,
    min_soc: Annotated[
        int | None, typer.Option("--min-soc", help="Minimum SoC off grid (%)")
    ] = None,
    min_soc_on_grid: Annotated[
        int | None, typer.Option("--min-soc-on-grid", help="Minimum SoC on grid (%)")
    ] = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Set the minimum state of charge; a value not given keeps its current setting.

    Example: foxden battery soc set 60H15000000001 --min-soc 15 --min-soc-on-grid 20
    """
    with session(ctx, base_url, api_key) as client:
        if min_soc is None and min_soc_on_grid is None:
            raise CliError("nothing to set", "give --min-soc and/or --min-soc-on-grid")
        if min_soc is None or min_soc_on_grid is None:
            current = client.battery_soc(sn)
            min_soc = current.minSoc if min_soc is None else min_soc
            if min_soc_on_grid is None:
                min_soc_on_grid = current.minSocOnGrid
        client.set_battery_soc(sn, min_soc, min_soc_on_grid)
    _console().print(f"Set {sn}: minSoc {min_soc} %, minSocOnGrid {min_soc_on_grid} %")


def _period(text: str, option: str) -> tuple[bool, s.ClockTimeOut, s.ClockTimeOut]:
    if text.strip().lower() == "off":
        return False, s.ClockTimeOut(hour=0, minute=0), s.ClockTimeOut(hour=0, minute=0)
    try:
        a, b = text.split("-")
        (ah, am), (bh, bm) = (tuple(int(x) for x in part.split(":")) for part in (a, b))
    except ValueError:
        raise CliError(f"{option} {text!r} is not HH:MM-HH:MM or off", "e.g. 02:00-05:30") from None
    return True, s.ClockTimeOut(hour=ah, minute=am), s.ClockTimeOut(hour=bh, minute=bm)


def _clock(t: s.ClockTimeOut) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


@charge_app.command("get")
def charge_get(
    ctx: typer.Context,
    sn: Sn,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: Json = False,
) -> None:
    """The two force-charge periods.

    Example: foxden charge-times get 60H15000000001
    """
    with session(ctx, base_url, api_key) as client:
        t = client.charge_times(sn)
    if as_json:
        return print_json(t)
    rows = [
        (1, "on" if t.enable1 else "off", _clock(t.startTime1), _clock(t.endTime1)),
        (2, "on" if t.enable2 else "off", _clock(t.startTime2), _clock(t.endTime2)),
    ]
    _show(f"Force charge of {sn}", ("period", "enabled", "start", "end"), rows)


Period = Annotated[
    str | None,
    typer.Option(help="HH:MM-HH:MM to charge then, or off (default: keep as it is)"),
]


@charge_app.command("set")
def charge_set(
    ctx: typer.Context,
    sn: Sn,
    period1: Period = None,
    period2: Period = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Set the force-charge periods; a period not given keeps its current setting.

    Example: foxden charge-times set 60H15000000001 --period1 02:00-05:30 --period2 off
    """
    with session(ctx, base_url, api_key) as client:
        if period1 is None and period2 is None:
            raise CliError("nothing to set", "give --period1 and/or --period2")
        p1 = _period(period1, "--period1") if period1 is not None else None
        p2 = _period(period2, "--period2") if period2 is not None else None
        if p1 is None or p2 is None:
            t = client.charge_times(sn)
            p1 = p1 or (t.enable1, t.startTime1, t.endTime1)
            p2 = p2 or (t.enable2, t.startTime2, t.endTime2)
        times = s.ForceChargeTimes(
            enable1=p1[0], startTime1=p1[1], endTime1=p1[2],
            enable2=p2[0], startTime2=p2[1], endTime2=p2[2],
        )  # fmt: skip
        client.set_charge_times(sn, times)
    state = [f"{_clock(p[1])}-{_clock(p[2])}" if p[0] else "off" for p in (p1, p2)]
    _console().print(f"Set {sn}: period 1 {state[0]}, period 2 {state[1]}")


Key = Annotated[str, typer.Argument(help="Setting key, e.g. ExportLimit, MinSoc, WorkMode")]


@setting_app.command("get")
def setting_get(
    ctx: typer.Context,
    sn: Sn,
    key: Key,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: Json = False,
) -> None:
    """One setting's value, unit and allowed values.

    Example: foxden setting get 60H15000000001 ExportLimit
    """
    with session(ctx, base_url, api_key) as client:
        v = client.setting(sn, key)
    if as_json:
        return print_json(v)
    if v.range is not None:
        allowed = f"{_number(v.range.min)} to {_number(v.range.max)}"
    else:
        allowed = ", ".join(v.enumList or [])
    rows = [(key, v.value, v.unit, allowed, _number(v.precision))]
    _show(f"Setting of {sn}", ("key", "value", "unit", "allowed", "precision"), rows)


@setting_app.command("set")
def setting_set(
    ctx: typer.Context,
    sn: Sn,
    key: Key,
    value: Annotated[str, typer.Argument(help="New value")],
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Change one setting.

    Example: foxden setting set 60H15000000001 ExportLimit 3000
    """
    with session(ctx, base_url, api_key) as client:
        client.set_setting(sn, key, value)
    _console().print(f"Set {sn}: {key} = {value}")


@time_app.command("get")
def time_get(
    ctx: typer.Context,
    sn: Sn,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: Json = False,
) -> None:
    """The inverter's clock (its local wall time).

    Example: foxden time get 60H15000000001
    """
    with session(ctx, base_url, api_key) as client:
        t = client.device_time(sn)
    if as_json:
        return print_json(t)
    text = f"{t.year}-{t.month:0>2}-{t.day:0>2} {t.hour:0>2}:{t.minute:0>2}:{t.second:0>2}"
    _show(f"Clock of {sn}", ("device time",), [(text,)])


@time_app.command("set")
def time_set(
    ctx: typer.Context,
    sn: Sn,
    when: Annotated[
        str | None,
        typer.Argument(help="ISO 8601 time (default: now); without offset: plant wall time"),
    ] = None,
    zone: Zone = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Set the inverter's clock, to now (in the plant's zone) or to a given time.

    Example: foxden time set 60H15000000001 2024-05-13T17:23:00+01:00
    """
    with session(ctx, base_url, api_key) as client:
        lookup = _ZoneLookup(client, sn, zone)
        given = parse_iso(when, "time") if when else None
        if given is not None and given.tzinfo is None:
            local = given  # already the plant's wall time
        else:
            local = (given or datetime.now(UTC)).astimezone(_zone(lookup()))
        client.set_device_time(
            sn,
            s.DeviceTime(
                year=str(local.year), month=str(local.month), day=str(local.day),
                hour=str(local.hour), minute=str(local.minute), second=str(local.second),
            ),
        )  # fmt: skip
    _console().print(f"Set the clock of {sn} to {local:%Y-%m-%d %H:%M:%S}")


# ---------------------------------------------------------------- scheduler


@schedule_app.command("show")
def schedule_show(
    ctx: typer.Context,
    sn: Sn,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list unused (Invalid) groups")
    ] = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: Json = False,
) -> None:
    """The scheduler's groups.

    --json prints every field, unknown ones too, in a form that `foxden schedule set` takes
    back after editing.

    Example: foxden schedule show 60H15000000001 --json > schedule.json
    """
    with session(ctx, base_url, api_key) as client:
        sched = schedule.get_schedule(client, sn)
    if as_json:
        return print_json(sched.to_wire())
    shown = [
        (i, g)
        for i, g in enumerate(sched.groups)
        if show_all or g.work_mode != schedule.INVALID_MODE
    ]
    extras = any(g.extra for _, g in shown)  # fields this client does not know
    rows = [
        [
            i,
            "yes" if g.enable else "no",
            g.start,
            g.end,
            g.work_mode,
            g.min_soc_on_grid,
            g.fd_soc,
            g.fd_pwr,
            "" if g.max_soc is None else g.max_soc,
        ]
        + ([", ".join(f"{k}={v}" for k, v in g.extra.items())] if extras else [])
        for i, g in shown
    ]
    columns = ["#", "enabled", "start", "end", "workMode", "minSocOnGrid (%)", "fdSoc (%)",
               "fdPwr (W)", "maxSoc (%)"] + (["other fields"] if extras else [])  # fmt: skip
    used = sum(g.work_mode != schedule.INVALID_MODE for g in sched.groups)
    title = (
        f"Scheduler of {sn}: {'on' if sched.enable else 'off'}, "
        f"{used} of {len(sched.groups)} groups used"
    )
    _show(title, columns, rows)


@schedule_app.command("set")
def schedule_set(
    ctx: typer.Context,
    sn: Sn,
    file: FileArg,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Write the scheduler's groups from a JSON file, checked before sending.

    The file holds what `schedule show --json` prints (edited), or a plain list of groups.
    Writing turns the scheduler on.

    Example: foxden schedule set 60H15000000001 schedule.json, with schedule.json holding
    [{"enable": 1, "startHour": 2, "startMinute": 0, "endHour": 5, "endMinute": 0,
    "workMode": "ForceCharge", "minSocOnGrid": 10, "fdSoc": 100, "fdPwr": 3000}]
    """
    with session(ctx, base_url, api_key) as client:
        try:
            data = json.loads(_read_json_file(file))
        except ValueError as exc:
            raise CliError(f"{file}: not JSON: {exc}") from None
        if isinstance(data, list):
            data = {"groups": data}
        if not isinstance(data, dict):
            raise CliError(f"{file}: expected a list of groups or an object with groups")
        sched = schedule.Schedule.from_wire(data)
        if not sched.properties:  # the model's modes and power limit, to check against
            sched.properties = schedule.get_schedule(client, sn).properties
        schedule.set_schedule(client, sn, sched)
    active = len(sched.active_groups)
    _console().print(f"Wrote {len(sched.groups)} groups ({active} active) to {sn}; scheduler on")


def _flag(ctx: typer.Context, sn: str, on: bool, base_url: str | None, api_key: str | None) -> None:
    with session(ctx, base_url, api_key) as client:
        client.set_scheduler_flag(sn, on)
    _console().print(f"Scheduler of {sn} {'on' if on else 'off'}")


@schedule_app.command("enable")
def schedule_enable(
    ctx: typer.Context, sn: Sn, base_url: BaseUrl = None, api_key: ApiKey = None
) -> None:
    """Turn the scheduler on (its groups take effect).

    Example: foxden schedule enable 60H15000000001
    """
    _flag(ctx, sn, True, base_url, api_key)


@schedule_app.command("disable")
def schedule_disable(
    ctx: typer.Context, sn: Sn, base_url: BaseUrl = None, api_key: ApiKey = None
) -> None:
    """Turn the scheduler off (the work mode setting applies again).

    Example: foxden schedule disable 60H15000000001
    """
    _flag(ctx, sn, False, base_url, api_key)


# ---------------------------------------------------------------- plots

Out = Annotated[Path, typer.Option("--out", help="PNG file to write", dir_okay=False)]
Width = Annotated[int, typer.Option("--width", help="Width in pixels", min=200, max=8000)]
Height = Annotated[int, typer.Option("--height", help="Height in pixels", min=150, max=8000)]
DPI = 100


def _figure(width: int, height: int) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")


def _save(fig: Any, out: Path) -> None:
    try:
        fig.savefig(str(out), dpi=DPI, format="png")
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc}", "check the directory exists") from None
    _err_console().print(f"Wrote {out}")


def plot_history_png(
    device: s.HistoryDevice, zone: str, out: Path, width: int = 1200, height: int = 600
) -> None:
    """Power flows over time (left axis) with state of charge (right axis)."""
    import importlib

    mdates: Any = importlib.import_module("matplotlib.dates")  # its stubs leave these untyped
    tz = timefmt.zone(zone)
    fig = _figure(width, height)
    ax = fig.add_subplot()
    right = None
    left_units: list[str] = []
    first: datetime | None = None
    last: datetime | None = None
    for var in device.datas:
        points = [(conv.parse_time(p.time), p.value) for p in var.data]
        numeric = [(t, float(v)) for t, v in points if isinstance(v, int | float)]
        if not numeric:
            continue
        xs = mdates.date2num([t for t, _ in numeric])
        ys = [v for _, v in numeric]
        first = min(first, numeric[0][0]) if first else numeric[0][0]
        last = max(last, numeric[-1][0]) if last else numeric[-1][0]
        label = f"{var.name} ({var.unit})" if var.unit else var.name
        if var.unit == "%":
            right = right if right is not None else ax.twinx()
            right.plot(xs, ys, color="black", linestyle="--", linewidth=1.2, label=label)
        else:
            ax.plot(xs, ys, linewidth=1.2, label=label)
            if var.unit and var.unit not in left_units:
                left_units.append(var.unit)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %H:%M", tz=tz))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(tz=tz))
    ax.set_xlabel(f"Time ({zone})")
    quantity = "Power" if left_units in (["kW"], ["W"]) else "Value"
    ax.set_ylabel(f"{quantity} ({', '.join(left_units) or 'no unit'})")
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if right is not None:
        right.set_ylabel("State of charge (%)")
        right.set_ylim(0, 100)
        more_handles, more_labels = right.get_legend_handles_labels()
        handles += more_handles
        labels += more_labels
    if handles:
        fig.legend(handles, labels, loc="outside lower center", fontsize="small", ncols=4)
    span = (
        f"{first.astimezone(tz):%Y-%m-%d %H:%M} to {last.astimezone(tz):%Y-%m-%d %H:%M}"
        if first and last
        else "no data"
    )
    ax.set_title(f"{device.deviceSN}: power flows, {span} ({zone})")
    _save(fig, out)


REPORT_STYLE: dict[str, tuple[str, str, int]] = {
    # variable: (label, colour, +1 energy in / -1 energy out)
    "generation": ("Inverter output (PV and battery)", "#f2b705", 1),
    "gridConsumption": ("Grid import", "#d1495b", 1),
    "dischargeEnergyToTal": ("Battery discharge", "#00798c", 1),
    "feedin": ("Feed-in (export)", "#66a182", -1),
    "loads": ("Loads", "#8d6a9f", -1),
    "chargeEnergyToTal": ("Battery charge", "#2e4057", -1),
}
BATTERY_FLOWS = ("dischargeEnergyToTal", "chargeEnergyToTal")
"""Drawn as narrow bars beside the stacks: the inverter's output already holds what the
battery gives, so stacking it again would count it twice."""


def plot_report_png(
    answer: Sequence[s.ReportVariable],
    sn: str,
    zone: str,
    dimension: str,
    year: int,
    month: int | None,
    day: int | None,
    out: Path,
    width: int = 1200,
    height: int = 600,
) -> None:
    """Stacked energy bars per bucket: energy in above zero, energy out below."""
    starts = conv.bucket_starts(zone, dimension, year, month, day)
    xs = list(range(len(starts)))
    fig = _figure(width, height)
    ax = fig.add_subplot()
    up = [0.0] * len(xs)
    down = [0.0] * len(xs)
    for var in answer:
        label, colour, sign = REPORT_STYLE.get(var.variable, (var.variable, "#888888", 1))
        values = [float(v) for v in var.values[: len(xs)]]
        values += [0.0] * (len(xs) - len(values))
        heights = [sign * v for v in values]
        if var.variable in BATTERY_FLOWS:
            ax.bar([x + 0.3 for x in xs], heights, color=colour, label=label, width=0.25,
                   edgecolor="black", linewidth=0.3)  # fmt: skip
            continue
        base = up if sign > 0 else down
        ax.bar([x - 0.12 for x in xs], heights, bottom=list(base), color=colour, label=label,
               width=0.55)  # fmt: skip
        for i, h in enumerate(heights):
            base[i] += h
    ax.axhline(0, color="black", linewidth=0.8)
    ax.relim()
    ax.autoscale_view()
    ax.margins(y=0.08)
    if dimension == "day":
        labels = [f"{t:%H}" for t in starts]
        axis = f"Hour starting ({zone})"
        what = f"by hour, {year}-{month:02d}-{day:02d}"
    elif dimension == "month":
        labels = [f"{t:%d}" for t in starts]
        axis = f"Day ({zone})"
        what = f"by day, {year}-{month:02d}"
    else:
        labels = [f"{t:%b}" for t in starts]
        axis = f"Month ({zone})"
        what = f"by month, {year}"
    ax.set_xticks(xs, labels)
    ax.set_xlabel(axis)
    ax.set_ylabel("Energy (kWh): in above 0, out below 0")
    ax.text(
        0.01,
        0.99,
        "narrow bars: battery flows (inside the inverter's output)",
        transform=ax.transAxes,
        va="top",
        fontsize="x-small",
        color="#444444",
    )
    ax.set_title(f"{sn}: energy {what} ({zone})")
    ax.grid(True, axis="y", alpha=0.3)
    if answer:
        fig.legend(loc="outside lower center", fontsize="small", ncols=5)
    _save(fig, out)


@plot_app.command("history")
def plot_history(
    ctx: typer.Context,
    sn: Sn,
    out: Out,
    start: Annotated[str | None, typer.Option("--from", help="Start, ISO 8601")] = None,
    stop: Annotated[str | None, typer.Option("--to", help="End, ISO 8601, excluded")] = None,
    variables: Vars = None,
    zone: Zone = None,
    width: Width = 1200,
    height: Height = 600,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Chart of power flows over time with state of charge on a second axis.

    Example: foxden plot history 60H15000000001 --from 2024-03-30 --to 2024-03-31 --out day.png
    """
    with session(ctx, base_url, api_key) as client:
        lookup = _ZoneLookup(client, sn, zone)
        begin, end = _range(start, stop, lookup)
        names = _vars(variables) or POWER_VARIABLES
        device = _pull_history(client, sn, begin, end, names, None)
        plot_history_png(device, lookup(), out, width, height)


@plot_app.command("report")
def plot_report(
    ctx: typer.Context,
    sn: Sn,
    out: Out,
    year: Annotated[int, typer.Option("--year", help="Year, e.g. 2024")],
    month: Annotated[int | None, typer.Option("--month", help="Month 1-12")] = None,
    day: Annotated[int | None, typer.Option("--day", help="Day of the month")] = None,
    variables: Vars = None,
    zone: Zone = None,
    width: Width = 1200,
    height: Height = 600,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Chart of a report: stacked energy per bucket, energy in above zero, out below.

    Example: foxden plot report 60H15000000001 --year 2024 --month 3 --out march.png
    """
    with session(ctx, base_url, api_key) as client:
        try:
            dimension = conv.dimension_of(month, day)
        except ValueError as exc:
            raise CliError(str(exc), "give --month with --day") from None
        names = _vars(variables) or ENERGY_VARIABLES
        answer = client.report(sn, dimension, year, month, day, names)
        tz = _ZoneLookup(client, sn, zone)()
        plot_report_png(answer, sn, tz, dimension, year, month, day, out, width, height)


# ---------------------------------------------------------------- registration


def _root(
    ctx: typer.Context,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    retries: Annotated[
        int | None,
        typer.Option(help="Retries of transient failures (env FOXDEN_RETRIES; default 3)"),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(help="Seconds to wait for an answer (env FOXDEN_TIMEOUT; default 30)"),
    ] = None,
    min_interval: Annotated[
        float | None,
        typer.Option(
            help="Seconds between calls (env FOXDEN_MIN_INTERVAL; default 1 for the vendor "
            "cloud, 0 otherwise)"
        ),
    ] = None,
) -> None:
    ctx.meta[META] = Globals(base_url, api_key, retries, timeout, min_interval)


def register(app: typer.Typer) -> None:
    """Add the API commands, the global connection options and the exit-code epilog."""
    if app.registered_callback is None:
        app.callback(epilog=EPILOG)(_root)
    else:  # someone else owns the root callback: keep theirs, still document the exit codes
        app.info.epilog = EPILOG
    app.add_typer(plants_app, name="plants", rich_help_panel=PANEL)
    app.add_typer(devices_app, name="devices", rich_help_panel=PANEL)
    app.command("modules", rich_help_panel=PANEL)(modules)
    app.command("real", rich_help_panel=PANEL)(real)
    app.command("history", rich_help_panel=PANEL)(history)
    app.command("report", rich_help_panel=PANEL)(report)
    app.command("generation", rich_help_panel=PANEL)(generation)
    app.command("variables", rich_help_panel=PANEL)(variables)
    app.command("faults", rich_help_panel=PANEL)(faults)
    app.add_typer(battery_app, name="battery", rich_help_panel=PANEL)
    app.add_typer(charge_app, name="charge-times", rich_help_panel=PANEL)
    app.add_typer(setting_app, name="setting", rich_help_panel=PANEL)
    app.add_typer(time_app, name="time", rich_help_panel=PANEL)
    app.add_typer(schedule_app, name="schedule", rich_help_panel=PANEL)
    app.command("quota", rich_help_panel=PANEL)(quota)
    app.add_typer(plot_app, name="plot", rich_help_panel=PANEL)
