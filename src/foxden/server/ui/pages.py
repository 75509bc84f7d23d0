"""The HTML of the dashboard's pages: a shared frame (header, navigation, styles, scripts
from ``/ui/static``) around each page's landmarks, which its script fills in."""

from __future__ import annotations

import html
from pathlib import Path

from foxden import __version__
from foxden.demo import KEY_FILE
from foxden.protocol.endpoints import ENDPOINTS

NAV = (("/", "Overview"), ("/admin", "Admin"), ("/docs", "API reference"))


def frame(title: str, current: str, body: str, script: str) -> str:
    links = "".join(
        f"<li><a href='{href}'{' aria-current=page' if href == current else ''}>{name}</a></li>"
        for href, name in NAV
    )
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<meta name='color-scheme' content='light dark'>"
        f"<title>{html.escape(title)}</title>"
        "<link rel='icon' href='/ui/static/icon.svg' type='image/svg+xml'>"
        "<link rel='stylesheet' href='/ui/static/style.css'>"
        "<script src='/ui/static/common.js' defer></script>"
        f"<script src='/ui/static/{script}' defer></script></head>"
        "<body><a class='skip' href='#main'>Skip to content</a>"
        "<header class='top'><a class='brand' href='/'>foxden</a>"
        f"<nav aria-label='Site'><ul>{links}</ul></nav></header>"
        f"<main id='main'>{body}</main>"
        f"<footer><p>foxden {html.escape(__version__)} · "
        "<a href='/openapi.json'>/openapi.json</a> · <a href='/health'>/health</a></p></footer>"
        "</body></html>\n"
    )


def connection(base: str, data_dir: str) -> str:
    """How to reach the API: base URL, where the demo key lives, the API's descriptions."""
    key_file = Path(data_dir).expanduser().resolve() / KEY_FILE
    key_line = (
        f"The demo account's API key is in <code>{html.escape(str(key_file))}</code> "
        "on the server's machine (made on first start; absent with <code>--no-demo</code>)."
        if key_file.is_file()
        else f"No demo key file at <code>{html.escape(str(key_file))}</code>: create "
        "an account with <code>foxden account create NAME</code> or on the "
        "<a href='/admin'>admin page</a>."
    )
    return (
        "<section aria-labelledby='connect-h' class='card'><h2 id='connect-h'>Connect</h2>"
        "<dl class='facts'>"
        f"<dt>API base URL</dt><dd><code>{html.escape(base)}</code></dd>"
        f"<dt>API key</dt><dd>{key_line}</dd>"
        "<dt>API description</dt><dd><a href='/openapi.json'>/openapi.json</a> "
        "(OpenAPI 3.1)</dd>"
        "<dt>API reference</dt><dd><a href='/docs'>/docs</a></dd>"
        "<dt>Health</dt><dd><a href='/health'>/health</a></dd></dl>"
        "<details><summary>Try it from a shell</summary>"
        f"<pre>export FOXDEN_BASE_URL={html.escape(base)}\n"
        f"export FOXDEN_API_KEY=$(cat {html.escape(str(key_file))})\n"
        "foxden devices list\nfoxden quota</pre></details></section>"
    )


def overview(base: str, data_dir: str) -> str:
    body = (
        f"<h1>foxden {html.escape(__version__)}</h1>"
        "<p class='lead'>A self-hostable implementation of the <b>Fox ESS Cloud Open API</b> "
        "(vendor document V1.0.8 and the newer calls the real cloud serves), fed by a "
        "simulated inverter fleet. Point an unmodified Fox ESS integration here instead "
        "of the vendor cloud.</p>"
        + connection(base, data_dir)
        + "<section aria-labelledby='plants-h'><h2 id='plants-h'>Plants and inverters</h2>"
        "<p class='muted' id='fleet-time' aria-live='polite'>Loading…</p>"
        "<div id='plants'></div></section>"
    )
    return frame(f"foxden {__version__}", "/", body, "overview.js")


