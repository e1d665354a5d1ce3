"""Campaigns: marketing's one-off or seasonal send (a festival, a new collection) to an audience.

Rules:
- the audience is every lead that matches all the filters given (branch, segment, score tier,
  last purchase before/after a date) AND has marketing consent on at least one of the
  campaign's channels, AND is not already running the campaign's sequence (a lead in the
  Diwali journey through its segment is not enrolled a second time);
- the preview counts that audience and renders the sequence's first message for one of them;
  the count is what a start then enrolls, batch by batch, in lead id order;
- starting checks the sequence's festival dates are known for the year it would run in;
- each lead gets a journey of its own under the campaign (`campaign_journey_workflow_id`);
  every message still passes the send gate (consent, quiet hours, caps) at send time;
- a cancel stops enrolling at once and ends the campaign's journeys that are still running:
  what was sent stays sent, nothing more goes out.

A campaign's `status`: draft → running → completed, or → cancelled (from draft or running).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from core.vocabulary import ConsentStatus, JourneyStatus
from core.workflow_ids import campaign_journey_workflow_id, campaign_workflow_id
from db.models import (
    Campaign,
    CampaignMember,
    Consent,
    Enrollment,
    Lead,
    Purchase,
    SequenceVersion,
    Store,
)
from db.repositories import EnrollmentRepository, SequenceRepository
from db.types import utcnow
from domain import sequences as library
from domain.access import Actor
from domain.enrollment import JourneyToStart
from domain.errors import Conflict, InvalidField, NotFound
from domain.reference import Reference
from domain.sequences import check_festival_dates
from sequences.model import Sequence
from sequences.preview import PlannedStep, plan
from sequences.templates import MergeFields, RenderedMessage, TemplateProblem, render
from sequences.timing import local_date
from sequences.vocabulary import Channel, Priority, Purpose

# Leads enrolled by one batch activity: small enough to heartbeat often, large enough that a
# campaign of 10,000 leads is a hundred activities.
BATCH_SIZE = 100


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class MemberOutcome(StrEnum):
    ENROLLED = "enrolled"
    ALREADY_RUNNING = "already_running"  # joined the sequence another way meanwhile


@dataclass(frozen=True)
class Audience:
    """Who a campaign reaches. None means "any"; `channels` must name at least one."""

    channels: tuple[Channel, ...]
    store_id: uuid.UUID | None = None
    segment: str | None = None
    score_tier: Priority | None = None
    last_purchase_before: date | None = None
    last_purchase_after: date | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "store_id": str(self.store_id) if self.store_id else None,
            "segment": self.segment,
            "score_tier": self.score_tier.value if self.score_tier else None,
            "last_purchase_before": self.last_purchase_before.isoformat()
            if self.last_purchase_before
            else None,
            "last_purchase_after": self.last_purchase_after.isoformat()
            if self.last_purchase_after
            else None,
        }

    @classmethod
    def of(cls, campaign: Campaign) -> Audience:
        given = campaign.audience
        return cls(
            channels=tuple(Channel(c) for c in campaign.channels),
            store_id=uuid.UUID(given["store_id"]) if given.get("store_id") else None,
            segment=given.get("segment"),
            score_tier=Priority(given["score_tier"]) if given.get("score_tier") else None,
            last_purchase_before=_day(given.get("last_purchase_before")),
            last_purchase_after=_day(given.get("last_purchase_after")),
        )


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def audience_query(audience: Audience, sequence_key: str) -> Select[uuid.UUID]:
    """The ids of the audience's leads, in id order (the order batches enroll them in)."""
    query = select(Lead.id).order_by(Lead.id)
    if audience.store_id is not None:
        query = query.where(Lead.store_id == audience.store_id)
    if audience.segment is not None:
        query = query.where(Lead.segment == audience.segment)
    if audience.score_tier is not None:
        query = query.where(Lead.priority == audience.score_tier.value)
    if audience.last_purchase_before or audience.last_purchase_after:
        last = (
            select(Purchase.lead_id, func.max(Purchase.purchased_at).label("last"))
            .group_by(Purchase.lead_id)
            .subquery()
        )
        query = query.join(last, last.c.lead_id == Lead.id)
        if audience.last_purchase_before:
            query = query.where(last.c.last < _midnight(audience.last_purchase_before))
        if audience.last_purchase_after:
            query = query.where(last.c.last >= _midnight(audience.last_purchase_after))
    consented = exists().where(
        Consent.lead_id == Lead.id,
        Consent.purpose == Purpose.MARKETING,
        Consent.status == ConsentStatus.GRANTED,
        Consent.channel.in_(audience.channels),
    )
    running = exists().where(
        Enrollment.lead_id == Lead.id,
        Enrollment.sequence_key == sequence_key,
        Enrollment.status == JourneyStatus.ACTIVE,
    )
    return query.where(consented, ~running)


