"""What the commands that drive a running server's admin API share: where the server is,
its admin token, and how a refusal is reported."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from foxden.client.admin import AdminClient, AdminError
from foxden.config import DEFAULT_DATA_DIR

DEFAULT_URL = "http://127.0.0.1:8080"

BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url", help=f"The foxden server [env FOXDEN_BASE_URL; default {DEFAULT_URL}]"
    ),
]
AdminToken = Annotated[
    str | None,
    typer.Option(
        "--admin-token",
        help="Admin token [env FOXDEN_ADMIN_TOKEN; default: DATA_DIR/admin-token]",
    ),
]
DataDir = Annotated[
    str | None,
    typer.Option("--data-dir", help="The server's data dir, for its admin token"),
]


def fail(message: str, code: int = 1) -> NoReturn:
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    raise typer.Exit(code)


def admin_client(base_url: str | None, token: str | None, data_dir: str | None) -> AdminClient:
    url = base_url or os.environ.get("FOXDEN_BASE_URL") or DEFAULT_URL
    token = token or os.environ.get("FOXDEN_ADMIN_TOKEN")
    if not token:
        path = Path(data_dir or os.environ.get("FOXDEN_DATA_DIR") or DEFAULT_DATA_DIR)
        try:
            token = (path / "admin-token").read_text("utf-8").strip()
        except OSError:
            fail(
                f"no admin token: give --admin-token, set FOXDEN_ADMIN_TOKEN, or --data-dir "
                f"of the server (no {path / 'admin-token'})",
                2,
            )
    return AdminClient(url, token)


def refused(exc: AdminError) -> NoReturn:
    fail(exc.message if exc.status else str(exc), 1 if exc.status else 3)
