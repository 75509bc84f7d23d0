"""``foxden scenario validate FILE`` and ``foxden scenario demo``.

Examples:

    foxden scenario validate ci.toml
    foxden scenario demo > my-fleet.toml
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from foxden.cli.common import need

scenario_app = typer.Typer(help="Scenario files (TOML fleets).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(scenario_app, name="scenario")


@scenario_app.command("validate")
def validate(file: Annotated[str, typer.Argument(help="The scenario file")]) -> None:
    """Check a scenario file against every rule (the API's own for settings and schedules);
    each problem is printed as FILE:LINE: message. Exit 0 when it is good, 1 when not."""
    need("server", "foxden scenario validate")
    from foxden import scenario

    try:
        sc = scenario.validate(file)
    except scenario.ScenarioError as exc:
        sys.stderr.write(str(exc) + "\n")
        raise typer.Exit(1) from None
    accounts = sc.file.account
    plants = sum(len(a.plant) for a in accounts)
    inverters = sum(len(p.inverter) for a in accounts for p in a.plant)
    print(
        f"{file}: ok ({len(accounts)} accounts, {plants} plants, {inverters} inverters, "
        f"{len(sc.file.fault)} faults, {len(sc.chaos)} chaos rules)"
    )


@scenario_app.command("demo")
def demo() -> None:
    """Print the demo fleet's scenario (a starting point for your own)."""
    need("server", "foxden scenario demo")
    from foxden import scenario

    print(scenario.demo_path().read_text("utf-8"), end="")
