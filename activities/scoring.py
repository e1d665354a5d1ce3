"""Scoring activities: qualify one lead after an event; the nightly refit and rescoring."""

from __future__ import annotations

import logging

from temporalio import activity

from activities.failures import failing_for_good
from activities.qualification_payloads import (
    LIST_STORES,
    QUALIFY_LEAD,
    REFIT_MODEL,
    RESCORE_LEADS,
    QualifyRequest,
    RefitRequest,
    RescoreRequest,
    RescoreResult,
    StoreList,
)
from db.repositories import QualificationReader
from db.session import Database
from domain import learning, scoring
from domain.reference import Reference
from qualification.config import QualificationConfig
from qualification.outcomes import Qualification, Refit

log = logging.getLogger(__name__)


class ScoringActivities:
    def __init__(
        self, database: Database, reference: Reference, config: QualificationConfig
    ) -> None:
        self._db = database
        self._reference = reference
        self._config = config

    @activity.defn(name=QUALIFY_LEAD)
    def qualify_lead(self, request: QualifyRequest) -> Qualification:
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
        return result

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

    @activity.defn(name=LIST_STORES)
    def list_stores(self) -> StoreList:
        """Every store, for the nightly refit."""
        return StoreList(store_ids=self._db.read(lambda s: QualificationReader(s).store_ids()))

    @activity.defn(name=REFIT_MODEL)
    def refit_model(self, request: RefitRequest) -> Refit:
        """Fit a candidate on the store's outcomes; promote it only if it beats the current one."""
        return learning.refit(
            self._db, self._reference, self._config, request.store_id, request.now, request.seed
        )
