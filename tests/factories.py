"""Rows and journeys for tests, made through the real repositories."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Sequence as Seq
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from temporalio.service import RPCError, RPCStatusCode

from core.workflow_ids import journey_workflow_id
from db.models import Enrollment, Event, Lead, Store, Touch
from db.repositories import (
    ConsentRepository,
    EnrollmentRepository,
    LeadRepository,
    SequenceRepository,
    TouchRepository,
)
from db.session import Database
from db.types import utcnow
from sequences.model import Sequence
from sequences.vocabulary import Channel, Occasion, Purpose
from workflows.journey_model import CountdownInput, JourneyInput

# How long skip_ahead goes on asking a busy time-skipping server before it calls it stuck.
SKIP_PATIENCE = timedelta(minutes=8)


async def skip_ahead(env: Any, span: timedelta) -> None:
    """Move a time-skipping server's clock `span` ahead. The server jumps only while nothing
    is in flight, and its sleep call can end early: on a busy machine (PostgreSQL, CI, a
    500-lead campaign) what falls due meanwhile can outlast the call's deadline, its long-held
    HTTP/2 stream can be dropped, or the server can fail to send its answer. Each such call is
    asked again for what is left, for as long as SKIP_PATIENCE of wall time; an error that is
    none of these is raised at once."""
    target = await env.get_current_time() + span
    give_up_at = time.monotonic() + SKIP_PATIENCE.total_seconds()
    while True:
        now = await env.get_current_time()
        if now >= target:
            return
        if time.monotonic() > give_up_at:
            raise AssertionError(
                f"the time-skipping server's clock stood at {now} after {SKIP_PATIENCE} of "
                f"asking it to reach {target}"
            )
        try:
            await env.sleep(target - now)
            return
        except RPCError as error:
            if error.status not in _CALL_CUT_SHORT:
                raise
            await asyncio.sleep(0.2)


# The ways a long sleep call is cut short without anything being wrong with the server.
_CALL_CUT_SHORT = frozenset(
    {
        RPCStatusCode.DEADLINE_EXCEEDED,  # "Timeout ..." from the client's deadline
        RPCStatusCode.CANCELLED,
        RPCStatusCode.UNAVAILABLE,  # the stream or connection dropped
        RPCStatusCode.UNKNOWN,  # "h2 protocol error" and other transport failures
        RPCStatusCode.INTERNAL,  # the answer's headers were too large to send
    }
)


def indian_mobile() -> str:
    """A valid, random Indian mobile number in E.164, unique enough for one test."""
    return f"+9198{random.randint(0, 99_999_999):08d}"


def afternoon_zone(now: datetime | None = None) -> str:
    """A fixed-offset zone where it is 13:00-14:00 now (no DST; inside every send window).

    Quiet hours follow the recipient's local time, so a test whose journey must send at once
    gives its lead a zone where it is early afternoon, whatever time the suite runs.
    """
    hour = (now or datetime.now(UTC)).astimezone(UTC).hour
    offset = (13 - hour + 12) % 24 - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def make_lead(
    database: Database,
    store: Store,
    *,
    consent: Seq[Channel] = (Channel.EMAIL, Channel.WHATSAPP),
    preferred: Channel | None = None,
    phone: str | None = "random",
    email: str | None = "random",
    timezone: str | None = None,
) -> uuid.UUID:
    def create(session) -> uuid.UUID:
        lead = LeadRepository(session).add(
            Lead(
                store_id=store.id,
                first_name="Asha",
                phone_e164=indian_mobile() if phone == "random" else phone,
                email=f"asha.{uuid.uuid4().hex[:8]}@example.com" if email == "random" else email,
                preferred_channel=preferred,
                timezone=timezone or afternoon_zone(),
                source="web_form",
            )
        )
        for channel in consent:
            ConsentRepository(session).grant(
                lead.id, channel, Purpose.MARKETING, source="test", evidence="test", at=utcnow()
            )
        return lead.id

    return database.run(create)


def enroll(
    database: Database,
    lead_id: uuid.UUID,
    *,
    sequence: Sequence | None = None,
    key: str = "engagement_welcome",
    enrolled_at: datetime | None = None,
) -> tuple[str, JourneyInput]:
    """An enrollment row and the journey input to start it with (the library's or `sequence`)."""

    def create(session) -> tuple[str, JourneyInput]:
        version = SequenceRepository(session).latest(key)
        assert version is not None, f"sequence {key} is not published"
        body = sequence or Sequence.model_validate(version.body)
        workflow_id = journey_workflow_id(lead_id, body.key) + f":{uuid.uuid4().hex[:6]}"
        enrollment = EnrollmentRepository(session).add(
            Enrollment(
                lead_id=lead_id,
                sequence_version_id=version.id,
                sequence_key=body.key,
                workflow_id=workflow_id,
                started_at=enrolled_at or utcnow(),
            )
        )
        return workflow_id, JourneyInput(
            lead_id=lead_id,
            enrollment_id=enrollment.id,
            sequence_version=version.version,
            sequence=body,
            enrolled_at=enrollment.started_at,
        )

    return database.run(create)


def set_caps(database: Database, store: Store, *, per_day: int, per_week: int) -> None:
    """Give the store its own marketing frequency caps."""

    def update(session) -> None:
        row = session.get_one(Store, store.id)
        row.max_marketing_per_day = per_day
        row.max_marketing_per_week = per_week

    database.run(update)


def touches(database: Database, lead_id: uuid.UUID) -> list[Touch]:
    """The messages sent (or held back) to the lead; notices to staff are not among them."""
    rows = database.run(lambda session: TouchRepository(session).for_lead(lead_id))
    return [touch for touch in rows if touch.staff_id is None]


def enrollment(database: Database, workflow_id: str) -> Enrollment:
    row = database.run(lambda session: EnrollmentRepository(session).by_workflow_id(workflow_id))
    assert row is not None
    return row


def enroll_countdown(
    database: Database,
    lead_id: uuid.UUID,
    *,
    sequence: Sequence,
    occasion: Occasion,
    month: int,
    day: int,
    year: int,
    enrolled_at: datetime | None = None,
) -> tuple[str, CountdownInput]:
    """An enrollment row and the input of a yearly countdown to the lead's date."""
    workflow_id, start = enroll(database, lead_id, sequence=sequence, enrolled_at=enrolled_at)
    return workflow_id.replace("journey:", "occasion:", 1), CountdownInput(
        lead_id=lead_id,
        enrollment_id=start.enrollment_id,
        sequence_version=start.sequence_version,
        sequence=sequence,
        occasion=occasion,
        month=month,
        day=day,
        year=year,
        enrolled_at=start.enrolled_at,
    )


def add_event(
    database: Database,
    store: Store,
    lead_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> uuid.UUID:
    """An event row for the lead (as the API would record it); returns its id."""

    def add(session) -> uuid.UUID:
        event = Event(
            store_id=store.id,
            lead_id=lead_id,
            kind=kind,
            source="test",
            payload=payload or {},
            occurred_at=at or utcnow(),
            idempotency_key=f"{kind}-{uuid.uuid4()}",
        )
        session.add(event)
        session.flush()
        return event.id

    return database.run(add)


def welcome_of(database: Database, lead_id: uuid.UUID) -> Touch | None:
    """The lead's welcome message (the journey's `welcome` step), once it has a row."""
    return database.read(
        lambda s: s.scalars(
            select(Touch).where(Touch.lead_id == lead_id, Touch.step_id == "welcome")
        ).first()
    )
