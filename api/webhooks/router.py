"""Webhook routes: authenticated by the provider's signature, never by an API key; SendGrid's
Inbound Parse signs nothing, so its URL carries a secret instead.

A forged or missing signature (or secret) answers 403 and records nothing; a malformed
payload answers 400, or 422 naming the field (see `service`).
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import BackendDep, DatabaseDep, SettingsDep
from api.inputs import check_form, check_text
from api.webhooks import service
from api.webhooks.schemas import EmailReceived, EventsReceived
from core.settings import Settings

router = APIRouter(tags=["webhooks"])

TwilioSignature = Annotated[str | None, Header(alias="X-Twilio-Signature")]
_refused: dict[int | str, dict[str, str]] = {
    400: {"description": "A malformed payload"},
    403: {"description": "A missing, forged or stale signature (or the vendor not configured)"},
}


def _called_url(settings: Settings, request: Request) -> str:
    """The public URL the vendor called: what it signed (behind a proxy, not our Host)."""
    url = settings.public_base_url.rstrip("/") + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


async def _twilio_form(
    request: Request, settings: Settings, signature: str | None
) -> dict[str, str]:
    return service.twilio_form(
        settings, _called_url(settings, request), await request.body(), signature
    )


@router.post("/v1/webhooks/twilio/inbound", response_class=Response, responses=_refused)
async def twilio_inbound(
    request: Request, backend: BackendDep, signature: TwilioSignature = None
) -> Response:
    """An SMS or WhatsApp message from a lead: STOP/START/HELP, stop requests, replies."""
    form = await _twilio_form(request, backend.settings, signature)
    twiml = await service.twilio_inbound(form, backend)
    return Response(content=twiml, media_type="application/xml")


@router.post("/v1/webhooks/twilio/status", response_class=Response, responses=_refused)
async def twilio_status(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    signature: TwilioSignature = None,
) -> Response:
    """A Twilio delivery report: the touch becomes delivered, undelivered or failed."""
    form = await _twilio_form(request, settings, signature)
    await service.twilio_status(form, database=database)
    return Response(content=service.EMPTY_TWIML, media_type="application/xml")


@router.post("/v1/webhooks/sendgrid/events", responses=_refused)
async def sendgrid_events(
    request: Request,
    backend: BackendDep,
    signature: Annotated[str | None, Header(alias="X-Twilio-Email-Event-Webhook-Signature")] = None,
    timestamp: Annotated[str | None, Header(alias="X-Twilio-Email-Event-Webhook-Timestamp")] = None,
) -> EventsReceived:
    """SendGrid's signed event batch: delivery, engagement, bounces and opt-outs."""
    return await service.sendgrid_events(await request.body(), signature, timestamp, backend)


# What SendGrid's Inbound Parse posts ("POST the raw, full MIME message" off); Facet reads these.
_INBOUND_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["from"],
                    "properties": {
                        "from": {"type": "string", "description": "the sender, 'Name <address>'"},
                        "to": {"type": "string"},
                        "cc": {"type": "string"},
                        "subject": {"type": "string"},
                        "text": {"type": "string", "description": "the plain-text body"},
                        "html": {"type": "string", "description": "read when there is no text"},
                        "headers": {"type": "string", "description": "Message-ID, Auto-Submitted"},
                        "envelope": {"type": "string", "description": "JSON: to, from"},
                    },
                }
            }
        },
    }
}


@router.post(
    "/v1/webhooks/sendgrid/inbound/{secret}", responses=_refused, openapi_extra=_INBOUND_FORM
)
async def sendgrid_inbound(secret: str, request: Request, backend: BackendDep) -> EmailReceived:
    """An email reply through SendGrid Inbound Parse; the URL's secret authenticates it."""
    service.inbound_secret_valid(backend.settings, secret)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        check_form(await request.body())
    async with request.form() as form:
        fields = {name: value for name, value in form.items() if isinstance(value, str)}
    check_text(list(fields.items()), "body")
    return await service.sendgrid_inbound(fields, backend)


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto">{content}</body></html>"""


_bad_link: dict[int | str, dict[str, str]] = {403: {"description": "A forged or broken link"}}


@router.get("/v1/unsubscribe/{token}", response_class=HTMLResponse, responses=_bad_link)
async def unsubscribe_page(token: str, settings: SettingsDep) -> HTMLResponse:
    """The page an unsubscribe link opens: one button, no login."""
    service.unsubscribe_target(settings, token)
    content = (
        "<h1>Unsubscribe</h1><p>Stop marketing emails from this store?</p>"
        f'<form method="post" action="/v1/unsubscribe/{escape(token)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return HTMLResponse(_PAGE.format(title="Unsubscribe", content=content))


@router.post("/v1/unsubscribe/{token}", response_class=HTMLResponse, responses=_bad_link)
async def unsubscribe_one_click(token: str, backend: BackendDep) -> HTMLResponse:
    """RFC 8058 one-click unsubscribe (mail clients POST here); idempotent."""
    await service.unsubscribe(token, backend)
    content = "<h1>You are unsubscribed</h1><p>You will get no more marketing emails from us.</p>"
    return HTMLResponse(_PAGE.format(title="Unsubscribed", content=content))
