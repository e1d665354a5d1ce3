"""The nightly refit against a real database: a store with enough outcomes gets a learned
model that beats the rules on its held-out leads, and its leads are then scored with it; a
store with too few outcomes keeps the explainable score."""

from __future__ import annotations

from activities.qualification_payloads import RefitRequest
from activities.scoring import ScoringActivities
from db.models import Lead
from db.repositories import ScoringModelRepository
from db.types import utcnow
from domain.reference import Reference
from domain.scoring import rescore
from qualification.config import QualificationConfig
from tests.qualification.synthetic import write_history

CONFIG = QualificationConfig()


def test_refit_promotes_a_model_that_beats_the_rules_and_rescoring_uses_it(database, store):
    labels = write_history(database, store.id, 800, seed=20260602)
    assert sum(labels) >= CONFIG.min_purchases

    result = ScoringActivities(database, Reference(), CONFIG).refit_model(
        RefitRequest(store_id=store.id, now=utcnow())
    )

    assert (result.labelled, result.purchases) == (800, sum(labels))
    assert result.promoted, result.reason
    assert result.current_version == "rules-v1"
    assert result.candidate is not None and result.current is not None
    assert result.candidate.auc > result.current.auc
    assert result.candidate.n == result.current.n == 240  # the same 30% held out
    current = database.run(lambda s: ScoringModelRepository(s).current(store.id))
    assert current is not None and current.version == result.version
    assert current.promoted_at is not None and current.metrics["candidate"]["auc"] > 0.5

    assert rescore(database, Reference(), CONFIG, utcnow(), store_id=store.id) == 800
    lead = database.run(
        lambda s: s.query(Lead).filter(Lead.store_id == store.id).order_by(Lead.id).first()
    )
    assert lead.score_model_version == result.version
    assert lead.score_explanation["model_version"] == result.version


def test_refit_with_too_few_outcomes_keeps_the_explainable_score(database, store):
    labels = write_history(database, store.id, 120, seed=3)

    result = ScoringActivities(database, Reference(), CONFIG).refit_model(
        RefitRequest(store_id=store.id, now=utcnow())
    )

    assert (result.labelled, result.purchases) == (120, sum(labels))
    assert not result.promoted and result.version is None
    assert "explainable score stays in use" in result.reason
    assert database.run(lambda s: ScoringModelRepository(s).current(store.id)) is None
    assert database.run(lambda s: ScoringModelRepository(s).history(store.id)) == []