def device(sn: str) -> str:
    e = html.escape(sn)
    body = (
        f"<div id='device' data-sn='{e}'><h1>Inverter <span class='sn'>{e}</span></h1>"
        "<p id='device-place' class='muted'></p>"
        "<p id='device-status' role='status' class='status'>Loading…</p>"
        "<div class='grid'>"
        "<section aria-labelledby='flow-h' class='card'><h2 id='flow-h'>Power flow</h2>"
        "<div id='flow' class='flow'></div><p id='flow-time' class='muted'></p></section>"
        "<section aria-labelledby='faults-h' class='card'><h2 id='faults-h'>Recent faults</h2>"
        "<div id='faults'></div></section></div>"
        "<section aria-labelledby='day-h' class='card'><h2 id='day-h'>Day</h2>"
        "<div class='chart-nav' data-chart='day'>"
        "<button type='button' data-step='-1' aria-label='Previous day'>◀</button>"
        "<label>Day <input type='date' id='day-pick'></label>"
        "<button type='button' data-step='1' aria-label='Next day'>▶</button></div>"
        "<figure id='chart-power' class='chart'></figure>"
        "<figure id='chart-soc' class='chart'></figure></section>"
        "<section aria-labelledby='month-h' class='card'><h2 id='month-h'>Month</h2>"
        "<div class='chart-nav' data-chart='month'>"
        "<button type='button' data-step='-1' aria-label='Previous month'>◀</button>"
        "<label>Month <input type='month' id='month-pick'></label>"
        "<button type='button' data-step='1' aria-label='Next month'>▶</button></div>"
        "<figure id='chart-month' class='chart'></figure></section>"
        "<section aria-labelledby='year-h' class='card'><h2 id='year-h'>Year</h2>"
        "<div class='chart-nav' data-chart='year'>"
        "<button type='button' data-step='-1' aria-label='Previous year'>◀</button>"
        "<label>Year <input type='number' id='year-pick' min='2020' max='2100'></label>"
        "<button type='button' data-step='1' aria-label='Next year'>▶</button></div>"
        "<figure id='chart-year' class='chart'></figure></section>"
        "<section aria-labelledby='values-h' class='card'><h2 id='values-h'>Latest values</h2>"
        "<div id='values' class='scroll'></div></section>"
        "<div class='grid'>"
        "<section aria-labelledby='settings-h' class='card'><h2 id='settings-h'>Settings</h2>"
        "<div id='settings' class='scroll'></div></section>"
        "<section aria-labelledby='schedule-h' class='card'><h2 id='schedule-h'>Schedule</h2>"
        "<div id='schedule' class='scroll'></div></section></div></div>"
    )
    return frame(f"{sn} · foxden", "", body, "device.js")


def admin(fleet: bool) -> str:
    clock = (
        "<section aria-labelledby='clock-h' class='card'><h2 id='clock-h'>Clock</h2>"
        "<p id='clock-now' aria-live='polite'></p>"
        "<form id='clock-speed' class='row'><label>Speed (simulated s per s) "
        "<input name='speed' type='number' min='0' max='86400' step='any' required></label>"
        "<button>Set speed</button></form>"
        "<form id='clock-jump' class='row'><label>Jump to (UTC) "
        "<input name='when' type='datetime-local' step='1' required></label>"
        "<button>Jump</button></form>"
        "<form id='clock-advance' class='row'><label>Advance by "
        "<select name='advance'><option value='300000'>5 minutes</option>"
        "<option value='3600000'>1 hour</option><option value='86400000'>1 day</option>"
        "</select></label><button>Advance</button>"
        "<button type='button' id='clock-step'>Step to now</button></form></section>"
        "<section aria-labelledby='faults-h' class='card'><h2 id='faults-h'>Faults</h2>"
        "<form id='fault-form' class='row'><label>Inverter <select name='sn' required>"
        "</select></label><label>Fault <select name='code' required></select></label>"
        "<label>For minutes (empty: until cleared) "
        "<input name='minutes' type='number' min='1' step='1'></label>"
        "<button>Inject fault</button></form>"
        "<div id='fault-list' class='scroll'></div></section>"
        if fleet
        else "<p class='card'>This server runs without a simulated fleet: "
        "no clock or faults to control.</p>"
    )
    paths = "".join(
        f"<option>{html.escape(p)}</option>"
        for p in sorted({p for e in ENDPOINTS if not e.public for p in (e.path, *e.aliases)})
    )
    body = (
        "<h1>Admin</h1>"
        "<form id='signin' class='card' aria-labelledby='signin-h'>"
        "<h2 id='signin-h'>Sign in</h2>"
        "<p>The admin token is in <code>DATA_DIR/admin-token</code> on the server's machine. "
        "It is kept in this browser tab only, until the tab is closed.</p>"
        "<label>Admin token <input name='token' type='password' autocomplete='off' "
        "required></label> <button>Sign in</button>"
        "<p id='signin-error' role='alert' class='error'></p></form>"
        "<div id='panels' hidden>"
        "<p><button type='button' id='signout'>Sign out</button> "
        "<span id='admin-msg' role='status' aria-live='polite'></span></p>"
        + clock
        + "<section aria-labelledby='chaos-h' class='card'><h2 id='chaos-h'>Chaos rules</h2>"
        "<form id='chaos-form' class='row'><label>Path <select name='path'>"
        "<option value=''>any path</option>" + paths + "</select></label>"
        "<label>errno <input name='errno' type='number' value='41200' min='1'></label>"
        "<label>Times (empty: always) <input name='count' type='number' min='1'></label>"
        "<button>Add rule</button></form>"
        "<div id='chaos-list' class='scroll'></div></section>"
        "<section aria-labelledby='journal-h' class='card'><h2 id='journal-h'>Requests</h2>"
        "<p class='muted'>The newest calls to the Open API, live.</p>"
        "<div id='journal' class='scroll'></div></section>"
        "<section aria-labelledby='accounts-h' class='card'><h2 id='accounts-h'>Accounts and "
        "keys</h2><form id='account-form' class='row'><label>New account "
        "<input name='name' required pattern='[A-Za-z0-9][A-Za-z0-9_.@\\-]{0,63}'></label>"
        "<button>Create</button></form>"
        "<div id='new-key' role='status'></div>"
        "<div id='accounts' class='scroll'></div></section></div>"
    )
    return frame("Admin · foxden", "/admin", body, "admin.js")
