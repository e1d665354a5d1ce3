"""The instants kept on each lead row (first message, first contact, first purchase, last
engagement, in a journey since) are what its rows say, whichever door wrote them: captures,
messages and staff notices sent, tasks answered and handed back, sales one at a time and an
import's batch (an old sale before the buyer arrived), a refund, events, a journey ended, and a
merge that moves one lead's history onto another."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from activities.messaging import MessagingActivities
from activities.payloads import SendRequest
from activities.qualification_payloads import NotifyRequest
from activities.tasks import TaskActivities
from core.vocabulary import ApiRole, JourneyStatus, TaskOutcome
from db.models import LEAD_INSTANTS, Enrollment, Lead, Staff
from db.repositories import EnrollmentRepository
from domain import merging, tasks
from domain.access import Actor
from domain.events import new_event, record_event_once
from domain.intake import capture
from domain.leads import Details, Identity
from domain.purchases import Return, Sale, record_return, record_sale, record_sales
from domain.reference import Reference
from providers import registry
from providers.registry import configured
from qualification.config import QualificationConfig
from qualification.scoring import ENGAGEMENT_KINDS
from sequences.vocabulary import Channel, EventKind, Purpose, StaffRole
from tests.branch_rows import branch_rows
from tests.factories import afternoon_zone, indian_mobile
from tests.standin import settings_for
from tests.web.tasks import open_task

RING = [{"name": "oval solitaire", "category": "engagement_ring"}]


def _recounted(database, store_id: uuid.UUID) -> tuple[dict[uuid.UUID, dict[str, Any]], ...]:
    """Each lead's instants as kept on its row, and as its rows give them (counted here in
    Python, not by the statement that keeps them)."""

    rows = branch_rows(database, store_id)
    leads, touches, task_rows = rows.leads, rows.touches, rows.tasks
    purchases, events, journeys = rows.purchases, rows.events, rows.enrollments

    def first(values):
        found = [value for value in values if value is not None]
        return min(found) if found else None

    kept = {lead.id: {name: getattr(lead, name) for name in LEAD_INSTANTS} for lead in leads}
    counted = {
        lead.id: {
            "first_message_at": first(
                t.sent_at for t in touches if t.lead_id == lead.id and t.staff_id is None
            ),
            "first_contact_at": first(
                t.acknowledged_at or t.completed_at for t in task_rows if t.lead_id == lead.id
            ),
            "first_purchase_at": first(p.purchased_at for p in purchases if p.lead_id == lead.id),
            "last_engaged_at": max(
                (
                    e.occurred_at
                    for e in events
                    if e.lead_id == lead.id and e.kind in ENGAGEMENT_KINDS
                ),
                default=None,
            ),
            "in_journey_since": first(
                j.started_at
                for j in journeys
                if j.lead_id == lead.id and j.status is JourneyStatus.ACTIVE
            ),
        }
        for lead in leads
    }
    return kept, counted


def _send(database, lead_id: uuid.UUID) -> None:
    """A journey's welcome through the send pipeline (the outbox stands in for providers)."""
    settings = settings_for()
    messaging = MessagingActivities(database, configured(settings), settings)
    request = SendRequest(
        workflow_id=f"journey:{lead_id}:test-{uuid.uuid4().hex[:6]}",
        step_id="welcome",
        lead_id=lead_id,
        enrollment_id=None,
        channel="preferred",
        template="engagement/welcome",
        purpose=Purpose.MARKETING,
    )
    env = ActivityEnvironment()
    at = datetime.now(UTC)
    env.info = dataclasses.replace(env.info, current_attempt_scheduled_time=at, started_time=at)
    env.run(messaging.send_message, request)


def _sale(store_id, transaction, buyer: Identity, at: datetime | None, history=False) -> Sale:
    return Sale(
        store_id=store_id, pos_transaction_id=transaction, buyer=buyer,
        buyer_details=Details(first_name="Buyer"), amount_minor=1_25_000_00, currency="INR",
        items=RING, associate_id=None, purchased_at=at, occasion=None, history=history,
    )  # fmt: skip


