"""The demo store `make run` seeds: a Bengaluru jeweller with one person of each role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.auth import issue_api_key
from core.vocabulary import ApiRole
from db.models import Staff, Store
from db.repositories import StaffRepository, StoreRepository
from db.session import Database
from sequences.vocabulary import StaffRole

DEMO_STORE_NAME = "Facet Demo Jewellers"


@dataclass(frozen=True)
class DemoStore:
    store_id: uuid.UUID
    admin_key: str | None  # only when this run created it: keys are shown once


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


def seed_demo(database: Database) -> DemoStore:
    """Create the demo store, staff and an admin key once; later runs find the store."""
    store_id, created = database.run(_create_store)
    key = issue_api_key(database, name="demo-admin", role=ApiRole.ADMIN) if created else None
    return DemoStore(store_id=store_id, admin_key=key)
