"""Headless Chromium from Debian, driven by selenium through Debian's chromium-driver; nothing downloaded.

`make setup` installs both packages. Selenium is given the driver's and the
browser's paths, so its manager never looks for (or fetches) either. The
browser's console log is kept, so a test can say a page loaded without errors.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Debian's `chromium` is a shell wrapper; selenium needs the binary it runs.
CHROMIUM_CANDIDATES = (Path("/usr/lib/chromium/chromium"), Path("/usr/bin/chromium"))


def chromium_binary() -> Path:
    for path in CHROMIUM_CANDIDATES:
        if path.is_file():
            return path
    found = shutil.which("chromium")
    if found is None:
        raise RuntimeError(
            "chromium is not installed; run `make setup` (Debian: apt-get install chromium chromium-driver)"
        )
    return Path(found)


def chrome(width: int = 1280, height: int = 900) -> webdriver.Chrome:
    """A headless Chromium of that window size that keeps the browser console's log."""
    if not CHROMEDRIVER.is_file():
        raise RuntimeError("chromedriver is not installed; run `make setup` (Debian: apt-get install chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium_binary())
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--disable-extensions",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--metrics-recording-only",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))


def follow(driver: webdriver.Chrome, element: WebElement, timeout: float = 30.0) -> None:
    """Click a link or a form's button and wait for the page it leads to.

    A click returns once the browser has dispatched it, not when the answer
    has loaded: read at once, `page_source` and `current_url` can still be
    the page the click left (a login form posting back to its own URL looks
    the same before and after). So mark the document being left and wait
    until the browser's document is one without the mark, fully loaded.

    The wait never touches an element of the page being left: chromedriver
    may answer a question about such an element with "Node with given id does
    not belong to the document" (an unknown error, not a stale reference;
    SeleniumHQ/selenium#15401), which is how selenium's `staleness_of` failed
    here once in CI. A script run while the page changes may fail the same
    way, so the wait asks again until its timeout.
    """
    driver.execute_script("document.healthscoreLeft = true")
    element.click()
    WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return document.healthscoreLeft !== true && document.readyState === 'complete'")
    )


def console_errors(driver: webdriver.Chrome) -> list[str]:
    """The browser console's warnings and errors since the last call (a failed load, a CSP violation, a script error)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


def full_page_png(driver: webdriver.Chrome, path: Path, width: int = 1280) -> None:
    """A screenshot of the whole page, its height measured by the browser."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, max(600, int(height)))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
