"""Who may open which console page and press which button: every page and form action for
every role (the sequence library's too), another branch's task, forms without their CSRF
token, and wrong passwords."""

from __future__ import annotations

import uuid

import pytest

from core.vocabulary import TaskStatus
from db.repositories import SequenceRepository
from domain import sequences
from domain.reference import Reference
from sequences.vocabulary import StaffRole
from tests.factories import make_lead
from tests.web.people import ROLES, csrf_of, make_account, sign_in, signed_in, staff_of
from tests.web.setup_actions import setup_expected, setup_matrix
from tests.web.tasks import open_task, task_row

ALLOWED = {200, 303}
WORKERS = {"admin", "manager", "associate", "gemologist", "designer"}
# The associate's own task: she, her manager and the admin may work it.
ON_HER_TASK = {"admin", "manager", "associate"}
MANAGERS = {"admin", "manager"}
# The sequence library: marketing, and admins (as /v1/sequences).
AUTHORS = {"admin", "marketing"}


def _verdict(status: int) -> str:
    if status in ALLOWED:
        return "allowed"
    return str(status)


async def _matrix_for(role: str, console, database, store) -> dict[str, str]:
    email = make_account(database, store, role)
    async with console() as http:
        me = await signed_in(http, email)
        seen: dict[str, str] = {}
        for page in ("/console", "/console/inbox", "/console/inbox/tasks"):
            seen[f"GET {page}"] = _verdict((await http.get(page)).status_code)
        task = open_task(database, store)
        seen["GET task"] = _verdict((await http.get(f"/console/tasks/{task}")).status_code)
        seen["GET leads"] = _verdict((await http.get("/console/leads?q=Asha")).status_code)
        lead = task_row(database, task).lead_id
        seen["GET lead"] = _verdict((await http.get(f"/console/leads/{lead}")).status_code)
        answer = await me.post(
            f"/console/leads/{lead}/events",
            {"kind": "note", "text": "Prefers evenings", "form_id": str(uuid.uuid4())},
        )
        seen["POST lead event"] = _verdict(answer.status_code)
        answer = await me.post(
            f"/console/leads/{lead}/opt-out", {"channel": "sms", "form_id": str(uuid.uuid4())}
        )
        seen["POST lead opt-out"] = _verdict(answer.status_code)
        answer = await me.post(f"/console/leads/{lead}/segment", {"segment": "gifting"})
        seen["POST lead segment"] = _verdict(answer.status_code)
        answer = await me.post(
            f"/console/leads/{lead}/occasions", {"occasion": "birthday", "day": "1994-02-03"}
        )
        seen["POST lead occasion"] = _verdict(answer.status_code)
        twin = make_lead(database, store)
        answer = await me.post(f"/console/leads/{lead}/merge", {"other": str(twin)})
        seen["POST lead merge"] = _verdict(answer.status_code)
        for action in ("acknowledge", "complete", "hand-back"):
            task = open_task(database, store)
            answer = await me.post(
                f"/console/tasks/{task}/{action}", {"outcome": "contacted", "note": "rang"}
            )
            seen[f"POST {action}"] = _verdict(answer.status_code)
        task = open_task(database, store)
        gemologist = staff_of(database, store, StaffRole.GEMOLOGIST)
        answer = await me.post(f"/console/tasks/{task}/reassign", {"staff_id": str(gemologist.id)})
        seen["POST reassign"] = _verdict(answer.status_code)
        seen |= await setup_matrix(me, database, store, _verdict)
        seen.update(await _library_for(me, database))
        seen["POST sign-out"] = _verdict((await me.post("/console/sign-out")).status_code)
        return seen


def _two_versions(database) -> str:
    """A sequence of this test's own, published twice (days 2, then days 4)."""
    key = f"auth_{uuid.uuid4().hex[:8]}"
    for days in (2, 4):
        body = {
            "key": key,
            "name": "Who may see this",
            "steps": [
                {"id": "hello", "send": {"template": "engagement/welcome"}},
                {"id": "later", "at": {"days": days}, "send": {"template": "engagement/four_cs"}},
            ],
        }
        database.run(
            lambda session, body=body: sequences.publish(session, Reference(), body, by="t")
        )
    return key


