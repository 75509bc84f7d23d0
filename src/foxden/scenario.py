"""Scenario files: a whole fleet, its clock and its misbehaviour described in TOML.

    start = "2026-06-21T10:00:00+02:00"   # simulated start, ISO 8601 with offset
    speed = 0                             # simulated seconds per real second (0: frozen)
    seed = 1
    backfill_days = 0
    [[account]]
    name = "ci"
    key = "0123456789abcdef0123456789abcdef"   # omitted: a new key is made
    [[account.plant]]
    name = "Casa Madrid"
    timezone = "Europe/Madrid"
    latitude = 40.42
    longitude = -3.70
    pv_kwp = 6.0                 # the plant's PV, shared by its inverters
    orientation = "south"        # or east-west, east, west, south-east, south-west, north
    ev = false                   # the household charges an EV at home (7 kW, some evenings)
    heat_pump = false            # the household heats with a heat pump (follows the weather)
    [[account.plant.inverter]]
    sn = "60H1600000000X1"
    model = "H1-6.0-E"
    battery_kwh = 10.4
    soc = 55
    settings = { WorkMode = "SelfUse", MinSoc = 15, MinSocOnGrid = 15 }
    schedule = [ { startHour = 2, startMinute = 0, endHour = 5, endMinute = 0,
                   workMode = "ForceCharge", minSocOnGrid = 10, fdSoc = 90, fdPwr = 3000 } ]
    [[fault]]
    sn = "60H1600000000X1"
    code = 26
    duration_s = 600             # omitted: until cleared
    [[chaos]]
    match = { path = "/op/v0/device/real/query" }
    errno = 41200
    count = 2

``load`` parses and checks a file and gives errors with their line; ``apply`` writes the
accounts, plants and inverters into a store. Settings and schedules go through the same
rules the API applies, so a scenario can hold nothing the API would refuse.
"""

from __future__ import annotations

import re
import tomllib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from foxden import accounts
from foxden.protocol import catalogue, hardware, models
from foxden.protocol.endpoints import ENDPOINTS
from foxden.sim.runner import HARDWARE_KEY, HOUSEHOLD_KEY

ORIENTATIONS: dict[str, tuple[float, float]] = {
    "south": (180.0, 180.0),
    "north": (0.0, 0.0),
    "east": (90.0, 90.0),
    "west": (270.0, 270.0),
    "east-west": (90.0, 270.0),
    "south-east": (135.0, 135.0),
    "south-west": (225.0, 225.0),
}
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


