"""``foxden``: run the server, manage its data, and call every Open API endpoint.

Examples:

    foxden serve --port 8080
    foxden account create alice
    foxden device add --account alice --model KH8
    foxden key rotate alice
    foxden devices list --base-url http://127.0.0.1:8080 --api-key KEY

The API commands need only the base install; ``serve`` and the commands that work on the
server's database need the ``server`` extra and say so when it is missing.
"""

from __future__ import annotations

import typer

from foxden.cli import admin, api, chaos, gateway, journal, scenario, serve

app = typer.Typer(
    help="foxden: a self-hostable Fox ESS Cloud Open API server, fleet and client.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
serve.register(app)
admin.register(app)
gateway.register(app)
api.register(app)
chaos.register(app)
journal.register(app)
scenario.register(app)


def main() -> None:
    app(prog_name="foxden")


if __name__ == "__main__":  # pragma: no cover
    main()
