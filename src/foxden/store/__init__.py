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
    "open_store",
    "url_for",
]


def url_for(data_dir: Path | str) -> str:
    """The default database URL for a data dir."""
    return f"sqlite:///{Path(data_dir).expanduser().resolve() / 'foxden.db'}"


def open_store(url: str) -> Store:
    """Open (and migrate) the store a URL names.

    ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` (as SQLAlchemy spells
    them), ``sqlite://`` for a private in-memory database, or
    ``postgresql://USER:PASSWORD@HOST[:PORT]/DB``.
    """
    if url.startswith("sqlite://"):
        from foxden.store.sqlite import SQLiteStore

        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        return SQLiteStore(path or ":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        from foxden.store.postgres import PostgresStore

        return PostgresStore(url)
    scheme = url.split(":", 1)[0]
    raise StoreError(
        f"database URL scheme {scheme!r} is not supported; use sqlite:///PATH or "
        "postgresql://USER:PASSWORD@HOST/DB"
    )
