"""Store systems' doors: Facet's signed contract, Shopify webhooks, Meta lead forms.

Authenticated by each system's signature over the raw body, never by an API key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import PlainTextResponse

from api.deps import BackendDep, SettingsDep
from api.errors import forbidden
from api.integrations import service

router = APIRouter(tags=["integrations"])

_refused: dict[int | str, dict[str, Any]] = {
    400: {"description": "A body or header that is not what the system sends"},
    403: {"description": "Not signed by a live secret of the source, or signed too long ago"},
    404: {"description": "The event names a sale or lead Facet has not recorded"},
    409: {"description": "The event id was used before for another event"},
}


@router.post(
    "/v1/integrations/{source}/events",
    status_code=status.HTTP_202_ACCEPTED,
    responses=_refused,
)
async def contract_event(
    source: str,
    request: Request,
    backend: BackendDep,
    signature: Annotated[str | None, Header(alias="Facet-Signature")] = None,
) -> dict[str, Any]:
    """A store system's event (Facet's contract), recorded once by (source, event_id)."""
    return await service.contract_event(source, await request.body(), signature, backend)


@router.post("/v1/integrations/shopify/webhooks", responses=_refused)
async def shopify_webhook(
    request: Request,
    backend: BackendDep,
    hmac: Annotated[str | None, Header(alias="X-Shopify-Hmac-Sha256")] = None,
    topic: Annotated[str | None, Header(alias="X-Shopify-Topic")] = None,
    shop: Annotated[str | None, Header(alias="X-Shopify-Shop-Domain")] = None,
    webhook_id: Annotated[str | None, Header(alias="X-Shopify-Webhook-Id")] = None,
    triggered_at: Annotated[str | None, Header(alias="X-Shopify-Triggered-At")] = None,
) -> dict[str, Any]:
    """A Shopify webhook: orders (online and Point of Sale), customers, refunds."""
    headers = {
        "hmac": hmac,
        "topic": topic,
        "shop": shop,
        "webhook_id": webhook_id,
        "triggered_at": triggered_at,
    }
    return await service.shopify_webhook(await request.body(), headers, backend)


@router.get(
    "/v1/integrations/meta/leads",
    response_class=PlainTextResponse,
    responses={403: {"description": "Not subscribing, or the wrong verify token"}},
)
async def meta_handshake(
    settings: SettingsDep,
    mode: Annotated[str | None, Query(alias="hub.mode", max_length=32)] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token", max_length=200)] = None,
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=200)] = "",
) -> PlainTextResponse:
    """Meta's webhook handshake: the challenge echoed, only for the right verify token."""
    expected = settings.meta_verify_token
    if not service.meta_handshake(expected.get_secret_value() if expected else None, mode, token):
        raise forbidden("hub.mode must be subscribe and hub.verify_token the configured token")
    return PlainTextResponse(challenge)


@router.post(
    "/v1/integrations/meta/leads",
    responses={**_refused, 503: {"description": "The Graph API did not give the lead"}},
)
async def meta_leads(
    request: Request,
    backend: BackendDep,
    signature: Annotated[str | None, Header(alias="X-Hub-Signature-256")] = None,
) -> dict[str, Any]:
    """Meta's lead-ads notification: each lead read from the Graph API and captured."""
    return await service.meta_leads(await request.body(), signature, backend)
