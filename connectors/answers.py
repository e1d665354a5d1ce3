"""What a store system is told once its sale or refund is recorded (every door says it alike)."""

from __future__ import annotations

from typing import Any

from domain.integrations import Handled
from domain.purchases import ReturnRecorded, SaleRecorded


def sale_recorded(recorded: SaleRecorded, **more: Any) -> Handled:
    return Handled(
        answer={
            "status": "recorded",
            **more,
            "lead_id": str(recorded.lead_id),
            "purchase_id": str(recorded.purchase_id),
            "converted_journeys": recorded.converted_journeys,
        },
        lead_id=recorded.lead_id,
        effects=recorded.effects,
    )


def return_recorded(done: ReturnRecorded) -> Handled:
    return Handled(
        answer={
            "status": "recorded",
            "lead_id": str(done.lead_id),
            "purchase_id": str(done.purchase_id),
            "refunded_minor": done.refunded_minor,
        },
        lead_id=done.lead_id,
    )
