"""The console in a real browser (390×844 phones and 1280×800 desks), on the whole stack:
signing in, an associate's inbox, a task notice's link, and the pages' screenshots.

Every test runs on `offline_page`: a request to anything but the local server, or a console
error, fails it.
"""

from __future__ import annotations

import re
import time
import uuid
import zlib
from datetime import UTC, datetime

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.vocabulary import ApiRole, TaskStatus
from db.models import Event, Lead, Staff, Store, Task, Touch
from db.session import Database
from domain import accounts
from sequences.vocabulary import StaffRole
from tests.browser.conftest import Stack
from tests.conftest import new_store
from workflows.escalation import EscalationTask

PASSWORD = "rings and things 2026"
SECRET = "test-secret-that-is-not-a-placeholder"
FULL_NAMES = {
    "Priya": "Priya Nair",
    "Arjun": "Arjun Rao",
    "Meera": "Meera Iyer",
    "Rahul": "Rahul Menon",
}
PHONE = {"width": 390, "height": 844}


def _store(database: Database) -> tuple[Store, dict[StaffRole, Staff]]:
    """A branch of its own, with one person per staff role (each with an email for notices)."""

    def create(session) -> tuple[Store, dict[StaffRole, Staff]]:
        store = new_store(session)
        store.name = "Facet Demo Jewellers"
        session.flush()
        people = {
            staff.role: staff
            for staff in session.scalars(select(Staff).where(Staff.store_id == store.id))
        }
        for staff in people.values():
            staff.name = FULL_NAMES[staff.name]
            staff.email = f"{staff.name.split()[0].lower()}.{uuid.uuid4().hex[:6]}@example.com"
        return store, people

    return database.run(create)


def _invite(database: Database, store: Store, role: ApiRole, staff: Staff | None = None, **kw):
    email = kw.pop("email", None) or f"{role}.{uuid.uuid4().hex[:8]}@example.com"
    return database.run(
        lambda session: accounts.invite(
            session,
            SECRET,
            email=email,
            role=role,
            now=datetime.now(UTC),
            staff_id=staff.id if staff else None,
            store_id=store.id,
            **kw,
        )
    )


def _account(database: Database, store: Store, role: ApiRole, staff: Staff | None = None) -> str:
    invitation = _invite(database, store, role, staff)
    account = database.run(
        lambda session: accounts.set_first_password(
            session, SECRET, invitation.token, PASSWORD, datetime.now(UTC)
        )
    )
    return account.email


def _api(stack: Stack) -> httpx.Client:
    return httpx.Client(
        base_url=stack.url, headers={"Authorization": f"Bearer {stack.admin_key}"}, timeout=30
    )


def _lead_asks_for_a_visit(stack: Stack, store: Store, first_name: str, text: str) -> uuid.UUID:
    """A lead captured from the web form, who then asks to come in: the associate's task."""
    with _api(stack) as api:
        captured = api.post(
            "/v1/leads",
            json={
                "store_id": str(store.id),
                "source": "web_form",
                "first_name": first_name,
                "last_name": "Sharma",
                # One lead per first name in a (fresh) live database: steady screenshots.
                "phone": f"+9198{zlib.crc32(first_name.encode()) % 10**8:08d}",
                "email": f"{first_name.lower()}.sharma@example.com",
                "segment": "engagement",
                "message": "Looking at engagement rings for a proposal in March, oval, platinum",
                "consent": {"email": True, "whatsapp": True, "evidence": "web form v3 checkbox"},
            },
        )
        assert captured.status_code in (200, 201), captured.text
        lead_id = uuid.UUID(captured.json()["lead_id"])
        asked = api.post(
            f"/v1/leads/{lead_id}/events",
            json={
                "event_id": f"web-{uuid.uuid4()}",
                "kind": "appointment_requested",
                "payload": {"text": text},
            },
        )
        assert asked.status_code == 201, asked.text
    return lead_id


def _task_of(database: Database, lead_id: uuid.UUID, seconds: float = 30) -> Task:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        task = database.read(
            lambda s: s.scalars(select(Task).where(Task.lead_id == lead_id)).first()
        )
        if task is not None and task.notice is not None:
            return task
        time.sleep(0.1)
    raise AssertionError(f"no task (with its notice) for lead {lead_id} within {seconds} s")


