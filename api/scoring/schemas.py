"""Bodies of the scoring admin routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class RefitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: uuid.UUID
    rescore: bool = True


class ModelView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: str
    promoted: bool
    reason: str
    metrics: dict[str, Any]
    created_at: datetime
    promoted_at: datetime | None
