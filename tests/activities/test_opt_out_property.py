"""A property over random interleavings of steps and opt-outs: once a STOP is on the ledger,
no message goes out on that channel, whatever the order, the channel asked for or the retries."""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activities.messaging import MessagingActivities
from db.repositories import Capture
from db.types import utcnow
from domain import consent
from providers.base import OutgoingMessage, ProviderReceipt, Registry
from providers.outbox.adapter import OutboxProvider
from sequences.vocabulary import Channel, Purpose
from tests.activities.test_messaging import AFTERNOON, request_for, run_at
from tests.factories import make_lead, set_caps
from tests.standin import settings_for


class Recording(OutboxProvider):
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> ProviderReceipt:
        self.sent.append(message)
        return super().send(message)


channels = st.sampled_from(list(Channel))
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("send"),
            st.sampled_from([*Channel, "preferred"]),
            st.sampled_from(list(Purpose)),
        ),
        st.tuples(st.just("retry"), st.none(), st.none()),
        st.tuples(st.just("stop"), channels, st.none()),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations, preferred=channels)
def test_after_an_opt_out_nothing_is_sent_on_that_channel(database, store, ops, preferred):
    set_caps(database, store, per_day=100, per_week=100)
    provider = Recording()
    messaging = MessagingActivities(
        database, Registry(dict.fromkeys(Channel, provider)), settings_for()
    )
    lead_id = make_lead(
        database,
        store,
        consent=list(Channel),
        preferred=preferred,
        timezone="Asia/Kolkata",
        phone=f"+9198{uuid.uuid4().int % 10**8:08d}",  # hypothesis seeds `random` per example
        email=f"asha.{uuid.uuid4().hex[:10]}@example.com",
    )
    stopped: set[Channel] = set()
    last = None
    for index, (op, channel, purpose) in enumerate(ops):
        at = AFTERNOON + timedelta(minutes=index)
        if op == "stop":
            database.run(
                lambda s, c=channel: consent.stop(
                    s,
                    lead_id,
                    c,
                    Capture(
                        source="sms:keyword",
                        captured_by="webhook",
                        evidence="STOP",
                        given_at=utcnow(),
                    ),
                )
            )
            stopped.add(channel)
            continue
        if op == "retry":
            if last is None:
                continue
            request = last
        else:
            request = request_for(
                lead_id, channel, purpose=purpose, step_id=f"s{uuid.uuid4().hex[:6]}"
            )
            last = request
        before = len(provider.sent)
        run_at(messaging, request, at)
        for message in provider.sent[before:]:
            assert message.channel not in stopped, f"sent on {message.channel} after STOP"
