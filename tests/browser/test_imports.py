"""CSV import in a real browser: an admin dry-runs a catalogue file with mistakes, reads the
rows to fix, imports it, and imports it again to no change. Screenshots of the report."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from playwright.sync_api import expect
from sqlalchemy import select

from core.vocabulary import ApiRole
from db.models import Product
from domain import accounts
from tests.conftest import new_store

PASSWORD = "rings and things 2026"
SECRET = "test-secret-that-is-not-a-placeholder"
CATALOGUE = (
    "sku,title,category,metal,purity,weight_g,stones,price,currency,stock\n"
    "R-{tag}-1,Solitaire ring,ring,platinum,PT950,4.2,diamond:1.0,185000,INR,2\n"
    "B-{tag}-1,Plain band,band,gold,18K,3.1,,22000,INR,5\n"
    "E-{tag}-1,Diamond studs,earrings,gold,18K,two grams,diamond:0.5,45000,INR,1\n"
    "N-{tag}-1,,necklace,gold,22K,18,,95000,INR,-1\n"
)


def test_an_admin_dry_runs_then_imports_a_catalogue_and_a_second_run_changes_nothing(
    live_server, live_database, offline_page, shoot
):
    page, seen = offline_page
    store = live_database.run(new_store)
    email = f"owner.{uuid.uuid4().hex[:8]}@example.com"

    def owner(session) -> None:
        now = datetime.now(UTC)
        invitation = accounts.invite(
            session, SECRET, email=email, role=ApiRole.ADMIN, now=now, name="Anita Kapoor",
            store_id=store.id,
        )  # fmt: skip
        accounts.set_first_password(session, SECRET, invitation.token, PASSWORD, now)

    live_database.run(owner)
    tag = uuid.uuid4().hex[:6]
    catalogue = CATALOGUE.format(tag=tag).encode()
    page.goto(f"{live_server}/console/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    def upload(*, dry_run: bool) -> None:
        page.get_by_role("link", name="Imports", exact=True).click()
        page.get_by_label("The file holds").select_option("products")
        page.get_by_label("Dry run").set_checked(dry_run)
        page.get_by_label("CSV file").set_input_files(
            {"name": "catalogue.csv", "mimeType": "text/csv", "buffer": catalogue}
        )
        page.get_by_role("button", name="Import").click()

    upload(dry_run=True)
    status = page.locator("#import-progress .status")
    expect(status).to_contain_text("Checked: 4 rows read, 2 would be imported")
    problems = page.locator(".row-errors tbody tr")
    expect(problems).to_have_count(3)
    expect(problems.nth(0)).to_contain_text("4weight_ga weight in grams")
    expect(problems.nth(1)).to_contain_text("5titlea value (it is required)")
    expect(problems.nth(2)).to_contain_text("5stocka whole number of at least 0")
    assert (
        live_database.read(
            lambda s: s.scalars(select(Product).where(Product.store_id == store.id)).all()
        )
        == []
    )
    shoot(page, "import-dry-run", full_page=True)

    upload(dry_run=False)
    expect(status).to_contain_text("Done: 4 rows read")
    counts = page.locator(".counts tbody td")
    expect(counts).to_have_text(["4", "2", "0", "0", "0", "2"])
    shoot(page, "import-report", full_page=True)

    upload(dry_run=False)
    expect(status).to_contain_text("Done: 4 rows read")
    expect(counts).to_have_text(["4", "0", "0", "2", "0", "2"])
    skus = live_database.read(
        lambda s: sorted(
            p.sku for p in s.scalars(select(Product).where(Product.store_id == store.id))
        )
    )
    assert skus == [f"B-{tag}-1", f"R-{tag}-1"]
    assert not seen.outside and not seen.console_errors
