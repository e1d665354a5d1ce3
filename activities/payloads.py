"""Inputs and results of Facet's activities, and their registered names.

Workflows import only this module from `activities/`, so workflow code never pulls in the
database or a vendor SDK. Payloads carry ids and small facts, never contact details.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from core.vocabulary import JourneyStatus, TouchStatus
from sequences.model import Sequence
from sequences.vocabulary import Channel, Occasion, Purpose

SEND_MESSAGE = "send_message"
ABANDON_SEND = "abandon_send"
FINISH_ENROLLMENT = "finish_enrollment"
LEAD_FACTS = "lead_facts"
PREPARE_ENROLLMENT = "prepare_enrollment"


class Failure(StrEnum):
    """How an activity fails for good (its ApplicationError's type): a retry changes nothing.

    The workflows' retry policies (workflows/policies.py) never retry these; a journey ends
    when its lead is gone (UNKNOWN_LEAD) instead of failing.
    """

    UNKNOWN_LEAD = "UnknownLead"  # the lead was deleted
    UNKNOWN_TASK = "UnknownTask"
    UNKNOWN_TOUCH = "UnknownTouch"  # a step that ran out of retries never claimed a touch
    BROKEN_TOUCH = "BrokenTouch"  # a claimed touch without channel, contact or body: a bug
    BUSINESS_RULE = "BusinessRule"  # any other rule of the domain's said no
    VALUE_ERROR = "ValueError"  # a value no retry can mend (a date, a sequence)
    STORE_SYSTEM_REFUSED = "StoreSystemRefused"  # e.g. Valigara's 102: fix the key, not retry


NON_RETRYABLE = tuple(failure.value for failure in Failure)

# The one failure that is retried on purpose: a provider down for now (429, 5xx, no answer
# to connect), after its Retry-After when it gave one.
PROVIDER_UNAVAILABLE = "ProviderUnavailable"


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
    occasion_date: date | None = None  # the date a countdown is counting to, for the copy

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


class LeadFactsRequest(_Payload):
    lead_id: uuid.UUID


class LeadFacts(_Payload):
    """What a journey may branch on and time by. No names, phones or emails."""

    timezone: str
    segment: str | None
    score: int | None
    attributes: dict[str, str]
    occasions: dict[Occasion, date]


class PrepareEnrollment(_Payload):
    lead_id: uuid.UUID
    sequence_key: str
    workflow_id: str
    requested_at: datetime | None = None  # the asking workflow's time: the journey's start


class PreparedEnrollment(_Payload):
    """The enrollment row for a journey about to start (or already running)."""

    enrollment_id: uuid.UUID
    sequence_version: int
    sequence: Sequence
    enrolled_at: datetime
    status: JourneyStatus
    created: bool
    # The run's own workflow id (a second run's differs from the first's); None in results
    # recorded before runs existed, which were always the first run.
    workflow_id: str | None = None


SEND_CHANNEL_CHECK = "send_channel_check"


class ChannelCheckRequest(_Payload):
    """Send the test message recorded in this `channel_check` row (its address stays there)."""

    check_id: uuid.UUID


class ChannelCheckResult(_Payload):
    status: str  # sent, or failed
    provider: str | None
    reason: str | None = None


SEND_WEEKLY_REPORT = "send_weekly_report"


class WeeklyReportRequest(_Payload):
    """Email the branch's owners the last full week before `at` (the schedule's fire time)."""

    store_id: uuid.UUID
    at: datetime


class WeeklyReportResult(_Payload):
    iso_week: str  # the week reported, e.g. "2026-W48"
    status: str  # sent; already_sent; no_owner; failed (with a reason)
    reason: str | None = None
