"""Inputs and results of the Valigara activities, and their registered names (imported by
workflows/valigara.py through the sandbox's pass-through). Ids and counts, no personal data."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel

MARK_SOLD = "valigara_mark_sold"
PULL_CATALOGUE = "valigara_pull_catalogue"
# Why a Valigara activity failed for a while (a 201 "Action Failed", a network error that
# sent nothing): retried. A permanent refusal is `Failure.STORE_SYSTEM_REFUSED`, never.
VALIGARA_UNAVAILABLE = "ValigaraUnavailable"
VALIGARA_RATE_LIMITED = "ValigaraRateLimited"

SoldAction = Literal["remove", "revise", "no_action"]
# told: Valigara answered 100 now; already_told: an earlier attempt (or run) was answered;
# outcome_unknown: an earlier attempt sent the call and was never heard from again, so it
# is not sent twice (the stock may or may not be down: look in Valigara).
Told = Literal["told", "already_told", "outcome_unknown"]


class SoldLine(BaseModel):
    """One sale line of a Valigara piece."""

    store_id: uuid.UUID
    sale_line_key: str  # "{purchase_id}:{line_no}"
    product_id: str
    quantity: int
    # None: the store's choice (VALIGARA_SOLD_ACTION, read by the worker).
    sold_action: SoldAction | None = None


class LineTold(BaseModel):
    sale_line_key: str
    outcome: Told


class CataloguePull(BaseModel):
    store_id: uuid.UUID
    # None: the store's own currency (Valigara's prices carry none).
    store_currency: str | None = None
    full: bool = True


class CataloguePulled(BaseModel):
    listed: int
    created: int
    updated: int
    unchanged: int
    deactivated: int
