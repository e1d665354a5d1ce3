"""The API's one call into qualification: start `qualify:{event_id}` for a recorded event."""

from __future__ import annotations

import contextlib
import uuid

from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.qualification_payloads import QualifyRequest
from activities.scoring import NewLead, qualify_now
from core.settings import Settings, qualification_config
from db.models import Event, Lead
from db.types import utcnow
from workflows.qualification import QualifyInput, QualifyLead, qualify_workflow_id


async def qualify(
    client: Client, *, task_queue: str, lead_id: uuid.UUID, event_id: uuid.UUID
) -> None:
    """Rescore the lead for this event (once per event id, however often the request repeats)."""
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            QualifyLead.run,
            QualifyInput(lead_id=lead_id, event_id=event_id),
            id=qualify_workflow_id(event_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )


def assess(
    session: Session, lead: Lead, event: Event, settings: Settings, *, new_lead: bool = False
) -> bool:
    """Score the lead for this event now, in the caller's unit of work.

    True when someone must act (a person to call, a journey to start, tasks to end): then
    the caller starts `qualify` for the event. Most captures and events need nothing more,
    so they cost no workflow. `new_lead`: the capture created the lead (see `NewLead`).
    """
    result = qualify_now(
        session,
        QualifyRequest(lead_id=lead.id, event_id=event.id, now=utcnow()),
        qualification_config(settings),
        new_lead=NewLead(lead, event) if new_lead else None,
    )
    return (
        result.escalation is not None
        or result.segment_sequence is not None
        or bool(result.cancelled_tasks)
    )
