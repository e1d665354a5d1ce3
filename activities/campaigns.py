"""Campaign activities: enroll one batch of a campaign's audience, finish it, end its journeys.

The rules are the domain's (`domain.campaigns`). Starting and ending journeys needs the
Temporal client: the worker gives these activities the two calls (built in workflows/handles.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from temporalio import activity

from activities.campaign_payloads import (
    END_CAMPAIGN_JOURNEYS,
    ENROLL_CAMPAIGN_BATCH,
    FINISH_CAMPAIGN,
    CampaignBatch,
    CampaignBatchResult,
    CampaignRef,
    JourneysEnded,
)
from activities.failures import failing_for_good
from db.session import Database
from db.types import utcnow
from domain import campaigns
from domain.enrollment import JourneyToStart
from domain.reference import Reference

log = logging.getLogger(__name__)

# Starts a planned journey (or finds it running); True if it was started now.
StartJourney = Callable[[JourneyToStart], Awaitable[bool]]
# Ends these journeys, saying why; returns how many were still running to hear it.
EndJourneys = Callable[[Sequence[str], str], Awaitable[int]]

CAMPAIGN_CANCELLED = "campaign_cancelled"


class CampaignActivities:
    def __init__(
        self,
        database: Database,
        reference: Reference,
        start_journey: StartJourney,
        end_journeys: EndJourneys,
    ) -> None:
        self._db = database
        self._reference = reference
        self._start_journey = start_journey
        self._end_journeys = end_journeys

    @activity.defn(name=ENROLL_CAMPAIGN_BATCH)
    async def enroll_campaign_batch(self, request: CampaignBatch) -> CampaignBatchResult:
        """Enroll the next batch of the audience and start each lead's journey, heartbeating
        after each start so a stalled batch is retried (and a retry starts only the missing)."""
        with failing_for_good():
            batch = await asyncio.to_thread(
                self._db.run,
                lambda session: campaigns.enroll_batch(
                    session,
                    self._reference,
                    request.campaign_id,
                    after=request.after,
                    size=request.size,
                    number=request.number,
                    now=utcnow(),
                ),
            )
        started = 0
        for index, journey in enumerate(batch.journeys):
            started += await self._start_journey(journey)
            activity.heartbeat(index)
        log.info(
            "campaign %s batch %d: %d enrolled, %d journeys started",
            request.campaign_id,
            request.number,
            batch.enrolled,
            started,
        )
        return CampaignBatchResult(
            enrolled=batch.enrolled,
            started=started,
            last_lead_id=batch.last_lead_id,
            done=batch.done,
        )

    @activity.defn(name=FINISH_CAMPAIGN)
    def finish_campaign(self, request: CampaignRef) -> None:
        """The whole audience is enrolled: the campaign is complete."""
        self._db.run(lambda session: campaigns.finish(session, request.campaign_id, utcnow()))

    @activity.defn(name=END_CAMPAIGN_JOURNEYS)
    async def end_campaign_journeys(self, request: CampaignRef) -> JourneysEnded:
        """End the cancelled campaign's journeys that still run: nothing more goes out."""
        running = await asyncio.to_thread(
            self._db.read, lambda session: campaigns.journeys_to_end(session, request.campaign_id)
        )
        ended = await self._end_journeys(running, CAMPAIGN_CANCELLED)
        await asyncio.to_thread(
            self._db.run,
            lambda session: campaigns.record_ended(session, request.campaign_id, ended),
        )
        log.info("campaign %s cancelled: %d journeys ended", request.campaign_id, ended)
        return JourneysEnded(ended=ended)
