"""The likely duplicates in a real browser at phone width: listed with reasons, merged."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from core.vocabulary import ApiRole
from db.models import Lead
from sequences.vocabulary import StaffRole
from tests.browser.test_console import PHONE, _account, _sign_in, _store


def test_a_likely_duplicate_is_merged_from_the_phone(live_stack, offline_page, shoot):
    page, _seen = offline_page
    page.set_viewport_size(PHONE)
    store, people = _store(live_stack.database)
    email = _account(live_stack.database, store, ApiRole.ASSOCIATE, people[StaffRole.ASSOCIATE])
    tag = uuid.uuid4().hex[:6]

    def two_of_one_person(session) -> tuple[uuid.UUID, uuid.UUID]:
        older = Lead(
            store_id=store.id,
            first_name="Tara",
            last_name="Menon",
            source="web_form",
            email=f"tara.menon.{tag}@gmail.com",
        )
        newer = Lead(
            store_id=store.id,
            first_name="Tara",
            last_name="Menon",
            source="instagram",
            email=f"taramenon.{tag}+rings@gmail.com",
            phone_e164="+919845099887",
        )
        session.add_all([older, newer])
        session.flush()
        return older.id, newer.id  # fmt: skip

    keep, twin = live_stack.database.run(two_of_one_person)
    page.goto(f"{live_stack.url}/console/sign-in?next=/console/leads/duplicates")
    _sign_in(page, email)
    expect(page.get_by_role("heading", name="The same person?")).to_be_visible()
    pair = page.locator("li.duplicate", has=page.locator(f"a[href='/console/leads/{twin}']"))
    expect(pair).to_contain_text("Same mailbox")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "duplicates")

    pair.get_by_role("button", name="Merge into Tara Menon").click()
    expect(page.get_by_role("heading", name="Tara Menon")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("Merged with a duplicate lead")
    assert live_stack.database.read(lambda s: s.get(Lead, twin)) is None
    merged = live_stack.database.read(lambda s: s.get_one(Lead, keep))
    assert merged.phone_e164 == "+919845099887"  # it gained the number it lacked
