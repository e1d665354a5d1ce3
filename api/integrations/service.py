"""Store systems' deliveries: check the signature over the raw body, read the system's words
(`connectors/`), record the delivery in the inbox and act on it in one unit of work, then
tell Temporal.

A delivery that is not signed by a live secret of its source, or signed too long ago, is
refused with 403 before its body is parsed, and nothing is recorded.
"""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from api.deps import Backend
from api.errors import bad_request, forbidden, unavailable
from api.inputs import check_signed_json
from api.writes import write_once
from connectors import contract, meta, shopify
from connectors.signature import (
    SignatureRefused,
    check_facet_signature,
    check_meta_signature,
    check_shopify_hmac,
)
from db.types import utcnow
from domain.integrations import (
    Delivery,
    Handled,
    LiveSource,
    finish_delivery,
    live_source,
    mark_delivered,
    note_delivery,
    receive_once,
)

_ENVELOPE: TypeAdapter[Any] = TypeAdapter(contract.Envelope)


async def _source(backend: Backend, source: str, kind: str) -> LiveSource:
    key = backend.settings.secret_key.get_secret_value()
    found = await run_in_threadpool(
        backend.database.read, lambda session: live_source(session, key, source, kind)
    )
    if found is None or not found.secrets:
        raise forbidden(f"no live signing secret for source {source!r}")
    return found


def _json(body: bytes) -> Any:
    check_signed_json(body)  # NUL, lone surrogates, NaN, deep nesting: 422 naming where
    try:
        return json.loads(body)
    except ValueError as error:
        raise bad_request(f"the body is not JSON ({error})") from error


