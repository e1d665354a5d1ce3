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

from db.models import ScoringModel
from db.repositories import QualificationReader, ScoringModelRepository
from db.session import Database
from domain.reference import Reference
from domain.scoring import as_of_for_training, facts_from, read_leads
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
from qualification.outcomes import ModelMetrics, Refit
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


def refit(
    database: Database,
    reference: Reference,
    config: QualificationConfig,
    store_id: uuid.UUID,
    now: datetime,
    seed: int = 7,
) -> Refit:
    """Fit a candidate on the store's outcomes; promote it only if it beats the current one."""
    data = database.read(lambda session: TrainingSet(session, store_id, now, config))
    labelled, purchases = len(data.labels), sum(data.labels)
    if not enough_outcomes(
        data.labels, min_labelled=config.min_labelled_leads, min_positive=config.min_purchases
    ):
        return Refit(
            store_id=store_id,
            labelled=labelled,
            purchases=purchases,
            version=None,
            promoted=False,
            reason=(
                f"{labelled} labelled leads with {purchases} purchases; need "
                f"{config.min_labelled_leads} with {config.min_purchases}: "
                "the explainable score stays in use"
            ),
        )
    x = vectors(data.features, FEATURE_NAMES)
    y = np.asarray(data.labels, dtype=np.int64)
    train, test = holdout_split(data.labels, seed=seed)
    version = f"lr-{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    candidate = fit(x[train], y[train], FEATURE_NAMES, version=version, seed=seed)
    candidate_metrics = evaluate(candidate.probabilities(x[test]), y[test])

    incumbent = database.read(lambda session: reference.scoring_model(session, store_id))
    if incumbent is not None:
        current = evaluate(_probabilities(incumbent, data.features, test), y[test])
    else:
        current = evaluate(np.asarray(data.rules_probability)[test], y[test])
    decision = should_promote(candidate_metrics, current)
    result = Refit(
        store_id=store_id,
        labelled=labelled,
        purchases=purchases,
        version=version,
        promoted=decision.promote,
        reason=decision.reason,
        candidate=_metrics(candidate_metrics),
        current=_metrics(current),
        current_version=incumbent.version if incumbent else "rules-v1",
    )
    database.run(lambda session: _store(session, reference, candidate, result, now))
    log.info("store %s refit %s: %s", store_id, version, decision.reason)
    return result


def _probabilities(
    model: LearnedModel, features: list[dict[str, float]], rows: np.ndarray
) -> np.ndarray:
    return model.probabilities(vectors([features[i] for i in rows], model.feature_names))


def record_model(session: Session, reference: Reference, row: ScoringModel) -> None:
    """Keep a refit's record; a promoted model scores this process's next capture at once."""
    ScoringModelRepository(session).add(row)
    if row.promoted:
        reference.forget_on_commit(session)


def _store(
    session: Session, reference: Reference, model: LearnedModel, result: Refit, now: datetime
) -> None:
    record_model(
        session,
        reference,
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
        ),
    )
