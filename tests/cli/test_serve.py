"""``foxden serve`` listens before anything else; ``--version`` and ``-h``."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from foxden import __version__
from foxden.cli.main import app

runner = CliRunner()


def test_a_taken_port_is_a_one_line_error_before_anything_is_created(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data = tmp_path / "data"
        result = runner.invoke(app, ["serve", "--port", str(port), "--data-dir", str(data)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert "in use" in result.stderr and "--port" in result.stderr
    assert "serving" not in result.output and not data.exists()


def test_version_and_short_help() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"foxden {__version__}\n"
    for args in (["-h"], ["history", "-h"], ["battery", "soc", "set", "-h"], ["serve", "-h"]):
        result = runner.invoke(app, args, prog_name="foxden")
        assert result.exit_code == 0 and "Usage: foxden" in result.stdout, args


def test_serve_help_names_the_scale_out_options() -> None:
    result = runner.invoke(app, ["serve", "--help"], prog_name="foxden", env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--workers", "--role", "--redis-url", "FOXDEN_REDIS_URL"):
        assert option in result.stdout, option


def test_several_workers_without_redis_are_refused_before_anything_is_created(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    result = runner.invoke(app, ["serve", "--workers", "2", "--port", "0", "--data-dir", str(data)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --workers 2 needs --redis-url (or FOXDEN_REDIS_URL)")
    assert "quota" in result.stderr and result.stderr.count("\n") == 1
    assert not data.exists()


def test_a_fleet_role_is_one_process_and_roles_are_checked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    args = ["serve", "--role", "fleet", "--workers", "2", "--data-dir", str(data)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "--role fleet runs the fleet in one process" in result.stderr
    result = runner.invoke(app, ["serve", "--role", "worker", "--data-dir", str(data)])
    assert result.exit_code == 2
    assert "setting 'role' must be one of all, api, fleet, got 'worker'" in result.stderr
    assert not data.exists()


def test_an_unreachable_redis_is_a_one_line_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    args = ["serve", "--redis-url", "redis://127.0.0.1:1/0", "--port", "0", "--data-dir", str(data)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot reach Redis at redis://127.0.0.1:1/0")
    assert not data.exists()
