"""Which provider carries each channel, from the settings: the one place vendors register.

A channel whose vendor has no keys (and sender) stays on the outbox, so nothing leaves Facet
by accident. Adding a vendor: its package under `providers/`, and its line here.
"""

from __future__ import annotations

from core.settings import Settings
from providers.base import Provider, Registry
from providers.configuration import OUTBOX, SENDGRID, TWILIO, carriers
from providers.outbox.adapter import OutboxProvider
from providers.sendgrid.adapter import SendGridEmailProvider
from providers.twilio.adapter import TwilioMessagingProvider
from sequences.vocabulary import Channel, Purpose


def outbox_only() -> Registry:
    """Every channel on the outbox: nothing leaves Facet."""
    outbox = OutboxProvider()
    return Registry(dict.fromkeys(Channel, outbox))


def configured(settings: Settings) -> Registry:
    """SendGrid for email and Twilio for SMS and WhatsApp where their keys (and senders) are
    set (`configuration.carriers` decides); the outbox for every other channel."""
    vendors = {carrier.vendor for carrier in carriers(settings).values()}
    built: dict[str, Provider] = {OUTBOX: OutboxProvider()}
    if SENDGRID in vendors and settings.sendgrid_api_key is not None:
        built[SENDGRID] = SendGridEmailProvider(
            settings.sendgrid_api_key.get_secret_value(),
            base_url=settings.sendgrid_base_url,
            from_email=settings.sendgrid_from_email,
            from_name=settings.sendgrid_from_name,
            timeout=settings.provider_timeout_seconds,
            unsubscribe_groups={
                purpose: group
                for purpose, group in (
                    (Purpose.MARKETING, settings.sendgrid_marketing_group_id),
                    (Purpose.TRANSACTIONAL, settings.sendgrid_service_group_id),
                )
                if group is not None
            },
        )
    if TWILIO in vendors and settings.twilio_account_sid and settings.twilio_auth_token:
        built[TWILIO] = TwilioMessagingProvider(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            base_url=settings.twilio_base_url,
            status_callback_url=f"{settings.public_base_url.rstrip('/')}/v1/webhooks/twilio/status",
            sms_from=settings.twilio_sms_from,
            whatsapp_from=settings.twilio_whatsapp_from,
            timeout=settings.provider_timeout_seconds,
        )
    return Registry(
        {channel: built[carrier.vendor] for channel, carrier in carriers(settings).items()}
    )
