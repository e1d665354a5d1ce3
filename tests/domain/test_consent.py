"""The consent ledger's rules: what a stop stops, what undoes it, and what the gate allows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from core.vocabulary import ConsentStatus, SuppressionReason
from db.models import Lead
from db.repositories import Capture, ConsentRepository
from domain import consent, inbound
from domain.consent import ChannelConsent, block
from sequences.vocabulary import Channel, Purpose
from tests.factories import enroll, make_lead

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _form(evidence: str | None, at: datetime) -> Capture:
    return Capture(source="instagram", captured_by="form", evidence=evidence, given_at=at)


def _states(database, lead_id: uuid.UUID) -> dict[tuple[Channel, Purpose], ConsentStatus]:
    return database.run(
        lambda s: {key: row.status for key, row in ConsentRepository(s).states(lead_id).items()}
    )


def _stop_on_whatsapp(database, lead_id: uuid.UUID, at: datetime) -> None:
    phone = database.run(lambda s: s.get_one(Lead, lead_id).phone_e164)
    database.run(
        lambda s: inbound.record_text(
            s,
            message_id=f"SM{uuid.uuid4().hex}",
            phone=phone,
            channel=Channel.WHATSAPP,
            text="STOP",
            now=at,
        )
    )


def test_whatsapp_needs_an_opt_in_except_a_reply_inside_the_lead_window():
    never = ChannelConsent()
    opted_in = ChannelConsent(marketing=True, opted_in=True)
    service = Purpose.TRANSACTIONAL
    assert block(never, Channel.WHATSAPP, service, window_open=False) == "no_consent"
    assert block(never, Channel.WHATSAPP, service, window_open=True) is None  # a reply
    assert block(never, Channel.WHATSAPP, Purpose.MARKETING, window_open=True) == "no_consent"
    assert block(opted_in, Channel.WHATSAPP, Purpose.MARKETING, window_open=False) is None
    assert block(never, Channel.EMAIL, service, window_open=False) is None  # a receipt by email


def test_an_email_unsubscribe_stops_marketing_email_not_receipts(database, store):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL])
    database.run(lambda s: inbound.unsubscribe(s, lead_id, Channel.EMAIL, NOW))

    state = database.run(lambda s: consent.channel_states(s, lead_id))[Channel.EMAIL]
    assert block(state, Channel.EMAIL, Purpose.MARKETING, window_open=True) == "opted_out"
    assert block(state, Channel.EMAIL, Purpose.TRANSACTIONAL, window_open=True) is None


def test_a_whatsapp_stop_stops_every_purpose_on_whatsapp_and_nothing_else(database, store):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL, Channel.WHATSAPP])
    _stop_on_whatsapp(database, lead_id, NOW)

    states = database.run(lambda s: consent.channel_states(s, lead_id))
    for purpose in Purpose:
        reason = block(states[Channel.WHATSAPP], Channel.WHATSAPP, purpose, window_open=True)
        assert reason is SuppressionReason.OPTED_OUT
        assert block(states[Channel.EMAIL], Channel.EMAIL, purpose, window_open=True) is None


def test_grant_revoke_and_regrant_keep_three_records_with_their_evidence(database, store):
    lead_id = make_lead(database, store, consent=[])
    first, later = NOW - timedelta(days=30), NOW + timedelta(days=2)
    database.run(
        lambda s: consent.grant_from_capture(
            s, lead_id, [Channel.EMAIL], _form("Newsletter box v1", first), submitted=True
        )
    )
    database.run(lambda s: inbound.unsubscribe(s, lead_id, Channel.EMAIL, NOW))
    kept = database.run(
        lambda s: consent.grant_from_capture(
            s, lead_id, [Channel.EMAIL], _form("Newsletter box v2", later), submitted=True
        )
    )

    history = database.run(lambda s: list(ConsentRepository(s).history(lead_id)))
    assert kept == []
    assert [
        (r.channel, r.purpose, r.status, r.evidence, r.captured_by, r.given_at) for r in history
    ] == [
        (Channel.EMAIL, Purpose.MARKETING, "granted", "Newsletter box v1", "form", first),
        (
            Channel.EMAIL,
            Purpose.MARKETING,
            "revoked",
            "the unsubscribe link in an email",
            "link",
            NOW,
        ),
        (Channel.EMAIL, Purpose.MARKETING, "granted", "Newsletter box v2", "form", later),
    ]
    assert _states(database, lead_id) == {(Channel.EMAIL, Purpose.MARKETING): "granted"}


@pytest.mark.parametrize(
    ("submitted", "at", "evidence"),
    [
        (False, NOW + timedelta(hours=1), "IG form"),  # no submission time: a re-sync, maybe
        (True, NOW - timedelta(hours=1), "IG form"),  # submitted before the stop: a re-sync
        (True, NOW + timedelta(hours=1), None),  # after the stop, but without its evidence
    ],
    ids=["no_submission_time", "submitted_before_the_stop", "no_evidence"],
)
def test_a_capture_that_is_not_a_new_submission_after_the_stop_never_regrants(
    database, store, submitted, at, evidence
):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL, Channel.WHATSAPP])
    _stop_on_whatsapp(database, lead_id, NOW)
    before = database.run(lambda s: len(ConsentRepository(s).history(lead_id)))

    kept = database.run(
        lambda s: consent.grant_from_capture(
            s,
            lead_id,
            [Channel.EMAIL, Channel.WHATSAPP, Channel.SMS],
            _form(evidence, at),
            submitted=submitted,
        )
    )

    states = _states(database, lead_id)
    assert kept == [Channel.WHATSAPP]
    assert states[(Channel.WHATSAPP, Purpose.MARKETING)] == "revoked"
    assert states[(Channel.WHATSAPP, Purpose.TRANSACTIONAL)] == "revoked"
    assert states[(Channel.SMS, Purpose.MARKETING)] == "granted"  # never stopped: granted
    after = database.run(lambda s: len(ConsentRepository(s).history(lead_id)))
    assert after == before + 1  # only the SMS grant; email was granted already


def test_a_new_submission_after_the_stop_with_its_evidence_opts_the_lead_back_in(database, store):
    lead_id = make_lead(database, store, consent=[Channel.WHATSAPP])
    _stop_on_whatsapp(database, lead_id, NOW)

    kept = database.run(
        lambda s: consent.grant_from_capture(
            s,
            lead_id,
            [Channel.WHATSAPP],
            _form("IG form v3, ticked again", NOW + timedelta(days=1)),
            submitted=True,
        )
    )

    assert kept == []
    states = _states(database, lead_id)
    assert states[(Channel.WHATSAPP, Purpose.MARKETING)] == "granted"
    assert states[(Channel.WHATSAPP, Purpose.TRANSACTIONAL)] == "granted"  # the stop lifted


def test_a_stop_redelivered_after_start_changes_nothing(database, store):
    lead_id = make_lead(database, store, consent=[Channel.SMS])
    phone = database.run(lambda s: s.get_one(Lead, lead_id).phone_e164)

    def text(message_id: str, body: str, at: datetime) -> None:
        database.run(
            lambda s: inbound.record_text(
                s, message_id=message_id, phone=phone, channel=Channel.SMS, text=body, now=at
            )
        )

    text("SM1" + lead_id.hex, "STOP", NOW)
    text("SM2" + lead_id.hex, "START", NOW + timedelta(minutes=5))
    text("SM1" + lead_id.hex, "STOP", NOW + timedelta(minutes=6))  # Twilio retries the STOP

    assert _states(database, lead_id)[(Channel.SMS, Purpose.MARKETING)] == "granted"


def test_a_stop_on_one_channel_is_heard_by_journeys_only_once_nothing_can_reach_the_lead(
    database, store
):
    lead_id = make_lead(database, store, consent=[Channel.SMS, Channel.WHATSAPP], email=None)
    phone = database.run(lambda s: s.get_one(Lead, lead_id).phone_e164)

    def stop(channel: Channel) -> inbound.Inbound:
        return database.run(
            lambda s: inbound.record_text(
                s,
                message_id=f"SM{uuid.uuid4().hex}",
                phone=phone,
                channel=channel,
                text="STOP",
                now=NOW,
            )
        )

    workflow_id, _start = enroll(database, lead_id)  # a running journey, as the row says

    first, last = stop(Channel.SMS), stop(Channel.WHATSAPP)

    assert first.effects.qualify and first.effects.deliveries == []  # WhatsApp still reaches
    assert [(d.event.kind, d.workflow_ids) for d in last.effects.deliveries] == [
        ("opted_out", [workflow_id])
    ]
