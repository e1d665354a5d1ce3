"""Valigara's calls as activities: a sale line's `product_sold`, and the catalogue pull.

Valigara's answers become Temporal's retry decisions: a 105 after the client's own waits is
retried after the wait Valigara advised (`next_retry_delay`); a permanent refusal (102 a
revoked key, 103, 200, 30x) ends the activity for good with a message that says what to fix;
anything else (a network error, 201) is retried by the workflow's policy. `product_sold` is
claimed per sale line before the call, so a retry after Valigara answered calls nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.payloads import Failure
from activities.valigara_payloads import (
    MARK_SOLD,
    PULL_CATALOGUE,
    VALIGARA_RATE_LIMITED,
    VALIGARA_UNAVAILABLE,
    CataloguePull,
    CataloguePulled,
    LineTold,
    SoldAction,
    SoldLine,
)
from connectors.valigara import sync
from connectors.valigara.client import RateLimited, ValigaraClient, ValigaraRefused
from db.repositories import StoreRepository
from db.session import Database

NOT_CONFIGURED = (
    "Valigara is not configured on this worker: set VALIGARA_ACCESS_KEY (Valigara: My Account "
    "→ API) and VALIGARA_BASE_URL, then retry the workflow"
)


@contextmanager
def _as_retry_decisions() -> Iterator[None]:
    try:
        yield
    except RateLimited as limited:
        raise ApplicationError(
            str(limited), type=VALIGARA_RATE_LIMITED,
            next_retry_delay=timedelta(seconds=max(limited.wait_seconds, 1.0)),
        ) from limited  # fmt: skip
    except ValigaraRefused as refused:
        if refused.permanent:
            raise ApplicationError(
                str(refused), type=Failure.STORE_SYSTEM_REFUSED.value, non_retryable=True
            ) from refused
        raise ApplicationError(str(refused), type=VALIGARA_UNAVAILABLE) from refused


class ValigaraActivities:
    """Built by the worker with the database, the store's Valigara client (None: Valigara
    is not configured, and every call fails for good saying so) and its `sold_action`."""

    def __init__(
        self,
        database: Database,
        client: Callable[[], ValigaraClient] | None,
        *,
        sold_action: SoldAction = "no_action",
        details_action: str = sync.DETAILS_ACTION,
    ) -> None:
        self._database = database
        self._client = client
        self._sold_action: SoldAction = sold_action
        self._details_action = details_action

    def _valigara(self) -> ValigaraClient:
        if self._client is None:
            raise ApplicationError(
                NOT_CONFIGURED, type=Failure.STORE_SYSTEM_REFUSED.value, non_retryable=True
            )
        return self._client()

    @activity.defn(name=MARK_SOLD)
    def mark_sold(self, line: SoldLine) -> LineTold:
        """Tell Valigara the piece sold, at most once per sale line."""
        client = self._valigara()
        with _as_retry_decisions():
            told = sync.mark_sold(
                self._database, client, store_id=line.store_id,
                sale_line_key=line.sale_line_key, product_id=line.product_id,
                quantity=line.quantity, sold_action=line.sold_action or self._sold_action,
            )  # fmt: skip
        if told == "outcome_unknown":
            activity.logger.warning(
                "Valigara product_sold for sale line %s: an earlier attempt sent it and was "
                "never answered; not sent again (check product %s's stock in Valigara)",
                line.sale_line_key, line.product_id,
            )  # fmt: skip
        return LineTold(sale_line_key=line.sale_line_key, outcome=told)

    @activity.defn(name=PULL_CATALOGUE)
    def pull_catalogue(self, pull: CataloguePull) -> CataloguePulled:
        """Bring the store's catalogue up to Valigara's."""
        client = self._valigara()
        currency = pull.store_currency or self._currency(pull)
        with _as_retry_decisions():
            pulled = sync.pull_catalogue(
                self._database, client, pull.store_id, currency, full=pull.full,
                details_action=self._details_action,
            )  # fmt: skip
        return CataloguePulled(**pulled.__dict__)

    def _currency(self, pull: CataloguePull) -> str:
        store = self._database.read(lambda s: StoreRepository(s).get(pull.store_id))
        if store is None:
            raise ApplicationError(
                f"no store with id {pull.store_id} (VALIGARA_STORE_ID)",
                type=Failure.BUSINESS_RULE.value, non_retryable=True,
            )  # fmt: skip
        return store.currency
