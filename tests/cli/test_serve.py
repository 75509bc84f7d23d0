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
