"""The common options are declared once and every API command has them."""

from __future__ import annotations

from typing import Any

import typer

from foxden.cli import api
from foxden.cli.common import PANEL
from foxden.cli.main import app


def _api_commands() -> dict[str, Any]:
    """Every leaf command under the Open API panel, by its full name."""
    root: Any = typer.main.get_command(app)
    found: dict[str, Any] = {}

    def walk(name: str, command: Any) -> None:
        if hasattr(command, "commands"):
            for sub, child in command.commands.items():
                walk(f"{name} {sub}", child)
        else:
            found[name] = command

    for name, command in root.commands.items():
        if getattr(command, "rich_help_panel", None) == PANEL:
            walk(name, command)
    return found


def _options(command: Any) -> set[str]:
    return {o for p in command.params if p.param_type_name == "option" for o in p.opts}


def test_every_api_command_takes_the_connection_options() -> None:
    commands = _api_commands()
    assert len(commands) == 33
    for name, command in commands.items():
        assert {"--base-url", "--api-key"} <= _options(command), name
    readers = {n for n, c in commands.items() if "--json" in _options(c)}
    writers = set(commands) - readers
    assert writers == {
        "plants delete",
        "battery soc set",
        "charge-times set",
        "setting set",
        "time set",
        "schedule set",
        "schedule enable",
        "schedule disable",
        "peak-shaving set",
        "battery-heating set",
        "plot history",
        "plot report",
    }


def test_a_command_keeps_its_own_parameters_first_in_their_order() -> None:
    commands = _api_commands()
    history = [p.name for p in commands["history"].params]
    assert history[:4] == ["sn", "start", "stop", "variables"]
    assert history[-3:] == ["base_url", "api_key", "as_json"]
    assert [p.name for p in commands["setting set"].params][:3] == ["sn", "key", "value"]


def test_each_area_module_registers_its_commands() -> None:
    assert {m.__name__.rsplit(".", 1)[1] for m in api.AREAS} == {
        "plant", "device", "module", "telemetry", "battery", "settings", "scheduler", "user",
        "plot", "peak_shaving", "battery_heating",
    }  # fmt: skip