def _invalid(error: ValidationError, tag: object = None) -> RequestValidationError:
    """pydantic's errors as FastAPI's 422, under `body`, without the event type's tag."""
    problems = []
    for problem in error.errors(include_url=False, include_context=False):
        loc = list(problem["loc"])
        if problem["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = ["event_type"]
        elif loc and loc[0] == tag:
            loc = loc[1:]
        problems.append({"loc": ["body", *loc], "msg": problem["msg"], "type": problem["type"]})
    return RequestValidationError(problems)


def _vendor(model: type[BaseModel], document: Any) -> Any:
    """A vendor's body read into its model; what does not fit is a 400 naming the field."""
    try:
        return model.model_validate(document)
    except ValidationError as error:
        first = error.errors(include_url=False, include_context=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise bad_request(f"{where}: {first['msg']}") from error


async def _after_commit(backend: Backend, inbox_id: uuid.UUID, effects: Any, saved: str) -> None:
    """Tell Temporal, then note that it heard (a redelivery need not tell it again)."""
    await backend.tell_temporal(effects, saved=saved)
    now = utcnow()
    await run_in_threadpool(
        backend.database.run, lambda session: mark_delivered(session, inbox_id, now)
    )


async def contract_event(
    source: str, body: bytes, signature: str | None, backend: Backend
) -> dict[str, Any]:
    """One envelope of Facet's contract: verified, validated, recorded once, acted on."""
    live = await _source(backend, source, "contract")
    try:
        check_facet_signature(
            signature,
            body,
            live.secrets,
            now=datetime.now(UTC).timestamp(),
            tolerance=backend.settings.integration_signature_tolerance_seconds,
        )
    except SignatureRefused as refused:
        raise forbidden(str(refused)) from refused
    document = _json(body)
    tag = document.get("event_type") if isinstance(document, dict) else None
    try:
        envelope = _ENVELOPE.validate_python(document)
    except ValidationError as error:
        raise _invalid(error, tag) from error
    rules = contract.Contract(backend.reference, backend.settings)
    delivery = contract.delivery(source, envelope, document.get("payload", {}))
    received = await write_once(
        backend.database,
        lambda session: receive_once(
            session, delivery, lambda s: contract.handle(s, rules, live, envelope)
        ),
    )
    await _after_commit(backend, received.inbox_id, received.effects, f"event {envelope.event_id}")
    return {"event_id": envelope.event_id, "duplicate": received.duplicate, **received.answer}


async def shopify_webhook(
    body: bytes, headers: dict[str, str | None], backend: Backend
) -> dict[str, Any]:
    """One Shopify webhook delivery: verified, fresh, once per X-Shopify-Webhook-Id."""
    shop = (headers.get("shop") or "").strip().lower()
    if not shop:
        raise forbidden("missing X-Shopify-Shop-Domain header")
    live = await _source(backend, f"shopify:{shop}", "shopify")
    try:
        check_shopify_hmac(headers.get("hmac"), body, live.secrets)
    except SignatureRefused as refused:
        raise forbidden(str(refused)) from refused
    triggered = _shopify_time(headers.get("triggered_at"))
    limit = backend.settings.shopify_max_delivery_age_seconds
    if shopify.stale(triggered, utcnow(), limit):
        raise forbidden(
            f"X-Shopify-Triggered-At is more than {limit} s ago (or ahead): a stale delivery"
        )
    webhook_id = (headers.get("webhook_id") or "").strip()
    if not webhook_id or len(webhook_id) > 150:
        raise bad_request("X-Shopify-Webhook-Id: the delivery's id (1–150 characters)")
    topic = (headers.get("topic") or "").strip()
    document = _json(body)
    if not isinstance(document, dict):
        raise bad_request("body: Shopify sends a JSON object")
    if topic not in shopify.TOPICS:
        return {"status": "ignored", "reason": f"topic {topic!r} is not one Facet reads"}
    handle = _shopify_handler(topic, document, backend, live)
    delivery = Delivery(
        source=live.source,
        event_id=webhook_id,
        event_type=topic,
        store_id=live.store_id,
        occurred_at=triggered,
        payload=document,
    )
    received = await write_once(
        backend.database, lambda session: receive_once(session, delivery, handle)
    )
    await _after_commit(backend, received.inbox_id, received.effects, f"delivery {webhook_id}")
    return {"webhook_id": webhook_id, "duplicate": received.duplicate, **received.answer}


def _shopify_handler(
    topic: str, document: dict[str, Any], backend: Backend, live: LiveSource
) -> Callable[[Session], Handled]:
    """How to act on the topic's body, read into Shopify's shape first (a 400 if it is not)."""
    reference = backend.reference
    if topic in ("orders/create", "orders/updated"):
        order = _vendor(shopify.Order, document)
        return lambda s: shopify.handle_order(s, reference, live, order)
    if topic == "customers/create":
        customer = _vendor(shopify.Customer, document)
        return lambda s: shopify.handle_customer(s, reference, live, customer)
    refund = _vendor(shopify.Refund, document)
    return lambda s: shopify.handle_refund(s, reference, live, refund)


def _shopify_time(value: str | None) -> datetime:
    try:
        moment = datetime.fromisoformat((value or "").strip().replace("Z", "+00:00"))
    except ValueError as error:
        raise bad_request("X-Shopify-Triggered-At: an ISO 8601 time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def meta_handshake(settings_token: str | None, mode: str | None, token: str | None) -> bool:
    """Meta subscribes with the verify token typed into its dashboard: compared in constant
    time."""
    return (
        settings_token is not None
        and mode == "subscribe"
        and token is not None
        and hmac.compare_digest(settings_token.encode(), token.encode())
    )


async def meta_leads(body: bytes, signature: str | None, backend: Backend) -> dict[str, Any]:
    """Meta's leadgen notification: verified, each lead noted once, then read from the Graph
    API and captured. A lead the Graph API would not give answers 503: Meta delivers again."""
    live = await _source(backend, "meta", "meta")
    try:
        check_meta_signature(signature, body, live.secrets)
    except SignatureRefused as refused:
        raise forbidden(str(refused)) from refused
    notification = _vendor(meta.Notification, _json(body))
    try:
        leads = notification.leads()
    except ValidationError as error:
        raise bad_request(f"entry.changes.value: {error.errors()[0]['msg']}") from error
    token = backend.settings.meta_page_access_token
    if leads and token is None:
        raise unavailable("META_PAGE_ACCESS_TOKEN is not set: leads cannot be read yet")
    graph = meta.GraphClient(
        backend.settings.meta_graph_base_url,
        token.get_secret_value() if token else "",
        attempts=backend.settings.meta_graph_attempts,
    )
    answers = []
    for lead in leads:
        delivery = Delivery(
            source=live.source,
            event_id=lead.leadgen_id,
            event_type="leadgen",
            store_id=live.store_id,
            occurred_at=None,
            payload=lead.model_dump(exclude_none=True),
        )
        noted = await run_in_threadpool(
            backend.database.run, lambda s, d=delivery: note_delivery(s, d)
        )
        if noted.done:
            answers.append({"leadgen_id": lead.leadgen_id, "duplicate": True, **noted.answer})
            continue
        try:
            fetched = await run_in_threadpool(graph.lead, lead.leadgen_id)
        except meta.GraphUnavailable as error:
            raise unavailable(f"{error}; the delivery is kept, send it again") from error
        handled = await _capture(backend, live, meta.read_lead(fetched), noted.inbox_id)
        await _after_commit(backend, noted.inbox_id, handled.effects, f"lead {lead.leadgen_id}")
        answers.append({"leadgen_id": lead.leadgen_id, "duplicate": False, **handled.answer})
    return {"leads": answers}


async def _capture(
    backend: Backend, live: LiveSource, form: meta.LeadForm, inbox_id: uuid.UUID
) -> Handled:
    def work(session: Session) -> Handled:
        handled = meta.capture(session, backend.reference, backend.settings, live, form)
        finish_delivery(session, inbox_id, handled)
        return handled

    return await write_once(backend.database, work)