async def _library_for(me, database) -> dict[str, str]:
    """The sequence library's pages and its one form, as this person."""
    key = _two_versions(database)
    seen: dict[str, str] = {}
    for name, page in (
        ("sequences", "/console/sequences"),
        ("publish form", f"/console/sequences/new?start={key}"),
        ("sequence", f"/console/sequences/{key}?version=1"),
        ("diff", f"/console/sequences/{key}/diff?older=1&newer=2"),
        ("preview", f"/console/sequences/{key}/preview?score=50"),
        ("templates", f"/console/sequences/{key}/templates"),
    ):
        seen[f"GET {name}"] = _verdict((await me.http.get(page)).status_code)
    fresh = f"auth_{uuid.uuid4().hex[:8]}"
    text = (
        f"key: {fresh}\nname: New\nsteps:\n  - id: hi\n    send: {{template: engagement/welcome}}\n"
    )
    seen["POST publish"] = _verdict(
        (await me.post("/console/sequences", {"text": text})).status_code
    )
    published = database.read(lambda session: SequenceRepository(session).latest(fresh))
    seen["published"] = "yes" if published is not None else "no"
    return seen


@pytest.mark.parametrize("role", ROLES)
async def test_every_page_and_action_for_every_role(role, console, database, make_store):
    store = make_store()
    expected = {
        "GET /console": "allowed",
        "GET /console/inbox": "allowed" if role in WORKERS else "403",
        "GET /console/inbox/tasks": "allowed" if role in WORKERS else "403",
        "GET task": "allowed" if role in ON_HER_TASK else "403",
        "GET leads": "allowed" if role in WORKERS else "403",
        "GET lead": "allowed" if role in WORKERS else "403",
        "POST lead event": "allowed" if role in WORKERS else "403",
        "POST lead opt-out": "allowed" if role in WORKERS else "403",
        "POST lead segment": "allowed" if role in WORKERS else "403",
        "POST lead occasion": "allowed" if role in WORKERS else "403",
        "POST lead merge": "allowed" if role in WORKERS else "403",
        "POST acknowledge": "allowed" if role in ON_HER_TASK else "403",
        "POST complete": "allowed" if role in ON_HER_TASK else "403",
        "POST hand-back": "allowed" if role in ON_HER_TASK else "403",
        "POST reassign": "allowed" if role in MANAGERS else "403",
        **{
            f"GET {page}": "allowed" if role in AUTHORS else "403"
            for page in ("sequences", "publish form", "sequence", "diff", "preview", "templates")
        },
        "POST publish": "allowed" if role in AUTHORS else "403",
        "published": "yes" if role in AUTHORS else "no",
        "POST sign-out": "allowed",
    } | setup_expected(role)
    assert await _matrix_for(role, console, database, store) == expected


async def test_nobody_signed_in_is_sent_to_sign_in_and_cannot_act(console, database, store):
    task = open_task(database, store)
    async with console() as http:
        for page in ("/console", "/console/inbox", f"/console/tasks/{task}"):
            answer = await http.get(page)
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/console/sign-in?next=")
        page = await http.get("/console/sign-in")
        answer = await http.post(
            f"/console/tasks/{task}/acknowledge", data={"csrf": csrf_of(page.text)}
        )
        assert answer.status_code == 401
    assert task_row(database, task).status is TaskStatus.OPEN


