"""The enquiry forms in a real browser, on the whole stack: a walk-in on the store's tablet
becomes a lead with the consent wording they were shown and a welcome on their timeline; the
staff page's QR codes read back as the forms' addresses; screenshots of every form page."""

from __future__ import annotations

import re
import time
import uuid
import zlib

import zxingcpp
from playwright.sync_api import expect
from sqlalchemy import select

from core.vocabulary import ApiRole, TouchStatus
from db.models import Consent, Lead, Touch
from sequences.vocabulary import Channel, StaffRole
from tests.browser.test_console import _account, _sign_in, _store
from tests.factories import welcome_of
from tests.web.pngs import png_pixels


def _typed_phone(name: str) -> tuple[str, str]:
    """A number of this visitor's own (steady across runs), and how they type it."""
    e164 = f"+9197{zlib.crc32(name.encode()) % 10**8:08d}"
    return e164, f"{e164[3:8]} {e164[8:]}"


def _welcome(database, lead_id: uuid.UUID, seconds: float = 30) -> Touch:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        touch = welcome_of(database, lead_id)
        if touch is not None and touch.status is TouchStatus.OUTBOX:
            return touch
        time.sleep(0.1)
    raise AssertionError(f"no welcome sent to lead {lead_id} within {seconds} s")


def test_a_walk_in_on_the_tablet_becomes_a_lead_with_the_shown_consent_and_a_welcome(
    live_stack, offline_page, shoot
):
    page, seen = offline_page
    store, people = _store(live_stack.database)
    e164, typed = _typed_phone("Meena Pillai")

    page.goto(f"{live_stack.url}/f/{store.id}/tablet")
    expect(page.get_by_role("heading", name="Welcome to Facet Demo Jewellers")).to_be_visible()
    shoot(page, "capture-tablet", full_page=True)
    wording = page.locator("#consent-wording").inner_text()
    assert wording.startswith("Yes, Facet Demo Jewellers may send me news")

    # A slip first: the visitor is told, in words, what to fix; nothing is recorded.
    page.get_by_label("Phone").fill("12345")
    page.get_by_role("button", name="Send my details").click()
    expect(page.get_by_role("alert")).to_contain_text("Please tell us your name.")
    expect(page.get_by_role("alert")).to_contain_text("That phone number does not look right.")
    seen.answered(422)
    shoot(page, "capture-tablet-mistakes", full_page=True)

    page.get_by_label("Your name").fill("Meena Pillai")
    page.get_by_label("Phone").fill(typed)
    page.get_by_label("What are you looking for?").select_option("engagement")
    page.get_by_label("Your message").fill("Looking at solitaires for a proposal in spring")
    page.locator("input[name=reply_by][value=whatsapp]").check()
    page.locator("input[name=consent][value=whatsapp]").check()
    page.locator("input[name=consent][value=sms]").check()
    page.get_by_role("button", name="Send my details").click()

    # The tablet is ready for the next visitor: thanked, every field empty again.
    expect(page).to_have_url(re.compile(r"/tablet\?source=walk_in&done=1$"))
    expect(page.get_by_role("status")).to_contain_text("Thank you!")
    expect(page.get_by_label("Your name")).to_have_value("")
    expect(page.get_by_label("Phone")).to_have_value("")
    assert not page.locator("input[name=consent]:checked").count()
    shoot(page, "capture-tablet-thanks")

    lead = live_stack.database.read(
        lambda s: s.scalars(
            select(Lead).where(Lead.store_id == store.id, Lead.phone_e164 == e164)
        ).one()
    )
    assert (lead.first_name, lead.last_name, lead.source) == ("Meena", "Pillai", "walk_in")
    consents = live_stack.database.read(
        lambda s: s.scalars(select(Consent).where(Consent.lead_id == lead.id)).all()
    )
    assert {c.channel for c in consents} == {Channel.WHATSAPP, Channel.SMS}
    assert {c.evidence for c in consents} == {f'walk-in tablet: "{wording}"'}
    welcome = _welcome(live_stack.database, lead.id)
    # She never wrote on WhatsApp, so its free-form window is shut and this store has no
    # approved template: the gate falls back to SMS, and says so.
    assert (welcome.channel, welcome.fell_back_from) == (Channel.SMS, Channel.WHATSAPP)

    # The associate finds her, with the consent she gave and the welcome she was sent.
    email = _account(live_stack.database, store, ApiRole.ASSOCIATE, people[StaffRole.ASSOCIATE])
    page.goto(f"{live_stack.url}/console/sign-in?next=/console/leads/{lead.id}")
    _sign_in(page, email)
    expect(page.get_by_role("heading", name="Meena Pillai")).to_be_visible()
    expect(page.get_by_text(wording, exact=False).first).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("captured")
    expect(page.locator(".timeline")).to_contain_text("to them")  # the welcome


def test_the_enquiry_form_on_a_phone_and_the_staff_page_with_its_qr_codes(
    live_stack, offline_page, shoot
):
    page, _seen = offline_page
    store, people = _store(live_stack.database)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_stack.url}/f/{store.id}?source=instagram")
    expect(page.get_by_role("heading", name="Ask Facet Demo Jewellers")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "capture-form", full_page=True)
    _e164, typed = _typed_phone("Tara Menon")
    page.get_by_label("Your name").fill("Tara Menon")
    page.get_by_label("Phone").fill(typed)
    page.locator("input[name=email]").fill("tara.menon@example.com")
    page.locator("input[name=consent][value=email]").check()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    shoot(page, "capture-thanks")

    email = _account(live_stack.database, store, ApiRole.ASSOCIATE, people[StaffRole.MANAGER])
    page.goto(f"{live_stack.url}/console/sign-in?next=/console/capture")
    _sign_in(page, email)
    expect(page.get_by_role("heading", name="Enquiry forms")).to_be_visible()
    page.get_by_label("Source").select_option("qr")
    page.get_by_label("Campaign").fill("wedding-fair")
    page.get_by_role("button", name="Make the link").click()
    address = f"{live_stack.url}/f/{store.id}?source=qr&campaign=wedding-fair"
    expect(page.get_by_role("link", name=address)).to_be_visible()
    shoot(page, "capture-links", full_page=True)

    # The code Chromium draws from the SVG reads back as the form's exact address.
    page.goto(f"{live_stack.url}/f/{store.id}/qr.svg?source=qr&campaign=wedding-fair")
    [found] = zxingcpp.read_barcodes(png_pixels(page.locator("svg").screenshot()))
    assert found.text == address
