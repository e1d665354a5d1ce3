"""API keys for machines: issued once (only a SHA-256 is kept), listed by prefix, revoked.

The API's command line (`python -m api.keys`), the demo seed and the console's store setup
all issue keys here, so a key is made and scoped one way.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core.vocabulary import ApiRole
from db.models import ApiKey
from db.repositories import ApiKeyRepository, StaffRepository, StoreRepository, hash_api_key
from domain.access import Actor
from domain.errors import InvalidField, NotAllowed, OutsideBranch

KEY_PREFIX = "fct"
# Keys that act for one person of one store: they name the store and the staff member.
PERSONAL_ROLES = frozenset({ApiRole.ASSOCIATE})


def admin_only(actor: Actor) -> None:
    """Keys, branches and staff are an admin's to manage."""
    if actor.role is not ApiRole.ADMIN:
        raise NotAllowed("only an admin manages keys, branches and staff")


def new_api_key() -> str:
    """A fresh key: `fct_<8 char id>_<secret>`; the id part is safe to show in listings."""
    return f"{KEY_PREFIX}_{secrets.token_hex(4)}_{secrets.token_urlsafe(24)}"


@dataclass(frozen=True)
class IssuedKey:
    key_id: uuid.UUID
    key: str  # shown once, never stored
    prefix: str


def issue(
    session: Session,
    *,
    name: str,
    role: ApiRole,
    store_id: uuid.UUID | None = None,
    staff_id: uuid.UUID | None = None,
) -> IssuedKey:
    """Store a new key's hash and return the key itself, which is never stored."""
    key = new_api_key()
    row = ApiKeyRepository(session).add(
        ApiKey(
            name=name,
            role=role,
            key_hash=hash_api_key(key),
            prefix=key[: len(KEY_PREFIX) + 9],
            store_id=store_id,
            staff_id=staff_id,
        )
    )
    return IssuedKey(row.id, key, row.prefix)


def issue_checked(
    session: Session,
    actor: Actor,
    *,
    name: str,
    role: ApiRole,
    store_id: uuid.UUID | None,
    staff_id: uuid.UUID | None,
) -> IssuedKey:
    """Issue a key an admin asked for: named, scoped to a store the admin sees, and, for a
    personal role, bound to an active staff member of that store."""
    admin_only(actor)
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidField("name", "say who or what uses the key, in at most 100 characters")
    if actor.store_id is not None:
        if store_id not in (None, actor.store_id):
            raise OutsideBranch("this key is limited to another store")
        store_id = actor.store_id  # a branch's admin makes keys for that branch only
    if store_id is not None and StoreRepository(session).get(store_id) is None:
        raise InvalidField("store_id", "choose one of the branches")
    if role in PERSONAL_ROLES:
        member = StaffRepository(session).get(staff_id) if staff_id else None
        if member is None or store_id is None or member.store_id != store_id:
            raise InvalidField("staff_id", f"an {role} key acts for a staff member of its branch")
        if not member.active:
            raise InvalidField("staff_id", f"{member.name} is not active")
    elif staff_id is not None:
        raise InvalidField("staff_id", "only associate keys act for a staff member")
    return issue(session, name=name, role=role, store_id=store_id, staff_id=staff_id)


def visible(session: Session, actor: Actor) -> Sequence[ApiKey]:
    """The keys an admin may see: every key, or those of their branch."""
    admin_only(actor)
    every = ApiKeyRepository(session).every()
    if actor.store_id is None:
        return every
    return [key for key in every if key.store_id == actor.store_id]


def revoke(session: Session, actor: Actor, key_id: uuid.UUID, now: datetime) -> ApiKey:
    """Revoke a key: the API refuses it at once in a new process, within seconds in a running
    one. Revoking a revoked key changes nothing."""
    admin_only(actor)
    key = ApiKeyRepository(session).get(key_id)
    if key is None or (actor.store_id is not None and key.store_id != actor.store_id):
        raise OutsideBranch("this key belongs to another store")
    if key.revoked_at is None:
        key.revoked_at = now
        session.flush()
    return key
