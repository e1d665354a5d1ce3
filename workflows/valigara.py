"""Valigara's workflows: a sale's pieces told to it, and its catalogue pulled on a schedule.

- ValigaraSold (`valigara-sold:{purchase id}`, started by a sale's effects when the sale
  holds pieces pulled from Valigara): runs `valigara_mark_sold` for each line, one after the
  other. Input: the store, the purchase and each line's Valigara product id and quantity
  (no personal data). Each line's call is made at most once (its `outbound_call` row), so a
  retried activity, a repeated sale webhook or a reset calls `product_sold` no more. A 105 is
  retried after the wait Valigara advised; a refusal (102: the key) fails the workflow with
  Valigara's code and what to fix. Ends with each line's outcome.
- ValigaraCataloguePull (started by the `valigara-catalogue` schedule, every
  VALIGARA_PULL_EVERY_MINUTES): one `valigara_pull_catalogue` activity; ends with its counts,
  or fails with Valigara's refusal.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.valigara_payloads import (
        MARK_SOLD,
        PULL_CATALOGUE,
        CataloguePull,
        CataloguePulled,
        LineTold,
        SoldLine,
    )
    from workflows import policies


class SoldPieceLine(BaseModel):
    line_no: int
    product_id: str
    quantity: int


class ValigaraSoldInput(BaseModel):
    store_id: uuid.UUID
    purchase_id: uuid.UUID
    lines: list[SoldPieceLine]


class ValigaraSoldResult(BaseModel):
    lines: list[LineTold]


@workflow.defn
class ValigaraSold:
    @workflow.run
    async def run(self, input: ValigaraSoldInput) -> ValigaraSoldResult:
        told = []
        for line in input.lines:
            sold = SoldLine(
                store_id=input.store_id,
                sale_line_key=f"{input.purchase_id}:{line.line_no}",
                product_id=line.product_id,
                quantity=line.quantity,
            )
            told.append(
                await workflow.execute_activity(
                    MARK_SOLD,
                    sold,
                    result_type=LineTold,
                    start_to_close_timeout=policies.VALIGARA_CALL_TIMEOUT,
                    schedule_to_close_timeout=policies.VALIGARA_SOLD_GIVE_UP_AFTER,
                    retry_policy=policies.VALIGARA_SOLD,
                )
            )
        return ValigaraSoldResult(lines=told)


class CataloguePullInput(BaseModel):
    store_id: uuid.UUID


@workflow.defn
class ValigaraCataloguePull:
    @workflow.run
    async def run(self, input: CataloguePullInput) -> CataloguePulled:
        pulled: CataloguePulled = await workflow.execute_activity(
            PULL_CATALOGUE,
            CataloguePull(store_id=input.store_id),
            result_type=CataloguePulled,
            start_to_close_timeout=policies.VALIGARA_PULL_TIMEOUT,
            retry_policy=policies.VALIGARA_PULL,
        )
        return pulled
