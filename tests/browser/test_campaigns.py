"""Campaigns in a real browser: marketing creates a Diwali campaign for a branch, reads the
audience count and the first message rendered for one of its leads, starts it and watches
it enroll everyone; an associate is refused the page. Shot at 1280×800 and 390×844."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import expect

from core.vocabulary import ApiRole
from domain import accounts
from sequences.vocabulary import Channel, StaffRole
from tests.browser.test_console import PASSWORD, SECRET, _account, _invite, _sign_in, _store
from tests.browser.test_library import _fits_a_phone
from tests.factories import make_lead


def test_marketing_previews_and_starts_a_campaign_and_sees_its_progress(
    live_stack, offline_page, shoot
):
    page, _seen = offline_page
    store, _people = _store(live_stack.database)
    for _ in range(5):
        make_lead(live_stack.database, store, consent=[Channel.EMAIL])
    make_lead(live_stack.database, store, consent=[])  # no consent: not in the audience
    email = "anita.campaigns@facet-demo.example"
    invitation = _invite(live_stack.database, store, ApiRole.MARKETING, name="Anita", email=email)
    live_stack.database.run(
        lambda s: accounts.set_first_password(
            s, SECRET, invitation.token, PASSWORD, datetime.now(UTC)
        )
    )
    page.goto(f"{live_stack.url}/console/sign-in?next=/console/campaigns")
    _sign_in(page, email)
    expect(page.get_by_role("heading", name="Campaigns", exact=True)).to_be_visible()

    page.get_by_label("Name").fill("Diwali gifting")
    page.get_by_label("Sequence").select_option("festive_diwali")
    page.get_by_label("Whatsapp").uncheck()
    page.get_by_label("Sms").uncheck()
    _fits_a_phone(page)
    shoot(page, "campaigns", full_page=True)
    page.get_by_role("button", name="Create and preview").click()

    expect(page.get_by_role("heading", name="Diwali gifting")).to_be_visible()
    expect(page.locator("#audience-count")).to_have_text("5")
    expect(page.get_by_text("The first message, gift_guide, by email")).to_be_visible()
    expect(page.frame_locator("iframe.email").locator("body")).to_contain_text("Diwali")
    expect(page.locator("#sample-plan li.send")).to_have_count(4)
    _fits_a_phone(page)
    shoot(page, "campaign-preview", full_page=True)

    page.get_by_role("button", name="Start the campaign").click()
    for _ in range(40):
        if page.locator("#campaign-status").inner_text() == "completed":
            break
        page.wait_for_timeout(250)
        page.reload()
    expect(page.locator("#campaign-status")).to_have_text("completed")
    expect(page.locator("#enrolled")).to_have_text("5 of 5")
    expect(page.get_by_role("button", name="Cancel: send nothing more")).to_be_visible()
    _fits_a_phone(page)
    shoot(page, "campaign-progress", full_page=True)


def test_an_associate_may_not_open_campaigns(live_stack, offline_page):
    page, seen = offline_page
    store, people = _store(live_stack.database)
    email = _account(live_stack.database, store, ApiRole.ASSOCIATE, people[StaffRole.ASSOCIATE])
    page.goto(f"{live_stack.url}/console/sign-in?next=/console/campaigns")
    _sign_in(page, email)
    expect(page.get_by_text("Your role does not allow you to run campaigns")).to_be_visible()
    seen.answered(403)
    expect(page.get_by_role("link", name="Campaigns")).to_have_count(0)
