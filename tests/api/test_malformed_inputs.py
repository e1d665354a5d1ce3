"""Malformed input against every POST route the app has: a precise 4xx, nothing recorded.

The routes are read from the app itself, so a new POST route fails here until it has a valid
request in `_valid_requests`. Each case spoils that valid request in one way (a lone
surrogate, a NUL, an absurd date, an oversized or chunked body, deep nesting, a wrong type, an
unknown field, bad JSON, a bad UUID, an unknown id, a number JSON cannot mean) and must be
answered with its 4xx, naming the field where there is one, with every table's row count as
it was, and with a status the route's OpenAPI documents. Signed webhooks are signed as the
vendor would sign the spoiled body, so the rules are checked behind the signature too. Last,
each valid request is sent and must succeed, so the cases were refused for what they spoil.
"""

from __future__ import annotations

import base64
import copy
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from api.app import create_app
from api.auth import issue_api_key
from connectors.signature import facet_signature, meta_signature, shopify_hmac
from core.vocabulary import ApiRole
from db.models import Base, Lead, Purchase, Staff, Task
from db.repositories import IntegrationSecretRepository
from db.types import utcnow
from domain import campaigns
from domain.access import Actor
from domain.consent import unsubscribe_token
from domain.integrations import issue_secret
from sequences.vocabulary import Channel, StaffRole
from tests.conftest import api_client, bearer
from tests.conftest import test_settings as settings_for
from tests.factories import make_lead

