"""Which vendor carries each channel, decided from the settings alone (no SDK, no secret).

`registry.configured` builds the adapters from this decision; the console shows it to an
admin. A channel whose vendor lacks its keys or sender stays on the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings
from sequences.vocabulary import Channel

OUTBOX, SENDGRID, TWILIO = "outbox", "sendgrid", "twilio"


@dataclass(frozen=True)
class Carrier:
    """The vendor for a channel, the sender it sends as, and what it would need otherwise."""

    channel: Channel
    vendor: str
    sender: str | None = None
    missing: str | None = None  # for the outbox: the settings that would turn the vendor on


def carriers(settings: Settings) -> dict[Channel, Carrier]:
    """The carrier of every channel, as `registry.configured` builds it."""
    twilio = settings.twilio_configured
    twilio_missing = None if twilio else "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
    return {
        Channel.EMAIL: (
            Carrier(Channel.EMAIL, SENDGRID, settings.sendgrid_from_email)
            if settings.sendgrid_configured
            else Carrier(Channel.EMAIL, OUTBOX, missing="SENDGRID_API_KEY")
        ),
        Channel.SMS: (
            Carrier(Channel.SMS, TWILIO, settings.twilio_sms_from)
            if twilio and settings.twilio_sms_from
            else Carrier(Channel.SMS, OUTBOX, missing=twilio_missing or "TWILIO_SMS_FROM")
        ),
        Channel.WHATSAPP: (
            Carrier(Channel.WHATSAPP, TWILIO, settings.twilio_whatsapp_from)
            if twilio and settings.twilio_whatsapp_from
            else Carrier(Channel.WHATSAPP, OUTBOX, missing=twilio_missing or "TWILIO_WHATSAPP_FROM")
        ),
    }
