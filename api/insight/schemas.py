"""Bodies and answers of the insight routes (questions, the metric catalogue)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=500, description="In plain words")
    store_id: uuid.UUID | None = Field(
        None,
        description="The branch; only for a key that sees every branch (else the key's own)",
    )


class PeriodOut(BaseModel):
    start: str
    end: str
    label: str
    said: str


class PreviousOut(BaseModel):
    value: float | int | None
    display: str
    numerator: int | None
    denominator: int | None
    period: str
    change: float | int | None


class AnswerOut(BaseModel):
    """An answer, a clarifying question (`choices` to pick from), or "can't answer yet"
    (`choices` are the closest questions that can be answered)."""

    kind: Literal["answer", "clarify", "unknown"]
    question: str
    sentence: str
    metric: str | None = None
    label: str | None = None
    value: float | int | None = None
    display: str | None = None
    numerator: int | None = None
    denominator: int | None = None
    unit: str | None = None
    period: PeriodOut | None = None
    dimensions: list[str] = []
    filters: dict[str, str] = {}
    previous: PreviousOut | None = None
    rows: list[dict[str, Any]] = []
    definition: str | None = None
    sql: str | None = None
    note: str | None = None
    choices: list[str] = []


class MetricOut(BaseModel):
    name: str
    label: str
    kind: str
    unit: str
    definition: str
    panel: str
    dimensions: dict[str, str]
    filters: dict[str, str]
    available: bool
    note: str
