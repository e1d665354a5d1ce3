"""Typed SQLAlchemy 2 models. Timestamps are UTC-aware; money is integer minor units + currency.

Relationships are `lazy="raise"`: a repository loads what a caller needs on purpose, so no
query hides inside an attribute access.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.vocabulary import ApiRole, ConsentStatus, JourneyStatus, Stage, TaskStatus, TouchStatus
from db.types import JSONDocument, MinorUnits, UTCDateTime, string_enum, utcnow
from sequences.vocabulary import Channel, Purpose, StaffRole, WorkPurpose

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONDocument,
        list[Any]: JSONDocument,
        list[str]: JSONDocument,
        Channel: string_enum(Channel),
        Purpose: string_enum(Purpose),
        ConsentStatus: string_enum(ConsentStatus),
        StaffRole: string_enum(StaffRole),
        WorkPurpose: string_enum(WorkPurpose),
        Stage: string_enum(Stage),
        JourneyStatus: string_enum(JourneyStatus),
        TouchStatus: string_enum(TouchStatus),
        TaskStatus: string_enum(TaskStatus),
        ApiRole: string_enum(ApiRole),
    }


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, default=uuid.uuid4)


def _created() -> Mapped[datetime]:
    return mapped_column(default=utcnow)


class Store(Base):
    """A branch. Its country and region drive quiet hours; its timezone is the lead default."""

    __tablename__ = "store"

    id: Mapped[uuid.UUID] = _id()
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2, e.g. "IN", "US"
    region: Mapped[str | None] = mapped_column(String(8))  # e.g. US state "FL"
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(16), default="en")
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    # Marketing frequency caps across all of a lead's journeys; None = the settings' default.
    max_marketing_per_day: Mapped[int | None]
    max_marketing_per_week: Mapped[int | None]
    # A sale's revenue goes to the journey that touched the lead last within this many days.
    attribution_window_days: Mapped[int] = mapped_column(default=30, server_default="30")
    created_at: Mapped[datetime] = _created()


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[uuid.UUID] = _id()
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("store.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[StaffRole]
    expertise: Mapped[list[str]] = mapped_column(default=list)
    languages: Mapped[list[str]] = mapped_column(default=list)
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(320))
    # How they want task notices; None: SMS when they have a phone, else email.
    notice_channel: Mapped[Channel | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    capacity: Mapped[int] = mapped_column(Integer, default=20)
    created_at: Mapped[datetime] = _created()


# The instants kept on a lead row (see Lead), in the order the cohort index carries them.
LEAD_INSTANTS = (
    "first_message_at",
    "first_contact_at",
    "first_purchase_at",
    "last_engaged_at",
    "in_journey_since",
)


class Lead(Base):
    """One person, customer or not. Identity keys are unique within a store."""

    __tablename__ = "lead"
    __table_args__ = (
        UniqueConstraint("store_id", "phone_e164"),
        UniqueConstraint("store_id", "email"),
        UniqueConstraint("store_id", "pos_customer_id"),
        # insight: a branch's leads in a period (the cohort), with what they are counted by
        # and the instants their metrics measure, read from the index alone; the branch of a
        # lead, index only
        Index(
            "ix_lead_store_created",
            "store_id",
            "created_at",
            "id",
            "source",
            "segment",
            "stage",
            "owner_id",
            *LEAD_INSTANTS,
        ),
        Index("ix_lead_id_store", "id", "store_id"),
    )

    id: Mapped[uuid.UUID] = _id()
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("store.id"), index=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(320))
    pos_customer_id: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    preferred_channel: Mapped[Channel | None]
    source: Mapped[str] = mapped_column(String(32))
    segment: Mapped[str | None] = mapped_column(String(32))
    segment_reason: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[Stage] = mapped_column(default=Stage.INTEREST)
    score: Mapped[int | None]
    score_explanation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    priority: Mapped[str | None] = mapped_column(String(16))
    score_model_version: Mapped[str | None] = mapped_column(String(64))
    scored_at: Mapped[datetime | None]
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    # What the lead told us, as they said it: a budget (an amount, or a band), occasion dates
    # (wedding, proposal, anniversary, birthday: ISO dates by kind), what they like.
    budget_band: Mapped[str | None] = mapped_column(String(32))
    budget_minor: Mapped[int | None] = mapped_column(MinorUnits)
    budget_currency: Mapped[str | None] = mapped_column(String(3))
    occasion_dates: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metals: Mapped[list[str]] = mapped_column(default=list)
    stones: Mapped[list[str]] = mapped_column(default=list)
    styles: Mapped[list[str]] = mapped_column(default=list)
    interests: Mapped[list[str]] = mapped_column(default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Set when a provider says the number or address cannot receive messages (e.g. Twilio
    # 21211, a SendGrid bounce): the gate stops using it until someone corrects it.
    phone_invalid_reason: Mapped[str | None] = mapped_column(String(64))
    email_invalid_reason: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # What the dashboards measure a lead by, drawn from its other rows over its whole history
    # and kept in step with them as they are written (db/instants.py says how): the first
    # message Facet sent them (never a staff notice), the first time a person answered a task
    # about them (acknowledged, else completed), their first purchase (an imported old sale
    # can come before they arrived), their latest engagement event, and the start of the
    # earliest of their journeys still running. None: none (yet).
    first_message_at: Mapped[datetime | None]
    first_contact_at: Mapped[datetime | None]
    first_purchase_at: Mapped[datetime | None]
    last_engaged_at: Mapped[datetime | None]
    in_journey_since: Mapped[datetime | None]


class Consent(Base):
    """Where consent stands now, one row per lead × channel × purpose (no row: no consent).

    Kept in step with the ledger (`ConsentRecord`) in the same transaction: it is the newest
    record of its (lead, channel, purpose), so the send gate reads one small row per channel.
    """

    __tablename__ = "consent"
    __table_args__ = (UniqueConstraint("lead_id", "channel", "purpose"),)

    id: Mapped[uuid.UUID] = _id()
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead.id"), index=True)
    channel: Mapped[Channel]
    purpose: Mapped[Purpose]
    status: Mapped[ConsentStatus]
    legal_basis: Mapped[str] = mapped_column(String(32), default="consent")
    source: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[str | None] = mapped_column(Text)
    captured_at: Mapped[datetime] = _created()
    revoked_at: Mapped[datetime | None]
    revoked_via: Mapped[str | None] = mapped_column(String(64))


class ConsentRecord(Base):
    """The consent ledger, append-only: every grant and revocation as it was given.

    `seq` orders a lead's records as they were written (the newest is the state now);
    `given_at` is when the person did it (a form's submission time, a text's arrival).
    """

    __tablename__ = "consent_record"
    __table_args__ = (Index("ix_consent_record_lead_seq", "lead_id", "seq"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead.id"))
    channel: Mapped[Channel]
    purpose: Mapped[Purpose]
    status: Mapped[ConsentStatus]
    legal_basis: Mapped[str] = mapped_column(String(32), default="consent")
    source: Mapped[str] = mapped_column(String(64))  # instagram, whatsapp:keyword, sendgrid:…
    captured_by: Mapped[str] = mapped_column(String(16))  # form, staff, webhook, link, provider
    captured_by_name: Mapped[str | None] = mapped_column(String(200))  # the person, for staff
    evidence: Mapped[str | None] = mapped_column(Text)  # the wording shown, what the lead sent
    given_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = _created()


class Event(Base):
    """Append-only: what happened to a lead. The idempotency key is unique within a store."""

    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("store_id", "idempotency_key"),
        # A lead's timeline, a page at a time: seeks to the cursor, reads in order, no sort.
        Index("ix_event_lead_timeline", "lead_id", "occurred_at", "id"),
        # insight: a branch's events of a kind in a period; did this lead ever reply, book, …
        Index("ix_event_store_kind", "store_id", "kind", "occurred_at"),
        # did this lead reply (book, visit, engage at all) between two instants: one seek
        # whatever the number of kinds asked about
        Index("ix_event_lead_engaged", "lead_id", "occurred_at", "kind"),
    )

    id: Mapped[uuid.UUID] = _id()
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("store.id"))
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead.id"))
    kind: Mapped[str] = mapped_column(String(48))
    source: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = _created()
    idempotency_key: Mapped[str] = mapped_column(String(200))


class SequenceVersion(Base):
    """A published, immutable version of a sequence. Running journeys keep theirs."""

    __tablename__ = "sequence_version"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[uuid.UUID] = _id()
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    published_by: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime] = _created()


class Enrollment(Base):
    """A lead in one sequence version, run by the journey workflow named here."""

    __tablename__ = "enrollment"
    __table_args__ = (
        Index("ix_enrollment_lead_sequence", "lead_id", "sequence_key", "run"),
        # insight: journeys started in a period; is this lead in an active journey
        Index(
            "ix_enrollment_started", "started_at", "lead_id", "sequence_key", "status", "outcome"
        ),
        Index("ix_enrollment_lead_status", "lead_id", "status", "started_at"),
    )

    id: Mapped[uuid.UUID] = _id()
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead.id"), index=True)
    sequence_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sequence_version.id"))
    sequence_key: Mapped[str] = mapped_column(String(100))
    workflow_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[JourneyStatus] = mapped_column(default=JourneyStatus.ACTIVE)
    started_at: Mapped[datetime] = _created()
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(64))
    revenue_minor: Mapped[int | None] = mapped_column(MinorUnits)
    currency: Mapped[str | None] = mapped_column(String(3))
    # The lead's n-th time through this sequence (a repeat purchase, a returning enquiry).
    run: Mapped[int] = mapped_column(default=1, server_default="1")
    # What started this run (e.g. "purchase:<id>"): a retried request finds the same run.
    started_by: Mapped[str | None] = mapped_column(String(200))


# What the message metrics split and filter by (insight.registry), after the branch and instant.
_TOUCH_DIMENSIONS = ("staff_id", "channel", "status", "reason", "step_id", "sequence_key")


class Touch(Base):
    """The outbox: one row per message Facet sent or chose not to send, with the reason."""

    __tablename__ = "touch"
    __table_args__ = (
        Index("ix_touch_lead_created", "lead_id", "created_at"),
        # insight: a lead's first message (speed to lead), one seek
        Index("ix_touch_lead_sent", "lead_id", "staff_id", "sent_at"),
        # insight: a branch's messages sent in a period, and its messages held back (decided)
        # in a period, each entry carrying every column the message metrics count by, so a
        # panel reads one index range and neither the wide message rows nor the lead's.
        Index("ix_touch_store_sent", "store_id", "sent_at", *_TOUCH_DIMENSIONS),
        Index(
            "ix_touch_store_status_created",
            "store_id",
            "status",
            "created_at",
            *(name for name in _TOUCH_DIMENSIONS if name != "status"),
        ),
    )

    id: Mapped[uuid.UUID] = _id()
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead.id"))
    # The lead's branch and the journey's sequence, copied when the row is written (neither
    # ever changes: a merge keeps both leads' branch, a journey keeps its sequence), so the
    # message metrics count a branch's messages without a join per message.
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("store.id"))
    enrollment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("enrollment.id"))
    sequence_key: Mapped[str | None] = mapped_column(String(100))
    # Set when the message went to a member of staff about this lead (a task notice).
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    step_id: Mapped[str] = mapped_column(String(100))
    channel: Mapped[Channel | None]
    purpose: Mapped[Purpose]
    template: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    status: Mapped[TouchStatus]
    reason: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(200), index=True)
    # WhatsApp outside the 24-hour window goes as an approved template (Twilio Content SID).
    content_sid: Mapped[str | None] = mapped_column(String(64))
    content_variables: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    # Held for quiet hours: the journey sends again at this instant (same idempotency key).
    held_until: Mapped[datetime | None]
    # Sent on another channel than the lead's preferred one: which, and `reason` says why.
    fell_back_from: Mapped[Channel | None]
    # The catalogue pieces (SKUs) the message showed, when its template picked some.
    shown_skus: Mapped[list[str] | None] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = _created()
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# A lead's timeline shows a message at the moment it was sent (or, unsent, created): pages of
# it seek to the cursor on this expression index and read in order, with no sort.
Index(
    "ix_touch_lead_timeline",
    Touch.lead_id,
    func.coalesce(Touch.sent_at, Touch.created_at),
    Touch.id,
)


_TASK_MEASURES = ("assignee_id", "kind", "status", "role_needed", "sla_due_at", "acknowledged_at")


class Task(Base):
    """Work for a person: call this lead, pick stones, review. Routed and given an SLA."""

    __tablename__ = "task"
    # insight: a branch's tasks opened in a period, its open tasks, a lead's first answer;
    # each index carries what the task metrics count by, so no task row is read
    __table_args__ = (
        Index("ix_task_store_created", "store_id", "created_at", *_TASK_MEASURES, "completed_at"),
        Index(
            "ix_task_store_status",
            "store_id",
            "status",
            "created_at",
            *(name for name in _TASK_MEASURES if name != "status"),
        ),
        Index("ix_task_lead_answered", "lead_id", "acknowledged_at", "completed_at"),
    )

    id: Mapped[uuid.UUID] = _id()
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("store.id"), index=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead.id"), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    role_needed: Mapped[StaffRole]
    # Sales work ends when the lead buys or opts out; service work (CAD, pickup) goes on.
    purpose: Mapped[WorkPurpose] = mapped_column(
        default=WorkPurpose.SALES, server_default=WorkPurpose.SALES.value
    )
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    routing_reason: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16), default="warm")
    sla_due_at: Mapped[datetime | None]
    status: Mapped[TaskStatus] = mapped_column(default=TaskStatus.OPEN)
    outcome: Mapped[str | None] = mapped_column(String(48))
    history: Mapped[list[Any]] = mapped_column(default=list)
    # The latest notice to the assignee: channel, status and why not (`no_contact`, …).
    notice: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    # Who asked for the task and for what (e.g. "qualify:<event id>" or
    # "journey:…:call_about_consult"): a retry of the same request finds the same task.
    idempotency_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    acknowledged_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ScoringModel(Base):
    """A store's learned scoring model: coefficients as JSON, held-out metrics, whether it won.

    Each store learns from its own sales. The store's newest promoted row scores its leads;
    rejected rows stay as the record of each refit.
    """

    __tablename__ = "scoring_model"

    id: Mapped[uuid.UUID] = _id()
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("store.id"), index=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default="logistic_regression")
    body: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    promoted: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    promoted_at: Mapped[datetime | None]


class Purchase(Base):
    __tablename__ = "purchase"
    __table_args__ = (
        UniqueConstraint("store_id", "pos_transaction_id"),
        Index("ix_purchase_store_purchased", "store_id", "purchased_at"),  # insight
    )

    id: Mapped[uuid.UUID] = _id()
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("store.id"))
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead.id"), index=True)
    pos_transaction_id: Mapped[str] = mapped_column(String(100))
    amount_minor: Mapped[int] = mapped_column(MinorUnits)
    currency: Mapped[str] = mapped_column(String(3))
    items: Mapped[list[Any]] = mapped_column(default=list)
    associate_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    purchased_at: Mapped[datetime]
    # The journeys this sale reached their goal in, as first recorded (a repeat answers them).
    converted_journeys: Mapped[list[str]] = mapped_column(default=list)
    # The one journey credited with its revenue (last touch within the store's window).
    credited_workflow_id: Mapped[str | None] = mapped_column(String(200))
    # How much of it has been refunded (returns), in minor units.
    refunded_minor: Mapped[int] = mapped_column(MinorUnits, default=0, server_default="0")
    created_at: Mapped[datetime] = _created()


class PurchaseReturn(Base):
    """A refund of a sale, full or partial: once per refund id, taking back credited revenue."""

    __tablename__ = "purchase_return"
    __table_args__ = (UniqueConstraint("store_id", "refund_id"),)

    id: Mapped[uuid.UUID] = _id()
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("store.id"))
    purchase_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purchase.id"), index=True)
    refund_id: Mapped[str] = mapped_column(String(100))
    amount_minor: Mapped[int] = mapped_column(MinorUnits)
    # The revenue taken back from the credited journey (0 when no journey was credited).
    reversed_minor: Mapped[int] = mapped_column(MinorUnits)
    reversed_workflow_id: Mapped[str | None] = mapped_column(String(200))
    items: Mapped[list[Any]] = mapped_column(default=list)
    returned_at: Mapped[datetime]
    created_at: Mapped[datetime] = _created()


class ApiKey(Base):
    """An API credential. Only a SHA-256 of the key is stored; the key is shown once."""

    __tablename__ = "api_key"

    id: Mapped[uuid.UUID] = _id()
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[ApiRole]
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("store.id"))
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = _created()
    revoked_at: Mapped[datetime | None]


class WebhookReceipt(Base):
    """A provider callback Facet has already acted on (SendGrid sg_event_id, Twilio SIDs).

    Providers retry and replay deliveries; the first receipt wins and later ones do nothing.
    """

    __tablename__ = "webhook_receipt"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[uuid.UUID] = _id()
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = _created()


class IdempotentRequest(Base):
    """A POST made with an `Idempotency-Key`: the first answer, replayed to a retry.

    `scope` is the SHA-256 of the caller's API key, so two callers never share keys;
    `fingerprint` is of the method, path and body, so a key reused for another request is told
    apart. A row without `status_code` is a request still being answered.
    """

    __tablename__ = "idempotent_request"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[uuid.UUID] = _id()
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    media_type: Mapped[str | None] = mapped_column(String(100))
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    completed_at: Mapped[datetime | None]


# --- the console's people (sign-in) -------------------------------------------------------------


class StaffAccount(Base):
    """A person's sign-in to the console: an email, an argon2 password hash, a role.

    `role` is an API role (a person is never `pos`); an `associate` account belongs to a staff
    member, whose own role (associate, gemologist, designer, manager) and branch decide what
    they work on. `store_id` limits an admin or marketing account to one branch (None: every
    branch); `all_branches` lets a manager see every branch. The first password is set
    through a signed invite link carrying `invite_nonce`, which setting it clears (single use).
    Signing out everywhere moves `sessions_valid_after`: sessions signed before it end.
    """

    __tablename__ = "staff_account"

    id: Mapped[uuid.UUID] = _id()
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[ApiRole]
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), unique=True)
    store_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("store.id"))
    all_branches: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(Text)
    invite_nonce: Mapped[str | None] = mapped_column(String(64))
    invited_at: Mapped[datetime | None]
    password_set_at: Mapped[datetime | None]
    sessions_valid_after: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _created()


class ChannelCheck(Base):
    """A test message an admin sent from store setup to see a channel work end to end
    (through the worker's provider for that channel, as a lead's message would go). Not a
    lead's message: it never appears on a timeline, and the address stays in this row."""

    __tablename__ = "channel_check"

    id: Mapped[uuid.UUID] = _id()
    channel: Mapped[Channel]
    recipient: Mapped[str] = mapped_column(String(320))
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_account.id"))
    status: Mapped[str] = mapped_column(String(16), default="requested")  # sent, failed
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    finished_at: Mapped[datetime | None]


