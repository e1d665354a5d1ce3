"""All queries live here. Repositories never commit: the caller owns the unit of work."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence as Seq
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Insert, Table, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import (
    ApiKey,
    Consent,
    Enrollment,
    Event,
    Lead,
    Purchase,
    ScoringModel,
    SequenceVersion,
    Staff,
    Store,
    Task,
    Touch,
)
from db.types import utcnow
from sequences.vocabulary import (
    Channel,
    ConsentStatus,
    JourneyStatus,
    Purpose,
    StaffRole,
    TaskStatus,
    TouchStatus,
)


def _insert_ignoring_conflicts(session: Session, table: Any, values: dict[str, Any]) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING, spelled for the session's dialect."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).values(**values).on_conflict_do_nothing()


class StoreRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, store_id: uuid.UUID) -> Store | None:
        return self.session.get(Store, store_id)

    def add(self, store: Store) -> Store:
        self.session.add(store)
        self.session.flush()
        return store

    def by_name(self, name: str) -> Store | None:
        return self.session.scalars(select(Store).where(Store.name == name)).first()


class StaffRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, staff: Staff) -> Staff:
        self.session.add(staff)
        self.session.flush()
        return staff

    def for_store(self, store_id: uuid.UUID) -> Seq[Staff]:
        return self.session.scalars(
            select(Staff).where(Staff.store_id == store_id).order_by(Staff.name)
        ).all()

    def get(self, staff_id: uuid.UUID) -> Staff | None:
        return self.session.get(Staff, staff_id)


class LeadRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, lead_id: uuid.UUID) -> Lead | None:
        return self.session.get(Lead, lead_id)

    def find_by_identity(
        self, store_id: uuid.UUID, *, phone_e164: str | None, email: str | None
    ) -> Lead | None:
        """The store's lead with this phone or email; a phone match wins over an email match."""
        keys = []
        if phone_e164:
            keys.append(Lead.phone_e164 == phone_e164)
        if email:
            keys.append(Lead.email == email)
        if not keys:
            return None
        candidates = self.session.scalars(
            select(Lead).where(Lead.store_id == store_id, or_(*keys))
        ).all()
        for lead in candidates:
            if phone_e164 and lead.phone_e164 == phone_e164:
                return lead
        return candidates[0] if candidates else None

    def add(self, lead: Lead) -> Lead:
        self.session.add(lead)
        self.session.flush()
        return lead


class ConsentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def grant(
        self,
        lead_id: uuid.UUID,
        channel: Channel,
        purpose: Purpose,
        *,
        source: str,
        evidence: str | None,
        at: datetime,
    ) -> Consent:
        """Record consent. A revoked row is granted again only by this explicit call."""
        consent = self.session.scalars(
            select(Consent).where(
                Consent.lead_id == lead_id, Consent.channel == channel, Consent.purpose == purpose
            )
        ).first()
        if consent is None:
            consent = Consent(lead_id=lead_id, channel=channel, purpose=purpose)
            self.session.add(consent)
        consent.status = ConsentStatus.GRANTED
        consent.source = source
        consent.evidence = evidence
        consent.captured_at = at
        consent.revoked_at = None
        consent.revoked_via = None
        self.session.flush()
        return consent

    def for_lead(self, lead_id: uuid.UUID) -> Seq[Consent]:
        return self.session.scalars(
            select(Consent).where(Consent.lead_id == lead_id).order_by(Consent.channel)
        ).all()

    def is_granted(self, lead_id: uuid.UUID, channel: Channel, purpose: Purpose) -> bool:
        status = self.session.scalar(
            select(Consent.status).where(
                Consent.lead_id == lead_id, Consent.channel == channel, Consent.purpose == purpose
            )
        )
        return status is ConsentStatus.GRANTED

    def is_revoked_anywhere(self, lead_id: uuid.UUID, channel: Channel) -> bool:
        """A STOP on a channel wins over every purpose on that channel."""
        return (
            self.session.scalar(
                select(Consent.id).where(
                    Consent.lead_id == lead_id,
                    Consent.channel == channel,
                    Consent.status == ConsentStatus.REVOKED,
                )
            )
            is not None
        )


class EventRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_key(self, store_id: uuid.UUID, idempotency_key: str) -> Event | None:
        return self.session.scalars(
            select(Event).where(
                Event.store_id == store_id, Event.idempotency_key == idempotency_key
            )
        ).first()

    def add(self, event: Event) -> Event:
        self.session.add(event)
        self.session.flush()
        return event

    def for_lead(self, lead_id: uuid.UUID) -> Seq[Event]:
        return self.session.scalars(
            select(Event).where(Event.lead_id == lead_id).order_by(Event.occurred_at, Event.id)
        ).all()


def content_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class SequenceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def latest(self, key: str) -> SequenceVersion | None:
        return self.session.scalars(
            select(SequenceVersion)
            .where(SequenceVersion.key == key)
            .order_by(SequenceVersion.version.desc())
        ).first()

    def get(self, version_id: uuid.UUID) -> SequenceVersion | None:
        return self.session.get(SequenceVersion, version_id)

    def latest_of_each(self) -> Seq[SequenceVersion]:
        """The newest version of every sequence, ordered by key."""
        newest = (
            select(SequenceVersion.key, func.max(SequenceVersion.version).label("version"))
            .group_by(SequenceVersion.key)
            .subquery()
        )
        return self.session.scalars(
            select(SequenceVersion)
            .join(
                newest,
                (SequenceVersion.key == newest.c.key)
                & (SequenceVersion.version == newest.c.version),
            )
            .order_by(SequenceVersion.key)
        ).all()

    def publish(self, key: str, name: str, body: dict[str, Any], *, by: str) -> SequenceVersion:
        """A new immutable version, unless the body is the same as the latest one."""
        latest = self.latest(key)
        digest = content_hash(body)
        if latest is not None and latest.content_hash == digest:
            return latest
        version = SequenceVersion(
            key=key,
            version=(latest.version + 1) if latest else 1,
            name=name,
            body=body,
            content_hash=digest,
            published_by=by,
        )
        self.session.add(version)
        self.session.flush()
        return version


class EnrollmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_workflow_id(self, workflow_id: str) -> Enrollment | None:
        return self.session.scalars(
            select(Enrollment).where(Enrollment.workflow_id == workflow_id)
        ).first()

    def add(self, enrollment: Enrollment) -> Enrollment:
        self.session.add(enrollment)
        self.session.flush()
        return enrollment

    def for_lead(self, lead_id: uuid.UUID) -> Seq[Enrollment]:
        return self.session.scalars(
            select(Enrollment).where(Enrollment.lead_id == lead_id).order_by(Enrollment.started_at)
        ).all()

    def active_for_lead(self, lead_id: uuid.UUID) -> Seq[Enrollment]:
        return self.session.scalars(
            select(Enrollment).where(
                Enrollment.lead_id == lead_id, Enrollment.status == JourneyStatus.ACTIVE
            )
        ).all()

    def finish(
        self,
        workflow_id: str,
        *,
        status: JourneyStatus,
        outcome: str | None,
        revenue_minor: int | None,
        currency: str | None,
    ) -> None:
        self.session.execute(
            update(Enrollment)
            .where(Enrollment.workflow_id == workflow_id)
            .values(
                status=status,
                outcome=outcome,
                revenue_minor=revenue_minor,
                currency=currency,
                ended_at=utcnow(),
            )
        )


class TouchRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, touch: Touch) -> tuple[Touch, bool]:
        """Insert the touch unless its idempotency key exists. Returns (row, newly claimed)."""
        values = {
            column.key: getattr(touch, column.key)
            for column in Touch.__table__.columns
            if getattr(touch, column.key) is not None
        }
        values.setdefault("id", uuid.uuid4())
        now = utcnow()
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        inserted = self.session.execute(
            _insert_ignoring_conflicts(self.session, Touch, values).returning(Touch.id)
        ).scalar()
        row = self.session.scalars(
            select(Touch).where(Touch.idempotency_key == touch.idempotency_key)
        ).one()
        return row, inserted is not None

    def get(self, touch_id: uuid.UUID) -> Touch | None:
        return self.session.get(Touch, touch_id)

    def mark_sent(
        self, touch_id: uuid.UUID, *, provider: str, provider_message_id: str, at: datetime
    ) -> Touch:
        touch = self.session.get_one(Touch, touch_id)
        touch.status = TouchStatus.SENT
        touch.provider = provider
        touch.provider_message_id = provider_message_id
        touch.sent_at = at
        self.session.flush()
        return touch

    def for_lead(self, lead_id: uuid.UUID) -> Seq[Touch]:
        return self.session.scalars(
            select(Touch).where(Touch.lead_id == lead_id).order_by(Touch.created_at, Touch.id)
        ).all()


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, api_key: ApiKey) -> ApiKey:
        self.session.add(api_key)
        self.session.flush()
        return api_key

    def by_key(self, key: str) -> ApiKey | None:
        return self.session.scalars(
            select(ApiKey).where(ApiKey.key_hash == hash_api_key(key), ApiKey.revoked_at.is_(None))
        ).first()


OPEN_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.ACKNOWLEDGED)


class TaskRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def open_idempotent(self, task: Task) -> tuple[Task, bool]:
        """Insert the task unless its idempotency key exists. Returns (row, newly created)."""
        values = {
            column.key: getattr(task, column.key)
            for column in Task.__table__.columns
            if getattr(task, column.key) is not None
        }
        values.setdefault("id", uuid.uuid4())
        now = utcnow()
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        values.setdefault("status", TaskStatus.OPEN)
        values.setdefault("history", [])
        values.setdefault("priority", "warm")
        inserted = self.session.execute(
            _insert_ignoring_conflicts(self.session, Task, values).returning(Task.id)
        ).scalar()
        row = self.session.scalars(
            select(Task).where(Task.idempotency_key == task.idempotency_key)
        ).one()
        return row, inserted is not None

    def get(self, task_id: uuid.UUID) -> Task | None:
        return self.session.get(Task, task_id)

    def open_of_kind(self, lead_id: uuid.UUID, kind: str, role: StaffRole) -> Task | None:
        return self.session.scalars(
            select(Task)
            .where(
                Task.lead_id == lead_id,
                Task.kind == kind,
                Task.role_needed == role,
                Task.status.in_(OPEN_TASK_STATUSES),
            )
            .order_by(Task.created_at)
        ).first()

    def for_lead(self, lead_id: uuid.UUID, *, open_only: bool = False) -> Seq[Task]:
        query = select(Task).where(Task.lead_id == lead_id)
        if open_only:
            query = query.where(Task.status.in_(OPEN_TASK_STATUSES))
        return self.session.scalars(query.order_by(Task.created_at, Task.id)).all()

    def search(
        self,
        *,
        store_id: uuid.UUID | None,
        assignee_id: uuid.UUID | None,
        statuses: Seq[TaskStatus],
        priority: str | None,
        limit: int,
    ) -> Seq[Task]:
        """Tasks by SLA due time (soonest first), filtered as given."""
        query = select(Task).where(Task.status.in_(statuses))
        if store_id is not None:
            query = query.where(Task.store_id == store_id)
        if assignee_id is not None:
            query = query.where(Task.assignee_id == assignee_id)
        if priority is not None:
            query = query.where(Task.priority == priority)
        order = (Task.sla_due_at.is_(None), Task.sla_due_at, Task.created_at, Task.id)
        return self.session.scalars(query.order_by(*order).limit(limit)).all()

    def open_counts(self, store_id: uuid.UUID) -> dict[uuid.UUID, int]:
        rows = self.session.execute(
            select(Task.assignee_id, func.count())
            .where(Task.store_id == store_id, Task.status.in_(OPEN_TASK_STATUSES))
            .group_by(Task.assignee_id)
        ).all()
        return {staff_id: count for staff_id, count in rows if staff_id is not None}

    def completed_counts(self, store_id: uuid.UUID) -> dict[uuid.UUID, int]:
        rows = self.session.execute(
            select(Task.assignee_id, func.count())
            .where(Task.store_id == store_id, Task.status == TaskStatus.COMPLETED)
            .group_by(Task.assignee_id)
        ).all()
        return {staff_id: count for staff_id, count in rows if staff_id is not None}

    def sales_counts(self, store_id: uuid.UUID) -> dict[uuid.UUID, int]:
        """Purchases credited to each staff member at the till."""
        rows = self.session.execute(
            select(Purchase.associate_id, func.count())
            .where(Purchase.store_id == store_id, Purchase.associate_id.is_not(None))
            .group_by(Purchase.associate_id)
        ).all()
        return {staff_id: count for staff_id, count in rows if staff_id is not None}

    def last_associate(self, lead_id: uuid.UUID) -> uuid.UUID | None:
        """The associate who most recently had one of the lead's tasks."""
        return self.session.scalar(
            select(Task.assignee_id)
            .join(Staff, Staff.id == Task.assignee_id)
            .where(Task.lead_id == lead_id, Staff.role == StaffRole.ASSOCIATE)
            .order_by(Task.created_at.desc())
            .limit(1)
        )


class ScoringModelRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, model: ScoringModel) -> ScoringModel:
        self.session.add(model)
        self.session.flush()
        return model

    def current(self, store_id: uuid.UUID) -> ScoringModel | None:
        """The store's most recently promoted model, or None while the rules score is in use."""
        return self.session.scalars(
            select(ScoringModel)
            .where(ScoringModel.store_id == store_id, ScoringModel.promoted.is_(True))
            .order_by(ScoringModel.promoted_at.desc())
        ).first()

    def history(self, store_id: uuid.UUID, limit: int = 20) -> Seq[ScoringModel]:
        return self.session.scalars(
            select(ScoringModel)
            .where(ScoringModel.store_id == store_id)
            .order_by(ScoringModel.created_at.desc())
            .limit(limit)
        ).all()


class QualificationReader:
    """Bulk reads for scoring: plain rows, no ORM objects, so 100,000 leads read quickly."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def lead_ids(
        self, *, after: uuid.UUID | None, limit: int, store_id: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        """A page of lead ids in id order, optionally of one store."""
        query = select(Lead.id).order_by(Lead.id).limit(limit)
        if after is not None:
            query = query.where(Lead.id > after)
        if store_id is not None:
            query = query.where(Lead.store_id == store_id)
        return list(self.session.scalars(query).all())

    def store_ids(self) -> list[uuid.UUID]:
        return list(self.session.scalars(select(Store.id).order_by(Store.id)).all())

    def leads(self, lead_ids: Seq[uuid.UUID]) -> Seq[Any]:
        return self.session.execute(
            select(
                Lead.id,
                Lead.store_id,
                Lead.created_at,
                Lead.source,
                Lead.budget_band,
                Lead.occasion_dates,
                Lead.segment,
                Lead.language,
                Lead.attributes,
            ).where(Lead.id.in_(lead_ids))
        ).all()

    def events(self, lead_ids: Seq[uuid.UUID]) -> Seq[Any]:
        return self.session.execute(
            select(Event.lead_id, Event.kind, Event.occurred_at, Event.payload)
            .where(Event.lead_id.in_(lead_ids))
            .order_by(Event.lead_id, Event.occurred_at)
        ).all()

    def purchases(self, lead_ids: Seq[uuid.UUID]) -> Seq[Any]:
        return self.session.execute(
            select(Purchase.lead_id, Purchase.purchased_at).where(Purchase.lead_id.in_(lead_ids))
        ).all()

    def write_scores(self, scores: Seq[dict[str, Any]]) -> None:
        """Store many scores at once (dicts: lead_id, score, priority, version, explanation, at)."""
        if not scores:
            return
        table = cast(Table, Lead.__table__)
        statement = (
            update(table)
            .where(table.c.id == bindparam("lead_id"))
            .values(
                score=bindparam("score"),
                priority=bindparam("priority"),
                score_model_version=bindparam("version"),
                score_explanation=bindparam("explanation"),
                scored_at=bindparam("at"),
            )
        )
        self.session.connection().execute(statement, list(scores))

    def active_lead_ids(self, *, limit: int) -> list[uuid.UUID]:
        """Leads with a running journey, for the going-cold sweep."""
        return list(
            self.session.scalars(
                select(Enrollment.lead_id)
                .where(Enrollment.status == JourneyStatus.ACTIVE)
                .distinct()
                .limit(limit)
            ).all()
        )
