"""The send activity: one journey step's message to its lead, through the send pipeline.

The rules (the send gate at send time, the touch's life) are `domain.messages`; how a
message leaves (claim → sending → provider → record, never twice) is `activities.sending`.

The gate's clock is the Temporal server's (the attempt's scheduled/started time), so quiet
hours and caps follow the journey's time, also on the time-skipping test server.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import activity

from activities.failures import failing_for_good
from activities.payloads import ABANDON_SEND, SEND_MESSAGE, SendRequest, SendResult
from activities.sending import SendPipeline
from core.settings import Settings
from core.vocabulary import TouchStatus
from db.models import Touch
from db.session import Database
from domain import messages
from domain.errors import UnknownTouch
from domain.gate import BlockReason
from domain.messages import LeadMessages
from providers.base import Registry
from sequences.vocabulary import Channel


def gate_clock() -> datetime:
    """Now, as the Temporal server sees it for this attempt (skips with time-skipping)."""
    info = activity.info()
    return max(info.current_attempt_scheduled_time, info.started_time)


class MessagingActivities:
    """Sends journey messages through the configured providers, exactly once per step."""

    def __init__(self, database: Database, providers: Registry, settings: Settings) -> None:
        self._db = database
        self._pipeline = SendPipeline(database, providers)
        self._messages = LeadMessages(settings, providers.repeatable)

    @activity.defn(name=SEND_MESSAGE)
    def send_message(self, request: SendRequest) -> SendResult:
        """Gate, claim and send one step's message; a retry never sends it twice."""
        now = gate_clock()
        refused: dict[Channel, BlockReason] = {}
        step = self._pipeline.send(
            lambda session: self._messages.prepare(session, request, now, refused),
            lambda session, message, error: self._messages.after_refusal(
                session, request, message, error, now, refused
            ),
            now,
        )
        assert step is not None, "a journey step always has a touch"
        return _result(step.touch, duplicate=step.duplicate)

    @activity.defn(name=ABANDON_SEND)
    def abandon_send(self, request: SendRequest) -> SendResult:
        """The send ran out of retries: record it as failed so the timeline says so."""
        with failing_for_good():
            touch = self._db.run(lambda session: messages.abandon(session, request.idempotency_key))
            if touch is None:
                raise UnknownTouch(request.idempotency_key)
        return _result(touch, duplicate=False)


def _result(touch: Touch, *, duplicate: bool) -> SendResult:
    return SendResult(
        touch_id=touch.id,
        status=touch.status,
        channel=touch.channel,
        reason=touch.reason,
        duplicate=duplicate,
        deferred_until=touch.held_until if touch.status is TouchStatus.HELD else None,
    )
