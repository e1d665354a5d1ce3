"""The learned model: a synthetic history of 2,000 leads whose true propensity only the test
knows. The model learns it better than the rules and is promoted; a deliberately worse model
(trained on shuffled outcomes) is not."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from qualification.facts import LeadFacts, Signal
from qualification.learning import (
    LearnedModel,
    enough_outcomes,
    evaluate,
    fit,
    holdout_split,
    learned_score,
    should_promote,
    vectors,
)
from qualification.scoring import FEATURE_NAMES, ScoringConfig, explainable_score, feature_values
from tests.qualification.synthetic import T0, synthetic_history

CONFIG = ScoringConfig()


@pytest.fixture(scope="module")
def history():
    leads, as_of, labels = synthetic_history(2_000, seed=20260601)
    x = vectors(
        [feature_values(f, t, CONFIG) for f, t in zip(leads, as_of, strict=True)], FEATURE_NAMES
    )
    rules = np.array(
        [explainable_score(f, t, CONFIG).value / 100 for f, t in zip(leads, as_of, strict=True)]
    )
    y = np.asarray(labels, dtype=np.int64)
    train, test = holdout_split(labels, seed=7)
    return x, y, rules, train, test


def test_enough_outcomes_gate():
    assert not enough_outcomes([1] * 19 + [0] * 300, min_labelled=200, min_positive=20)
    assert not enough_outcomes([1] * 30 + [0] * 100, min_labelled=200, min_positive=20)
    assert enough_outcomes([1] * 20 + [0] * 180, min_labelled=200, min_positive=20)


def test_learned_model_beats_the_rules_on_held_out_leads_and_is_promoted(history):
    x, y, rules, train, test = history
    model = fit(x[train], y[train], FEATURE_NAMES, version="lr-test", seed=7)
    candidate = evaluate(model.probabilities(x[test]), y[test])
    current = evaluate(rules[test], y[test])

    assert candidate.n == 600 and 60 < candidate.positives < 300
    assert candidate.auc > current.auc + 0.05, (candidate, current)
    decision = should_promote(candidate, current)
    assert decision.promote, decision.reason
    # Calibrated: the mean predicted probability is close to the observed purchase rate.
    assert abs(model.probabilities(x[test]).mean() - y[test].mean()) < 0.05


def test_a_deliberately_worse_model_is_not_promoted(history):
    x, y, rules, train, test = history
    shuffled = np.random.default_rng(3).permutation(y[train])
    worse = fit(x[train], shuffled, FEATURE_NAMES, version="lr-worse", seed=7)
    candidate = evaluate(worse.probabilities(x[test]), y[test])
    decision = should_promote(candidate, evaluate(rules[test], y[test]))
    assert not decision.promote
    assert "does not beat" in decision.reason


def test_a_model_no_better_than_the_promoted_one_is_not_promoted(history):
    x, y, _, train, test = history
    first = fit(x[train], y[train], FEATURE_NAMES, version="lr-1", seed=7)
    again = fit(x[train], y[train], FEATURE_NAMES, version="lr-2", seed=7)
    decision = should_promote(
        evaluate(again.probabilities(x[test]), y[test]),
        evaluate(first.probabilities(x[test]), y[test]),
    )
    assert not decision.promote


def test_learned_model_round_trips_as_json_and_explains_its_score(history):
    x, y, _, train, _ = history
    model = fit(x[train], y[train], FEATURE_NAMES, version="lr-json", seed=7)
    restored = LearnedModel.from_json(model.version, model.to_json())
    assert np.allclose(restored.probabilities(x[:50]), model.probabilities(x[:50]))

    visitor = LeadFacts(
        captured_at=T0,
        source="referral",
        repeat_customer=True,
        signals=(Signal("store_visit", T0 + timedelta(days=1)),),
    )
    score = learned_score(restored, feature_values(visitor, T0 + timedelta(days=2), CONFIG), CONFIG)
    assert score.model_version == "lr-json"
    assert score.value > 50
    assert {f.name for f in score.positive} >= {"store_visit", "repeat_customer"}
    assert score.explanation()["positive"][0]["points"] > 0
