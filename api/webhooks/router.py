"""Webhook routes: authenticated by the provider's signature, never by an API key.

A forged or missing signature answers 403 and records nothing; a malformed payload answers
400. Twilio signs the URL it called, so the URL checked is the configured public URL plus
the path, never one rebuilt from the Host header.
"""

from __future__ import annotations

import uuid
from html import escape
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from temporalio.client import Client
from temporalio.service import RPCError

from api import journeys, qualification
from api.deps import DatabaseDep, SettingsDep, TemporalDep
from api.errors import forbidden, unavailable
from api.webhooks import service
from core.settings import Settings
from core.tokens import read_unsubscribe_token
from db.types import utcnow
from providers.sendgrid import webhook as sendgrid_webhook
from providers.twilio import webhook as twilio_webhook
from sequences.vocabulary import Channel

router = APIRouter(tags=["webhooks"])

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _bad_request(message: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_400_BAD_REQUEST, detail=message)


def _public_url(settings: Settings, request: Request) -> str:
    url = settings.public_base_url.rstrip("/") + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


async def _twilio_form(
    request: Request, settings: Settings, signature: str | None
) -> dict[str, str]:
    if settings.twilio_auth_token is None:
        raise forbidden("Twilio webhooks are not configured (TWILIO_AUTH_TOKEN)")
    body = (await request.body()).decode(errors="replace")
    params = parse_qsl(body, keep_blank_values=True)
    token = settings.twilio_auth_token.get_secret_value()
    if not twilio_webhook.signature_valid(token, _public_url(settings, request), params, signature):
        raise forbidden("invalid X-Twilio-Signature")
    return dict(params)


def _required(form: dict[str, str], *names: str) -> list[str]:
    missing = [name for name in names if not form.get(name)]
    if missing:
        raise _bad_request(f"missing form fields: {', '.join(missing)}")
    return [form[name] for name in names]


async def _send_signals(
    temporal: Client, settings: Settings, signals: list[service.Signal]
) -> None:
    try:
        for signal in signals:
            await journeys.deliver(temporal, signal.journeys, signal.event)
            await qualification.qualify(
                temporal,
                task_queue=settings.temporal_task_queue,
                lead_id=signal.lead_id,
                event_id=signal.event.event_id,
            )
    except RPCError as error:
        # The rows are saved; the provider retries the webhook and the signals go again.
        raise unavailable(f"journeys could not be reached ({error.message})") from error


TwilioSignature = Annotated[str | None, Header(alias="X-Twilio-Signature")]


@router.post("/v1/webhooks/twilio/inbound", response_class=Response)
async def twilio_inbound(
    request: Request,
    database: DatabaseDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    signature: TwilioSignature = None,
) -> Response:
    """An SMS or WhatsApp message from a lead: STOP/START/HELP, stop requests, replies."""
    form = await _twilio_form(request, settings, signature)
    message_sid, sender = _required(form, "MessageSid", "From")
    channel, phone = twilio_webhook.sender(sender)
    now = utcnow()
    outcome = await run_in_threadpool(
        database.run,
        lambda session: service.record_inbound(
            session,
            message_sid=message_sid,
            phone=phone,
            channel=channel,
            text=form.get("Body", ""),
            now=now,
        ),
    )
    await _send_signals(temporal, settings, outcome.signals)
    twiml = EMPTY_TWIML
    if outcome.help_text:
        twiml = (
            '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
            f"{escape(outcome.help_text)}</Message></Response>"
        )
    return Response(content=twiml, media_type="application/xml")


@router.post("/v1/webhooks/twilio/status", response_class=Response)
async def twilio_status(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    signature: TwilioSignature = None,
) -> Response:
    """A Twilio delivery report: the touch becomes delivered, undelivered or failed."""
    form = await _twilio_form(request, settings, signature)
    message_sid, message_status = _required(form, "MessageSid", "MessageStatus")
    await run_in_threadpool(
        database.run,
        lambda session: service.record_delivery(
            session,
            provider_message_id=message_sid,
            status=twilio_webhook.touch_status(message_status),
            reason=twilio_webhook.failure_reason(form.get("ErrorCode")),
        ),
    )
    return Response(content=EMPTY_TWIML, media_type="application/xml")


@router.post("/v1/webhooks/sendgrid/events")
async def sendgrid_events(
    request: Request,
    database: DatabaseDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    signature: Annotated[str | None, Header(alias="X-Twilio-Email-Event-Webhook-Signature")] = None,
    timestamp: Annotated[str | None, Header(alias="X-Twilio-Email-Event-Webhook-Timestamp")] = None,
) -> dict[str, int]:
    """SendGrid's signed event batch: delivery, engagement, bounces and opt-outs."""
    if settings.sendgrid_webhook_public_key is None:
        raise forbidden("SendGrid event webhook is not configured (SENDGRID_WEBHOOK_PUBLIC_KEY)")
    body = await request.body()
    if not sendgrid_webhook.signature_valid(
        settings.sendgrid_webhook_public_key,
        body,
        signature,
        timestamp,
        max_age_seconds=settings.webhook_max_age_seconds,
    ):
        raise forbidden("invalid or stale SendGrid event webhook signature")
    try:
        events = sendgrid_webhook.parse_events(body)
    except ValueError as error:
        raise _bad_request(str(error)) from error
    now = utcnow()
    outcome = await run_in_threadpool(
        database.run, lambda session: service.record_sendgrid_events(session, events, now)
    )
    await _send_signals(temporal, settings, outcome.signals)
    return {"processed": outcome.processed, "duplicates": outcome.duplicates}


def _unsubscribe_target(settings: Settings, token: str) -> tuple[uuid.UUID, Channel]:
    target = read_unsubscribe_token(settings.secret_key.get_secret_value(), token)
    if target is None:
        raise forbidden("this unsubscribe link is not valid")
    return target


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto">{content}</body></html>"""


@router.get("/v1/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe_page(token: str, settings: SettingsDep) -> HTMLResponse:
    """The page an unsubscribe link opens: one button, no login."""
    _unsubscribe_target(settings, token)
    content = (
        "<h1>Unsubscribe</h1><p>Stop marketing emails from this store?</p>"
        f'<form method="post" action="/v1/unsubscribe/{escape(token)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return HTMLResponse(_PAGE.format(title="Unsubscribe", content=content))


@router.post("/v1/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe_one_click(
    token: str, database: DatabaseDep, temporal: TemporalDep, settings: SettingsDep
) -> HTMLResponse:
    """RFC 8058 one-click unsubscribe (mail clients POST here); idempotent."""
    lead_id, channel = _unsubscribe_target(settings, token)
    now = utcnow()
    signals = await run_in_threadpool(
        database.run, lambda session: service.unsubscribe(session, lead_id, channel, now)
    )
    await _send_signals(temporal, settings, signals)
    content = "<h1>You are unsubscribed</h1><p>You will get no more marketing emails from us.</p>"
    return HTMLResponse(_PAGE.format(title="Unsubscribed", content=content))
