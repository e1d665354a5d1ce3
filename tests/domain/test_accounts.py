"""Staff accounts: an invite sets the first password once, within its week; a password is
checked with argon2; a person acts with their role, their branch, and nothing more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.vocabulary import ApiRole
from db.models import Staff, StaffAccount
from domain import accounts, notices
from domain.errors import Conflict, InvalidField
from sequences.vocabulary import StaffRole

SECRET = "test-secret-that-is-not-a-placeholder"
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _staff(database, store, role: StaffRole) -> Staff:
    return database.read(
        lambda s: s.scalars(
            select(Staff).where(Staff.store_id == store.id, Staff.role == role)
        ).one()
    )


def _invite(database, **kw):
    return database.run(lambda s: accounts.invite(s, SECRET, now=NOW, **kw))


def test_an_invite_sets_the_first_password_once(database, store):
    priya = _staff(database, store, StaffRole.ASSOCIATE)
    invitation = _invite(
        database, email=" Priya.Test@Example.com ", role=ApiRole.ASSOCIATE, staff_id=priya.id
    )
    assert invitation.expires_at == NOW + timedelta(days=7)
    account = database.run(
        lambda s: accounts.set_first_password(
            s, SECRET, invitation.token, "a long enough password", NOW
        )
    )
    assert account.email == "priya.test@example.com" and account.name == "Priya"
    stored = database.read(lambda s: s.get_one(StaffAccount, account.id))
    assert stored.password_hash.startswith("$argon2id$")
    assert "a long enough password" not in stored.password_hash
    with pytest.raises(accounts.InvalidInvite):  # used
        database.run(
            lambda s: accounts.set_first_password(s, SECRET, invitation.token, "another one!!", NOW)
        )
    assert database.run(
        lambda s: accounts.check_password(s, "PRIYA.test@example.com", "a long enough password")
    )
    assert database.run(lambda s: accounts.check_password(s, account.email, "wrong")) is None
    assert database.run(lambda s: accounts.check_password(s, "nobody@example.com", "x")) is None
    with pytest.raises(Conflict):  # she has a password: no second invite
        _invite(database, email=account.email, role=ApiRole.ASSOCIATE, staff_id=priya.id)


def test_an_invite_expires_and_a_newer_one_replaces_it(database, store):
    email = f"anita.{store.id.hex[:6]}@example.com"
    first = _invite(database, email=email, role=ApiRole.MARKETING, store_id=store.id)
    second = _invite(database, email=email, role=ApiRole.MARKETING, store_id=store.id)
    with pytest.raises(accounts.InvalidInvite):
        database.read(lambda s: accounts.invited(s, SECRET, first.token, NOW))
    with pytest.raises(accounts.InvalidInvite):
        database.read(
            lambda s: accounts.invited(s, SECRET, second.token, NOW + timedelta(days=7, seconds=1))
        )
    with pytest.raises(accounts.InvalidInvite):
        database.read(lambda s: accounts.invited(s, "another secret", second.token, NOW))
    with pytest.raises(accounts.InvalidInvite):
        database.read(lambda s: accounts.invited(s, SECRET, second.token[:-2] + "xx", NOW))
    assert database.read(lambda s: accounts.invited(s, SECRET, second.token, NOW)).email == email


def test_a_weak_password_or_a_wrong_role_is_refused(database, store):
    invitation = _invite(database, email=f"x.{store.id.hex[:6]}@example.com", role=ApiRole.ADMIN)
    for weak in ("short", f"x.{store.id.hex[:6]}@example.com"):
        with pytest.raises(InvalidField) as refused:
            database.run(
                lambda s, weak=weak: accounts.set_first_password(
                    s, SECRET, invitation.token, weak, NOW
                )
            )
        assert refused.value.field == "password"
    with pytest.raises(InvalidField, match="role"):
        _invite(database, email="till@example.com", role=ApiRole.POS)
    with pytest.raises(InvalidField, match="staff_id"):
        _invite(database, email="someone@example.com", role=ApiRole.ASSOCIATE)
    priya = _staff(database, store, StaffRole.ASSOCIATE)
    with pytest.raises(InvalidField, match="all_branches"):
        _invite(
            database,
            email="p2@example.com",
            role=ApiRole.ASSOCIATE,
            staff_id=priya.id,
            all_branches=True,
        )


def _manager(database, store, prefix: str, **kw):
    """Rahul, the store's manager, invited and with his password set: (person, account)."""
    rahul = _staff(database, store, StaffRole.MANAGER)
    invitation = _invite(
        database,
        email=f"{prefix}.{store.id.hex[:6]}@example.com",
        role=ApiRole.ASSOCIATE,
        staff_id=rahul.id,
        **kw,
    )
    return _person(database, invitation)


def _person(database, invitation, signed_at=NOW):
    account = database.run(
        lambda s: accounts.set_first_password(
            s, SECRET, invitation.token, "a long enough password", NOW
        )
    )
    return database.read(lambda s: accounts.person(s, account.id, signed_at)), account


def test_a_person_acts_as_their_staff_member_in_their_branch(database, store):
    rahul = _staff(database, store, StaffRole.MANAGER)
    person, _ = _manager(database, store, "rahul")
    assert person.staff_role is StaffRole.MANAGER and person.manages and person.works_tasks
    assert person.actor.store_id == store.id and person.actor.staff_id == rahul.id


def test_a_marketer_who_is_also_on_the_staff_list_has_no_inbox(database, store):
    meera = _staff(database, store, StaffRole.DESIGNER)
    invitation = _invite(
        database,
        email=f"meera.{store.id.hex[:6]}@example.com",
        role=ApiRole.MARKETING,
        staff_id=meera.id,
    )
    person, _ = _person(database, invitation)
    assert person.staff_role is StaffRole.DESIGNER
    assert not person.works_tasks and not person.manages


def test_a_manager_of_every_branch_and_signing_out_everywhere(database, make_store):
    store = make_store()
    rahul = _staff(database, store, StaffRole.MANAGER)
    person, account = _manager(database, store, "chain", all_branches=True)
    assert person.actor.store_id is None and person.actor.all_branches
    later = NOW + timedelta(minutes=5)
    database.run(lambda s: accounts.sign_out_everywhere(s, account.id, later))
    assert database.read(lambda s: accounts.person(s, account.id, NOW)) is None
    assert database.read(lambda s: accounts.person(s, account.id, later + timedelta(seconds=1)))
    database.run(lambda s: setattr(s.get_one(Staff, rahul.id), "active", False))
    assert (
        database.read(lambda s: accounts.person(s, account.id, later + timedelta(seconds=1)))
        is None
    )


def test_a_task_link_names_its_task_until_it_expires():
    import uuid

    task_id = uuid.uuid4()
    link = notices.TaskLinks(SECRET, "https://facet.example/")(task_id, NOW)
    assert link.startswith("https://facet.example/console/t/")
    token = link.rsplit("/", 1)[1]
    assert notices.read_task_link(SECRET, token, NOW + timedelta(days=6)) == task_id
    assert notices.read_task_link(SECRET, token, NOW + timedelta(days=7, seconds=1)) is None
    assert notices.read_task_link("another secret", token, NOW) is None
