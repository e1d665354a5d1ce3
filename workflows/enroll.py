"""Starting a lead's journey from inside a workflow: a journey's `enroll` step, a segment change.

One journey per lead per sequence at a time: the workflow id is the business key
(`journey:{lead}:{sequence}`, with `:{run}` from the second run on), the enrollment row is
ensured first, and a journey that runs, or ran where the sequence allows no re-entry yet, is
left as it is. The journey outlives the workflow that started it.
"""

from __future__ import annotations

import uuid

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.payloads import PREPARE_ENROLLMENT, PreparedEnrollment, PrepareEnrollment
    from core.vocabulary import JourneyStatus
    from core.workflow_ids import journey_workflow_id
    from workflows import policies
    from workflows.journey_model import JourneyInput


ENROLLED = "enrolled"
UNKNOWN_SEQUENCE = "enroll_unknown_sequence"
ALREADY_DONE = "enroll_already_done"
ALREADY_RUNNING = "enroll_already_running"


async def enroll_in_sequence(lead_id: uuid.UUID, sequence_key: str) -> str:
    """Start the lead's journey in the sequence's latest version; says what happened.

    Returns `enrolled`, `enroll_already_running` (the journey runs), `enroll_already_done`
    (it ended before) or `enroll_unknown_sequence`.
    """
    workflow_id = journey_workflow_id(lead_id, sequence_key)
    prepared: PreparedEnrollment | None = await workflow.execute_activity(
        PREPARE_ENROLLMENT,
        PrepareEnrollment(
            lead_id=lead_id,
            sequence_key=sequence_key,
            workflow_id=workflow_id,
            requested_at=workflow.now(),  # the journey starts at the asking workflow's time
        ),
        result_type=PreparedEnrollment | None,  # type: ignore[arg-type]
        start_to_close_timeout=policies.BOOKKEEPING_TIMEOUT,
        retry_policy=policies.BOOKKEEPING,
    )
    if prepared is None:
        return UNKNOWN_SEQUENCE
    if prepared.status is not JourneyStatus.ACTIVE:
        return ALREADY_DONE
    # A later run (the sequence lets the lead re-enter) has its own id.
    workflow_id = prepared.workflow_id or workflow_id
    try:
        await workflow.start_child_workflow(
            "NurtureJourney",
            JourneyInput(
                lead_id=lead_id,
                enrollment_id=prepared.enrollment_id,
                sequence_version=prepared.sequence_version,
                sequence=prepared.sequence,
                enrolled_at=prepared.enrolled_at,
            ),
            id=workflow_id,
            task_queue=workflow.info().task_queue,
            parent_close_policy=ParentClosePolicy.ABANDON,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return ALREADY_RUNNING
    return ENROLLED