class Campaign(Base):
    """A one-off or seasonal send to an audience: its leads are enrolled in the campaign's
    sequence in batches by a CampaignWorkflow, each message still through the send gate.

    `audience` holds the filters (segment, store, score tier, last purchase before/after);
    `channels` the channels a lead must have marketing consent on (any of them). The counts
    are the workflow's progress, written batch by batch."""

    __tablename__ = "campaign"

    id: Mapped[uuid.UUID] = _id()
    name: Mapped[str] = mapped_column(String(200))
    sequence_key: Mapped[str] = mapped_column(String(100))
    store_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("store.id"), index=True)
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    channels: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # see domain.campaigns
    total: Mapped[int | None]
    enrolled: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    batches_done: Mapped[int] = mapped_column(Integer, default=0)
    journeys_ended: Mapped[int] = mapped_column(Integer, default=0)
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = _created()
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class CampaignMember(Base):
    """One lead the campaign reached: the journey it enrolled them in, or why it did not."""

    __tablename__ = "campaign_member"
    __table_args__ = (UniqueConstraint("campaign_id", "lead_id"),)

    id: Mapped[uuid.UUID] = _id()
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaign.id"), index=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead.id"))
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(32))  # enrolled, or why not
    created_at: Mapped[datetime] = _created()


