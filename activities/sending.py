"""The send pipeline: every message Facet sends goes claim → sending → provider → record.

Journey messages to leads and task notices to staff differ in their rules (the send gate,
or the staff member's notice settings: `domain.messages`, `domain.notices`), not in how they
leave: a unit of work prepares the step (claiming its touch), then the pipeline marks it
`sending`, calls the provider and records what it said.

- A transient refusal (429, 5xx, unreachable) hands the claim back and fails the attempt
  with PROVIDER_UNAVAILABLE, after the provider's Retry-After: Temporal retries it.
- A permanent refusal goes back to the rules (`refused`), which record it and may choose
  another channel.
- A provider that never answered leaves the touch `sending`; the retry records
  `outcome_unknown` and never calls again.
- A provider whose sends are repeatable (the outbox: nothing leaves Facet) is called in the
  claim's own unit of work: one write of the database per message instead of three.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session
from temporalio.exceptions import ApplicationError

from activities.failures import failing_for_good
from activities.payloads import PROVIDER_UNAVAILABLE
from db.models import Touch
from db.session import Database
from domain import messages
from domain.messages import Step
from providers.base import OutgoingMessage, ProviderError, Registry

# The rules' answer to a permanent refusal: record it, and perhaps prepare another channel.
Refused = Callable[[Session, OutgoingMessage, ProviderError], Step]


class SendPipeline:
    def __init__(self, database: Database, providers: Registry) -> None:
        self._db = database
        self._providers = providers

    def send(
        self, prepare: Callable[[Session], Step | None], refused: Refused, now: datetime
    ) -> Step | None:
        """Prepare the step in one unit of work, then carry it out; None: nothing to send."""
        with failing_for_good():
            step = self._db.run(lambda session: self._here(session, prepare(session), now))
            while step is not None and step.message is not None:
                step = self._deliver(step.message, refused, now)
        return step

    def _here(self, session: Session, step: Step | None, now: datetime) -> Step | None:
        """Send a claimed step in the claim's unit of work if its provider is repeatable; a
        refusal leaves the touch claimed, for `_deliver` to ask again and record it."""
        message = step.message if step is not None else None
        if message is None or not self._providers.repeatable(message.channel):
            return step
        try:
            receipt = self._providers.send(message)
        except ProviderError:
            return step
        return Step(messages.record_sent(session, message.touch_id, receipt, now), None)

    def _deliver(self, message: OutgoingMessage, refused: Refused, now: datetime) -> Step:
        """Mark the claimed touch `sending`, call the provider, record what it said."""
        touch_id = message.touch_id
        if not self._db.run(lambda session: messages.begin_sending(session, touch_id)):
            touch = self._db.run(lambda session: session.get_one(Touch, touch_id))
            return Step(touch, None, duplicate=True)
        try:
            receipt = self._providers.send(message)
        except ProviderError as error:
            if not error.permanent:
                self._db.run(lambda session: messages.hand_back(session, touch_id))
                delay = timedelta(seconds=error.retry_after) if error.retry_after else None
                raise ApplicationError(
                    str(error), type=PROVIDER_UNAVAILABLE, next_retry_delay=delay
                ) from error
            refusal = error
        else:
            return Step(
                self._db.run(lambda session: messages.record_sent(session, touch_id, receipt, now)),
                None,
            )
        return self._db.run(lambda session: refused(session, message, refusal))