def test_kept_instants_equal_a_recount_of_each_leads_rows_after_every_kind_of_write(
    database, store
):
    reference, settings = Reference(), settings_for()
    admin = Actor(uuid.uuid4(), "Rahul", ApiRole.ADMIN, store.id, None)
    till = Actor(uuid.uuid4(), "till", ApiRole.POS, store.id, None)
    zone = afternoon_zone()  # the welcome goes out now, inside the send window
    names = ("asha", "asha_again", "dev", "ravi", "meena", "kiran")
    phones = {name: indian_mobile() for name in names}

    def arrive(name: str, segment: str | None = "engagement") -> uuid.UUID:
        captured = database.run(
            lambda s: capture(
                s, reference, settings, admin, store_id=store.id, source="web_form",
                who=Identity(phone=phones[name]),
                details=Details(first_name=name, segment=segment, timezone=zone),
                message="Looking for an oval solitaire", consented=list(Channel),
                consent_evidence="web form",
            )
        )  # fmt: skip
        return captured.lead_id

    asha, asha_again, dev, ravi, meena, kiran = (arrive(name) for name in names)
    for lead_id in (asha, asha_again, dev):
        _send(database, lead_id)

    # tasks: answered, handed back (its acknowledgement cleared), completed
    for lead_id in (asha, dev):
        answered = open_task(database, store, lead_id=lead_id)
        database.run(lambda s, task=answered: tasks.acknowledge(s, task, admin))
    handed = open_task(database, store, lead_id=ravi)
    database.run(lambda s: tasks.acknowledge(s, handed, admin))
    database.run(lambda s: tasks.hand_back(s, handed, admin))
    done = open_task(database, store, lead_id=asha_again)
    database.run(lambda s: tasks.complete(s, done, TaskOutcome.CONTACTED, None, admin))

    # a notice to the associate about Kiran's task is a message, but not one to Kiran
    def reachable_associate(session) -> None:
        associate = session.scalars(
            select(Staff).where(Staff.store_id == store.id, Staff.role == StaffRole.ASSOCIATE)
        ).one()
        associate.phone_e164 = indian_mobile()

    database.run(reachable_associate)
    noticed = open_task(database, store, lead_id=kiran)
    notice = ActivityEnvironment().run(
        TaskActivities(database, registry.outbox_only(), QualificationConfig()).notify_assignee,
        NotifyRequest(task_id=noticed, assignment=0),
    )
    assert notice.reason is None  # it went out

    # events: a reply back then, a stop later (which is no engagement)
    now = datetime.now(UTC)
    for lead_id, kind, at in (
        (asha_again, EventKind.REPLY, now - timedelta(hours=3)),
        (asha_again, EventKind.OPTED_OUT, now - timedelta(hours=1)),
        (dev, EventKind.REPLY, now + timedelta(minutes=5)),  # a clock ahead of ours
        (dev, EventKind.OPTED_OUT, now + timedelta(minutes=10)),
    ):
        database.run(
            lambda s, lead_id=lead_id, kind=kind, at=at: record_event_once(
                s,
                new_event(
                    store_id=store.id, lead_id=lead_id, key=f"test:{uuid.uuid4()}", kind=kind,
                    source="test", payload={}, occurred_at=at,
                ),
            )
        )  # fmt: skip

    # sales: Dev at the till now; an import of old sales (a batch), one of a newcomer two
    # years before they arrived; then a refund of part of Dev's
    tag = uuid.uuid4().hex[:6]
    database.run(
        lambda s: record_sale(
            s, reference, till, _sale(store.id, f"{tag}-1", Identity(phone=phones["dev"]), None)
        )
    )
    old_buyer = Identity(phone=indian_mobile())
    database.run(
        lambda s: record_sales(
            s, reference, till,
            [
                _sale(store.id, f"{tag}-2", old_buyer, now - timedelta(days=730), history=True),
                _sale(store.id, f"{tag}-3", Identity(phone=phones["ravi"]),
                      now - timedelta(days=3), history=True),
            ],
        )
    )  # fmt: skip
    database.run(
        lambda s: record_return(
            s, reference, till,
            Return(store.id, f"{tag}-1", f"refund-{tag}", amount_minor=25_000_00),
        )
    )  # fmt: skip

    # a journey ends (the workflow records it); then the duplicate merges into Asha
    def meenas_journey(session) -> str:
        row = session.scalars(select(Enrollment).where(Enrollment.lead_id == meena)).first()
        assert row is not None and row.status is JourneyStatus.ACTIVE
        return row.workflow_id

    database.run(
        lambda s: EnrollmentRepository(s).finish(
            workflow_id=meenas_journey(s), status=JourneyStatus.COMPLETED, outcome="completed",
            revenue_minor=None, currency=None,
        )
    )  # fmt: skip
    database.run(lambda s: merging.merge_leads(s, admin, asha, asha_again, now, reference))

    kept, counted = _recounted(database, store.id)
    assert kept == counted
    # and they say what happened, so the comparison is not of two empty rows
    assert asha_again not in kept  # merged away; its reply and first answer are Asha's now
    assert kept[asha]["first_message_at"] is not None and kept[asha]["first_contact_at"]
    assert all(kept[dev][name] is not None for name in LEAD_INSTANTS)
    assert kept[dev]["last_engaged_at"] == now + timedelta(minutes=5)  # the stop is no engagement
    assert kept[ravi]["first_contact_at"] is None  # handed back: nobody has answered yet
    assert kept[ravi]["first_purchase_at"] == now - timedelta(days=3)
    assert kept[meena]["in_journey_since"] is None  # its only journey ended
    assert kept[kiran]["first_message_at"] is None  # only a notice to staff went out
    newcomer = next(lead for lead in kept if lead not in (asha, dev, ravi, meena, kiran))
    arrived = database.read(lambda s: s.get_one(Lead, newcomer).created_at)
    assert kept[newcomer]["first_purchase_at"] < arrived  # bought two years before arriving
