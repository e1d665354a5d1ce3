"""Staff accounts: who may sign in to the console, with what password, acting as whom.

A person is invited (a signed, expiring, single-use link sets the first password), signs in
with email and password (argon2id through argon2-cffi), and then acts as a domain `Actor`
with the same rules an API key has: an admin or marketing account may be limited to one
branch; an associate account is a staff member, and that staff member's role (associate,
gemologist, designer, manager) and branch decide which tasks and leads they see.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from core.signing import sign, unsign
from core.vocabulary import ApiRole
from db.models import Staff, StaffAccount, Store
from db.repositories import StaffAccountRepository
from domain.access import Actor
from domain.errors import Conflict, DomainError, InvalidField
from domain.leads import normalise_email
from sequences.vocabulary import StaffRole

INVITE_VALID = timedelta(days=7)
MIN_PASSWORD = 10
MAX_PASSWORD = 200
_INVITE = "invite"

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_NOBODY = _hasher.hash(secrets.token_urlsafe(16))


class InvalidInvite(DomainError):
    """The invite link is forged, expired, or already used."""

    def __init__(self) -> None:
        super().__init__(
            "this invite link is not valid any more (it expires after 7 days and works once); "
            "ask an admin for a new one"
        )


def _email(value: str) -> str:
    try:
        email = normalise_email(value.strip())
    except ValueError as error:
        raise InvalidField("email", str(error)) from error
    if email is None:
        raise InvalidField("email", "an email address is needed")
    return email


@dataclass(frozen=True)
class Invitation:
    account_id: uuid.UUID
    token: str  # goes into the link; the link is the only place it is kept
    expires_at: datetime


def invite(
    session: Session,
    secret: str,
    *,
    email: str,
    role: ApiRole,
    now: datetime,
    name: str | None = None,
    staff_id: uuid.UUID | None = None,
    store_id: uuid.UUID | None = None,
    all_branches: bool = False,
) -> Invitation:
    """Make (or renew) a person's account and a link to set its first password. A new link
    replaces an older one; an account that has a password already is a conflict."""
    address = _email(email)
    if role is ApiRole.POS:
        raise InvalidField("role", "pos is for machines (an API key), not for a person")
    staff = session.get(Staff, staff_id) if staff_id else None
    if staff_id is not None and staff is None:
        raise InvalidField("staff_id", f"no staff member {staff_id}")
    if role is ApiRole.ASSOCIATE and staff is None:
        raise InvalidField("staff_id", "an associate account belongs to a staff member")
    if staff is not None:
        store_id = staff.store_id
    if store_id is not None and session.get(Store, store_id) is None:
        raise InvalidField("store_id", f"no branch {store_id}")
    if all_branches and (staff is None or staff.role is not StaffRole.MANAGER):
        raise InvalidField("all_branches", "only a manager can see every branch")
    repository = StaffAccountRepository(session)
    account = repository.by_email(address)
    if account is not None and account.password_hash is not None:
        raise Conflict(f"{address} has an account already")
    if account is None:
        account = repository.add(StaffAccount(email=address, name="", role=role), flush=False)
    account.name = name or (staff.name if staff else address.split("@")[0])
    account.role = role
    account.staff_id = staff.id if staff else None
    account.store_id = None if all_branches else store_id
    account.all_branches = all_branches
    account.invite_nonce = secrets.token_urlsafe(16)
    account.invited_at = now
    account.active = True
    session.flush()
    expires = now + INVITE_VALID
    token = sign(secret, _INVITE, {"a": account.id.hex, "n": account.invite_nonce}, expires)
    return Invitation(account.id, token, expires)


def invited(session: Session, secret: str, token: str, now: datetime) -> StaffAccount:
    """The account an invite link is for, if the link is genuine, unexpired and unused."""
    payload = unsign(secret, _INVITE, token, now)
    if payload is None:
        raise InvalidInvite()
    try:
        account = session.get(StaffAccount, uuid.UUID(str(payload.get("a"))))
    except ValueError:
        account = None
    nonce = payload.get("n")
    if account is None or account.invite_nonce is None or nonce != account.invite_nonce:
        raise InvalidInvite()
    return account


def check_new_password(password: str, email: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidField("password", f"use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidField("password", f"use at most {MAX_PASSWORD} characters")
    if password.strip().lower() == email:
        raise InvalidField("password", "choose something other than your email address")


def set_first_password(
    session: Session, secret: str, token: str, password: str, now: datetime
) -> StaffAccount:
    """Use the invite: set the password; the link never works again."""
    account = invited(session, secret, token, now)
    check_new_password(password, account.email)
    account.password_hash = _hasher.hash(password)
    account.password_set_at = now
    account.invite_nonce = None
    session.flush()
    return account


def check_password(session: Session, email: str, password: str) -> StaffAccount | None:
    """The active account with this email and password; None for anything else (which costs
    the same time whether or not the email is known)."""
    try:
        address = _email(email)
    except InvalidField:
        address = ""
    account = StaffAccountRepository(session).by_email(address) if address else None
    stored = account.password_hash if account and account.active else None
    try:
        _hasher.verify(stored or _NOBODY, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return None
    if account is None or stored is None:
        return None
    if _hasher.check_needs_rehash(stored):
        account.password_hash = _hasher.hash(password)
        session.flush()
    return account


@dataclass(frozen=True)
class Person:
    """A signed-in person as the console sees them."""

    account_id: uuid.UUID
    name: str
    email: str
    role: ApiRole
    staff_role: StaffRole | None
    actor: Actor

    @property
    def works_tasks(self) -> bool:
        """Has an inbox (as an API key with the associate role has /v1/tasks): the store's
        staff, and admins (who see every task they may). Marketing has none."""
        if self.role is ApiRole.ADMIN:
            return True
        return self.role is ApiRole.ASSOCIATE and self.staff_role is not None

    @property
    def manages(self) -> bool:
        """May hand a task to someone else: a manager or an admin."""
        return self.role is ApiRole.ADMIN or (
            self.works_tasks and self.staff_role is StaffRole.MANAGER
        )

    @property
    def authors_sequences(self) -> bool:
        """Works on the sequence library (as the API's /v1/sequences): marketing and admins."""
        return self.role in (ApiRole.ADMIN, ApiRole.MARKETING)

    @property
    def role_label(self) -> str:
        return (self.staff_role or self.role).value


def person(session: Session, account_id: uuid.UUID, signed_at: datetime) -> Person | None:
    """Who a session signed at `signed_at` belongs to; None when the account is gone, was
    deactivated, or signed out everywhere since."""
    account = session.get(StaffAccount, account_id)
    if account is None or not account.active or account.password_hash is None:
        return None
    if account.sessions_valid_after is not None and signed_at < account.sessions_valid_after:
        return None
    staff = session.get(Staff, account.staff_id) if account.staff_id else None
    if account.staff_id is not None and (staff is None or not staff.active):
        return None
    store_id = account.store_id
    if staff is not None:
        store_id = None if account.all_branches else staff.store_id
    actor = Actor(
        key_id=account.id,
        name=account.name,
        role=account.role,
        store_id=store_id,
        staff_id=staff.id if staff else None,
        all_branches=account.all_branches,
    )
    return Person(
        account_id=account.id,
        name=account.name,
        email=account.email,
        role=account.role,
        staff_role=staff.role if staff else None,
        actor=actor,
    )


def sign_out_everywhere(session: Session, account_id: uuid.UUID, now: datetime) -> None:
    """End every session of this account signed before `now`."""
    account = session.get(StaffAccount, account_id)
    if account is not None:
        account.sessions_valid_after = now
        session.flush()