@pytest.mark.parametrize("role", ["admin", "manager", "associate"])
async def test_another_branchs_task_and_lead_are_not_found(role, console, database, make_store):
    mine, theirs = make_store(), make_store()
    email = make_account(database, mine, role)
    task = open_task(database, theirs)
    async with console() as http:
        me = await signed_in(http, email)
        assert (await http.get(f"/console/tasks/{task}")).status_code == 404
        lead = task_row(database, task).lead_id
        assert (await http.get(f"/console/leads/{lead}")).status_code == 404
        assert str(lead) not in (await http.get("/console/leads?q=Asha")).text
        for action, data in (
            ("events", {"kind": "note"}),
            ("opt-out", {"channel": "email"}),
            ("segment", {"segment": "bridal"}),
            ("occasions", {"occasion": "wedding", "day": "2027-02-14"}),
            ("merge", {"other": str(make_lead(database, mine))}),
        ):
            answer = await me.post(
                f"/console/leads/{lead}/{action}", {**data, "form_id": str(uuid.uuid4())}
            )
            assert answer.status_code == 404, action
        for action in ("acknowledge", "complete", "hand-back"):
            answer = await me.post(f"/console/tasks/{task}/{action}", {"outcome": "contacted"})
            assert answer.status_code == 404, action
        inbox = await http.get("/console/inbox")
        assert str(task) not in inbox.text
    assert task_row(database, task).status is TaskStatus.OPEN


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    console, database, store
):
    email = make_account(database, store, "associate")
    task = open_task(database, store)
    async with console() as http:
        me = await signed_in(http, email)
        for data in ({}, {"csrf": "forged"}):
            answer = await http.post(f"/console/tasks/{task}/acknowledge", data=data)
            assert answer.status_code == 403
            assert "expired or did not come from this page" in answer.text
            answer = await http.post(
                f"/console/tasks/{task}/complete", data={**data, "outcome": "contacted"}
            )
            assert answer.status_code == 403
        assert (await http.post("/console/sign-out", data={})).status_code == 403
        # Still signed in, and the task as it was.
        assert (await http.get("/console/inbox")).status_code == 200
        assert (await me.post(f"/console/tasks/{task}/acknowledge")).status_code == 303
    row = task_row(database, task)
    assert row.status is TaskStatus.ACKNOWLEDGED and row.outcome is None


async def test_sign_in_without_csrf_is_refused(console, database, store):
    email = make_account(database, store, "associate")
    async with console() as http:
        answer = await http.post(
            "/console/sign-in", data={"email": email, "password": "a long enough password"}
        )
        assert answer.status_code == 403
        assert (await http.get("/console/inbox")).status_code == 303  # not signed in


async def test_the_sixth_wrong_password_in_a_minute_is_throttled(console, database, store):
    email = make_account(database, store, "associate")
    async with console() as http:
        for _ in range(5):
            answer = await sign_in(http, email, "not the password")
            assert answer.status_code == 401
            assert "do not match" in answer.text
        answer = await sign_in(http, email)  # even the right password, for now
        assert answer.status_code == 429
        assert "Too many wrong passwords. Wait a minute" in answer.text
        assert (await http.get("/console/inbox")).status_code == 303  # not signed in


async def test_wrong_passwords_from_one_address_are_throttled_across_emails(
    console, database, store
):
    async with console() as http:
        for n in range(5):
            answer = await sign_in(http, f"nobody{n}@example.com", "guess")
            assert answer.status_code == 401
        answer = await sign_in(http, "someone.else@example.com", "guess")
        assert answer.status_code == 429


async def test_signing_out_ends_the_session(console, database, store):
    email = make_account(database, store, "associate")
    async with console() as http:
        me = await signed_in(http, email)
        cookie = http.cookies.get("facet_console")
        assert (await me.post("/console/sign-out")).status_code == 303
        assert (await http.get("/console/inbox")).status_code == 303
    async with console() as thief:  # the old cookie, replayed
        thief.cookies.set("facet_console", cookie)
        assert (await thief.get("/console/inbox")).status_code == 303


@pytest.mark.parametrize(("scheme", "secure"), [("http", False), ("https", True)])
async def test_the_session_cookie_is_httponly_lax_and_secure_over_https(scheme, secure, console):
    async with console(base_url=f"{scheme}://facet.test") as http:
        page = await http.get("/console/sign-in")
    cookie = page.headers["set-cookie"].lower()
    assert cookie.startswith("facet_console=") and "httponly" in cookie
    assert "samesite=lax" in cookie and ("; secure" in cookie) is secure
