"""A live dashboard in a thread of the test process, and Debian's Chromium driven by Playwright.

The server is Django's threaded WSGI server with the static files handler, on a free port of
127.0.0.1; it reads the session's database. Screenshots go to tests/browser/screenshots/.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PASSWORD = "browser-pw-1234"
CHROMIUM = "/usr/bin/chromium"


class LiveServer:
    """Django served from a thread: ``url`` is its base address."""

    def __init__(self) -> None:
        from django.contrib.staticfiles.handlers import StaticFilesHandler
        from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
        from django.core.wsgi import get_wsgi_application

        class QuietHandler(WSGIRequestHandler):
            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=True)
        self.httpd.set_app(StaticFilesHandler(get_wsgi_application()))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def live_server():
    server = LiveServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module.

    Playwright's sync API keeps an event loop running in this thread while it is open, so it is
    closed after each module (later tests may call ``asyncio.run``), and Django is told that the
    ORM calls the tests make between browser steps are plain synchronous calls.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            yield browser
            browser.close()
    finally:
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture(scope="session")
def browser_user():
    from django.contrib.auth import get_user_model

    username = f"browser-{uuid.uuid4().hex[:8]}"
    from runs.roles import set_role

    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    set_role(user, "admin")  # the browser tests use every page and action
    return username


def sign_in(page, live_server, username: str) -> None:
    """Sign in through the login form."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")


@pytest.fixture
def page(browser, live_server, browser_user):
    """A signed-in page at 1280 px wide."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, live_server, browser_user)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as tests/browser/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