PUBLIC = "https://facet.example"
TWILIO_TOKEN = "twilio-auth-token"
SECRET = "test-secret-that-is-not-a-placeholder"  # test_settings' secret_key
INBOUND_SECRET = "inbound-parse-secret"
STORE_SYSTEM_SECRET = "a-store-systems-signing-secret"  # every signed store system's, here
SIGNING_KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_KEY = base64.b64encode(
    SIGNING_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()
WEBHOOK_SETTINGS: dict[str, Any] = {
    "public_base_url": PUBLIC,
    "twilio_account_sid": "AC" + "1" * 32,
    "twilio_auth_token": TWILIO_TOKEN,
    "sendgrid_webhook_public_key": PUBLIC_KEY,
    "sendgrid_inbound_secret": INBOUND_SECRET,
    "meta_verify_token": "meta-verify",
    "meta_page_access_token": "page-token",
    "meta_graph_base_url": "http://127.0.0.1:9/unused",  # the valid notification reads no lead
    "max_import_bytes": 256 * 1024,  # a CSV import's limit, small enough to exceed here
}

APP = create_app(settings_for("sqlite://", "unused", **WEBHOOK_SETTINGS))
OPENAPI = APP.openapi()
# The API's routes; the console's form posts have their own table (tests/web).
POST_ROUTES = sorted(
    route.path_format
    for route in iter_route_contexts(APP.routes)
    if route.path_format
    and "POST" in (route.methods or ())
    and route.path_format.startswith("/v1/")
)
MAX_BODY = APP.state.settings.max_body_bytes
SALE_TO_RETURN = "sale-to-return"  # a sale in each world, for the returns route
MAX_WEBHOOK_BODY = APP.state.settings.max_webhook_body_bytes
MAX_IMPORT = APP.state.settings.max_import_bytes

NO_CAMPAIGN = uuid.UUID(int=0)
Where = tuple[str | int, ...]  # a field's place in the body, e.g. ("customer", "phone")


@dataclass(frozen=True)
class Valid:
    """A request the route accepts, and where its fields of each kind are."""

    path: str
    body: Any
    headers: dict[str, str]
    form: bool = False
    # "twilio", "sendgrid", "facet", "shopify" or "meta": signed after it is spoiled
    signed: str | None = None
    text: Where | None = None  # a string field
    typed: Where | None = None  # a field of a definite type (default: `text`)
    uuid: Where | None = None
    dates: tuple[Where, ...] = ()  # date fields
    datetimes: tuple[Where, ...] = ()
    number: Where | None = None
    path_ids: tuple[tuple[str, str, int], ...] = ()  # (parameter, its value, status if unknown)
    unknown_ids: tuple[tuple[Where, int], ...] = ()  # body ids naming nothing → status
    vendor_body: bool = False  # the vendor's own shape: unknown fields are the vendor's to add
    limit: int = MAX_BODY
    csv: bool = False  # the body is a CSV file (bytes), its options in the query


@dataclass(frozen=True)
class Spoiled:
    name: str
    path: str
    content: bytes | Callable[[], AsyncIterator[bytes]]
    status: int
    names: str | None = None  # what the answer must name
    sign: bool = True


def _set(body: Any, where: Where, value: Any) -> Any:
    spoiled = copy.deepcopy(body)
    target = spoiled
    for part in where[:-1]:
        target = target.setdefault(part, {}) if isinstance(target, dict) else target[part]
    target[where[-1]] = value
    return spoiled


def _encode(valid: Valid, body: Any) -> bytes:
    if valid.csv:
        return bytes(body)
    return urlencode(body).encode() if valid.form else json.dumps(body).encode()


def _csv_cases(valid: Valid) -> list[Spoiled]:
    """A CSV import spoiled: the file as a whole (encoding, header, size) and its options."""
    path, good = valid.path, bytes(valid.body)
    header = good.split(b"\n", 1)[0].decode()
    first_column = header.split(",")[0]
    big = good + b"x" * (valid.limit + 1)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 16 * 1024):
            yield big[start : start + 16 * 1024]

    sep = "&" if "?" in path else "?"
    return [
        Spoiled("not UTF-8", path, header.encode() + b",d\xe9tail\n", 422, "UTF-8"),
        Spoiled("a required column missing", path,
                good.replace(first_column.encode(), b"something_else", 1), 422, first_column),
        Spoiled("empty", path, b"", 422, "header"),
        Spoiled("bad mode", f"{path}{sep}mode=sideways", good, 422, "mode"),
        Spoiled("bad dry_run", f"{path}{sep}dry_run=maybe", good, 422, "dry_run"),
        Spoiled("bad store_id", f"{path}{sep}store_id=not-a-uuid", good, 422, "store_id"),
        Spoiled("unknown store", f"{path}{sep}store_id={uuid.uuid4()}", good, 422, "store_id"),
        Spoiled("bad source", f"{path}{sep}source=Not%20A%20Source", good, 422, "source"),
        Spoiled("unknown kind", path.replace(path.rsplit("/", 1)[-1].split("?")[0], "rings"),
                good, 422, "kind"),
        Spoiled("oversized", path, big, 413, sign=False),
        Spoiled("oversized, chunked", path, chunks, 413, sign=False),
        Spoiled("NUL in the query", f"{path}{sep}q=a%00b", good, 422, "q"),
    ]  # fmt: skip


