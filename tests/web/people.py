"""The console's people for tests: an account per role, signed in through the real form."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from core.vocabulary import ApiRole
from db.models import Staff, Store
from db.session import Database
from domain import accounts
from sequences.vocabulary import StaffRole

SECRET = "test-secret-that-is-not-a-placeholder"
PASSWORD = "a long enough password"
# Every role a person can have in the console: API roles, and the staff roles of associates.
ROLES = ["admin", "marketing", "manager", "associate", "gemologist", "designer"]
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def staff_of(database: Database, store: Store, role: StaffRole) -> Staff:
    return database.read(
        lambda s: s.scalars(
            select(Staff).where(Staff.store_id == store.id, Staff.role == role)
        ).one()
    )


def make_account(database: Database, store: Store, role: str) -> str:
    """An account with a password for `role` in `store`; returns its email."""
    email = f"{role}.{uuid.uuid4().hex[:8]}@example.com"
    now = datetime.now(UTC)
    staff_id = None
    api_role = ApiRole(role) if role in ("admin", "marketing") else ApiRole.ASSOCIATE
    if api_role is ApiRole.ASSOCIATE:
        staff_id = staff_of(database, store, StaffRole(role)).id

    def create(session) -> None:
        invitation = accounts.invite(
            session,
            SECRET,
            email=email,
            role=api_role,
            now=now,
            staff_id=staff_id,
            store_id=store.id,
        )
        accounts.set_first_password(session, SECRET, invitation.token, PASSWORD, now)

    database.run(create)
    return email


@dataclass
class Signed:
    """A person's httpx client with their session cookie, and the page's CSRF token."""

    http: httpx.AsyncClient
    csrf: str

    async def post(self, path: str, data: dict[str, str] | None = None, **kw) -> httpx.Response:
        return await self.http.post(path, data={"csrf": self.csrf, **(data or {})}, **kw)


async def sign_in(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    page = await http.get("/console/sign-in")
    return await http.post(
        "/console/sign-in",
        data={"csrf": csrf_of(page.text), "email": email, "password": password},
    )


async def signed_in(http: httpx.AsyncClient, email: str) -> Signed:
    answer = await sign_in(http, email)
    assert answer.status_code == 303, answer.text
    home = await http.get("/console", follow_redirects=True)
    assert home.status_code == 200, home.text
    return Signed(http, csrf_of(home.text))
