"""The API's one call into qualification: start `qualify:{event_id}` for a recorded event."""

from __future__ import annotations

import contextlib
import uuid

from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.qualification_payloads import QualifyRequest, QualifyResult
from activities.scoring import NewLead, qualify_now
from core.settings import Settings, qualification_config
from core.workflow_ids import qualify_workflow_id
from db.models import Event, Lead
from db.types import utcnow
from workflows.qualification import QualifyInput, QualifyLead

# What scoring an event decided someone must act on.
Decision = QualifyResult


async def qualify(
    client: Client,
    *,
    task_queue: str,
    lead_id: uuid.UUID,
    event_id: uuid.UUID,
    decided: Decision | None = None,
) -> None:
    """Act on the lead's scoring for this event (once per event id, however often the request
    repeats). `decided`: what `assess` found in the request; None scores in the workflow."""
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            QualifyLead.run,
            QualifyInput(lead_id=lead_id, event_id=event_id, decided=decided),
            id=qualify_workflow_id(event_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )


def assess(
    session: Session, lead: Lead, event: Event, settings: Settings, *, new_lead: bool = False
) -> Decision | None:
    """Score the lead for this event now, in the caller's unit of work.

    Returns the decision when someone must act (a person to call, a journey to start, tasks
    to end): the caller then hands it to `qualify`. Most captures and events need nothing
    more, so they cost no workflow. `new_lead`: the capture created the lead (see `NewLead`).
    """
    result = qualify_now(
        session,
        QualifyRequest(lead_id=lead.id, event_id=event.id, now=utcnow()),
        qualification_config(settings),
        new_lead=NewLead(lead, event) if new_lead else None,
    )
    must_act = (
        result.escalation is not None
        or result.segment_sequence is not None
        or bool(result.cancelled_tasks)
    )
    return result if must_act else None