def _a_task_for(
    stack: Stack, role: StaffRole, first_name: str, asked: str
) -> tuple[str, Task, Staff]:
    """A branch, the sign-in of its staff member with `role`, and an associate's task."""
    store, people = _store(stack.database)
    email = _account(stack.database, store, ApiRole.ASSOCIATE, people[role])
    task = _task_of(stack.database, _lead_asks_for_a_visit(stack, store, first_name, asked))
    return email, task, people[role]


def _sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in(live_stack, offline_page, shoot):
    page, seen = offline_page
    store, people = _store(live_stack.database)
    email = _account(live_stack.database, store, ApiRole.ASSOCIATE, people[StaffRole.ASSOCIATE])

    page.goto(f"{live_stack.url}/console")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shoot(page, "sign-in")

    _sign_in(page, email, "not my password")
    expect(page.get_by_role("alert")).to_have_text(
        "That email and password do not match an account."
    )
    seen.answered(401)

    _sign_in(page, email)
    expect(page).to_have_url(f"{live_stack.url}/console/inbox")
    expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
    expect(page.get_by_text("Priya Nair")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "facet_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_stack.url}/console/sign-in")
    page.goto(f"{live_stack.url}/console/inbox")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))


def test_associate_acknowledges_and_completes_a_task_from_the_inbox_on_a_phone(
    live_stack, offline_page, shoot
):
    page, _seen = offline_page
    page.set_viewport_size(PHONE)
    email, task, priya = _a_task_for(
        live_stack, StaffRole.ASSOCIATE, "Asha", "Could I come in on Saturday afternoon?"
    )
    assert task.assignee_id == priya.id

    def what_the_store_knows(session) -> None:  # as a POS customer upsert would record
        lead = session.get_one(Lead, task.lead_id)
        lead.budget_band = "high"
        lead.attributes = {"metal": "platinum", "shape": "oval"}

    live_stack.database.run(what_the_store_knows)

    page.goto(f"{live_stack.url}/console/sign-in")
    _sign_in(page, email)
    card = page.locator(f"article[data-task='{task.id}']")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Could I come in on Saturday afternoon?")  # what she asked
    expect(card).to_contain_text("Asha Sharma")
    expect(card).to_contain_text("engagement")
    expect(card).to_contain_text("To them")  # the welcome the journey sent
    expect(card.locator("dl.prefs")).to_contain_text("Budget")
    expect(card.locator("dl.prefs")).to_contain_text("platinum")
    # Nothing is cut off or scrolls sideways at 390 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "inbox")

    card.get_by_role("button", name="I'm on it").click()
    expect(card.get_by_role("button", name="I'm on it")).to_have_count(0)
    card = page.locator(f"article[data-task='{task.id}']")
    card.get_by_text("Complete…").click()
    card.get_by_label("How did it go?").select_option("appointment_booked")
    card.get_by_label("Note").fill("Coming Saturday 4 pm with her sister")
    shoot(page, "inbox-complete")
    card.get_by_role("button", name="Complete task").click()
    expect(card).to_contain_text("Completed · appointment booked")

    row = live_stack.database.read(lambda s: s.get_one(Task, task.id))
    assert row.status is TaskStatus.COMPLETED and row.outcome == "appointment_booked"
    assert row.acknowledged_at is not None
    event = live_stack.database.read(
        lambda s: s.scalars(
            select(Event).where(Event.idempotency_key == f"task:{task.id}:completed")
        ).one()
    )
    assert event.kind == "appointment_booked"
    assert event.payload["text"] == "Coming Saturday 4 pm with her sister"
    # The task's EscalationTask heard both signals and ended with the outcome.
    handle = live_stack.client.get_workflow_handle_for(EscalationTask.run, f"task:{task.id}")
    result = live_stack.run(handle.result())
    assert result.status is TaskStatus.COMPLETED and result.outcome == "appointment_booked"
    assert result.breaches == 0
    # On the next refresh the completed task has left the inbox.
    expect(page.locator(f"article[data-task='{task.id}']")).to_have_count(0, timeout=10_000)


