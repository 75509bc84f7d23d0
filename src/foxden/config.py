"""Settings of a foxden server: defaults, then an optional TOML file, then FOXDEN_* variables.

Command-line flags override all three.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from foxden.limits_policy import DEFAULT_LIMIT_PROFILE, LIMIT_PROFILES
from foxden.protocol import limits

ENV_PREFIX = "FOXDEN_"
DEFAULT_DATA_DIR = "./foxden-data"
ROLES = ("all", "api", "fleet")


class ConfigError(Exception):
    """A setting could not be read: names the setting and where it came from."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a server needs to know that is not in its database."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: str = DEFAULT_DATA_DIR
    database_url: str = ""
    timestamp_window_s: float = 300.0
    limit_profile: str = DEFAULT_LIMIT_PROFILE
    """Which call limits apply: cloud (the real cloud's pacing), lenient or off."""
    rate_per_second: float = 10.0
    """Per-key token bucket of the lenient profile: calls a second..."""
    rate_burst: int = 20
    """...and how many may be saved up."""
    daily_quota_per_device: int = limits.DAILY_QUOTA_PER_DEVICE
    quota_flush_s: float = 1.0
    admin_token: str = ""
    """Token of the /admin API; empty: generated and kept in DATA_DIR/admin-token."""
    seed: int = 0
    speed: float = 1.0
    """Simulated seconds per real second (0 freezes the fleet's clock)."""
    backfill_days: float = 7.0
    demo_devices: int = 6
    random_faults: bool = False
    raw_retention_days: int = 0
    """Keep raw samples this many days (0: forever); energy rollups are kept forever."""
    log_level: str = "info"
    # limits on what a client controls (docs/security.md)
    max_body_bytes: int = 65_536
    """Largest request body; a larger one is refused with HTTP 413 before it is read."""
    max_header_bytes: int = 16_384
    """Largest request line plus headers; beyond it HTTP 431 and the connection closed."""
    max_headers: int = 64
    """Most header lines in one request (HTTP 431 beyond)."""
    header_timeout_s: float = 10.0
    """Time a client has to send a request's line and headers (then HTTP 408, closed)."""
    body_timeout_s: float = 20.0
    """Time a client has to send a request's body once its headers are in."""
    keep_alive_timeout_s: float = 5.0
    """An idle keep-alive connection is closed after this long."""
    max_connections: int = 512
    """Open connections served at once; a new one beyond it gets HTTP 503 and is closed."""
    quota_flush_every: int = 8
    """Counted calls kept in memory before their quota use is written (a crash loses fewer);
    with ``redis_url`` the count lives in Redis, and with ``quota_journal`` on SQLite in the
    journal, and only the timed write runs."""
    quota_journal: bool = True
    """On SQLite without Redis: keep every count as it is made in a memory-mapped file beside
    the database (``<database>-quota``), so a killed server loses no counted call and no call
    waits for a write of the counts (``foxden.server.quota_journal``)."""
    replay_cache: bool = False
    """Refuse a signature seen before within the timestamp window (docs/security.md)."""
    journal_size: int = 10_000
    """Open API calls the request journal keeps (the newest)."""
    journal_file: str = ""
    """Also append the journal to this JSON-lines file and read it back at start."""
    access_log: bool = True
    """One JSON line per Open API call on the ``foxden.access`` logger."""
    redis_url: str = ""
    """Redis for call limits and quota counts shared by every worker and machine
    (``redis://HOST:PORT/DB``), and with PostgreSQL the change counters of the caches (moved
    by every write of a process that has it); empty: kept in this process's memory."""
    db_readers: int = 3
    """PostgreSQL: threads (each with a connection of its own) that answer read-only calls
    needing a query at once, beside the one thread that runs writes one at a time."""
    workers: int = 1
    """Server processes answering the Open API on one port (a killed one is replaced)."""
    role: str = "all"
    """What this server runs: ``api`` (the Open API only), ``fleet`` (the simulated fleet
    only) or ``all``; the fleet runs in one process of all that share the database."""

    def database(self) -> str:
        """The database URL in force: the explicit one, else SQLite in the data dir."""
        from foxden.store import url_for

        return self.database_url or url_for(self.data_dir)


def _coerce(name: str, raw: Any, kind: type, source: str) -> Any:
    try:
        if kind is bool:
            return str(raw).lower() in ("1", "true", "yes", "on")
        return kind(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{source}: setting {name!r} must be {kind.__name__}, got {raw!r}"
        ) from exc


def load(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Settings from defaults, a TOML file (``FOXDEN_CONFIG`` or the argument), the
    environment, then keyword overrides (None values are ignored)."""
    settings = Settings()
    kinds = {f.name: type(getattr(settings, f.name)) for f in fields(Settings)}
    values: dict[str, Any] = {}
    path = config_file or os.environ.get(ENV_PREFIX + "CONFIG")
    if path:
        try:
            data = tomllib.loads(Path(path).read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {path}: {exc}") from exc
        table = data.get("foxden", data)
        for key, raw in table.items():
            name = key.replace("-", "_")
            if name not in kinds:
                raise ConfigError(f"config file {path}: unknown setting {key!r}")
            values[name] = _coerce(name, raw, kinds[name], f"config file {path}")
    for name, kind in kinds.items():
        env = os.environ.get(ENV_PREFIX + name.upper())
        if env is not None:
            values[name] = _coerce(name, env, kind, f"environment {ENV_PREFIX}{name.upper()}")
    for name, raw in overrides.items():
        if raw is not None:
            if name not in kinds:
                raise ConfigError(f"unknown setting {name!r}")
            values[name] = raw
    result = replace(settings, **values)
    if result.limit_profile not in LIMIT_PROFILES:
        raise ConfigError(
            f"setting 'limit_profile' must be one of {', '.join(LIMIT_PROFILES)}, "
            f"got {result.limit_profile!r}"
        )
    if result.role not in ROLES:
        raise ConfigError(f"setting 'role' must be one of {', '.join(ROLES)}, got {result.role!r}")
    if result.workers < 1:
        raise ConfigError(f"setting 'workers' must be at least 1, got {result.workers}")
    return result