# --- store systems (connectors/) ----------------------------------------------------------------


class IntegrationSecret(Base):
    """A signing secret of one store system (`source`: the name in its webhook URL, e.g.
    "jewelmate-mg-road", "shopify:gems.myshopify.com", "meta"), for one branch.

    Signatures are HMACs, so Facet must hold the secret itself, not a hash of it: it is stored
    encrypted (Fernet, with a key derived from SECRET_KEY) and shown once when made. Rotation
    makes a new one and keeps the newest previous one live, so two verify at once; anything
    older is retired.
    """

    __tablename__ = "integration_secret"
    __table_args__ = (Index("ix_integration_secret_source", "source", "created_at"),)

    id: Mapped[uuid.UUID] = _id()
    source: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # contract, shopify, meta
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("store.id"))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    retired_at: Mapped[datetime | None]


class IntegrationEvent(Base):
    """The inbox: a store system's delivery, recorded once by (source, event_id) before it is
    acted on. `answer` is what the first delivery was told, repeated to every redelivery;
    `delivered_at` is set once Temporal heard, so a redelivery after an outage tells it again."""

    __tablename__ = "integration_event"
    __table_args__ = (UniqueConstraint("source", "event_id"),)

    id: Mapped[uuid.UUID] = _id()
    source: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(48))
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("store.id"))
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("lead.id", ondelete="SET NULL"))
    occurred_at: Mapped[datetime | None]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    answer: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = _created()
    processed_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class LeadExternalId(Base):
    """How another system knows a lead: its customer id there (Shopify customer 207119551,
    the POS's C-1042). One person may have one per source; a source's id names one lead."""

    __tablename__ = "lead_external_id"
    __table_args__ = (UniqueConstraint("store_id", "source", "external_id"),)

    id: Mapped[uuid.UUID] = _id()
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("store.id"))
    source: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(200))
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead.id"), index=True)
    created_at: Mapped[datetime] = _created()


