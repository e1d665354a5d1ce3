"""Store setup in a real browser: an admin opens a branch, adds a staff member and invites
them; the staff member signs in through the link. Screenshots of the setup pages at both
sizes. Every test runs on `offline_page` (nothing fetched from elsewhere, no console error).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.vocabulary import ApiRole
from db.models import ApiKey, Staff, Store
from domain import accounts
from sequences.vocabulary import Channel, StaffRole

PASSWORD = "rings and things 2026"
SECRET = "test-secret-that-is-not-a-placeholder"


def _owner(database) -> str:
    """An admin of every branch, with a password."""
    email = f"owner.{uuid.uuid4().hex[:8]}@example.com"
    now = datetime.now(UTC)

    def create(session) -> None:
        invitation = accounts.invite(
            session, SECRET, email=email, role=ApiRole.ADMIN, now=now, name="Anita Kapoor"
        )
        accounts.set_first_password(session, SECRET, invitation.token, PASSWORD, now)

    database.run(create)
    return email


def _sign_in(page: Page, url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/console/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_an_admin_creates_a_branch_and_a_staff_member_who_signs_in_through_the_invite(
    live_stack, offline_page, shoot
):
    page, _seen = offline_page
    branch_name = f"Facet Chennai {uuid.uuid4().hex[:4]}"
    _sign_in(page, live_stack.url, _owner(live_stack.database))
    page.get_by_role("link", name="Setup").click()
    expect(page.get_by_role("heading", name="Store setup")).to_be_visible()

    page.get_by_role("link", name="New branch").click()
    page.get_by_label("Name").fill(branch_name)
    page.get_by_label("Time zone").fill("Asia/Kolkata")
    page.get_by_label("Country").fill("IN")
    page.get_by_label("State or region").fill("TN")
    page.get_by_label("Currency").fill("INR")
    page.get_by_label("Address").fill("5 Cathedral Road, Chennai 600086")
    page.get_by_label("At most a day").fill("1")
    page.get_by_label("At most a week").fill("2")
    page.get_by_role("button", name="Open branch").click()
    expect(page.get_by_role("heading", name=branch_name)).to_be_visible()
    expect(page.locator(".quiet-hours")).to_have_text("Mon–Sun 10:00–21:00")
    store = live_stack.database.read(
        lambda s: s.scalars(select(Store).where(Store.name == branch_name)).one()
    )
    assert (store.region, store.max_marketing_per_week) == ("TN", 2)

    page.get_by_role("link", name="Add a staff member").click()
    page.get_by_label("Name").fill("Lakshmi Subramanian")
    page.get_by_label("Role").select_option("gemologist")
    page.get_by_label("Expertise").fill("certification, diamonds")
    page.get_by_label("Languages").fill("ta, en")
    page.get_by_label("Capacity").fill("8")
    page.get_by_label("Task notices by").select_option("email")
    page.get_by_label("Email", exact=True).fill("lakshmi@example.com")
    page.get_by_role("button", name="Add staff member").click()
    expect(page.get_by_role("heading", name="Lakshmi Subramanian")).to_be_visible()
    page.get_by_role("button", name="Make an invite link").click()
    link = page.locator(".invite-link").inner_text()
    assert link.startswith(f"{live_stack.url}/console/invite/")
    shoot(page, "setup-staff", full_page=True)
    member = live_stack.database.read(
        lambda s: s.scalars(select(Staff).where(Staff.store_id == store.id)).one()
    )
    assert (member.role, member.languages, member.notice_channel) == (
        StaffRole.GEMOLOGIST,
        ["ta", "en"],
        Channel.EMAIL,
    )

    page.get_by_role("button", name="Sign out").click()
    page.goto(link)
    expect(page.get_by_text("lakshmi@example.com")).to_be_visible()
    page.get_by_label("New password").fill("brilliant cut 58 facets")
    page.get_by_label("The same again").fill("brilliant cut 58 facets")
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page).to_have_url(f"{live_stack.url}/console/inbox")
    expect(page.get_by_text("Lakshmi Subramanian")).to_be_visible()
    expect(page.locator(".who .name small")).to_have_text("gemologist")
    expect(page.get_by_role("link", name="Setup")).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    _sign_in(page, live_stack.url, "lakshmi@example.com", "brilliant cut 58 facets")
    expect(page).to_have_url(f"{live_stack.url}/console/inbox")


def test_setup_pages_screenshots_and_a_key_shown_once(live_stack, offline_page, shoot):
    page, _seen = offline_page
    _sign_in(page, live_stack.url, _owner(live_stack.database))
    page.goto(f"{live_stack.url}/console/setup")
    expect(page.get_by_role("heading", name="How messages leave")).to_be_visible()
    page.get_by_label("Channel").select_option("email")
    page.get_by_label("To", exact=True).fill("owner@example.com")
    page.get_by_role("button", name="Send a test").click()
    expect(page.locator(".test-result")).to_have_text(
        "Written to the outbox: kept here, nothing left Facet."
    )
    shoot(page, "setup", full_page=True)

    page.get_by_role("link", name="New branch").click()
    shoot(page, "setup-new-branch", full_page=True)
    page.goto(f"{live_stack.url}/console/setup")
    page.locator(".rows a").first.click()
    expect(page.get_by_role("heading", name="Quiet hours")).to_be_visible()
    shoot(page, "setup-branch", full_page=True)

    page.goto(f"{live_stack.url}/console/setup/keys")
    page.get_by_label("Who or what uses it").fill("website-form")
    page.get_by_label("Role").select_option("pos")
    page.get_by_role("button", name="Make key").click()
    key = page.locator(".new-key").inner_text()
    assert re.fullmatch(r"fct_[0-9a-f]{8}_\S+", key)
    shoot(page, "setup-keys", full_page=True)
    page.goto(f"{live_stack.url}/console/setup/keys")
    expect(page.locator(".new-key")).to_have_count(0)
    row = page.locator("tr", has_text=key[:12])
    row.get_by_role("button", name=f"Revoke {key[:12]}").click()
    expect(page.locator("tr", has_text=key[:12])).to_contain_text("revoked")
    revoked = live_stack.database.read(
        lambda s: s.scalars(select(ApiKey).where(ApiKey.prefix == key[:12])).one()
    )
    assert revoked.revoked_at is not None
