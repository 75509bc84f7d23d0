"""The dashboard in a real headless Chromium: pages load without console errors, the
overview shows the whole fleet, a device page shows the API's values and its charts, and
the admin page signs in and injects a fault the device page then shows.

One browser and one demo server for the module; the fleet's clock is frozen, so the page
and the client read the same newest sample."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from foxden.client import Client
from foxden.client.convenience import iter_devices, iter_plants
from tests.ui.fleet import (
    ADMIN_TOKEN,
    DemoServer,
    console_errors,
    emulate,
    require_browser,
    start_browser,
)

require_browser()

WAIT_S = 20


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver = start_browser(1280, 1000)
    yield driver
    driver.quit()


def wait(driver: Any, until: Callable[[Any], Any]) -> Any:
    return WebDriverWait(driver, WAIT_S).until(until)


def open_page(driver: Any, url: str, ready_css: str) -> None:
    """Load ``url`` and wait until ``ready_css`` matches: the page's scripts have drawn."""
    driver.get(url)
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ready_css))


def text_of(driver: Any, css: str) -> str:
    """The text of ``css`` read in one script (the pages redraw live parts every 5 s)."""
    return str(
        driver.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';", css
        )
    )


def cells(driver: Any, css: str) -> list[list[str]]:
    """The cells' text of each row of a table, read in one script."""
    rows: list[list[str]] = driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map("
        "(tr) => [...tr.cells].map((c) => c.textContent));",
        css,
    )
    return rows


def test_every_page_loads_without_console_errors(browser: Any, demo: DemoServer) -> None:
    console_errors(browser)  # start clean
    pages = [("/", "#plants .inverter"), ("/admin", "#signin"), ("/docs", "h1")]
    for d in iter_devices(demo.client()):  # every model: hybrids and the grid-tied F3000
        pages.append((f"/devices/{d.deviceSN}", "#values table"))
    for path, ready in pages:
        open_page(browser, demo.url + path, ready)
        if path.startswith("/devices/"):
            wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#schedule *")) > 0)
            wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#chart-year svg"))
        assert console_errors(browser) == [], path


def test_overview_lists_every_plant_and_inverter(browser: Any, demo: DemoServer) -> None:
    client = demo.client()
    plants = {p.stationID: p.name for p in iter_plants(client)}
    devices = {d.deviceSN: d for d in iter_devices(client)}
    open_page(browser, demo.url + "/", "#plants .inverter")
    # one snapshot of the list: plant, its name, and each inverter's serial, text and link
    shown: list[list[Any]] = browser.execute_script(
        "return [...document.querySelectorAll('#plants section.plant')].map((s) => ["
        "s.dataset.station, s.querySelector('h3').textContent,"
        "[...s.querySelectorAll('.inverter')].map((c) => "
        "[c.dataset.sn, c.textContent, c.querySelector('a').href])]);"
    )
    assert {station: name for station, name, _ in shown} == plants and len(plants) == 3
    cards = {sn: (station, text, link) for station, _, inv in shown for sn, text, link in inv}
    assert set(cards) == set(devices) and len(cards) == 6
    for sn, (station, text, link) in cards.items():
        assert station == devices[sn].stationID
        assert devices[sn].deviceType in text and "kWh" in text
        assert link == f"{demo.url}/devices/{sn}"
    assert console_errors(browser) == []


def test_device_page_shows_the_apis_values_and_its_charts(browser: Any, demo: DemoServer) -> None:
    client = demo.client()
    sn = next(d.deviceSN for d in iter_devices(client) if d.hasBattery)
    real = client.real_time(sn)[0]
    open_page(browser, f"{demo.url}/devices/{sn}", "#values tbody tr")
    rows = {row[0]: row[2] for row in cells(browser, "#values tbody tr")}
    assert set(rows) == {d.variable for d in real.datas}
    for d in real.datas:  # numbers as the browser writes them (45554.0 as 45554)
        shown = rows[d.variable]
        assert (float(shown) if isinstance(d.value, float) else shown) == d.value, d.variable
    assert len(rows) > 40
    assert text_of(browser, "#flow-time") == f"Sample of {real.time}"
    pv = next(d.value for d in real.datas if d.variable == "pvPower")
    assert isinstance(pv, float)
    assert text_of(browser, "[data-flow=pv]") == f"{pv:.2f} kW"
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "figure.chart svg")) >= 4)
    power_lines = browser.find_elements(By.CSS_SELECTOR, "#chart-power path")
    assert len(power_lines) >= 4
    month_bars = browser.find_elements(By.CSS_SELECTOR, "#chart-month rect")
    assert month_bars
    # day navigation: one day back is the day before, drawn again
    before = text_of(browser, "#chart-power figcaption")
    browser.find_element(By.CSS_SELECTOR, "[data-chart=day] [data-step='-1']").click()
    wait(browser, lambda d: text_of(d, "#chart-power figcaption") != before)
    assert "2026-06-14" in text_of(browser, "#chart-power figcaption")
    assert console_errors(browser) == []


