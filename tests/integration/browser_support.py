"""A real headless Chromium (Debian's ``chromium`` and ``chromium-driver``; nothing is
downloaded) driving the console of a service served by uvicorn on loopback, in this process so
a test can move the service's clock and read its Content-Security-Policy reports."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from devtools.loopback import free_port
from tests.conftest import NOW
from tests.integration.service_support import idle, make_tokens, wait_for
from tierzero.clock import ManualClock
from tierzero.service.app import Service, create_app
from tierzero.settings import Settings
from tierzero.settings.service import ServiceConfig

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
needs_browser = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
    "chromium-driver; .ci/run installs them)",
)


@dataclass
class Live:
    """A served service: its base URL, the service object, the tokens by role, the clock."""

    base: str
    service: Service
    tokens: dict[str, str]
    clock: ManualClock

    def push(self, body: bytes) -> None:
        answer = httpx.post(
            f"{self.base}/api/alerts",
            content=body,
            headers={"Authorization": f"Bearer {self.tokens['ingest']}"},
            timeout=60,
        )
        assert answer.status_code == 202, answer.text

    def settle(self, timeout: float = 120.0) -> None:
        wait_for(lambda: idle(self.service.store()), timeout)


@contextmanager
def live_service(db: Path, clock: ManualClock | None = None) -> Iterator[Live]:
    """``tierzero serve``'s application on a free loopback port, stopped on exit."""
    clock = clock or ManualClock(NOW)
    tokens = make_tokens(db)
    settings = replace(
        Settings.load(),
        service=ServiceConfig(triage_interval_seconds=0.05, timer_interval_seconds=3600),
    )
    service = Service(settings, db, clock=clock, model="off")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: _answers(base), 60)
    try:
        yield Live(base, service, tokens, clock)
    finally:
        server.should_exit = True
        thread.join(60)


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def chromium(width: int = 1280, height: int = 900, phone: bool = False) -> Iterator[Any]:
    """A headless Chromium through its own driver (Selenium Manager is never asked to
    download anything); ``phone``: emulating a phone's screen of ``width`` x ``height`` CSS
    pixels (a desktop window is never narrower than 500)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if phone:
        metrics = {"width": width, "height": height, "pixelRatio": 3.0, "touch": True}
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": metrics})
    driver = webdriver.Chrome(service=DriverService(str(DRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(driver: Any, live: Live, role: str) -> None:
    """Sign in through the form, as a person would."""
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{live.base}/sign-in")
    driver.find_element(By.ID, "token").send_keys(live.tokens[role])
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    until(lambda: driver.current_url.endswith("/queue"), f"{role} signed in")


def until(condition: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s: {what}")
        time.sleep(0.1)


def submit_and_wait(driver: Any, button: Any) -> None:
    """Click a form's button and wait for the page the post redirects to (the old page's
    note must never pass for the new one's)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    old = driver.find_element(By.TAG_NAME, "html")
    button.click()

    def reloaded() -> bool:
        try:
            old.tag_name  # noqa: B018 (touching it raises once the page is gone)
        except StaleElementReferenceException:
            return driver.execute_script("return document.readyState") == "complete"
        return False

    until(reloaded, "the next page")
