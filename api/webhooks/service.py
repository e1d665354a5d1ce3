"""Provider callbacks: check the signature, read the vendor's words, call the domain, tell
Temporal.

A forged or missing signature is refused before anything is read or recorded. Twilio signs
the URL it called, so the URL checked is the configured public URL plus the path, never one
rebuilt from the Host header. What each vendor's callback means is its own package's
knowledge (`providers/<vendor>/webhook.py`); what it changes is the domain's
(`domain.inbound`). Rows first, then Temporal: a provider retrying a callback finds its rows
and only the Temporal calls go again.
"""

from __future__ import annotations

import uuid
from html import escape
from urllib.parse import parse_qsl

from fastapi.concurrency import run_in_threadpool

from api.deps import Backend
from api.errors import bad_request, forbidden
from api.inputs import check_form, check_signed_json
from api.webhooks.schemas import EmailReceived, EventsReceived
from core.settings import Settings
from db.session import Database
from db.types import utcnow
from domain import inbound
from domain.consent import read_unsubscribe_token
from domain.errors import InvalidField
from providers.sendgrid import inbound as sendgrid_inbound_parse
from providers.sendgrid import webhook as sendgrid_webhook
from providers.twilio import webhook as twilio_webhook
from sequences.vocabulary import Channel

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def twilio_form(settings: Settings, url: str, body: bytes, signature: str | None) -> dict[str, str]:
    """The signed form Twilio posted to `url` (the public URL it called); 403 if not signed."""
    if settings.twilio_auth_token is None:
        raise forbidden("Twilio webhooks are not configured (TWILIO_AUTH_TOKEN)")
    params = parse_qsl(body.decode(errors="replace"), keep_blank_values=True)
    token = settings.twilio_auth_token.get_secret_value()
    if not twilio_webhook.signature_valid(token, url, params, signature):
        raise forbidden("invalid X-Twilio-Signature")
    check_form(body)
    return dict(params)


def _required(form: dict[str, str], *names: str) -> list[str]:
    missing = [name for name in names if not form.get(name)]
    if missing:
        raise bad_request(f"missing form fields: {', '.join(missing)}")
    return [form[name] for name in names]


async def twilio_inbound(form: dict[str, str], backend: Backend) -> str:
    """An SMS or WhatsApp message from a lead; the TwiML to answer with."""
    message_sid, sender = _required(form, "MessageSid", "From")
    channel, phone = twilio_webhook.sender(sender)
    now = utcnow()
    heard = await run_in_threadpool(
        backend.database.run,
        lambda session: inbound.record_text(
            session,
            message_id=message_sid,
            phone=phone,
            channel=channel,
            text=form.get("Body", ""),
            now=now,
            newcomers=inbound.Newcomers(
                backend.reference, backend.settings, backend.settings.whatsapp_store_id
            ),
            sender_name=form.get("ProfileName"),  # WhatsApp's name for the sender
        ),
    )
    await backend.tell_temporal(heard.effects, saved=f"message {message_sid}")
    if not heard.help_text:
        return EMPTY_TWIML
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
        f"{escape(heard.help_text)}</Message></Response>"
    )


async def twilio_status(form: dict[str, str], *, database: Database) -> None:
    """A Twilio delivery report: the touch becomes delivered, undelivered or failed."""
    message_sid, message_status = _required(form, "MessageSid", "MessageStatus")
    report = inbound.DeliveryReport(
        source="twilio",
        touch_id=None,
        provider_message_id=message_sid,
        status=twilio_webhook.touch_status(message_status),
        reason=twilio_webhook.failure_reason(form.get("ErrorCode")),
        name=message_status,
    )
    now = utcnow()
    await run_in_threadpool(
        database.run, lambda session: inbound.record_reports(session, [report], now)
    )


async def sendgrid_events(
    body: bytes, signature: str | None, timestamp: str | None, backend: Backend
) -> EventsReceived:
    """SendGrid's signed event batch: delivery, engagement, bounces and opt-outs."""
    settings = backend.settings
    if settings.sendgrid_webhook_public_key is None:
        raise forbidden("SendGrid event webhook is not configured (SENDGRID_WEBHOOK_PUBLIC_KEY)")
    if not sendgrid_webhook.signature_valid(
        settings.sendgrid_webhook_public_key,
        body,
        signature,
        timestamp,
        max_age_seconds=settings.webhook_max_age_seconds,
    ):
        raise forbidden("invalid or stale SendGrid event webhook signature")
    check_signed_json(body)
    try:
        events = sendgrid_webhook.parse_events(body)
    except ValueError as error:
        raise bad_request(str(error)) from error
    reports = [
        inbound.DeliveryReport(
            source="sendgrid",
            touch_id=event.touch_id,
            provider_message_id=event.message_id,
            status=event.status,
            reason=f"sendgrid_{event.name}",
            receipt_id=event.event_id,
            name=event.name,
            bounce=event.bounce,
            opt_out=event.opt_out,
            marketing_only=event.unsubscribe,
            engagement=event.engagement,
            occurred_at=event.at,
        )
        for event in events
    ]
    now = utcnow()
    reported = await run_in_threadpool(
        backend.database.run, lambda session: inbound.record_reports(session, reports, now)
    )
    await backend.tell_temporal(reported.effects, saved="the event batch")
    return EventsReceived(processed=reported.processed, duplicates=reported.duplicates)


async def sendgrid_inbound(form: dict[str, str], backend: Backend) -> EmailReceived:
    """An email a lead sent to the store's reply address (the URL's secret already checked)."""
    try:
        email = sendgrid_inbound_parse.parse_inbound(form)
    except sendgrid_inbound_parse.NotAnEmail as error:
        raise InvalidField(error.field, error.message) from error
    if email.automatic:  # an out-of-office or a bounce: answered, so SendGrid stops, and ignored
        return EmailReceived(leads=0, automatic=True)
    now = utcnow()
    heard = await run_in_threadpool(
        backend.database.run,
        lambda session: inbound.record_email(
            session,
            inbound.EmailFromLead(
                key=email.message_key,
                sender=email.sender,
                subject=email.subject,
                text=email.text,
                reply=email.reply,
                recipients=email.recipients,
            ),
            now,
            backend.settings.secret_key.get_secret_value(),
        ),
    )
    await backend.tell_temporal(heard.effects, saved="the email")
    return EmailReceived(leads=heard.leads)


def inbound_secret_valid(settings: Settings, secret: str) -> None:
    """403 unless the URL carries the configured Inbound Parse secret."""
    if settings.sendgrid_inbound_secret is None:
        raise forbidden("SendGrid Inbound Parse is not configured (SENDGRID_INBOUND_SECRET)")
    expected = settings.sendgrid_inbound_secret.get_secret_value()
    if not sendgrid_inbound_parse.secret_valid(expected, secret):
        raise forbidden("this Inbound Parse URL is not valid")


def unsubscribe_target(settings: Settings, token: str) -> tuple[uuid.UUID, Channel]:
    """The lead and channel an unsubscribe link names; 403 for a forged or broken link."""
    target = read_unsubscribe_token(settings.secret_key.get_secret_value(), token)
    if target is None:
        raise forbidden("this unsubscribe link is not valid")
    return target


async def unsubscribe(token: str, backend: Backend) -> None:
    """RFC 8058 one-click unsubscribe; idempotent."""
    lead_id, channel = unsubscribe_target(backend.settings, token)
    now = utcnow()
    effects = await run_in_threadpool(
        backend.database.run, lambda session: inbound.unsubscribe(session, lead_id, channel, now)
    )
    await backend.tell_temporal(effects, saved="the unsubscribe")
