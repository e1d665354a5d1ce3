"""Browser tests: Playwright driving Debian's Chromium against Facet served over real HTTP.

- The browser is the system one (`apt-get install chromium`), never a downloaded build. Where it
  is missing the tests skip, except under CI (`CI` set, as `.ci/run` does), where they fail.
- `live_server`: the app under uvicorn on a free loopback port, in a thread of its own, on a
  migrated SQLite database of its own (`live_database`). Pages reach the domain room through the
  same code on PostgreSQL; the database tests cover both.
- `live_stack`: the whole embedded stack for pages that start and signal workflows: a
  Temporal dev server, Facet's worker and the app under uvicorn, on one event loop in a
  thread of their own (the Temporal client stays on the loop it was made on). `run(coro)`
  runs a coroutine there from a (sync) test.
- `offline_page`: a page that aborts and records every request to anything but the local
  server, and every console error; a test that leaves either behind fails.
- `shoot(page, name)`: screenshots for the README, at 1280×800 and 390×844, into
  docs/screenshots/.
- Browser tests are plain (sync) functions: Playwright's sync API runs its own event loop.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.sync_api import ConsoleMessage, Page, Route
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import issue_api_key
from core.settings import PROJECT_ROOT, Settings
from core.vocabulary import ApiRole
from db.migrate import migrate
from db.session import Database
from providers import registry
from tests.conftest import SCRIPTS, STARTUP, namespace_ready, test_settings
from worker import build_worker

T = TypeVar("T")
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}

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
class Stack:
    """The embedded stack a browser test talks to."""

    url: str
    database: Database
    client: Client
    task_queue: str
    admin_key: str
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run `coroutine` on the stack's loop (where its Temporal client lives)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


@pytest.fixture(scope="session")
def live_stack(live_database: Database) -> Iterator[Stack]:
    """Temporal's dev server, Facet's worker and the app, on http://127.0.0.1:<port>."""
    port = _free_port()
    task_queue = "facet-browser"
    url = f"http://127.0.0.1:{port}"
    settings = test_settings(
        str(live_database.engine.url), task_queue, public_base_url=url, create_schedules=False
    )
    started: dict[str, Any] = {}
    ready = threading.Event()

    async def serve() -> None:
        env = await WorkflowEnvironment.start_local(
            data_converter=pydantic_data_converter,
            dev_server_existing_path=str(SCRIPTS / "temporal"),
            dev_server_startup_timeout=STARTUP,
        )
        await namespace_ready(env.client)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, database=live_database, temporal=env.client),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                lifespan="on",
            )
        )
        started.update(server=server, client=env.client, loop=asyncio.get_running_loop())
        with ThreadPoolExecutor(max_workers=16) as executor:
            worker = build_worker(
                env.client,
                task_queue=task_queue,
                database=live_database,
                providers=registry.outbox_only(),
                executor=executor,
                settings=settings,
            )
            async with worker:
                serving = asyncio.create_task(server.serve())
                for _ in range(600):  # uvicorn says it has started by a flag, not an event
                    if server.started or serving.done():
                        break
                    await asyncio.sleep(0.05)
                ready.set()
                await serving
        await env.shutdown()

    def main() -> None:
        try:
            asyncio.run(serve())
        except BaseException as error:
            started["error"] = error
            ready.set()

    thread = threading.Thread(target=main, name="live-stack", daemon=True)
    thread.start()
    if not ready.wait(STARTUP.total_seconds() + 30) or "error" in started:
        pytest.fail(f"the live stack did not start: {started.get('error')}")
    admin_key = issue_api_key(live_database, name="browser-admin", role=ApiRole.ADMIN)
    yield Stack(url, live_database, started["client"], task_queue, admin_key, started["loop"])
    started["server"].should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def shoot() -> Any:
    """`shoot(page, "inbox")` saves docs/screenshots/inbox-desktop.png and inbox-phone.png
    (the viewport; `full_page=True` for the whole page at that width)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str, *, full_page: bool = False) -> None:
        original = page.viewport_size
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(150)  # let the layout settle at the new width
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=full_page)
        if original:
            page.set_viewport_size(original)

    return take


@dataclass
class Offline:
    """What a page tried to fetch from elsewhere, and what its console complained about."""

    outside: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def answered(self, status: int) -> None:
        """The test asked for a page the server refuses on purpose (a wrong password, another
        role's page): Chromium logs that status as an error; take exactly those entries out."""
        logged = f"Failed to load resource: the server responded with a status of {status} "
        assert any(e.startswith(logged) for e in self.console_errors), self.console_errors
        self.console_errors = [e for e in self.console_errors if not e.startswith(logged)]


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
