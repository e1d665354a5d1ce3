"""The gate's channel choice: explicit channels stay put, `preferred` falls back."""

from __future__ import annotations

from core.vocabulary import SuppressionReason
from domain.gate import ChannelFacts, candidate_channels, choose_channel
from sequences.vocabulary import Channel

OPEN = ChannelFacts(has_contact=True, consented=True, template_has_variant=True)
NO_CONSENT = ChannelFacts(has_contact=True, consented=False, template_has_variant=True)
NO_CONTACT = ChannelFacts(has_contact=False, consented=True, template_has_variant=True)
NO_VARIANT = ChannelFacts(has_contact=True, consented=True, template_has_variant=False)


def test_preferred_channel_is_tried_first_then_the_fixed_fallback_order():
    assert candidate_channels("preferred", Channel.SMS) == [
        Channel.SMS,
        Channel.WHATSAPP,
        Channel.EMAIL,
    ]
    assert candidate_channels("preferred", None) == [Channel.WHATSAPP, Channel.EMAIL, Channel.SMS]
    assert candidate_channels(Channel.EMAIL, Channel.SMS) == [Channel.EMAIL]


def test_falls_back_to_the_next_consented_channel():
    candidates = [Channel.WHATSAPP, Channel.EMAIL, Channel.SMS]
    facts = {Channel.WHATSAPP: NO_CONSENT, Channel.EMAIL: OPEN, Channel.SMS: OPEN}
    decision = choose_channel(candidates, facts)
    assert (decision.channel, decision.reason) == (Channel.EMAIL, None)


def test_skips_channels_without_contact_or_template_variant():
    candidates = [Channel.WHATSAPP, Channel.EMAIL, Channel.SMS]
    facts = {Channel.WHATSAPP: NO_CONTACT, Channel.EMAIL: NO_VARIANT, Channel.SMS: OPEN}
    assert choose_channel(candidates, facts).channel is Channel.SMS


def test_nothing_consented_is_suppressed_for_consent_on_the_first_reachable_channel():
    candidates = [Channel.WHATSAPP, Channel.EMAIL]
    facts = {Channel.WHATSAPP: NO_CONTACT, Channel.EMAIL: NO_CONSENT}
    decision = choose_channel(candidates, facts)
    assert (decision.channel, decision.considered, decision.reason) == (
        None,
        Channel.EMAIL,
        SuppressionReason.NO_CONSENT,
    )


def test_no_way_to_reach_the_lead_is_suppressed_for_contact():
    decision = choose_channel([Channel.SMS], {Channel.SMS: NO_CONTACT})
    assert (decision.channel, decision.reason) == (None, SuppressionReason.NO_CONTACT)


def test_a_fallback_from_the_preferred_channel_says_which_and_why():
    closed = ChannelFacts(
        has_contact=True, consented=True, template_has_variant=True, window_open=False
    )
    candidates = candidate_channels("preferred", Channel.WHATSAPP)
    facts = {Channel.WHATSAPP: closed, Channel.EMAIL: OPEN, Channel.SMS: OPEN}

    decision = choose_channel(candidates, facts, preferred=Channel.WHATSAPP)

    assert (decision.channel, decision.fell_back_from, decision.reason) == (
        Channel.EMAIL,
        Channel.WHATSAPP,
        SuppressionReason.WINDOW_CLOSED,
    )
    facts[Channel.WHATSAPP] = OPEN
    on_preferred = choose_channel(candidates, facts, preferred=Channel.WHATSAPP)
    assert (on_preferred.channel, on_preferred.fell_back_from, on_preferred.reason) == (
        Channel.WHATSAPP,
        None,
        None,
    )
