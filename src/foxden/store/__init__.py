"""Persistence behind one interface; SQLite is the embedded default.

Nothing SQLite-specific leaks out of this package: callers use :class:`Store` and the
records of :mod:`foxden.store.base`, and :func:`open_store` picks the backend from a URL.
"""

from __future__ import annotations

from pathlib import Path

from foxden.store.base import (
    SLOT_MS,
    Account,
    Device,
    DeviceSamples,
    Latest,
    Logger,
    Plant,
    Series,
    Store,
    StoreError,
)

__all__ = [
    "SLOT_MS",
    "Account",
    "Device",
    "DeviceSamples",
    "Latest",
    "Logger",
    "Plant",
    "Series",
    "Store",
    "StoreError",
    "database_exists",
    "describe",
    "open_store",
    "url_for",
]


def url_for(data_dir: Path | str) -> str:
    """The default database URL for a data dir."""
    return f"sqlite:///{Path(data_dir).expanduser().resolve() / 'foxden.db'}"


def _sqlite_path(url: str) -> str:
    return url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""


def database_exists(url: str) -> bool:
    """Whether the database a URL names exists with foxden's schema; creates nothing.

    A private in-memory SQLite database (``sqlite://``) never exists beforehand.
    """
    if url.startswith("sqlite://"):
        path = _sqlite_path(url)
        return bool(path) and Path(path).is_file()
    if url.startswith(("postgresql://", "postgres://")):
        from foxden.store.postgres import schema_exists

        return schema_exists(url)
    raise StoreError(_unsupported(url))


def describe(url: str) -> str:
    """Where a database URL points, for messages: the file, or the URL without password."""
    if url.startswith("sqlite://"):
        return _sqlite_path(url) or "memory"
    from foxden.store.postgres import redact

    return redact(url)


def _unsupported(url: str) -> str:
    scheme = url.split(":", 1)[0]
    return (
        f"database URL scheme {scheme!r} is not supported; use sqlite:///PATH or "
        "postgresql://USER:PASSWORD@HOST/DB"
    )


def open_store(url: str) -> Store:
    """Open (and migrate) the store a URL names.

    ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` (as SQLAlchemy spells
    them), ``sqlite://`` for a private in-memory database, or
    ``postgresql://USER:PASSWORD@HOST[:PORT]/DB``.
    """
    if url.startswith("sqlite://"):
        from foxden.store.sqlite import SQLiteStore

        return SQLiteStore(_sqlite_path(url) or ":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        from foxden.store.postgres import PostgresStore

        return PostgresStore(url)
    raise StoreError(_unsupported(url))