class WeeklyReport(Base):
    """The owner's weekly email of one branch for one ISO week: claimed before it is sent, so
    a retried or repeated run finds the row and never sends a second email that week.

    `status`: claimed (not sent yet, or the send failed and may be tried again), sending (the
    provider is being called: a retry that finds it does not send again), sent.
    """

    __tablename__ = "weekly_report"
    __table_args__ = (UniqueConstraint("store_id", "iso_week"),)

    id: Mapped[uuid.UUID] = _id()
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("store.id"))
    iso_week: Mapped[str] = mapped_column(String(8))  # "2026-W48", in the store's time zone
    status: Mapped[str] = mapped_column(String(16), default="claimed")
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()
    sent_at: Mapped[datetime | None]


class Product(Base):
    """A piece in the store's catalogue (from a CSV, Valigara or a shop), one row per SKU.

    `active` False: a full import no longer lists it (kept, so old sales still name it).
    """

    __tablename__ = "product"
    __table_args__ = (UniqueConstraint("store_id", "sku"),)

    id: Mapped[uuid.UUID] = _id()
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("store.id"))
    sku: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(32))
    external_product_id: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(64))
    metal: Mapped[str | None] = mapped_column(String(32))
    purity: Mapped[str | None] = mapped_column(String(16))
    weight_g: Mapped[float | None] = mapped_column(Float)
    stones: Mapped[list[Any]] = mapped_column(default=list)
    price_minor: Mapped[int | None] = mapped_column(MinorUnits)
    currency: Mapped[str | None] = mapped_column(String(3))
    stock: Mapped[int] = mapped_column(Integer, default=0)
    image_url: Mapped[str | None] = mapped_column(String(1000))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ImportRun(Base):
    """One CSV import (or its dry run): where it stands while it runs, and its report after.

    `errors` holds the first bad rows (row, column, what was expected); `error_count` all of
    them. No row data is kept here: a report names rows by number, never by a person.
    """

    __tablename__ = "import_run"

    id: Mapped[uuid.UUID] = _id()
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("store.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # customers | sales | products
    source: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(8))  # delta | full
    dry_run: Mapped[bool] = mapped_column(Boolean)
    # running | done | failed | interrupted (its process stopped; the same file again ends it)
    status: Mapped[str] = mapped_column(String(16))
    started_by: Mapped[str] = mapped_column(String(200))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_failed: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    deactivated: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[Any]] = mapped_column(default=list)
    failure: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = _created()
    # When the run last wrote a unit of rows (a live run does every few seconds).
    progress_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class OutboundCall(Base):
    """A call Facet makes to a store system at most once (Valigara's `product_sold` for one
    sale line): claimed before the call, marked done after it. A retry finds the claim."""

    __tablename__ = "outbound_call"

    id: Mapped[uuid.UUID] = _id()
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("store.id"))
    key: Mapped[str] = mapped_column(String(300), unique=True)
    # claimed → calling (the request is going out) → done (answered); `unknown`: an attempt
    # that sent it was never heard from, so no later attempt sends it again.
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = _created()
    done_at: Mapped[datetime | None]
