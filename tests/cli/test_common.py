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
    assert len(commands) == 35
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


def _all_commands() -> dict[str, Any]:
    root: Any = typer.main.get_command(app)
    found: dict[str, Any] = {"": root}

    def walk(name: str, command: Any) -> None:
        found[name] = command
        for sub, child in getattr(command, "commands", {}).items():
            walk(f"{name} {sub}".strip(), child)

    walk("", root)
    return found


def test_every_option_says_its_default() -> None:
    """Typer shows a default that is a value; options whose default is worked out (None
    here) name it with show_default text."""
    silent = []
    for name, command in _all_commands().items():
        if name.startswith(("chaos", "journal")):  # the admin API's commands keep their own
            continue
        for p in command.params:
            if p.param_type_name != "option" or p.required or p.is_flag or p.name == "help":
                continue
            said = isinstance(p.show_default, str) or (
                p.default is not None and p.show_default is not False
            )
            if not said:
                silent.append(f"{name} {p.opts[0]}")
    assert silent == []


def test_help_examples_use_the_demo_fleet() -> None:
    from foxden.demo import DEMO_PLANTS

    demo = {sn for plant in DEMO_PLANTS for sn, _ in plant.devices}
    shown = 0
    for name, command in _all_commands().items():
        text = command.help or ""
        if "Example:" not in text or name.startswith(("plants", "device add", "account", "module")):
            continue
        example = text.split("Example:")[1]  # the first: it runs against the demo fleet
        serials = {w for w in example.split() if w[:2].isdigit() and w.isalnum() and len(w) > 11}
        assert serials <= demo, (name, serials)
        shown += bool(serials)
    assert shown >= 15
