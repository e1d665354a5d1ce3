"""The sequence library in a real browser: marketing publishes a version, edits it into a
second one with a YAML error and a mistake the sequence language refuses, sees each beside its
line, fixes them and publishes; then reads the diff, the preview and the messages. Each page
is shot at 1280×800 and 390×844.

Runs on `offline_page`: a request to anything but the local server, or a console error, fails
it. The sequence has a key of its own and no segment, so no capture enrolls in it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import Page, ViewportSize, expect

from core.vocabulary import ApiRole
from domain import accounts
from tests.browser.test_console import PASSWORD, SECRET, _invite, _sign_in, _store
from tests.sequences.samples import trunk_show

PHONE: ViewportSize = {"width": 390, "height": 844}
TRUNK_SHOW = trunk_show("spring_trunk_show")


def _line_of(text: str, words: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if words in line)


def _fits_a_phone(page: Page) -> None:
    """Nothing is cut off or scrolls sideways at 390 px."""
    original = page.viewport_size
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    if original:
        page.set_viewport_size(original)


def test_marketing_publishes_a_version_after_fixing_yaml_errors(live_stack, offline_page, shoot):
    page, seen = offline_page
    store, _people = _store(live_stack.database)
    email = "anita.library@facet-demo.example"  # one per (fresh) live database
    invitation = _invite(live_stack.database, store, ApiRole.MARKETING, name="Anita", email=email)
    live_stack.database.run(
        lambda s: accounts.set_first_password(
            s, SECRET, invitation.token, PASSWORD, datetime.now(UTC)
        )
    )
    page.goto(f"{live_stack.url}/console/sign-in?next=/console/sequences")
    _sign_in(page, email)
    expect(page.get_by_role("heading", name="Sequences")).to_be_visible()
    expect(page.get_by_text("engagement_ring", exact=True)).to_be_visible()
    _fits_a_phone(page)
    shoot(page, "sequences")

    # Version 1, pasted.
    page.get_by_role("link", name="Publish a version").click()
    page.get_by_role("textbox", name="YAML").fill(TRUNK_SHOW)
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Version 1 is published")).to_be_visible()

    # Version 2, edited from version 1 with an unclosed bracket: the problem is beside the
    # line where YAML gave up, and the line where the bracket opened says so.
    page.get_by_role("link", name="Edit as a new version").click()
    editor = page.get_by_role("textbox", name="YAML")
    first = editor.input_value()
    assert "key: spring_trunk_show" in first and "days: 2" in first
    broken = first.replace("template: engagement/four_cs", "template: [engagement/four_cs")
    editor.fill(broken)
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("heading", name="This is not valid YAML")).to_be_visible()
    seen.answered(422)
    opened = page.locator(f"li[data-line='{_line_of(broken, '[engagement/four_cs')}']")
    expect(opened).to_have_class("bad")
    expect(opened).to_contain_text("While parsing a flow sequence that starts here.")
    expect(page.locator("li.bad .problem").last).to_contain_text("Expected ',' or ']'")

    # Fixed, but a wrong step: "two" days, and a role that does not exist.
    wrong = first.replace("days: 2", "days: two").replace("role: associate", "role: jeweller")
    page.get_by_role("textbox", name="YAML").fill(wrong)
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("heading", name="2 problems: nothing published.")).to_be_visible()
    seen.answered(422)
    days = page.locator(f"li[data-line='{_line_of(wrong, 'days: two')}']")
    expect(days).to_have_class("bad")
    expect(days).to_contain_text("days: two")
    expect(days.get_by_role("alert")).to_contain_text("Input should be a valid integer")
    role = page.locator(f"li[data-line='{_line_of(wrong, 'role: jeweller')}']")
    expect(role.get_by_role("alert")).to_contain_text("Input should be")
    expect(page.locator("li.bad")).to_have_count(2)
    days.scroll_into_view_if_needed()
    shoot(page, "sequence-publish-problems")

    page.get_by_role("textbox", name="YAML").fill(first.replace("days: 2", "days: 3"))
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Version 2 is published")).to_be_visible()
    expect(page.get_by_role("heading", name="Trunk show invitations")).to_be_visible()
    _fits_a_phone(page)
    shoot(page, "sequence")

    page.get_by_role("link", name="Changes").click()
    expect(page.get_by_role("heading", name="From version 1 to 2")).to_be_visible()
    expect(page.locator("tr.removed")).to_contain_text("days: 2")
    expect(page.locator("tr.added")).to_contain_text("days: 3")
    _fits_a_phone(page)
    shoot(page, "sequence-diff")

    page.get_by_role("link", name="Preview").click()
    page.get_by_label("Score").fill("55")
    page.get_by_label("Enrolled at").fill("2027-01-04T10:00")  # the lead's clock (IST)
    page.get_by_role("button", name="Preview").click()
    plan = page.locator("ol.plan li")
    expect(plan).to_have_count(3)
    expect(plan.nth(1)).to_contain_text("reminder")
    expect(plan.nth(2)).to_contain_text("Invite them in person")
    expect(plan.nth(0)).to_contain_text("Mon 04 Jan 2027, 10:00 IST")
    expect(plan.nth(1)).to_contain_text("Thu 07 Jan 2027, 10:00 IST")
    _fits_a_phone(page)
    shoot(page, "sequence-preview", full_page=True)

    page.get_by_role("link", name="Messages").click()
    expect(page.locator("article[data-channel='whatsapp']")).to_contain_text("Hi Asha")
    expect(page.locator("article[data-channel='sms']").first).to_contain_text("Reply STOP")
    email_frame = page.frame_locator("iframe.email").first
    expect(email_frame.get_by_text("Dear Asha,")).to_be_visible()
    _fits_a_phone(page)
    shoot(page, "sequence-messages")
