"""Qualification's tunable numbers in one frozen model; the worker builds it from settings."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from qualification.scoring import ScoringConfig


class QualificationConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    scoring: ScoringConfig = ScoringConfig()
    hot_task_sla: timedelta = timedelta(hours=1)
    reengage_task_sla: timedelta = timedelta(hours=24)
    # The learned model is fitted only once the store has this many outcomes.
    min_labelled_leads: int = Field(default=200, ge=10)
    min_purchases: int = Field(default=20, ge=2)
    outcome_window_days: int = 90
    # Features for training are taken this long after capture (or at the purchase, if sooner).
    feature_horizon_days: int = 30
    cold_after_days: dict[str, int] = Field(default_factory=dict)
    cold_sweep_limit: int = 500
