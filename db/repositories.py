"""All queries live here. Repositories never commit: the caller owns the unit of work."""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Iterable
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Insert, Select, Table, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session, defer

from core.vocabulary import ConsentStatus, JourneyStatus, TaskStatus, TouchStatus
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
    WebhookReceipt,
)
from db.recent import Recent
from db.types import utcnow
from sequences.vocabulary import Channel, Purpose, StaffRole

T = TypeVar("T")


def _insert_ignoring_conflicts(session: Session, table: Any, values: dict[str, Any]) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING, spelled for the session's dialect."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).values(**values).on_conflict_do_nothing()


def _insert_once(session: Session, row: T, key: InstrumentedAttribute[Any]) -> tuple[T, bool]:
    """Insert `row` unless a row with the same unique `key` exists (INSERT … ON CONFLICT DO
    NOTHING, so concurrent attempts never both win). Returns (the stored row, inserted)."""
    model = type(row)
    values = {
        column.key: getattr(row, column.key)
        for column in model.__table__.columns  # type: ignore[attr-defined]
        if getattr(row, column.key) is not None
    }
    values.setdefault("id", uuid.uuid4())
    now = utcnow()
    values.setdefault("created_at", now)
    values.setdefault("updated_at", now)
    inserted = session.execute(
        _insert_ignoring_conflicts(session, model, values).returning(model.id)  # type: ignore[attr-defined]
    ).scalar()
    stored = session.scalars(select(model).where(key == values[key.key])).one()
    return stored, inserted is not None


@dataclass(frozen=True)
class StoreProfile:
    """What a capture needs of its store: where it is and the language it speaks."""

    id: uuid.UUID
    country: str
    timezone: str
    locale: str


_PROFILES: Recent[StoreProfile] = Recent()
_NEWEST_FOR_SEGMENT: Recent[SequenceVersion] = Recent()
_MODEL_VERSIONS: Recent[str] = Recent()


class StoreRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, store_id: uuid.UUID) -> Store | None:
        return self.session.get(Store, store_id)

    def profile(self, store_id: uuid.UUID) -> StoreProfile | None:
        """The store's country, time zone and language; read a few seconds ago at most
        (db.recent: every capture asks, and stores are not edited through Facet)."""

        def load() -> StoreProfile | None:
            store = self.get(store_id)
            if store is None:
                return None
            return StoreProfile(store.id, store.country, store.timezone, store.locale)

        return _PROFILES.get(self.session, store_id, load)

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

    def add(self, lead: Lead, *, flush: bool = True) -> Lead:
        """Add the lead; `flush=False` leaves the INSERT to the unit of work's next flush."""
        self.session.add(lead)
        if flush:
            self.session.flush()
        return lead

    def by_pos_customer(self, store_id: uuid.UUID, pos_customer_id: str) -> Lead | None:
        return self.session.scalars(
            select(Lead).where(Lead.store_id == store_id, Lead.pos_customer_id == pos_customer_id)
        ).first()

    def by_phone(self, phone_e164: str) -> Seq[Lead]:
        """Every store's lead with this number: one sender number serves them all."""
        return self.session.scalars(
            select(Lead).where(Lead.phone_e164 == phone_e164).order_by(Lead.created_at)
        ).all()


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
        (consent,) = self.grant_all(
            lead_id, [channel], purpose, source=source, evidence=evidence, at=at
        )
        return consent

    def grant_all(
        self,
        lead_id: uuid.UUID,
        channels: Iterable[Channel],
        purpose: Purpose,
        *,
        source: str,
        evidence: str | None,
        at: datetime,
        new_lead: bool = False,
    ) -> list[Consent]:
        """`grant` for several channels at once: one read of the ledger, one write.

        `new_lead`: the lead was created in this unit of work, so it has no ledger to read,
        and its rows are written with the rest of the unit of work (at its next flush).
        """
        wanted = list(dict.fromkeys(channels))
        if not wanted:
            return []
        existing = {
            consent.channel: consent
            for consent in (
                []
                if new_lead
                else self.session.scalars(
                    select(Consent).where(
                        Consent.lead_id == lead_id,
                        Consent.purpose == purpose,
                        Consent.channel.in_(wanted),
                    )
                )
            )
        }
        granted = []
        for channel in wanted:
            consent = existing.get(channel)
            if consent is None:
                consent = Consent(lead_id=lead_id, channel=channel, purpose=purpose)
                self.session.add(consent)
            consent.status = ConsentStatus.GRANTED
            consent.source = source
            consent.evidence = evidence
            consent.captured_at = at
            consent.revoked_at = None
            consent.revoked_via = None
            granted.append(consent)
        if not new_lead:
            self.session.flush()
        return granted

    def revoke(
        self, lead_id: uuid.UUID, channel: Channel, *, via: str, evidence: str | None, at: datetime
    ) -> bool:
        """Opt the lead out of every purpose on `channel`. True if anything changed.

        A lead who never consented still gets a revoked marketing row, so the STOP is on the
        ledger (and wins over any later implicit consent) until an explicit opt-in.
        """
        rows = self.session.scalars(
            select(Consent).where(Consent.lead_id == lead_id, Consent.channel == channel)
        ).all()
        if not rows:
            rows = [Consent(lead_id=lead_id, channel=channel, purpose=Purpose.MARKETING)]
            self.session.add(rows[0])
        changed = False
        for consent in rows:
            if consent.status is ConsentStatus.REVOKED:
                continue
            consent.status = ConsentStatus.REVOKED
            consent.source = consent.source or via
            consent.evidence = evidence if consent.evidence is None else consent.evidence
            consent.revoked_at = at
            consent.revoked_via = via
            changed = True
        self.session.flush()
        return changed

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

    def allowed_channels(self, lead_id: uuid.UUID, purpose: Purpose) -> set[Channel]:
        """The channels the lead may be sent `purpose` on, read in one query.

        A STOP on a channel wins over every purpose on it; marketing also needs a grant for
        marketing, a transactional message only the absence of a STOP.
        """
        rows = self.session.execute(
            select(Consent.channel, Consent.purpose, Consent.status).where(
                Consent.lead_id == lead_id
            )
        ).all()
        stopped = {channel for channel, _, status in rows if status is ConsentStatus.REVOKED}
        if purpose is Purpose.TRANSACTIONAL:
            return set(Channel) - stopped
        granted = {
            channel
            for channel, given_for, status in rows
            if given_for is purpose and status is ConsentStatus.GRANTED
        }
        return granted - stopped


class EventRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_key(self, store_id: uuid.UUID, idempotency_key: str) -> Event | None:
        return self.session.scalars(
            select(Event).where(
                Event.store_id == store_id, Event.idempotency_key == idempotency_key
            )
        ).first()

    def add(self, event: Event, *, flush: bool = True) -> Event:
        """Add the event; `flush=False` leaves the INSERT to the unit of work's next flush."""
        self.session.add(event)
        if flush:
            self.session.flush()
        return event

    def for_lead(self, lead_id: uuid.UUID) -> Seq[Event]:
        return self.session.scalars(
            select(Event).where(Event.lead_id == lead_id).order_by(Event.occurred_at, Event.id)
        ).all()

    def last_inbound(self, lead_id: uuid.UUID, source: str) -> datetime | None:
        """When the lead last wrote to us through `source` (e.g. "whatsapp"), if ever."""
        return self.session.scalar(
            select(func.max(Event.occurred_at)).where(
                Event.lead_id == lead_id,
                Event.source == source,
                Event.kind.in_(["inbound_message", "reply", "captured", "enquiry"]),
            )
        )


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

    def version(self, key: str, number: int) -> SequenceVersion | None:
        return self.session.scalars(
            select(SequenceVersion).where(
                SequenceVersion.key == key, SequenceVersion.version == number
            )
        ).first()

    def versions(self, key: str) -> Seq[SequenceVersion]:
        return self.session.scalars(
            select(SequenceVersion)
            .where(SequenceVersion.key == key)
            .order_by(SequenceVersion.version)
        ).all()

    @staticmethod
    def _newest() -> Select[SequenceVersion]:
        """Each sequence's newest version, ordered by key."""
        newest = (
            select(SequenceVersion.key, func.max(SequenceVersion.version).label("version"))
            .group_by(SequenceVersion.key)
            .subquery()
        )
        return (
            select(SequenceVersion)
            .join(
                newest,
                (SequenceVersion.key == newest.c.key)
                & (SequenceVersion.version == newest.c.version),
            )
            .order_by(SequenceVersion.key)
        )

    def latest_of_each(self) -> Seq[SequenceVersion]:
        """The newest version of every sequence, ordered by key."""
        return self.session.scalars(self._newest()).all()

    def latest_for_segment(self, segment: str) -> SequenceVersion | None:
        """The newest published journey (not a countdown) for the segment, if any.

        Filtered in SQL on the body's JSON, so a capture does not load every sequence. Every
        capture asks this, so the statement is built once (building it cost more than running
        it).
        """
        return self.session.scalars(_latest_for_segment(), {"segment": segment}).first()

    def newest_for_segment(self, segment: str | None, fallback_key: str) -> SequenceVersion | None:
        """The newest published journey for the segment, else the fallback sequence.

        Every capture asks, so the answer is kept a few seconds (db.recent; `publish` in this
        process forgets it at once) and handed to this session without a query.
        """

        def load() -> SequenceVersion | None:
            found = self.latest_for_segment(segment) if segment else None
            found = found or self.latest(fallback_key)
            if found is not None:
                self.session.expunge(found)  # the kept copy belongs to no session
            return found

        kept = _NEWEST_FOR_SEGMENT.get(self.session, (segment, fallback_key), load)
        # A clean copy joins this session as it is (SQLAlchemy's recipe for cached rows).
        return self.session.merge(kept, load=False) if kept is not None else None

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
        _NEWEST_FOR_SEGMENT.forget_on_commit(self.session)
        return version


