"""The refit: learn a store's scoring model from its own outcomes; promote it only if it wins.

A lead is labelled once its outcome window (90 days from capture) has passed or it has bought;
the target is a purchase within the window. Features are read as they stood
`feature_horizon_days` after capture, or just before the purchase if that came sooner.
The candidate and the current scorer (the store's promoted model, or the rules score / 100)
are compared on the same held-out leads.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session
from temporalio import activity

from activities.qualification_payloads import (
    LIST_STORES,
    REFIT_MODEL,
    ModelMetrics,
    RefitRequest,
    RefitResult,
    StoreList,
)
from activities.scoring import as_of_for_training, current_model, facts_from, read_leads
from db.models import ScoringModel
from db.repositories import QualificationReader, ScoringModelRepository
from db.session import Database
from qualification.config import QualificationConfig
from qualification.learning import (
    LearnedModel,
    Metrics,
    enough_outcomes,
    evaluate,
    fit,
    holdout_split,
    should_promote,
    vectors,
)
from qualification.scoring import FEATURE_NAMES, explainable_score, feature_values

log = logging.getLogger(__name__)


def _metrics(metrics: Metrics) -> ModelMetrics:
    return ModelMetrics(
        auc=metrics.auc, brier=metrics.brier, n=metrics.n, positives=metrics.positives
    )


class TrainingSet:
    """Labelled leads of one store: features, the rules score's probability, outcomes."""

    def __init__(
        self, session: Session, store_id: uuid.UUID, now: datetime, config: QualificationConfig
    ) -> None:
        window = timedelta(days=config.outcome_window_days)
        self.features: list[dict[str, float]] = []
        self.rules_probability: list[float] = []
        self.labels: list[int] = []
        reader = QualificationReader(session)
        after: uuid.UUID | None = None
        while ids := reader.lead_ids(after=after, limit=2_000, store_id=store_id):
            after = ids[-1]
            for lead, events, purchases in read_leads(session, ids):
                bought = [p for p in purchases if p >= lead.created_at]
                label = int(any(p <= lead.created_at + window for p in bought))
                if not label and lead.created_at + window > now:
                    continue  # the outcome is not known yet
                as_of = as_of_for_training(lead.created_at, bought, config)
                facts = facts_from(lead, events, purchases, as_of=as_of)
                self.features.append(feature_values(facts, as_of, config.scoring))
                self.rules_probability.append(
                    explainable_score(facts, as_of, config.scoring).value / 100.0
                )
                self.labels.append(label)


class LearningActivities:
    def __init__(self, database: Database, config: QualificationConfig) -> None:
        self._db = database
        self._config = config

    @activity.defn(name=LIST_STORES)
    def list_stores(self) -> StoreList:
        """Every store, for the nightly refit."""
        return StoreList(store_ids=self._db.read(lambda s: QualificationReader(s).store_ids()))

    @activity.defn(name=REFIT_MODEL)
    def refit_model(self, request: RefitRequest) -> RefitResult:
        """Fit a candidate on the store's outcomes; promote it only if it beats the current one."""
        data = self._db.read(
            lambda session: TrainingSet(session, request.store_id, request.now, self._config)
        )
        labelled, purchases = len(data.labels), sum(data.labels)
        if not enough_outcomes(
            data.labels,
            min_labelled=self._config.min_labelled_leads,
            min_positive=self._config.min_purchases,
        ):
            return RefitResult(
                store_id=request.store_id,
                labelled=labelled,
                purchases=purchases,
                version=None,
                promoted=False,
                reason=(
                    f"{labelled} labelled leads with {purchases} purchases; need "
                    f"{self._config.min_labelled_leads} with {self._config.min_purchases}: "
                    "the explainable score stays in use"
                ),
            )
        x = vectors(data.features, FEATURE_NAMES)
        y = np.asarray(data.labels, dtype=np.int64)
        train, test = holdout_split(data.labels, seed=request.seed)
        version = f"lr-{request.now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
        candidate = fit(x[train], y[train], FEATURE_NAMES, version=version, seed=request.seed)
        candidate_metrics = evaluate(candidate.probabilities(x[test]), y[test])

        incumbent = self._db.read(lambda session: current_model(session, request.store_id))
        if incumbent is not None:
            current = evaluate(self._probabilities(incumbent, data.features, test), y[test])
        else:
            current = evaluate(np.asarray(data.rules_probability)[test], y[test])
        decision = should_promote(candidate_metrics, current)
        result = RefitResult(
            store_id=request.store_id,
            labelled=labelled,
            purchases=purchases,
            version=version,
            promoted=decision.promote,
            reason=decision.reason,
            candidate=_metrics(candidate_metrics),
            current=_metrics(current),
            current_version=incumbent.version if incumbent else "rules-v1",
        )
        self._db.run(lambda session: self._store(session, candidate, result, request.now))
        log.info("store %s refit %s: %s", request.store_id, version, decision.reason)
        return result

    @staticmethod
    def _probabilities(
        model: LearnedModel, features: list[dict[str, float]], rows: np.ndarray
    ) -> np.ndarray:
        return model.probabilities(vectors([features[i] for i in rows], model.feature_names))

    @staticmethod
    def _store(session: Session, model: LearnedModel, result: RefitResult, now: datetime) -> None:
        ScoringModelRepository(session).add(
            ScoringModel(
                store_id=result.store_id,
                version=model.version,
                body=model.to_json(),
                metrics={
                    "candidate": result.candidate.model_dump() if result.candidate else None,
                    "current": result.current.model_dump() if result.current else None,
                    "current_version": result.current_version,
                    "labelled": result.labelled,
                    "purchases": result.purchases,
                },
                promoted=result.promoted,
                reason=result.reason,
                created_at=now,
                promoted_at=now if result.promoted else None,
            )
        )
