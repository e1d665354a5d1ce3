"""The API's one call into qualification: start `qualify:{event_id}` for a recorded event."""

from __future__ import annotations

import contextlib
import uuid

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

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
