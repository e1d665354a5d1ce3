"""Inputs and results of Facet's activities, and their registered names.

Workflows import only this module from `activities/`, so workflow code never pulls in the
database or a vendor SDK. Payloads carry ids and small facts, never contact details.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from sequences.vocabulary import Channel, JourneyStatus, Purpose, TouchStatus

SEND_MESSAGE = "send_message"
ABANDON_SEND = "abandon_send"
FINISH_ENROLLMENT = "finish_enrollment"


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True)


class SendRequest(_Payload):
    """Send one step's message to one lead. (workflow_id, step_id) is the idempotency key."""

    workflow_id: str
    step_id: str
    lead_id: uuid.UUID
    enrollment_id: uuid.UUID | None
    channel: Channel | Literal["preferred"]
    template: str
    purpose: Purpose

    @property
    def idempotency_key(self) -> str:
        return f"{self.workflow_id}:{self.step_id}"


class SendResult(_Payload):
    touch_id: uuid.UUID
    status: TouchStatus
    channel: Channel | None
    reason: str | None = None
    duplicate: bool = False  # the step had already been handled by an earlier attempt
    # Quiet hours: nothing was sent; call again with the same request at this instant.
    deferred_until: datetime | None = None


class FinishEnrollment(_Payload):
    workflow_id: str
    status: JourneyStatus
    outcome: str | None = None
    revenue_minor: int | None = None
    currency: str | None = None
