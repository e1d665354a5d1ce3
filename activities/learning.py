"""Learning activities: the stores to refit, and one store's refit (`domain.learning`)."""

from __future__ import annotations

from temporalio import activity

from activities.qualification_payloads import (
    LIST_STORES,
    REFIT_MODEL,
    RefitRequest,
    RefitResult,
    StoreList,
)
from db.repositories import QualificationReader
from db.session import Database
from domain import learning
from domain.reference import Reference
from qualification.config import QualificationConfig


class LearningActivities:
    def __init__(
        self, database: Database, reference: Reference, config: QualificationConfig
    ) -> None:
        self._db = database
        self._reference = reference
        self._config = config

    @activity.defn(name=LIST_STORES)
    def list_stores(self) -> StoreList:
        """Every store, for the nightly refit."""
        return StoreList(store_ids=self._db.read(lambda s: QualificationReader(s).store_ids()))

    @activity.defn(name=REFIT_MODEL)
    def refit_model(self, request: RefitRequest) -> RefitResult:
        """Fit a candidate on the store's outcomes; promote it only if it beats the current one."""
        refit = learning.refit(
            self._db, self._reference, self._config, request.store_id, request.now, request.seed
        )
        return RefitResult.model_validate(refit, from_attributes=True)
