"""``foxden peak-shaving``: the grid import limit and the SoC held back for peak shaving."""

from __future__ import annotations

from typing import Annotated

import typer

from foxden.cli.common import PANEL, Call, CliError, Sn, api, console, number, print_json, show

peak_app = typer.Typer(
    help="Peak shaving: grid import limit (kW) and reserved SoC (KH models).",
    no_args_is_help=True,
)


@peak_app.command("get")
@api
def peak_get(call: Call, sn: Sn) -> None:
    """The import limit and SoC of peak shaving, with their ranges.

    Example: foxden peak-shaving get {SN:KH8}
    """
    with call.client() as client:
        got = client.peak_shaving(sn)
    if call.as_json:
        return print_json(got)
    rows = [
        (name, item.value, item.unit,
         f"{number(item.range.min)} to {number(item.range.max)}" if item.range else "")
        for name, item in (("importLimit", got.importLimit), ("soc", got.soc))
    ]  # fmt: skip
    show(f"Peak shaving of {sn}", ("setting", "value", "unit", "allowed"), rows)


@peak_app.command("set")
@api(json=False)
def peak_set(
    call: Call,
    sn: Sn,
    import_limit: Annotated[
        float | None,
        typer.Option("--import-limit", help="Grid import limit in kW", show_default="unchanged"),
    ] = None,
    soc: Annotated[
        int | None,
        typer.Option("--soc", help="SoC kept for peak shaving (%)", show_default="unchanged"),
    ] = None,
) -> None:
    """Set peak shaving; a value not given keeps its current setting (the API needs both).

    Example: foxden peak-shaving set {SN:KH8} --import-limit 6.5 --soc 30
    """
    if import_limit is None and soc is None:
        raise CliError("nothing to set", "give --import-limit, --soc or both")
    with call.client() as client:
        if import_limit is None or soc is None:
            now = client.peak_shaving(sn)
            import_limit = float(now.importLimit.value) if import_limit is None else import_limit
            soc = int(now.soc.value) if soc is None else soc
        client.set_peak_shaving(sn, import_limit, soc)
    console().print(f"Set peak shaving of {sn}: import limit {import_limit:g} kW, SoC {soc} %")


def register(root: typer.Typer) -> None:
    root.add_typer(peak_app, name="peak-shaving", rich_help_panel=PANEL)
