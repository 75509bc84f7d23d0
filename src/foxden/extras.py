"""The optional parts of foxden and the extra that installs each.

``pip install foxden`` gives the client and the command line's API commands; the server and
simulator, charts, Parquet files and the PostgreSQL backend come with extras. Code that
needs one calls :func:`require` first, so a missing piece is named with the command that
installs it instead of failing with an ImportError deep inside.
"""

from __future__ import annotations

from importlib.util import find_spec

EXTRAS: dict[str, tuple[str, ...]] = {
    "server": ("numpy", "starlette", "uvicorn", "pvlib", "h5py"),
    "plot": ("matplotlib",),
    "parquet": ("pyarrow",),
    "postgres": ("psycopg",),
}
"""Extra name -> the top-level modules it provides."""


class MissingExtra(ImportError):
    """A feature needs an extra that is not installed."""

    def __init__(self, extra: str, module: str, feature: str) -> None:
        self.extra, self.module, self.feature = extra, module, feature
        self.install = f"pip install 'foxden[{extra}]'"
        super().__init__(f"{feature} needs {module}, which is not installed (the {extra} extra)")


def missing(extra: str) -> str | None:
    """The first module of ``extra`` that is not installed, or None."""
    for module in EXTRAS[extra]:
        if find_spec(module) is None:
            return module
    return None


def require(extra: str, feature: str) -> None:
    """Raise MissingExtra when ``extra`` is not fully installed."""
    module = missing(extra)
    if module is not None:
        raise MissingExtra(extra, module, feature)
