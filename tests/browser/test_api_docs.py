"""The API's own documentation renders in a browser with nothing fetched from elsewhere.

`offline_page` aborts (and fails the test on) any request that leaves the local server, and
fails on any console error; these tests then ask that the pages actually drew the API's
operations, not just an empty shell.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Offline

WAIT_MS = 30_000  # the bundles are parsed on a machine the suite keeps busy


def test_swagger_ui_renders_every_operation_offline(
    live_server: str, offline_page: tuple[Page, Offline]
) -> None:
    page, _ = offline_page
    page.goto(f"{live_server}/docs")
    capture = page.locator(".opblock-post", has=page.locator("[data-path='/v1/leads']"))
    expect(capture.first).to_be_visible(timeout=WAIT_MS)
    expect(capture.first).to_contain_text("Capture Lead")
    expect(page.locator(".opblock")).to_have_count(_operation_count(page, live_server))
    # The keys are security schemes: Swagger UI offers them under "Authorize".
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()


def test_redoc_renders_the_operations_offline(
    live_server: str, offline_page: tuple[Page, Offline]
) -> None:
    page, _ = offline_page
    page.goto(f"{live_server}/redoc")
    heading = page.get_by_role("heading", name="Capture Lead")
    expect(heading).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("bearerKey").first).to_be_attached()


def _operation_count(page: Page, live_server: str) -> int:
    spec = page.request.get(f"{live_server}/openapi.json").json()
    return sum(len(methods) for methods in spec["paths"].values())