def test_a_new_task_appears_in_the_open_inbox_without_a_reload(live_stack, offline_page):
    page, _seen = offline_page
    page.set_viewport_size(PHONE)
    store, people = _store(live_stack.database)
    email = _account(live_stack.database, store, ApiRole.ASSOCIATE, people[StaffRole.ASSOCIATE])
    page.goto(f"{live_stack.url}/console/sign-in")
    _sign_in(page, email)
    expect(page.get_by_text("Nothing waiting for you")).to_be_visible()
    page.evaluate("window.facetMarker = 'same page'")

    lead_id = _lead_asks_for_a_visit(
        live_stack, store, "Kavya", "Can we visit on Sunday morning to look at wedding bands?"
    )
    task = _task_of(live_stack.database, lead_id)
    expect(page.locator(f"article[data-task='{task.id}']")).to_be_visible(timeout=15_000)
    assert page.evaluate("window.facetMarker") == "same page"  # no reload happened


def test_a_notice_link_opens_the_task_after_sign_in(live_stack, offline_page, shoot):
    page, seen = offline_page
    email, task, _manager = _a_task_for(
        live_stack, StaffRole.MANAGER, "Nisha", "Is the showroom open late on Friday?"
    )
    lead_id = task.lead_id
    notice = live_stack.database.read(
        lambda s: s.scalars(
            select(Touch).where(Touch.staff_id == task.assignee_id, Touch.lead_id == lead_id)
        ).one()
    )
    link = re.search(r'href="([^"]+/console/t/[^"]+)"', notice.body or "")
    assert link, notice.body
    assert "Nisha" not in link.group(1) and "@" not in link.group(1)  # no personal data in it

    page.goto(link.group(1))
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))
    _sign_in(page, email)
    expect(page).to_have_url(f"{live_stack.url}/console/tasks/{task.id}")
    expect(page.locator(f"article[data-task='{task.id}']")).to_contain_text("Nisha Sharma")
    expect(page.get_by_role("heading", name="Give it to someone else")).to_be_visible()
    shoot(page, "task")

    page.goto(f"{live_stack.url}/console/t/forged-token")
    expect(page.get_by_text("This link has expired")).to_be_visible()
    seen.answered(404)
    shoot(page, "expired-link")


def test_invite_link_and_other_pages_screenshots(live_stack, offline_page, shoot):
    page, seen = offline_page
    store, _people = _store(live_stack.database)
    invitation = _invite(
        live_stack.database,
        store,
        ApiRole.MARKETING,
        name="Anita",
        email="anita@facet-demo.example",  # one per (fresh) live database: a steady screenshot
    )
    page.goto(f"{live_stack.url}/console/invite/{invitation.token}")
    expect(page.get_by_role("heading", name="Welcome to Facet")).to_be_visible()
    shoot(page, "invite")
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_label("The same again").fill(PASSWORD)
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_role("heading", name="Hello, Anita")).to_be_visible()
    shoot(page, "home-marketing")

    page.goto(f"{live_stack.url}/console/inbox")
    expect(page.get_by_text("Your role does not allow you to work on tasks")).to_be_visible()
    seen.answered(403)
    # The link worked once.
    page.goto(f"{live_stack.url}/console/invite/{invitation.token}")
    expect(page.get_by_text("this invite link is not valid any more", exact=False)).to_be_visible()
    seen.answered(410)


def test_a_lead_found_by_a_phone_typed_with_spaces(live_stack, offline_page, shoot):
    page, _seen = offline_page
    page.set_viewport_size(PHONE)
    email, task, _priya = _a_task_for(
        live_stack, StaffRole.ASSOCIATE, "Riya", "Can I bring my mother on Sunday to see bangles?"
    )
    phone = live_stack.database.read(lambda s: s.get_one(Lead, task.lead_id).phone_e164)
    typed = f"{phone[3:8]} {phone[8:]}"  # "98450 12345": no country code, a space
    page.goto(f"{live_stack.url}/console/sign-in?next=/console/leads")
    _sign_in(page, email)
    expect(page.get_by_role("heading", name="Find a lead")).to_be_visible()
    page.get_by_label("Search").fill(typed)
    result = page.locator(f"a.row[href='/console/leads/{task.lead_id}']")
    expect(result).to_be_visible()
    expect(page.locator("a.row")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "leads")

    result.click()
    expect(page.get_by_role("heading", name="Riya Sharma")).to_be_visible()
    expect(page.get_by_text("web form v3 checkbox").first).to_be_visible()  # consent evidence
    expect(page.locator(".timeline")).to_contain_text("appointment requested")
    expect(page.locator(".timeline")).to_contain_text("to them")  # the welcome
    # The running journey says what comes next, and when.
    expect(page.get_by_text(re.compile(r"Next: .+, in "))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "lead", full_page=True)