@functools.cache
def _latest_for_segment() -> Select[SequenceVersion]:
    body = SequenceVersion.body
    return (
        SequenceRepository._newest()
        .where(
            body["segment"].as_string() == bindparam("segment"),
            body["occasion"].as_string().is_(None),
        )
        .options(defer(SequenceVersion.body))  # read only if its parse is not memoised
        .limit(1)
    )


class EnrollmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_workflow_id(self, workflow_id: str) -> Enrollment | None:
        return self.session.scalars(
            select(Enrollment).where(Enrollment.workflow_id == workflow_id)
        ).first()

    def add(self, enrollment: Enrollment, *, flush: bool = True) -> Enrollment:
        """Add the enrollment; `flush=False` leaves the INSERT to the unit of work's next flush."""
        self.session.add(enrollment)
        if flush:
            self.session.flush()
        return enrollment

    def ensure(
        self,
        lead_id: uuid.UUID,
        version: SequenceVersion,
        workflow_id: str,
        *,
        started_at: datetime | None = None,
        new_lead: bool = False,
    ) -> tuple[Enrollment, SequenceVersion, bool]:
        """The lead's enrollment under `workflow_id`, created on the latest version if new.

        Returns (enrollment, the version it is pinned to, created). A running or finished
        enrollment keeps the version it started with. `new_lead`: the lead was created in this
        unit of work, so it has no enrollment to look for, and the new one is written with the
        rest of the unit of work (at its next flush).
        """
        existing = None if new_lead else self.by_workflow_id(workflow_id)
        if existing is not None:
            pinned = self.session.get_one(SequenceVersion, existing.sequence_version_id)
            return existing, pinned, False
        enrollment = self.add(
            Enrollment(
                id=uuid.uuid4(),  # set here: the caller uses it before any flush
                lead_id=lead_id,
                sequence_version_id=version.id,
                sequence_key=version.key,
                workflow_id=workflow_id,
                status=JourneyStatus.ACTIVE,
                started_at=started_at or utcnow(),
            ),
            flush=not new_lead,
        )
        return enrollment, version, True

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
        return _insert_once(self.session, touch, Touch.idempotency_key)

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

    def by_key(self, idempotency_key: str) -> Touch | None:
        return self.session.scalars(
            select(Touch).where(Touch.idempotency_key == idempotency_key)
        ).first()

    def move(self, touch_id: uuid.UUID, *, expected: TouchStatus, to: TouchStatus) -> bool:
        """Compare-and-set the status; False if another attempt moved the touch first."""
        result = self.session.execute(
            update(Touch)
            .where(Touch.id == touch_id, Touch.status == expected)
            .values(status=to, updated_at=utcnow())
            .execution_options(synchronize_session="fetch")
        )
        return bool(getattr(result, "rowcount", 0))

    def by_provider_message_id(self, provider_message_id: str) -> Touch | None:
        return self.session.scalars(
            select(Touch).where(Touch.provider_message_id == provider_message_id)
        ).first()

    def marketing_sent_times(self, lead_id: uuid.UUID, since: datetime) -> Seq[datetime]:
        """When marketing messages reached the provider for this lead, across all journeys."""
        return self.session.scalars(
            select(Touch.sent_at).where(
                Touch.lead_id == lead_id,
                Touch.purpose == Purpose.MARKETING,
                Touch.sent_at.is_not(None),
                Touch.sent_at >= since,
            )
        ).all()  # type: ignore[return-value]


class WebhookReceiptRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def first_time(self, source: str, external_id: str) -> bool:
        """Record a provider callback; False if it was already recorded (a replay)."""
        inserted = self.session.execute(
            _insert_ignoring_conflicts(
                self.session,
                WebhookReceipt,
                {
                    "id": uuid.uuid4(),
                    "source": source,
                    "external_id": external_id,
                    "received_at": utcnow(),
                },
            ).returning(WebhookReceipt.id)
        ).scalar()
        return inserted is not None


class PurchaseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_transaction(self, store_id: uuid.UUID, pos_transaction_id: str) -> Purchase | None:
        return self.session.scalars(
            select(Purchase).where(
                Purchase.store_id == store_id, Purchase.pos_transaction_id == pos_transaction_id
            )
        ).first()

    def add(self, purchase: Purchase) -> Purchase:
        self.session.add(purchase)
        self.session.flush()
        return purchase

    def latest_items(self, lead_id: uuid.UUID) -> list[str]:
        """Names of the items in the lead's latest purchase, for a thank-you's copy."""
        items = self.session.scalar(
            select(Purchase.items)
            .where(Purchase.lead_id == lead_id)
            .order_by(Purchase.purchased_at.desc())
            .limit(1)
        )
        return [
            str(item.get("name", item)) if isinstance(item, dict) else str(item)
            for item in items or []
        ]


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

    def add(self, task: Task) -> Task:
        self.session.add(task)
        self.session.flush()
        return task

    def open_idempotent(self, task: Task) -> tuple[Task, bool]:
        """Insert the task unless its idempotency key exists. Returns (row, newly created)."""
        task.status = task.status or TaskStatus.OPEN
        task.history = task.history or []
        task.priority = task.priority or "warm"
        return _insert_once(self.session, task, Task.idempotency_key)

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

    def cancel_open(self, lead_id: uuid.UUID, *, at: datetime, why: str, cause: str) -> list[Task]:
        """Cancel the lead's open and acknowledged tasks because of `cause` (an event id).

        Returns every task `cause` cancelled, also when called again for it (a retry).
        """
        for task in self.for_lead(lead_id, open_only=True):
            task.status = TaskStatus.CANCELLED
            entry = {"at": at.isoformat(), "event": "cancelled", "reason": why, "cause": cause}
            task.history = [*task.history, entry]
        self.session.flush()
        return [
            task
            for task in self.for_lead(lead_id)
            if task.status is TaskStatus.CANCELLED
            and any(entry.get("cause") == cause for entry in task.history)
        ]

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
        if model.promoted:
            _MODEL_VERSIONS.forget_on_commit(self.session)
        return model

    def current(self, store_id: uuid.UUID) -> ScoringModel | None:
        """The store's most recently promoted model, or None while the rules score is in use."""
        return self.session.scalars(self._current(ScoringModel, store_id)).first()

    def current_version(self, store_id: uuid.UUID) -> str | None:
        """Only the version of `current` (its body is not read). Every capture scores with
        it, so it is kept a few seconds (db.recent; a promotion in this process forgets it)."""
        return _MODEL_VERSIONS.get(
            self.session,
            store_id,
            lambda: self.session.scalars(self._current(ScoringModel.version, store_id)).first(),
            keep_missing=True,  # most stores score by the rules until their first refit
        )

    def by_version(self, version: str) -> ScoringModel:
        return self.session.scalars(
            select(ScoringModel).where(ScoringModel.version == version)
        ).one()

    @staticmethod
    def _current(what: Any, store_id: uuid.UUID) -> Select[Any]:
        return (
            select(what)
            .where(ScoringModel.store_id == store_id, ScoringModel.promoted.is_(True))
            .order_by(ScoringModel.promoted_at.desc())
            .limit(1)
        )

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

    def active_lead_ids(self, *, limit: int, store_id: uuid.UUID | None = None) -> list[uuid.UUID]:
        """Leads with a running journey (of one store, or all), for the going-cold sweep."""
        query = select(Enrollment.lead_id).where(Enrollment.status == JourneyStatus.ACTIVE)
        if store_id is not None:
            query = query.join(Lead, Lead.id == Enrollment.lead_id).where(Lead.store_id == store_id)
        return list(self.session.scalars(query.distinct().limit(limit)).all())
