"""The learned score: logistic regression on the store's own outcomes, calibrated, and promoted
only when it beats the current scorer on data neither has seen.

Fitting: a stratified split holds out `test_fraction` of the labelled leads. The rest is split
again: a LogisticRegression learns on one part and a one-feature logistic (Platt) calibration of
its decision function on the other. Both are linear in the log-odds, so the calibrated model is
stored as one set of coefficients (JSON), scores 100,000 leads with a dot product, and explains
itself as coefficient × (value − average value) per feature.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split

from qualification.facts import LeadFacts, Signal
from qualification.scoring import (
    FEATURE_LABELS,
    Factor,
    Score,
    ScoringConfig,
    Tier,
    TriggerHit,
    explainable_score,
    feature_values,
    one_off_soon,
    triggers_in,
)

Matrix = NDArray[np.float64]


@dataclass(frozen=True)
class LearnedModel:
    version: str
    feature_names: tuple[str, ...]
    coefficients: tuple[float, ...]
    intercept: float
    means: tuple[float, ...]

    def log_odds(self, x: Matrix) -> NDArray[np.float64]:
        result: NDArray[np.float64] = x @ np.asarray(self.coefficients) + self.intercept
        return result

    def probabilities(self, x: Matrix) -> NDArray[np.float64]:
        result: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-self.log_odds(x)))
        return result

    def to_json(self) -> dict[str, object]:
        return {
            "feature_names": list(self.feature_names),
            "coefficients": list(self.coefficients),
            "intercept": self.intercept,
            "means": list(self.means),
        }

    @classmethod
    def from_json(cls, version: str, body: dict[str, object]) -> LearnedModel:
        def floats(key: str) -> tuple[float, ...]:
            value = body[key]
            assert isinstance(value, list)
            return tuple(float(v) for v in value)

        names = body["feature_names"]
        assert isinstance(names, list)
        intercept = body["intercept"]
        assert isinstance(intercept, int | float)
        return cls(
            version=version,
            feature_names=tuple(str(n) for n in names),
            coefficients=floats("coefficients"),
            intercept=float(intercept),
            means=floats("means"),
        )


@dataclass(frozen=True)
class Metrics:
    auc: float
    brier: float
    n: int
    positives: int


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str


def vectors(rows: Sequence[dict[str, float]], names: Sequence[str]) -> Matrix:
    """Feature dictionaries as a matrix, columns in `names` order (missing values are 0)."""
    return np.array([[row.get(name, 0.0) for name in names] for row in rows], dtype=np.float64)


def enough_outcomes(labels: Sequence[int], *, min_labelled: int, min_positive: int) -> bool:
    """Whether a model may be fitted at all: until then the explainable score is used."""
    return len(labels) >= min_labelled and sum(labels) >= min_positive


def holdout_split(
    labels: Sequence[int], *, seed: int, test_fraction: float = 0.3
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Indices of the training and held-out leads, stratified by outcome, reproducible by seed."""
    index = np.arange(len(labels))
    train, test = train_test_split(
        index, test_size=test_fraction, random_state=seed, stratify=np.asarray(labels)
    )
    return np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)


def fit(
    x: Matrix, y: NDArray[np.int64], names: Sequence[str], *, version: str, seed: int
) -> LearnedModel:
    """A calibrated logistic regression on (x, y): coefficients learned, then Platt-scaled."""
    learn, calibrate = train_test_split(
        np.arange(len(y)), test_size=0.3, random_state=seed, stratify=y
    )
    base = LogisticRegression(C=1.0, max_iter=1000)
    base.fit(x[learn], y[learn])
    margin = base.decision_function(x[calibrate]).reshape(-1, 1)
    platt = LogisticRegression(C=1e6, max_iter=1000)
    platt.fit(margin, y[calibrate])
    a, c = float(platt.coef_[0][0]), float(platt.intercept_[0])
    coefficients = tuple(float(a * w) for w in base.coef_[0])
    return LearnedModel(
        version=version,
        feature_names=tuple(names),
        coefficients=coefficients,
        intercept=float(a * base.intercept_[0] + c),
        means=tuple(float(m) for m in x.mean(axis=0)),
    )


def evaluate(probabilities: NDArray[np.float64], y: NDArray[np.int64]) -> Metrics:
    """AUC (ranking) and Brier score (calibration) of probabilities against outcomes."""
    clipped = np.clip(probabilities, 0.0, 1.0)
    return Metrics(
        auc=float(roc_auc_score(y, clipped)),
        brier=float(brier_score_loss(y, clipped)),
        n=len(y),
        positives=int(np.sum(y)),
    )


def should_promote(
    candidate: Metrics, current: Metrics, *, min_auc_gain: float = 0.01
) -> PromotionDecision:
    """Promote only a model that ranks better on held-out data and is no worse calibrated."""
    if candidate.auc < current.auc + min_auc_gain:
        return PromotionDecision(
            False,
            f"held-out AUC {candidate.auc:.3f} does not beat the current "
            f"{current.auc:.3f} by {min_auc_gain}",
        )
    if candidate.brier > current.brier:
        return PromotionDecision(
            False,
            f"held-out Brier {candidate.brier:.4f} is worse than the current {current.brier:.4f}",
        )
    return PromotionDecision(
        True,
        f"held-out AUC {candidate.auc:.3f} > {current.auc:.3f}, "
        f"Brier {candidate.brier:.4f} ≤ {current.brier:.4f}",
    )


def learned_score(
    model: LearnedModel,
    features: dict[str, float],
    config: ScoringConfig,
    *,
    triggers: tuple[TriggerHit, ...] = (),
) -> Score:
    """The model's probability as 0–100, explained per feature against the average lead."""
    x = np.array([features.get(name, 0.0) for name in model.feature_names], dtype=np.float64)
    log_odds = float(x @ np.asarray(model.coefficients) + model.intercept)
    probability = 1.0 / (1.0 + math.exp(-log_odds))
    factors = [
        Factor(name, FEATURE_LABELS.get(name, name), round(10 * w * (v - m), 1))
        for name, w, v, m in zip(
            model.feature_names, model.coefficients, x, model.means, strict=True
        )
    ]
    positive = sorted((f for f in factors if f.points > 0), key=lambda f: (-f.points, f.name))
    negative = sorted((f for f in factors if f.points < 0), key=lambda f: (f.points, f.name))
    if triggers or probability >= config.hot_probability:
        tier = Tier.HOT
    else:
        tier = Tier.WARM if probability >= config.warm_probability else Tier.COLD
    return Score(
        value=round(100 * probability),
        tier=tier,
        model_version=model.version,
        positive=tuple(positive[:3]),
        negative=tuple(negative[:3]),
        triggers=triggers,
    )


def score_lead(
    facts: LeadFacts,
    now: datetime,
    config: ScoringConfig,
    *,
    model: LearnedModel | None = None,
    trigger_signal: Signal | None = None,
) -> Score:
    """The lead's score from the promoted model if there is one, else from the rules."""
    if model is None:
        return explainable_score(facts, now, config, trigger_signal=trigger_signal)
    hits = tuple(triggers_in(trigger_signal, facts, config)) if trigger_signal else ()
    score = learned_score(model, feature_values(facts, now, config), config, triggers=hits)
    if score.tier is not Tier.HOT and one_off_soon(facts, now, config):
        score = replace(score, tier=Tier.HOT)  # a wedding this near is hot, whatever the model
    return score
