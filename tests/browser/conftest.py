"""Browser tests: Playwright driving Debian's Chromium against Facet served over real HTTP.

- The browser is the system one (`apt-get install chromium`), never a downloaded build. Where it
  is missing the tests skip, except under CI (`CI` set, as `.ci/run` does), where they fail.
- `live_server`: the app under uvicorn on a free loopback port, in a thread of its own, on a
  migrated SQLite database of its own (`live_database`). Pages reach the domain room through the
  same code on PostgreSQL; the database tests cover both.
- `offline_page`: a page that aborts and records every request to anything but the local
  server, and every console error; a test that leaves either behind fails.
- Browser tests are plain (sync) functions: Playwright's sync API runs its own event loop.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.sync_api import ConsoleMessage, Page, Route

from api.app import create_app
from core.settings import Settings
from db.migrate import migrate
from db.session import Database

CHROMIUM = os.environ.get("FACET_CHROMIUM", "/usr/bin/chromium")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last. Playwright's sync API keeps an event loop running in the main
    thread until the session ends, and an async test after it could not start its own
    ("Runner.run() cannot be called from a running event loop")."""
    items.sort(key=lambda item: item.path.parent.name == "browser")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium; the build Playwright would download is not on these machines."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
        pytest.skip(f"no system Chromium at {CHROMIUM} (apt-get install -y chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def live_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'facet.db'}"
    migrate(url)
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def live_server(live_database: Database) -> Iterator[str]:
    """Facet's app on http://127.0.0.1:<port>; yields the base URL."""
    port = _free_port()
    settings = Settings(database_url=str(live_database.engine.url))
    app = create_app(settings, database=live_database)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@dataclass
class Offline:
    """What a page tried to fetch from elsewhere, and what its console complained about."""

    outside: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


@pytest.fixture
def offline_page(page: Page) -> Iterator[tuple[Page, Offline]]:
    """A page that may talk only to the local server and must log no console error."""
    seen = Offline()

    def only_local(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in {"data", "blob"} or urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            seen.outside.append(url)
            route.abort()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.console_errors.append(message.text)

    page.route("**/*", only_local)
    page.on("console", on_console)
    yield page, seen
    assert seen.outside == [], f"the page asked for something outside the app: {seen.outside}"
    assert seen.console_errors == [], f"the page logged errors: {seen.console_errors}"
