"""``foxden chaos add|list|clear``: chaos rules of a running server (its admin API).

Examples:

    foxden chaos add --path /op/v0/device/battery/soc/get --errno 41200 --count 2
    foxden chaos add --sn 60H1600000000X1 --delay-ms 3000 --probability 0.2
    foxden chaos list
    foxden chaos clear 3
    foxden chaos clear
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from foxden.cli.admin_options import AdminToken, BaseUrl, DataDir, admin_client, refused
from foxden.client.admin import AdminError, chaos_match

chaos_app = typer.Typer(
    help="Chaos rules: make chosen Open API calls fail on purpose.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(chaos_app, name="chaos")


def _answer(rule: dict[str, Any]) -> str:
    parts = []
    if rule.get("errno") is not None:
        parts.append(f"errno {rule['errno']}")
    if rule.get("status") is not None:
        parts.append(f"HTTP {rule['status']}")
    if rule.get("drop"):
        parts.append("drop")
    if rule.get("timeout"):
        parts.append("timeout")
    if rule.get("delay_ms"):
        parts.append(f"+{rule['delay_ms']} ms")
    return ", ".join(parts)


def _match(rule: dict[str, Any]) -> str:
    match = rule.get("match") or {}
    shown = {k: ("…" + v[-4:] if k == "key" else v) for k, v in match.items()}
    return " ".join(f"{k}={v}" for k, v in shown.items()) or "every call"


@chaos_app.command("add")
def add(
    path: Annotated[str | None, typer.Option(help="Open API path to match")] = None,
    key: Annotated[str | None, typer.Option(help="API key to match")] = None,
    account: Annotated[str | None, typer.Option(help="Account name to match")] = None,
    sn: Annotated[str | None, typer.Option(help="Inverter serial the call names")] = None,
    method: Annotated[str | None, typer.Option(help="GET or POST")] = None,
    errno: Annotated[int | None, typer.Option(help="Answer with this errno")] = None,
    msg: Annotated[str | None, typer.Option(help="msg of that errno's envelope")] = None,
    status: Annotated[int | None, typer.Option(help="Answer with this HTTP status")] = None,
    delay_ms: Annotated[int, typer.Option(help="Added latency, ms")] = 0,
    drop: Annotated[bool, typer.Option("--drop", help="Drop the connection")] = False,
    timeout: Annotated[bool, typer.Option("--timeout", help="Never answer")] = False,
    probability: Annotated[float, typer.Option(help="Chance a matching call is hit")] = 1.0,
    count: Annotated[int | None, typer.Option(help="Hit at most this many calls")] = None,
    ttl_s: Annotated[float | None, typer.Option(help="Rule ends after this many s")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rule as JSON")] = False,
    base_url: BaseUrl = None,
    admin_token: AdminToken = None,
    data_dir: DataDir = None,
) -> None:
    """Add a rule; prints it with its id."""
    match = chaos_match(path=path, key=key, account=account, sn=sn, method=method)
    body: dict[str, Any] = {"match": match, "delay_ms": delay_ms, "probability": probability}
    for name, value in (
        ("errno", errno),
        ("msg", msg),
        ("status", status),
        ("count", count),
        ("ttl_s", ttl_s),
    ):
        if value is not None:
            body[name] = value
    if drop:
        body["drop"] = True
    if timeout:
        body["timeout"] = True
    with admin_client(base_url, admin_token, data_dir) as admin:
        try:
            rule = admin.add_chaos(**body)
        except AdminError as exc:
            refused(exc)
    if as_json:
        print(json.dumps(rule))
    else:
        Console(soft_wrap=True).print(f"chaos rule {rule['id']}: {_match(rule)} -> {_answer(rule)}")


@chaos_app.command("list")
def list_rules(
    as_json: Annotated[bool, typer.Option("--json", help="Print the rules as JSON")] = False,
    base_url: BaseUrl = None,
    admin_token: AdminToken = None,
    data_dir: DataDir = None,
) -> None:
    """The rules with their hits."""
    with admin_client(base_url, admin_token, data_dir) as admin:
        try:
            rules = admin.chaos_rules()
        except AdminError as exc:
            refused(exc)
    if as_json:
        print(json.dumps(rules))
        return
    table = Table(title="Chaos rules")
    for column in ("id", "match", "answer", "probability", "count", "hits", "active"):
        table.add_column(column)
    for r in rules:
        table.add_row(
            str(r["id"]),
            _match(r),
            _answer(r),
            f"{r['probability']:g}",
            "" if r.get("count") is None else str(r["count"]),
            str(r["hits"]),
            "yes" if r["active"] else "no",
        )
    Console(soft_wrap=True).print(table)


@chaos_app.command("clear")
def clear(
    rule_id: Annotated[int | None, typer.Argument(help="The rule to remove (default: all)")] = None,
    base_url: BaseUrl = None,
    admin_token: AdminToken = None,
    data_dir: DataDir = None,
) -> None:
    """Remove one rule, or all of them."""
    with admin_client(base_url, admin_token, data_dir) as admin:
        try:
            if rule_id is None:
                Console(soft_wrap=True).print(f"removed {admin.clear_chaos()} chaos rules")
            else:
                admin.remove_chaos(rule_id)
                Console(soft_wrap=True).print(f"removed chaos rule {rule_id}")
        except AdminError as exc:
            refused(exc)
