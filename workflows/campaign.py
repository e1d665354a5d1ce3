"""CampaignWorkflow: enrolls a campaign's audience in batches, until done or cancelled."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.campaign_payloads import (
        END_CAMPAIGN_JOURNEYS,
        ENROLL_CAMPAIGN_BATCH,
        FINISH_CAMPAIGN,
        CampaignBatch,
        CampaignBatchResult,
        CampaignRef,
        JourneysEnded,
    )
    from workflows import policies

# A batch's heartbeat comes after each journey it starts: a minute of silence is a stall.
BATCH_HEARTBEAT = timedelta(minutes=1)
BATCH_TIMEOUT = timedelta(minutes=10)
# Batches per run before continuing as new, whatever the server suggests (a run's history
# then stays a few hundred events, whatever the audience's size).
BATCHES_PER_RUN = 100


class CampaignProgress(BaseModel):
    """The workflow's whole state, carried through continue-as-new; also its `progress`."""

    enrolled: int = 0
    batches_done: int = 0
    last_lead_id: uuid.UUID | None = None
    cancelled: bool = False
    done: bool = False
    journeys_ended: int | None = None  # after a cancel: the running journeys it ended


class CampaignInput(BaseModel):
    campaign_id: uuid.UUID
    batch_size: int = 100
    # A pause between batches, so a large campaign's journeys do not all start at once.
    pace: timedelta = timedelta(0)
    progress: CampaignProgress | None = None  # set only when continuing as new


class CampaignCancel(BaseModel):
    reason: str = "cancelled"


@workflow.defn
class CampaignWorkflow:
    """Enrolls one campaign's audience into its sequence, `batch_size` leads per activity.

    Input: `CampaignInput` (the campaign's id; batch size; pace). Each batch activity writes
    the leads' member and enrollment rows and the campaign row's progress, then starts their
    journeys (every message of which passes the send gate). Signal: `cancel` — no batch starts
    after it; the journeys the campaign started that still run are ended (sent stays sent).
    Query: `progress`. Ends when the audience is exhausted (the campaign row becomes
    `completed`) or after a cancel. Continues as new every BATCHES_PER_RUN batches, or sooner
    when the server suggests it.
    """

    @workflow.init
    def __init__(self, input: CampaignInput) -> None:
        self._progress = input.progress or CampaignProgress()

    @workflow.run
    async def run(self, input: CampaignInput) -> CampaignProgress:
        progress = self._progress
        batches_this_run = 0
        while not progress.done and not progress.cancelled:
            if batches_this_run >= BATCHES_PER_RUN or (
                workflow.info().is_continue_as_new_suggested()
            ):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(input.model_copy(update={"progress": progress}))
            result: CampaignBatchResult = await workflow.execute_activity(
                ENROLL_CAMPAIGN_BATCH,
                CampaignBatch(
                    campaign_id=input.campaign_id,
                    after=progress.last_lead_id,
                    size=input.batch_size,
                    number=progress.batches_done + 1,
                ),
                result_type=CampaignBatchResult,
                start_to_close_timeout=BATCH_TIMEOUT,
                heartbeat_timeout=BATCH_HEARTBEAT,
                retry_policy=policies.BOOKKEEPING,
            )
            batches_this_run += 1
            progress.enrolled += result.enrolled
            progress.batches_done += 1
            progress.last_lead_id = result.last_lead_id
            progress.done = result.done
            if not progress.done and input.pace > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: progress.cancelled, timeout=input.pace)
        if progress.cancelled:
            ended: JourneysEnded = await workflow.execute_activity(
                END_CAMPAIGN_JOURNEYS,
                CampaignRef(campaign_id=input.campaign_id),
                result_type=JourneysEnded,
                start_to_close_timeout=BATCH_TIMEOUT,
                retry_policy=policies.BOOKKEEPING,
            )
            progress.journeys_ended = ended.ended
        else:
            await workflow.execute_activity(
                FINISH_CAMPAIGN,
                CampaignRef(campaign_id=input.campaign_id),
                start_to_close_timeout=policies.BOOKKEEPING_TIMEOUT,
                retry_policy=policies.BOOKKEEPING,
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return progress

    @workflow.signal
    def cancel(self, request: CampaignCancel) -> None:
        self._progress.cancelled = True

    @workflow.query
    def progress(self) -> CampaignProgress:
        return self._progress
