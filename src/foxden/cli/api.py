"""The API commands of ``foxden``: one module per API area, as in ``foxden.server.areas``.

Each area module has a ``register(root)`` that adds its commands; the options they share
(base URL, key, ``--json``, serial number) live in :mod:`foxden.cli.common`. Options given
before the command (``foxden --api-key K devices list``) are read by the root callback here.
"""

from __future__ import annotations

from typing import Annotated

import typer

from foxden import __version__
from foxden.cli import (
    battery,
    battery_heating,
    device,
    module,
    peak_shaving,
    plant,
    plot,
    scheduler,
    settings,
    telemetry,
    user,
)
from foxden.cli.common import EPILOG, META, ApiKey, BaseUrl, Globals

AREAS = (
    plant,
    module,
    telemetry,
    device,
    battery,
    settings,
    scheduler,
    peak_shaving,
    battery_heating,
    user,
    plot,
)
"""In the order ``foxden --help`` lists them (commands first, then groups)."""


def _version(shown: bool) -> None:
    if shown:
        print(f"foxden {__version__}")
        raise typer.Exit()


def _root(
    ctx: typer.Context,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    retries: Annotated[
        int | None,
        typer.Option(help="Retries of transient failures (env FOXDEN_RETRIES)", show_default="3"),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(help="Seconds to wait for an answer (env FOXDEN_TIMEOUT)", show_default="30"),
    ] = None,
    min_interval: Annotated[
        float | None,
        typer.Option(
            help="Seconds between calls (env FOXDEN_MIN_INTERVAL)",
            show_default="1 for the vendor cloud, 0 otherwise",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    ctx.meta[META] = Globals(base_url, api_key, retries, timeout, min_interval)


def register(app: typer.Typer) -> None:
    """Add the API commands, the global connection options and the exit-code epilog."""
    if app.registered_callback is None:
        app.callback(epilog=EPILOG)(_root)
    else:  # someone else owns the root callback: keep theirs, still document the exit codes
        app.info.epilog = EPILOG
    for area in AREAS:
        area.register(app)
