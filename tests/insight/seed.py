"""A branch's fortnight, small enough to count by hand: what the dashboard, the step
statistics and the weekly report should say about it is written beside each row.

Six leads arrive two days ago (T0), two more forty days ago (the period before "last 30
days"); of those, lead 7 is still in its journey but silent for 20 days (going cold).
Lead 1 (Instagram, bridal, owned by Priya) gets a WhatsApp welcome 3 minutes after capture,
Priya acknowledges its task at 10 minutes, it books, visits and buys ₹1,25,000; lead 2
replies to its email (sent at 20 minutes) and its task breaches its SLA; lead 3's SMS is
suppressed (no consent) and lead 3 opts out; lead 4's email bounces (sent at 70 min).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.vocabulary import JourneyStatus, Stage, TaskStatus, TouchStatus
from db.models import Enrollment, Event, Lead, Purchase, SequenceVersion, Staff, Store, Task, Touch
from sequences.vocabulary import Channel, Purpose, StaffRole
from tests.conftest import new_store

STEPS = [
    {"id": "welcome", "at": {"minutes": 0}, "send": {"channel": "preferred", "template": "x/a"}},
    {"id": "follow_up", "at": {"days": 1}, "send": {"channel": "email", "template": "x/b"}},
    {"id": "call", "task": {"role": "associate", "reason": "Call them", "sla": {"hours": 24}}},
]


@dataclass
class Seeded:
    store: Store
    sequence_key: str
    t0: datetime
    leads: list[uuid.UUID] = field(default_factory=list)
    priya: uuid.UUID | None = None


def _version(session: Session, key: str) -> SequenceVersion:
    version = SequenceVersion(
        key=key,
        version=1,
        name="Dashboard test journey",
        body={"key": key, "name": "Dashboard test journey", "steps": STEPS},
        content_hash=uuid.uuid4().hex,
        published_by="tests",
    )
    session.add(version)
    session.flush()
    return version


def seed_branch(session: Session, now: datetime, *, name: str | None = None) -> Seeded:
    """One branch with the rows described in this module's docstring."""
    store = new_store(session)
    if name:
        store.name = name
    session.flush()
    priya = session.scalars(
        select(Staff).where(Staff.store_id == store.id, Staff.role == StaffRole.ASSOCIATE)
    ).one()
    key = f"dash_{uuid.uuid4().hex[:10]}"
    version = _version(session, key)
    t0 = now - timedelta(days=2)
    today = now.date()
    seeded = Seeded(store, key, t0, priya=priya.id)

    def lead(source: str, segment: str | None, created: datetime, **more: object) -> Lead:
        row = Lead(store_id=store.id, source=source, segment=segment, created_at=created, **more)
        session.add(row)
        session.flush()
        seeded.leads.append(row.id)
        return row

    l1 = lead("instagram", "bridal", t0, owner_id=priya.id, stage=Stage.PURCHASE)
    l1.first_name = '=HYPERLINK("x")'  # a name typed by the public: exported inert
    l2 = lead(
        "instagram",
        "bridal",
        t0,
        occasion_dates={"wedding": (today + timedelta(days=20)).isoformat()},
    )
    l3 = lead("instagram", "engagement", t0)
    wedding_day = today + timedelta(days=10)
    l4 = lead(
        "web_form",
        "engagement",
        t0,
        occasion_dates={"anniversary": date(2015, wedding_day.month, wedding_day.day).isoformat()},
    )
    lead("web_form", "engagement", t0)
    lead("walk_in", None, t0)
    l7 = lead("web_form", "engagement", now - timedelta(days=40))
    l8 = lead("instagram", "bridal", now - timedelta(days=40))

    def journey(row: Lead, status: JourneyStatus, outcome: str | None) -> Enrollment:
        enrollment = Enrollment(
            lead_id=row.id,
            sequence_version_id=version.id,
            sequence_key=key,
            workflow_id=f"journey:{row.id}:{key}",
            status=status,
            outcome=outcome,
            started_at=row.created_at,
            ended_at=None if status is JourneyStatus.ACTIVE else now - timedelta(hours=1),
        )
        session.add(enrollment)
        session.flush()
        return enrollment

    e1 = journey(l1, JourneyStatus.CONVERTED, "purchase")
    e2 = journey(l2, JourneyStatus.ACTIVE, None)
    e3 = journey(l3, JourneyStatus.EXITED, "opted_out")
    e4 = journey(l4, JourneyStatus.COMPLETED, "completed")
    journey(l7, JourneyStatus.ACTIVE, None)  # still in its journey, silent for 20 days: cold

    def touch(
        row: Lead,
        enrollment: Enrollment,
        step: str,
        channel: Channel,
        status: TouchStatus,
        after: timedelta,
        sent: bool = True,
        reason: str | None = None,
    ) -> None:
        session.add(
            Touch(
                lead_id=row.id,
                store_id=row.store_id,
                enrollment_id=enrollment.id,
                sequence_key=enrollment.sequence_key,
                step_id=step,
                channel=channel,
                purpose=Purpose.MARKETING,
                template="x/a",
                idempotency_key=f"{enrollment.workflow_id}:{step}",
                status=status,
                reason=reason,
                created_at=row.created_at + after,
                sent_at=row.created_at + after if sent else None,
            )
        )

    minute = timedelta(minutes=1)
    touch(l1, e1, "welcome", Channel.WHATSAPP, TouchStatus.DELIVERED, 3 * minute)
    touch(l1, e1, "follow_up", Channel.EMAIL, TouchStatus.CLICKED, timedelta(days=1))
    touch(l2, e2, "welcome", Channel.EMAIL, TouchStatus.REPLIED, 20 * minute)
    touch(l3, e3, "welcome", Channel.SMS, TouchStatus.SUPPRESSED, minute, False, "no_consent")
    touch(l4, e4, "welcome", Channel.EMAIL, TouchStatus.BOUNCED, 70 * minute)

    def task(row: Lead, made: timedelta, acked: timedelta | None, status: TaskStatus) -> None:
        session.add(
            Task(
                store_id=store.id,
                lead_id=row.id,
                kind="call",
                role_needed=StaffRole.ASSOCIATE,
                assignee_id=priya.id,
                reason="Call them",
                sla_due_at=row.created_at + made + timedelta(hours=1),
                status=status,
                acknowledged_at=row.created_at + acked if acked else None,
                created_at=row.created_at + made,
            )
        )

    task(l1, minute, 10 * minute, TaskStatus.ACKNOWLEDGED)
    task(l2, 5 * minute, None, TaskStatus.OPEN)  # its SLA passed: a breach, open now

    def event(row: Lead, kind: str, at: datetime, payload: dict[str, object] | None = None) -> None:
        session.add(
            Event(
                store_id=store.id,
                lead_id=row.id,
                kind=kind,
                source="test",
                payload=payload or {},
                occurred_at=at,
                idempotency_key=uuid.uuid4().hex,
            )
        )

    event(l2, "reply", t0 + timedelta(hours=1))
    event(
        l1,
        "appointment_booked",
        t0 + timedelta(hours=2),
        {"at": (t0 + timedelta(days=1)).isoformat()},
    )
    event(l1, "store_visit", t0 + timedelta(days=1, hours=1))
    event(l3, "opted_out", t0 + timedelta(hours=1), {"channel": "sms"})
    event(l7, "reply", now - timedelta(days=20))  # engaged, then silent: going cold
    event(l8, "reply", now - timedelta(days=20))
    event(l8, "opted_out", now - timedelta(days=19))  # ... but opted out: not cold
    session.add(
        Purchase(
            store_id=store.id,
            lead_id=l1.id,
            pos_transaction_id=uuid.uuid4().hex,
            amount_minor=12_500_000,
            currency="INR",
            associate_id=priya.id,
            purchased_at=t0 + timedelta(days=1, hours=2),
        )
    )
    session.flush()
    return seeded
