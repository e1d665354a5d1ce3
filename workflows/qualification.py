"""Qualification workflows: one per event (rescore, escalate), and the scheduled upkeep.

- QualifyLead (`qualify:{event_id}`): rescoring after one event; opens an escalation task when
  the lead turns hot or a hard trigger fires; enrolls the lead in its new segment's journey
  when the segment changed; ends the lead's open tasks on a purchase or an opt-out. The id
  makes a repeated event a no-op.
- NightlyQualification: refit each store's model (promoted only if it wins), then rescore all.
- ColdLeadSweep: a re-engage task for each lead going cold in an active journey.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from activities.qualification_payloads import (
        FIND_COLD_LEADS,
        LIST_STORES,
        QUALIFY_LEAD,
        REFIT_MODEL,
        RESCORE_LEADS,
        ColdLeads,
        ColdSweepRequest,
        QualifyRequest,
        RefitRequest,
        RescoreRequest,
        RescoreResult,
        StoreList,
    )
    from qualification.outcomes import Qualification, Refit
    from sequences.vocabulary import Priority, StaffRole
    from workflows import policies
    from workflows.enroll import enroll_in_sequence
    from workflows.escalation import cancel_escalations, open_escalation
    from workflows.escalation_model import OpenEscalation
    from workflows.journey import NurtureJourney
    from workflows.journey_model import SupersedeRequest
    from workflows.qualification_model import (
        ColdSweepInput,
        NightlyInput,
        NightlyResult,
        QualifyInput,
        QualifyOutcome,
        SweepResult,
    )

# Patch id: a segment change ends the old segment's journey as superseded.
SUPERSEDE_OLD_SEGMENT = "segment-change-supersedes"


@workflow.defn
class QualifyLead:
    """Rescore a lead after one event; escalate, re-enroll or end its tasks as the event says.

    Input: `QualifyInput` (ids). Returns the score, tier, model version, the task opened, the
    segment journey started and the tasks ended.
    """

    @workflow.run
    async def run(self, input: QualifyInput) -> QualifyOutcome:
        result = input.decided or await workflow.execute_activity(
            QUALIFY_LEAD,
            QualifyRequest(lead_id=input.lead_id, event_id=input.event_id, now=workflow.now()),
            result_type=Qualification,
            start_to_close_timeout=policies.QUALIFY_TIMEOUT,
            retry_policy=policies.QUALIFY,
        )
        await cancel_escalations(result.cancelled_tasks, reason="the lead bought or opted out")
        enrolled = None
        if result.segment_sequence is not None:
            enrolled = await enroll_in_sequence(input.lead_id, result.segment_sequence)
        superseded = []
        if result.superseded_journeys and workflow.patched(SUPERSEDE_OLD_SEGMENT):
            for journey_id in result.superseded_journeys:
                try:
                    journey = workflow.get_external_workflow_handle_for(
                        NurtureJourney.run, journey_id
                    )
                    await journey.signal(
                        NurtureJourney.supersede, SupersedeRequest(reason="segment_changed")
                    )
                except FailureError:  # it ended meanwhile: nothing left to supersede
                    continue
                superseded.append(journey_id)
        task_id = None
        if result.escalation is not None:
            need = result.escalation
            task_id = await open_escalation(
                OpenEscalation(
                    lead_id=input.lead_id,
                    kind=need.kind,
                    role_needed=need.role_needed,
                    reason=need.reason,
                    sla=need.sla,
                    priority=need.priority,
                    idempotency_key=workflow.info().workflow_id,
                )
            )
        return QualifyOutcome(
            score=result.score,
            priority=result.priority,
            model_version=result.model_version,
            task_id=task_id,
            enrolled=enrolled,
            superseded=superseded,
            cancelled_tasks=result.cancelled_tasks,
        )


@workflow.defn
class NightlyQualification:
    """Refit each store's model on its outcomes, then rescore every lead with the winners.

    Input: `NightlyInput`. Started by the nightly Schedule and by the admin refit endpoint.
    """

    @workflow.run
    async def run(self, input: NightlyInput) -> NightlyResult:
        if input.store_id is not None:
            stores = [input.store_id]
        else:
            listed: StoreList = await workflow.execute_activity(
                LIST_STORES,
                result_type=StoreList,
                start_to_close_timeout=policies.QUALIFY_TIMEOUT,
                retry_policy=policies.UPKEEP,
            )
            stores = listed.store_ids
        result = NightlyResult()
        for store_id in stores:
            refit: Refit = await workflow.execute_activity(
                REFIT_MODEL,
                RefitRequest(store_id=store_id, now=workflow.now(), seed=input.seed),
                result_type=Refit,
                start_to_close_timeout=policies.REFIT_TIMEOUT,
                retry_policy=policies.UPKEEP,
            )
            result.refits.append(refit)
        if input.rescore:
            rescored: RescoreResult = await workflow.execute_activity(
                RESCORE_LEADS,
                RescoreRequest(now=workflow.now(), store_id=input.store_id),
                result_type=RescoreResult,
                start_to_close_timeout=policies.RESCORE_TIMEOUT,
                heartbeat_timeout=policies.RESCORE_HEARTBEAT,
                retry_policy=policies.UPKEEP,
            )
            result.rescored = rescored.leads
        return result


@workflow.defn
class ColdLeadSweep:
    """Open a re-engage task (routed to the lead's owner first) for every lead going cold.

    Input: none from the schedule (every store), or `ColdSweepInput` for one store.
    One task per cold spell: the idempotency key names the day the lead last engaged.
    """

    @workflow.run
    async def run(self, input: ColdSweepInput | None = None) -> SweepResult:
        store_id = input.store_id if input is not None else None
        cold: ColdLeads = await workflow.execute_activity(
            FIND_COLD_LEADS,
            ColdSweepRequest(now=workflow.now(), store_id=store_id),
            result_type=ColdLeads,
            start_to_close_timeout=policies.REFIT_TIMEOUT,
            retry_policy=policies.UPKEEP,
        )
        result = SweepResult()
        for lead in cold.leads:
            task_id = await open_escalation(
                OpenEscalation(
                    lead_id=lead.lead_id,
                    kind="re_engage",
                    role_needed=StaffRole.ASSOCIATE,
                    reason=f"No engagement for {lead.idle_days} days; re-engage the lead",
                    sla=timedelta(hours=24),
                    priority=Priority.COLD,
                    idempotency_key=f"re_engage:{lead.lead_id}:{lead.last_engaged_on}",
                )
            )
            result.tasks.append(task_id)
        return result