def audience_count(session: Session, audience: Audience, sequence_key: str) -> int:
    inner = audience_query(audience, sequence_key).order_by(None).subquery()
    return session.scalar(select(func.count()).select_from(inner)) or 0


# --- creating and previewing ------------------------------------------------------------------


def _journey_version(session: Session, sequence_key: str) -> SequenceVersion:
    version = SequenceRepository(session).latest(sequence_key)
    if version is None:
        raise InvalidField("sequence_key", f"no published sequence {sequence_key!r}")
    if version.body.get("occasion"):
        raise InvalidField(
            "sequence_key",
            f"{sequence_key!r} is a yearly countdown to a lead's own date; choose a journey",
        )
    return version


def create(
    session: Session,
    actor: Actor,
    *,
    name: str,
    sequence_key: str,
    audience: Audience,
    campaign_id: uuid.UUID | None = None,
) -> Campaign:
    """A draft campaign; nothing is sent until it is started. `campaign_id`: the id a form
    chose, so a double submit finds the campaign it made."""
    if campaign_id is not None:
        existing = session.get(Campaign, campaign_id)
        if existing is not None:
            return get(session, campaign_id, actor)
    if not audience.channels:
        raise InvalidField("channels", "name at least one channel the audience consented to")
    _journey_version(session, sequence_key)
    store_id = audience.store_id or actor.store_id
    if store_id is not None:
        actor.check_store(store_id)
        if session.get(Store, store_id) is None:
            raise InvalidField("store_id", f"no store {store_id}")
    campaign = Campaign(
        id=campaign_id or uuid.uuid4(),
        name=name,
        sequence_key=sequence_key,
        store_id=store_id,
        audience={**audience.as_json(), "store_id": str(store_id) if store_id else None},
        channels=[channel.value for channel in audience.channels],
        status=CampaignStatus.DRAFT.value,
        created_by=actor.name,
    )
    session.add(campaign)
    session.flush()
    return campaign


def get(session: Session, campaign_id: uuid.UUID, actor: Actor) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or (
        campaign.store_id is not None and not actor.may_access_store(campaign.store_id)
    ):
        raise NotFound(f"campaign {campaign_id}")
    if campaign.store_id is None and actor.store_id is not None:
        raise NotFound(f"campaign {campaign_id}")
    return campaign


