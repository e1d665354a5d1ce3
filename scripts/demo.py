"""The demo store `make run` seeds: a Bengaluru jeweller with one person of each role."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from api.auth import issue_api_key
from core.vocabulary import ApiRole
from db.models import Staff, Store
from db.repositories import StaffAccountRepository, StaffRepository, StoreRepository
from db.session import Database
from domain import accounts
from sequences.vocabulary import StaffRole

DEMO_STORE_NAME = "Facet Demo Jewellers"
# The first admin's sign-in email (FACET_ADMIN_EMAIL moves it).
ADMIN_EMAIL = os.environ.get("FACET_ADMIN_EMAIL", "admin@example.com")


@dataclass(frozen=True)
class DemoStore:
    store_id: uuid.UUID
    admin_key: str | None  # only when this run created it: keys are shown once
    # A one-time link to set the first admin's console password, while it has none.
    admin_invite: str | None = None


def _create_store(session: Session) -> tuple[uuid.UUID, bool]:
    stores = StoreRepository(session)
    existing = stores.by_name(DEMO_STORE_NAME)
    if existing is not None:
        return existing.id, False
    store = stores.add(
        Store(
            name=DEMO_STORE_NAME,
            timezone="Asia/Kolkata",
            country="IN",
            currency="INR",
            locale="en",
            phone="+91 80 4000 0000",
            address="12 MG Road, Bengaluru 560001",
        )
    )
    staff = StaffRepository(session)
    for name, role, expertise, languages in [
        ("Priya Sharma", StaffRole.ASSOCIATE, ["engagement", "bridal"], ["en", "hi", "kn"]),
        ("Karan Mehta", StaffRole.ASSOCIATE, ["gifting", "daily_wear"], ["en", "hi"]),
        ("Arjun Rao", StaffRole.GEMOLOGIST, ["certification", "diamonds"], ["en", "kn"]),
        ("Meera Iyer", StaffRole.DESIGNER, ["custom_design"], ["en", "ta"]),
        ("Rahul Nair", StaffRole.MANAGER, [], ["en", "hi"]),
    ]:
        staff.add(
            Staff(
                store_id=store.id,
                name=name,
                role=role,
                expertise=expertise,
                languages=languages,
            )
        )
    return store.id, True


def _admin_invite(session: Session, secret: str, email: str) -> str | None:
    """The first admin's invite token, renewed each run until they have set a password."""
    account = StaffAccountRepository(session).by_email(email)
    if account is not None and account.password_hash is not None:
        return None
    invitation = accounts.invite(
        session, secret, email=email, role=ApiRole.ADMIN, now=datetime.now(UTC), name="Admin"
    )
    return invitation.token


def seed_demo(
    database: Database, secret: str | None = None, admin_email: str = ADMIN_EMAIL
) -> DemoStore:
    """Create the demo store, staff and an admin key once; later runs find the store. With
    the console's `secret`, the first admin's account waits for its password (until they
    follow the link this returns)."""
    store_id, created = database.run(_create_store)
    key = issue_api_key(database, name="demo-admin", role=ApiRole.ADMIN) if created else None
    invite = None
    if secret is not None:
        invite = database.run(lambda session: _admin_invite(session, secret, admin_email))
    return DemoStore(store_id=store_id, admin_key=key, admin_invite=invite)
