"""Screenshots of the dashboard's pages for the README, from the demo fleet in a headless
Chromium (the browser tests' server and browser: ``tests/ui/fleet.py``).

Usage::

    python tools/screenshots.py [OUTDIR]

OUTDIR defaults to ``docs/screenshots``. Needs Debian's ``chromium`` and ``chromium-driver``
and the ``dev`` extra (selenium). Writes overview.png, device.png and admin.png (desktop,
light) and device-phone-dark.png (a 390 px wide phone preferring dark).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from tests.ui.fleet import (  # noqa: E402
    ADMIN_TOKEN,
    console_errors,
    emulate,
    start_browser,
    start_demo,
)


def settle(driver: Any, css: str) -> None:
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, css))
    time.sleep(0.5)  # the page's other requests land


def full_page(driver: Any, out: Path, width: int, dark: bool, mobile: bool = False) -> None:
    """The whole page, however long, as one PNG."""
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    emulate(driver, width, height, dark, mobile)
    time.sleep(0.3)
    driver.save_screenshot(str(out))
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", nargs="?", default=str(REPO_ROOT / "docs" / "screenshots"))
    out = Path(parser.parse_args(argv).outdir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data:
        demo = start_demo(Path(data) / "demo", backfill_days=20)
        driver = start_browser(1280, 900)
        try:
            kh8 = next(sn for sn in demo.serials() if sn.startswith("60KE8"))
            hybrid = next(sn for sn in demo.serials() if sn.startswith("66BH5"))
            emulate(driver, 1280, 900, dark=False)
            driver.get(demo.url + "/")
            settle(driver, "#plants .inverter")
            full_page(driver, out / "overview.png", 1280, dark=False)

            emulate(driver, 1280, 900, dark=False)
            driver.get(f"{demo.url}/devices/{hybrid}")
            settle(driver, "#chart-year svg")
            full_page(driver, out / "device.png", 1280, dark=False)

            emulate(driver, 390, 844, dark=True, mobile=True)
            driver.get(f"{demo.url}/devices/{hybrid}")
            settle(driver, "#chart-year svg")
            full_page(driver, out / "device-phone-dark.png", 390, dark=True, mobile=True)

            emulate(driver, 1280, 900, dark=False)
            driver.get(demo.url + "/admin")
            settle(driver, "#signin")
            driver.find_element(By.NAME, "token").send_keys(ADMIN_TOKEN)
            driver.find_element(By.NAME, "token").submit()
            settle(driver, f"#fault-form option[value='{kh8}']")
            form = driver.find_element(By.ID, "fault-form")
            Select(form.find_element(By.NAME, "sn")).select_by_value(kh8)
            Select(form.find_element(By.NAME, "code")).select_by_value("7")
            form.find_element(By.TAG_NAME, "button").click()
            settle(driver, "#fault-list table")
            with demo.client() as client:  # a few calls for the journal
                client.real_time(kh8)
                client.generation(kh8)
            settle(driver, "#journal table")
            time.sleep(3)
            full_page(driver, out / "admin.png", 1280, dark=False)
            errors = console_errors(driver)
            if errors:
                print("console errors:", *errors, sep="\n  ", file=sys.stderr)
                return 1
        finally:
            driver.quit()
            demo.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