def _cases(valid: Valid) -> list[Spoiled]:
    """The valid request spoiled in every way that applies to it."""
    if valid.csv:
        return _csv_cases(valid)
    cases: list[Spoiled] = []
    good = _encode(valid, valid.body)

    def spoil(name: str, where: Where | None, value: Any, status: int, names: str | None) -> None:
        if where is not None:
            content = _encode(valid, _set(valid.body, where, value))
            cases.append(Spoiled(name, valid.path, content, status, names))

    def named(where: Where | None) -> str | None:
        return str(where[-1]) if where else None

    text, typed = valid.text, valid.typed or valid.text
    if valid.form:
        # A form cannot carry a lone surrogate: its nearest spelling is invalid UTF-8.
        cases.append(Spoiled("surrogate", valid.path, good + b"&note=%ED%A0%80", 422, "note"))
    elif text:
        spoil("surrogate", text, "\ud800", 422, named(text))
    else:
        cases.append(Spoiled("surrogate", valid.path, b'{"note": "\\ud800"}', 422, "note"))
    spoil("NUL", text, "a\x00b", 422, named(text))
    name_place = (0, "x\x00") if isinstance(valid.body, list) else ("x\x00",)
    spoil("NUL in a name", name_place, "x", 422, "x\\x00")
    if not valid.form:
        spoil("deep nesting", text or ("note",), json.loads("[" * 40 + "]" * 40), 422, None)
        spoil("wrong type", typed, ["a", "list"], 400 if valid.vendor_body else 422, named(typed))
        if text and not valid.vendor_body:
            spoil("unknown field", ("budgett",), 1, 422, "budgett")
        cases.append(
            Spoiled("bad JSON", valid.path, b'{"store_id": ', 400 if valid.signed else 422)
        )
        nan = {**valid.body, "n": float("nan")} if isinstance(valid.body, dict) else [float("nan")]
        cases.append(Spoiled("NaN", valid.path, json.dumps(nan).encode(), 422))
        spoil("bad UUID", valid.uuid, "not-a-uuid", 422, named(valid.uuid))
        spoil("huge number", valid.number, 10**40, 422, named(valid.number))
        for where in valid.dates:
            spoil("date 0001-01-01", where, "0001-01-01", 422, named(where))
            spoil("date 9999-12-31", where, "9999-12-31", 422, named(where))
        for where in valid.datetimes:
            spoil("time 0001-01-01", where, "0001-01-01T00:00:00Z", 422, named(where))
            spoil("time 9999-12-31", where, "9999-12-31T23:59:59Z", 422, named(where))
        for where, status in valid.unknown_ids:
            spoil("unknown id in the body", where, str(uuid.uuid4()), status, None)
    padding = "x" * (valid.limit + 1)
    big = _encode(valid, _set(valid.body, text, padding) if text else {"note": padding})
    cases.append(Spoiled("oversized", valid.path, big, 413, sign=False))

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 16 * 1024):
            yield big[start : start + 16 * 1024]

    cases.append(Spoiled("oversized, chunked", valid.path, chunks, 413, sign=False))
    for part, value, unknown_status in valid.path_ids:
        elsewhere = valid.path.replace(value, uuid.uuid4().hex)
        cases.append(Spoiled(f"unknown {part}", elsewhere, good, unknown_status))
        if part.endswith("_id"):
            broken = valid.path.replace(value, "not-a-uuid")
            cases.append(Spoiled(f"bad UUID in {part}", broken, good, 422, part))
        cases.append(
            Spoiled(f"NUL in {part}", valid.path.replace(value, "a%00b"), good, 422, "path")
        )
    cases.append(Spoiled("NUL in the query", valid.path + "?q=a%00b", good, 422, "q"))
    return cases


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def _names(answer: httpx.Response, name: str) -> bool:
    """Whether the answer names the field, in a `loc` or in its message."""
    try:
        said = _strings(answer.json())
    except ValueError:
        said = [answer.text]
    return any(name in text for text in said)


def _signed_headers(valid: Valid, path: str, content: bytes) -> dict[str, str]:
    if valid.signed == "facet":
        return {"Facet-Signature": facet_signature(STORE_SYSTEM_SECRET, content, int(time.time()))}
    if valid.signed == "shopify":
        return {"X-Shopify-Hmac-Sha256": shopify_hmac(STORE_SYSTEM_SECRET, content),
                "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
                "X-Shopify-Webhook-Id": uuid.uuid4().hex}  # fmt: skip
    if valid.signed == "meta":
        return {"X-Hub-Signature-256": meta_signature(STORE_SYSTEM_SECRET, content)}
    if valid.signed == "twilio":
        params = parse_qsl(content.decode(errors="replace"), keep_blank_values=True)
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, dict(params))
        return {"X-Twilio-Signature": signature}
    if valid.signed == "sendgrid":
        timestamp = str(int(time.time()))
        signature = SIGNING_KEY.sign(timestamp.encode() + content, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        }
    return {}


# Every table's row count in one statement: one round trip instead of one per table, read
# twice for each of the table's cases.
ROW_COUNTS = select(
    *(
        select(func.count()).select_from(table).scalar_subquery().label(table.name)
        for table in Base.metadata.sorted_tables
    )
)


