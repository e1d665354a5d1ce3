"""The console's static files: vendored files are the ones VENDOR.md records, and no page
or stylesheet loads a script, style or font from outside the app."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from tests.web.people import make_account, signed_in
from tests.web.tasks import open_task
from web.pages import HERE

VENDOR = HERE / "static" / "vendor"
# Where a page or stylesheet names something to load: script and link tags, CSS url() and
# @import. Each must be a path of this app (or inline data), never another host.
_LOADS = re.compile(
    r"""<(?:script|link|img|iframe|source)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']"""
    r"""|url\(\s*["']?([^"')]+)|@import\s+["']([^"']+)""",
    re.IGNORECASE,
)


def _vendored() -> dict[str, str]:
    """file → sha256, from VENDOR.md's table."""
    rows = re.findall(
        r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", (VENDOR / "VENDOR.md").read_text(), re.M
    )
    return dict(rows)


def test_vendored_files_are_the_ones_recorded():
    recorded = _vendored()
    present = {path.name for path in VENDOR.iterdir() if path.name != "VENDOR.md"}
    assert (
        set(recorded)
        == present
        == {"htmx.min.js", "htmx.LICENSE", "chart.umd.min.js", "chart.js.LICENSE"}
    )
    for name, digest in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert "htmx.org@2.0.11" in (VENDOR / "VENDOR.md").read_text()
    assert b"Zero-Clause BSD" in (VENDOR / "htmx.LICENSE").read_bytes()
    # The htmx the version says, not another.
    assert b'version:"2.0.11"' in (VENDOR / "htmx.min.js").read_bytes().replace(b" ", b"")
    assert "chart.js@4.6.1" in (VENDOR / "VENDOR.md").read_text()
    assert b"The MIT License" in (VENDOR / "chart.js.LICENSE").read_bytes()
    assert b"Chart.js v4.6.1" in (VENDOR / "chart.umd.min.js").read_bytes()[:300]


def _outside(text: str) -> list[str]:
    found = ["".join(groups) for groups in _LOADS.findall(text)]
    return [
        target
        for target in found
        if not (target.startswith("/") and not target.startswith("//"))
        and not target.startswith("data:")
    ]


def test_no_template_or_stylesheet_loads_anything_from_elsewhere():
    files = [*Path(HERE / "templates").glob("*.html"), *Path(HERE / "static").glob("*.css")]
    assert len(files) >= 8
    for path in files:
        assert _outside(path.read_text()) == [], path.name
    assert _outside('<script src="https://cdn.example/x.js"></script>') != []  # the check bites
    assert _outside("body { background: url(//fonts.example/a.woff2) }") != []


async def test_every_page_served_loads_only_from_the_app(console, database, store):
    email = make_account(database, store, "manager")
    task = open_task(database, store)
    async with console() as http:
        pages = [await http.get("/console/sign-in")]
        await signed_in(http, email)
        for path in ("/console/inbox", "/console/inbox/tasks", f"/console/tasks/{task}"):
            pages.append(await http.get(path))
        css = await http.get("/console/static/console.css")
        js = await http.get("/console/static/vendor/htmx.min.js")
    assert css.status_code == js.status_code == 200
    assert js.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    for page in pages:
        assert page.status_code == 200
        assert _outside(page.text) == [], page.url
        assert (
            '<script src="/console/static/vendor/htmx.min.js"' in page.text or "hx-get" in page.text
        )
    assert _outside(css.text) == []


async def test_pages_tell_the_browser_to_load_nothing_from_elsewhere(console):
    async with console() as http:
        page = await http.get("/console/sign-in")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["referrer-policy"] == "same-origin"