def listed(session: Session, actor: Actor) -> list[Campaign]:
    """The campaigns the actor may see, newest first."""
    query = select(Campaign).order_by(Campaign.created_at.desc())
    if actor.store_id is not None:
        query = query.where(Campaign.store_id == actor.store_id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class SampleMessage:
    step_id: str
    channel: Channel
    message: RenderedMessage


@dataclass(frozen=True)
class CampaignPreview:
    campaign: Campaign
    count: int
    sample_lead_id: uuid.UUID | None
    sample: SampleMessage | None
    problem: str | None = None  # why no sample could be shown
    # When each step would reach the sample lead, enrolled now (`sequences.preview.plan`).
    timezone: str | None = None
    plan: list[PlannedStep] = field(default_factory=list)


def preview(
    session: Session, campaign_id: uuid.UUID, actor: Actor, now: datetime | None = None
) -> CampaignPreview:
    """How many leads a start would enroll now, the first message one of them would get, and
    the dated plan of the sequence for that lead."""
    found = _previewed(session, campaign_id, actor)
    if found.sample_lead_id is None:
        return found
    sample = library.sample_of_lead(session, found.sample_lead_id, actor)
    version = _journey_version(session, found.campaign.sequence_key)
    planned = plan(Sequence.model_validate(version.body), sample, now or utcnow())
    return replace(found, timezone=sample.timezone, plan=planned)


def _previewed(session: Session, campaign_id: uuid.UUID, actor: Actor) -> CampaignPreview:
    campaign = get(session, campaign_id, actor)
    audience = Audience.of(campaign)
    count = audience_count(session, audience, campaign.sequence_key)
    first = session.scalar(audience_query(audience, campaign.sequence_key).limit(1))
    if first is None:
        return CampaignPreview(campaign, count, None, None, "no lead matches the audience")
    version = _journey_version(session, campaign.sequence_key)
    lead = session.get_one(Lead, first)
    consented = set(
        session.scalars(
            select(Consent.channel).where(
                Consent.lead_id == lead.id,
                Consent.purpose == Purpose.MARKETING,
                Consent.status == ConsentStatus.GRANTED,
            )
        )
    )
    store = session.get_one(Store, lead.store_id)
    fields = MergeFields(
        first_name=lead.first_name or "there",
        store_name=store.name,
        store_phone=store.phone or "",
        store_address=store.address or "",
    )
    for step in version.body.get("steps", []):
        send = step.get("send")
        if not send:
            continue
        wanted = send["channel"]
        order = (
            [lead.preferred_channel, *audience.channels]
            if wanted == "preferred"
            else [Channel(wanted)]
        )
        for channel in (c for c in order if c is not None and c in consented):
            try:
                message = render(send["template"], channel, fields)
            except TemplateProblem:
                continue
            return CampaignPreview(
                campaign, count, lead.id, SampleMessage(step["id"], channel, message)
            )
        return CampaignPreview(
            campaign, count, lead.id, None, f"step {step['id']!r} has no consented channel"
        )
    return CampaignPreview(campaign, count, lead.id, None, "the sequence sends no message")


# --- running ------------------------------------------------------------------------------------


def start(session: Session, campaign_id: uuid.UUID, actor: Actor, now: datetime) -> Campaign:
    """Mark the campaign running with its audience's size; the door starts its workflow.
    A festival date unknown for the year it would run in refuses the start, naming the year."""
    campaign = get(session, campaign_id, actor)
    if campaign.status == CampaignStatus.RUNNING.value:
        return campaign  # a repeated start: the workflow id keeps it to one run
    if campaign.status != CampaignStatus.DRAFT.value:
        raise Conflict(f"campaign {campaign_id} is {campaign.status}; it cannot start again")
    version = _journey_version(session, campaign.sequence_key)
    store = session.get(Store, campaign.store_id) if campaign.store_id else None
    today = now.date() if store is None else local_date(now, store.timezone)
    check_festival_dates(Sequence.model_validate(version.body), today)
    campaign.status = CampaignStatus.RUNNING.value
    campaign.total = audience_count(session, Audience.of(campaign), campaign.sequence_key)
    campaign.started_at = now
    campaign.workflow_id = campaign_workflow_id(campaign.id)
    session.flush()
    return campaign


@dataclass(frozen=True)
class Batch:
    """What one batch did: the journeys to start, and where the next batch begins."""

    journeys: list[JourneyToStart] = field(default_factory=list)
    enrolled: int = 0  # leads this batch added (a retried batch adds none twice)
    last_lead_id: uuid.UUID | None = None
    done: bool = True  # the audience is exhausted (or the campaign no longer runs)


def enroll_batch(
    session: Session,
    reference: Reference,
    campaign_id: uuid.UUID,
    *,
    after: uuid.UUID | None,
    size: int,
    number: int,
    now: datetime,
) -> Batch:
    """Enroll the next `size` audience leads after lead `after` (batch `number`): a member row
    and an enrollment each, and the campaign's progress, in one unit of work. A retried batch
    finds its own members again (their journeys run, so the audience leaves them out) and plans
    the same journeys; starting them is idempotent. A campaign that no longer runs enrolls
    nobody."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.status != CampaignStatus.RUNNING.value:
        return Batch(last_lead_id=after)
    version = _journey_version(session, campaign.sequence_key)
    fresh = audience_query(Audience.of(campaign), campaign.sequence_key).order_by(None)
    mine = select(CampaignMember.lead_id).where(CampaignMember.campaign_id == campaign_id)
    query = select(Lead.id).where(Lead.id.in_(fresh) | Lead.id.in_(mine))
    if after is not None:
        query = query.where(Lead.id > after)
    lead_ids = list(session.scalars(query.order_by(Lead.id).limit(size)))
    members = set(
        session.scalars(
            select(CampaignMember.lead_id).where(
                CampaignMember.campaign_id == campaign_id, CampaignMember.lead_id.in_(lead_ids)
            )
        )
    )
    enrollments = EnrollmentRepository(session)
    planned: list[JourneyToStart] = []
    for lead_id in lead_ids:
        workflow_id = campaign_journey_workflow_id(lead_id, campaign.sequence_key, campaign.id)
        if lead_id not in members:
            session.add(
                CampaignMember(
                    campaign_id=campaign_id,
                    lead_id=lead_id,
                    workflow_id=workflow_id,
                    outcome=MemberOutcome.ENROLLED.value,
                )
            )
        enrollment, pinned, _ = enrollments.ensure(
            lead_id, version, workflow_id, started_at=now, started_by=f"campaign:{campaign.id}"
        )
        planned.append(
            JourneyToStart(
                workflow_id=workflow_id,
                lead_id=lead_id,
                enrollment_id=enrollment.id,
                sequence_version=pinned.version,
                sequence=reference.sequence(pinned),
                status=enrollment.status,
                run=enrollment.run,
                supersedes=(),  # a campaign's journey runs beside whatever the lead is in
            )
        )
    added = len(lead_ids) - len(members)
    campaign.enrolled += added
    campaign.batches_done = max(campaign.batches_done, number)
    session.flush()
    return Batch(
        journeys=planned,
        enrolled=added,
        last_lead_id=lead_ids[-1] if lead_ids else after,
        done=len(lead_ids) < size,
    )


def finish(session: Session, campaign_id: uuid.UUID, now: datetime) -> None:
    """The workflow enrolled the whole audience: the campaign is complete."""
    campaign = session.get_one(Campaign, campaign_id)
    if campaign.status == CampaignStatus.RUNNING.value:
        campaign.status = CampaignStatus.COMPLETED.value
        campaign.finished_at = now


def cancel(session: Session, campaign_id: uuid.UUID, actor: Actor, now: datetime) -> Campaign:
    """Stop the campaign: no batch enrolls anyone after this commits. Its workflow then ends
    the journeys it started that still run (`journeys_to_end`)."""
    campaign = get(session, campaign_id, actor)
    if campaign.status in (CampaignStatus.DRAFT.value, CampaignStatus.RUNNING.value):
        campaign.status = CampaignStatus.CANCELLED.value
        campaign.finished_at = now
    elif campaign.status == CampaignStatus.COMPLETED.value:
        # Enrolling is over, but its journeys may still have messages to send: end them.
        campaign.status = CampaignStatus.CANCELLED.value
    return campaign


def is_cancelled(session: Session, campaign_id: uuid.UUID) -> bool:
    campaign = session.get(Campaign, campaign_id)
    return campaign is not None and campaign.status == CampaignStatus.CANCELLED.value


def journeys_to_end(session: Session, campaign_id: uuid.UUID) -> list[str]:
    """The workflow ids of the campaign's journeys that are still running."""
    return list(
        session.scalars(
            select(Enrollment.workflow_id)
            .join(CampaignMember, CampaignMember.workflow_id == Enrollment.workflow_id)
            .where(
                CampaignMember.campaign_id == campaign_id,
                Enrollment.status == JourneyStatus.ACTIVE,
            )
            .order_by(Enrollment.workflow_id)
        )
    )


def record_ended(session: Session, campaign_id: uuid.UUID, ended: int) -> None:
    session.get_one(Campaign, campaign_id).journeys_ended += ended


def branches(session: Session, actor: Actor) -> list[Store]:
    """The stores the actor may aim a campaign at."""
    query = select(Store).order_by(Store.name)
    if actor.store_id is not None:
        query = query.where(Store.id == actor.store_id)
    return list(session.scalars(query))


def journey_sequences(session: Session) -> list[SequenceVersion]:
    """The sequences a campaign may enroll leads in: every journey (not the countdowns)."""
    return [
        version
        for version in SequenceRepository(session).latest_of_each()
        if not version.body.get("occasion")
    ]