class ScenarioError(Exception):
    """A scenario that cannot be loaded; ``problems`` are (line, message), line 0 when
    unknown."""

    def __init__(self, source: str, problems: list[tuple[int, str]]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(
            "\n".join(
                f"{source}:{line}: {text}" if line else f"{source}: {text}"
                for line, text in problems
            )
        )


# ---------------------------------------------------------------- the file's shape


class Inverter(msgspec.Struct, forbid_unknown_fields=True):
    sn: str
    model: str
    battery_kwh: float | None = None
    soc: float | None = None
    pv_kwp: float | None = None
    settings: dict[str, str | int | float] = msgspec.field(default_factory=dict)
    schedule: list[dict[str, Any]] | None = None


class Plant(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    timezone: str
    latitude: float
    longitude: float
    id: str | None = None
    """A fixed plant id (a UUID); omitted: one made from the account's and plant's names."""
    pv_kwp: float | None = None
    orientation: str = "south"
    tilt: float = 35.0
    country: str = ""
    city: str = ""
    address: str = ""
    ev: bool = False
    """The household charges an EV at home (7 kW sessions on some evenings)."""
    heat_pump: bool = False
    """The household heats with a heat pump (its demand follows the outdoor temperature)."""
    inverter: list[Inverter] = msgspec.field(default_factory=list)


class Account(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    key: str | None = None
    plant: list[Plant] = msgspec.field(default_factory=list)


class Fault(msgspec.Struct, forbid_unknown_fields=True):
    sn: str
    code: int
    duration_s: float | None = None


class File(msgspec.Struct, forbid_unknown_fields=True):
    start: str | None = None
    speed: float | None = None
    seed: int | None = None
    backfill_days: float | None = None
    account: list[Account] = msgspec.field(default_factory=list)
    fault: list[Fault] = msgspec.field(default_factory=list)
    chaos: list[dict[str, Any]] = msgspec.field(default_factory=list)


@dataclass
class Scenario:
    """A checked scenario."""

    source: str
    file: File
    start_ms: int | None
    lines: _Lines
    chaos: list[Any] = field(default_factory=list)
    """``foxden.server.chaos.RuleSpec`` of each ``[[chaos]]``."""


# ---------------------------------------------------------------- lines


class _Lines:
    """Where each key of a TOML text is written: a path like ``account[0].plant[1].sn``
    to its line (tables and arrays of tables counted as the parser counts them)."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
    _ASSIGN = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")

    def __init__(self, text: str) -> None:
        self.where: dict[str, int] = {}
        counts: dict[str, int] = {}
        prefix = ""
        for n, line in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header:
                parts = [p.strip().strip("\"'") for p in header.group(2).split(".")]
                path = ""
                for i, part in enumerate(parts):
                    base = f"{path}.{part}" if path else part
                    last = i == len(parts) - 1
                    if last and header.group(1) == "[[":
                        counts[base] = counts.get(base, -1) + 1
                        path = f"{base}[{counts[base]}]"
                    elif base in counts:
                        path = f"{base}[{counts[base]}]"
                    else:
                        path = base
                prefix = path
                self.where.setdefault(prefix, n)
                continue
            assign = self._ASSIGN.match(line)
            if assign:
                key = ".".join(p.strip().strip("\"'") for p in assign.group(1).split("."))
                self.where.setdefault(f"{prefix}.{key}" if prefix else key, n)

    def line(self, path: str) -> int:
        """The line of ``path``, else of the nearest enclosing key or table; 0: unknown."""
        while path:
            if path in self.where:
                return self.where[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return 0


# ---------------------------------------------------------------- loading and checking


def demo_path() -> Path:
    """The demo fleet's scenario, shipped in the package."""
    from foxden.demo import scenario_path

    return scenario_path()


def load(path: str | Path) -> Scenario:
    """Read and check a scenario file; ScenarioError lists every problem with its line."""
    source = str(path)
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise ScenarioError(source, [(0, f"cannot read: {exc.strerror}")]) from None
    return loads(text, source)


def loads(text: str, source: str = "<scenario>") -> Scenario:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = int(m.group(1)) if (m := re.search(r"line (\d+)", str(exc))) else 0
        raise ScenarioError(source, [(line, f"not TOML: {exc}")]) from None
    lines = _Lines(text)
    if isinstance(raw.get("start"), datetime):
        raw["start"] = raw["start"].isoformat()
    try:
        file = msgspec.convert(raw, File, strict=False)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).rpartition(" - at `$")
        path = where.rstrip("`").lstrip(".") if message else ""
        text_ = (message or str(exc)).replace("`", "")
        raise ScenarioError(source, [(lines.line(path), f"{path or 'file'}: {text_}")]) from None
    problems = _check(file, lines)
    chaos = []
    from foxden.server.chaos import ChaosError, RuleSpec, check

    for i, rule in enumerate(file.chaos):
        where = f"chaos[{i}]"
        try:
            chaos.append(check(msgspec.convert(rule, RuleSpec)))
        except (msgspec.ValidationError, ChaosError) as exc:
            problems.append((lines.line(where), f"{where}: {exc}".replace("`", "")))
    if problems:
        raise ScenarioError(source, sorted(problems))
    start_ms = int(datetime.fromisoformat(file.start).timestamp() * 1000) if file.start else None
    return Scenario(source, file, start_ms, lines, chaos)


def _check(f: File, lines: _Lines) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []

    def bad(path: str, message: str) -> None:
        problems.append((lines.line(path), f"{path}: {message}"))

    if f.start is not None:
        try:
            start = datetime.fromisoformat(f.start)
            if start.tzinfo is None:
                bad("start", "needs its UTC offset, e.g. 2026-06-21T10:00:00+02:00")
        except ValueError:
            bad("start", f"{f.start!r} is not an ISO 8601 time")
    if f.speed is not None and f.speed < 0:
        bad("speed", "must be >= 0 (0 freezes the clock)")
    if f.backfill_days is not None and not 0 <= f.backfill_days <= 3660:
        bad("backfill_days", "must be from 0 to 3660")
    names: set[str] = set()
    keys: set[str] = set()
    serials: set[str] = set()
    for a, account in enumerate(f.account):
        at = f"account[{a}]"
        if account.name in names:
            bad(f"{at}.name", f"account {account.name!r} is named twice")
        names.add(account.name)
        if account.key is not None:
            if not _KEY.match(account.key):
                bad(f"{at}.key", "must be 16-128 letters, digits, '-' or '_'")
            if account.key in keys:
                bad(f"{at}.key", "another account has this key")
            keys.add(account.key)
        for p, plant in enumerate(account.plant):
            pt = f"{at}.plant[{p}]"
            try:
                ZoneInfo(plant.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                bad(f"{pt}.timezone", f"{plant.timezone!r} is not an IANA time zone")
            if plant.id is not None:
                try:
                    uuid.UUID(plant.id)
                except ValueError:
                    bad(f"{pt}.id", f"{plant.id!r} is not a UUID")
            if not -90 <= plant.latitude <= 90:
                bad(f"{pt}.latitude", "must be from -90 to 90")
            if not -180 <= plant.longitude <= 180:
                bad(f"{pt}.longitude", "must be from -180 to 180")
            if plant.pv_kwp is not None and not 0 < plant.pv_kwp <= 1000:
                bad(f"{pt}.pv_kwp", "must be above 0 and at most 1000")
            if plant.orientation not in ORIENTATIONS:
                bad(f"{pt}.orientation", f"must be one of {', '.join(ORIENTATIONS)}")
            if not 0 <= plant.tilt <= 90:
                bad(f"{pt}.tilt", "must be from 0 to 90 degrees")
            for i, inv in enumerate(plant.inverter):
                it = f"{pt}.inverter[{i}]"
                model = models.model(inv.model)
                if model is None:
                    bad(
                        f"{it}.model",
                        f"unknown model {inv.model!r}; known: {', '.join(models.MODELS)}",
                    )
                if inv.sn in serials:
                    bad(f"{it}.sn", f"{inv.sn} is listed twice")
                serials.add(inv.sn)
                if inv.battery_kwh is not None:
                    if model is not None and not model.has_battery and inv.battery_kwh > 0:
                        bad(f"{it}.battery_kwh", f"{inv.model} is grid-tied: no battery")
                    elif not 0 < inv.battery_kwh <= 1000:
                        bad(f"{it}.battery_kwh", "must be above 0 and at most 1000")
                if inv.soc is not None and not 0 <= inv.soc <= 100:
                    bad(f"{it}.soc", "must be from 0 to 100")
                if inv.pv_kwp is not None and not 0 < inv.pv_kwp <= 1000:
                    bad(f"{it}.pv_kwp", "must be above 0 and at most 1000")
    faults = catalogue.faults()
    for n, fault in enumerate(f.fault):
        ft = f"fault[{n}]"
        if fault.sn not in serials:
            bad(f"{ft}.sn", f"{fault.sn} is not an inverter of this scenario")
        if fault.code not in faults:
            bad(f"{ft}.code", f"unknown fault code {fault.code}")
        if fault.duration_s is not None and fault.duration_s <= 0:
            bad(f"{ft}.duration_s", "must be above 0")
    return problems


# ---------------------------------------------------------------- applying


@dataclass
class Applied:
    """What applying a scenario made: each account's API key (new or fixed)."""

    keys: dict[str, str] = field(default_factory=dict)


def plant_id(account: str, plant: str) -> str:
    """A plant's id, the same every time the same scenario is applied."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"foxden-scenario/{account}/{plant}"))


def apply(scenario: Scenario, store: Any, now_ms: int, missing_only: bool = False) -> Applied:
    """Write the scenario's accounts, plants, inverters, settings, schedules and faults
    into ``store``. Applying the same scenario again changes nothing; an account that
    exists keeps its key unless the scenario fixes one. Settings and schedules go through
    the API's own rules; a refusal is a ScenarioError naming the inverter.

    ``missing_only`` adds what the store lacks and leaves what it has as it is (plants,
    inverters and their settings, bindings to another plant): a repair."""
    from foxden.sim.runner import inject_fault
    from foxden.store import Plant as StorePlant

    applied = Applied()
    problems: list[tuple[int, str]] = []
    line = scenario.lines.line
    for a, account in enumerate(scenario.file.account):
        existing = store.account_by_name(account.name)
        if existing is None:
            try:
                _, key = accounts.create_account(store, account.name, now_ms)
            except accounts.AccountError as exc:
                problems.append((line(f"account[{a}].name"), f"account[{a}].name: {exc}"))
                continue
            applied.keys[account.name] = key
        if account.key is not None:
            store.set_key_hash(account.name, accounts.key_hash(account.key))
            applied.keys[account.name] = account.key
        owner = store.account_by_name(account.name)
        for p, plant in enumerate(account.plant):
            pid = plant.id or plant_id(account.name, plant.name)
            old = store.plant(owner.id, pid)
            record = StorePlant(
                id=pid,
                account_id=owner.id,
                name=plant.name,
                type=2,
                country_code=plant.country,
                city=plant.city,
                address=plant.address,
                postcode="",
                timezone=plant.timezone,
                created_ms=now_ms if old is None else old.created_ms,
                capacity=plant.pv_kwp,
                latitude=plant.latitude,
                longitude=plant.longitude,
                extra=_household_extra(plant, {} if old is None else old.extra),
            )
            if old is None:
                store.insert_plant(record)
            elif not missing_only:
                store.update_plant(record)
            shares = _pv_shares(plant)
            for i, inv in enumerate(plant.inverter):
                where = f"account[{a}].plant[{p}].inverter[{i}]"
                device = store.device(inv.sn)
                if device is not None and device.account_id != owner.id:
                    problems.append(
                        (line(f"{where}.sn"), f"{where}.sn: {inv.sn} is another account's")
                    )
                    continue
                if device is not None and missing_only:
                    if device.plant_id is None:
                        store.bind_device(inv.sn, pid)
                    continue
                if device is None:
                    try:
                        accounts.add_device(store, account.name, inv.sn, inv.model, now_ms)
                    except accounts.AccountError as exc:
                        problems.append((line(f"{where}.sn"), f"{where}.sn: {exc}"))
                        continue
                store.bind_device(inv.sn, pid)
                store.put_settings(inv.sn, {HARDWARE_KEY: _hardware(plant, inv, shares[i])})
                for path, message in _settings(store, owner, inv, now_ms):
                    problems.append((line(f"{where}.{path}"), f"{where}.{path}: {message}"))
    if problems:
        raise ScenarioError(scenario.source, sorted(problems))
    for fault in scenario.file.fault:
        until = None
        if fault.duration_s is not None:
            until = (scenario.start_ms or now_ms) + round(fault.duration_s * 1000)
        inject_fault(store, fault.sn, fault.code, until)
    return applied


def validate(path: str | Path) -> Scenario:
    """Load a scenario and apply it to a scratch in-memory store, so every rule (the API's
    own for settings and schedules) is checked; ScenarioError with the lines otherwise."""
    from foxden.clock import RealClock
    from foxden.store import open_store

    scenario = load(path)
    scratch = open_store("sqlite://")
    try:
        apply(scenario, scratch, scenario.start_ms or RealClock().now_ms())
    finally:
        scratch.close()
    return scenario


def _pv_shares(plant: Plant) -> list[float | None]:
    """Each inverter's PV in kWp: its own ``pv_kwp``, else its share of the plant's (in
    proportion to its model's usual array), else None (the model's usual array)."""
    if plant.pv_kwp is None:
        return [inv.pv_kwp for inv in plant.inverter]
    fixed = sum(inv.pv_kwp for inv in plant.inverter if inv.pv_kwp is not None)
    rest = [inv for inv in plant.inverter if inv.pv_kwp is None]
    weights = {inv.sn: hardware.array_kwp(inv.sn, inv.model) for inv in rest}
    total = sum(weights.values()) or 1.0
    left = max(plant.pv_kwp - fixed, 0.0)
    return [
        inv.pv_kwp if inv.pv_kwp is not None else left * weights[inv.sn] / total
        for inv in plant.inverter
    ]


def _hardware(plant: Plant, inv: Inverter, pv_kwp: float | None) -> dict[str, Any]:
    hw: dict[str, Any] = {
        "azimuth": list(ORIENTATIONS[plant.orientation]),
        "tilt": plant.tilt,
    }
    if pv_kwp is not None:
        hw["pv_kwp"] = round(pv_kwp, 3)
    if inv.battery_kwh is not None:
        hw["battery_kwh"] = inv.battery_kwh
    if inv.soc is not None:
        hw["soc"] = inv.soc
    return hw


def _settings(store: Any, owner: Any, inv: Inverter, now_ms: int) -> list[tuple[str, str]]:
    """Apply an inverter's settings and schedule through the API's handlers; problems."""
    from foxden.clock import FrozenClock
    from foxden.server.areas import HANDLERS
    from foxden.server.context import Ctx
    from foxden.server.errors import ApiError
    from foxden.server.limits import QuotaKeeper

    clock = FrozenClock(now_ms)
    ctx = Ctx(store, clock, clock, owner, QuotaKeeper(store, 1_000_000), "en")
    calls: list[tuple[str, str, dict[str, Any]]] = []
    values = dict(inv.settings)
    if "MinSoc" in values or "MinSocOnGrid" in values:
        soc = {
            "sn": inv.sn,
            "minSoc": values.pop("MinSoc", 10),
            "minSocOnGrid": values.pop("MinSocOnGrid", 10),
        }
        calls.append(("settings.MinSoc", "battery.soc_set", soc))
    for key, value in values.items():
        calls.append(
            (f"settings.{key}", "settings.set", {"sn": inv.sn, "key": key, "value": value})
        )
    if inv.schedule is not None:
        groups = [{"enable": 1, **g} for g in inv.schedule]
        calls.append(("schedule", "scheduler.enable", {"deviceSN": inv.sn, "groups": groups}))
        calls.append(("schedule", "scheduler.set_flag", {"deviceSN": inv.sn, "enable": 1}))
    endpoints = {e.name: e for e in ENDPOINTS}
    problems = []
    for path, name, payload in calls:
        endpoint = endpoints[name]
        try:
            request = msgspec.convert(payload, endpoint.request, strict=False)
            HANDLERS[name](ctx, request)
        except msgspec.ValidationError as exc:
            problems.append((path, str(exc).replace("`", "")))
        except ApiError as exc:
            problems.append((path, exc.detail or exc.msg))
    return problems


def _household_extra(plant: Plant, extra: dict[str, Any]) -> dict[str, Any]:
    """A plant's extra data with what the scenario says of its household (an EV, a heat
    pump), the rest kept."""
    kept = {k: v for k, v in extra.items() if k != HOUSEHOLD_KEY}
    if plant.ev or plant.heat_pump:
        kept[HOUSEHOLD_KEY] = {"ev": plant.ev, "heat_pump": plant.heat_pump}
    return kept
