"""Valigara's calls as activities: a sale line's `product_sold`, and the catalogue pull.

Valigara's answers become Temporal's retry decisions: a 105 after the client's own waits is
retried after the wait Valigara advised (`next_retry_delay`); a permanent refusal (102 a
revoked key, 103, 200, 30x) ends the activity for good with a message that says what to fix;
anything else (a network error, 201) is retried by the workflow's policy. `product_sold` is
claimed per sale line before the call, so a retry after Valigara answered calls nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.payloads import Failure
from connectors.valigara import sync
from connectors.valigara.client import RateLimited, ValigaraClient, ValigaraRefused
from db.session import Database


class SoldLine(BaseModel):
    """One sale line of a Valigara piece (ids and a count: no personal data)."""

    store_id: uuid.UUID
    sale_line_key: str  # "{purchase_id}:{line_no}"
    product_id: str
    quantity: int
    sold_action: Literal["remove", "revise", "no_action"] = "no_action"


class CataloguePull(BaseModel):
    store_id: uuid.UUID
    store_currency: str
    full: bool = True


class CataloguePulled(BaseModel):
    listed: int
    created: int
    updated: int
    unchanged: int
    deactivated: int


@contextmanager
def _as_retry_decisions() -> Iterator[None]:
    try:
        yield
    except RateLimited as limited:
        raise ApplicationError(
            str(limited), type="ValigaraRateLimited",
            next_retry_delay=timedelta(seconds=max(limited.wait_seconds, 1.0)),
        ) from limited  # fmt: skip
    except ValigaraRefused as refused:
        raise ApplicationError(
            str(refused), type=Failure.STORE_SYSTEM_REFUSED.value, non_retryable=refused.permanent
        ) from refused


class ValigaraActivities:
    """Built by the worker with the database and a client for the store's Valigara account."""

    def __init__(self, database: Database, client: Callable[[], ValigaraClient]) -> None:
        self._database = database
        self._client = client

    @activity.defn(name="valigara_mark_sold")
    def mark_sold(self, line: SoldLine) -> bool:
        """Tell Valigara the piece sold, once per sale line; False when already told."""
        with _as_retry_decisions():
            return sync.mark_sold(
                self._database, self._client(), store_id=line.store_id,
                sale_line_key=line.sale_line_key, product_id=line.product_id,
                quantity=line.quantity, sold_action=line.sold_action,
            )  # fmt: skip

    @activity.defn(name="valigara_pull_catalogue")
    def pull_catalogue(self, pull: CataloguePull) -> CataloguePulled:
        """Bring the store's catalogue up to Valigara's."""
        with _as_retry_decisions():
            pulled = sync.pull_catalogue(
                self._database, self._client(), pull.store_id, pull.store_currency, full=pull.full
            )
        return CataloguePulled(**pulled.__dict__)