def _row_counts(database) -> dict[str, int]:
    return database.read(lambda s: dict(s.execute(ROW_COUNTS).one()._mapping))


def _documented(template: str, status: int) -> bool:
    return str(status) in OPENAPI["paths"][template]["post"]["responses"]


# --- the valid requests ----------------------------------------------------------------


@dataclass
class World:
    store_id: uuid.UUID
    lead_id: uuid.UUID
    task_id: uuid.UUID
    phone: str
    keys: dict[str, str]
    campaign_id: uuid.UUID = NO_CAMPAIGN
    source: str = "jewelmate-world"  # the store system's name in its webhook URL
    duplicate_id: uuid.UUID | None = None  # a second lead, to merge into the first
    shop: str = "world.myshopify.com"


def _valid_requests(world: World) -> dict[str, Valid]:
    store, lead, task = str(world.store_id), str(world.lead_id), str(world.task_id)
    as_json = {"Content-Type": "application/json"}
    associate = bearer(world.keys["associate"]) | as_json
    pos = bearer(world.keys["pos"]) | as_json
    marketing = bearer(world.keys["marketing"]) | as_json
    admin = bearer(world.keys["admin"]) | as_json
    sequence_key = f"malformed_{uuid.uuid4().hex[:8]}"
    customer = {"phone": "98450 11111", "first_name": "Ravi"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return {
        "/v1/leads": Valid(
            "/v1/leads",
            {"store_id": store, "source": "web_form", "first_name": "Asha",
             "email": f"asha.{uuid.uuid4().hex[:6]}@example.com",
             "occasions": {"wedding": "2027-02-14", "anniversary": "2016-06-14"},
             "budget": {"amount_minor": 30000000, "currency": "INR"}},
            associate, text=("first_name",), uuid=("store_id",),
            dates=(("occasions", "wedding"), ("occasions", "anniversary")),
            number=("budget", "amount_minor"),
        ),
        "/v1/leads/{lead_id}/events": Valid(
            f"/v1/leads/{lead}/events",
            {"event_id": f"till:{uuid.uuid4().hex}", "kind": "purchase", "revenue_minor": 1000,
             "currency": "INR", "payload": {"note": "ring"}},
            associate, text=("payload", "note"), typed=("source",), datetimes=(("occurred_at",),),
            number=("revenue_minor",), path_ids=(("lead_id", lead, 404),),
        ),
        "/v1/leads/{lead_id}/merge": Valid(
            f"/v1/leads/{lead}/merge", {"other_lead_id": str(world.duplicate_id)}, associate,
            uuid=("other_lead_id",), typed=("other_lead_id",),
            path_ids=(("lead_id", lead, 404),), unknown_ids=((("other_lead_id",), 404),),
        ),
        "/v1/pos/purchases": Valid(
            "/v1/pos/purchases",
            {"store_id": store, "pos_transaction_id": f"t-{uuid.uuid4().hex[:8]}",
             "customer": customer, "amount_minor": 250000, "currency": "INR",
             "occasion": {"kind": "anniversary", "date": "2016-06-14"}},
            pos, text=("pos_transaction_id",), uuid=("store_id",), number=("amount_minor",),
            datetimes=(("purchased_at",),), dates=(("occasion", "date"),),
        ),
        "/v1/pos/returns": Valid(
            "/v1/pos/returns",
            {"store_id": store, "pos_transaction_id": SALE_TO_RETURN,
             "refund_id": f"r-{uuid.uuid4().hex[:8]}", "amount_minor": 1000,
             "items": [{"name": "ring", "category": "ring"}]},
            pos, text=("refund_id",), uuid=("store_id",), number=("amount_minor",),
            datetimes=(("returned_at",),),
        ),
        "/v1/pos/job-status": Valid(
            "/v1/pos/job-status",
            {"store_id": store, "job_id": f"job-{uuid.uuid4().hex[:6]}", "status": "cad_ready",
             "customer": customer},
            pos, text=("job_id",), uuid=("store_id",),
        ),
        "/v1/sequences": Valid(
            "/v1/sequences",
            {"key": sequence_key, "name": "Malformed test", "steps": [
                {"id": "hello", "send": {"channel": "email", "template": "engagement/welcome"}}]},
            marketing, text=("name",),
        ),
        "/v1/sequences/{key}/preview": Valid(
            "/v1/sequences/engagement_ring/preview",
            {"sample": {"timezone": "Asia/Kolkata", "occasions": {"anniversary": "2016-06-14"}}},
            marketing, text=("sample", "timezone"), uuid=("lead_id",),
            datetimes=(("start_at",),), dates=(("sample", "occasions", "anniversary"),),
            number=("version",), path_ids=(("key", "engagement_ring", 404),),
            unknown_ids=((("lead_id",), 404),),
        ),
        "/v1/tasks/{task_id}/acknowledge": Valid(
            f"/v1/tasks/{task}/acknowledge", {}, associate,
            path_ids=(("task_id", task, 404),),
        ),
        "/v1/tasks/{task_id}/complete": Valid(
            f"/v1/tasks/{task}/complete", {"outcome": "contacted", "note": "called"}, associate,
            text=("note",), path_ids=(("task_id", task, 404),),
        ),
        "/v1/questions": Valid(
            "/v1/questions", {"question": "How many leads came in this week?"}, associate,
            text=("question",), uuid=("store_id",),
        ),
        "/v1/admin/scoring/refit": Valid(
            "/v1/admin/scoring/refit", {"store_id": store, "rescore": False}, admin,
            typed=("rescore",), uuid=("store_id",), unknown_ids=((("store_id",), 422),),
        ),
        "/v1/campaigns": Valid(
            "/v1/campaigns",
            {"name": "Diwali", "sequence_key": "festive_diwali", "channels": ["email"],
             "store_id": store, "last_purchase_before": "2026-01-01"},
            marketing, text=("name",), uuid=("store_id",), dates=(("last_purchase_before",),),
            unknown_ids=((("store_id",), 422),),
        ),
        "/v1/campaigns/{campaign_id}/start": Valid(
            f"/v1/campaigns/{world.campaign_id}/start", {}, marketing,
            path_ids=(("campaign_id", str(world.campaign_id), 404),),
        ),
        "/v1/campaigns/{campaign_id}/cancel": Valid(
            f"/v1/campaigns/{world.campaign_id}/cancel", {}, marketing,
            path_ids=(("campaign_id", str(world.campaign_id), 404),),
        ),
        "/v1/webhooks/twilio/inbound": Valid(
            "/v1/webhooks/twilio/inbound",
            {"MessageSid": f"SM{uuid.uuid4().hex}", "From": world.phone, "To": "+15005550006",
             "Body": "hello"},
            form, form=True, signed="twilio", text=("Body",), limit=MAX_WEBHOOK_BODY,
        ),
        "/v1/webhooks/twilio/status": Valid(
            "/v1/webhooks/twilio/status",
            {"MessageSid": f"SM{uuid.uuid4().hex}", "MessageStatus": "delivered"},
            form, form=True, signed="twilio", text=("MessageStatus",), limit=MAX_WEBHOOK_BODY,
        ),
        "/v1/webhooks/sendgrid/events": Valid(
            "/v1/webhooks/sendgrid/events",
            [{"event": "open", "sg_event_id": uuid.uuid4().hex, "timestamp": 1_700_000_000}],
            {"Content-Type": "application/json"}, signed="sendgrid", text=(0, "sg_event_id"),
            vendor_body=True, limit=MAX_WEBHOOK_BODY,
        ),
        "/v1/webhooks/sendgrid/inbound/{secret}": Valid(
            f"/v1/webhooks/sendgrid/inbound/{INBOUND_SECRET}",
            {"from": "Asha <asha@example.com>", "to": "replies@parse.example", "subject": "Re: hi",
             "text": "Is it still there?", "headers": "Message-ID: <m@example.com>\n"},
            form, form=True, text=("text",), limit=MAX_WEBHOOK_BODY,
            path_ids=(("secret", INBOUND_SECRET, 403),),
        ),
        "/v1/integrations/{source}/events": Valid(
            f"/v1/integrations/{world.source}/events",
            {"event_id": f"evt-{uuid.uuid4().hex}", "event_type": "customer.upserted",
             "occurred_at": "2026-12-01T10:00:00+05:30", "store_id": store,
             "source_system": "JewelMate", "payload": {"customer": {
                 "external_customer_id": f"C-{uuid.uuid4().hex[:6]}", "first_name": "Ravi",
                 "birthday": "1990-04-01"}}},
            {"Content-Type": "application/json"}, signed="facet",
            text=("payload", "customer", "first_name"), uuid=("store_id",),
            datetimes=(("occurred_at",),), dates=(("payload", "customer", "birthday"),),
            path_ids=(("source", world.source, 403),), unknown_ids=((("store_id",), 422),),
            limit=MAX_WEBHOOK_BODY,
        ),
        "/v1/integrations/shopify/webhooks": Valid(
            "/v1/integrations/shopify/webhooks",
            {"id": uuid.uuid4().int % 10**12, "name": "#1001", "source_name": "pos",
             "total_price": "2500.00", "currency": "INR", "financial_status": "paid",
             "customer": {"id": uuid.uuid4().int % 10**12, "phone": "98450 22222"},
             "line_items": [{"title": "Gold chain", "quantity": 1, "price": "2500.00"}]},
            {"Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
             "X-Shopify-Shop-Domain": world.shop},
            signed="shopify", text=("name",), typed=("total_price",), vendor_body=True,
            limit=MAX_WEBHOOK_BODY,
        ),
        "/v1/integrations/meta/leads": Valid(
            "/v1/integrations/meta/leads",
            {"object": "page", "entry": [{"id": "1044", "changes": [
                {"field": "feed", "value": {"item": "status"}}]}]},
            {"Content-Type": "application/json"}, signed="meta", text=("object",),
            typed=("entry",), vendor_body=True, limit=MAX_WEBHOOK_BODY,
        ),
        "/v1/imports/{kind}": Valid(
            f"/v1/imports/products?store_id={store}",
            b"sku,title,price,currency\nR-1,Solitaire ring,185000,INR\n",
            bearer(world.keys["pos"]) | {"Content-Type": "text/csv"}, csv=True, limit=MAX_IMPORT,
        ),
        "/v1/unsubscribe/{token}": Valid(
            f"/v1/unsubscribe/{unsubscribe_token(SECRET, world.lead_id, Channel.EMAIL)}",
            {"List-Unsubscribe": "One-Click"}, form, form=True, text=("List-Unsubscribe",),
            path_ids=(("token", unsubscribe_token(SECRET, world.lead_id, Channel.EMAIL), 403),),
        ),
    }  # fmt: skip


@pytest.fixture
async def world_http(dev_server, database, worker_for, make_store):
    store = make_store()
    lead_id = make_lead(database, store, consent=[Channel.EMAIL])
    priya = database.read(
        lambda s: s.scalars(
            select(Staff).where(Staff.store_id == store.id, Staff.role == StaffRole.ASSOCIATE)
        ).one()
    )

    def add_task(session) -> uuid.UUID:
        task = Task(store_id=store.id, lead_id=lead_id, kind="call", reason="Call back",
                    role_needed=StaffRole.ASSOCIATE, assignee_id=priya.id)  # fmt: skip
        session.add(task)
        session.flush()
        return task.id

    keys = {
        "associate": issue_api_key(
            database, name="priya", role=ApiRole.ASSOCIATE, store_id=store.id, staff_id=priya.id
        ),
        "pos": issue_api_key(database, name="till", role=ApiRole.POS, store_id=store.id),
        "marketing": issue_api_key(database, name="mkt", role=ApiRole.MARKETING),
        "admin": issue_api_key(database, name="admin", role=ApiRole.ADMIN),
    }
    phone = database.read(lambda s: s.get_one(Lead, lead_id).phone_e164)
    campaign_id = database.run(
        lambda s: (
            campaigns.create(
                s,
                Actor(None, "mkt", ApiRole.MARKETING, None, None),
                name="Malformed",
                sequence_key="gifting_valentines",
                audience=campaigns.Audience(channels=(Channel.EMAIL,), store_id=store.id),
            ).id
        )
    )
    database.run(
        lambda s: s.add(
            Purchase(store_id=store.id, lead_id=lead_id, pos_transaction_id=SALE_TO_RETURN,
                     amount_minor=250000, currency="INR", purchased_at=utcnow())
        )
    )  # fmt: skip
    source, shop = f"jewelmate-{uuid.uuid4().hex[:8]}", f"w{uuid.uuid4().hex[:8]}.myshopify.com"
    duplicate = make_lead(database, store, consent=[])
    world = World(
        store.id, lead_id, database.run(add_task), phone, keys, campaign_id,
        source=source, shop=shop, duplicate_id=duplicate,
    )  # fmt: skip

    def store_systems(session) -> None:
        for name, kind in ((source, "contract"), (f"shopify:{shop}", "shopify")):
            issue_secret(session, SECRET, source=name, kind=kind, store_id=store.id,
                         now=utcnow(), given=STORE_SYSTEM_SECRET)  # fmt: skip
        # Meta's app secret is one per install: this store takes it over.
        for row in IntegrationSecretRepository(session).live("meta"):
            row.retired_at = utcnow()
        session.flush()
        issue_secret(session, SECRET, source="meta", kind="meta", store_id=store.id,
                     now=utcnow(), given=STORE_SYSTEM_SECRET)  # fmt: skip

    database.run(store_systems)
    async with (
        worker_for(dev_server.client) as task_queue,
        api_client(database, dev_server.client, task_queue, **WEBHOOK_SETTINGS) as http,
    ):
        yield world, http


def test_every_post_route_has_a_valid_request_here():
    world = World(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "+919845012345", dict.fromkeys(
        ("associate", "pos", "marketing", "admin"), "k"))  # fmt: skip
    missing = sorted(set(POST_ROUTES) - set(_valid_requests(world)))
    assert not missing, f"add a valid request for each new POST route to this table: {missing}"


@pytest.mark.parametrize("template", POST_ROUTES)
async def test_malformed_input_is_a_precise_4xx_that_records_nothing(
    template, world_http, database
):
    world, http = world_http
    valid = _valid_requests(world)[template]
    failures: list[str] = []
    for case in _cases(valid):
        before = _row_counts(database)
        headers = dict(valid.headers)
        if isinstance(case.content, bytes):
            content: Any = case.content
            if valid.signed and case.sign:
                headers |= _signed_headers(valid, case.path.split("?")[0], case.content)
        else:
            content = case.content()
        answer = await http.post(case.path, content=content, headers=headers)
        after = _row_counts(database)
        said = answer.text
        problems = []
        if answer.status_code != case.status:
            problems.append(f"answered {answer.status_code}, expected {case.status}")
        if case.names and not _names(answer, case.names):
            problems.append(f"does not name {case.names!r}")
        if after != before:
            changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
            problems.append(f"recorded {changed}")
        if not _documented(template, answer.status_code):
            problems.append(f"{answer.status_code} is not in the OpenAPI answers")
        if problems:
            failures.append(f"{case.name}: {'; '.join(problems)} — {said[:300]}")
    assert not failures, "\n".join(failures)

    # The same request unspoiled succeeds: the cases were refused for what they spoil.
    content = _encode(valid, valid.body)
    headers = valid.headers | (_signed_headers(valid, valid.path, content) if valid.signed else {})
    answer = await http.post(valid.path, content=content, headers=headers)
    assert 200 <= answer.status_code < 300, answer.text
