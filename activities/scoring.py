"""Scoring activities: qualify one lead after an event, and the nightly rescoring."""

from __future__ import annotations

import logging

from temporalio import activity

from activities.failures import failing_for_good
from activities.qualification_payloads import (
    QUALIFY_LEAD,
    RESCORE_LEADS,
    QualifyRequest,
    QualifyResult,
    RescoreRequest,
    RescoreResult,
)
from db.session import Database
from domain import scoring
from domain.reference import Reference
from qualification.config import QualificationConfig

log = logging.getLogger(__name__)


class ScoringActivities:
    def __init__(
        self, database: Database, reference: Reference, config: QualificationConfig
    ) -> None:
        self._db = database
        self._reference = reference
        self._config = config

    @activity.defn(name=QUALIFY_LEAD)
    def qualify_lead(self, request: QualifyRequest) -> QualifyResult:
        """Segment and score one lead after an event; say whether a person is needed now."""
        with failing_for_good():
            result = self._db.run(
                lambda session: scoring.qualify_now(
                    session,
                    self._reference,
                    self._config,
                    lead_id=request.lead_id,
                    event_id=request.event_id,
                    now=request.now,
                )
            )
        log.info(
            "lead %s scored %d (%s)%s",
            request.lead_id,
            result.score,
            result.priority,
            f"; escalating: {result.escalation.kind}" if result.escalation else "",
        )
        return QualifyResult.model_validate(result, from_attributes=True)

    @activity.defn(name=RESCORE_LEADS)
    def rescore_leads(self, request: RescoreRequest) -> RescoreResult:
        """Rescore every lead with its store's current scorer (nightly, after the refit)."""
        count = scoring.rescore(
            self._db,
            self._reference,
            self._config,
            request.now,
            store_id=request.store_id,
            on_page=activity.heartbeat,
        )
        return RescoreResult(leads=count)
