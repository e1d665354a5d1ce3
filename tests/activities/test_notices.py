"""Task notices go through the one send pipeline with their own rules: the staff member's notice
settings (not a lead's consent), the `task/notice` template in their language, the due time on
the store's clock, and what became of the notice kept on the task."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.payloads import PROVIDER_UNAVAILABLE
from activities.qualification_payloads import NotifyRequest
from activities.tasks import TaskActivities
from core.vocabulary import TouchStatus
from db.models import Staff, Task, Touch
from db.repositories import TaskRepository, TouchRepository
from providers import registry
from qualification.config import QualificationConfig
from sequences.vocabulary import Channel, StaffRole
from tests.factories import indian_mobile, make_lead
from tests.standin import Reply, settings_for, twilio_error

# 10:00 UTC is 15:30 in Bengaluru (the test store is in Asia/Kolkata, IST, UTC+5:30).
DUE = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _staff(database, store, **contact) -> uuid.UUID:
    def add(session) -> uuid.UUID:
        staff = Staff(
            store_id=store.id,
            name=contact.pop("name", "Kavya"),
            role=StaffRole.ASSOCIATE,
            languages=contact.pop("languages", ["en"]),
            **contact,
        )
        session.add(staff)
        session.flush()
        return staff.id

    return database.run(add)


def _task(database, store, assignee_id: uuid.UUID) -> uuid.UUID:
    lead_id = make_lead(database, store)

    def add(session) -> uuid.UUID:
        task, _ = TaskRepository(session).open_idempotent(
            Task(
                store_id=store.id,
                lead_id=lead_id,
                kind="certification_question",
                role_needed=StaffRole.ASSOCIATE,
                assignee_id=assignee_id,
                reason="Is the 1.2 carat oval GIA certified?",
                priority="hot",
                sla_due_at=DUE,
                idempotency_key=f"test:{uuid.uuid4()}",
            )
        )
        return task.id

    return database.run(add)


def _notify(database, providers, task_id: uuid.UUID, assignment: int = 0):
    tasks = TaskActivities(database, providers, QualificationConfig())
    return ActivityEnvironment().run(
        tasks.notify_assignee, NotifyRequest(task_id=task_id, assignment=assignment)
    )


def _notice_touch(database, task_id: uuid.UUID, assignment: int = 0) -> Touch:
    touch = database.run(lambda s: TouchRepository(s).by_key(f"task:{task_id}:notice:{assignment}"))
    assert touch is not None
    return touch


def test_a_staff_member_without_a_contact_gets_a_no_contact_notice_on_the_task(database, store):
    task_id = _task(database, store, _staff(database, store))

    result = _notify(database, registry.outbox_only(), task_id)

    # No phone: a notice goes by email; no email either, so nobody could be told.
    assert (result.channel, result.reason) == ("email", "no_contact")
    task = database.run(lambda s: s.get_one(Task, task_id))
    assert task.notice is not None
    assert (task.notice["status"], task.notice["reason"]) == ("suppressed", "no_contact")
    touch = _notice_touch(database, task_id)
    assert (touch.status, touch.reason) == (TouchStatus.SUPPRESSED, "no_contact")
    # A retry of the same assignment finds the same notice and sends nothing new.
    again = _notify(database, registry.outbox_only(), task_id)
    assert again.touch_id == touch.id


def test_a_notice_says_its_due_time_on_the_stores_clock_and_goes_out_once(database, store):
    task_id = _task(database, store, _staff(database, store, phone_e164=indian_mobile()))

    result = _notify(database, registry.outbox_only(), task_id)

    touch = _notice_touch(database, task_id)
    assert (result.channel, touch.status, touch.provider) == ("sms", TouchStatus.OUTBOX, "outbox")
    assert "Respond by 01 Dec 15:30 IST" in (touch.body or "")
    assert "UTC" not in (touch.body or "")
    assert "certification question" in (touch.body or "")
    task = database.run(lambda s: s.get_one(Task, task_id))
    assert task.notice is not None
    assert (task.notice["channel"], task.notice["status"]) == ("sms", "outbox")


def test_a_notice_is_written_in_the_staff_members_language(database, store):
    staff_id = _staff(database, store, phone_e164=indian_mobile(), languages=["hi", "en"])
    task_id = _task(database, store, staff_id)

    _notify(database, registry.outbox_only(), task_id)

    body = _notice_touch(database, task_id).body or ""
    assert "तक जवाब दें" in body and "01 Dec 15:30 IST" in body


def test_a_staff_member_who_wants_email_gets_email(database, store):
    staff_id = _staff(
        database,
        store,
        phone_e164=indian_mobile(),
        email=f"kavya.{uuid.uuid4().hex[:6]}@store.example",
        notice_channel=Channel.EMAIL,
    )
    task_id = _task(database, store, staff_id)

    _notify(database, registry.outbox_only(), task_id)

    touch = _notice_touch(database, task_id)
    assert (touch.channel, touch.status) == (Channel.EMAIL, TouchStatus.OUTBOX)
    assert touch.subject == "New hot task: certification question"


def test_a_notice_refused_for_good_is_failed_with_the_reason_on_the_task(database, store, standin):
    task_id = _task(database, store, _staff(database, store, phone_e164=indian_mobile()))
    standin.fail_next(twilio_error(21211))

    result = _notify(database, registry.configured(settings_for(standin)), task_id)

    touch = _notice_touch(database, task_id)
    assert (touch.status, touch.reason, result.reason) == (
        TouchStatus.FAILED,
        "invalid_contact",
        "invalid_contact",
    )
    task = database.run(lambda s: s.get_one(Task, task_id))
    assert task.notice is not None
    assert (task.notice["status"], task.notice["reason"]) == ("failed", "invalid_contact")


def test_a_provider_down_for_now_hands_the_claim_back_for_the_retry(database, store, standin):
    task_id = _task(database, store, _staff(database, store, phone_e164=indian_mobile()))
    standin.fail_next(Reply(503, {"code": 20500, "message": "down", "status": 503}))
    providers = registry.configured(settings_for(standin))

    with pytest.raises(ApplicationError) as raised:
        _notify(database, providers, task_id)
    assert raised.value.type == PROVIDER_UNAVAILABLE
    assert _notice_touch(database, task_id).status is TouchStatus.CLAIMED

    _notify(database, providers, task_id)  # the retry
    touch = _notice_touch(database, task_id)
    assert (touch.status, touch.provider) == (TouchStatus.SENT, "twilio")
    assert len([r for r in standin.requests if r.accepted]) == 1


def test_a_notice_that_ran_out_of_retries_is_failed_on_the_task_too(database, store, standin):
    task_id = _task(database, store, _staff(database, store, phone_e164=indian_mobile()))
    standin.fail_next(Reply(503, {"code": 20500, "message": "down", "status": 503}))
    tasks = TaskActivities(
        database, registry.configured(settings_for(standin)), QualificationConfig()
    )
    with pytest.raises(ApplicationError):
        _notify(database, registry.configured(settings_for(standin)), task_id)

    result = ActivityEnvironment().run(
        tasks.abandon_notice, NotifyRequest(task_id=task_id, assignment=0)
    )

    touch = _notice_touch(database, task_id)
    assert (touch.status, touch.reason, result.reason) == (
        TouchStatus.FAILED,
        "retries_exhausted",
        "retries_exhausted",
    )
    task = database.run(lambda s: s.get_one(Task, task_id))
    assert task.notice is not None
    assert (task.notice["status"], task.notice["reason"]) == ("failed", "retries_exhausted")
