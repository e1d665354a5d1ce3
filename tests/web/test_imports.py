"""CSV imports from the console: a manager uploads a file, the report lists the bad rows."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from db.models import ImportRun, Lead, Purchase
from tests.api.test_imports import _history_sales
from tests.web.people import make_account, signed_in


def _count(database, model, *conditions) -> int:
    return database.read(
        lambda s: s.scalar(select(func.count()).select_from(model).where(*conditions))
    )


async def _upload(admin, body: bytes, **fields: str) -> str:
    answer = await admin.http.post(
        "/console/imports",
        data={"csrf": admin.csrf, "kind": "sales", **fields},
        files={"file": ("sales.csv", body, "text/csv")},
    )
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


async def _report(admin, location: str) -> str:
    """The report's progress part once the import has stopped running."""
    for _ in range(400):
        html = (await admin.http.get(f"{location}/progress")).text
        if "Importing…" not in html:
            return html
        await asyncio.sleep(0.05)
    raise AssertionError("the import was still running")


def _counts(html: str) -> list[int]:
    row = re.search(r'<table class="counts">(.*?)</table>', html, re.S)
    assert row, html
    return [int(cell) for cell in re.findall(r"<td>(\d+)</td>", row.group(1))]


async def test_a_manager_dry_runs_then_imports_a_sales_file_once_from_the_console(
    console, database, store
):
    body = _history_sales(uuid.uuid4().hex[:6]).encode()
    leads_before = _count(database, Lead, Lead.store_id == store.id)
    async with console() as http:
        manager = await signed_in(http, make_account(database, store, "manager"))
        page = await http.get("/console/imports")
        assert page.status_code == 200 and "Import a file" in page.text, page.text[-1500:]

        dry = await _report(manager, await _upload(manager, body, dry_run="1"))
        assert "3 would be imported" in dry
        rows = re.findall(r"<tr><td>(\d+)</td><td><code>(\w+)</code></td>", dry)
        assert rows == [("5", "unit_price"), ("6", "sold_at"), ("7", "phone")]
        assert _count(database, Purchase, Purchase.store_id == store.id) == 0
        assert _count(database, Lead, Lead.store_id == store.id) == leads_before

        # rows read, created, updated, unchanged, marked inactive, bad rows
        real = await _report(manager, await _upload(manager, body))
        assert _counts(real) == [6, 3, 0, 0, 0, 3]
        again = await _report(manager, await _upload(manager, body))
        assert _counts(again) == [6, 0, 0, 3, 0, 3]
    assert _count(database, Purchase, Purchase.store_id == store.id) == 2


async def test_an_associate_may_not_import(console, database, store):
    async with console() as http:
        associate = await signed_in(http, make_account(database, store, "associate"))
        assert (await http.get("/console/imports")).status_code == 403
        answer = await associate.http.post(
            "/console/imports",
            data={"csrf": associate.csrf, "kind": "products"},
            files={"file": ("p.csv", b"sku,title\nR-1,Ring\n", "text/csv")},
        )
        assert answer.status_code == 403


async def test_a_file_that_is_not_utf8_is_shown_again_with_the_line_to_fix(
    console, database, store
):
    async with console() as http:
        admin = await signed_in(http, make_account(database, store, "admin"))
        answer = await admin.http.post(
            "/console/imports",
            data={"csrf": admin.csrf, "kind": "products", "store_id": str(store.id)},
            files={"file": ("p.csv", "sku,title\nR-1,Bague dorée\n".encode("cp1252"), "text/csv")},
        )
        assert answer.status_code == 422
        assert "line 2" in answer.text and "UTF-8" in answer.text


async def test_an_interrupted_import_offers_to_finish_it_with_the_same_file(
    console, database, store
):
    body = _history_sales(uuid.uuid4().hex[:6]).encode()
    async with console() as http:
        manager = await signed_in(http, make_account(database, store, "manager"))
        location = await _upload(manager, body, source="jewelmate")
        first = await _report(manager, location)
        assert _counts(first)[:2] == [6, 3]
        run_id = uuid.UUID(location.rsplit("/", 1)[1])

        def stopped_long_ago(session) -> None:
            # What a process killed mid-run leaves: its row `running`, nothing written since.
            run = session.get_one(ImportRun, run_id)
            run.status, run.finished_at = "running", None
            run.progress_at = datetime.now(UTC) - timedelta(minutes=20)

        database.run(stopped_long_ago)
        html = (await http.get(location)).text
        assert "Interrupted after 6 rows" in html
        form = re.search(r'<form[^>]*class="stack resume">(.*?)</form>', html, re.S)
        assert form, html
        hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form.group(1)))
        assert (hidden["kind"], hidden["source"], hidden["mode"]) == ("sales", "jewelmate", "delta")
        hidden.pop("csrf")
        again = await _report(manager, await _upload(manager, body, **hidden))
        assert _counts(again) == [6, 0, 0, 3, 0, 3]
    assert _count(database, Purchase, Purchase.store_id == store.id) == 2
