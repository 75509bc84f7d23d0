"""The device page's day chart on days the clocks change, in a real headless Chromium: a
25-hour autumn day is charted to its end (two history calls), and the page's own day
arithmetic (``fox.localDay``) agrees with Python's zoneinfo across zones and dates.

The demo fleet here stands the day after London's 2026 autumn change, with two days of
history, so the 25-hour day is all there."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from foxden.client.convenience import day_span, history_range, iter_devices, iter_plants
from tests.telemetry.test_local_days import ZONES
from tests.ui.fleet import DemoServer, console_errors, require_browser, start_browser, start_demo

require_browser()

AFTER_AUTUMN = datetime(2026, 10, 26, 12, 0, tzinfo=UTC)
"""Noon on Monday 26 October 2026: London's Sunday before it had 25 hours."""
WAIT_S = 20


@pytest.fixture(scope="module")
def autumn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    server = start_demo(tmp_path_factory.mktemp("autumn"), backfill_days=2.0, start=AFTER_AUTUMN)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver = start_browser(1280, 1000)
    yield driver
    driver.quit()


def _ms(t: datetime) -> int:
    return round(t.timestamp() * 1000)


def _figure(driver: Any, css: str) -> dict[str, Any]:
    return dict(
        driver.execute_script(
            "const f = document.querySelector(arguments[0]);"
            "const c = f && f.querySelector('figcaption');"
            "if (!c) return {caption: ''};"
            "return {caption: c.textContent,"
            " hours: f.dataset.hours, last: f.dataset.lastHour,"
            " ticks: [...f.querySelectorAll('text.tick')].map((t) => t.textContent),"
            " paths: Object.fromEntries([...f.querySelectorAll('path')].map("
            "   (p) => [p.textContent, p.getAttribute('d')]))};",
            css,
        )
    )


def test_a_25_hour_day_is_charted_to_its_end(browser: Any, autumn: DemoServer) -> None:
    client = autumn.client()
    london = {p.stationID for p in iter_plants(client) if p.ianaTimezone == "Europe/London"}
    sn = next(d.deviceSN for d in iter_devices(client) if d.stationID in london and d.hasBattery)
    browser.get(f"{autumn.url}/devices/{sn}")
    wait = WebDriverWait(browser, WAIT_S)
    wait.until(lambda d: "2026-10-26" in _figure(d, "#chart-power")["caption"])
    browser.find_element(By.CSS_SELECTOR, "[data-chart=day] [data-step='-1']").click()
    wait.until(lambda d: "2026-10-25" in _figure(d, "#chart-power")["caption"])
    wait.until(lambda d: "2026-10-25" in _figure(d, "#chart-soc")["caption"])
    power = _figure(browser, "#chart-power")
    assert power["caption"] == "Power flows on 2026-10-25 (25 hours: the clocks change) (kW)"
    assert power["hours"] == "25"
    # the ticks every three hours read the wall clock, which went back an hour at 02:00 BST
    assert power["ticks"][-9:] == [
        "00:00", "02:00", "05:00", "08:00", "11:00", "14:00", "17:00", "20:00", "23:00"
    ]  # fmt: skip
    # every sample of the day is drawn, the last hour's too (history of [begin, end])
    begin, end = day_span("Europe/London", 2026, 10, 25)
    assert _ms(end) - _ms(begin) == 25 * 3_600_000
    pv = history_range(client, sn, _ms(begin), _ms(end), ["pvPower", "SoC"])
    by_name = {v.variable: v.data for v in pv.datas}
    drawn = len(re.findall("[ML]", power["paths"]["PV"]))
    assert drawn == len(by_name["pvPower"]) > 25 * 12 - 2  # a sample about every 5 minutes
    assert 24.75 < float(power["last"]) <= 25.0  # before the fix nothing passed hour 24
    soc = _figure(browser, "#chart-soc")
    assert soc["hours"] == "25" and 24.75 < float(soc["last"]) <= 25.0
    assert len(re.findall("[ML]", soc["paths"]["SoC"])) == len(by_name["SoC"])
    assert console_errors(browser) == []


SCAN = """
const [zone, y, m, d] = arguments;
const f = new Intl.DateTimeFormat("en-CA",
  { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
const want = `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
const around = Date.UTC(y, m - 1, d), quarter = 900000;
let first = null, last = null;
for (let t = around - 30 * 3600000; t < around + 54 * 3600000; t += quarter) {
  if (f.format(new Date(t)) === want) { if (first === null) first = t; last = t; }
}
const day = fox.localDay(zone, y, m, d);
return { scan: [first, last + quarter], day: [day.begin, day.end, day.hours],
         windows: fox.historyWindows(day.begin, day.end) };
"""
"""The page's ``localDay`` and, found independently by looking at every quarter hour with the
browser's own zone data, the first instant of the day and of the next."""


def _page_day(driver: Any, url: str, zone: str, day: date) -> dict[str, Any]:
    if driver.execute_script("return typeof fox") != "object":
        driver.get(url + "/")
    return dict(driver.execute_script(SCAN, zone, day.year, day.month, day.day))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zone=st.sampled_from(ZONES), day=st.dates(date(2020, 1, 1), date(2037, 12, 31)))
@example(zone="America/Santiago", day=date(2026, 9, 6))
@example(zone="America/Havana", day=date(2026, 11, 1))
@example(zone="Australia/Lord_Howe", day=date(2026, 4, 5))
def test_the_pages_local_day_covers_exactly_the_day(
    browser: Any, autumn: DemoServer, zone: str, day: date
) -> None:
    """Against the browser's own zone data (which may be another tz release than Python's)."""
    got = _page_day(browser, autumn.url, zone, day)
    begin, end, hours = got["day"]
    assert [begin, end] == got["scan"] and hours == (end - begin) / 3_600_000
    windows = got["windows"]
    assert windows[0][0] == begin and windows[-1][1] == end
    assert all(0 <= b - a <= 86_400_000 for a, b in windows)
    assert all(b + 1 == a for (_, b), (a, _) in itertools.pairwise(windows))
    assert len(windows) == (1 if end - begin <= 86_400_000 else 2)


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/London", date(2026, 10, 25), 25),
        ("Europe/London", date(2026, 3, 29), 23),
        ("Europe/London", date(2026, 6, 15), 24),
        ("Australia/Sydney", date(2026, 4, 5), 25),
        ("Australia/Lord_Howe", date(2026, 10, 4), 23.5),
        ("America/Santiago", date(2026, 9, 6), 23),  # midnight skipped
        ("America/Havana", date(2026, 11, 1), 25),  # midnight repeated
    ],
)
def test_the_pages_local_day_is_pythons(
    browser: Any, autumn: DemoServer, zone: str, day: date, hours: float
) -> None:
    got = _page_day(browser, autumn.url, zone, day)
    begin, end = day_span(zone, day.year, day.month, day.day)
    assert got["day"] == [_ms(begin), _ms(end), hours]