def test_admin_signs_in_and_a_fault_it_injects_shows_on_the_device_page(
    browser: Any, demo: DemoServer
) -> None:
    sn = next(d.deviceSN for d in iter_devices(demo.client()) if d.deviceType == "KH8")
    open_page(browser, demo.url + "/admin", "#signin")
    assert browser.find_element(By.ID, "signin").is_displayed()
    assert not browser.find_element(By.ID, "panels").is_displayed()
    token = browser.find_element(By.NAME, "token")
    token.send_keys("not-the-token")
    token.submit()
    wait(browser, lambda d: "not the admin token" in text_of(d, "#signin-error"))
    assert not browser.find_element(By.ID, "panels").is_displayed()
    console_errors(browser)  # the refused sign-in's 401 is logged by the browser itself
    token = browser.find_element(By.NAME, "token")
    token.clear()
    token.send_keys(ADMIN_TOKEN)
    token.submit()
    wait(browser, lambda d: d.find_element(By.ID, "panels").is_displayed())
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#fault-form option[value='1']"))
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"#fault-form option[value='{sn}']"))
    form = browser.find_element(By.ID, "fault-form")
    Select(form.find_element(By.NAME, "sn")).select_by_value(sn)
    Select(form.find_element(By.NAME, "code")).select_by_value("7")
    form.find_element(By.TAG_NAME, "button").click()
    wait(browser, lambda d: f"Fault 7 injected into {sn}" in text_of(d, "#admin-msg"))
    try:
        open_page(browser, f"{demo.url}/devices/{sn}", "#device-status.bad")
        assert text_of(browser, "#device-status").startswith("Fault 7: Battery Relay Fault")
        wait(browser, lambda d: "still on" in text_of(d, "#faults"))
        # the session kept the token: the admin page opens signed in
        open_page(browser, demo.url + "/admin", "#fault-list table")
        assert sn in text_of(browser, "#fault-list")
        # clearing from the page puts the inverter back on grid
        browser.find_element(By.CSS_SELECTOR, f"#fault-list [data-clear='{sn}']").click()
        wait(browser, lambda d: f"Fault of {sn} cleared" in text_of(d, "#admin-msg"))
        open_page(browser, f"{demo.url}/devices/{sn}", "#values tbody tr")
        wait(browser, lambda d: text_of(d, "#device-status").startswith("Running state: on-grid"))
        # an account made on the page: its key shown once, and it works
        open_page(browser, demo.url + "/admin", "#accounts table")
        form = browser.find_element(By.ID, "account-form")
        form.find_element(By.NAME, "name").send_keys("erin")
        form.find_element(By.TAG_NAME, "button").click()
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#new-key code[data-key=erin]"))
        key = text_of(browser, "#new-key code")
        with Client(key, demo.url) as erin:
            assert list(iter_devices(erin)) == []
        wait(browser, lambda d: "erin" in text_of(d, "#accounts"))
        assert key not in text_of(browser, "#accounts")
        assert console_errors(browser) == []
    finally:
        with demo.admin() as admin:
            admin.clear_fault(sn)


def test_pages_fit_a_phone_and_follow_the_dark_scheme(browser: Any, demo: DemoServer) -> None:
    sn = next(d.deviceSN for d in iter_devices(demo.client()) if d.hasBattery)
    backgrounds = {}
    open_page(browser, demo.url + "/admin", "#signin")  # signed in, as the session keeps it
    browser.execute_script(
        "sessionStorage.setItem('foxden-admin-token', arguments[0])", ADMIN_TOKEN
    )
    try:
        for dark in (False, True):
            emulate(browser, 390, 844, dark=dark, mobile=True)
            for path, ready in (
                ("/", "#plants .inverter"),
                (f"/devices/{sn}", "#chart-year svg"),
                ("/admin", "#panels table"),
            ):
                open_page(browser, demo.url + path, ready)
                overflow = browser.execute_script(
                    "return document.documentElement.scrollWidth - "
                    "document.documentElement.clientWidth"
                )
                assert overflow <= 0, (path, overflow)
                backgrounds[dark, path] = browser.execute_script(
                    "return getComputedStyle(document.body).backgroundColor"
                )
        for path in ("/", f"/devices/{sn}", "/admin"):
            light = _luminance(backgrounds[False, path])
            dark_bg = _luminance(backgrounds[True, path])
            assert light > 0.8 and dark_bg < 0.2, (path, backgrounds)
        assert console_errors(browser) == []
    finally:
        emulate(browser, 1280, 1000, dark=False)


def _luminance(css_color: str) -> float:
    """0 (black) to 1 (white) of an ``rgb(r, g, b)`` colour."""
    r, g, b = (int(v) for v in css_color[css_color.index("(") + 1 : -1].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255
